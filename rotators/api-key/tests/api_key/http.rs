//! The HTTP provider against a key-issuing service on a free port, with
//! moto as Secrets Manager: the conformance kit, the grace window, a
//! createSecret retried after the provider issued a key (with and without
//! its idempotency), rate limits and failures, and the trust boundary.

use std::time::{Duration, Instant};

use api_key_rotator::ApiKeyRotator;
use api_key_rotator_testing::HttpHarness;
use rotation_core::error::error_chain;
use rotation_core::testkit::conformance;
use rotation_core::testkit::{FaultTiming, Rotations};
use rotation_core::{event::Step, SecretJson, SecretString};
use rotation_testing::moto::MotoServer;

async fn driver(moto: &MotoServer, harness: &HttpHarness) -> Rotations<ApiKeyRotator> {
    let rotations = Rotations::new(moto.admin_store(), harness.http_rotator());
    harness.ensure_admin_secret(rotations.store()).await;
    rotations
}

fn id(secret: &SecretJson) -> String {
    secret.required_str("key_id").unwrap().to_owned()
}

fn live_ids(harness: &HttpHarness, secret: &SecretJson) -> Vec<String> {
    let account = secret.required_str("account").unwrap();
    let mut ids: Vec<String> = harness
        .service
        .live_keys(account)
        .into_iter()
        .map(|k| k.id)
        .collect();
    ids.sort();
    ids
}

fn admin(harness: &HttpHarness) -> Vec<SecretString> {
    vec![SecretString::new(harness.service.admin_token.clone())]
}

#[tokio::test]
#[ignore = "services tier: cargo test --tests -- --include-ignored (CONTRIBUTING.md)"]
async fn http_keys_pass_the_conformance_kit() {
    let moto = MotoServer::shared();
    let harness = HttpHarness::admin(true).await;
    let report = moto.run_conformance_kit(&harness).await;
    println!("http keys: {report:#?}");
    conformance::assert_covered(
        &report,
        &[
            "test_secret_refuses_an_unapplied_value",
            "fault_during_recovery_through_previous",
        ],
    );
    let calls: usize = report.calls_per_step.iter().map(|(_, ops)| ops.len()).sum();
    // createSecret also reads the admin's secret.
    assert_eq!(calls, 12, "Secrets Manager calls per rotation");
}

#[tokio::test]
#[ignore = "services tier: cargo test --tests -- --include-ignored (CONTRIBUTING.md)"]
async fn self_rotating_keys_pass_the_conformance_kit() {
    let moto = MotoServer::shared();
    let harness = HttpHarness::self_rotating().await;
    let report = moto.run_conformance_kit(&harness).await;
    conformance::assert_covered(
        &report,
        &[
            "test_secret_refuses_an_unapplied_value",
            "fault_during_recovery_through_previous",
        ],
    );
}

/// The key replaced by a rotation works until the next one starts; the
/// operator's first key, which the provider does not list with this
/// secret's tag, is left for the operator.
#[tokio::test]
#[ignore = "services tier: cargo test --tests -- --include-ignored (CONTRIBUTING.md)"]
async fn the_replaced_key_works_for_one_rotation() {
    let moto = MotoServer::shared();
    let harness = HttpHarness::admin(true).await;
    let rotations = driver(moto, &harness).await;
    let first = harness.fresh_account();
    let arn = rotations.create("http", &first).await;
    rotations.rotate(&arn).await;
    let second = rotations.current(&arn).await;
    rotations.faults().disarm();
    rotations.rotate(&arn).await;
    // Once the secret has an AWSPREVIOUS: the 11 calls of a rotation, that
    // read, and one read of the admin's secret for the revoke and the issue.
    let calls = rotations.faults().take_log();
    assert_eq!(calls.len(), 13, "{calls:?}");
    let third = rotations.current(&arn).await;
    let mut expected = vec![id(&first), id(&second), id(&third)];
    expected.sort();
    assert_eq!(
        live_ids(&harness, &first),
        expected,
        "the first key is not ours to revoke"
    );

    rotations.rotate(&arn).await;
    let fourth = rotations.current(&arn).await;
    let mut expected = vec![id(&first), id(&third), id(&fourth)];
    expected.sort();
    assert_eq!(
        live_ids(&harness, &first),
        expected,
        "the key two generations old is revoked"
    );
    assert!(
        rotations.logs().contains("not revoking"),
        "the first key's skip is logged"
    );
    rotations.assert_no_leaks(&admin(&harness)).await;
}

