//! Keeping the clone of the alternating-users strategy equal to its
//! original, on every rotation and in both directions: role attributes,
//! memberships (with the admin option), role-level settings, and a default
//! session role.
//!
//! The clone's sessions start as the original (`ALTER ROLE clone SET role
//! = original`): every object the clone creates is owned by the original,
//! so it stays usable after the next switch, and the clone acts with
//! exactly the original's privileges, also when the original is NOINHERIT.
//! The clone is a member of the original (created `IN ROLE`), which is what
//! allows that `SET ROLE`.

use std::collections::BTreeMap;

use rotation_core::error::BoxError;
use tokio_postgres::types::Type;
use tokio_postgres::Client;

use crate::backend::RoleMissing;
use crate::sql::{quote_identifier, quote_literal};

/// The setting that makes the clone's sessions act as the original.
const SESSION_ROLE: &str = "role";

/// Settings whose value is a list of identifiers, stored quoted where
/// needed (`"$user", public`); each element is set as its own literal.
const LIST_SETTINGS: &[&str] = &[
    "search_path",
    "temp_tablespaces",
    "local_preload_libraries",
    "session_preload_libraries",
    "shared_preload_libraries",
];

/// The clone still differs from the original after the sync: PostgreSQL
/// accepted a statement and did nothing (on PostgreSQL 16, a REVOKE of a
/// membership another role granted only warns).
#[derive(Debug, thiserror::Error)]
#[error("after the sync, {clone} still differs from {original}: {remaining} (on PostgreSQL 16+, a membership granted by another role can be revoked only by that role or a superuser: revoke it as its grantor)", remaining = .remaining.join("; "))]
pub struct SyncIncomplete {
    /// The original.
    pub original: String,
    /// The clone.
    pub clone: String,
    /// The statements that would still be needed.
    pub remaining: Vec<String>,
}

/// Makes `clone` match `original` in one transaction, then checks it does.
pub async fn sync(client: &Client, original: &str, clone: &str) -> Result<(), BoxError> {
    let structure = structure_statements(client, original, clone).await?;
    let settings = setting_statements(client, original, clone).await?;
    if structure.is_empty() && settings.is_empty() {
        return Ok(());
    }
    let all: Vec<&str> = structure
        .iter()
        .map(String::as_str)
        .chain(settings.iter().map(|s| s.sql.as_str()))
        .collect();
    // One transaction: the clone never holds half of a sync.
    let batch = format!("BEGIN; {}; COMMIT", all.join("; "));
    client.batch_execute(&batch).await?;
    // Setting values are the original's business (a custom setting may
    // hold a key): the log names the settings, not their values.
    let changed: Vec<&str> = settings.iter().map(|s| s.name.as_str()).collect();
    tracing::info!(clone, changes = ?structure, settings = ?changed, "setSecret: synced the clone with its original");
    let remaining = structure_statements(client, original, clone).await?;
    if !remaining.is_empty() {
        return Err(SyncIncomplete {
            original: original.to_owned(),
            clone: clone.to_owned(),
            remaining,
        }
        .into());
    }
    Ok(())
}

/// The attribute and membership statements that make `clone` match
/// `original`.
async fn structure_statements(
    client: &Client,
    original: &str,
    clone: &str,
) -> Result<Vec<String>, BoxError> {
    let mut statements = attribute_statements(client, original, clone).await?;
    statements.extend(membership_statements(client, original, clone).await?);
    Ok(statements)
}

/// A statement that sets or resets one of the clone's settings, with the
/// setting's name for the log.
struct SettingChange {
    sql: String,
    name: String,
}

