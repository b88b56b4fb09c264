//! The conformance kit against a real PostgreSQL, through the AWS SDK
//! against moto, for both strategies.

use postgres_rotator::PostgresBackend;
use postgres_rotator_testing::PostgresRotatorHarness;
use postgres_rotator_testing::PostgresServer;
use rotation_core::testkit::conformance::Kit;
use rotation_database::testkit::{assert_database_kit, SwappedHarness};
use rotation_database::{ConnectSettings, Strategy};
use rotation_testing::moto::MotoServer;

#[tokio::test]
#[ignore = "services tier: cargo test --tests -- --include-ignored (CONTRIBUTING.md)"]
async fn single_user_passes_the_conformance_kit() {
    let moto = MotoServer::shared();
    let server = PostgresServer::shared();
    let harness = PostgresRotatorHarness::single_user(server).await;
    let report = moto.run_conformance_kit(&harness).await;
    println!("single user: {report:#?}");
    assert_database_kit(&report, Strategy::SingleUser);
}

#[tokio::test]
#[ignore = "services tier: cargo test --tests -- --include-ignored (CONTRIBUTING.md)"]
async fn alternating_users_passes_the_conformance_kit() {
    let moto = MotoServer::shared();
    let server = PostgresServer::shared();
    let harness = PostgresRotatorHarness::alternating_users(server).await;
    let report = moto.run_conformance_kit(&harness).await;
    println!("alternating users: {report:#?}");
    assert_database_kit(&report, Strategy::AlternatingUsers);
}

#[tokio::test]
#[ignore = "services tier: cargo test --tests -- --include-ignored (CONTRIBUTING.md)"]
async fn the_kit_fails_an_alternating_rotator_that_changes_the_current_user() {
    // The kit's first case is enough; it must panic.
    let message = rotation_core::testkit::panic_message(async move {
        let moto = MotoServer::shared();
        let server = PostgresServer::shared();
        let harness = SwappedHarness::new(
            PostgresRotatorHarness::alternating_users(server).await,
            || PostgresBackend::new(ConnectSettings::default()).unwrap(),
        );
        let kit = Kit::new(&harness, moto.admin_store());
        kit.full_rotation().await;
    })
    .await;
    assert!(
        message.contains("logs in") || message.contains("testSecret"),
        "{message}"
    );
}
