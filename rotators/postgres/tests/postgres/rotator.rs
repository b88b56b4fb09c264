//! The PostgreSQL rotator against a real cluster, beyond the conformance
//! kit: what each strategy does to roles, awkward names, the server's log,
//! an outage mid-rotation, and the host checks.

use std::time::Duration;

use postgres_rotator_testing::PostgresRotatorHarness;
use postgres_rotator_testing::PostgresServer;
use rotation_core::error::error_chain;
use rotation_core::store::{MoveStage, PutValue, VersionSelector};
use rotation_core::testkit::Rotations;
use rotation_core::testkit::RotatorHarness;
use rotation_core::{
    error::RotationError, event::Step, store::AWSCURRENT, store::AWSPREVIOUS, SecretJson,
};
use rotation_database::{ConnectSettings, Strategy};
use rotation_testing::moto::MotoServer;
use serde_json::json;

fn settings() -> ConnectSettings {
    ConnectSettings {
        connect_timeout: Duration::from_secs(5),
        ca_bundle: None,
    }
}

fn password_of(secret: &SecretJson) -> String {
    secret
        .required_secret("password")
        .unwrap()
        .expose()
        .to_owned()
}

fn username_of(secret: &SecretJson) -> String {
    secret.required_str("username").unwrap().to_owned()
}

async fn current(rotations: &Rotations<impl rotation_core::Rotator>, arn: &str) -> SecretJson {
    rotations
        .value(arn, VersionSelector::Stage(AWSCURRENT))
        .await
}

async fn previous(rotations: &Rotations<impl rotation_core::Rotator>, arn: &str) -> SecretJson {
    rotations
        .value(arn, VersionSelector::Stage(AWSPREVIOUS))
        .await
}

async fn superuser_rows(server: &PostgresServer, query: &str, role: &str) -> Vec<String> {
    server
        .superuser()
        .await
        .query(query, &[&role])
        .await
        .expect("query as the superuser")
        .iter()
        .map(|row| row.get::<_, String>(0))
        .collect()
}

/// The roles `role` is a direct member of.
async fn memberships(server: &PostgresServer, role: &str) -> Vec<String> {
    let mut roles = superuser_rows(
        server,
        "SELECT g.rolname::text FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid \
         JOIN pg_roles u ON u.oid = m.member WHERE u.rolname = $1",
        role,
    )
    .await;
    roles.sort();
    roles
}

async fn can_create_db(server: &PostgresServer, role: &str) -> bool {
    superuser_rows(
        server,
        "SELECT rolcreatedb::text FROM pg_roles WHERE rolname = $1",
        role,
    )
    .await
        == ["true"]
}

#[tokio::test]
#[ignore = "services tier: cargo test --tests -- --include-ignored (CONTRIBUTING.md)"]
async fn single_user_replaces_the_password_and_keeps_the_rest() {
    let moto = MotoServer::shared();
    let server = PostgresServer::shared();
    let harness = PostgresRotatorHarness::single_user(server).await;
    let rotations = Rotations::new(moto.admin_store(), harness.rotator_with(settings(), None));
    let mut secret = harness.new_user(rotations.store(), "single").await;
    secret.set("team", json!({"owner": "payments", "tags": ["a", 1]}));
    let arn = rotations.create("pg-single", &secret).await;

    rotations.rotate(&arn).await;

    let new = current(&rotations, &arn).await;
    let old = previous(&rotations, &arn).await;
    assert_eq!(old, secret, "AWSPREVIOUS holds the old value, unchanged");
    assert_eq!(username_of(&new), username_of(&secret));
    assert_ne!(password_of(&new), password_of(&secret));
    assert_eq!(new.get("team"), secret.get("team"), "unknown keys survive");
    let user = username_of(&new);
    assert!(server.can_log_in(&user, &password_of(&new)).await);
    assert!(
        !server.can_log_in(&user, &password_of(&secret)).await,
        "the old password is refused"
    );
    rotations.assert_no_leaks(&[]).await;
}

