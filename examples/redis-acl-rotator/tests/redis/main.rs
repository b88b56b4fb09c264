//! The Redis ACL rotator against a real `redis-server`: the conformance
//! kit, both passwords working during a rotation, and the attacks an editor
//! of the rotated secret could try on the admin.

mod harness;
mod server;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use redis_acl_rotator::RedisAclRotator;
use rotation_core::error::RotationError;
use rotation_core::event::Step;
use rotation_core::secret::SecretPayload;
use rotation_core::store::AWSPENDING;
use rotation_core::store::{InMemorySecretStore, VersionSelector};
use rotation_core::testkit::conformance::{self, run_all};
use rotation_core::testkit::{Rotations, RotatorHarness, SecretAdmin};
use rotation_core::{RotatorError, SecretJson, SecretString};

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
    let calls: usize = report.calls_per_step.iter().map(|(_, ops)| ops.len()).sum();
    // setSecret also reads the admin secret; after_finish reads AWSPREVIOUS
    // and AWSCURRENT to retire the old password.
    assert_eq!(calls, 14, "Secrets Manager calls per rotation");
    assert_eq!(report.fault_points.len(), 28);
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

/// A victim's password and nothing else still logs in: one password, the
/// one it had, and not the editor's.
async fn assert_untouched(
    server: &RedisServer,
    user: &str,
    password: &SecretString,
    editors: &SecretString,
) {
    assert_eq!(
        server.password_count(user).await,
        1,
        "{user} gained a password"
    );
    assert!(
        server.can_log_in(user, password).await,
        "{user} lost its password"
    );
    assert!(
        !server.can_log_in(user, editors).await,
        "the editor's password logs in as {user}"
    );
}

/// Whoever edits one allowed user's secret names another allowed user and
/// a password of their choosing: the admin must not set the victim's
/// passwords, since the stored password does not log in as the victim.
#[tokio::test]
#[ignore = "services tier: cargo test --tests -- --include-ignored (CONTRIBUTING.md)"]
async fn an_editor_cannot_name_another_allowed_user() {
    let server = RedisServer::start().await;
    let harness = RedisHarness::new(&server);
    let rotations = Rotations::new(store(), harness.rotator());
    harness.ensure_admin_secret(rotations.store()).await;
    let (_editor, _) = harness.fresh_user().await;
    let (victim, victims_password) = harness.fresh_user().await;
    let chosen = SecretString::new("chosen-by-the-editor");
    let secret = harness.secret_for(&victim, &chosen);
    assert_set_secret_refused(&rotations, &secret, "another allowed user").await;
    assert_untouched(&server, &victim, &victims_password, &chosen).await;
}

/// The same attack with the secret's `host`/`port` pointing at a server
/// the editor runs, where the victim's name logs in with the chosen
/// password: the proof of ownership is made where the admin logs in, so
/// the editor's server cannot vouch for it.
#[tokio::test]
#[ignore = "services tier: cargo test --tests -- --include-ignored (CONTRIBUTING.md)"]
async fn a_server_of_the_editors_cannot_vouch_for_a_password() {
    let server = RedisServer::start().await;
    let editors_server = RedisServer::start().await;
    let harness = RedisHarness::new(&server);
    let rotations = Rotations::new(store(), harness.rotator());
    harness.ensure_admin_secret(rotations.store()).await;
    let (victim, victims_password) = harness.fresh_user().await;
    let chosen = SecretString::new("chosen-by-the-editor");
    editors_server
        .acl(&["SETUSER", &victim, "on", ">chosen-by-the-editor", "+@all"])
        .await;
    let mut secret = harness.secret_for(&victim, &chosen);
    secret.set("port", editors_server.port);
    assert_set_secret_refused(
        &rotations,
        &secret,
        "a password the editor's server accepts",
    )
    .await;
    assert_untouched(&server, &victim, &victims_password, &chosen).await;
}

/// The admin's secret asks for TLS and the server speaks plain TCP: the
/// admin's password is never sent in the clear, and nothing changes.
#[tokio::test]
#[ignore = "services tier: cargo test --tests -- --include-ignored (CONTRIBUTING.md)"]
async fn an_admin_secret_asking_for_tls_never_logs_in_without_it() {
    let server = RedisServer::start().await;
    let harness = RedisHarness::new(&server);
    let rotations = Rotations::new(store(), harness.rotator());
    let mut admin = harness.secret_for(server::ADMIN, &server.admin_password);
    admin.set("ssl", true);
    rotations
        .store()
        .create_secret(
            &harness.admin_secret,
            SecretPayload::String(admin.to_secret_string()),
        )
        .await
        .expect("store the admin's secret");
    let (user, password) = harness.fresh_user().await;
    let arn = rotations
        .create("tls", &harness.secret_for(&user, &password))
        .await;
    let token = rotations.start(&arn).await;
    rotations.steps(&arn, &token, &[Step::CreateSecret]).await;
    let failed = rotations.step(&arn, &token, Step::SetSecret).await;
    // The admin's login fails (the TLS handshake), not a check before it.
    assert!(
        matches!(
            &failed,
            Err(RotationError::Rotator {
                source: RotatorError::Backend { .. },
                ..
            })
        ),
        "the admin logged in without TLS: {failed:?}"
    );
    let message = rotation_core::error::error_chain(&failed.unwrap_err());
    assert!(message.contains("log in to 127.0.0.1"), "{message}");
    assert_eq!(server.password_count(&user).await, 1, "the user changed");
    assert!(server.can_log_in(&user, &password).await);
}
