//! The database fault matrix of `rotation_database::testkit` against a
//! real MariaDB: a failure before and after every database call of
//! setSecret and testSecret, in a first and a second rotation, then the
//! rotation resumed; and a database that hangs mid-step.

use std::time::Duration;

use mysql_rotator::MysqlBackend;
use mysql_rotator_testing::{MariaDbServer, MysqlRotatorHarness};
use rotation_database::testkit::{self, fail_every_database_call};
use rotation_database::ConnectSettings;
use rotation_testing::moto::MotoServer;

fn backend() -> MysqlBackend {
    MysqlBackend::with_connect_settings(ConnectSettings {
        connect_timeout: Duration::from_secs(5),
        ca_bundle: None,
    })
    .unwrap()
}

#[tokio::test]
#[ignore = "services tier: cargo test --tests -- --include-ignored (CONTRIBUTING.md)"]
async fn single_user_survives_a_failure_at_every_database_call() {
    let moto = MotoServer::shared();
    let server = MariaDbServer::shared();
    let harness = MysqlRotatorHarness::single_user(server).await;
    let points = fail_every_database_call(backend(), &harness, moto.admin_store(), false).await;
    println!("{points} fault points");
    // Every database call of setSecret and testSecret, before and after,
    // in two rotations: exact, so that a call the matrix stops reaching
    // fails here.
    assert_eq!(points, 16, "fault points");
}

#[tokio::test]
#[ignore = "services tier: cargo test --tests -- --include-ignored (CONTRIBUTING.md)"]
async fn alternating_users_survive_a_failure_at_every_database_call() {
    let moto = MotoServer::shared();
    let server = MariaDbServer::shared();
    let harness = MysqlRotatorHarness::alternating_users(server).await;
    let points = fail_every_database_call(backend(), &harness, moto.admin_store(), true).await;
    println!("{points} fault points");
    assert_eq!(points, 34, "fault points");
}

#[tokio::test]
#[ignore = "services tier: cargo test --tests -- --include-ignored (CONTRIBUTING.md)"]
async fn a_database_that_hangs_mid_step_fails_it_in_time() {
    let moto = MotoServer::shared();
    let server = MariaDbServer::shared();
    let harness = MysqlRotatorHarness::alternating_users(server).await;
    testkit::a_database_that_hangs_mid_step_fails_it_in_time(
        backend(),
        &harness,
        moto.admin_store(),
    )
    .await;
}
