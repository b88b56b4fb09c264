//! The end-to-end suite every rotator binary runs: its `bootstrap` (the one
//! cargo built for the test run, or the shipped one in the release tier),
//! started as Lambda starts it, serves full rotations of real secrets in
//! moto against the rotator's real backend, through a [`RuntimeApi`], with
//! the events Secrets Manager sends.

use std::sync::Arc;
use std::time::Duration;

use rotation_core::secret::SecretPayload;
use rotation_core::store::VersionSelector;
use rotation_core::testkit::admin::secret_strings;
use rotation_core::testkit::{
    assert_no_secret_in, new_token, unique_name, RotatorHarness, SecretAdmin,
};
use rotation_core::{
    event::Step, store::AWSCURRENT, store::AWSPREVIOUS, Rotator, SecretJson, SecretString,
};
use serde_json::{json, Value};

use crate::lambda_function::{bootstrap, FunctionProcess};
use crate::moto::MotoServer;
use crate::runtime_api::{Outcome, RuntimeApi};

/// The function timeout the tests give each invocation, as Lambda's
/// deadline header.
pub const INVOCATION_BUDGET: Duration = Duration::from_secs(30);

/// What a run of the suite did.
#[derive(Debug, Default)]
pub struct SuiteReport {
    /// Time from spawning the process to its first `next` request.
    pub ready_after: Duration,
    /// Full rotations completed through the function.
    pub rotations: usize,
    /// Invocations answered with an error, as expected.
    pub errors: Vec<String>,
    /// Lines the function wrote to stdout.
    pub log_lines: usize,
}

/// The event Secrets Manager sends for `step`.
pub fn rotation_event(step: Step, secret_id: &str, token: &str) -> Value {
    json!({
        "Step": step.as_str(),
        "SecretId": secret_id,
        "ClientRequestToken": token,
        "RotationToken": "e2e-rotation-token",
    })
}

/// Starts `bin`'s bootstrap as Lambda does, with `env`, Secrets Manager at
/// `endpoint`, and JSON logs at DEBUG; waits until it asks for its first
/// invocation, and returns how long that took.
pub async fn start_function(
    bin: &str,
    endpoint: &str,
    env_overrides: &[(&str, String)],
) -> (RuntimeApi, FunctionProcess, Duration) {
    let api = RuntimeApi::start().await;
    // The caller's variables come last, so they win (e.g. a TRACE level).
    let mut env = vec![
        ("SECRETS_MANAGER_ENDPOINT", endpoint.to_owned()),
        ("AWS_LAMBDA_LOG_FORMAT", "JSON".into()),
        ("AWS_LAMBDA_LOG_LEVEL", "DEBUG".into()),
    ];
    env.extend_from_slice(env_overrides);
    let process = FunctionProcess::start(&bootstrap(bin), &api, &env);
    let Some(ready) = api.wait_until_ready(Duration::from_secs(10)).await else {
        panic!(
            "{bin} never asked for an invocation; init error: {:?}; stderr: {}; stdout: {}",
            api.init_error(),
            process.stderr(),
            process.stdout()
        );
    };
    let ready_after = ready.duration_since(process.started());
    (api, process, ready_after)
}

