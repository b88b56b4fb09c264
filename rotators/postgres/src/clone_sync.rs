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
    let pair = Pair::read(client, original, clone).await?;
    sync_from(client, &pair).await
}

/// [`sync`] from a reading of both roles already made.
pub(crate) async fn sync_from(client: &Client, pair: &Pair) -> Result<(), BoxError> {
    let structure = pair.structure_statements();
    let settings = pair.setting_statements();
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
    let clone = pair.clone.as_str();
    tracing::info!(clone, changes = ?structure, settings = ?changed, "setSecret: synced the clone with its original");
    let remaining = Pair::read(client, &pair.original, clone)
        .await?
        .structure_statements();
    if !remaining.is_empty() {
        return Err(SyncIncomplete {
            original: pair.original.clone(),
            clone: clone.to_owned(),
            remaining,
        }
        .into());
    }
    Ok(())
}

/// The original and its clone as the catalog has them: what a sync
/// compares.
pub(crate) struct Pair {
    original: String,
    clone: String,
    attributes: (Attributes, Attributes),
    memberships: [BTreeMap<String, bool>; 2],
    settings: [Settings; 2],
    /// The original's settings only a superuser may set, when this session
    /// is not one.
    superuser_only: Vec<String>,
}

impl Pair {
    /// Reads both roles: three queries, sent together on the connection,
    /// so one round trip. Fails with [`RoleMissing`] when either is
    /// missing.
    pub(crate) async fn read(
        client: &Client,
        original: &str,
        clone: &str,
    ) -> Result<Self, BoxError> {
        let (attributes, memberships, (settings, superuser_only)) = tokio::try_join!(
            attributes(client, original, clone),
            memberships(client, original, clone),
            settings(client, original, clone),
        )?;
        Ok(Self {
            original: original.to_owned(),
            clone: clone.to_owned(),
            attributes,
            memberships,
            settings,
            superuser_only,
        })
    }

