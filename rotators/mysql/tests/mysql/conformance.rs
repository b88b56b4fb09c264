//! The conformance kit against a real MariaDB, through the AWS SDK against
//! moto, for both strategies (native passwords; ed25519 accounts rotate in
//! `rotator.rs`, the kit's logic being the same for every plugin).

use mysql_rotator_testing::{MariaDbServer, MysqlRotatorHarness};
use rotation_core::testkit::conformance;
use rotation_testing::moto::MotoServer;

#[tokio::test]
#[ignore = "services tier: cargo test --tests -- --include-ignored (CONTRIBUTING.md)"]
async fn single_user_passes_the_conformance_kit() {
    let moto = MotoServer::shared();
    let server = MariaDbServer::shared();
    let harness = MysqlRotatorHarness::single_user(server).await;
    let report = moto.run_conformance_kit(&harness).await;
    println!("single user: {report:#?}");
    conformance::assert_covered(&report, &[]);
    let calls: usize = report.calls_per_step.iter().map(|(_, ops)| ops.len()).sum();
    assert_eq!(calls, 12, "Secrets Manager calls per single-user rotation");
}

#[tokio::test]
#[ignore = "services tier: cargo test --tests -- --include-ignored (CONTRIBUTING.md)"]
async fn alternating_users_passes_the_conformance_kit() {
    let moto = MotoServer::shared();
    let server = MariaDbServer::shared();
    let harness = MysqlRotatorHarness::alternating_users(server).await;
    let report = moto.run_conformance_kit(&harness).await;
    println!("alternating users: {report:#?}");
    conformance::assert_covered(&report, &["fault_during_recovery_through_previous"]);
    let calls: usize = report.calls_per_step.iter().map(|(_, ops)| ops.len()).sum();
    // setSecret also reads the master secret.
    assert_eq!(
        calls, 13,
        "Secrets Manager calls per alternating-users rotation"
    );
}
