//! What the server says about accounts: the hosts a user exists at, each
//! account's plugin and limits, its grants (through its roles too), its
//! default roles, and the clone mark. Read with an administrator's session
//! (`SELECT` on the `mysql` schema, as RDS's master user has).

use std::collections::BTreeSet;

use mysql_async::prelude::Queryable;
use mysql_async::Row;
use rotation_core::error::BoxError;

use crate::backend::Session;
use crate::grants::GrantSet;
use crate::server::Flavor;
use crate::sql::{self, quote_literal, AccountLimits, Plugin};

/// One `user@host` account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// The host part, as stored (`%`, `10.0.%`, `127.0.0.1`...).
    pub host: String,
    /// Its authentication plugin.
    pub plugin: Plugin,
    /// Its TLS requirement and resource limits.
    pub limits: AccountLimits,
}

fn text(row: &Row, index: usize) -> String {
    row.get_opt::<Vec<u8>, _>(index)
        .and_then(Result::ok)
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        .unwrap_or_default()
}

fn number(row: &Row, index: usize) -> Result<u64, BoxError> {
    let value = text(row, index);
    value
        .trim()
        .parse()
        .map_err(|_| format!("mysql.user column {index} is `{value}`, not a number").into())
}

/// Every account of `user`, roles left out (MariaDB keeps them in
/// `mysql.user` too, at host '').
pub async fn accounts(session: &mut Session, user: &str) -> Result<Vec<Account>, BoxError> {
    let not_a_role = match session.server.flavor {
        Flavor::MariaDb => " AND is_role = 'N'",
        Flavor::MySql => "",
    };
    let query = format!(
        "SELECT Host, plugin, ssl_type, ssl_cipher, x509_issuer, x509_subject, \
         max_questions, max_updates, max_connections, max_user_connections \
         FROM mysql.user WHERE User = {}{not_a_role} ORDER BY Host",
        quote_literal(user, session.mode)
    );
    let rows: Vec<Row> = session.conn.query(query).await?;
    rows.iter()
        .map(|row| {
            Ok(Account {
                host: text(row, 0),
                plugin: Plugin::from_name(&text(row, 1)),
                limits: AccountLimits {
                    ssl_type: text(row, 2),
                    ssl_cipher: text(row, 3),
                    x509_issuer: text(row, 4),
                    x509_subject: text(row, 5),
                    max_queries_per_hour: number(row, 6)?,
                    max_updates_per_hour: number(row, 7)?,
                    max_connections_per_hour: number(row, 8)?,
                    max_user_connections: number(row, 9)?,
                },
            })
        })
        .collect()
}

/// `SHOW GRANTS FOR` an account or a role (`grantee` already quoted).
async fn show_grants(session: &mut Session, grantee: &str) -> Result<GrantSet, BoxError> {
    let lines: Vec<String> = session
        .conn
        .query(format!("SHOW GRANTS FOR {grantee}"))
        .await?;
    Ok(GrantSet::parse(
        lines.iter().map(String::as_str),
        session.mode,
    )?)
}

/// The grants of `user@host` itself.
pub async fn grants(session: &mut Session, user: &str, host: &str) -> Result<GrantSet, BoxError> {
    show_grants(session, &sql::account(user, host)).await
}

/// The grants of `user@host` together with those of the roles it holds,
/// and theirs (roles nest), for the administrator check: a role that can
/// create users makes its holder an administrator.
pub async fn effective_grants(
    session: &mut Session,
    user: &str,
    host: &str,
) -> Result<GrantSet, BoxError> {
    let mut all = grants(session, user, host).await?;
    let mut seen = BTreeSet::new();
    let mut pending: Vec<String> = all.roles.keys().cloned().collect();
    while let Some(role) = pending.pop() {
        if !seen.insert(role.clone()) || seen.len() > 50 {
            continue;
        }
        let granted = show_grants(session, &role).await?;
        pending.extend(granted.roles.keys().cloned());
        all.privileges.extend(granted.privileges);
        all.grant_option.extend(granted.grant_option);
    }
    Ok(all)
}

/// The default roles of `user@host`, quoted as `SET DEFAULT ROLE` takes
/// them.
pub async fn default_roles(
    session: &mut Session,
    user: &str,
    host: &str,
) -> Result<Vec<String>, BoxError> {
    let (user, host) = (
        quote_literal(user, session.mode),
        quote_literal(host, session.mode),
    );
    match session.server.flavor {
        Flavor::MariaDb => {
            let role: Option<String> = session
                .conn
                .query_first(format!(
                    "SELECT default_role FROM mysql.user WHERE User = {user} AND Host = {host}"
                ))
                .await?;
            Ok(role
                .filter(|r| !r.is_empty())
                .map(|r| sql::quote_identifier(&r))
                .into_iter()
                .collect())
        }
        Flavor::MySql => {
            let rows: Vec<(String, String)> = session
                .conn
                .query(format!(
                    "SELECT DEFAULT_ROLE_USER, DEFAULT_ROLE_HOST FROM mysql.default_roles \
                     WHERE USER = {user} AND HOST = {host} ORDER BY 1, 2"
                ))
                .await?;
            Ok(rows
                .iter()
                .map(|(role, role_host)| sql::account(role, role_host))
                .collect())
        }
    }
}

