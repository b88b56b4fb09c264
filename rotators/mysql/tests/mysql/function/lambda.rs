//! `mysql-rotator`'s Lambda binary, run as Lambda runs it, rotating
//! real secrets in moto against a real MariaDB, with both strategies.

use mysql_rotator_testing::{MariaDbServer, MysqlRotatorHarness};
use rotation_testing::lambda_e2e;
use rotation_testing::moto::MotoServer;

#[tokio::test]
#[ignore = "function tier: cargo test --tests -- --include-ignored function:: (CONTRIBUTING.md)"]
async fn mysql_rotator_serves_rotations_through_the_runtime_api() {
    let moto = MotoServer::shared();
    let server = MariaDbServer::shared();
    for harness in [
        MysqlRotatorHarness::single_user(server).await,
        MysqlRotatorHarness::alternating_users(server).await,
    ] {
        let report = lambda_e2e::run("mysql-rotator", &harness, moto, &[]).await;
        println!("mysql-rotator: {report:#?}");
        assert_eq!(report.rotations, 3);
        assert_eq!(report.errors.len(), 3);
    }
}

/// At TRACE, the most verbose level an operator can set, the output holds
/// no secret either. Alternating users, so the master secret is read too.
#[tokio::test]
#[ignore = "function tier: cargo test --tests -- --include-ignored function:: (CONTRIBUTING.md)"]
async fn mysql_rotator_leaks_nothing_at_trace() {
    let moto = MotoServer::shared();
    let server = MariaDbServer::shared();
    let harness = MysqlRotatorHarness::alternating_users(server).await;
    let trace = [("AWS_LAMBDA_LOG_LEVEL", "TRACE".to_owned())];
    let report = lambda_e2e::run("mysql-rotator", &harness, moto, &trace).await;
    println!("mysql-rotator at TRACE: {report:#?}");
    assert_eq!(report.rotations, 3);
    let debug = lambda_e2e::run("mysql-rotator", &harness, moto, &[]).await;
    assert!(
        report.log_lines > debug.log_lines,
        "TRACE {} lines, DEBUG {}",
        report.log_lines,
        debug.log_lines
    );
}

/// The built function carries Amazon RDS's authorities, whole.
#[test]
#[ignore = "function tier: cargo test --tests -- --include-ignored function:: (CONTRIBUTING.md)"]
fn the_built_function_holds_amazon_rds_roots() {
    let path = rotation_testing::lambda_function::bootstrap("mysql-rotator");
    let binary = std::fs::read(&path).expect("read the bootstrap");
    let roots = rotation_database::RDS_ROOTS_PEM.as_bytes();
    assert!(
        binary.windows(roots.len()).any(|window| window == roots),
        "{} lacks the RDS roots",
        path.display()
    );
}