    /// The attribute and membership statements that make the clone match
    /// the original.
    fn structure_statements(&self) -> Vec<String> {
        let mut statements = self.attribute_statements();
        statements.extend(self.membership_statements());
        statements
    }
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

/// The original's and the clone's attributes, in one round trip.
async fn attributes(
    client: &Client,
    original: &str,
    clone: &str,
) -> Result<(Attributes, Attributes), BoxError> {
    let rows = client
        .query_typed(
            "SELECT rolname::text, rolsuper, rolinherit, rolcreaterole, rolcreatedb, \
             rolreplication, rolbypassrls, rolcanlogin, rolconnlimit \
             FROM pg_catalog.pg_roles WHERE rolname = ANY($1)",
            &[(&[original, clone].as_slice(), Type::NAME_ARRAY)],
        )
        .await?;
    let of = |role: &str| -> Result<Attributes, BoxError> {
        let row = rows
            .iter()
            .find(|row| row.try_get::<_, &str>(0).is_ok_and(|name| name == role))
            .ok_or_else(|| RoleMissing(role.to_owned()))?;
        Ok(Attributes {
            flags: [
                ("SUPERUSER", row.try_get(1)?),
                ("INHERIT", row.try_get(2)?),
                ("CREATEROLE", row.try_get(3)?),
                ("CREATEDB", row.try_get(4)?),
                ("REPLICATION", row.try_get(5)?),
                ("BYPASSRLS", row.try_get(6)?),
            ],
            can_login: row.try_get(7)?,
            connection_limit: row.try_get(8)?,
        })
    };
    Ok((of(original)?, of(clone)?))
}

impl Pair {
    fn attribute_statements(&self) -> Vec<String> {
        let (want, have) = &self.attributes;
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
        if options.is_empty() {
            Vec::new()
        } else {
            vec![format!(
                "ALTER ROLE {} WITH {}",
                quote_identifier(&self.clone),
                options.join(" ")
            )]
        }
    }
}

/// The roles the original and the clone are direct members of, with
/// whether each holds the admin option, in one round trip.
async fn memberships(
    client: &Client,
    original: &str,
    clone: &str,
) -> Result<[BTreeMap<String, bool>; 2], BoxError> {
    let rows = client
        .query_typed(
            "SELECT u.rolname::text, g.rolname::text, bool_or(m.admin_option) \
             FROM pg_catalog.pg_auth_members m \
             JOIN pg_catalog.pg_roles g ON g.oid = m.roleid \
             JOIN pg_catalog.pg_roles u ON u.oid = m.member \
             WHERE u.rolname = ANY($1) GROUP BY u.rolname, g.rolname",
            &[(&[original, clone].as_slice(), Type::NAME_ARRAY)],
        )
        .await?;
    let mut of = [BTreeMap::new(), BTreeMap::new()];
    for row in rows {
        let member: &str = row.try_get(0)?;
        let index = usize::from(member != original);
        of[index].insert(row.try_get(1)?, row.try_get(2)?);
    }
    Ok(of)
}

/// The clone's memberships are the original's plus the original itself;
/// memberships the original lacks are revoked.
impl Pair {
    fn membership_statements(&self) -> Vec<String> {
        let clone_ident = quote_identifier(&self.clone);
        let [wanted, held] = &self.memberships;
        let mut wanted = wanted.clone();
        wanted.insert(self.original.clone(), false);
        wanted.remove(&self.clone);
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
        statements
    }
}

/// `(database or "", setting) -> value` for each role's `ALTER ROLE ...
/// SET` defaults, the original's then the clone's, and the original's
/// settings that only a superuser may set when this session is not one
/// (a master without the right skips them with a warning instead of
/// failing every rotation); in one round trip.
async fn settings(
    client: &Client,
    original: &str,
    clone: &str,
) -> Result<([Settings; 2], Vec<String>), BoxError> {
    let rows = client
        .query_typed(
            // pg_settings lists every setting of the server at each use:
            // CASE keeps it to the original's rows, and to sessions that
            // are not a superuser's.
            "SELECT r.rolname::text, coalesce(d.datname::text, ''), c.config, \
             CASE WHEN r.rolname = $2 \
                   AND NOT (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user) \
             THEN EXISTS (SELECT 1 FROM pg_catalog.pg_settings p \
                          WHERE p.name = split_part(c.config, '=', 1) AND p.context = 'superuser') \
             ELSE false END \
             FROM pg_catalog.pg_db_role_setting s \
             JOIN pg_catalog.pg_roles r ON r.oid = s.setrole \
             LEFT JOIN pg_catalog.pg_database d ON d.oid = s.setdatabase \
             CROSS JOIN LATERAL unnest(s.setconfig) AS c(config) \
             WHERE r.rolname = ANY($1)",
            &[
                (&[original, clone].as_slice(), Type::NAME_ARRAY),
                (&original, Type::NAME),
            ],
        )
        .await?;
    let mut of = [Settings::new(), Settings::new()];
    let mut superuser_only = Vec::new();
    for row in rows {
        let role: &str = row.try_get(0)?;
        let database: String = row.try_get(1)?;
        let config: String = row.try_get(2)?;
        let Some((name, value)) = config.split_once('=') else {
            continue;
        };
        if row.try_get::<_, bool>(3)? {
            superuser_only.push(name.to_owned());
        }
        of[usize::from(role != original)].insert((database, name.to_owned()), value.to_owned());
    }
    Ok((of, superuser_only))
}

/// A role's settings: `(database or "", setting) -> value`.
type Settings = BTreeMap<(String, String), String>;

/// The clone's settings are the original's, plus the session role: the
/// original's own `role` default if it has one, else the original.
impl Pair {
    fn setting_statements(&self) -> Vec<SettingChange> {
        let (original, clone) = (self.original.as_str(), self.clone.as_str());
        let [wanted, held] = &self.settings;
        let mut wanted = wanted.clone();
        let skipped = &self.superuser_only;
        // `role` is a user-level setting: never in `skipped`.
        wanted
            .entry((String::new(), SESSION_ROLE.to_owned()))
            .or_insert_with(|| original.to_owned());
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
        statements
    }
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
