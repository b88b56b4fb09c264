//! The conformance kit against a real MariaDB, through the AWS SDK against
//! moto, for both strategies (native passwords; ed25519 accounts rotate in
//! `rotator.rs`, the kit's logic being the same for every plugin).

use mysql_rotator::{MysqlBackend, MysqlSettings};
use mysql_rotator_testing::{MariaDbServer, MysqlRotatorHarness};
use rotation_core::testkit::conformance::Kit;
use rotation_database::testkit::{assert_database_kit, SwappedHarness};
use rotation_database::{ConnectSettings, Strategy};
use rotation_testing::moto::MotoServer;

#[tokio::test]
#[ignore = "services tier: cargo test --tests -- --include-ignored (CONTRIBUTING.md)"]
async fn single_user_passes_the_conformance_kit() {
    let moto = MotoServer::shared();
    let server = MariaDbServer::shared();
    let harness = MysqlRotatorHarness::single_user(server).await;
    let report = moto.run_conformance_kit(&harness).await;
    println!("single user: {report:#?}");
    assert_database_kit(&report, Strategy::SingleUser);
}

#[tokio::test]
#[ignore = "services tier: cargo test --tests -- --include-ignored (CONTRIBUTING.md)"]
async fn alternating_users_passes_the_conformance_kit() {
    let moto = MotoServer::shared();
    let server = MariaDbServer::shared();
    let harness = MysqlRotatorHarness::alternating_users(server).await;
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
        let server = MariaDbServer::shared();
        let harness =
            SwappedHarness::new(MysqlRotatorHarness::alternating_users(server).await, || {
                let settings = MysqlSettings {
                    connect: ConnectSettings::default(),
                    username_limit: None,
                };
                MysqlBackend::new(settings).expect("valid settings")
            });
        let kit = Kit::new(&harness, moto.admin_store());
        kit.full_rotation().await;
    })
    .await;
    // AWSCURRENT's user loses its password at setSecret: the kit's
    // no-lockout check, or testSecret on the untouched pending user, fails.
    assert!(
        message.contains("lockout") || message.contains("testSecret"),
        "{message}"
    );
}
