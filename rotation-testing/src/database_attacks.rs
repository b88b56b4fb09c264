//! The alternating-users attacks through a database rotator's built
//! function, as Lambda runs it: each must be a `RotatorError` response
//! naming why, change nothing, and leave the process serving with clean
//! output. The cases every engine shares come from [`shared_cases`]; an
//! engine adds the attacks on its own SQL.

use rotation_core::event::Step;
use rotation_core::testkit::{new_token, SecretAdmin};
use rotation_core::SecretJson;
pub use rotation_database::rds::RdsApi;
pub use rotation_database::testkit::attacks;
use rotation_database::testkit::attacks::{lure, rds_managed, AlternatingServer, AttackedServer};
pub use rotation_database::testkit::attacks::{secret_naming, LURE_PASSWORD};

use crate::lambda_e2e::{
    assert_clean_output, invoke_steps, rotation_event, start_function, INVOCATION_BUDGET,
};
use crate::moto::MotoServer;
use crate::runtime_api::Outcome;

/// One attack: a rotated secret, and what the refusal must say.
pub struct AttackCase {
    /// What the attacker tries.
    pub what: String,
    /// The secret the attacker stores.
    pub secret: SecretJson,
    /// A part of the refusal's message.
    pub expected: &'static str,
}

/// The masters the function may use, and the attacks every engine shares:
/// an RDS-managed master and a master with an address, each with the
/// attacker's host, and a master outside `MASTER_SECRET_ARNS`.
pub async fn shared_cases(
    store: &dyn SecretAdmin,
    server: &impl AlternatingServer,
    attackers: &impl AttackedServer,
) -> (Vec<String>, Vec<AttackCase>) {
    let master_arn = server.master_secret(store).await;
    let rds_master = store
        .create_json("rds-master", &rds_managed(server))
        .await
        .expect("store the RDS-managed master secret");
    let unlisted_master = server.master_secret(store).await;
    let mut outside = server.new_user(store, "outside").await;
    outside.set("masterarn", unlisted_master.as_str());
    let cases = vec![
        AttackCase {
            what: "RDS-managed master, attacker's host".into(),
            secret: lure(attackers, &rds_master).await,
            expected: "no `host`",
        },
        AttackCase {
            what: "master with an address, attacker's host".into(),
            secret: secret_naming(attackers, "lure", LURE_PASSWORD, &master_arn),
            expected: "not shown to be one database",
        },
        AttackCase {
            what: "a master outside the allow-list".into(),
            secret: outside,
            expected: "MASTER_SECRET_ARNS",
        },
    ];
    (vec![master_arn, rds_master], cases)
}

/// Starts `binary` with `MASTER_SECRET_ARNS` set to `allowed` and runs
/// createSecret then setSecret for each case: a `RotatorError` naming
/// `expected`, the secret unchanged, the process still serving. Then no
/// login as the master reached the attacker's server, the master still
/// logs in, and the function's output holds no secret value.
pub async fn refused_by_the_function(
    binary: &str,
    moto: &MotoServer,
    server: &impl AlternatingServer,
    attackers: &impl AttackedServer,
    allowed: &[String],
    cases: Vec<AttackCase>,
) {
    let store = moto.admin_store();
    let (api, mut process, _) = start_function(
        binary,
        &moto.endpoint(),
        &[("MASTER_SECRET_ARNS", allowed.join(","))],
    )
    .await;
    let mut arns = Vec::new();
    for AttackCase {
        what,
        secret,
        expected,
    } in cases
    {
        let arn = store.create_json("e2e-attack", &secret).await.unwrap();
        arns.push(arn.clone());
        let token = new_token();
        store.start_rotation(&arn, &token).await.unwrap();
        invoke_steps(&api, &arn, &token, &[Step::CreateSecret]).await;
        let before = store.snapshot(&arn).await.unwrap();
        let event = rotation_event(Step::SetSecret, &arn, &token);
        match api.invoke(&event, INVOCATION_BUDGET).await {
            Some(Outcome::Error {
                error_type,
                message,
            }) => {
                assert_eq!(error_type, "RotatorError", "{what}: {message}");
                assert!(message.contains(expected), "{what}: {message}");
            }
            other => panic!("{what}: expected a RotatorError, got {other:?}"),
        }
        let after = store.snapshot(&arn).await.unwrap();
        assert_eq!(before, after, "{what}: nothing changed");
        assert!(process.is_running(), "{what}: the function serves on");
    }
    let traces = attackers.login_traces(server.master_user());
    assert!(
        traces.is_empty(),
        "the master reached the attacker: {traces:?}"
    );
    rotation_database::testkit::attacks::master_still_logs_in(server).await;
    // The positive control: an attempt as the master, accepted or not,
    // shows in the attacker's log, so the empty trace above means none.
    let _ = attackers
        .can_log_in(server.master_user(), &server.master_password())
        .await;
    assert!(
        !attackers.login_traces(server.master_user()).is_empty(),
        "a login attempt as the master leaves no trace in the attacker's log"
    );
    let others = [server.master_password()];
    assert_clean_output(binary, &process, store.as_ref(), &arns, &others).await;
}

