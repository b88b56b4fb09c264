//! `api-key-rotator`'s Lambda binary, run as Lambda runs it, for each
//! provider: moto as Secrets Manager, and as IAM and STS for access keys;
//! a key service on a free port for keys over HTTP.

use api_key_rotator::iam::PreviousKey;
use rotation_testing::lambda_e2e;
use rotation_testing::moto::MotoServer;

use std::time::{Duration, Instant};

use rotation_core::engine::DEADLINE_MARGIN;
use rotation_core::event::Step;
use rotation_core::testkit::RotatorHarness;
use rotation_testing::function_checks::FunctionHarness;
use rotation_testing::lambda_e2e::{rotation_event, start_function, start_rotation_of};
use rotation_testing::runtime_api::Outcome;

use api_key_rotator_testing::{GeneratedHarness, HttpHarness, IamHarness};

#[tokio::test]
#[ignore = "function tier: cargo test --tests -- --include-ignored function:: (CONTRIBUTING.md)"]
async fn iam_access_keys_rotate_through_the_runtime_api() {
    let moto = MotoServer::shared();
    let harness = IamHarness::new(moto, PreviousKey::KeptUntilNextRotation);
    let env = harness.function_env();
    let report = lambda_e2e::run("api-key-rotator", &harness, moto, &env).await;
    println!("api-key-rotator (IAM): {report:#?}");
    assert_eq!(report.rotations, 3);
    assert_eq!(report.errors.len(), 3);
}

#[tokio::test]
#[ignore = "function tier: cargo test --tests -- --include-ignored function:: (CONTRIBUTING.md)"]
async fn generated_keys_rotate_through_the_runtime_api() {
    let moto = MotoServer::shared();
    let env = GeneratedHarness.function_env();
    let report = lambda_e2e::run("api-key-rotator", &GeneratedHarness, moto, &env).await;
    println!("api-key-rotator (generated): {report:#?}");
    assert_eq!(report.rotations, 3);
    assert_eq!(report.errors.len(), 3);
}

/// At TRACE, the most verbose level an operator can set, the output holds
/// no key either, for each provider: IAM's secret access keys (and the
/// SDK's signed requests to IAM and STS), keys over HTTP (and the admin's
/// key), generated keys.
#[tokio::test]
#[ignore = "function tier: cargo test --tests -- --include-ignored function:: (CONTRIBUTING.md)"]
async fn every_provider_leaks_nothing_at_trace() {
    let moto = MotoServer::shared();
    let iam = IamHarness::new(moto, PreviousKey::KeptUntilNextRotation);
    quiet_at_trace("IAM", &iam, moto).await;
    quiet_at_trace("HTTP", &HttpHarness::admin(true).await, moto).await;
    quiet_at_trace("generated", &GeneratedHarness, moto).await;
}

/// The end-to-end suite at TRACE (it checks the output holds no value of
/// any secret it made, nor the harness's other secrets), and proof TRACE
/// was in force: more lines than the same run at the default level.
async fn quiet_at_trace<H: RotatorHarness + FunctionHarness>(
    provider: &str,
    harness: &H,
    moto: &MotoServer,
) {
    let env = harness.function_env();
    let mut trace = env.clone();
    trace.push(("AWS_LAMBDA_LOG_LEVEL", "TRACE".to_owned()));
    let report = lambda_e2e::run("api-key-rotator", harness, moto, &trace).await;
    assert_eq!(report.rotations, 3, "{provider}");
    let default = lambda_e2e::run("api-key-rotator", harness, moto, &env).await;
    assert!(
        report.log_lines > default.log_lines,
        "{provider}: TRACE {} lines, default {}",
        report.log_lines,
        default.log_lines
    );
}

/// createSecret of a fresh secret from `harness`, with the function's
/// `env`, fails with `DeadlineExceeded` before Lambda would kill it, and
/// changes nothing in the store.
async fn create_secret_hits_the_deadline<H: RotatorHarness>(
    harness: &H,
    moto: &MotoServer,
    env: &[(&'static str, String)],
) {
    let (api, mut process, _) = start_function("api-key-rotator", &moto.endpoint(), env).await;
    let store = moto.admin_store();
    let secret = harness.fresh_secret(store.as_ref()).await;
    let started = start_rotation_of(store.as_ref(), "silent", &secret).await;
    let before = store.snapshot(&started.arn).await.unwrap();

    let budget = Duration::from_secs(4);
    let clock = Instant::now();
    let event = rotation_event(Step::CreateSecret, &started.arn, &started.token);
    let outcome = api.invoke(&event, budget).await;
    let took = clock.elapsed();
    match outcome {
        Some(Outcome::Error {
            error_type,
            message,
        }) => {
            assert_eq!(error_type, "DeadlineExceeded", "{message}")
        }
        other => panic!("expected DeadlineExceeded, got {other:?}"),
    }
    assert!(
        took < budget && took >= budget - DEADLINE_MARGIN - Duration::from_millis(500),
        "answered after {took:?}"
    );
    assert_eq!(
        before,
        store.snapshot(&started.arn).await.unwrap(),
        "nothing changed"
    );
    assert!(process.is_running());
}

/// IAM accepts the connection and never answers.
#[tokio::test]
#[ignore = "function tier: cargo test --tests -- --include-ignored function:: (CONTRIBUTING.md)"]
async fn a_silent_iam_endpoint_fails_create_secret_before_the_deadline() {
    let moto = MotoServer::shared();
    let harness = IamHarness::new(moto, PreviousKey::KeptUntilNextRotation);
    let silent = format!("http://127.0.0.1:{}", rotation_testing::silent_port());
    let mut env = harness.function_env();
    env.retain(|(name, _)| *name != "AWS_ENDPOINT_URL_IAM");
    env.push(("AWS_ENDPOINT_URL_IAM", silent));
    create_secret_hits_the_deadline(&harness, moto, &env).await;
}

/// The key provider accepts the connection and never answers, and its
/// timeout is longer than the invocation: only the deadline stops it.
#[tokio::test]
#[ignore = "function tier: cargo test --tests -- --include-ignored function:: (CONTRIBUTING.md)"]
async fn a_silent_key_provider_fails_create_secret_before_the_deadline() {
    let moto = MotoServer::shared();
    let mut harness = HttpHarness::admin(true).await;
    let silent = format!("http://127.0.0.1:{}/v1", rotation_testing::silent_port());
    harness.extra_settings = vec![
        ("HTTP_BASE_URL", silent),
        ("HTTP_TIMEOUT_SECONDS", "30".to_owned()),
    ];
    let env = harness.function_env();
    create_secret_hits_the_deadline(&harness, moto, &env).await;
}

#[tokio::test]
#[ignore = "function tier: cargo test --tests -- --include-ignored function:: (CONTRIBUTING.md)"]
async fn http_keys_rotate_through_the_runtime_api() {
    let moto = MotoServer::shared();
    for harness in [
        HttpHarness::admin(false).await,
        HttpHarness::self_rotating().await,
    ] {
        let env = harness.function_env();
        let report = lambda_e2e::run("api-key-rotator", &harness, moto, &env).await;
        println!("api-key-rotator (HTTP): {report:#?}");
        assert_eq!(report.rotations, 3);
        assert_eq!(report.errors.len(), 3);
    }
}
