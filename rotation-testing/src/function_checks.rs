//! The checks every rotator's built Lambda function runs, whatever its
//! backend: bad events, bad secrets and bad settings refused by name with
//! nothing changed; each step bounded by the invocation's deadline against
//! a backend that never answers and a Secrets Manager that answers too
//! late; Secrets Manager's bad days (throttling, 5xx, resets, slowness)
//! absorbed by retries or failed cleanly and re-run. A rotator's test
//! binary implements [`FunctionHarness`] and declares a test per check
//! with [`function_check_tests!`](crate::function_check_tests).

use std::time::{Duration, Instant};

use async_trait::async_trait;
use rotation_core::credential::ValueFormat;
use rotation_core::engine::DEADLINE_MARGIN;
use rotation_core::secret::{SecretBytes, SecretPayload};
use rotation_core::testkit::{new_token, unique_name, RotatorHarness, SecretAdmin};
use rotation_core::{event::Step, Rotator, SecretJson, SecretString};
use serde_json::{json, Value};

use crate::fault_proxy::{Fault, FaultPlan, FaultProxy};
use crate::lambda_e2e::{
    assert_clean_output, assert_rotated, invoke_steps, rotation_event, start_function,
    start_rotation_of, StartedRotation, INVOCATION_BUDGET,
};
use crate::lambda_function::{bootstrap, FunctionProcess};
use crate::moto::MotoServer;
use crate::runtime_api::{Outcome, RuntimeApi};

/// Declares one `#[tokio::test]` per check of this module in a rotator's
/// test binary, so that a new check reaches every rotator from here. They
/// are the function tier: ignored by plain `cargo test`, and declared
/// under a `function` module so that `function::` selects them. The
/// statements set up the backend and bind the harness to the name given
/// before `=>`:
///
/// ```ignore
/// rotation_testing::function_check_tests! { harness =>
///     let server = PostgresServer::shared();
///     let harness = PostgresRotatorHarness::single_user(&server).await;
/// }
/// ```
#[macro_export]
macro_rules! function_check_tests {
    ($harness:ident => $($setup:tt)*) => {
        $crate::function_check_tests!(@each [$harness] [$($setup)*]
            malformed_events_are_refused_naming_the_field,
            malformed_secrets_are_refused_naming_the_field,
            bad_settings_stop_the_function_naming_the_variable,
            a_silent_backend_fails_the_step_before_the_deadline,
            a_slow_secrets_manager_fails_the_step_before_the_deadline,
            one_failure_per_call_is_absorbed_by_retries,
            a_call_that_keeps_failing_fails_the_step_cleanly_and_a_rerun_completes,
            the_configuration_test_runs_test_secret_alone,
        );
    };
    // Every check but the silent backend's, for a function whose backend
    // address is a setting, not a field of the secret (an API): there is
    // no secret to point at a silent port, and its own tests cover that.
    (backend_address_in_settings $harness:ident => $($setup:tt)*) => {
        $crate::function_check_tests!(@each [$harness] [$($setup)*]
            malformed_events_are_refused_naming_the_field,
            malformed_secrets_are_refused_naming_the_field,
            bad_settings_stop_the_function_naming_the_variable,
            a_slow_secrets_manager_fails_the_step_before_the_deadline,
            one_failure_per_call_is_absorbed_by_retries,
            a_call_that_keeps_failing_fails_the_step_cleanly_and_a_rerun_completes,
            the_configuration_test_runs_test_secret_alone,
        );
    };
    // The checks named.
    (checks [$($check:ident),* $(,)?] $harness:ident => $($setup:tt)*) => {
        $crate::function_check_tests!(@each [$harness] [$($setup)*] $($check),*);
    };
    // One check at a time: the setup repeats once per check.
    (@each [$harness:ident] [$($setup:tt)*] $check:ident $(, $rest:ident)* $(,)?) => {
        #[tokio::test]
        #[ignore = "function tier: cargo test --tests -- --include-ignored function:: (CONTRIBUTING.md)"]
        async fn $check() {
            $($setup)*
            $crate::function_checks::$check(&$harness).await;
        }
        $crate::function_check_tests!(@each [$harness] [$($setup)*] $($rest),*);
    };
    (@each [$harness:ident] [$($setup:tt)*]) => {};
}

