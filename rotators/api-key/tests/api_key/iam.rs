//! IAM access keys against moto's IAM and STS, with moto as Secrets
//! Manager: the conformance kit, the grace window, a createSecret that died
//! after IAM made the key, IAM's two-key limit, and the trust boundary.

use api_key_rotator::iam::{PreviousKey, KEY_ID_FIELD, USER_FIELD};
use api_key_rotator::ApiKeyRotator;
use rotation_core::error::error_chain;
use rotation_core::store::{VersionSelector, AWSPREVIOUS};
use rotation_core::testkit::conformance;
use rotation_core::testkit::{FaultTiming, Rotations};
use rotation_core::{event::Step, SecretJson};
use rotation_testing::moto::MotoServer;

use api_key_rotator_testing::IamHarness;

fn driver(moto: &MotoServer, harness: &IamHarness) -> Rotations<ApiKeyRotator> {
    Rotations::new(moto.admin_store(), Box::new(harness.iam_rotator()))
}

fn key_id(secret: &SecretJson) -> String {
    secret.required_str(KEY_ID_FIELD).unwrap().to_owned()
}

fn sorted(mut ids: Vec<String>) -> Vec<String> {
    ids.sort();
    ids
}

#[tokio::test]
#[ignore = "services tier: cargo test --tests -- --include-ignored (CONTRIBUTING.md)"]
async fn iam_access_keys_pass_the_conformance_kit() {
    let moto = MotoServer::shared();
    let harness = IamHarness::new(moto, PreviousKey::KeptUntilNextRotation);
    let report = moto.run_conformance_kit(&harness).await;
    println!("iam access keys: {report:#?}");
    conformance::assert_covered(
        &report,
        &[
            "test_secret_refuses_an_unapplied_value",
            "test_secret_refuses_a_value_it_never_made",
            "fault_during_recovery_through_previous",
        ],
    );
    let calls: usize = report.calls_per_step.iter().map(|(_, ops)| ops.len()).sum();
    // A first rotation: createSecret reads AWSPREVIOUS (whose key it keeps
    // or retires) only when the secret has one.
    assert_eq!(calls, 11, "Secrets Manager calls per rotation");
}

#[tokio::test]
#[ignore = "services tier: cargo test --tests -- --include-ignored (CONTRIBUTING.md)"]
async fn the_previous_key_works_until_the_next_rotation_then_is_deleted() {
    let moto = MotoServer::shared();
    let harness = IamHarness::new(moto, PreviousKey::KeptUntilNextRotation);
    let rotations = driver(moto, &harness);
    let user = harness.fresh_user().await;
    let mut first = harness.new_key(&user).await;
    first.set("team", "payments");
    let arn = rotations.create("iam", &first).await;

    rotations.rotate(&arn).await;
    let second = rotations.current(&arn).await;
    assert_ne!(key_id(&second), key_id(&first));
    assert!(harness.works(&second).await, "the new key works");
    assert!(harness.works(&first).await, "the replaced key still works");
    let previous = rotations
        .value(&arn, VersionSelector::Stage(AWSPREVIOUS))
        .await;
    assert_eq!(key_id(&previous), key_id(&first));
    assert_eq!(
        harness.key_ids(&user).await,
        sorted(vec![key_id(&first), key_id(&second)])
    );

    rotations.rotate(&arn).await;
    let third = rotations.current(&arn).await;
    assert!(harness.works(&third).await);
    assert!(harness.works(&second).await, "the key consumers held works");
    assert!(
        !harness.works(&first).await,
        "the key two generations old is gone"
    );
    assert_eq!(
        harness.key_ids(&user).await,
        sorted(vec![key_id(&second), key_id(&third)])
    );
    assert_eq!(
        third.get("team"),
        Some(&"payments".into()),
        "unknown fields survive"
    );
}

