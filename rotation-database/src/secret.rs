//! The connection fields of a database secret, as AWS's templates define
//! them, parsed and checked once.

use std::fmt;

use serde_json::Value;

use rotation_core::SecretFormatError;
use rotation_core::{SecretJson, SecretString};

/// What a database engine accepts in a secret: the `engine` values it
/// rotates and its defaults.
#[derive(Debug, Clone, Copy)]
pub struct EngineSpec {
    /// Accepted values of the `engine` field.
    pub engines: &'static [&'static str],
    /// `port` when the secret has none.
    pub default_port: u16,
    /// `dbname` when the secret has none (`None`: connect without one).
    pub default_dbname: Option<&'static str>,
    /// The longest username the engine accepts, in bytes.
    pub max_username_bytes: usize,
    /// The default for `EXCLUDE_CHARACTERS`: characters the engine's
    /// connection strings treat specially.
    pub excluded_characters: &'static str,
}

impl EngineSpec {
    /// PostgreSQL and Aurora PostgreSQL: port 5432, database `postgres`,
    /// usernames of at most 63 bytes, and AWS's template's excluded
    /// characters (those a connection string treats specially).
    pub const POSTGRES: EngineSpec = EngineSpec {
        engines: &["postgres", "aurora-postgresql"],
        default_port: 5432,
        default_dbname: Some("postgres"),
        max_username_bytes: 63,
        excluded_characters: ":/@\"'\\",
    };

    /// MySQL, Aurora MySQL and MariaDB: port 3306, no default database,
    /// and AWS's template's excluded characters. Usernames are checked
    /// here only against the longest any of them accepts (MariaDB's 80
    /// characters of up to 4 bytes); the backend checks the server's own
    /// limit (MySQL 32 characters) where it names a clone.
    pub const MYSQL: EngineSpec = EngineSpec {
        engines: &["mysql", "aurora-mysql", "mariadb"],
        default_port: 3306,
        default_dbname: None,
        max_username_bytes: 320,
        excluded_characters: "/@\"'\\",
    };
}

/// What a login's TLS checks, from the secret's `ssl`. No mode falls back
/// to plaintext.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    /// No TLS (`false`, `"disable"`).
    Disable,
    /// TLS; the certificate chains to a trusted authority (the system's,
    /// Amazon RDS's, `DB_CA_BUNDLE`) and names the secret's `host`
    /// (`true`, `"require"`, `"verify-full"`).
    VerifyFull,
    /// TLS; the certificate chains to Amazon RDS's authorities or
    /// `DB_CA_BUNDLE`, whatever names it holds (`"verify-ca"`, as libpq):
    /// for hosts given as IP addresses or private DNS aliases. Public
    /// authorities are not trusted here, since anyone can get one of their
    /// certificates for a name of their own.
    VerifyCa,
}

/// A database login read from a secret: `engine`, `host`, `port`,
/// `username`, `password`, `dbname`, `ssl` and `masterarn`.
#[derive(Clone)]
pub struct DatabaseSecret {
    /// The `engine` field, one of the backend's [`EngineSpec::engines`].
    pub engine: String,
    /// The `host` field.
    pub host: String,
    /// The `port` field (a number or a numeric string), or the engine's
    /// default.
    pub port: u16,
    /// The `username` field.
    pub username: String,
    /// The `password` field.
    pub password: SecretString,
    /// The `dbname` field, or the engine's default.
    pub dbname: Option<String>,
    /// The `ssl` field (a boolean, "true"/"false", or libpq's `require`,
    /// `verify-ca`, `verify-full` for TLS and `disable` for none); `None`
    /// when absent, in which case the backend applies its documented
    /// default.
    pub ssl: Option<SslMode>,
    /// The `masterarn` field: the secret whose credentials change this
    /// user's password in the alternating-users strategy.
    pub masterarn: Option<String>,
}

impl fmt::Debug for DatabaseSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DatabaseSecret")
            .field("engine", &self.engine)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("username", &self.username)
            .field("password", &self.password)
            .field("dbname", &self.dbname)
            .field("ssl", &self.ssl)
            .field("masterarn", &self.masterarn)
            .finish()
    }
}