/// createSecret dies after the provider issued the key, before the store
/// saved it; Secrets Manager retries. `honours`: whether the provider
/// answers a repeated idempotency key with the same key.
async fn retried_create_secret(honours: bool) {
    let moto = MotoServer::shared();
    let harness = HttpHarness::admin(honours).await;
    let rotations = driver(moto, &harness).await;
    let first = harness.fresh_account();
    let arn = rotations.create("http", &first).await;
    let token = rotations.start(&arn).await;
    // DescribeSecret; GetSecretValue of AWSCURRENT, of the token's
    // AWSPENDING (none yet), of the admin's secret; then the put.
    rotations.faults().arm(4, FaultTiming::Before);
    let died = rotations.step(&arn, &token, Step::CreateSecret).await;
    rotations.faults().disarm();
    let message = error_chain(&died.expect_err("the put fails"));
    assert!(message.contains("PutSecretValue"), "{message}");
    assert_eq!(
        live_ids(&harness, &first).len(),
        2,
        "the issued key is live"
    );

    rotations.steps(&arn, &token, &Step::ALL).await;
    let new = rotations.current(&arn).await;
    let mut expected = vec![id(&first), id(&new)];
    expected.sort();
    assert_eq!(
        live_ids(&harness, &first),
        expected,
        "exactly the stored keys are live"
    );
    let issues = harness
        .service
        .requests()
        .iter()
        .filter(|r| r.starts_with("POST"))
        .count();
    assert_eq!(issues, 2);
    let revokes = harness
        .service
        .requests()
        .iter()
        .filter(|r| r.starts_with("DELETE"))
        .count();
    assert_eq!(
        revokes,
        if honours { 0 } else { 1 },
        "{:?}",
        harness.service.requests()
    );
}

#[tokio::test]
#[ignore = "services tier: cargo test --tests -- --include-ignored (CONTRIBUTING.md)"]
async fn a_retried_create_secret_reuses_the_key_of_an_idempotent_provider() {
    retried_create_secret(true).await;
}

#[tokio::test]
#[ignore = "services tier: cargo test --tests -- --include-ignored (CONTRIBUTING.md)"]
async fn a_retried_create_secret_revokes_the_orphan_of_another_provider() {
    retried_create_secret(false).await;
}

#[tokio::test]
#[ignore = "services tier: cargo test --tests -- --include-ignored (CONTRIBUTING.md)"]
async fn a_rate_limit_is_waited_out_as_retry_after_says() {
    let moto = MotoServer::shared();
    let harness = HttpHarness::admin(true).await;
    let rotations = driver(moto, &harness).await;
    let first = harness.fresh_account();
    let arn = rotations.create("http", &first).await;
    harness.service.push_fault_for("POST", 429, Some(1));
    let started = Instant::now();
    rotations.rotate(&arn).await;
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After was honoured"
    );
    let posts = harness
        .service
        .requests()
        .iter()
        .filter(|r| r.starts_with("POST"))
        .count();
    assert_eq!(posts, 2, "one refused, one served");
    assert_eq!(live_ids(&harness, &first).len(), 2);
}

#[tokio::test]
#[ignore = "services tier: cargo test --tests -- --include-ignored (CONTRIBUTING.md)"]
async fn three_server_errors_fail_create_secret_clearly_and_change_nothing() {
    let moto = MotoServer::shared();
    let harness = HttpHarness::admin(true).await;
    let rotations = driver(moto, &harness).await;
    let first = harness.fresh_account();
    let arn = rotations.create("http", &first).await;
    for _ in 0..3 {
        harness.service.push_fault_for("POST", 500, None);
    }
    let token = rotations.start(&arn).await;
    let before = rotations.store().snapshot(&arn).await.unwrap();
    let error = rotations
        .step(&arn, &token, Step::CreateSecret)
        .await
        .expect_err("500 three times");
    let message = error_chain(&error);
    assert!(
        message.contains("500 Internal Server Error") && message.contains("issue a key"),
        "{message}"
    );
    assert_eq!(
        before,
        rotations.store().snapshot(&arn).await.unwrap(),
        "nothing stored"
    );
    assert_eq!(
        live_ids(&harness, &first),
        vec![id(&first)],
        "no key issued"
    );
    // The provider recovers; the rotation completes.
    rotations.steps(&arn, &token, &Step::ALL).await;
    rotations.assert_no_leaks(&admin(&harness)).await;
}