/// The role attributes a clone copies. `LOGIN` is not copied: the clone
/// always logs in. Neither are the password and its expiry.
#[derive(Debug, PartialEq)]
struct Attributes {
    flags: [(&'static str, bool); 6],
    can_login: bool,
    connection_limit: i32,
}

async fn attributes(client: &Client, role: &str) -> Result<Attributes, BoxError> {
    let row = client
        .query_typed_opt(
            "SELECT rolsuper, rolinherit, rolcreaterole, rolcreatedb, rolreplication, \
             rolbypassrls, rolcanlogin, rolconnlimit FROM pg_catalog.pg_roles WHERE rolname = $1",
            &[(&role, Type::NAME)],
        )
        .await?
        .ok_or_else(|| RoleMissing(role.to_owned()))?;
    Ok(Attributes {
        flags: [
            ("SUPERUSER", row.try_get(0)?),
            ("INHERIT", row.try_get(1)?),
            ("CREATEROLE", row.try_get(2)?),
            ("CREATEDB", row.try_get(3)?),
            ("REPLICATION", row.try_get(4)?),
            ("BYPASSRLS", row.try_get(5)?),
        ],
        can_login: row.try_get(6)?,
        connection_limit: row.try_get(7)?,
    })
}

async fn attribute_statements(
    client: &Client,
    original: &str,
    clone: &str,
) -> Result<Vec<String>, BoxError> {
    let want = attributes(client, original).await?;
    let have = attributes(client, clone).await?;
    let mut options: Vec<String> = want
        .flags
        .iter()
        .zip(have.flags.iter())
        .filter(|(w, h)| w.1 != h.1)
        .map(|((name, on), _)| {
            if *on {
                (*name).to_owned()
            } else {
                format!("NO{name}")
            }
        })
        .collect();
    if !have.can_login {
        options.push("LOGIN".into());
    }
    if want.connection_limit != have.connection_limit {
        options.push(format!("CONNECTION LIMIT {}", want.connection_limit));
    }
    Ok(if options.is_empty() {
        Vec::new()
    } else {
        vec![format!(
            "ALTER ROLE {} WITH {}",
            quote_identifier(clone),
            options.join(" ")
        )]
    })
}

/// The roles `role` is a direct member of, with whether it holds the admin
/// option.
async fn memberships(client: &Client, role: &str) -> Result<BTreeMap<String, bool>, BoxError> {
    let rows = client
        .query_typed(
            "SELECT g.rolname::text, bool_or(m.admin_option) \
             FROM pg_catalog.pg_auth_members m \
             JOIN pg_catalog.pg_roles g ON g.oid = m.roleid \
             JOIN pg_catalog.pg_roles u ON u.oid = m.member \
             WHERE u.rolname = $1 GROUP BY g.rolname",
            &[(&role, Type::NAME)],
        )
        .await?;
    rows.iter()
        .map(|row| Ok((row.try_get(0)?, row.try_get(1)?)))
        .collect()
}

/// The clone's memberships are the original's plus the original itself;
/// memberships the original lacks are revoked.
async fn membership_statements(
    client: &Client,
    original: &str,
    clone: &str,
) -> Result<Vec<String>, BoxError> {
    let clone_ident = quote_identifier(clone);
    let mut wanted = memberships(client, original).await?;
    wanted.insert(original.to_owned(), false);
    wanted.remove(clone);
    let held = memberships(client, clone).await?;
    let mut statements = Vec::new();
    for (role, admin) in &wanted {
        let role_ident = quote_identifier(role);
        match held.get(role) {
            None | Some(false) if *admin => statements.push(format!(
                "GRANT {role_ident} TO {clone_ident} WITH ADMIN OPTION"
            )),
            None => statements.push(format!("GRANT {role_ident} TO {clone_ident}")),
            Some(true) if !admin => statements.push(format!(
                "REVOKE ADMIN OPTION FOR {role_ident} FROM {clone_ident}"
            )),
            Some(_) => {}
        }
    }
    for role in held.keys().filter(|role| !wanted.contains_key(*role)) {
        statements.push(format!(
            "REVOKE {} FROM {clone_ident}",
            quote_identifier(role)
        ));
    }
    Ok(statements)
}

/// `(database or "", setting) -> value` for the role's `ALTER ROLE ... SET`
/// defaults.
async fn settings(
    client: &Client,
    role: &str,
) -> Result<BTreeMap<(String, String), String>, BoxError> {
    let rows = client
        .query_typed(
            "SELECT coalesce(d.datname::text, ''), c.config \
             FROM pg_catalog.pg_db_role_setting s \
             JOIN pg_catalog.pg_roles r ON r.oid = s.setrole \
             LEFT JOIN pg_catalog.pg_database d ON d.oid = s.setdatabase \
             CROSS JOIN LATERAL unnest(s.setconfig) AS c(config) \
             WHERE r.rolname = $1",
            &[(&role, Type::NAME)],
        )
        .await?;
    let mut settings = BTreeMap::new();
    for row in rows {
        let database: String = row.try_get(0)?;
        let config: String = row.try_get(1)?;
        if let Some((name, value)) = config.split_once('=') {
            settings.insert((database, name.to_owned()), value.to_owned());
        }
    }
    Ok(settings)
}

/// Settings only a superuser may set; a master without the right skips
/// them with a warning instead of failing every rotation.
async fn superuser_only(client: &Client, names: &[String]) -> Result<Vec<String>, BoxError> {
    let rows = client
        .query_typed(
            "SELECT name::text FROM pg_catalog.pg_settings \
             WHERE name = ANY($1) AND context = 'superuser' \
             AND NOT (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user)",
            &[(&names, Type::TEXT_ARRAY)],
        )
        .await?;
    rows.iter().map(|r| Ok(r.try_get(0)?)).collect()
}

/// The clone's settings are the original's, plus the session role: the
/// original's own `role` default if it has one, else the original.
async fn setting_statements(
    client: &Client,
    original: &str,
    clone: &str,
) -> Result<Vec<SettingChange>, BoxError> {
    let mut wanted = settings(client, original).await?;
    wanted
        .entry((String::new(), SESSION_ROLE.to_owned()))
        .or_insert_with(|| original.to_owned());
    let held = settings(client, clone).await?;
    let names: Vec<String> = wanted.keys().map(|(_, name)| name.clone()).collect();
    let skipped = superuser_only(client, &names).await?;
    let clone_ident = quote_identifier(clone);
    let target = |database: &str| {
        if database.is_empty() {
            format!("ALTER ROLE {clone_ident}")
        } else {
            format!(
                "ALTER ROLE {clone_ident} IN DATABASE {}",
                quote_identifier(database)
            )
        }
    };
    let mut statements = Vec::new();
    for ((database, name), value) in &wanted {
        if held.get(&(database.clone(), name.clone())) == Some(value) {
            continue;
        }
        if skipped.contains(name) {
            tracing::warn!(
                clone,
                setting = name.as_str(),
                "setSecret: the original has a default for a setting only a superuser may set; the clone does not get it"
            );
            continue;
        }
        statements.push(SettingChange {
            sql: format!(
                "{} SET {} TO {}",
                target(database),
                quote_setting_name(name),
                setting_value(name, value)
            ),
            name: name.clone(),
        });
    }
    for (database, name) in held.keys().filter(|key| !wanted.contains_key(*key)) {
        statements.push(SettingChange {
            sql: format!("{} RESET {}", target(database), quote_setting_name(name)),
            name: name.clone(),
        });
    }
    Ok(statements)
}

/// A setting's name (`work_mem`, `pg_stat_statements.track`), each part
/// quoted.
fn quote_setting_name(name: &str) -> String {
    name.split('.')
        .map(quote_identifier)
        .collect::<Vec<_>>()
        .join(".")
}

/// A stored value as literals: one for a plain setting; one per element
/// for a list of identifiers, whose stored form quotes elements as
/// identifiers. Never spliced as SQL: the original user may set its own
/// defaults to any text.
fn setting_value(name: &str, stored: &str) -> String {
    if !LIST_SETTINGS.contains(&name) {
        return quote_literal(stored);
    }
    list_elements(stored)
        .iter()
        .map(|element| quote_literal(element))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The elements of a stored identifier list: comma-separated, each bare or
/// double-quoted with `""` for a quote.
fn list_elements(stored: &str) -> Vec<String> {
    let mut elements = Vec::new();
    let mut current = String::new();
    let mut chars = stored.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', false) => quoted = true,
            ('"', true) if chars.peek() == Some(&'"') => {
                chars.next();
                current.push('"');
            }
            ('"', true) => quoted = false,
            (',', false) => {
                elements.push(std::mem::take(&mut current).trim().to_owned());
            }
            (c, _) => current.push(c),
        }
    }
    elements.push(current.trim().to_owned());
    elements.retain(|e| !e.is_empty());
    elements
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_settings_become_one_literal_per_element() {
        assert_eq!(list_elements(r#""$user", public"#), vec!["$user", "public"]);
        assert_eq!(
            list_elements(r#"a, "b,c", "d""e""#),
            vec!["a", "b,c", "d\"e"]
        );
        assert_eq!(
            setting_value("search_path", r#""$user", public"#),
            "'$user', 'public'"
        );
        assert_eq!(setting_value("work_mem", "64MB"), "'64MB'");
        // Whatever the original stored, it is one literal, not SQL.
        assert_eq!(
            setting_value("application_name", "x'; DROP ROLE y; --"),
            "'x''; DROP ROLE y; --'"
        );
    }

    #[test]
    fn setting_names_are_quoted_by_part() {
        assert_eq!(quote_setting_name("work_mem"), "\"work_mem\"");
        assert_eq!(
            quote_setting_name("pg_stat_statements.track"),
            "\"pg_stat_statements\".\"track\""
        );
    }
}
