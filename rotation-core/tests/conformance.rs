//! The conformance kit and the store contract over the in-memory store,
//! with the reference rotator.

use std::sync::Arc;

use rotation_core::event::Step;
use rotation_core::store::InMemorySecretStore;
use rotation_core::testkit::conformance::{self, run_all};
use rotation_core::testkit::reference::TableHarness;
use rotation_core::testkit::{store_contract, KnownGaps, SecretAdmin};

#[tokio::test]
async fn in_memory_store_meets_the_store_contract() {
    let store = InMemorySecretStore::new();
    store_contract::run_all(&store, KnownGaps::default()).await;
}

#[tokio::test]
async fn reference_rotator_passes_the_conformance_kit_on_the_in_memory_store() {
    let store: Arc<dyn SecretAdmin> = Arc::new(InMemorySecretStore::new());
    let report = run_all(&TableHarness::default(), store).await;
    println!("{report:#?}");
    conformance::assert_covered(&report, &[]);
    // The exact call budget of one rotation: 11 Secrets Manager calls
    // (AWS's PostgreSQL template makes 14). finishSecret reads nothing: the
    // kit runs a rotation's steps in one process, whose testSecret proved
    // the pending version.
    let calls: Vec<(Step, usize)> = report
        .calls_per_step
        .iter()
        .map(|(step, ops)| (*step, ops.len()))
        .collect();
    assert_eq!(
        calls,
        vec![
            (Step::CreateSecret, 4),
            (Step::SetSecret, 3),
            (Step::TestSecret, 2),
            (Step::FinishSecret, 2),
        ]
    );
    // Two timings at each of the 11 calls.
    assert_eq!(report.fault_points.len(), 22);
}

/// A service that issues API keys and accepts several per client, as most
/// key-based APIs do: a rotator whose credential is a key in `api_key`, not
/// a password, written only against the public API. The kit must hold it to
/// the same bar.
mod key_service {
    use std::collections::{HashMap, HashSet};
    use std::sync::{Arc, Mutex};

    use rotation_core::secret::SecretPayload;
    use rotation_core::testkit::conformance::RotatorHarness;
    use rotation_core::testkit::{unique_name, SecretAdmin};
    use rotation_core::{
        async_trait, Credential, KeyFormat, RotationContext, Rotator, RotatorError, SecretJson,
        SecretString,
    };

    /// Each client's valid keys.
    #[derive(Default, Clone)]
    pub struct Keys(pub Arc<Mutex<HashMap<String, HashSet<String>>>>);

    impl Keys {
        fn valid(&self, secret: &SecretJson) -> bool {
            let (Ok(client), Ok(key)) = (
                secret.required_str("client"),
                secret.required_secret("api_key"),
            ) else {
                return false;
            };
            self.0
                .lock()
                .unwrap()
                .get(client)
                .is_some_and(|keys| keys.contains(key.expose()))
        }
    }

    pub struct KeyRotator(pub Keys);

    #[async_trait]
    impl Rotator for KeyRotator {
        fn credential(&self) -> Credential {
            Credential::key("api_key", KeyFormat::alphanumeric(40).with_prefix("tk_"))
        }

        async fn set_secret(
            &self,
            _: &RotationContext<'_>,
            _: &SecretJson,
            pending: &SecretJson,
        ) -> Result<(), RotatorError> {
            let client = pending.required_str("client")?;
            let key = pending.required_secret("api_key")?;
            let mut keys = self.0 .0.lock().unwrap();
            let keys = keys
                .get_mut(client)
                .ok_or_else(|| RotatorError::Refused(format!("no client {client}")))?;
            keys.insert(key.expose().to_owned());
            Ok(())
        }

        async fn test_secret(
            &self,
            _: &RotationContext<'_>,
            pending: &SecretJson,
        ) -> Result<(), RotatorError> {
            match self.0.valid(pending) {
                true => Ok(()),
                false => Err(RotatorError::Refused("the pending key is refused".into())),
            }
        }