/// A bad input and the name its error must give: (what, input, name).
pub type NamedCase<T> = (String, T, String);

/// What the checks need to know about one rotator's function, beyond the
/// conformance kit's [`RotatorHarness`].
#[async_trait]
pub trait FunctionHarness: RotatorHarness {
    /// The function's binary, as `cargo lambda build` names it.
    fn binary(&self) -> &'static str;

    /// Variables the function needs to rotate this harness's secrets.
    fn function_env(&self) -> Vec<(&'static str, String)> {
        Vec::new()
    }

    /// `secret`, pointed at a server on 127.0.0.1:`port` that accepts
    /// connections and never answers; `None` when the backend's address is
    /// a setting of the function rather than a field of the secret (then
    /// leave out `a_silent_backend_fails_the_step_before_the_deadline`).
    fn pointed_at(&self, secret: &SecretJson, port: u16) -> Option<SecretJson>;

    /// A variable that makes the backend's own connect timeout longer than
    /// an invocation, so that only the deadline can stop a hung login.
    fn slow_connect_env(&self) -> Vec<(&'static str, String)> {
        Vec::new()
    }

    /// Secrets of this backend's schema createSecret must refuse, beyond
    /// the shapes every function refuses (binary, not JSON, not an object,
    /// a missing or non-string credential).
    fn invalid_secrets(&self, valid: &SecretJson) -> Vec<NamedCase<SecretPayload>>;

    /// Settings that must stop this function at start, beyond the password
    /// policy's.
    fn invalid_settings(&self) -> Vec<NamedCase<Vec<(&'static str, &'static str)>>>;
}

fn case<T>(what: &str, input: T, names: &str) -> NamedCase<T> {
    (what.to_owned(), input, names.to_owned())
}

fn expect_error(outcome: Option<Outcome>, error_type: &str, names: &str, what: &str) -> String {
    match outcome {
        Some(Outcome::Error {
            error_type: found,
            message,
        }) => {
            assert_eq!(found, error_type, "{what}: {message}");
            assert!(
                message.contains(names),
                "{what}: `{message}` should name {names}"
            );
            message
        }
        other => panic!("{what}: expected a {error_type} error, got {other:?}"),
    }
}

/// Malformed events are refused as `InvalidEvent`, naming the field, and
/// the function serves on.
pub async fn malformed_events_are_refused_naming_the_field<H: FunctionHarness>(harness: &H) {
    let moto = MotoServer::shared();
    let bin = harness.binary();
    let (api, mut process, _) =
        start_function(bin, &moto.endpoint(), &harness.function_env()).await;
    let ok = |step: &str| json!({"Step": step, "SecretId": "arn:x", "ClientRequestToken": "t"});
    let without = |field: &str| {
        let mut event = ok("createSecret");
        event.as_object_mut().unwrap().remove(field);
        event
    };
    let with = |field: &str, value: Value| {
        let mut event = ok("createSecret");
        event[field] = value;
        event
    };
    let cases: Vec<(&str, Value, &str)> = vec![
        ("an empty object", json!({}), "Step"),
        ("no SecretId", without("SecretId"), "SecretId"),
        (
            "no ClientRequestToken",
            without("ClientRequestToken"),
            "ClientRequestToken",
        ),
        ("a numeric Step", with("Step", json!(1)), "Step"),
        ("an unknown Step", ok("rotateSecret"), "rotateSecret"),
        ("an empty SecretId", with("SecretId", json!("")), "SecretId"),
        (
            "an empty token",
            with("ClientRequestToken", json!("")),
            "ClientRequestToken",
        ),
        (
            "a numeric SecretId",
            with("SecretId", json!(42)),
            "SecretId",
        ),
        (
            "a numeric RotationToken",
            with("RotationToken", json!(7)),
            "RotationToken",
        ),
        ("an array", json!([ok("createSecret")]), "not a JSON object"),
        ("a string", json!("createSecret"), "not a JSON object"),
        ("null", Value::Null, "not a JSON object"),
        (
            "a huge unknown Step",
            ok(&"x".repeat(100_000)),
            "unknown step",
        ),
    ];
    for (what, event, names) in &cases {
        let outcome = api.invoke(event, INVOCATION_BUDGET).await;
        let message = expect_error(outcome, "InvalidEvent", names, what);
        assert!(message.len() < 1000, "{what}: the message echoes the input");
    }
    assert!(process.is_running(), "{bin} survives every bad event");
    println!("{bin}: {} malformed events refused", cases.len());
}