/// Starts `bin`'s bootstrap with `env` (plus the Secrets Manager endpoint
/// and JSON logs at DEBUG) and checks, through the Runtime API:
/// - two full rotations of fresh secrets from `harness`, each step answered
///   with a `null` response, labels moved, the new credential accepted by
///   the backend;
/// - a step for a token that is no version of the secret, an event with an
///   unknown step, and createSecret for a secret the rotator refuses, each
///   answered with a Lambda error of the right type, not a crash or a hang,
///   after which the same process still serves a full rotation;
/// - stdout is one JSON object per line, and neither stdout nor stderr
///   holds any secret value of the run.
pub async fn run<H: RotatorHarness>(
    bin: &str,
    harness: &H,
    moto: &MotoServer,
    env: &[(&str, String)],
) -> SuiteReport {
    let store = moto.admin_store();
    // The secrets come first: alternating users needs its masters in the
    // function's MASTER_SECRET_ARNS, as a deployment names them.
    let mut fresh = Vec::new();
    for _ in 0..3 {
        fresh.push(harness.fresh_secret(store.as_ref()).await);
    }
    let env = with_masters_allowed(env, &fresh);
    let (api, mut process, ready_after) = start_function(bin, &moto.endpoint(), &env).await;
    let mut report = SuiteReport {
        ready_after,
        ..SuiteReport::default()
    };
    let mut fresh = fresh.into_iter();
    let mut arns = Vec::new();

    for secret in fresh.by_ref().take(2) {
        arns.push(rotate_once(bin, harness, &api, &store, secret).await);
        report.rotations += 1;
    }

    // Failures come back as Lambda errors, and the process lives on.
    let unknown = api
        .invoke(
            &rotation_event(Step::SetSecret, &arns[0], &new_token()),
            INVOCATION_BUDGET,
        )
        .await;
    let bad_event = api
        .invoke(
            &json!({"Step": "dance", "SecretId": arns[0], "ClientRequestToken": "x"}),
            INVOCATION_BUDGET,
        )
        .await;
    let malformed = malformed_secret_rotation(bin, harness, &api, &store, &mut arns).await;
    for (outcome, expected) in [
        (unknown, "UnknownVersion"),
        (bad_event, "InvalidEvent"),
        (malformed, "InvalidSecret"),
    ] {
        match outcome {
            Some(Outcome::Error {
                error_type,
                message,
            }) => {
                assert_eq!(error_type, expected, "{bin}: {message}");
                report.errors.push(format!("{error_type}: {message}"));
            }
            other => panic!("{bin}: expected a {expected} error, got {other:?}"),
        }
    }
    assert!(process.is_running(), "{bin} died after an error response");
    let last = fresh.next().expect("a third secret");
    arns.push(rotate_once(bin, harness, &api, &store, last).await);
    report.rotations += 1;
    assert!(process.is_running(), "{bin} is still serving");

    report.log_lines = assert_clean_output(
        bin,
        &process,
        store.as_ref(),
        &arns,
        &harness.other_secret_values(),
    )
    .await;
    report
}

/// The function's output is clean: every stdout line is a JSON object
/// (the functions here log with `AWS_LAMBDA_LOG_FORMAT=JSON`), and neither
/// stdout nor stderr holds a value of the secrets `arns` or any of
/// `others`. Returns the number of log lines.
pub async fn assert_clean_output(
    bin: &str,
    process: &FunctionProcess,
    store: &dyn SecretAdmin,
    arns: &[String],
    others: &[SecretString],
) -> usize {
    let stdout = process.stdout();
    let stderr = process.stderr();
    let mut lines = 0;
    for line in stdout.lines().filter(|l| !l.trim().is_empty()) {
        let parsed: Result<Value, _> = serde_json::from_str(line);
        assert!(
            matches!(parsed, Ok(Value::Object(_))),
            "{bin}: a stdout line is not a JSON object: {line}"
        );
        lines += 1;
    }
    assert!(lines > 0, "{bin} logged nothing");
    let mut secrets = others.to_vec();
    for arn in arns {
        secrets.extend(secret_strings(&store.snapshot(arn).await.unwrap()));
    }
    assert_no_secret_in(&format!("{bin}'s stdout"), &stdout, &secrets);
    assert_no_secret_in(&format!("{bin}'s stderr"), &stderr, &secrets);
    lines
}

/// createSecret for a secret the rotator must refuse (the harness's first
/// malformed secret): the rotator's own error, through the function.
async fn malformed_secret_rotation<H: RotatorHarness>(
    bin: &str,
    harness: &H,
    api: &RuntimeApi,
    store: &Arc<dyn SecretAdmin>,
    arns: &mut Vec<String>,
) -> Option<Outcome> {
    let valid = harness.fresh_secret(store.as_ref()).await;
    let (_, payload) = harness
        .malformed_secrets(&valid)
        .into_iter()
        .next()
        .unwrap_or_else(|| {
            let mut missing = valid.as_map().clone();
            missing.remove("password");
            let secret = SecretJson::from_map(missing);
            (
                "no password".into(),
                SecretPayload::String(secret.to_secret_string()),
            )
        });
    let arn = store
        .create_secret(&unique_name(&format!("e2e-{bin}-malformed")), payload)
        .await
        .expect("create the secret");
    arns.push(arn.clone());
    let token = new_token();
    store
        .start_rotation(&arn, &token)
        .await
        .expect("start the rotation");
    api.invoke(
        &rotation_event(Step::CreateSecret, &arn, &token),
        INVOCATION_BUDGET,
    )
    .await
}