#[tokio::test]
#[ignore = "services tier: cargo test --tests -- --include-ignored (CONTRIBUTING.md)"]
async fn a_create_secret_that_died_after_iam_made_the_key_leaves_only_stored_keys() {
    let moto = MotoServer::shared();
    let harness = IamHarness::new(moto, PreviousKey::KeptUntilNextRotation);
    let rotations = driver(moto, &harness);
    let user = harness.fresh_user().await;
    let first = harness.new_key(&user).await;
    let arn = rotations.create("iam", &first).await;
    rotations.rotate(&arn).await;
    let current = rotations.current(&arn).await;

    // The user now holds AWSPREVIOUS's and AWSCURRENT's keys, IAM's limit.
    // createSecret retires the previous key, creates a new one, and dies
    // before the store saves it: PutSecretValue never lands.
    let token = rotations.start(&arn).await;
    // DescribeSecret; GetSecretValue of AWSCURRENT, of the token's
    // AWSPENDING (none yet), of AWSPREVIOUS (the rotator's); then the put.
    let calls_before_put = 4;
    rotations
        .faults()
        .arm(calls_before_put, FaultTiming::Before);
    let died = rotations.step(&arn, &token, Step::CreateSecret).await;
    rotations.faults().disarm();
    let error = died.expect_err("the store fault fails createSecret");
    assert!(
        error_chain(&error).contains("PutSecretValue"),
        "the fault hit PutSecretValue: {}",
        error_chain(&error)
    );
    let keys = harness.key_ids(&user).await;
    assert_eq!(keys.len(), 2, "the current key and an orphan: {keys:?}");
    assert!(keys.contains(&key_id(&current)));

    // Secrets Manager retries: the orphan is cleared, one key is made.
    rotations
        .steps(
            &arn,
            &token,
            &[
                Step::CreateSecret,
                Step::SetSecret,
                Step::TestSecret,
                Step::FinishSecret,
            ],
        )
        .await;
    let new = rotations.current(&arn).await;
    assert_eq!(
        harness.key_ids(&user).await,
        sorted(vec![key_id(&current), key_id(&new)]),
        "exactly the stored keys"
    );
    assert!(harness.works(&new).await && harness.works(&current).await);
    rotations.assert_no_leaks(&[]).await;
}

#[tokio::test]
#[ignore = "services tier: cargo test --tests -- --include-ignored (CONTRIBUTING.md)"]
async fn a_key_the_secret_does_not_hold_at_the_limit_is_refused_naming_the_fix() {
    let moto = MotoServer::shared();
    let harness = IamHarness::new(moto, PreviousKey::KeptUntilNextRotation);
    let rotations = driver(moto, &harness);
    let user = harness.fresh_user().await;
    // Made before the stored key: something outside the rotation may use it.
    let other = harness.new_key(&user).await;
    let stored = harness.new_key(&user).await;
    let arn = rotations.create("iam", &stored).await;

    let token = rotations.start(&arn).await;
    let error = rotations
        .step(&arn, &token, Step::CreateSecret)
        .await
        .expect_err("no room for a key");
    let message = error_chain(&error);
    assert!(
        message.contains(&key_id(&other)) && message.contains("aws iam delete-access-key"),
        "names the key and the fix: {message}"
    );
    assert_eq!(
        harness.key_ids(&user).await,
        sorted(vec![key_id(&other), key_id(&stored)]),
        "nothing changed"
    );
    assert!(harness.works(&other).await && harness.works(&stored).await);
    rotations.assert_no_leaks(&[]).await;
}

#[tokio::test]
#[ignore = "services tier: cargo test --tests -- --include-ignored (CONTRIBUTING.md)"]
async fn retiring_the_previous_key_at_finish_leaves_only_the_current_one() {
    let moto = MotoServer::shared();
    let harness = IamHarness::new(moto, PreviousKey::RetiredAtFinish);
    let rotations = driver(moto, &harness);
    let user = harness.fresh_user().await;
    let first = harness.new_key(&user).await;
    let arn = rotations.create("iam", &first).await;
    let token = rotations.rotate(&arn).await;
    let current = rotations.current(&arn).await;
    assert_eq!(harness.key_ids(&user).await, vec![key_id(&current)]);
    assert!(!harness.works(&first).await);
    // A retried finishSecret (Secrets Manager retries a step whose answer
    // it lost) runs the retirement again: it finds the old key gone,
    // succeeds, and leaves the current key alone.
    let retried = rotations.step(&arn, &token, Step::FinishSecret).await;
    assert!(retried.is_ok(), "{retried:?}");
    assert_eq!(harness.key_ids(&user).await, vec![key_id(&current)]);
    assert!(harness.works(&current).await);
}

