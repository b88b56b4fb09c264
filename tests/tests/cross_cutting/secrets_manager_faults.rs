//! Secrets Manager failing the way it does on a bad day, between the built
//! function and moto (a fault-injecting proxy): throttling, 500, 503, reset
//! connections and slow answers. With one failure per call, the SDK's
//! retries absorb it and the rotation completes; with every call failing,
//! the step fails cleanly, nothing is lost, and a re-run completes.

use std::time::Duration;

use rotation_core::testkit::{new_token, RotatorHarness, SecretAdmin};
use rotation_core::Step;
use rotation_tests::fault_proxy::{Fault, FaultPlan, FaultProxy};
use rotation_tests::lambda_e2e::{
    assert_clean_output, assert_rotated, current_version, invoke_steps, rotation_event,
    start_function, INVOCATION_BUDGET,
};
use rotation_tests::moto::MotoServer;
use rotation_tests::postgres::PostgresServer;
use rotation_tests::postgres_rotator::PostgresRotatorHarness;
use rotation_tests::runtime_api::Outcome;

async fn new_secret(
    harness: &PostgresRotatorHarness<'_>,
    store: &dyn SecretAdmin,
) -> (String, String) {
    let secret = harness.fresh_secret(store).await;
    let arn = store.create_json("faults", &secret).await.unwrap();
    let old = current_version(store, &arn).await;
    (arn, old)
}

#[tokio::test]
async fn one_failure_per_call_is_absorbed_by_retries() {
    let moto = MotoServer::start();
    let server = PostgresServer::start();
    let harness = PostgresRotatorHarness::single_user(&server).await;
    let proxy = FaultProxy::start(moto.port()).await;
    let (api, mut process, _) = start_function("postgres-rotator", &proxy.endpoint(), &[]).await;
    let store = moto.admin_store();
    let mut arns = Vec::new();
    for fault in [
        Fault::Throttle,
        Fault::InternalError,
        Fault::Unavailable,
        Fault::Reset,
        Fault::Slow(Duration::from_millis(300)),
    ] {
        let (arn, old) = new_secret(&harness, store.as_ref()).await;
        arns.push(arn.clone());
        let token = new_token();
        store.start_rotation(&arn, &token).await.unwrap();
        proxy.set_plan(FaultPlan::FirstAttempts(fault));
        println!("{fault:?} on the first attempt of every call");
        invoke_steps(&api, &arn, &token, &Step::ALL).await;
        let calls = proxy.requests();
        proxy.set_plan(FaultPlan::Pass);
        assert_rotated(&harness, store.as_ref(), &arn, &token, &old).await;
        // Eleven calls: each failure retried once; a slow answer is no
        // failure, so half the calls were slow and none retried.
        let expected = if matches!(fault, Fault::Slow(_)) {
            11
        } else {
            22
        };
        assert_eq!(calls, expected, "{fault:?}: requests through the proxy");
        println!("{fault:?}: 11 calls, {calls} requests");
    }
    // 11 per failing kind, 6 slow answers (every other of 11 requests).
    assert_eq!(proxy.injected().len(), 4 * 11 + 6);
    assert!(process.is_running());
    assert_clean_output("postgres-rotator", &process, store.as_ref(), &arns, &[]).await;
}

#[tokio::test]
async fn a_call_that_keeps_failing_fails_the_step_cleanly_and_a_rerun_completes() {
    let moto = MotoServer::start();
    let server = PostgresServer::start();
    let harness = PostgresRotatorHarness::single_user(&server).await;
    let proxy = FaultProxy::start(moto.port()).await;
    let (api, mut process, _) = start_function("postgres-rotator", &proxy.endpoint(), &[]).await;
    let store = moto.admin_store();
    let mut arns = Vec::new();
    for (fault, failing_step) in [
        (Fault::Unavailable, Step::CreateSecret),
        (Fault::Throttle, Step::SetSecret),
        (Fault::Reset, Step::TestSecret),
        (Fault::InternalError, Step::FinishSecret),
    ] {
        let (arn, old) = new_secret(&harness, store.as_ref()).await;
        let token = new_token();
        store.start_rotation(&arn, &token).await.unwrap();
        let before_index = Step::ALL.iter().position(|s| *s == failing_step).unwrap();
        invoke_steps(&api, &arn, &token, &Step::ALL[..before_index]).await;
        let before = store.snapshot(&arn).await.unwrap();
        proxy.set_plan(FaultPlan::Always(fault));
        let failed = api
            .invoke(
                &rotation_event(failing_step, &arn, &token),
                INVOCATION_BUDGET,
            )
            .await;
        match failed {
            Some(Outcome::Error {
                error_type,
                message,
            }) => {
                assert_eq!(error_type, "SecretsManagerError", "{fault:?}: {message}");
            }
            other => panic!("{fault:?} in {failing_step}: expected an error, got {other:?}"),
        }
        // Three attempts, then the step gave up.
        assert_eq!(proxy.requests(), 3, "{fault:?}: attempts");
        proxy.set_plan(FaultPlan::Pass);
        assert_eq!(
            before,
            store.snapshot(&arn).await.unwrap(),
            "{fault:?}: nothing changed"
        );
        // Secrets Manager retries the rotation from createSecret.
        println!("{fault:?} in {failing_step}, then a re-run");
        invoke_steps(&api, &arn, &token, &Step::ALL).await;
        assert_rotated(&harness, store.as_ref(), &arn, &token, &old).await;
        arns.push(arn);
    }
    assert!(process.is_running());
    assert_clean_output("postgres-rotator", &process, store.as_ref(), &arns, &[]).await;
}