        async fn after_finish(&self, ctx: &RotationContext<'_>) -> Result<(), RotatorError> {
            if let Some((old, new)) = ctx.previous_and_current().await? {
                if old.get("api_key") != new.get("api_key") {
                    let client = new.required_str("client")?;
                    let old_key = old.required_secret("api_key")?;
                    if let Some(keys) = self.0 .0.lock().unwrap().get_mut(client) {
                        keys.remove(old_key.expose());
                    }
                }
            }
            Ok(())
        }
    }

    #[derive(Default)]
    pub struct KeyHarness(pub Keys);

    #[async_trait]
    impl RotatorHarness for KeyHarness {
        type Rotator = KeyRotator;

        fn rotator(&self) -> KeyRotator {
            KeyRotator(self.0.clone())
        }

        async fn fresh_secret(&self, _: &dyn SecretAdmin) -> SecretJson {
            let client = unique_name("client");
            let key = format!("tk_initial{}", unique_name("k"));
            self.0
                 .0
                .lock()
                .unwrap()
                .insert(client.clone(), HashSet::from([key.clone()]));
            let mut secret = SecretJson::from_map(Default::default());
            secret.set("client", client.as_str());
            secret.set_secret("api_key", &SecretString::new(key));
            secret
        }

        async fn can_log_in(&self, secret: &SecretJson) -> bool {
            self.0.valid(secret)
        }

        fn malformed_secrets(&self, valid: &SecretJson) -> Vec<(String, SecretPayload)> {
            let mut no_key = valid.clone();
            no_key.set("api_key", serde_json::Value::Null);
            vec![(
                "no api_key".into(),
                SecretPayload::String(no_key.to_secret_string()),
            )]
        }
    }
}

#[tokio::test]
async fn a_key_rotator_passes_the_conformance_kit() {
    let store: Arc<dyn SecretAdmin> = Arc::new(InMemorySecretStore::new());
    let harness = key_service::KeyHarness::default();
    let report = run_all(&harness, Arc::clone(&store)).await;
    conformance::assert_covered(&report, &["fault_during_recovery_through_previous"]);
    // The keys it made have the rotator's shape, and the replaced key no
    // longer works once the rotation finished.
    let keys = harness.0 .0.lock().unwrap();
    let issued: Vec<&String> = keys.values().flatten().collect();
    assert!(!issued.is_empty());
    for key in issued.iter().filter(|k| !k.starts_with("tk_initial")) {
        assert_eq!(key.len(), 3 + 40, "{} characters", key.len());
        assert!(key.starts_with("tk_") && key[3..].chars().all(|c| c.is_ascii_alphanumeric()));
    }
}

/// The reference harness, but opting out of the case that proves testSecret
/// refuses an unapplied value: the skip must show in the report, by name,
/// and fail a test that expects every case to run.
struct OptsOutOfTestSecret(TableHarness);

#[rotation_core::async_trait]
impl rotation_core::testkit::RotatorHarness for OptsOutOfTestSecret {
    type Rotator = <TableHarness as rotation_core::testkit::RotatorHarness>::Rotator;

    fn rotator(&self) -> Self::Rotator {
        self.0.rotator()
    }

    async fn fresh_secret(&self, store: &dyn SecretAdmin) -> rotation_core::SecretJson {
        self.0.fresh_secret(store).await
    }

    async fn can_log_in(&self, secret: &rotation_core::SecretJson) -> bool {
        self.0.can_log_in(secret).await
    }

    fn pending_works_before_set_secret(&self) -> bool {
        true
    }

    fn recovers_through_previous(&self) -> bool {
        true
    }
}

#[tokio::test]
async fn a_skipped_case_is_reported_by_name_not_counted_as_run() {
    let store: Arc<dyn SecretAdmin> = Arc::new(InMemorySecretStore::new());
    let report = run_all(&OptsOutOfTestSecret(TableHarness::default()), store).await;
    assert_eq!(report.skipped, ["test_secret_refuses_an_unapplied_value"]);
    assert!(!report
        .cases
        .contains(&"test_secret_refuses_an_unapplied_value"));
    let expecting_every_case =
        std::panic::catch_unwind(|| conformance::assert_covered(&report, &[]));
    assert!(
        expecting_every_case.is_err(),
        "a test expecting every case must fail when one was skipped"
    );
    conformance::assert_covered(&report, &["test_secret_refuses_an_unapplied_value"]);
}
