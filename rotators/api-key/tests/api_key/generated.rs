//! Generated keys with moto as Secrets Manager: the conformance kit, and a
//! consumer that accepts AWSCURRENT and AWSPREVIOUS, as the README shows.

use api_key_rotator_testing::GeneratedHarness;
use rotation_core::error::error_chain;
use rotation_core::store::{PutValue, VersionSelector, AWSCURRENT, AWSPENDING, AWSPREVIOUS};
use rotation_core::testkit::conformance::{self, RotatorHarness};
use rotation_core::testkit::{Rotations, SecretAdmin};
use rotation_core::{event::Step, SecretJson, SecretString};
use rotation_testing::moto::MotoServer;

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

#[tokio::test]
#[ignore = "services tier: cargo test --tests -- --include-ignored (CONTRIBUTING.md)"]
async fn generated_keys_pass_the_conformance_kit() {
    let moto = MotoServer::shared();
    let report = moto.run_conformance_kit(&GeneratedHarness).await;
    println!("generated keys: {report:#?}");
    conformance::assert_covered(
        &report,
        &[
            "test_secret_refuses_an_unapplied_value",
            "fault_during_recovery_through_previous",
        ],
    );
    let calls: usize = report.calls_per_step.iter().map(|(_, ops)| ops.len()).sum();
    assert_eq!(calls, 11, "Secrets Manager calls per rotation");
}

#[tokio::test]
#[ignore = "services tier: cargo test --tests -- --include-ignored (CONTRIBUTING.md)"]
async fn a_consumer_accepts_the_replaced_key_for_one_rotation() {
    let moto = MotoServer::shared();
    let rotations = Rotations::new(moto.admin_store(), GeneratedHarness::generated_rotator());
    let first = GeneratedHarness.fresh_secret(rotations.store()).await;
    let first_key = first.required_secret("token").unwrap();
    let arn = rotations.create("generated", &first).await;
    let store = rotations.store();

    rotations.rotate(&arn).await;
    let second = rotations.current(&arn).await;
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
#[ignore = "services tier: cargo test --tests -- --include-ignored (CONTRIBUTING.md)"]
async fn a_pending_key_of_another_shape_fails_test_secret() {
    let moto = MotoServer::shared();
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
