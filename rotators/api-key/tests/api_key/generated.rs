//! Generated keys with moto as Secrets Manager: the conformance kit, and a
//! consumer that accepts AWSCURRENT and AWSPREVIOUS, as the README shows.

use api_key_rotator::{rotator_from_lookup, ApiKeyRotator};
use rotation_core::error::error_chain;
use rotation_core::secret::SecretPayload;
use rotation_core::store::{PutValue, VersionSelector, AWSCURRENT, AWSPENDING, AWSPREVIOUS};
use rotation_core::testkit::conformance::{self, run_all, RotatorHarness};
use rotation_core::testkit::{Rotations, SecretAdmin};
use rotation_core::{async_trait, Rotator, SecretJson, SecretString, Step};
use rotation_tests::function_checks::{FunctionHarness, NamedCase};
use rotation_tests::moto::MotoServer;

/// The settings the tests' functions run with.
pub const SETTINGS: [(&str, &str); 5] = [
    ("API_KEY_PROVIDER", "generated"),
    ("API_KEY_FIELD", "token"),
    ("API_KEY_LENGTH", "48"),
    ("API_KEY_ALPHABET", "base64url"),
    ("API_KEY_PREFIX", "sk_test_"),
];

pub struct GeneratedHarness;

impl GeneratedHarness {
    pub fn generated_rotator() -> ApiKeyRotator {
        rotator_from_lookup(|name| {
            SETTINGS
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        })
        .expect("valid settings")
    }
}

/// What a consumer service does with a presented key: accept it when it is
/// the secret's AWSCURRENT or AWSPREVIOUS value.
async fn consumer_accepts(store: &dyn SecretAdmin, arn: &str, presented: &str) -> bool {
    for stage in [AWSCURRENT, AWSPREVIOUS] {
        let Some(version) = store
            .get_value(arn, VersionSelector::Stage(stage))
            .await
            .unwrap()
        else {
            continue;
        };
        let secret = SecretJson::from_payload(&version.payload).unwrap();
        if secret.required_secret("token").unwrap().expose() == presented {
            return true;
        }
    }
    false
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
        let ApiKeyRotator::Generated(keys) = Self::generated_rotator() else {
            unreachable!()
        };
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

#[tokio::test]
async fn generated_keys_pass_the_conformance_kit() {
    let moto = MotoServer::start();
    let report = run_all(&GeneratedHarness, moto.admin_store()).await;
    println!("generated keys: {report:#?}");
    assert_eq!(report.cases, conformance::CASES);
    let calls: usize = report.calls_per_step.iter().map(|(_, ops)| ops.len()).sum();
    assert_eq!(calls, 11, "Secrets Manager calls per rotation");
}

#[tokio::test]
async fn a_consumer_accepts_the_replaced_key_for_one_rotation() {
    let moto = MotoServer::start();
    let rotations = Rotations::new(moto.admin_store(), GeneratedHarness::generated_rotator());
    let first = GeneratedHarness.fresh_secret(rotations.store()).await;
    let first_key = first.required_secret("token").unwrap();
    let arn = rotations.create("generated", &first).await;
    let store = rotations.store();

    rotations.rotate(&arn).await;
    let second = rotations
        .value(&arn, VersionSelector::Stage(AWSCURRENT))
        .await;
    let second_key = second.required_secret("token").unwrap();
    assert!(second_key.expose().starts_with("sk_test_"));
    assert_eq!(second_key.len(), "sk_test_".len() + 48);
    assert_eq!(second.get("service"), Some(&"billing".into()));
    assert!(consumer_accepts(store, &arn, second_key.expose()).await);
    assert!(
        consumer_accepts(store, &arn, first_key.expose()).await,
        "grace window"
    );

    rotations.rotate(&arn).await;
    assert!(consumer_accepts(store, &arn, second_key.expose()).await);
    assert!(
        !consumer_accepts(store, &arn, first_key.expose()).await,
        "two rotations old"
    );
    rotations.assert_no_leaks(&[]).await;
}

/// A pending value written by hand, not by this function, is not promoted.
#[tokio::test]
async fn a_pending_key_of_another_shape_fails_test_secret() {
    let moto = MotoServer::start();
    let rotations = Rotations::new(moto.admin_store(), GeneratedHarness::generated_rotator());
    let arn = rotations
        .create(
            "generated",
            &GeneratedHarness.fresh_secret(rotations.store()).await,
        )
        .await;
    let token = rotations.start(&arn).await;
    let mut hand_made = GeneratedHarness.fresh_secret(rotations.store()).await;
    hand_made.set_secret("token", &SecretString::new("sk_test_tooshort"));
    rotations
        .store()
        .put_value(
            &arn,
            PutValue {
                version_id: &token,
                value: &hand_made.to_secret_string(),
                stages: &[AWSPENDING],
                rotation_token: None,
            },
        )
        .await
        .unwrap();
    rotations
        .steps(&arn, &token, &[Step::CreateSecret, Step::SetSecret])
        .await;
    let error = rotations
        .step(&arn, &token, Step::TestSecret)
        .await
        .expect_err("not a key of the configured format");
    let message = error_chain(&error);
    assert!(
        message.contains("not a key of the configured format"),
        "{message}"
    );
    assert!(
        !message.contains("tooshort"),
        "the value stays out: {message}"
    );
}
