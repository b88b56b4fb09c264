//! The conformance kit against a real PostgreSQL, through the AWS SDK
//! against moto, for both strategies.

use async_trait::async_trait;
use postgres_rotator::{PostgresBackend, Session};
use postgres_rotator_testing::PostgresRotatorHarness;
use postgres_rotator_testing::PostgresServer;
use rotation_core::error::BoxError;
use rotation_core::testkit::conformance::{self, Kit, RotatorHarness};
use rotation_core::testkit::SecretAdmin;
use rotation_core::{SecretJson, SecretString};
use rotation_database::{
    alternate_name, ConnectSettings, DatabaseBackend, DatabaseRotator, DatabaseSecret, EngineSpec,
    LoginError, UserStanding,
};
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

/// An engine that, in alternating users, changes the current user's
/// password instead of the pending one's: the kit must fail it.
struct SwapsTheUsers(PostgresBackend);

#[async_trait]
impl DatabaseBackend for SwapsTheUsers {
    type Connection = Session;
    const SPEC: EngineSpec = PostgresBackend::SPEC;

    async fn connect(&self, login: &DatabaseSecret) -> Result<Session, LoginError> {
        self.0.connect(login).await
    }
    async fn connect_admin(&self, login: &DatabaseSecret) -> Result<Session, LoginError> {
        self.0.connect_admin(login).await
    }
    async fn check(&self, session: &mut Session) -> Result<(), BoxError> {
        self.0.check(session).await
    }
    async fn set_password(
        &self,
        admin: &mut Session,
        username: &str,
        password: &SecretString,
    ) -> Result<(), BoxError> {
        self.0
            .set_password(admin, &alternate_name(username), password)
            .await
    }
    async fn match_clone(
        &self,
        admin: &mut Session,
        original: &str,
        clone: &str,
    ) -> Result<(), BoxError> {
        self.0.match_clone(admin, original, clone).await
    }
    async fn user_standing(
        &self,
        admin: &mut Session,
        username: &str,
    ) -> Result<UserStanding, BoxError> {
        self.0.user_standing(admin, username).await
    }
    async fn is_clone_of(
        &self,
        admin: &mut Session,
        original: &str,
        clone: &str,
    ) -> Result<bool, BoxError> {
        self.0.is_clone_of(admin, original, clone).await
    }
}

struct SwapsTheUsersHarness<'a>(PostgresRotatorHarness<'a>);

#[async_trait]
impl RotatorHarness for SwapsTheUsersHarness<'_> {
    type Rotator = DatabaseRotator<SwapsTheUsers>;

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