/// Invokes `steps` of the rotation `token` of `arn`, in order, as Secrets
/// Manager does; each must answer `null`.
pub async fn invoke_steps(api: &RuntimeApi, arn: &str, token: &str, steps: &[Step]) {
    for &step in steps {
        let outcome = api
            .invoke(&rotation_event(step, arn, token), INVOCATION_BUDGET)
            .await;
        assert_eq!(
            outcome,
            Some(Outcome::Response(Value::Null)),
            "{step} of {arn}"
        );
    }
}

/// A secret stored in the test's store with a rotation started on it, as
/// `RotateSecret` leaves it before the first invocation.
pub struct StartedRotation {
    /// The secret's ARN.
    pub arn: String,
    /// The version AWSCURRENT is on (AWSPREVIOUS once the rotation ends).
    pub old: String,
    /// The rotation's ClientRequestToken.
    pub token: String,
}

/// Stores `secret` under a name starting with `prefix` and starts a
/// rotation of it.
pub async fn start_rotation_of(
    store: &dyn SecretAdmin,
    prefix: &str,
    secret: &SecretJson,
) -> StartedRotation {
    let arn = store
        .create_json(prefix, secret)
        .await
        .expect("create the secret");
    let old = current_version(store, &arn).await;
    let token = new_token();
    store
        .start_rotation(&arn, &token)
        .await
        .expect("start the rotation");
    StartedRotation { arn, old, token }
}

/// One full rotation of a fresh secret through the function; returns the
/// secret's ARN.
async fn rotate_once<H: RotatorHarness>(
    bin: &str,
    harness: &H,
    api: &RuntimeApi,
    store: &Arc<dyn SecretAdmin>,
    secret: SecretJson,
) -> String {
    let started = start_rotation_of(store.as_ref(), &format!("e2e-{bin}"), &secret).await;
    let (arn, token) = (started.arn, started.token);
    invoke_steps(api, &arn, &token, &Step::ALL).await;
    assert_rotated(harness, store.as_ref(), &arn, &token, &started.old).await;
    arn
}

/// `env`, with `MASTER_SECRET_ARNS` naming the master secrets of `secrets`
/// when they name any and `env` sets none: as a deployment's settings
/// name the masters its alternating-users secrets use.
pub fn with_masters_allowed<'a>(
    env: &[(&'a str, String)],
    secrets: &[SecretJson],
) -> Vec<(&'a str, String)> {
    let mut env = env.to_vec();
    let masters: Vec<&str> = secrets
        .iter()
        .filter_map(|s| s.optional_str("masterarn").ok().flatten())
        .collect();
    if !masters.is_empty() && !env.iter().any(|(name, _)| *name == "MASTER_SECRET_ARNS") {
        env.push(("MASTER_SECRET_ARNS", masters.join(",")));
    }
    env
}

/// The version of `arn` staged AWSCURRENT.
pub async fn current_version(store: &dyn SecretAdmin, arn: &str) -> String {
    let description = store.describe(arn).await.expect("describe the secret");
    description
        .version_with_stage(AWSCURRENT)
        .expect("a current version")
        .to_owned()
}

/// The rotation `token` of `arn` completed: AWSCURRENT moved to it,
/// AWSPREVIOUS to `old`, the rotated field changed, and the backend
/// accepts the new value.
pub async fn assert_rotated<H: RotatorHarness>(
    harness: &H,
    store: &dyn SecretAdmin,
    arn: &str,
    token: &str,
    old: &str,
) {
    let description = store.describe(arn).await.unwrap();
    assert!(
        description.has_stage(token, AWSCURRENT),
        "AWSCURRENT moved to {token}"
    );
    assert!(
        description.has_stage(old, AWSPREVIOUS),
        "AWSPREVIOUS set on {old}"
    );
    let value = |selector| async move {
        let version = store
            .get_value(arn, selector)
            .await
            .unwrap()
            .expect("a value");
        SecretJson::from_payload(&version.payload).unwrap()
    };
    let current = value(VersionSelector::Stage(AWSCURRENT)).await;
    let previous = value(VersionSelector::Id(old)).await;
    let field = harness.rotator().credential().field().to_owned();
    assert!(current.get(&field).is_some(), "the new value has `{field}`");
    assert_ne!(
        current.get(&field),
        previous.get(&field),
        "`{field}` changed"
    );
    assert!(
        harness.can_log_in(&current).await,
        "the backend accepts the new value"
    );
}