/// Malformed secrets are refused at createSecret as `InvalidSecret`,
/// naming the field and never quoting a value, with nothing changed in the
/// store or the backend.
pub async fn malformed_secrets_are_refused_naming_the_field<H: FunctionHarness>(harness: &H) {
    let moto = MotoServer::shared();
    let bin = harness.binary();
    let (api, mut process, _) =
        start_function(bin, &moto.endpoint(), &harness.function_env()).await;
    let store = moto.admin_store();
    let valid = harness.fresh_secret(store.as_ref()).await;
    let field = harness.rotator().credential().field().to_owned();
    let credential = valid.required_secret(&field).expect("the credential");
    let named = format!("`{field}`");
    let with = |value: Value| {
        let mut secret = valid.clone();
        secret.set(&field, value);
        SecretPayload::String(secret.to_secret_string())
    };
    let mut without = valid.as_map().clone();
    without.remove(&field);
    let text = |s: String| SecretPayload::String(SecretString::new(s));
    let valid_text = valid.to_secret_string().expose().to_owned();
    let mut cases = vec![
        case(
            "a binary secret",
            SecretPayload::Binary(SecretBytes::new(valid_text.as_bytes())),
            "SecretBinary",
        ),
        case(
            "binary, invalid UTF-8",
            SecretPayload::Binary(SecretBytes::new(vec![0xff, 0xfe, 0x00, 0x80])),
            "SecretBinary",
        ),
        case(
            "not JSON",
            text(format!("{valid_text}}}")),
            "not valid JSON",
        ),
        case(
            "truncated JSON",
            text(valid_text[..valid_text.len() / 2].to_owned()),
            "not valid JSON",
        ),
        case(
            "a JSON array",
            text(format!("[{valid_text}]")),
            "not a JSON object",
        ),
        case(
            "a JSON string",
            text("\"scheme://user:pw@host/db\"".into()),
            "not a JSON object",
        ),
        case(
            "no credential",
            SecretPayload::String(SecretJson::from_map(without).to_secret_string()),
            &named,
        ),
        case("a numeric credential", with(json!(1234567890)), &named),
        case(
            "a credential with NUL",
            with(json!("before\u{0}after-secret")),
            &named,
        ),
    ];
    cases.extend(harness.invalid_secrets(&valid));
    for (what, payload, names) in &cases {
        let arn = store
            .create_secret(&unique_name("bad-secret"), payload.clone())
            .await
            .expect("create the secret");
        let token = new_token();
        store.start_rotation(&arn, &token).await.unwrap();
        let before = store.snapshot(&arn).await.unwrap();
        let outcome = api
            .invoke(
                &rotation_event(Step::CreateSecret, &arn, &token),
                INVOCATION_BUDGET,
            )
            .await;
        let message = expect_error(outcome, "InvalidSecret", names, what);
        assert!(
            !message.contains(credential.expose()),
            "{what}: the message holds the credential"
        );
        assert!(
            !message.contains("after-secret"),
            "{what}: the message holds a value"
        );
        assert_eq!(
            before,
            store.snapshot(&arn).await.unwrap(),
            "{what}: the store changed"
        );
    }
    assert!(
        harness.can_log_in(&valid).await,
        "the backend's user is untouched"
    );
    assert!(process.is_running());
    assert!(!process.stdout().contains(credential.expose()));
    println!("{bin}: {} malformed secrets refused", cases.len());
}