impl DatabaseSecret {
    /// Reads the fields of `secret`. A missing or ill-typed field is an
    /// error naming the field; only non-secret values are ever quoted.
    pub fn parse(secret: &SecretJson, spec: &EngineSpec) -> Result<Self, SecretFormatError> {
        let engine = secret.required_str("engine")?;
        if !spec.engines.contains(&engine) {
            return Err(invalid(
                "engine",
                format!("this function rotates {}", spec.engines.join(" or ")),
            ));
        }
        let host = secret.required_str("host")?;
        if host.trim().is_empty() {
            return Err(invalid("host", "it is empty".into()));
        }
        // DNS names stop at 253 bytes; anything longer is not a host.
        if host.len() > 253 {
            return Err(invalid(
                "host",
                format!(
                    "it is {} bytes long; a host name has at most 253",
                    host.len()
                ),
            ));
        }
        let username = secret.required_str("username")?;
        if username.is_empty() {
            return Err(invalid("username", "it is empty".into()));
        }
        if username.len() > spec.max_username_bytes {
            return Err(invalid(
                "username",
                format!(
                    "it is {} bytes long; the engine's limit is {}",
                    username.len(),
                    spec.max_username_bytes
                ),
            ));
        }
        if username.contains('\0') {
            return Err(invalid("username", "it contains a NUL character".into()));
        }
        let password = secret.required_secret("password")?;
        if password.expose().contains('\0') {
            return Err(invalid("password", "it contains a NUL character".into()));
        }
        let dbname = match secret.optional_str("dbname")? {
            Some(name) if !name.is_empty() => Some(name.to_owned()),
            _ => spec.default_dbname.map(str::to_owned),
        };
        let masterarn = match secret.optional_str("masterarn")? {
            Some(arn) if !arn.trim().is_empty() => Some(arn.to_owned()),
            _ => None,
        };
        Ok(Self {
            engine: engine.to_owned(),
            host: host.to_owned(),
            port: secret.optional_port("port")?.unwrap_or(spec.default_port),
            username: username.to_owned(),
            password,
            dbname,
            ssl: parse_ssl(secret.get("ssl"))?,
            masterarn,
        })
    }

    /// What the login's TLS checks: `ssl` when the secret has it,
    /// otherwise [`SslMode::VerifyFull`]. A server without TLS is an error
    /// under every mode but [`SslMode::Disable`], never a plaintext
    /// fallback.
    pub fn ssl_mode(&self) -> SslMode {
        self.ssl.unwrap_or(SslMode::VerifyFull)
    }

    /// Whether the login uses TLS (every mode but [`SslMode::Disable`]).
    pub fn uses_tls(&self) -> bool {
        self.ssl_mode() != SslMode::Disable
    }

    /// `host:port`, for messages.
    pub fn address(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }

    /// The same login with another password.
    pub fn with_password(&self, password: SecretString) -> Self {
        Self {
            password,
            ..self.clone()
        }
    }
}

fn invalid(field: &str, reason: String) -> SecretFormatError {
    SecretFormatError::InvalidValue {
        field: field.to_owned(),
        reason,
    }
}

