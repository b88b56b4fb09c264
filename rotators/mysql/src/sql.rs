//! MySQL's quoting rules and the statements that set passwords and
//! account settings, for each server family and authentication plugin.
//! Pure functions of their inputs, so each server's statements are checked
//! by unit tests, including the servers no test runs (MySQL itself).

use std::fmt;

use rotation_core::SecretString;

use crate::hash;
use crate::server::{Flavor, ServerVersion, SqlMode};

/// `name` as a quoted identifier: in backticks, each backtick doubled.
/// Backticks quote identifiers whatever `sql_mode` says, and account names
/// accept them for both the user and the host part; any string without NUL
/// (refused when the secret is read) becomes exactly one identifier.
pub fn quote_identifier(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

/// `user@host` as an account name, both parts quoted.
pub fn account(user: &str, host: &str) -> String {
    format!("{}@{}", quote_identifier(user), quote_identifier(host))
}

/// `value` as a string literal in single quotes (strings under
/// `ANSI_QUOTES` too): each quote doubled and, unless
/// `NO_BACKSLASH_ESCAPES` makes the backslash ordinary, each backslash
/// doubled.
pub fn quote_literal(value: &str, mode: SqlMode) -> String {
    let mut quoted = value.replace('\'', "''");
    if !mode.no_backslash_escapes {
        quoted = quoted.replace('\\', "\\\\");
    }
    format!("'{quoted}'")
}

/// An account's authentication plugin, as `mysql.user.plugin` names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plugin {
    /// `mysql_native_password` (MariaDB's accounts without a plugin too).
    Native,
    /// MySQL's `caching_sha2_password`, the default since 8.0.
    CachingSha2,
    /// MySQL's `sha256_password` (deprecated).
    Sha256,
    /// MariaDB's `ed25519`.
    Ed25519,
    /// Any other (`unix_socket`, `auth_pam`, `parsec`...), which this
    /// function does not set a password for.
    Other(String),
}

impl Plugin {
    /// The plugin named `name` (empty: MariaDB's default, native).
    pub fn from_name(name: &str) -> Self {
        match name.trim() {
            "" | "mysql_native_password" => Self::Native,
            "caching_sha2_password" => Self::CachingSha2,
            "sha256_password" => Self::Sha256,
            "ed25519" => Self::Ed25519,
            other => Self::Other(other.to_owned()),
        }
    }

    /// The name as the server spells it.
    pub fn name(&self) -> &str {
        match self {
            Self::Native => "mysql_native_password",
            Self::CachingSha2 => "caching_sha2_password",
            Self::Sha256 => "sha256_password",
            Self::Ed25519 => "ed25519",
            Self::Other(name) => name,
        }
    }
}

impl fmt::Display for Plugin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The account's plugin cannot be given a password by this function.
#[derive(Debug, thiserror::Error)]
#[error("the account authenticates with {plugin}, for which {server} has no password this function can set (it sets mysql_native_password, caching_sha2_password and sha256_password on MySQL; mysql_native_password and ed25519 on MariaDB)")]
pub struct UnsupportedPlugin {
    /// The account's plugin.
    pub plugin: String,
    /// The server, for the message.
    pub server: String,
}

/// The `IDENTIFIED ...` clause that gives an account `password` with
/// `plugin`: the plugin's hash where the server accepts one, the password
/// itself (a literal) only for `sha256_password`, whose hash MySQL does not
/// accept.
pub fn identified(
    server: &ServerVersion,
    plugin: &Plugin,
    password: &SecretString,
    mode: SqlMode,
) -> Result<String, UnsupportedPlugin> {
    let unsupported = || UnsupportedPlugin {
        plugin: plugin.name().to_owned(),
        server: server.to_string(),
    };
    match (server.flavor, plugin) {
        (Flavor::MariaDb, Plugin::Native) => Ok(format!(
            "IDENTIFIED VIA mysql_native_password USING '{}'",
            hash::native_password(password)
        )),
        (Flavor::MariaDb, Plugin::Ed25519) => Ok(format!(
            "IDENTIFIED VIA ed25519 USING '{}'",
            hash::ed25519_password(password)
        )),
        (Flavor::MySql, Plugin::Native) => Ok(format!(
            "IDENTIFIED WITH mysql_native_password AS '{}'",
            hash::native_password(password)
        )),
        (Flavor::MySql, Plugin::CachingSha2) if server.major >= 8 => Ok(format!(
            "IDENTIFIED WITH caching_sha2_password AS '{}'",
            hash::caching_sha2_password(password)
        )),
        (Flavor::MySql, Plugin::Sha256) => Ok(format!(
            "IDENTIFIED WITH sha256_password BY {}",
            quote_literal(password.expose(), mode)
        )),
        _ => Err(unsupported()),
    }
}

