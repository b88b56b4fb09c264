//! One full rotation per rotator through its shipped x86_64 artifact (the
//! LTO build users deploy), where the services and function tiers run the
//! binaries cargo builds for the tests.

use api_key_rotator_testing::GeneratedHarness;
use mysql_rotator_testing::{MariaDbServer, MysqlRotatorHarness};
use postgres_rotator_testing::{PostgresRotatorHarness, PostgresServer};
use rotation_core::testkit::RotatorHarness;
use rotation_testing::function_checks::FunctionHarness;
use rotation_testing::lambda_e2e;
use rotation_testing::lambda_function::{bootstrap, LAMBDA_DIR, LAMBDA_DIR_VARIABLE};
use rotation_testing::moto::MotoServer;
use rotation_testing::workspace_root;

/// Runs the end-to-end suite on `bin`'s shipped artifact, after checking
/// the artifact is what runs.
async fn rotates_through_the_artifact<H: RotatorHarness>(
    bin: &str,
    harness: &H,
    moto: &MotoServer,
    env: &[(&'static str, String)],
) {
    let expected = workspace_root()
        .join(LAMBDA_DIR)
        .join(bin)
        .join("bootstrap");
    assert_eq!(
        bootstrap(bin),
        expected,
        "set {LAMBDA_DIR_VARIABLE}={LAMBDA_DIR} (scripts/release-check.sh does) so the shipped build runs"
    );
    let report = lambda_e2e::run(bin, harness, moto, env).await;
    println!("{bin} (shipped): {report:#?}");
    assert_eq!(report.rotations, 3);
    assert_eq!(report.errors.len(), 3);
}

#[tokio::test]
async fn the_shipped_postgres_rotator_rotates() {
    let moto = MotoServer::start();
    let server = PostgresServer::start();
    let harness = PostgresRotatorHarness::alternating_users(&server).await;
    rotates_through_the_artifact("postgres-rotator", &harness, &moto, &[]).await;
}

#[tokio::test]
async fn the_shipped_mysql_rotator_rotates() {
    let moto = MotoServer::start();
    let server = MariaDbServer::start();
    let harness = MysqlRotatorHarness::alternating_users(&server).await;
    rotates_through_the_artifact("mysql-rotator", &harness, &moto, &[]).await;
}

#[tokio::test]
async fn the_shipped_api_key_rotator_rotates() {
    let moto = MotoServer::start();
    let env = GeneratedHarness.function_env();
    rotates_through_the_artifact("api-key-rotator", &GeneratedHarness, &moto, &env).await;
}