#[tokio::test]
#[ignore = "services tier: cargo test --tests -- --include-ignored (CONTRIBUTING.md)"]
async fn revoking_a_key_already_revoked_succeeds() {
    let moto = MotoServer::shared();
    let mut harness = HttpHarness::admin(true).await;
    harness
        .extra_settings
        .push(("HTTP_REVOKE_AT", "finish".into()));
    let rotations = driver(moto, &harness).await;
    let first = harness.fresh_account();
    let arn = rotations.create("http", &first).await;
    rotations.rotate(&arn).await;
    let second = rotations.current(&arn).await;
    // Revoked behind the rotator's back once the new key is issued: at
    // finishSecret the replaced one is found gone.
    let token = rotations.start(&arn).await;
    rotations.steps(&arn, &token, &[Step::CreateSecret]).await;
    harness.service.revoke_directly(&id(&second));
    rotations
        .steps(
            &arn,
            &token,
            &[Step::SetSecret, Step::TestSecret, Step::FinishSecret],
        )
        .await;
    let third = rotations.current(&arn).await;
    let mut expected = vec![id(&first), id(&third)];
    expected.sort();
    assert_eq!(live_ids(&harness, &first), expected);
    assert!(harness
        .service
        .requests()
        .iter()
        .any(|r| r.starts_with("DELETE") && r.ends_with(&id(&second))));
}

#[tokio::test]
#[ignore = "services tier: cargo test --tests -- --include-ignored (CONTRIBUTING.md)"]
async fn a_template_naming_a_field_the_secret_lacks_names_it_and_changes_nothing() {
    let moto = MotoServer::shared();
    let mut harness = HttpHarness::admin(true).await;
    harness.extra_settings.push((
        "HTTP_ISSUE_BODY",
        r#"{"tag": "{{tag}}", "owner": "{{secret.owner}}"}"#.into(),
    ));
    harness
        .extra_settings
        .push(("HTTP_VERIFY_BINDS", "/account=account,/owner=owner".into()));
    let rotations = driver(moto, &harness).await;
    let first = harness.fresh_account();
    let arn = rotations.create("http", &first).await;
    let token = rotations.start(&arn).await;
    let before = rotations.store().snapshot(&arn).await.unwrap();
    let error = rotations
        .step(&arn, &token, Step::CreateSecret)
        .await
        .expect_err("no owner");
    assert!(
        error_chain(&error).contains("`owner`"),
        "{}",
        error_chain(&error)
    );
    assert_eq!(before, rotations.store().snapshot(&arn).await.unwrap());
    assert!(!harness
        .service
        .requests()
        .iter()
        .any(|r| r.starts_with("POST")));
}

/// The attacks: whoever edits a secret points its `key_id` at another
/// secret's key (the admin must not revoke it), names another account
/// (the admin must not issue it a key), names another admin secret, or
/// moves a path up with `..`.
#[tokio::test]
#[ignore = "services tier: cargo test --tests -- --include-ignored (CONTRIBUTING.md)"]
async fn an_edited_secret_cannot_aim_the_admin_elsewhere() {
    let moto = MotoServer::shared();
    let harness = HttpHarness::admin(true).await;
    let rotations = driver(moto, &harness).await;

    // The victim: a key issued by another secret's rotation, same account.
    let victim_secret = harness.fresh_account();
    let account = victim_secret.required_str("account").unwrap().to_owned();
    let victim_arn = rotations.create("victim", &victim_secret).await;
    rotations.rotate(&victim_arn).await;
    let victim = rotations.current(&victim_arn).await;

    // The attacker's own key in that account, with the victim's key id.
    let mut edited = harness.fresh_account();
    let own = harness.service.issue_directly(&account);
    edited.set("account", account.as_str());
    edited.set("key_id", id(&victim).as_str());
    edited.set_secret("api_key", &SecretString::new(own.key));
    let arn = rotations.create("attacker", &edited).await;
    rotations.rotate(&arn).await;
    rotations.rotate(&arn).await;
    assert!(
        harness
            .service
            .accepts(victim.required_secret("api_key").unwrap().expose()),
        "the victim's key lives"
    );
    assert!(!harness
        .service
        .requests()
        .iter()
        .any(|r| r.ends_with(&format!("/keys/{}", id(&victim)))));

    // Another account named while keeping a key of one's own account: the
    // admin would issue that account a key into the editor's secret.
    let mut elsewhere = harness.fresh_account();
    elsewhere.set("account", account.as_str());
    let arn = rotations.create("attacker", &elsewhere).await;
    let token = rotations.start(&arn).await;
    let live_before = live_ids(&harness, &victim);
    let error = rotations
        .step(&arn, &token, Step::CreateSecret)
        .await
        .expect_err("a key of another account");
    assert!(
        error_chain(&error).contains("`account`"),
        "{}",
        error_chain(&error)
    );
    assert_eq!(
        live_ids(&harness, &victim),
        live_before,
        "no key issued for the victim's account"
    );

    let mut other_admin = harness.fresh_account();
    other_admin.set(
        "adminarn",
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:someone-elses-admin",
    );
    let arn = rotations.create("attacker", &other_admin).await;
    let token = rotations.start(&arn).await;
    let error = rotations
        .step(&arn, &token, Step::CreateSecret)
        .await
        .expect_err("another admin");
    assert!(
        error_chain(&error).contains("HTTP_ADMIN_SECRET_ARN"),
        "{}",
        error_chain(&error)
    );

    let mut up = harness.fresh_account();
    up.set("account", "..");
    let arn = rotations.create("attacker", &up).await;
    let token = rotations.start(&arn).await;
    let requests = harness.service.requests().len();
    let error = rotations
        .step(&arn, &token, Step::CreateSecret)
        .await
        .expect_err("..");
    assert!(
        error_chain(&error).contains("change the request's path"),
        "{}",
        error_chain(&error)
    );
    assert_eq!(
        harness.service.requests().len(),
        requests,
        "no request was sent"
    );
    rotations.assert_no_leaks(&admin(&harness)).await;
}