#[tokio::test]
#[ignore = "services tier: cargo test --tests -- --include-ignored (CONTRIBUTING.md)"]
async fn awkward_usernames_passwords_and_fields_rotate() {
    let moto = MotoServer::shared();
    let server = PostgresServer::shared();
    for alternating in [false, true] {
        let harness = if alternating {
            PostgresRotatorHarness::alternating_users(server).await
        } else {
            PostgresRotatorHarness::single_user(server).await
        };
        let rotations = Rotations::new(moto.admin_store(), harness.rotator_with(settings(), None));
        let username = format!("we\"ird us;er {alternating}");
        let password = "it's a \\back$lash $$ pass";
        harness.create_user(&username, password).await;
        let mut secret = harness.secret_for(&username, password);
        secret.set("port", json!(server.port().to_string()));
        let mut map = secret.as_map().clone();
        map.remove("dbname");
        let mut secret = SecretJson::from_map(map);
        if alternating {
            secret.set("masterarn", harness.master_secret(rotations.store()).await);
        }
        let arn = rotations.create("pg-awkward", &secret).await;

        for round in 0..2 {
            rotations.rotate(&arn).await;
            let new = current(&rotations, &arn).await;
            let expected = if alternating && round == 0 {
                format!("{username}_clone")
            } else {
                username.clone()
            };
            assert_eq!(username_of(&new), expected, "alternating: {alternating}");
            assert!(
                harness.logs_in(&new).await,
                "round {round}, alternating: {alternating}"
            );
            assert_eq!(new.get("port"), secret.get("port"), "port stays a string");
            assert_eq!(new.get("dbname"), None, "no dbname is added");
        }
        rotations
            .assert_no_leaks(&harness.other_secret_values())
            .await;
    }
}

#[tokio::test]
#[ignore = "services tier: cargo test --tests -- --include-ignored (CONTRIBUTING.md)"]
async fn alternating_users_share_privileges_and_switch_back() {
    let moto = MotoServer::shared();
    let server = PostgresServer::shared();
    let harness = PostgresRotatorHarness::alternating_users(server).await;
    let rotations = Rotations::new(moto.admin_store(), harness.rotator_with(settings(), None));
    let secret = harness.new_user(rotations.store(), "orig").await;
    let original = username_of(&secret);
    let clone = format!("{original}_clone");
    server
        .execute(&format!(
            "CREATE TABLE ledger (amount int); INSERT INTO ledger VALUES (42); \
             GRANT SELECT ON ledger TO \"{original}\"; \
             CREATE ROLE reporting; CREATE ROLE stray;"
        ))
        .await;
    let arn = rotations.create("pg-alternating", &secret).await;

    // First rotation: the clone is created and becomes current.
    rotations.rotate(&arn).await;
    let first = current(&rotations, &arn).await;
    assert_eq!(username_of(&first), clone);
    assert_eq!(memberships(server, &clone).await, [original.as_str()]);
    let client = server.connect_as(&clone, &password_of(&first)).await;
    let amount: i32 = client
        .query_one("SELECT amount FROM ledger", &[])
        .await
        .expect("the clone reads what the original may read")
        .get(0);
    assert_eq!(amount, 42);
    drop(client);
    assert!(
        harness.logs_in(&secret).await,
        "the original's password still works: alternating users never lock out the old one"
    );

    // Privileges change on the original after the clone exists, and the
    // clone gains one the original lacks.
    server
        .execute(&format!(
            "GRANT reporting TO \"{original}\"; ALTER ROLE \"{original}\" CREATEDB; \
             GRANT stray TO \"{clone}\";"
        ))
        .await;

    // Second rotation: back to the original; the clone is re-synced.
    rotations.rotate(&arn).await;
    let second = current(&rotations, &arn).await;
    assert_eq!(username_of(&second), original);
    assert_ne!(password_of(&second), password_of(&secret));
    assert!(harness.logs_in(&second).await);
    assert!(
        harness.logs_in(&first).await,
        "AWSPREVIOUS (the clone) still logs in"
    );
    assert_eq!(
        memberships(server, &clone).await,
        [original.as_str(), "reporting"],
        "the grant reached the clone and the stray one was revoked"
    );
    assert!(can_create_db(server, &clone).await, "attributes are copied");

    // A revoke on the original reaches the clone too.
    server
        .execute(&format!(
            "REVOKE reporting FROM \"{original}\"; ALTER ROLE \"{original}\" NOCREATEDB;"
        ))
        .await;
    rotations.rotate(&arn).await;
    let third = current(&rotations, &arn).await;
    assert_eq!(username_of(&third), clone);
    assert_eq!(memberships(server, &clone).await, [original.as_str()]);
    assert!(!can_create_db(server, &clone).await);
    assert!(harness.logs_in(&third).await);
    rotations
        .assert_no_leaks(&harness.other_secret_values())
        .await;
}

