//! Every step is bounded by the invocation's deadline: against a database
//! that never answers and a Secrets Manager that answers too late, the
//! function fails the step with `DeadlineExceeded` before Lambda would
//! kill it, changes nothing, and serves the next invocation.

use std::time::{Duration, Instant};

use rotation_core::testkit::engine::DEADLINE_MARGIN;
use rotation_core::testkit::{new_token, RotatorHarness};
use rotation_core::Step;
use rotation_tests::fault_proxy::{Fault, FaultPlan, FaultProxy};
use rotation_tests::lambda_e2e::{
    assert_clean_output, invoke_steps, rotation_event, start_function,
};
use rotation_tests::moto::MotoServer;
use rotation_tests::postgres::PostgresServer;
use rotation_tests::postgres_rotator::PostgresRotatorHarness;
use rotation_tests::runtime_api::Outcome;

/// The function timeout these invocations get: short, so the deadline, not
/// a connect timeout, is what stops them.
const BUDGET: Duration = Duration::from_secs(4);

fn assert_deadline_exceeded(outcome: Option<Outcome>, took: Duration, what: &str) {
    match outcome {
        Some(Outcome::Error {
            error_type,
            message,
        }) => {
            assert_eq!(error_type, "DeadlineExceeded", "{what}: {message}");
        }
        other => panic!("{what}: expected DeadlineExceeded, got {other:?}"),
    }
    // It stops at the deadline minus the margin, not at the deadline.
    assert!(
        took < BUDGET && took >= BUDGET - DEADLINE_MARGIN - Duration::from_millis(500),
        "{what}: answered after {took:?}"
    );
}

#[tokio::test]
async fn a_database_that_never_answers_fails_the_step_before_the_deadline() {
    let moto = MotoServer::start();
    let server = PostgresServer::start();
    let harness = PostgresRotatorHarness::single_user(&server).await;
    let silent_port = rotation_tests::silent_port();
    // A connect timeout longer than the budget: only the deadline can stop
    // the login.
    let env = [("DB_CONNECT_TIMEOUT", "30".to_owned())];
    let (api, mut process, _) = start_function("postgres-rotator", &moto.endpoint(), &env).await;
    let store = moto.admin_store();
    let mut secret = harness.fresh_secret(store.as_ref()).await;
    secret.set("port", silent_port);
    let arn = store.create_json("deadline-db", &secret).await.unwrap();
    let token = new_token();
    store.start_rotation(&arn, &token).await.unwrap();
    invoke_steps(&api, &arn, &token, &[Step::CreateSecret]).await;
    let before = store.snapshot(&arn).await.unwrap();

    let started = Instant::now();
    let outcome = api
        .invoke(&rotation_event(Step::SetSecret, &arn, &token), BUDGET)
        .await;
    assert_deadline_exceeded(outcome, started.elapsed(), "setSecret, silent database");
    assert_eq!(
        before,
        store.snapshot(&arn).await.unwrap(),
        "nothing changed"
    );
    assert!(process.is_running());

    // The next invocation is served as usual.
    invoke_steps(&api, &arn, &token, &[Step::CreateSecret]).await;
    assert_clean_output("postgres-rotator", &process, store.as_ref(), &[arn], &[]).await;
}

#[tokio::test]
async fn a_slow_secrets_manager_fails_the_step_before_the_deadline() {
    let moto = MotoServer::start();
    let server = PostgresServer::start();
    let harness = PostgresRotatorHarness::single_user(&server).await;
    let slow = FaultProxy::start(moto.port()).await;
    slow.set_plan(FaultPlan::Always(Fault::Slow(Duration::from_secs(30))));
    let (api, mut process, _) = start_function("postgres-rotator", &slow.endpoint(), &[]).await;
    let store = moto.admin_store();
    let secret = harness.fresh_secret(store.as_ref()).await;
    let arn = store.create_json("deadline-sm", &secret).await.unwrap();
    let token = new_token();
    store.start_rotation(&arn, &token).await.unwrap();
    let before = store.snapshot(&arn).await.unwrap();

    let started = Instant::now();
    let outcome = api
        .invoke(&rotation_event(Step::CreateSecret, &arn, &token), BUDGET)
        .await;
    assert_deadline_exceeded(outcome, started.elapsed(), "createSecret, slow endpoint");
    assert_eq!(
        before,
        store.snapshot(&arn).await.unwrap(),
        "nothing changed"
    );
    assert!(process.is_running());
}
