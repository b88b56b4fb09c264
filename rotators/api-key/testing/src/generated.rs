//! Generated keys: a harness whose secrets hold a key of the tests'
//! settings, and which accepts a key of that shape (no backend holds
//! generated keys; consumers compare with the secret's values).

use api_key_rotator::{rotator_from_lookup, ApiKeyRotator, GeneratedKeys};
use rotation_core::secret::SecretPayload;
use rotation_core::testkit::conformance::RotatorHarness;
use rotation_core::testkit::SecretAdmin;
use rotation_core::{async_trait, Rotator, SecretJson};
use rotation_testing::function_checks::{FunctionHarness, NamedCase};

/// The settings the tests' functions run with.
pub const SETTINGS: [(&str, &str); 5] = [
    ("API_KEY_PROVIDER", "generated"),
    ("API_KEY_FIELD", "token"),
    ("API_KEY_LENGTH", "48"),
    ("API_KEY_ALPHABET", "base64url"),
    ("API_KEY_PREFIX", "sk_test_"),
];

/// One of [`SETTINGS`], as the function's environment gives it.
fn setting(name: &str) -> Option<String> {
    SETTINGS
        .iter()
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// Generated keys of [`SETTINGS`].
pub struct GeneratedHarness;

impl GeneratedHarness {
    /// The provider [`SETTINGS`] configure, as the function chooses it.
    pub fn generated_rotator() -> ApiKeyRotator {
        rotator_from_lookup(setting).expect("valid settings")
    }

    /// The keys [`SETTINGS`] describe.
    pub fn generated_keys() -> GeneratedKeys {
        GeneratedKeys::from_lookup(&setting).expect("valid settings")
    }
}

#[async_trait]
impl RotatorHarness for GeneratedHarness {
    type Rotator = ApiKeyRotator;

    fn rotator(&self) -> ApiKeyRotator {
        Self::generated_rotator()
    }

    /// A key of the configured shape, as an operator's first one.
    async fn fresh_secret(&self, _: &dyn SecretAdmin) -> SecretJson {
        let keys = Self::generated_rotator().credential();
        let key = keys.generator_from_lookup(|_| None).unwrap().generate();
        let mut secret = SecretJson::from_map(Default::default());
        secret.set("engine", "generated");
        secret.set("service", "billing");
        secret.set_secret("token", &key);
        secret
    }

    /// The key has the configured shape: no backend holds generated keys,
    /// the consumers compare with the secret's values.
    async fn can_log_in(&self, secret: &SecretJson) -> bool {
        let keys = Self::generated_keys();
        let token = secret.required_secret("token");
        token.is_ok_and(|t| keys.format().matches(t.expose()))
    }

    fn malformed_secrets(&self, valid: &SecretJson) -> Vec<(String, SecretPayload)> {
        let mut other_engine = valid.clone();
        other_engine.set("engine", "iam-access-key");
        vec![(
            "engine of another provider".into(),
            SecretPayload::String(other_engine.to_secret_string()),
        )]
    }

    fn pending_works_before_set_secret(&self) -> bool {
        true
    }
}

impl FunctionHarness for GeneratedHarness {
    fn binary(&self) -> &'static str {
        "api-key-rotator"
    }

    fn function_env(&self) -> Vec<(&'static str, String)> {
        SETTINGS.iter().map(|(k, v)| (*k, v.to_string())).collect()
    }

    /// No backend: the consumers read the secret.
    fn pointed_at(&self, _: &SecretJson, _: u16) -> Option<SecretJson> {
        None
    }

    fn invalid_secrets(&self, valid: &SecretJson) -> Vec<NamedCase<SecretPayload>> {
        RotatorHarness::malformed_secrets(self, valid)
            .into_iter()
            .map(|(what, payload)| (what, payload, "engine".to_owned()))
            .collect()
    }

    fn invalid_settings(&self) -> Vec<NamedCase<Vec<(&'static str, &'static str)>>> {
        [
            ("a zero length", ("API_KEY_LENGTH", "0"), "API_KEY_LENGTH"),
            (
                "an unknown alphabet",
                ("API_KEY_ALPHABET", "emoji"),
                "API_KEY_ALPHABET",
            ),
            (
                "a prefix with a space",
                ("API_KEY_PREFIX", "sk live"),
                "API_KEY_PREFIX",
            ),
        ]
        .into_iter()
        .map(|(what, setting, names)| (what.to_owned(), vec![setting], names.to_owned()))
        .collect()
    }
}