/// A crash between creating the clone and copying the original's rights to
/// it leaves a marked clone without them: the next setSecret completes it.
#[tokio::test]
#[ignore = "services tier: cargo test --tests -- --include-ignored (CONTRIBUTING.md)"]
async fn a_clone_left_without_its_grants_is_completed() {
    let moto = MotoServer::shared();
    let server = PostgresServer::shared();
    let harness = PostgresRotatorHarness::alternating_users(server).await;
    let rotations = Rotations::new(moto.admin_store(), harness.rotator_with(settings(), None));
    let secret = harness.new_user(rotations.store(), "half").await;
    let original = username_of(&secret);
    let clone = format!("{original}_clone");
    server
        .execute(&format!(
            "CREATE ROLE auditors; GRANT auditors TO \"{original}\"; \
             ALTER ROLE \"{original}\" CREATEDB; \
             CREATE ROLE \"{clone}\" WITH LOGIN IN ROLE \"{original}\";"
        ))
        .await;
    assert_eq!(memberships(server, &clone).await, [original.as_str()]);
    assert!(!can_create_db(server, &clone).await);

    let arn = rotations.create("pg-half-clone", &secret).await;
    rotations.rotate(&arn).await;
    let mut expected = vec!["auditors".to_owned(), original.clone()];
    expected.sort();
    assert_eq!(memberships(server, &clone).await, expected);
    assert!(can_create_db(server, &clone).await);
    assert!(harness.logs_in(&current(&rotations, &arn).await).await);
}

#[tokio::test]
#[ignore = "services tier: cargo test --tests -- --include-ignored (CONTRIBUTING.md)"]
async fn the_server_log_never_holds_a_new_password() {
    let moto = MotoServer::shared();
    let server = PostgresServer::start_with(&["log_statement = 'all'"]);
    let mut new_passwords = Vec::new();
    for alternating in [false, true] {
        let harness = if alternating {
            PostgresRotatorHarness::alternating_users(&server).await
        } else {
            PostgresRotatorHarness::single_user(&server).await
        };
        let rotations = Rotations::new(moto.admin_store(), harness.rotator_with(settings(), None));
        let secret = harness.new_user(rotations.store(), "logged").await;
        let arn = rotations.create("pg-logged", &secret).await;
        for _ in 0..2 {
            rotations.rotate(&arn).await;
            new_passwords.push(password_of(&current(&rotations, &arn).await));
        }
    }
    let log = std::fs::read_to_string(server.log_path()).expect("read the server log");
    let alters = log.matches("ALTER ROLE").count();
    assert!(
        alters >= 4,
        "the log must record the password changes ({alters} ALTER ROLE lines)"
    );
    assert!(log.contains("PASSWORD 'SCRAM-SHA-256$4096:"));
    for password in &new_passwords {
        assert!(
            !log.contains(password.as_str()),
            "the server log holds a new password ({} bytes)",
            password.len()
        );
    }
}

#[tokio::test]
#[ignore = "services tier: cargo test --tests -- --include-ignored (CONTRIBUTING.md)"]
async fn a_database_outage_mid_rotation_is_survived() {
    let moto = MotoServer::shared();
    let server = PostgresServer::start();
    let harness = PostgresRotatorHarness::single_user(&server).await;
    let rotations = Rotations::new(moto.admin_store(), harness.rotator_with(settings(), None));
    let secret = harness.new_user(rotations.store(), "outage").await;
    let arn = rotations.create("pg-outage", &secret).await;
    let token = rotations.start(&arn).await;
    rotations.steps(&arn, &token, &[Step::CreateSecret]).await;

    // Down before setSecret: a clear, quick failure, and nothing changed.
    server.stop();
    let failed = rotations.step(&arn, &token, Step::SetSecret).await;
    let message = failed.as_ref().map_err(|e| error_chain(e)).unwrap_err();
    assert!(
        matches!(failed, Err(RotationError::Rotator { .. })),
        "{message}"
    );
    assert!(
        message.contains(&format!("127.0.0.1:{}", server.port())) && message.contains("AWSCURRENT"),
        "the error names the server and the login tried: {message}"
    );
    // No waiting on a refused port: the failure is the refusal itself,
    // not a timeout.
    assert!(
        message.contains("Connection refused") && !message.contains("no answer within"),
        "{message}"
    );
    server.start_again();
    assert!(harness.logs_in(&secret).await, "AWSCURRENT still logs in");

    // Retried: applied. Then down before testSecret.
    rotations.steps(&arn, &token, &[Step::SetSecret]).await;
    server.stop();
    assert!(rotations
        .step(&arn, &token, Step::TestSecret)
        .await
        .is_err());
    server.start_again();
    let pending = rotations
        .value(&arn, VersionSelector::IdAndStage(&token, "AWSPENDING"))
        .await;
    assert!(
        harness.logs_in(&pending).await,
        "AWSPENDING logs in after the restart"
    );

    // setSecret again (a retried rotation) finds the pending password
    // already applied, then the rotation completes.
    rotations
        .steps(
            &arn,
            &token,
            &[Step::SetSecret, Step::TestSecret, Step::FinishSecret],
        )
        .await;
    let new = current(&rotations, &arn).await;
    assert_eq!(password_of(&new), password_of(&pending));
    assert!(harness.logs_in(&new).await);
    rotations.assert_no_leaks(&[]).await;
}