/// The database named in the clone mark of `original`'s clones:
/// `rotation-clone-of-` and 16 hex digits of SHA-256 of the original's
/// name. No such database exists; a grant on it (which the master's
/// `CREATE` and `GRANT OPTION` on `*.*` allow, as RDS gives them) marks the
/// clone, and its letters, digits and dashes are no wildcards in a grant.
pub fn mark_database(original: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(original.as_bytes());
    let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("rotation-clone-of-{hex}")
}

/// The mark's grant: `SELECT` on the mark database, as an object and
/// privilege of [`GrantSet::privileges`].
pub fn mark_grant(original: &str) -> (String, String, Option<String>) {
    (
        format!("{}.*", sql::quote_identifier(&mark_database(original))),
        "SELECT".to_owned(),
        None,
    )
}

/// The hosts at which `clone@host` carries the clone mark of `original`,
/// which this function gives every clone it creates.
pub async fn marked_hosts(
    session: &mut Session,
    original: &str,
    clone: &str,
) -> Result<BTreeSet<String>, BoxError> {
    let hosts: Vec<String> = session
        .conn
        .query(format!(
            "SELECT Host FROM mysql.db WHERE User = {} AND Db = {} AND Select_priv = 'Y'",
            quote_literal(clone, session.mode),
            quote_literal(&mark_database(original), session.mode)
        ))
        .await?;
    Ok(hosts.into_iter().collect())
}

/// The session's own account, as `CURRENT_USER()` gives it: the user and
/// the host pattern the server matched this connection to.
pub async fn own_account(session: &mut Session) -> Result<(String, String), BoxError> {
    let current: Option<String> = session.conn.query_first("SELECT CURRENT_USER()").await?;
    current
        .as_deref()
        .and_then(|c| c.rsplit_once('@'))
        .map(|(user, host)| (user.to_owned(), host.to_owned()))
        .ok_or_else(|| format!("CURRENT_USER() answered {current:?}, not user@host").into())
}

/// The plugin of the session's own account, on MariaDB, where an account
/// without administrative rights cannot read `mysql.user`: its own
/// `SHOW GRANTS` names the plugin (`IDENTIFIED VIA ed25519 USING ...`,
/// `IDENTIFIED BY PASSWORD` for native).
pub async fn own_plugin(session: &mut Session) -> Result<Plugin, BoxError> {
    let lines: Vec<String> = session.conn.query("SHOW GRANTS").await?;
    Ok(plugin_in_grants(&lines))
}

fn plugin_in_grants(lines: &[String]) -> Plugin {
    for line in lines {
        // The last clause: a username may hold any text, the clause after
        // it only a plugin name and a quoted hash.
        if let Some(at) = line.rfind(" IDENTIFIED VIA ") {
            let name = line[at + " IDENTIFIED VIA ".len()..]
                .split_whitespace()
                .next()
                .unwrap_or_default();
            return Plugin::from_name(name.trim_matches(['\'', '`', '"']));
        }
        if line.rfind(" IDENTIFIED BY PASSWORD ").is_some() {
            return Plugin::Native;
        }
    }
    // No IDENTIFIED clause: an account with an empty native password.
    Plugin::Native
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mark_database_is_no_pattern() {
        let name = mark_database("app_%'`x");
        assert!(
            name.starts_with("rotation-clone-of-") && name.len() == 34,
            "{name}"
        );
        assert!(name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'));
        assert_ne!(mark_database("app"), mark_database("app2"));
    }

    #[test]
    fn the_own_plugin_is_read_from_show_grants() {
        let lines = |line: &str| vec![line.to_owned()];
        assert_eq!(
            plugin_in_grants(&lines(
                "GRANT USAGE ON *.* TO `e`@`%` IDENTIFIED VIA ed25519 USING 'ufYM'"
            )),
            Plugin::Ed25519
        );
        assert_eq!(
            plugin_in_grants(&lines(
                "GRANT USAGE ON *.* TO `n`@`%` IDENTIFIED BY PASSWORD '*30'"
            )),
            Plugin::Native
        );
        assert_eq!(
            plugin_in_grants(&lines(
                "GRANT USAGE ON *.* TO `s`@`%` IDENTIFIED VIA unix_socket"
            )),
            Plugin::Other("unix_socket".into())
        );
        assert_eq!(
            plugin_in_grants(&lines("GRANT USAGE ON *.* TO `x`@`%`")),
            Plugin::Native
        );
    }
}