/// Bad settings stop the function before it asks for work, and its output
/// names the variable.
pub async fn bad_settings_stop_the_function_naming_the_variable<H: FunctionHarness>(harness: &H) {
    let bin = harness.binary();
    let mut cases = harness.invalid_settings();
    if matches!(
        harness.rotator().credential().format(),
        ValueFormat::Password(_)
    ) {
        let every_class = vec![
            ("EXCLUDE_NUMBERS", "true"),
            ("EXCLUDE_PUNCTUATION", "true"),
            ("EXCLUDE_UPPERCASE", "true"),
            ("EXCLUDE_LOWERCASE", "true"),
        ];
        cases.extend([
            case(
                "a length that is no number",
                vec![("PASSWORD_LENGTH", "long")],
                "PASSWORD_LENGTH",
            ),
            case(
                "a zero length",
                vec![("PASSWORD_LENGTH", "0")],
                "PASSWORD_LENGTH",
            ),
            case(
                "a length over 4096",
                vec![("PASSWORD_LENGTH", "5000")],
                "PASSWORD_LENGTH",
            ),
            case(
                "a flag that is no boolean",
                vec![("EXCLUDE_NUMBERS", "maybe")],
                "EXCLUDE_NUMBERS",
            ),
            case(
                "another",
                vec![("REQUIRE_EACH_INCLUDED_TYPE", "2")],
                "REQUIRE_EACH_INCLUDED_TYPE",
            ),
            case("every class excluded", every_class, "EXCLUDE"),
        ]);
    }
    for (what, env, names) in &cases {
        let api = RuntimeApi::start().await;
        let mut vars: Vec<(&str, String)> = harness.function_env();
        vars.extend(env.iter().map(|(k, v)| (*k, (*v).to_owned())));
        let mut process = FunctionProcess::start(&bootstrap(bin), &api, &vars);
        let mut waited = Duration::ZERO;
        while process.is_running() && waited < Duration::from_secs(5) {
            tokio::time::sleep(Duration::from_millis(10)).await;
            waited += Duration::from_millis(10);
        }
        assert!(!process.is_running(), "{what}: {bin} must not start");
        assert!(api.next_requests().is_empty(), "{what}: it asked for work");
        let output = format!("{}{}", process.stdout(), process.stderr());
        assert!(
            output.contains(names),
            "{what}: the output should name {names}: {output}"
        );
    }
    println!("{bin}: {} bad settings refused", cases.len());
}

/// The function timeout the deadline checks give an invocation: short, so
/// the deadline, not a connect timeout, is what stops them.
const DEADLINE_BUDGET: Duration = Duration::from_secs(4);

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
        took < DEADLINE_BUDGET
            && took >= DEADLINE_BUDGET - DEADLINE_MARGIN - Duration::from_millis(500),
        "{what}: answered after {took:?}"
    );
}

/// A backend that accepts the connection and never answers: setSecret
/// fails with `DeadlineExceeded` before Lambda would kill it, changes
/// nothing, and the next invocation is served.
pub async fn a_silent_backend_fails_the_step_before_the_deadline<H: FunctionHarness>(harness: &H) {
    let moto = MotoServer::shared();
    let bin = harness.binary();
    let mut env = harness.function_env();
    env.extend(harness.slow_connect_env());
    let (api, mut process, _) = start_function(bin, &moto.endpoint(), &env).await;
    let store = moto.admin_store();
    let secret = harness.fresh_secret(store.as_ref()).await;
    let Some(secret) = harness.pointed_at(&secret, crate::silent_port()) else {
        panic!("{bin}: its secrets hold no backend address; list the checks without this one");
    };
    let StartedRotation { arn, token, .. } =
        start_rotation_of(store.as_ref(), "deadline-backend", &secret).await;
    invoke_steps(&api, &arn, &token, &[Step::CreateSecret]).await;
    let before = store.snapshot(&arn).await.unwrap();

    let started = Instant::now();
    let outcome = api
        .invoke(
            &rotation_event(Step::SetSecret, &arn, &token),
            DEADLINE_BUDGET,
        )
        .await;
    assert_deadline_exceeded(outcome, started.elapsed(), "setSecret, silent backend");
    assert_eq!(
        before,
        store.snapshot(&arn).await.unwrap(),
        "nothing changed"
    );
    assert!(process.is_running());

    invoke_steps(&api, &arn, &token, &[Step::CreateSecret]).await;
    assert_clean_output(bin, &process, store.as_ref(), &[arn], &[]).await;
}

