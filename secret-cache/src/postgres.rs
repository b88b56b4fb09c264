//! A PostgreSQL login from a cached database secret: a
//! `tokio_postgres::Config`, or a connection URL that survives any
//! password.

use std::fmt::Write as _;

use rotation_core::{SecretFormatError, SecretString};
use rotation_database::{DatabaseSecret, EngineSpec};
use tokio_postgres::config::SslMode;
use tokio_postgres::error::SqlState;

use crate::value::CachedSecret;

/// The login in an AWS database secret (`engine` `postgres` or
/// `aurora-postgresql`, `host`, `port`, `username`, `password`, `dbname`,
/// `ssl`), read with the rotators' own parser, so what rotates is what
/// connects. `Debug` redacts the password.
#[derive(Debug, Clone)]
pub struct PostgresLogin {
    secret: DatabaseSecret,
}

impl PostgresLogin {
    /// Reads the login; the error names the missing or bad field.
    pub fn from_secret(secret: &CachedSecret) -> Result<Self, SecretFormatError> {
        let json = secret.json()?;
        Ok(Self {
            secret: DatabaseSecret::parse(&json, &EngineSpec::POSTGRES)?,
        })
    }

    /// The user to log in as.
    pub fn username(&self) -> &str {
        &self.secret.username
    }

    /// The password.
    pub fn password(&self) -> &SecretString {
        &self.secret.password
    }

    /// Whether the secret asks for TLS (`ssl` true or absent), as the
    /// rotators read it.
    pub fn uses_tls(&self) -> bool {
        self.secret.uses_tls()
    }

    /// A `tokio_postgres::Config` for this login. TLS is required when the
    /// secret asks for it (`SslMode::Require`): pass a connector that
    /// verifies the server's certificate and host name, as
    /// `tokio-postgres-rustls` does.
    pub fn config(&self) -> tokio_postgres::Config {
        let mut config = tokio_postgres::Config::new();
        config
            .host(&self.secret.host)
            .port(self.secret.port)
            .user(&self.secret.username)
            .password(self.secret.password.expose())
            .ssl_mode(if self.uses_tls() {
                SslMode::Require
            } else {
                SslMode::Disable
            });
        if let Some(dbname) = &self.secret.dbname {
            config.dbname(dbname);
        }
        config
    }

    /// `postgresql://user:password@host:port/dbname?sslmode=...`, every
    /// part percent-encoded, so a password holding `@`, `/`, `:` or `%`
    /// means itself. TLS is `verify-full` (libpq checks the certificate and
    /// the host name), never a mode that falls back to plaintext: for
    /// libpq, `psql` or sqlx (tokio-postgres parses no `verify-full`; take
    /// [`config`](Self::config) there).
    pub fn url(&self) -> SecretString {
        let mut url = String::from("postgresql://");
        encode_into(&mut url, &self.secret.username);
        url.push(':');
        encode_into(&mut url, self.secret.password.expose());
        url.push('@');
        if self.secret.host.contains(':') {
            // An IPv6 address.
            let _ = write!(url, "[{}]", self.secret.host);
        } else {
            encode_into(&mut url, &self.secret.host);
        }
        let _ = write!(url, ":{}/", self.secret.port);
        if let Some(dbname) = &self.secret.dbname {
            encode_into(&mut url, dbname);
        }
        url.push_str(if self.uses_tls() {
            "?sslmode=verify-full"
        } else {
            "?sslmode=disable"
        });
        SecretString::new(url)
    }
}

