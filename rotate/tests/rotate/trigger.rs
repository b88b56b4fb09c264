//! `rotate --aws trigger` against moto, behind a stand-in that plays the
//! service's `RotateSecret`: it stages the placeholder and runs the
//! "function" in this process (the generated-key rotator, or, for secrets
//! whose name says so, a function that never finishes).

use std::sync::Arc;
use std::time::Duration;

use rotation_core::testkit::SecretAdmin;
use rotation_core::{
    engine::Rotation, event::RotationEvent, event::Step, Rotator, SecretJson, SecretString,
};
use rotation_testing::moto::MotoServer;
use rotation_testing::rotating_service::{Function, RotatingService};
use serde_json::Value;

use crate::support::{current_json, describe, on_endpoint, StoreFile};

/// The deployed function, as the stand-in invokes it: the four steps of
/// the generated-key rotator, a little apart; nothing for a "broken" one.
fn function(moto: &MotoServer) -> Function {
    let store = moto.store();
    Arc::new(move |arn: String, token: String| {
        let store = store.clone();
        Box::pin(async move {
            if arn.contains("broken") {
                return;
            }
            let rotator = api_key_rotator::rotator_from_lookup(|name| {
                (name == api_key_rotator::PROVIDER_SETTING).then(|| "generated".to_owned())
            })
            .expect("the generated-key settings");
            let values = rotator
                .credential()
                .generator_from_lookup(|_| None)
                .unwrap();
            let rotation = Rotation::new(store, rotator, values);
            for step in Step::ALL {
                tokio::time::sleep(Duration::from_millis(100)).await;
                let event = RotationEvent {
                    step,
                    secret_id: arn.clone(),
                    token: token.clone(),
                    rotation_token: None,
                };
                rotation.run_step(&event, None).await.expect("the step");
            }
        })
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "services tier: cargo test --tests -- --include-ignored (CONTRIBUTING.md)"]
async fn trigger_rotates_every_matching_secret_and_reports_the_one_that_fails() {
    let moto = MotoServer::start();
    let admin = moto.store();
    let key = |value: &str| {
        SecretJson::parse(&SecretString::new(format!(
            r#"{{"engine": "generated", "api_key": "{value}"}}"#
        )))
        .unwrap()
    };
    let mut arns = Vec::new();
    for name in ["billing-a", "billing-b", "billing-c", "billing-broken"] {
        let arn = admin
            .create_secret(
                name,
                rotation_core::secret::SecretPayload::String(key("sk_old").to_secret_string()),
            )
            .await
            .unwrap();
        arns.push(arn);
    }
    admin
        .create_secret(
            "orders-x",
            rotation_core::secret::SecretPayload::String(key("sk_old").to_secret_string()),
        )
        .await
        .unwrap();
    admin
        .tag_secret("billing-c", "team", "payments")
        .await
        .unwrap();
    admin
        .tag_secret("orders-x", "team", "payments")
        .await
        .unwrap();

    let service = RotatingService::start(&moto, function(&moto)).await;
    let store = StoreFile::new();
    let trigger = |args: &[&str]| {
        on_endpoint(
            &store,
            &service.endpoint(),
            &[&["--json", "trigger"], args].concat(),
        )
        .output()
        .unwrap()
    };

    let output = trigger(&[
        "--prefix",
        "billing-",
        "--concurrency",
        "2",
        "--timeout",
        "5",
        "--poll-ms",
        "100",
    ]);
    // One rotation failed: exit 1, with the table of all four.
    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
    let results: Value = serde_json::from_slice(&output.stdout).unwrap();
    let outcome: Vec<(String, bool)> = results
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["secret"].as_str().unwrap().to_owned(),
                r["rotated"] == true,
            )
        })
        .collect();
    assert_eq!(
        outcome,
        vec![
            ("billing-a".to_owned(), true),
            ("billing-b".to_owned(), true),
            ("billing-broken".to_owned(), false),
            ("billing-c".to_owned(), true),
        ],
        "{results}"
    );
    let broken = &results[2];
    assert!(
        broken["detail"]
            .as_str()
            .unwrap()
            .contains("rotate --aws status billing-broken"),
        "{broken}"
    );
    let mut requested = service.rotations_requested();
    requested.sort();
    assert_eq!(
        requested,
        vec!["billing-a", "billing-b", "billing-broken", "billing-c"]
    );
    for arn in &arns[..3] {
        let current = current_json(&admin, arn).await;
        assert_ne!(current.required_str("api_key").unwrap(), "sk_old");
    }

    // By tag, across prefixes; the finished secrets rotate again.
    let output = trigger(&["--tag", "team=payments", "--poll-ms", "100"]);
    assert!(output.status.success(), "{}", describe(&output));
    let results: Value = serde_json::from_slice(&output.stdout).unwrap();
    let names: Vec<&str> = results
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["secret"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["billing-c", "orders-x"], "{results}");

    // The table, for a person.
    let output = on_endpoint(
        &store,
        &service.endpoint(),
        &[
            "trigger",
            "--prefix",
            "billing-",
            "--timeout",
            "3",
            "--poll-ms",
            "100",
        ],
    )
    .output()
    .unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
    let text = String::from_utf8_lossy(&output.stdout);
    println!("$ rotate --aws trigger --prefix billing- --timeout 3\n{text}");
    assert!(text.contains("billing-broken  FAILED"), "{text}");
    assert!(text.contains("3 rotated, 1 failed"), "{text}");

    // Nothing matched, and trigger without --aws, are usage errors.
    assert_eq!(trigger(&["--prefix", "nothing-"]).status.code(), Some(2));
    let output = store.rotate(&["trigger", "orders-x"]);
    assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--aws"));
}
