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

/// `ALTER ROLE ... PASSWORD` with a SCRAM-SHA-256 verifier computed here,
/// so the password itself never reaches the server: not its statement log,
/// not `pg_stat_statements`, not an error report.
pub fn alter_password(username: &str, password: &SecretString) -> String {
    let verifier = postgres_protocol::password::scram_sha_256(password.expose().as_bytes());
    format!(
        "ALTER ROLE {} PASSWORD {}",
        quote_identifier(username),
        quote_literal(&verifier)
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
        let statement = alter_password("app", &password);
        assert!(statement.starts_with("ALTER ROLE \"app\" PASSWORD 'SCRAM-SHA-256$4096:"));
        assert!(!statement.contains("hunter2-but-longer"));
    }
}
