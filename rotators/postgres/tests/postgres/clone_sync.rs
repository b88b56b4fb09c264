//! What the alternating-users clone carries over from its original beyond
//! attributes and memberships: its sessions act as the original (so a
//! NOINHERIT original's privileges reach it and what it creates stays the
//! original's), role-level settings follow the original both ways and are
//! never spliced as SQL, a setting only a superuser may set is skipped
//! with a warning by a master that is not one, and a statement stuck on a
//! lock fails by name.

use std::time::{Duration, Instant};

use postgres_rotator::sql::quote_identifier;
use postgres_rotator::PostgresRotator;
use postgres_rotator_testing::PostgresRotatorHarness;
use postgres_rotator_testing::PostgresServer;
use rotation_core::error::error_chain;
use rotation_core::store::VersionSelector;
use rotation_core::testkit::Rotations;
use rotation_core::{event::Step, store::AWSCURRENT, SecretJson};
use rotation_database::ConnectSettings;
use rotation_testing::moto::MotoServer;

fn settings(connect_timeout: Duration) -> ConnectSettings {
    ConnectSettings {
        connect_timeout,
        ca_bundle: None,
    }
}

/// The shared server, an alternating-users harness on it, rotations over
/// moto whose logins time out after `connect_timeout`, and a new user's
/// secret, its name from `prefix`.
struct Setup {
    server: &'static PostgresServer,
    harness: PostgresRotatorHarness<'static>,
    rotations: Rotations<PostgresRotator>,
    secret: SecretJson,
}

async fn setup(prefix: &str, connect_timeout: Duration) -> Setup {
    let server = PostgresServer::shared();
    let harness = PostgresRotatorHarness::alternating_users(server).await;
    let rotations = Rotations::new(
        MotoServer::shared().admin_store(),
        harness.rotator_with(settings(connect_timeout), None),
    );
    let secret = harness.new_user(rotations.store(), prefix).await;
    Setup {
        server,
        harness,
        rotations,
        secret,
    }
}

async fn login(server: &PostgresServer, secret: &SecretJson) -> tokio_postgres::Client {
    server
        .connect_as(
            secret.required_str("username").unwrap(),
            secret.required_secret("password").unwrap().expose(),
        )
        .await
}

async fn show(client: &tokio_postgres::Client, setting: &str) -> String {
    client
        .query_one(&format!("SHOW {setting}"), &[])
        .await
        .unwrap()
        .get(0)
}

#[tokio::test]
#[ignore = "services tier: cargo test --tests -- --include-ignored (CONTRIBUTING.md)"]
async fn the_clone_acts_as_its_original_with_its_settings() {
    let Setup {
        server,
        harness,
        rotations,
        secret,
    } = setup("noinherit", Duration::from_secs(5)).await;
    let original = secret.required_str("username").unwrap().to_owned();
    let original_ident = quote_identifier(&original);
    // A NOINHERIT original with a privilege of its own, a schema it may
    // create in, and role-level settings, one per database; it sets one
    // itself, to a value that would be SQL if spliced.
    server
        .execute(&format!(
            "CREATE SCHEMA app; GRANT USAGE, CREATE ON SCHEMA app TO {o}; \
             CREATE TABLE app.ledger (amount int); INSERT INTO app.ledger VALUES (42); \
             GRANT SELECT ON app.ledger TO {o}; \
             ALTER ROLE {o} NOINHERIT; \
             ALTER ROLE {o} SET work_mem = '12MB'; \
             ALTER ROLE {o} SET search_path = \"$user\", app; \
             ALTER ROLE {o} IN DATABASE postgres SET statement_timeout = '7s';",
            o = original_ident
        ))
        .await;
    login(server, &secret)
        .await
        .batch_execute(&format!(
            "ALTER ROLE CURRENT_USER SET application_name = $x$x'; ALTER ROLE {} SUPERUSER; --$x$",
            quote_identifier(harness.master_user())
        ))
        .await
        .expect("a user sets its own defaults");
    let arn = rotations.create("pg-clone-sync", &secret).await;

    rotations.rotate(&arn).await;
    let clone_secret = rotations
        .value(&arn, VersionSelector::Stage(AWSCURRENT))
        .await;
    let clone = login(server, &clone_secret).await;
    let whoami: (String, String) = {
        let row = clone
            .query_one("SELECT current_user::text, session_user::text", &[])
            .await
            .unwrap();
        (row.get(0), row.get(1))
    };
    assert_eq!(
        whoami,
        (original.clone(), format!("{original}_clone")),
        "the clone's sessions act as the original"
    );
    let amount: i32 = clone
        .query_one("SELECT amount FROM ledger", &[])
        .await
        .expect("a NOINHERIT original's own privileges reach the clone (search_path copied)")
        .get(0);
    assert_eq!(amount, 42);
    assert_eq!(show(&clone, "work_mem").await, "12MB");
    assert_eq!(show(&clone, "search_path").await, "\"$user\", app");
    assert_eq!(show(&clone, "statement_timeout").await, "7s");
    assert_eq!(
        show(&clone, "application_name").await,
        format!(
            "x'; ALTER ROLE {} SUPERUSER; --",
            quote_identifier(harness.master_user())
        ),
        "copied as a value, not run"
    );
    assert!(
        !rotations.logs().contains("SUPERUSER; --"),
        "setting values stay out of the log"
    );
    let master_is_superuser: bool = server
        .superuser()
        .await
        .query_one(
            "SELECT rolsuper FROM pg_roles WHERE rolname = $1",
            &[&harness.master_user()],
        )
        .await
        .unwrap()
        .get(0);
    assert!(!master_is_superuser);
    clone
        .batch_execute("CREATE TABLE app.made_by_clone (id int)")
        .await
        .expect("the clone creates in the original's schema");
    drop(clone);

    // A setting the original drops is dropped from the clone on the next
    // rotation; the original owns and alters what the clone made.
    server
        .execute(&format!("ALTER ROLE {original_ident} RESET work_mem"))
        .await;
    rotations.rotate(&arn).await;
    let back = rotations
        .value(&arn, VersionSelector::Stage(AWSCURRENT))
        .await;
    assert_eq!(back.required_str("username").unwrap(), original);
    let as_original = login(server, &back).await;
    as_original
        .batch_execute("ALTER TABLE app.made_by_clone ADD COLUMN note text; INSERT INTO app.made_by_clone VALUES (1, 'ok')")
        .await
        .expect("what the clone created belongs to the original");
    let clone_again = login(
        server,
        &rotations
            .value(
                &arn,
                VersionSelector::Stage(rotation_core::store::AWSPREVIOUS),
            )
            .await,
    )
    .await;
    assert_eq!(
        show(&clone_again, "work_mem").await,
        show(&as_original, "work_mem").await,
        "the clone lost the default the original lost"
    );
    rotations
        .assert_no_leaks(&rotation_core::testkit::RotatorHarness::other_secret_values(&harness))
        .await;
}

