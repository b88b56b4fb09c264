//! `postgres-rotator`'s Lambda binary, run as Lambda runs it, rotating
//! real secrets in moto against a real PostgreSQL, with both strategies.

use postgres_rotator_testing::PostgresRotatorHarness;
use postgres_rotator_testing::PostgresServer;
use rotation_testing::lambda_e2e;
use rotation_testing::moto::MotoServer;

#[tokio::test]
#[ignore = "function tier: cargo test --tests -- --include-ignored function:: (CONTRIBUTING.md)"]
async fn postgres_rotator_serves_rotations_through_the_runtime_api() {
    let moto = MotoServer::shared();
    let server = PostgresServer::shared();
    for harness in [
        PostgresRotatorHarness::single_user(server).await,
        PostgresRotatorHarness::alternating_users(server).await,
    ] {
        let report = lambda_e2e::run("postgres-rotator", &harness, moto, &[]).await;
        println!("postgres-rotator: {report:#?}");
        assert_eq!(report.rotations, 3);
        assert_eq!(report.errors.len(), 3);
    }
}

/// At TRACE, the most verbose level an operator can set, the output holds
/// no secret either: the SDK, HTTP and driver crates are capped below the
/// level at which they print bodies and statements. Alternating users, so
/// the master secret is read too.
#[tokio::test]
#[ignore = "function tier: cargo test --tests -- --include-ignored function:: (CONTRIBUTING.md)"]
async fn postgres_rotator_leaks_nothing_at_trace() {
    let moto = MotoServer::shared();
    let server = PostgresServer::shared();
    let harness = PostgresRotatorHarness::alternating_users(server).await;
    let trace = [("AWS_LAMBDA_LOG_LEVEL", "TRACE".to_owned())];
    let report = lambda_e2e::run("postgres-rotator", &harness, moto, &trace).await;
    println!("postgres-rotator at TRACE: {report:#?}");
    assert_eq!(report.rotations, 3);
    // TRACE was in force: the same run at DEBUG logs fewer lines.
    let debug = lambda_e2e::run("postgres-rotator", &harness, moto, &[]).await;
    assert!(
        report.log_lines > debug.log_lines,
        "TRACE {} lines, DEBUG {}",
        report.log_lines,
        debug.log_lines
    );
}

/// The built function carries Amazon RDS's authorities, whole: no RDS
/// server's certificate chains to a public root, and Lambda's images do
/// not have them.
#[test]
#[ignore = "function tier: cargo test --tests -- --include-ignored function:: (CONTRIBUTING.md)"]
fn the_built_function_holds_amazon_rds_roots() {
    let path = rotation_testing::lambda_function::bootstrap("postgres-rotator");
    let binary = std::fs::read(&path).expect("read the bootstrap");
    let roots = rotation_database::RDS_ROOTS_PEM.as_bytes();
    assert!(roots.len() > 100_000, "{} bytes of roots", roots.len());
    assert!(
        binary.windows(roots.len()).any(|window| window == roots),
        "{} lacks the RDS roots",
        path.display()
    );
}