/// A deployment that names no master secrets (the template's empty
/// `MasterSecretArn`, Terraform without `master_secret_arn`): the built
/// function, started without `MASTER_SECRET_ARNS`, refuses an
/// alternating-users secret naming the harness's own, working master
/// before the master logs in anywhere, and changes nothing.
pub async fn refused_without_an_allow_list(
    binary: &str,
    moto: &MotoServer,
    server: &impl AlternatingServer,
) {
    let store = moto.admin_store();
    let mut secret = server.new_user(store.as_ref(), "unlisted").await;
    secret.set("masterarn", server.master_secret(store.as_ref()).await);
    let cases = vec![AttackCase {
        what: "an alternating-users secret, and no MASTER_SECRET_ARNS".into(),
        secret,
        expected: "MASTER_SECRET_ARNS is not set",
    }];
    refused_by_the_function(binary, moto, server, server, &[], cases).await;
}

/// The shared attacks of [`attacks`] as an engine's tests, one test each,
/// for a harness type with `alternating_users(&server)` and
/// `single_user(&server)` over servers `$server` starts (with their login
/// logs on):
///
/// ```text
/// rotation_testing::database_attack_tests!(PostgresServer::start_with(LOGGED), PostgresRotatorHarness);
/// ```
#[macro_export]
macro_rules! database_attack_tests {
    ($server:expr, $harness:ident) => {
        #[tokio::test]
        #[ignore = "services tier: cargo test --tests -- --include-ignored (CONTRIBUTING.md)"]
        async fn an_rds_managed_master_is_never_sent_where_the_rotated_secret_points() {
            let moto = $crate::moto::MotoServer::shared();
            let (server, attackers) = ($server, $server);
            let harness = $harness::alternating_users(&server).await;
            let attacker = $harness::single_user(&attackers).await;
            let rds = std::sync::Arc::new($crate::database_attacks::RdsApi::from_client(
                moto.rds_client(&moto.endpoint()),
            ));
            $crate::database_attacks::attacks::an_rds_managed_master_is_never_sent_where_the_rotated_secret_points(
                moto.admin_store(),
                rds,
                &harness,
                &attacker,
            )
            .await;
        }

        #[tokio::test]
        #[ignore = "services tier: cargo test --tests -- --include-ignored (CONTRIBUTING.md)"]
        async fn a_master_with_an_address_logs_in_only_there() {
            let moto = $crate::moto::MotoServer::shared();
            let (server, attackers) = ($server, $server);
            let harness = $harness::alternating_users(&server).await;
            let attacker = $harness::single_user(&attackers).await;
            $crate::database_attacks::attacks::a_master_with_an_address_logs_in_only_there(
                moto.admin_store(),
                &harness,
                &attacker,
            )
            .await;
        }

        #[tokio::test]
        #[ignore = "services tier: cargo test --tests -- --include-ignored (CONTRIBUTING.md)"]
        async fn a_rotated_secret_is_never_a_master() {
            let moto = $crate::moto::MotoServer::shared();
            let server = $server;
            let harness = $harness::alternating_users(&server).await;
            $crate::database_attacks::attacks::a_rotated_secret_is_never_a_master(
                moto.admin_store(),
                &harness,
            )
            .await;
        }

        #[tokio::test]
        #[ignore = "services tier: cargo test --tests -- --include-ignored (CONTRIBUTING.md)"]
        async fn a_master_outside_the_allow_list_is_refused() {
            let moto = $crate::moto::MotoServer::shared();
            let server = $server;
            let harness = $harness::alternating_users(&server).await;
            let rds = std::sync::Arc::new($crate::database_attacks::RdsApi::from_env());
            $crate::database_attacks::attacks::a_master_outside_the_allow_list_is_refused(
                moto.admin_store(),
                rds,
                &harness,
            )
            .await;
        }
    };
}
