//! `postgres-rotator`'s release bootstrap, run as Lambda runs it, rotating
//! real secrets in moto against a real PostgreSQL, with both strategies.

use rotation_tests::lambda_e2e;
use rotation_tests::moto::MotoServer;
use rotation_tests::postgres::PostgresServer;
use rotation_tests::postgres_rotator::PostgresRotatorHarness;

#[tokio::test]
async fn postgres_rotator_serves_rotations_through_the_runtime_api() {
    let moto = MotoServer::start();
    let server = PostgresServer::start();
    for harness in [
        PostgresRotatorHarness::single_user(&server).await,
        PostgresRotatorHarness::alternating_users(&server).await,
    ] {
        let report = lambda_e2e::run("postgres-rotator", &harness, &moto, &[]).await;
        println!("postgres-rotator: {report:#?}");
        assert_eq!(report.rotations, 3);
        assert_eq!(report.errors.len(), 3);
    }
}