/// The whole kit with the replaced key revoked at finishSecret
/// (`HTTP_REVOKE_AT=finish`): its revocation runs under the kit's
/// repeats, faults and crashes too.
#[tokio::test]
#[ignore = "services tier: cargo test --tests -- --include-ignored (CONTRIBUTING.md)"]
async fn http_keys_revoked_at_finish_pass_the_conformance_kit() {
    let moto = MotoServer::shared();
    let mut harness = HttpHarness::admin(true).await;
    harness
        .extra_settings
        .push(("HTTP_REVOKE_AT", "finish".to_owned()));
    let report = moto.run_conformance_kit(&harness).await;
    conformance::assert_covered(
        &report,
        &[
            "test_secret_refuses_an_unapplied_value",
            "fault_during_recovery_through_previous",
        ],
    );
}

/// testSecret fails for a pending key the provider does not accept (here
/// revoked behind the rotation's back after createSecret). The kit cannot
/// check this for HTTP keys, which work from createSecret on; without this
/// test a `test_secret` that always succeeds would pass everything.
async fn test_secret_refuses_a_revoked_pending_key(
    rotations: &Rotations<ApiKeyRotator>,
    harness: &HttpHarness,
) -> Result<(), String> {
    let arn = rotations
        .create("http-revoked", &harness.fresh_account())
        .await;
    let token = rotations.start(&arn).await;
    rotations
        .steps(&arn, &token, &[Step::CreateSecret, Step::SetSecret])
        .await;
    let pending = rotations
        .value(
            &arn,
            rotation_core::store::VersionSelector::IdAndStage(&token, "AWSPENDING"),
        )
        .await;
    harness.service.revoke_directly(&id(&pending));
    match rotations.step(&arn, &token, Step::TestSecret).await {
        Err(error) => {
            let message = error_chain(&error);
            assert!(
                message.contains("401") || message.contains("403"),
                "{message}"
            );
            Ok(())
        }
        Ok(outcome) => Err(format!("testSecret passed on a revoked key: {outcome:?}")),
    }
}

#[tokio::test]
#[ignore = "services tier: cargo test --tests -- --include-ignored (CONTRIBUTING.md)"]
async fn test_secret_fails_for_a_key_the_provider_does_not_accept() {
    let moto = MotoServer::shared();
    let harness = HttpHarness::admin(true).await;
    let rotations = driver(moto, &harness).await;
    test_secret_refuses_a_revoked_pending_key(&rotations, &harness)
        .await
        .unwrap();

    // The same check rejects a rotator whose testSecret always passes.
    let mutant = Rotations::new(
        moto.admin_store(),
        Box::new(AlwaysPasses(harness.http_rotator())) as ApiKeyRotator,
    );
    harness.ensure_admin_secret(mutant.store()).await;
    assert!(test_secret_refuses_a_revoked_pending_key(&mutant, &harness)
        .await
        .is_err());
}

/// A broken HTTP provider for the test above: testSecret never asks.
struct AlwaysPasses(ApiKeyRotator);

#[rotation_core::async_trait]
impl rotation_core::Rotator for AlwaysPasses {
    fn credential(&self) -> rotation_core::Credential {
        self.0.credential()
    }

    fn validate(&self, secret: &SecretJson) -> Result<(), rotation_core::SecretFormatError> {
        self.0.validate(secret)
    }

    async fn create_pending(
        &self,
        ctx: &rotation_core::RotationContext<'_>,
        current: &SecretJson,
    ) -> Result<SecretJson, rotation_core::RotatorError> {
        self.0.create_pending(ctx, current).await
    }

    async fn set_secret(
        &self,
        ctx: &rotation_core::RotationContext<'_>,
        current: &SecretJson,
        pending: &SecretJson,
    ) -> Result<(), rotation_core::RotatorError> {
        self.0.set_secret(ctx, current, pending).await
    }

    async fn test_secret(
        &self,
        _: &rotation_core::RotationContext<'_>,
        _: &SecretJson,
    ) -> Result<(), rotation_core::RotatorError> {
        Ok(())
    }
}
