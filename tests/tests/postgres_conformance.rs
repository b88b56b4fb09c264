//! The conformance kit against a real PostgreSQL, through the AWS SDK
//! against moto, for both strategies.

use rotation_core::testkit::conformance::run_all;
use rotation_tests::moto::MotoServer;
use rotation_tests::postgres::PostgresServer;
use rotation_tests::postgres_rotator::PostgresRotatorHarness;

#[tokio::test]
async fn single_user_passes_the_conformance_kit() {
    let moto = MotoServer::start();
    let server = PostgresServer::start();
    let harness = PostgresRotatorHarness::single_user(&server).await;
    let report = run_all(&harness, moto.admin_store()).await;
    println!("single user: {report:#?}");
    assert_eq!(report.cases.len(), 8);
    let calls: usize = report.calls_per_step.iter().map(|(_, ops)| ops.len()).sum();
    assert_eq!(calls, 11, "Secrets Manager calls per single-user rotation");
    assert_eq!(report.fault_points.len(), 22);
}

#[tokio::test]
async fn alternating_users_passes_the_conformance_kit() {
    let moto = MotoServer::start();
    let server = PostgresServer::start();
    let harness = PostgresRotatorHarness::alternating_users(&server).await;
    let report = run_all(&harness, moto.admin_store()).await;
    println!("alternating users: {report:#?}");
    assert_eq!(report.cases.len(), 8);
    let calls: usize = report.calls_per_step.iter().map(|(_, ops)| ops.len()).sum();
    // setSecret also reads the master secret.
    assert_eq!(
        calls, 12,
        "Secrets Manager calls per alternating-users rotation"
    );
    assert_eq!(report.fault_points.len(), 24);
}
