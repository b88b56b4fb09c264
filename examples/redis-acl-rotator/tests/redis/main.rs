//! The Redis ACL rotator against a real `redis-server`: the conformance
//! kit, both passwords working during a rotation, and the attacks an editor
//! of the rotated secret could try on the admin.

mod harness;
mod server;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use redis_acl_rotator::RedisAclRotator;
use rotation_core::store::{InMemorySecretStore, VersionSelector};
use rotation_core::testkit::conformance::{self, run_all};
use rotation_core::testkit::{Rotations, RotatorHarness, SecretAdmin};
use rotation_core::{RotationError, RotatorError, SecretJson, SecretString, Step, AWSPENDING};

use harness::RedisHarness;
use server::{RedisServer, ADMIN};

fn store() -> Arc<dyn SecretAdmin> {
    Arc::new(InMemorySecretStore::new())
}

#[tokio::test]
#[ignore = "services tier: cargo test --tests -- --include-ignored (CONTRIBUTING.md)"]
async fn passes_the_conformance_kit() {
    let server = RedisServer::start().await;
    let harness = RedisHarness::new(&server);
    let report = run_all(&harness, store()).await;
    println!("redis acl: {report:#?}");
    conformance::assert_covered(&report, &["fault_during_recovery_through_previous"]);
    assert!(!report.fault_points.is_empty());
}

#[tokio::test]
#[ignore = "services tier: cargo test --tests -- --include-ignored (CONTRIBUTING.md)"]
async fn both_passwords_work_until_the_rotation_finishes() {
    let server = RedisServer::start().await;
    let harness = RedisHarness::new(&server);
    let rotations = Rotations::new(store(), harness.rotator());
    harness.ensure_admin_secret(rotations.store()).await;
    let (user, old) = harness.fresh_user().await;
    let arn = rotations
        .create("redis", &harness.secret_for(&user, &old))
        .await;
    let token = rotations.start(&arn).await;
    rotations
        .steps(
            &arn,
            &token,
            &[Step::CreateSecret, Step::SetSecret, Step::TestSecret],
        )
        .await;
    let new = rotations
        .value(&arn, VersionSelector::IdAndStage(&token, AWSPENDING))
        .await
        .required_secret("password")
        .unwrap();
    assert!(
        server.can_log_in(&user, &old).await,
        "the old password stops working before the rotation ends"
    );
    assert!(server.can_log_in(&user, &new).await);
    assert_eq!(server.password_count(&user).await, 2);

    rotations.steps(&arn, &token, &[Step::FinishSecret]).await;
    assert!(
        !server.can_log_in(&user, &old).await,
        "the previous password is not removed"
    );
    assert!(server.can_log_in(&user, &new).await);
    assert_eq!(server.password_count(&user).await, 1);
    rotations
        .assert_no_leaks(std::slice::from_ref(&server.admin_password))
        .await;
}

/// A rotation of `secret` gets through createSecret, then the rotator
/// refuses setSecret (the admin changes nothing).
async fn assert_set_secret_refused(
    rotations: &Rotations<RedisAclRotator>,
    secret: &SecretJson,
    what: &str,
) {
    let arn = rotations.create("refused", secret).await;
    let token = rotations.start(&arn).await;
    rotations.steps(&arn, &token, &[Step::CreateSecret]).await;
    let refused = rotations.step(&arn, &token, Step::SetSecret).await;
    assert!(
        matches!(
            refused,
            Err(RotationError::Rotator {
                source: RotatorError::Refused(_),
                ..
            })
        ),
        "{what}: {refused:?}"
    );
}