/// Whether PostgreSQL refused the login itself (a wrong password, or a
/// role that may not log in), as opposed to the network or a query: what
/// [`Attempt::classify`](crate::Attempt::classify) needs.
pub fn is_login_refused(error: &tokio_postgres::Error) -> bool {
    error.code().is_some_and(|code| {
        *code == SqlState::INVALID_PASSWORD
            || *code == SqlState::INVALID_AUTHORIZATION_SPECIFICATION
    })
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn encode_into(out: &mut String, part: &str) {
    for byte in part.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(byte as char);
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
}

#[cfg(test)]
mod tests {
    use rotation_core::secret::SecretPayload;
    use rotation_core::store::SecretVersion;
    use serde_json::json;

    use super::*;

    fn login(value: serde_json::Value) -> Result<PostgresLogin, SecretFormatError> {
        PostgresLogin::from_secret(&CachedSecret::from(SecretVersion {
            arn: "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-abcdef".into(),
            name: "db".into(),
            created: None,
            version_id: "v1".into(),
            stages: vec!["AWSCURRENT".into()],
            payload: SecretPayload::String(SecretString::new(value.to_string())),
        }))
    }

    #[test]
    fn a_password_with_url_delimiters_is_encoded() {
        let login = login(json!({
            "engine": "postgres", "host": "db.example", "username": "app user",
            "password": "p@ss/w:rd%?#&=", "dbname": "my/db", "port": "6432"
        }))
        .unwrap();
        assert_eq!(
            login.url().expose(),
            "postgresql://app%20user:p%40ss%2Fw%3Ard%25%3F%23%26%3D@db.example:6432/my%2Fdb?sslmode=verify-full"
        );
    }

    #[test]
    fn the_url_parses_back_to_the_same_login() {
        let password = "p@ss/w:rd%?#&= \\'\"x";
        let login = login(json!({
            "engine": "postgres", "host": "db.example", "username": "app@corp",
            "password": password, "dbname": "my db", "ssl": false
        }))
        .unwrap();
        let parsed: tokio_postgres::Config = login.url().expose().parse().unwrap();
        assert_eq!(parsed.get_password(), Some(password.as_bytes()));
        assert_eq!(parsed.get_user(), Some("app@corp"));
        assert_eq!(parsed.get_dbname(), Some("my db"));
        assert_eq!(parsed.get_ports(), &[5432]);
        assert_eq!(parsed.get_ssl_mode(), SslMode::Disable);
    }

    #[test]
    fn ssl_false_and_an_ipv6_host_and_the_default_database() {
        let login = login(json!({
            "engine": "aurora-postgresql", "host": "::1", "username": "u",
            "password": "pw", "ssl": false
        }))
        .unwrap();
        assert_eq!(
            login.url().expose(),
            "postgresql://u:pw@[::1]:5432/postgres?sslmode=disable"
        );
        let config = login.config();
        assert_eq!(config.get_ssl_mode(), SslMode::Disable);
        assert_eq!(config.get_dbname(), Some("postgres"));
        assert_eq!(config.get_ports(), &[5432]);
        assert_eq!(config.get_password(), Some(&b"pw"[..]));
    }

    #[test]
    fn tls_is_required_unless_the_secret_says_false() {
        let login = login(json!({
            "engine": "postgres", "host": "db", "username": "u", "password": "pw"
        }))
        .unwrap();
        assert_eq!(login.config().get_ssl_mode(), SslMode::Require);
        assert!(login.uses_tls());
    }

    #[test]
    fn a_bad_secret_names_the_field_and_not_the_password() {
        let error = login(json!({
            "engine": "postgres", "username": "u", "password": "sekret-pw"
        }))
        .unwrap_err()
        .to_string();
        assert!(error.contains("host"), "{error}");
        assert!(!error.contains("sekret-pw"), "{error}");
        let error = login(json!({
            "engine": "mysql", "host": "db", "username": "u", "password": "sekret-pw"
        }))
        .unwrap_err()
        .to_string();
        assert!(error.contains("engine"), "{error}");
    }

    #[test]
    fn debug_redacts_the_password() {
        let login = login(json!({
            "engine": "postgres", "host": "db", "username": "u", "password": "sekret-pw"
        }))
        .unwrap();
        let printed = format!("{login:?} {:?}", login.url());
        assert!(!printed.contains("sekret-pw"), "{printed}");
    }
}
