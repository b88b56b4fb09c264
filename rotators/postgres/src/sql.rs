//! PostgreSQL's quoting rules and the client-side password verifier.

use rotation_core::SecretString;

/// `name` as a quoted identifier: wrapped in double quotes, each double
/// quote doubled. Any string without NUL (refused when the secret is read)
/// becomes exactly one identifier, so a username cannot inject SQL.
pub fn quote_identifier(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// `value` as a string literal: single quotes doubled; with a backslash,
/// the `E''` form with backslashes doubled, which reads the same whatever
/// `standard_conforming_strings` says.
pub fn quote_literal(value: &str) -> String {
    let quoted = value.replace('\'', "''");
    if value.contains('\\') {
        format!("E'{}'", quoted.replace('\\', "\\\\"))
    } else {
        format!("'{quoted}'")
    }
}

/// How the server stores passwords: its `password_encryption`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordFormat {
    /// `scram-sha-256`, the default since PostgreSQL 14.
    ScramSha256,
    /// `md5` (`on` before PostgreSQL 14): the default of RDS and Aurora
    /// PostgreSQL 13 and earlier, and what clients that speak only MD5
    /// (old JDBC drivers, PgBouncer with `auth_type = md5`) need.
    Md5,
}

impl PasswordFormat {
    /// The format `password_encryption` names; SCRAM for any value not
    /// known to mean MD5.
    pub fn from_setting(value: &str) -> Self {
        match value.trim().to_ascii_lowercase().as_str() {
            "md5" | "on" | "true" => Self::Md5,
            _ => Self::ScramSha256,
        }
    }
}

/// `ALTER ROLE ... PASSWORD` with the stored form of `password` (a
/// SCRAM-SHA-256 verifier, or MD5's hash of password and username)
/// computed here, so the password itself never reaches the server: not
/// its statement log, not `pg_stat_statements`, not an error report.
pub fn alter_password(username: &str, password: &SecretString, format: PasswordFormat) -> String {
    let stored = match format {
        PasswordFormat::ScramSha256 => {
            postgres_protocol::password::scram_sha_256(password.expose().as_bytes())
        }
        PasswordFormat::Md5 => {
            postgres_protocol::password::md5(password.expose().as_bytes(), username)
        }
    };
    alter_password_to(username, &stored)
}

/// `ALTER ROLE ... PASSWORD` with a stored form computed before (a
/// verifier computed ahead, on another thread).
pub fn alter_password_to(username: &str, stored: &str) -> String {
    format!(
        "ALTER ROLE {} PASSWORD {}",
        quote_identifier(username),
        quote_literal(stored)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_quoted() {
        assert_eq!(quote_identifier("app"), "\"app\"");
        assert_eq!(
            quote_identifier("a\"; DROP ROLE x; --"),
            "\"a\"\"; DROP ROLE x; --\""
        );
    }

    #[test]
    fn literals_are_quoted() {
        assert_eq!(quote_literal("it's"), "'it''s'");
        assert_eq!(quote_literal("a\\'b"), "E'a\\\\''b'");
    }

    #[test]
    fn the_statement_holds_a_verifier_not_the_password() {
        let password = SecretString::new("hunter2-but-longer");
        let statement = alter_password("app", &password, PasswordFormat::ScramSha256);
        assert!(statement.starts_with("ALTER ROLE \"app\" PASSWORD 'SCRAM-SHA-256$4096:"));
        assert!(!statement.contains("hunter2-but-longer"));
    }

    /// MD5's stored form is "md5" and the hex MD5 of the password followed
    /// by the username (PostgreSQL's documentation): for password "secret"
    /// and user "app", md5("secretapp") (computed apart, with Python's
    /// hashlib).
    #[test]
    fn md5_servers_get_md5_of_password_and_username() {
        let statement = alter_password("app", &SecretString::new("secret"), PasswordFormat::Md5);
        assert_eq!(
            statement,
            "ALTER ROLE \"app\" PASSWORD 'md56a422f785c9e20873908ce25d1736ae2'"
        );
        for (setting, format) in [
            ("md5", PasswordFormat::Md5),
            ("on", PasswordFormat::Md5),
            (" MD5 ", PasswordFormat::Md5),
            ("scram-sha-256", PasswordFormat::ScramSha256),
        ] {
            assert_eq!(PasswordFormat::from_setting(setting), format, "{setting}");
        }
    }
}