/// A secret's editor names the admin, or a user outside `REDIS_USERS`: the
/// admin refuses before changing anything.
#[tokio::test]
#[ignore = "services tier: cargo test --tests -- --include-ignored (CONTRIBUTING.md)"]
async fn the_admin_changes_only_allowed_users_other_than_itself() {
    let server = RedisServer::start().await;
    let harness = RedisHarness::new(&server);
    let outsider = "outsider";
    let outsider_password = SecretString::new("outsider-password");
    server
        .acl(&["SETUSER", outsider, "on", ">outsider-password", "+ping"])
        .await;
    let cases = [
        // The admin is even on the allow-list: the rotator still refuses it.
        (ADMIN, server.admin_password.clone(), vec![ADMIN.to_owned()]),
        (outsider, outsider_password.clone(), harness.users.clone()),
    ];
    for (user, password, allowed) in cases {
        let rotator = RedisAclRotator {
            admin_secret: harness.admin_secret.clone(),
            users: allowed,
        };
        let rotations = Rotations::new(store(), rotator);
        harness.ensure_admin_secret(rotations.store()).await;
        let secret = harness.secret_for(user, &password);
        assert_set_secret_refused(&rotations, &secret, user).await;
        assert_eq!(
            server.password_count(user).await,
            1,
            "{user} gained a password"
        );
        assert!(server.can_log_in(user, &password).await);
    }
}

/// The rotated secret's `host` and `port` never decide where the admin
/// logs in: its own secret does.
#[tokio::test]
#[ignore = "services tier: cargo test --tests -- --include-ignored (CONTRIBUTING.md)"]
async fn the_admin_logs_in_where_its_own_secret_says() {
    let server = RedisServer::start().await;
    let harness = RedisHarness::new(&server);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let decoy_port = listener.local_addr().unwrap().port();
    let reached = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&reached);
    tokio::spawn(async move {
        while listener.accept().await.is_ok() {
            counter.fetch_add(1, Ordering::SeqCst);
        }
    });
    let rotations = Rotations::new(store(), harness.rotator());
    harness.ensure_admin_secret(rotations.store()).await;
    let (user, password) = harness.fresh_user().await;
    let mut secret = harness.secret_for(&user, &password);
    secret.set("port", decoy_port);
    let arn = rotations.create("decoy", &secret).await;
    let token = rotations.start(&arn).await;
    rotations
        .steps(&arn, &token, &[Step::CreateSecret, Step::SetSecret])
        .await;
    assert_eq!(
        reached.load(Ordering::SeqCst),
        0,
        "the admin went to the rotated secret's address"
    );
    assert_eq!(server.password_count(&user).await, 2);
}

/// An allowed name with no Redis user behind it: `ACL SETUSER` would create
/// the user, so the rotator refuses and Redis still has no such user.
#[tokio::test]
#[ignore = "services tier: cargo test --tests -- --include-ignored (CONTRIBUTING.md)"]
async fn a_missing_user_is_refused_not_created() {
    let server = RedisServer::start().await;
    let harness = RedisHarness::new(&server);
    let rotations = Rotations::new(store(), harness.rotator());
    harness.ensure_admin_secret(rotations.store()).await;
    let never_made = harness.users.last().expect("an allowed user").clone();
    let secret = harness.secret_for(&never_made, &SecretString::new("unused"));
    assert_set_secret_refused(&rotations, &secret, &never_made).await;
    assert_eq!(
        server.acl(&["GETUSER", &never_made]).await,
        redis::Value::Nil,
        "the rotation created the user"
    );
}

/// The secret owns its user's passwords: one added behind its back is gone
/// after setSecret, which leaves exactly AWSCURRENT's and AWSPENDING's.
#[tokio::test]
#[ignore = "services tier: cargo test --tests -- --include-ignored (CONTRIBUTING.md)"]
async fn set_secret_leaves_exactly_the_current_and_pending_passwords() {
    let server = RedisServer::start().await;
    let harness = RedisHarness::new(&server);
    let rotations = Rotations::new(store(), harness.rotator());
    harness.ensure_admin_secret(rotations.store()).await;
    let (user, old) = harness.fresh_user().await;
    let stray = SecretString::new("added-by-hand");
    server.acl(&["SETUSER", &user, ">added-by-hand"]).await;
    assert_eq!(server.password_count(&user).await, 2);
    let arn = rotations
        .create("stray", &harness.secret_for(&user, &old))
        .await;
    let token = rotations.start(&arn).await;
    rotations
        .steps(&arn, &token, &[Step::CreateSecret, Step::SetSecret])
        .await;
    assert!(
        !server.can_log_in(&user, &stray).await,
        "the stray password survived"
    );
    assert!(server.can_log_in(&user, &old).await);
    assert_eq!(server.password_count(&user).await, 2);
}
