//! Any bytes as environment settings (`NAME=value` lines): reading the
//! password policy, the connection settings, the strategy, the master
//! allow-list and the API key rotator's settings (its HTTP request
//! templates among them) never panics; a policy that validates generates
//! passwords that follow it, generated keys have their format, and a
//! request template filled with the input's `SECRET_*` values never gains
//! a `.` or `..` path segment its text did not have.

use std::collections::HashMap;

use api_key_rotator::http::template::{RequestLine, Values};
use api_key_rotator::{generated, rotator_from_lookup, GeneratedKeys, PROVIDER_SETTING};
use rotation_core::{PasswordPolicy, Rotator, SecretJson};
use rotation_database::{ConnectSettings, MasterPolicy, Strategy};

/// Checks the property for one input; panics when it does not hold.
pub fn check(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let env: HashMap<&str, &str> = text.lines().filter_map(|l| l.split_once('=')).collect();
    let lookup = |name: &str| env.get(name).map(|v| (*v).to_owned());
    let _ = ConnectSettings::from_lookup(lookup);
    let _ = Strategy::parse_setting(env.get("ROTATION_STRATEGY").copied());
    let _ = MasterPolicy::from_lookup(lookup);
    api_keys(&env, lookup);
    let Ok(policy) =
        PasswordPolicy::from_lookup(&PasswordPolicy::default().excluding(":/@\"'\\"), lookup)
    else {
        return;
    };
    let Ok(generator) = policy.generator() else {
        return;
    };
    // Keep the work per input small; the policy allows up to 4096.
    if policy.length > 256 {
        return;
    }
    let password = generator.generate();
    assert_eq!(password.expose().chars().count(), policy.length);
    for excluded in policy.exclude_characters.chars() {
        assert!(!password.expose().contains(excluded));
    }
    if policy.exclude_numbers {
        assert!(!password.expose().chars().any(|c| c.is_ascii_digit()));
    }
}

fn api_keys(env: &HashMap<&str, &str>, lookup: impl Fn(&str) -> Option<String>) {
    let chosen = rotator_from_lookup(&lookup);
    let generated = lookup(PROVIDER_SETTING).is_some_and(|p| p.trim() == generated::ENGINE);
    if let (Ok(_), true, Ok(keys)) = (&chosen, generated, GeneratedKeys::from_lookup(&lookup)) {
        if keys.format().length() <= 256 {
            let generator = keys.credential().generator_from_lookup(|_| None).unwrap();
            assert!(keys.format().matches(generator.generate().expose()));
        }
    }
    let mut secret = SecretJson::from_map(Default::default());
    for (name, value) in env {
        if let Some(field) = name.strip_prefix("SECRET_") {
            secret.set(field, *value);
        }
    }
    for (name, text) in env.iter().filter(|(n, _)| n.starts_with("TEMPLATE")) {
        let Ok(line) = RequestLine::parse(text, "TEMPLATE", &["api_key"]) else {
            continue;
        };
        let values = Values {
            token: env.get("TOKEN").copied().unwrap_or("t"),
            tag: "rot-0-t",
            key_id: env.get("KEY_ID").copied(),
            secret: &secret,
        };
        if let Ok(path) = line.path(&values) {
            for dots in [".", ".."] {
                // The request line is read trimmed: a template ending in
                // `/. ` writes the dot segment itself (found by fuzzing).
                if !text.trim().split(['/', '?']).any(|segment| segment == dots) {
                    assert!(
                        !path.split(['/', '?']).any(|segment| segment == dots),
                        "{name}: {path}"
                    );
                }
            }
        }
    }
}
