//! The conformance kit against a real PostgreSQL, through the AWS SDK
//! against moto, for both strategies.

use async_trait::async_trait;
use postgres_rotator::PostgresBackend;
use postgres_rotator_testing::PostgresRotatorHarness;
use postgres_rotator_testing::PostgresServer;
use rotation_core::testkit::conformance::{self, Kit, RotatorHarness};
use rotation_core::testkit::SecretAdmin;
use rotation_core::{SecretJson, SecretString};
use rotation_database::testkit::SwapsTheUsers;
use rotation_database::{ConnectSettings, DatabaseRotator};
use rotation_testing::moto::MotoServer;

#[tokio::test]
#[ignore = "services tier: cargo test --tests -- --include-ignored (CONTRIBUTING.md)"]
async fn single_user_passes_the_conformance_kit() {
    let moto = MotoServer::shared();
    let server = PostgresServer::shared();
    let harness = PostgresRotatorHarness::single_user(server).await;
    let report = moto.run_conformance_kit(&harness).await;
    println!("single user: {report:#?}");
    conformance::assert_covered(&report, &[]);
    let calls: usize = report.calls_per_step.iter().map(|(_, ops)| ops.len()).sum();
    assert_eq!(calls, 12, "Secrets Manager calls per single-user rotation");
    assert_eq!(report.fault_points.len(), 24);
}

#[tokio::test]
#[ignore = "services tier: cargo test --tests -- --include-ignored (CONTRIBUTING.md)"]
async fn alternating_users_passes_the_conformance_kit() {
    let moto = MotoServer::shared();
    let server = PostgresServer::shared();
    let harness = PostgresRotatorHarness::alternating_users(server).await;
    let report = moto.run_conformance_kit(&harness).await;
    println!("alternating users: {report:#?}");
    conformance::assert_covered(&report, &["fault_during_recovery_through_previous"]);
    let calls: usize = report.calls_per_step.iter().map(|(_, ops)| ops.len()).sum();
    // setSecret also reads the master secret.
    assert_eq!(
        calls, 13,
        "Secrets Manager calls per alternating-users rotation"
    );
    assert_eq!(report.fault_points.len(), 26);
}

struct SwapsTheUsersHarness<'a>(PostgresRotatorHarness<'a>);

#[async_trait]
impl RotatorHarness for SwapsTheUsersHarness<'_> {
    type Rotator = DatabaseRotator<SwapsTheUsers<PostgresBackend>>;

    fn rotator(&self) -> Self::Rotator {
        let backend = PostgresBackend::new(ConnectSettings::default()).unwrap();
        DatabaseRotator::new(SwapsTheUsers(backend), None)
    }
    async fn fresh_secret(&self, store: &dyn SecretAdmin) -> SecretJson {
        self.0.fresh_secret(store).await
    }
    async fn can_log_in(&self, secret: &SecretJson) -> bool {
        self.0.can_log_in(secret).await
    }
    fn other_secret_values(&self) -> Vec<SecretString> {
        self.0.other_secret_values()
    }
}

#[tokio::test]
#[ignore = "services tier: cargo test --tests -- --include-ignored (CONTRIBUTING.md)"]
async fn the_kit_fails_an_alternating_rotator_that_changes_the_current_user() {
    // The kit's first case is enough; it must panic. The servers live in
    // the task, so unwinding stops them.
    let run = tokio::spawn(async move {
        let moto = MotoServer::shared();
        let server = PostgresServer::shared();
        let harness = SwapsTheUsersHarness(PostgresRotatorHarness::alternating_users(server).await);
        let kit = Kit::new(&harness, moto.admin_store());
        kit.full_rotation().await;
    });
    let error = run.await.expect_err("the kit passed a broken rotator");
    let payload = error.into_panic();
    let message = payload
        .downcast_ref::<String>()
        .cloned()
        .unwrap_or_default();
    assert!(
        message.contains("logs in") || message.contains("testSecret"),
        "{message}"
    );
}
