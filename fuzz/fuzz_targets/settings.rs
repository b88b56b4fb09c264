//! Any bytes as environment settings (`NAME=value` lines): reading the
//! password policy, the connection settings, the strategy and the master
//! allow-list never panics,
//! and a policy that validates generates passwords that follow it.
#![no_main]

use std::collections::HashMap;

use libfuzzer_sys::fuzz_target;
use rotation_database::{ConnectSettings, MasterPolicy, Strategy};
use rotation_core::PasswordPolicy;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let env: HashMap<&str, &str> = text.lines().filter_map(|l| l.split_once('=')).collect();
    let lookup = |name: &str| env.get(name).map(|v| (*v).to_owned());
    let _ = ConnectSettings::from_lookup(lookup);
    let _ = Strategy::parse_setting(env.get("ROTATION_STRATEGY").copied());
    let _ = MasterPolicy::from_lookup(lookup);
    let Ok(policy) = PasswordPolicy::from_lookup(&PasswordPolicy::default().excluding(":/@\"'\\"), lookup) else {
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
});