#[tokio::test]
#[ignore = "services tier: cargo test --tests -- --include-ignored (CONTRIBUTING.md)"]
async fn an_explicit_strategy_wins_over_masterarn() {
    let moto = MotoServer::shared();
    let server = PostgresServer::shared();
    let harness = PostgresRotatorHarness::alternating_users(server).await;
    let rotations = Rotations::new(
        moto.admin_store(),
        harness.rotator_with(settings(), Some(Strategy::SingleUser)),
    );
    let secret = harness.new_user(rotations.store(), "explicit").await;
    let arn = rotations.create("pg-explicit", &secret).await;
    rotations.rotate(&arn).await;
    let new = current(&rotations, &arn).await;
    assert_eq!(
        username_of(&new),
        username_of(&secret),
        "single user: same user"
    );
    assert_eq!(new.get("masterarn"), secret.get("masterarn"));
    assert!(harness.logs_in(&new).await);
    assert!(!harness.logs_in(&secret).await);

    // Forced alternating without a masterarn: refused at createSecret,
    // naming the field.
    let rotations = Rotations::new(
        moto.admin_store(),
        harness.rotator_with(settings(), Some(Strategy::AlternatingUsers)),
    );
    let mut map = secret.as_map().clone();
    map.remove("masterarn");
    let plain = SecretJson::from_map(map);
    let arn = rotations.create("pg-no-master", &plain).await;
    let token = rotations.start(&arn).await;
    let refused = rotations.step(&arn, &token, Step::CreateSecret).await;
    let message = refused.as_ref().map_err(|e| error_chain(e)).unwrap_err();
    assert!(message.contains("`masterarn`"), "{message}");
}

#[tokio::test]
#[ignore = "services tier: cargo test --tests -- --include-ignored (CONTRIBUTING.md)"]
async fn a_hand_edited_current_secret_is_recovered_through_previous() {
    let moto = MotoServer::shared();
    let server = PostgresServer::shared();
    let harness = PostgresRotatorHarness::single_user(server).await;
    let rotations = Rotations::new(moto.admin_store(), harness.rotator_with(settings(), None));
    let secret = harness.new_user(rotations.store(), "edited").await;
    let arn = rotations.create("pg-edited", &secret).await;
    rotations.rotate(&arn).await;
    let working = current(&rotations, &arn).await;

    // An operator stores a mistyped password as AWSCURRENT; the working one
    // becomes AWSPREVIOUS. (Put, then move the label: moto's PutSecretValue
    // with AWSCURRENT leaves the label on two versions, the service does not.)
    let mut mistyped = working.clone();
    mistyped.set("password", "a mistyped password 123");
    let edit = rotation_core::testkit::new_token();
    let store = rotations.store();
    let old = store.describe(&arn).await.unwrap();
    let old = old.version_with_stage(AWSCURRENT).map(str::to_owned);
    store
        .put_value(
            &arn,
            PutValue {
                version_id: &edit,
                value: &mistyped.to_secret_string(),
                stages: &["HAND_EDIT"],
                rotation_token: None,
            },
        )
        .await
        .expect("the hand edit");
    store
        .move_stage(
            &arn,
            MoveStage {
                stage: AWSCURRENT,
                to_version: &edit,
                from_version: old.as_deref(),
            },
        )
        .await
        .expect("label the edit AWSCURRENT");
    assert_eq!(previous(&rotations, &arn).await, working);
    assert!(!harness.logs_in(&mistyped).await);

    rotations.rotate(&arn).await;
    let new = current(&rotations, &arn).await;
    assert!(
        harness.logs_in(&new).await,
        "the rotation recovered the login"
    );
    assert!(
        rotations.logs().contains("AWSPREVIOUS logged in"),
        "the recovery is logged"
    );
    rotations
        .assert_no_leaks(&[rotation_core::SecretString::new("a mistyped password 123")])
        .await;
}
