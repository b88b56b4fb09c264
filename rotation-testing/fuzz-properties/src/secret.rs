//! Any bytes as a secret value, read as a PostgreSQL and as a MySQL
//! secret under both strategies: parsing never panics, and what it reports (an error's
//! message, a parsed login's `Debug`) does not depend on the password: the
//! same secret with another password of the same shape reads the same.
//! (Not "the message does not contain the password": a password can equal
//! a piece of any message, as the fuzzer showed with `field `engine` is
//! miss`.)

use mysql_rotator::MysqlBackend;
use postgres_rotator::PostgresBackend;
use rotation_core::secret::{SecretBytes, SecretPayload};
use rotation_core::{SecretJson, SecretString};
use rotation_database::{DatabaseBackend, DatabaseSecret, EngineSpec, Strategy};

/// The PostgreSQL and MySQL rotators' own schemas and limits.
const ENGINES: [EngineSpec; 2] = [
    <PostgresBackend as DatabaseBackend>::SPEC,
    <MysqlBackend as DatabaseBackend>::SPEC,
];

/// What reading `secret` reports for each engine: the error's message, or
/// the login's `Debug` and the strategies' verdicts.
fn report(secret: &SecretJson) -> String {
    let mut out = String::new();
    for spec in &ENGINES {
        out.push_str(&match DatabaseSecret::parse(secret, spec) {
            Err(error) => format!("error: {error}\n"),
            Ok(login) => {
                let automatic = Strategy::for_secret(None, &login, spec);
                let forced = Strategy::for_secret(Some(Strategy::AlternatingUsers), &login, spec);
                format!("{login:?} {automatic:?} {forced:?}\n")
            }
        });
    }
    out
}

/// Checks the property for one input; panics when it does not hold.
pub fn check(data: &[u8]) {
    let payload = match std::str::from_utf8(data) {
        Ok(text) => SecretPayload::String(SecretString::new(text)),
        Err(_) => SecretPayload::Binary(SecretBytes::new(data)),
    };
    let Ok(secret) = SecretJson::from_payload(&payload) else {
        return;
    };
    // A parsed secret serialises and re-parses to the same value.
    let again = SecretJson::parse(&secret.to_secret_string()).expect("re-parse");
    assert_eq!(secret, again);

    let first = report(&secret);
    if let Some(password) = secret.get("password").and_then(|p| p.as_str()) {
        // Same length and the same NULs (which are refused), other text.
        let other: String = password
            .chars()
            .map(|c| match c {
                '\0' => '\0',
                'x' => 'y',
                _ => 'x',
            })
            .collect();
        let mut changed = secret.clone();
        changed.set("password", other);
        assert_eq!(
            first,
            report(&changed),
            "the report depends on the password"
        );
    }
}
