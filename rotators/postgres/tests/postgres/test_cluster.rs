//! The throwaway PostgreSQL cluster the database tests run against: it
//! starts on a free port, checks passwords with scram-sha-256, survives a
//! stop and start, and honours extra configuration.

use postgres_rotator_testing::PostgresServer;

#[tokio::test]
#[ignore = "services tier: cargo test --tests -- --include-ignored (CONTRIBUTING.md)"]
async fn a_test_cluster_checks_passwords_and_restarts() {
    let pg = PostgresServer::start_with(&["log_statement = 'all'"]);
    let admin = pg.superuser().await;
    admin
        .batch_execute("CREATE ROLE harness_user LOGIN PASSWORD 'harness-password-1'")
        .await
        .unwrap();
    assert!(pg.can_log_in("harness_user", "harness-password-1").await);
    assert!(!pg.can_log_in("harness_user", "wrong-password").await);
    let row = admin
        .query_one("SHOW password_encryption", &[])
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "scram-sha-256");

    pg.stop();
    assert!(!pg.can_log_in("harness_user", "harness-password-1").await);
    pg.start_again();
    assert!(pg.can_log_in("harness_user", "harness-password-1").await);

    let log = std::fs::read_to_string(pg.log_path()).unwrap();
    assert!(
        log.contains("statement: SELECT 1"),
        "log_statement = 'all' applies"
    );
}