/// The statement with which a session changes its own user's password
/// (single user), which needs no privilege: on MariaDB `SET PASSWORD` with
/// the hash of the account's plugin; on MySQL `ALTER USER USER()
/// IDENTIFIED BY` with the password, the only form MySQL allows an account
/// without `CREATE USER` (MySQL rewrites the statement before it reaches
/// its logs).
pub fn set_own_password(
    server: &ServerVersion,
    plugin: &Plugin,
    password: &SecretString,
    mode: SqlMode,
) -> Result<String, UnsupportedPlugin> {
    match (server.flavor, plugin) {
        (Flavor::MariaDb, Plugin::Native) => Ok(format!(
            "SET PASSWORD = '{}'",
            hash::native_password(password)
        )),
        (Flavor::MariaDb, Plugin::Ed25519) => Ok(format!(
            "SET PASSWORD = '{}'",
            hash::ed25519_password(password)
        )),
        (Flavor::MySql, Plugin::Native | Plugin::CachingSha2 | Plugin::Sha256) => Ok(format!(
            "ALTER USER USER() IDENTIFIED BY {}",
            quote_literal(password.expose(), mode)
        )),
        _ => Err(UnsupportedPlugin {
            plugin: plugin.name().to_owned(),
            server: server.to_string(),
        }),
    }
}

/// An account's TLS requirement and resource limits, as `mysql.user`
/// holds them (the same columns on MySQL and MariaDB).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountLimits {
    /// `ssl_type`: empty, `ANY`, `X509` or `SPECIFIED`.
    pub ssl_type: String,
    /// `ssl_cipher`, for `SPECIFIED`.
    pub ssl_cipher: String,
    /// `x509_issuer`, for `SPECIFIED`.
    pub x509_issuer: String,
    /// `x509_subject`, for `SPECIFIED`.
    pub x509_subject: String,
    /// `max_questions`: MAX_QUERIES_PER_HOUR.
    pub max_queries_per_hour: u64,
    /// `max_updates`: MAX_UPDATES_PER_HOUR.
    pub max_updates_per_hour: u64,
    /// `max_connections`: MAX_CONNECTIONS_PER_HOUR.
    pub max_connections_per_hour: u64,
    /// `max_user_connections`: MAX_USER_CONNECTIONS.
    pub max_user_connections: u64,
}

/// `ALTER USER` giving `account` the TLS requirement and limits of
/// `limits`.
pub fn alter_limits(account: &str, limits: &AccountLimits, mode: SqlMode) -> String {
    let require = match limits.ssl_type.to_ascii_uppercase().as_str() {
        "ANY" => "SSL".to_owned(),
        "X509" => "X509".to_owned(),
        "SPECIFIED" => {
            let parts: Vec<String> = [
                ("ISSUER", &limits.x509_issuer),
                ("SUBJECT", &limits.x509_subject),
                ("CIPHER", &limits.ssl_cipher),
            ]
            .into_iter()
            .filter(|(_, value)| !value.is_empty())
            .map(|(name, value)| format!("{name} {}", quote_literal(value, mode)))
            .collect();
            if parts.is_empty() {
                "SSL".to_owned()
            } else {
                parts.join(" AND ")
            }
        }
        _ => "NONE".to_owned(),
    };
    format!(
        "ALTER USER {account} REQUIRE {require} WITH MAX_QUERIES_PER_HOUR {} MAX_UPDATES_PER_HOUR {} MAX_CONNECTIONS_PER_HOUR {} MAX_USER_CONNECTIONS {}",
        limits.max_queries_per_hour,
        limits.max_updates_per_hour,
        limits.max_connections_per_hour,
        limits.max_user_connections
    )
}

