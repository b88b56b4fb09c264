//! Bad input every database rotator must refuse, naming what is wrong: one
//! table per kind, shared by each engine's conformance kit and function
//! checks.

use serde_json::{json, Value};

use rotation_core::secret::SecretPayload;
use rotation_core::SecretJson;

use crate::{EngineSpec, CLONE_SUFFIX};

/// Database secrets createSecret must refuse, derived from `valid` for an
/// engine of `spec`: (what, secret, the field its error names, in
/// backticks).
/// With `alternating`, also a username whose clone exceeds the engine's
/// limit.
pub fn malformed_secrets(
    valid: &SecretJson,
    spec: &EngineSpec,
    alternating: bool,
) -> Vec<(String, SecretPayload, String)> {
    let with = |field: &str, value: Value| {
        let mut secret = valid.clone();
        secret.set(field, value);
        SecretPayload::String(secret.to_secret_string())
    };
    let without = |field: &str| {
        let mut map = valid.as_map().clone();
        map.remove(field);
        SecretPayload::String(SecretJson::from_map(map).to_secret_string())
    };
    let longest = spec.max_username_bytes;
    let other_family = if spec.engines.contains(&"postgres") {
        "mysql"
    } else {
        "postgres"
    };
    let mut cases = vec![
        ("no username".to_owned(), without("username"), "username"),
        (
            "a numeric username".into(),
            with("username", json!(7)),
            "username",
        ),
        (
            format!("a {}-byte username", longest + 1),
            with("username", json!("u".repeat(longest + 1))),
            "username",
        ),
        ("no host".into(), without("host"), "host"),
        ("a numeric host".into(), with("host", json!(10)), "host"),
        ("an empty host".into(), with("host", json!(" ")), "host"),
        (
            "a huge host".into(),
            with("host", json!("h".repeat(60_000))),
            "host",
        ),
        ("no engine".into(), without("engine"), "engine"),
        (
            "an unknown engine".into(),
            with("engine", json!("oracle")),
            "engine",
        ),
        (
            format!("another database's engine ({other_family})"),
            with("engine", json!(other_family)),
            "engine",
        ),
        (
            "a port that is no number".into(),
            with("port", json!("fifty")),
            "port",
        ),
        ("port 0".into(), with("port", json!(0)), "port"),
        ("port 70000".into(), with("port", json!(70000)), "port"),
        (
            "a fractional port".into(),
            with("port", json!(f64::from(spec.default_port) + 0.5)),
            "port",
        ),
        (
            "ssl that is no boolean".into(),
            with("ssl", json!("maybe")),
            "ssl",
        ),
        (
            "an ssl mode that falls back to plaintext".into(),
            with("ssl", json!("prefer")),
            "ssl",
        ),
        ("a numeric ssl".into(), with("ssl", json!(1)), "ssl"),
        (
            "a numeric dbname".into(),
            with("dbname", json!(5)),
            "dbname",
        ),
        (
            "an object masterarn".into(),
            with("masterarn", json!({"arn": "x"})),
            "masterarn",
        ),
    ];
    if alternating {
        let length = longest + 1 - CLONE_SUFFIX.len();
        cases.push((
            format!("a username whose clone exceeds {longest} bytes"),
            with("username", json!("u".repeat(length))),
            "username",
        ));
    }
    cases
        .into_iter()
        .map(|(what, payload, field)| (what, payload, format!("`{field}`")))
        .collect()
}

/// Settings that must stop every database function at start: (what, the
/// variables, the variable its error names), for the strategy, the connect
/// timeout and the CA bundle.
#[allow(clippy::type_complexity)]
pub fn invalid_settings() -> Vec<(String, Vec<(&'static str, &'static str)>, String)> {
    [
        ("an unknown strategy", ("ROTATION_STRATEGY", "round-robin")),
        (
            "a timeout that is no number",
            ("DB_CONNECT_TIMEOUT", "soon"),
        ),
        ("a zero timeout", ("DB_CONNECT_TIMEOUT", "0")),
        (
            "a missing CA bundle",
            ("DB_CA_BUNDLE", "/nonexistent/ca.pem"),
        ),
        (
            "a master allow-list with a wildcard other than the random suffix",
            (
                "MASTER_SECRET_ARNS",
                "arn:aws:secretsmanager:us-east-1:123456789012:secret:*",
            ),
        ),
        (
            "a finish proof that is no boolean",
            ("PROVE_PENDING_AT_FINISH", "sometimes"),
        ),
    ]
    .into_iter()
    .map(|(what, setting)| (what.to_owned(), vec![setting], setting.0.to_owned()))
    .collect()
}