#[tokio::test]
#[ignore = "services tier: cargo test --tests -- --include-ignored (CONTRIBUTING.md)"]
async fn a_superuser_only_setting_is_skipped_by_a_master_that_is_not_one() {
    let Setup {
        server,
        harness: _,
        rotations,
        secret,
    } = setup("superset", Duration::from_secs(5)).await;
    let original = quote_identifier(secret.required_str("username").unwrap());
    // log_min_duration_statement may be set only by a superuser; work_mem
    // by anyone.
    server
        .execute(&format!(
            "ALTER ROLE {original} SET log_min_duration_statement = '123ms'; \
             ALTER ROLE {original} SET work_mem = '9MB';"
        ))
        .await;
    let arn = rotations.create("pg-superuser-setting", &secret).await;

    rotations.rotate(&arn).await;
    let clone = login(
        server,
        &rotations
            .value(&arn, VersionSelector::Stage(AWSCURRENT))
            .await,
    )
    .await;
    assert_eq!(
        show(&clone, "work_mem").await,
        "9MB",
        "a user setting is copied"
    );
    assert_ne!(
        show(&clone, "log_min_duration_statement").await,
        "123ms",
        "the master, not a superuser, could not copy it"
    );
    let logs = rotations.logs();
    let skipped: Vec<&str> = logs
        .lines()
        .filter(|l| l.contains("only a superuser may set"))
        .collect();
    assert_eq!(
        skipped.len(),
        1,
        "one setting skipped, with a warning: {logs}"
    );
    assert!(
        skipped[0].contains("log_min_duration_statement"),
        "the warning names the setting: {}",
        skipped[0]
    );
}

#[tokio::test]
#[ignore = "services tier: cargo test --tests -- --include-ignored (CONTRIBUTING.md)"]
async fn a_statement_stuck_on_a_lock_fails_naming_it() {
    let Setup {
        server,
        harness,
        rotations,
        secret,
    } = setup("locked", Duration::from_secs(1)).await;
    let original = secret.required_str("username").unwrap().to_owned();
    let arn = rotations.create("pg-locked", &secret).await;
    rotations.rotate(&arn).await;

    // Another session alters the original and keeps its transaction open:
    // the next rotation's sync and password change wait on that role.
    let holder = server.superuser().await;
    holder
        .batch_execute(&format!(
            "BEGIN; ALTER ROLE {} CONNECTION LIMIT 5",
            quote_identifier(&original)
        ))
        .await
        .unwrap();
    let token = rotations.start(&arn).await;
    rotations.steps(&arn, &token, &[Step::CreateSecret]).await;
    let started = Instant::now();
    let failed = rotations.step(&arn, &token, Step::SetSecret).await;
    let elapsed = started.elapsed();
    let message = error_chain(&failed.expect_err("setSecret must fail"));
    assert!(message.contains("lock timeout"), "{message}");
    assert!(
        message.contains(&original) && message.contains(harness.master_user()),
        "the failed statement is named: {message}"
    );
    assert!(elapsed < Duration::from_secs(4), "{elapsed:?}");

    holder.batch_execute("ROLLBACK").await.unwrap();
    rotations
        .steps(
            &arn,
            &token,
            &[Step::SetSecret, Step::TestSecret, Step::FinishSecret],
        )
        .await;
    let current = rotations
        .value(&arn, VersionSelector::Stage(AWSCURRENT))
        .await;
    assert!(harness.logs_in(&current).await);
}