/// A Secrets Manager that answers after 30 s: createSecret fails with
/// `DeadlineExceeded` before Lambda would kill it, and changes nothing.
pub async fn a_slow_secrets_manager_fails_the_step_before_the_deadline<H: FunctionHarness>(
    harness: &H,
) {
    let moto = MotoServer::shared();
    let slow = FaultProxy::start(moto.port()).await;
    slow.set_plan(FaultPlan::Always(Fault::Slow(Duration::from_secs(30))));
    let (api, mut process, _) =
        start_function(harness.binary(), &slow.endpoint(), &harness.function_env()).await;
    let store = moto.admin_store();
    let secret = harness.fresh_secret(store.as_ref()).await;
    let StartedRotation { arn, token, .. } =
        start_rotation_of(store.as_ref(), "deadline-sm", &secret).await;
    let before = store.snapshot(&arn).await.unwrap();

    let started = Instant::now();
    let outcome = api
        .invoke(
            &rotation_event(Step::CreateSecret, &arn, &token),
            DEADLINE_BUDGET,
        )
        .await;
    assert_deadline_exceeded(outcome, started.elapsed(), "createSecret, slow endpoint");
    assert_eq!(
        before,
        store.snapshot(&arn).await.unwrap(),
        "nothing changed"
    );
    assert!(process.is_running());
}

/// A fresh secret from the harness with a rotation started on it.
async fn fresh_rotation<H: FunctionHarness>(
    harness: &H,
    store: &dyn SecretAdmin,
    prefix: &str,
) -> StartedRotation {
    let secret = harness.fresh_secret(store).await;
    start_rotation_of(store, prefix, &secret).await
}

/// One failure (throttling, 500, 503, a reset, a slow answer) on the first
/// attempt of every Secrets Manager call: the SDK's retries absorb it and
/// the rotation completes, with exactly one retry per failed call.
pub async fn one_failure_per_call_is_absorbed_by_retries<H: FunctionHarness>(harness: &H) {
    let moto = MotoServer::shared();
    let proxy = FaultProxy::start(moto.port()).await;
    let bin = harness.binary();
    let (api, mut process, _) =
        start_function(bin, &proxy.endpoint(), &harness.function_env()).await;
    let store = moto.admin_store();
    // The calls one clean rotation of a fresh secret makes, counted at the
    // proxy: each fault below must cost exactly one retry per call.
    let clean = fresh_rotation(harness, store.as_ref(), "faults").await;
    proxy.set_plan(FaultPlan::Pass);
    invoke_steps(&api, &clean.arn, &clean.token, &Step::ALL).await;
    let calls = proxy.requests();
    assert!(calls > 0, "no Secrets Manager call went through the proxy");
    let mut arns = vec![clean.arn];
    for fault in [
        Fault::Throttle,
        Fault::InternalError,
        Fault::Unavailable,
        Fault::Reset,
        Fault::Slow(Duration::from_millis(300)),
    ] {
        let StartedRotation { arn, old, token } =
            fresh_rotation(harness, store.as_ref(), "faults").await;
        arns.push(arn.clone());
        let injected_before = proxy.injected().len();
        proxy.set_plan(FaultPlan::FirstAttempts(fault));
        println!("{bin}: {fault:?} on the first attempt of every call");
        invoke_steps(&api, &arn, &token, &Step::ALL).await;
        let requests = proxy.requests();
        let injected = proxy.injected().len() - injected_before;
        proxy.set_plan(FaultPlan::Pass);
        assert_rotated(harness, store.as_ref(), &arn, &token, &old).await;
        if matches!(fault, Fault::Slow(_)) {
            // A slow answer is no failure: nothing is retried, and every
            // call's only attempt is slowed.
            assert_eq!(requests, calls, "{fault:?}: requests");
            assert_eq!(injected, calls, "{fault:?}: slowed answers");
        } else {
            // Every call failed once and was retried once.
            assert_eq!(requests, 2 * calls, "{fault:?}: requests");
            assert_eq!(injected, calls, "{fault:?}: failures");
        }
        println!("{bin}: {fault:?}: {calls} calls, {requests} requests");
    }
    assert!(process.is_running());
    assert_clean_output(bin, &process, store.as_ref(), &arns, &[]).await;
}

/// A Secrets Manager call that fails on every attempt, in each step in
/// turn: the step fails cleanly after three attempts with nothing changed,
/// and the rotation re-run from createSecret completes.
pub async fn a_call_that_keeps_failing_fails_the_step_cleanly_and_a_rerun_completes<
    H: FunctionHarness,