/// `ssl` as people write it: a boolean, "true"/"false", or libpq's
/// `sslmode` names. Every mode that allows plaintext is refused by name,
/// because this function never falls back to it.
fn parse_ssl(value: Option<&Value>) -> Result<Option<SslMode>, SecretFormatError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(true)) => Ok(Some(SslMode::VerifyFull)),
        Some(Value::Bool(false)) => Ok(Some(SslMode::Disable)),
        Some(Value::String(s)) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "require" | "verify-full" => Ok(Some(SslMode::VerifyFull)),
            "verify-ca" => Ok(Some(SslMode::VerifyCa)),
            "false" | "disable" => Ok(Some(SslMode::Disable)),
            mode @ ("prefer" | "allow") => Err(invalid(
                "ssl",
                format!(
                    "`{mode}` would fall back to plaintext, which this function never does: use true (verified TLS) or false (no TLS)"
                ),
            )),
            _ => Err(invalid(
                "ssl",
                "it must be true or false (a boolean or a string), or one of libpq's require, verify-ca, verify-full, disable".into(),
            )),
        },
        Some(other) => Err(SecretFormatError::wrong_type(
            "ssl",
            "a boolean or \"true\"/\"false\"",
            other,
        )),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const SPEC: EngineSpec = EngineSpec {
        engines: &["postgres", "aurora-postgresql"],
        default_port: 5432,
        default_dbname: Some("postgres"),
        max_username_bytes: 63,
        excluded_characters: "",
    };

    fn secret(value: Value) -> SecretJson {
        let Value::Object(map) = value else {
            unreachable!("the tests pass objects")
        };
        SecretJson::from_map(map)
    }

    fn base() -> Value {
        json!({"engine": "postgres", "host": "db", "username": "app", "password": "pw-sekret-123"})
    }

    fn with(field: &str, value: Value) -> SecretJson {
        let mut v = base();
        v[field] = value;
        secret(v)
    }

    fn without(field: &str) -> SecretJson {
        let mut v = base();
        v.as_object_mut().unwrap().remove(field);
        secret(v)
    }

    #[test]
    fn defaults_apply() {
        let parsed = DatabaseSecret::parse(&secret(base()), &SPEC).unwrap();
        assert_eq!(parsed.port, 5432);
        assert_eq!(parsed.dbname.as_deref(), Some("postgres"));
        assert_eq!(parsed.ssl, None);
        assert_eq!(parsed.masterarn, None);
        assert!(!format!("{parsed:?}").contains("pw-sekret-123"));
    }

    #[test]
    fn port_and_ssl_accept_strings() {
        let parsed = DatabaseSecret::parse(&with("port", json!(" 6543")), &SPEC).unwrap();
        assert_eq!(parsed.port, 6543);
        assert_eq!(
            DatabaseSecret::parse(&with("ssl", json!("TRUE")), &SPEC)
                .unwrap()
                .ssl,
            Some(SslMode::VerifyFull)
        );
        assert_eq!(
            DatabaseSecret::parse(&with("ssl", json!(false)), &SPEC)
                .unwrap()
                .ssl,
            Some(SslMode::Disable)
        );
        for (mode, tls) in [
            ("require", SslMode::VerifyFull),
            ("Verify-CA", SslMode::VerifyCa),
            ("verify-full", SslMode::VerifyFull),
            ("disable", SslMode::Disable),
        ] {
            let parsed = DatabaseSecret::parse(&with("ssl", json!(mode)), &SPEC).unwrap();
            assert_eq!(parsed.ssl, Some(tls), "{mode}");
        }
    }

    #[test]
    fn modes_that_fall_back_to_plaintext_are_refused_by_name() {
        for mode in ["prefer", "allow"] {
            let message = DatabaseSecret::parse(&with("ssl", json!(mode)), &SPEC)
                .unwrap_err()
                .to_string();
            assert!(
                message.contains("`ssl`")
                    && message.contains(mode)
                    && message.contains("plaintext"),
                "{message}"
            );
        }
    }

    #[test]
    fn errors_name_the_field() {
        let cases = [
            (without("engine"), "engine"),
            (with("engine", json!("mysql")), "engine"),
            (without("host"), "host"),
            (with("host", json!(5)), "host"),
            (with("host", json!("h".repeat(254))), "host"),
            (without("username"), "username"),
            (with("username", json!("")), "username"),
            (with("username", json!("x".repeat(64))), "username"),
            (without("password"), "password"),
            (with("password", json!(12)), "password"),
            (with("port", json!("54x")), "port"),
            (with("port", json!(0)), "port"),
            (with("port", json!(70000)), "port"),
            (with("port", json!(5432.5)), "port"),
            (with("port", json!([5432])), "port"),
            (with("ssl", json!("maybe")), "ssl"),
            (with("ssl", json!(1)), "ssl"),
            (with("dbname", json!(1)), "dbname"),
            (with("masterarn", json!({})), "masterarn"),
        ];
        for (input, field) in cases {
            let error = DatabaseSecret::parse(&input, &SPEC).unwrap_err();
            let message = error.to_string();
            assert!(
                message.contains(&format!("`{field}`")),
                "{message} should name {field}"
            );
            assert!(!message.contains("pw-sekret-123"), "{message}");
        }
    }
}