/// `SET DEFAULT ROLE` making `roles` (role names; for MySQL, `name@host`
/// accounts already quoted) the account's default roles, or none.
pub fn set_default_roles(server: &ServerVersion, account: &str, roles: &[String]) -> String {
    match server.flavor {
        // MariaDB has one default role.
        Flavor::MariaDb => match roles.first() {
            Some(role) => format!("SET DEFAULT ROLE {role} FOR {account}"),
            None => format!("SET DEFAULT ROLE NONE FOR {account}"),
        },
        Flavor::MySql if roles.is_empty() => format!("SET DEFAULT ROLE NONE TO {account}"),
        Flavor::MySql => format!("SET DEFAULT ROLE {} TO {account}", roles.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(text: &str) -> ServerVersion {
        ServerVersion::parse(text).unwrap()
    }

    const PLAIN: SqlMode = SqlMode {
        no_backslash_escapes: false,
        ansi_quotes: false,
    };
    const NO_BACKSLASH: SqlMode = SqlMode {
        no_backslash_escapes: true,
        ansi_quotes: false,
    };

    #[test]
    fn identifiers_and_accounts_are_quoted() {
        assert_eq!(quote_identifier("app"), "`app`");
        assert_eq!(
            quote_identifier("a`; DROP USER x; --"),
            "`a``; DROP USER x; --`"
        );
        assert_eq!(account("a'b", "10.0.%"), "`a'b`@`10.0.%`");
        assert_eq!(account("x\\", "%"), "`x\\`@`%`");
    }

    #[test]
    fn literals_follow_no_backslash_escapes() {
        assert_eq!(quote_literal("it's", PLAIN), "'it''s'");
        assert_eq!(quote_literal("a\\'b", PLAIN), "'a\\\\''b'");
        assert_eq!(quote_literal("a\\'b", NO_BACKSLASH), "'a\\''b'");
        let ansi = SqlMode {
            no_backslash_escapes: false,
            ansi_quotes: true,
        };
        assert_eq!(quote_literal("say \"hi\"", ansi), "'say \"hi\"'");
    }

    const PASSWORD: &str = "n3w'pa\\ss%_word";

    fn statement_for(server_text: &str, plugin: Plugin) -> Result<String, UnsupportedPlugin> {
        identified(
            &server(server_text),
            &plugin,
            &SecretString::new(PASSWORD),
            PLAIN,
        )
    }

    #[test]
    fn each_server_gets_its_own_hashed_statement() {
        let native = hash::native_password(&SecretString::new(PASSWORD));
        for mysql in ["5.7.44", "8.0.36", "8.4.3"] {
            assert_eq!(
                statement_for(mysql, Plugin::Native).unwrap(),
                format!("IDENTIFIED WITH mysql_native_password AS '{native}'"),
                "{mysql}"
            );
        }
        for mysql in ["8.0.36", "8.4.3", "9.1.0", "8.0.mysql_aurora.3.05.2"] {
            let clause = statement_for(mysql, Plugin::CachingSha2).unwrap();
            assert!(
                clause.starts_with("IDENTIFIED WITH caching_sha2_password AS '$A$005$"),
                "{mysql}: {clause}"
            );
            assert!(!clause.contains(PASSWORD));
        }
        for mariadb in ["5.5.5-10.6.16-MariaDB", "10.11.6-MariaDB", "11.4.2-MariaDB"] {
            assert_eq!(
                statement_for(mariadb, Plugin::Native).unwrap(),
                format!("IDENTIFIED VIA mysql_native_password USING '{native}'")
            );
            let ed = statement_for(mariadb, Plugin::Ed25519).unwrap();
            assert!(ed.starts_with("IDENTIFIED VIA ed25519 USING '"), "{ed}");
            assert!(!ed.contains(PASSWORD));
        }
    }

    #[test]
    fn plugins_without_a_hash_or_password_are_named() {
        // sha256_password takes no hash: the password, quoted.
        assert_eq!(
            statement_for("8.0.36", Plugin::Sha256).unwrap(),
            "IDENTIFIED WITH sha256_password BY 'n3w''pa\\\\ss%_word'"
        );
        for (text, plugin) in [
            ("10.11.6-MariaDB", Plugin::CachingSha2),
            ("10.11.6-MariaDB", Plugin::Other("unix_socket".into())),
            ("8.0.36", Plugin::Ed25519),
            ("8.0.36", Plugin::Other("authentication_ldap_simple".into())),
            ("5.7.44", Plugin::CachingSha2),
        ] {
            let error = statement_for(text, plugin.clone()).unwrap_err().to_string();
            assert!(error.contains(plugin.name()), "{error}");
            assert!(!error.contains(PASSWORD));
        }
    }

    #[test]
    fn own_password_statements() {
        let password = SecretString::new(PASSWORD);
        let mariadb = server("10.11.6-MariaDB");
        assert_eq!(
            set_own_password(&mariadb, &Plugin::Ed25519, &password, PLAIN).unwrap(),
            format!("SET PASSWORD = '{}'", hash::ed25519_password(&password))
        );
        assert_eq!(
            set_own_password(&mariadb, &Plugin::Native, &password, PLAIN).unwrap(),
            format!("SET PASSWORD = '{}'", hash::native_password(&password))
        );
        for mysql in ["5.7.44", "8.0.36", "8.4.3", "9.1.0"] {
            assert_eq!(
                set_own_password(
                    &server(mysql),
                    &Plugin::CachingSha2,
                    &password,
                    NO_BACKSLASH
                )
                .unwrap(),
                "ALTER USER USER() IDENTIFIED BY 'n3w''pa\\ss%_word'"
            );
        }
        assert!(
            set_own_password(&mariadb, &Plugin::Other("pam".into()), &password, PLAIN).is_err()
        );
    }

    #[test]
    fn limits_and_tls_requirements() {
        let mut limits = AccountLimits {
            max_user_connections: 5,
            ..AccountLimits::default()
        };
        assert_eq!(
            alter_limits("`a`@`%`", &limits, PLAIN),
            "ALTER USER `a`@`%` REQUIRE NONE WITH MAX_QUERIES_PER_HOUR 0 MAX_UPDATES_PER_HOUR 0 MAX_CONNECTIONS_PER_HOUR 0 MAX_USER_CONNECTIONS 5"
        );
        limits.ssl_type = "ANY".into();
        assert!(alter_limits("`a`@`%`", &limits, PLAIN).contains("REQUIRE SSL WITH"));
        limits.ssl_type = "SPECIFIED".into();
        limits.x509_subject = "/CN=o'k".into();
        limits.ssl_cipher = "ECDHE-RSA-AES256-GCM-SHA384".into();
        assert!(alter_limits("`a`@`%`", &limits, PLAIN)
            .contains("REQUIRE SUBJECT '/CN=o''k' AND CIPHER 'ECDHE-RSA-AES256-GCM-SHA384' WITH"));
    }

    #[test]
    fn default_roles_per_family() {
        let acct = account("app_clone", "%");
        assert_eq!(
            set_default_roles(&server("10.11.6-MariaDB"), &acct, &["`reader`".into()]),
            "SET DEFAULT ROLE `reader` FOR `app_clone`@`%`"
        );
        assert_eq!(
            set_default_roles(&server("10.11.6-MariaDB"), &acct, &[]),
            "SET DEFAULT ROLE NONE FOR `app_clone`@`%`"
        );
        assert_eq!(
            set_default_roles(
                &server("8.0.36"),
                &acct,
                &["`r1`@`%`".into(), "`r2`@`%`".into()]
            ),
            "SET DEFAULT ROLE `r1`@`%`, `r2`@`%` TO `app_clone`@`%`"
        );
        assert_eq!(
            set_default_roles(&server("8.4.3"), &acct, &[]),
            "SET DEFAULT ROLE NONE TO `app_clone`@`%`"
        );
    }
}