/// The whole kit with the previous key retired at finishSecret
/// (`IAM_PREVIOUS_KEY=finish`): its after_finish runs under the kit's
/// repeats, faults and crashes too.
#[tokio::test]
#[ignore = "services tier: cargo test --tests -- --include-ignored (CONTRIBUTING.md)"]
async fn iam_access_keys_retired_at_finish_pass_the_conformance_kit() {
    let moto = MotoServer::shared();
    let harness = IamHarness::new(moto, PreviousKey::RetiredAtFinish);
    let report = moto.run_conformance_kit(&harness).await;
    conformance::assert_covered(
        &report,
        &[
            "test_secret_refuses_an_unapplied_value",
            "test_secret_refuses_a_value_it_never_made",
            "fault_during_recovery_through_previous",
        ],
    );
}

#[tokio::test]
#[ignore = "services tier: cargo test --tests -- --include-ignored (CONTRIBUTING.md)"]
async fn an_inactive_pending_key_fails_test_secret() {
    let moto = MotoServer::shared();
    let harness = IamHarness::new(moto, PreviousKey::KeptUntilNextRotation);
    let rotations = driver(moto, &harness);
    let user = harness.fresh_user().await;
    let arn = rotations.create("iam", &harness.new_key(&user).await).await;
    let token = rotations.start(&arn).await;
    rotations
        .steps(&arn, &token, &[Step::CreateSecret, Step::SetSecret])
        .await;
    let pending = rotations
        .value(&arn, VersionSelector::IdAndStage(&token, "AWSPENDING"))
        .await;
    harness
        .iam
        .deactivate(&user, &key_id(&pending))
        .await
        .unwrap();
    let error = rotations
        .step(&arn, &token, Step::TestSecret)
        .await
        .expect_err("an inactive key must not pass");
    assert!(
        error_chain(&error).contains("not an active access key"),
        "{}",
        error_chain(&error)
    );
}

/// The attack: whoever may edit the secret names another allow-listed
/// user, keeping their own key, to have the function mint a key of that
/// user and store it where they can read it.
#[tokio::test]
#[ignore = "services tier: cargo test --tests -- --include-ignored (CONTRIBUTING.md)"]
async fn editing_the_user_name_cannot_mint_a_key_of_another_user() {
    let moto = MotoServer::shared();
    let harness = IamHarness::new(moto, PreviousKey::KeptUntilNextRotation);
    let rotations = driver(moto, &harness);
    let attacker = harness.fresh_user().await;
    let victim = harness.fresh_user().await;
    let victims_key = harness.new_key(&victim).await;
    let mut edited = harness.new_key(&attacker).await;
    edited.set(USER_FIELD, victim.as_str());
    let arn = rotations.create("iam", &edited).await;

    let token = rotations.start(&arn).await;
    let error = rotations
        .step(&arn, &token, Step::CreateSecret)
        .await
        .expect_err("the key is not the victim's");
    let message = error_chain(&error);
    assert!(
        message.contains("does not authenticate as IAM user") && message.contains(&victim),
        "{message}"
    );
    assert_eq!(harness.key_ids(&victim).await, vec![key_id(&victims_key)]);
    assert_eq!(harness.key_ids(&attacker).await.len(), 1);
    let pending = rotations
        .store()
        .get_value(&arn, VersionSelector::IdAndStage(&token, "AWSPENDING"))
        .await
        .unwrap();
    assert!(pending.is_none(), "no pending value was stored");
    rotations.assert_no_leaks(&[]).await;
}