>(
    harness: &H,
) {
    let moto = MotoServer::shared();
    let proxy = FaultProxy::start(moto.port()).await;
    let bin = harness.binary();
    let (api, mut process, _) =
        start_function(bin, &proxy.endpoint(), &harness.function_env()).await;
    let store = moto.admin_store();
    let mut arns = Vec::new();
    for (fault, failing_step) in [
        (Fault::Unavailable, Step::CreateSecret),
        (Fault::Throttle, Step::SetSecret),
        (Fault::Reset, Step::TestSecret),
        (Fault::InternalError, Step::FinishSecret),
    ] {
        let StartedRotation { arn, old, token } =
            fresh_rotation(harness, store.as_ref(), "faults").await;
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
        assert_eq!(
            proxy.requests(),
            3,
            "{fault:?}: three attempts, then the step gave up"
        );
        proxy.set_plan(FaultPlan::Pass);
        assert_eq!(
            before,
            store.snapshot(&arn).await.unwrap(),
            "{fault:?}: nothing changed"
        );
        println!("{bin}: {fault:?} in {failing_step}, then a re-run");
        invoke_steps(&api, &arn, &token, &Step::ALL).await;
        assert_rotated(harness, store.as_ref(), &arn, &token, &old).await;
        arns.push(arn);
    }
    assert!(process.is_running());
    assert_clean_output(bin, &process, store.as_ref(), &arns, &[]).await;
}

/// Secrets Manager's configuration test (`RotateImmediately=false`,
/// `RotateImmediatelyOnUpdate: false`): it creates an AWSPENDING version,
/// invokes testSecret alone with its id, and removes it. What the version
/// holds is not documented; moto stores a copy of AWSCURRENT's value. With
/// that copy, testSecret passes and changes nothing anywhere; with no
/// value, it fails as `PendingValueMissing`, naming the token, and changes
/// nothing. Either way AWSCURRENT still logs in and a real rotation
/// afterwards completes.
pub async fn the_configuration_test_runs_test_secret_alone<H: FunctionHarness>(harness: &H) {
    let moto = MotoServer::shared();
    let bin = harness.binary();
    let (api, mut process, _) =
        start_function(bin, &moto.endpoint(), &harness.function_env()).await;
    let store = moto.admin_store();
    let mut arns = Vec::new();
    for holds_a_copy in [true, false] {
        let current = harness.fresh_secret(store.as_ref()).await;
        let StartedRotation { arn, old, token } =
            start_rotation_of(store.as_ref(), "config-test", &current).await;
        if holds_a_copy {
            store
                .put_value(
                    &arn,
                    rotation_core::store::PutValue {
                        version_id: &token,
                        value: &current.to_secret_string(),
                        stages: &[rotation_core::store::AWSPENDING],
                        rotation_token: None,
                    },
                )
                .await
                .expect("store the copy");
        }
        let before = store.snapshot(&arn).await.unwrap();
        let outcome = api
            .invoke(
                &rotation_event(Step::TestSecret, &arn, &token),
                INVOCATION_BUDGET,
            )
            .await;
        if holds_a_copy {
            assert_eq!(
                outcome,
                Some(Outcome::Response(Value::Null)),
                "testSecret on a copy"
            );
        } else {
            let message = expect_error(
                outcome,
                "PendingValueMissing",
                &token,
                "testSecret, no value",
            );
            assert!(message.contains("no value"), "{message}");
        }
        assert_eq!(
            before,
            store.snapshot(&arn).await.unwrap(),
            "the configuration test changed the store"
        );
        assert!(
            harness.can_log_in(&current).await,
            "AWSCURRENT no longer logs in"
        );
        // The service removes its test version; the next rotation starts
        // afresh and completes.
        let next = new_token();
        store.start_rotation(&arn, &next).await.unwrap();
        invoke_steps(&api, &arn, &next, &Step::ALL).await;
        assert_rotated(harness, store.as_ref(), &arn, &next, &old).await;
        arns.push(arn);
    }
    assert!(process.is_running());
    assert_clean_output(bin, &process, store.as_ref(), &arns, &[]).await;
}