#[tokio::test]
#[ignore = "services tier: cargo test --tests -- --include-ignored (CONTRIBUTING.md)"]
async fn a_user_outside_the_allow_list_is_refused_before_any_iam_call() {
    let moto = MotoServer::shared();
    let harness = IamHarness::new(moto, PreviousKey::KeptUntilNextRotation);
    // The rotator reaches IAM and STS through a proxy that counts.
    let proxy = rotation_testing::fault_proxy::FaultProxy::start(moto.port()).await;
    let counted = api_key_rotator::IamAccessKeys::new(
        harness.users.clone(),
        PreviousKey::KeptUntilNextRotation,
    )
    .with_sdk_config(api_key_rotator_testing::moto_config(&proxy.endpoint()));
    let rotations = Rotations::new(moto.admin_store(), Box::new(counted) as ApiKeyRotator);
    let outsider = "not-allow-listed";
    harness.create_user(outsider).await;
    let secret = harness.new_key(outsider).await;
    let arn = rotations.create("iam", &secret).await;
    let token = rotations.start(&arn).await;
    let error = rotations
        .step(&arn, &token, Step::CreateSecret)
        .await
        .expect_err("not allow-listed");
    assert!(
        error_chain(&error).contains("IAM_USERS"),
        "{}",
        error_chain(&error)
    );
    assert_eq!(harness.key_ids(outsider).await, vec![key_id(&secret)]);
    assert_eq!(proxy.requests(), 0, "an IAM or STS call was made");
    // Control: an allow-listed user's createSecret goes through the proxy.
    let user = harness.fresh_user().await;
    let arn = rotations.create("iam", &harness.new_key(&user).await).await;
    let token = rotations.start(&arn).await;
    rotations.steps(&arn, &token, &[Step::CreateSecret]).await;
    assert!(proxy.requests() > 0, "the proxy counts the rotator's calls");
}

/// An operator's break-glass key, made after the stored one and held by
/// no version, looks like the orphan of a createSecret that died; but no
/// rotation of this secret made it, so it is never deleted: createSecret
/// is refused naming it, and it still works.
#[tokio::test]
#[ignore = "services tier: cargo test --tests -- --include-ignored (CONTRIBUTING.md)"]
async fn a_newer_key_no_rotation_made_is_never_deleted() {
    let moto = MotoServer::shared();
    let harness = IamHarness::new(moto, PreviousKey::KeptUntilNextRotation);
    let rotations = driver(moto, &harness);
    let user = harness.fresh_user().await;
    let stored = harness.new_key(&user).await;
    let arn = rotations.create("iam", &stored).await;
    let break_glass = harness.new_key(&user).await;

    let token = rotations.start(&arn).await;
    let error = rotations
        .step(&arn, &token, Step::CreateSecret)
        .await
        .expect_err("a key no rotation made");
    let message = error_chain(&error);
    assert!(message.contains(&key_id(&break_glass)), "{message}");
    assert_eq!(
        harness.key_ids(&user).await,
        sorted(vec![key_id(&stored), key_id(&break_glass)]),
        "nothing deleted"
    );
    assert!(harness.works(&break_glass).await);
}

/// Whoever holds the user's key may edit the secret, AWSPREVIOUS
/// included, to name another key of the user; at IAM's limit createSecret
/// retires "the previous key". It retires only a key a rotation of this
/// secret made or proved to be its current one.
#[tokio::test]
#[ignore = "services tier: cargo test --tests -- --include-ignored (CONTRIBUTING.md)"]
async fn an_edited_previous_version_cannot_name_a_key_to_retire() {
    let moto = MotoServer::shared();
    let harness = IamHarness::new(moto, PreviousKey::KeptUntilNextRotation);
    let rotations = driver(moto, &harness);
    let user = harness.fresh_user().await;
    let operators = harness.new_key(&user).await;
    let stored = harness.new_key(&user).await;
    let arn = rotations.create("iam", &stored).await;
    let forged = rotation_core::SecretString::new(operators.to_secret_string().expose());
    rotations
        .store()
        .put_value(
            &arn,
            rotation_core::store::PutValue {
                version_id: &rotation_core::testkit::new_token(),
                value: &forged,
                stages: &[AWSPREVIOUS],
                rotation_token: None,
            },
        )
        .await
        .unwrap();

    let token = rotations.start(&arn).await;
    let error = rotations
        .step(&arn, &token, Step::CreateSecret)
        .await
        .expect_err("a previous key no rotation made or proved");
    let message = error_chain(&error);
    assert!(message.contains(&key_id(&operators)), "{message}");
    assert_eq!(
        harness.key_ids(&user).await,
        sorted(vec![key_id(&operators), key_id(&stored)]),
        "nothing deleted"
    );
    assert!(harness.works(&operators).await);
}
