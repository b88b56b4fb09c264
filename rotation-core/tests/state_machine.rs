//! The four steps on the in-memory store: every validation rule, the call
//! budget, the Lambda handler, and property-based interleavings of retries
//! and injected failures.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use lambda_runtime::{Context, LambdaEvent};
use proptest::prelude::*;
use rotation_core::engine::{Rotation, StepOutcome, PROOF_REUSE_WINDOW};
use rotation_core::lambda::handle;
use rotation_core::secret::SecretJson;
use rotation_core::store::{InMemorySecretStore, PutValue, VersionSelector};
use rotation_core::testkit::faults::{FaultTiming, FaultyStore, InstrumentedRotator};
use rotation_core::testkit::reference::{TableHarness, TableRotator};
use rotation_core::testkit::RotatorHarness;
use rotation_core::testkit::{new_token, unique_name, CapturedLogs, SecretAdmin, Snapshot};
use rotation_core::{
    error::RotationError, event::RotationEvent, event::Step, secret::SecretPayload,
    store::SecretStore, store::AWSCURRENT, store::AWSPENDING, store::AWSPREVIOUS, Credential,
    RotationContext, Rotator, RotatorError, SecretString,
};
use serde_json::json;

type TestRotation = Rotation<FaultyStore<Arc<InMemorySecretStore>>, TableRotator>;

struct Fixture {
    store: Arc<InMemorySecretStore>,
    harness: TableHarness,
    rotation: TestRotation,
    arn: String,
    user: String,
    first_version: String,
    token: String,
}

const INITIAL_PASSWORD: &str = "initial-password-0123456789";

fn fixture() -> Fixture {
    let store = Arc::new(InMemorySecretStore::new());
    let harness = TableHarness::default();
    let user = unique_name("app");
    harness
        .table
        .set_password(&user, &SecretString::new(INITIAL_PASSWORD));
    let secret = json!({"username": user, "password": INITIAL_PASSWORD, "extra": [1, 2]});
    let arn = store
        .create_secret(
            &unique_name("sm"),
            SecretPayload::String(SecretString::new(secret.to_string())),
        )
        .unwrap();
    let first_version = store.snapshot(&arn).unwrap().into_keys().next().unwrap();
    let token = new_token();
    store.start_rotation(&arn, &token).unwrap();
    let rotation = Rotation::new(
        FaultyStore::new(Arc::clone(&store)),
        harness.rotator(),
        Credential::password("password")
            .generator_from_lookup(|_| None)
            .unwrap(),
    );
    Fixture {
        store,
        harness,
        rotation,
        arn,
        user,
        first_version,
        token,
    }
}

impl Fixture {
    fn event(&self, step: Step) -> RotationEvent {
        self.event_for(step, &self.token)
    }

    fn event_for(&self, step: Step, token: &str) -> RotationEvent {
        RotationEvent {
            step,
            secret_id: self.arn.clone(),
            token: token.to_owned(),
            rotation_token: None,
        }
    }

    async fn run(&self, step: Step) -> Result<StepOutcome, RotationError> {
        self.rotation.run_step(&self.event(step), None).await
    }

    async fn snapshot(&self) -> Snapshot {
        SecretAdmin::snapshot(self.store.as_ref(), &self.arn)
            .await
            .unwrap()
    }

    /// Whether AWSCURRENT's password logs in.
    async fn current_logs_in(&self) -> bool {
        let current = self
            .store
            .get_value(&self.arn, VersionSelector::Stage(AWSCURRENT))
            .await
            .unwrap()
            .expect("an AWSCURRENT version");
        let current = SecretJson::from_payload(&current.payload).unwrap();
        self.harness.can_log_in(&current).await
    }

    /// Whether any labelled version's password logs in.
    async fn someone_logs_in(&self) -> bool {
        for version in self.snapshot().await.values() {
            if version.stages.is_empty() {
                continue;
            }
            if let Some(payload) = &version.payload {
                let secret = SecretJson::from_payload(payload).unwrap();
                if self.harness.can_log_in(&secret).await {
                    return true;
                }
            }
        }
        false
    }
}

#[tokio::test]
async fn rotation_disabled_is_refused_at_every_step() {
    let f = fixture();
    f.store.set_rotation_enabled(&f.arn, false).unwrap();
    for step in Step::ALL {
        let err = f.run(step).await.unwrap_err();
        assert!(
            matches!(err, RotationError::RotationDisabled { .. }),
            "{step}: {err}"
        );
        assert!(err.to_string().contains("enable rotation"));
    }
}

#[tokio::test]
async fn a_token_that_is_no_version_is_refused() {
    let f = fixture();
    let stranger = new_token();
    for step in Step::ALL {
        let err = f
            .rotation
            .run_step(&f.event_for(step, &stranger), None)
            .await
            .unwrap_err();
        assert!(
            matches!(err, RotationError::UnknownVersion { .. }),
            "{step}: {err}"
        );
        assert!(err.to_string().contains(&stranger));
    }
}

#[tokio::test]
async fn a_token_already_current_makes_every_step_a_no_op() {
    let f = fixture();
    let before = f.snapshot().await;
    for step in Step::ALL {
        f.rotation.store().disarm();
        let outcome = f
            .rotation
            .run_step(&f.event_for(step, &f.first_version), None)
            .await
            .unwrap();
        assert_eq!(outcome, StepOutcome::AlreadyCurrent);
        // One DescribeSecret, nothing else.
        assert_eq!(f.rotation.store().take_log(), vec!["DescribeSecret"]);
    }
    assert_eq!(before, f.snapshot().await);
}

#[tokio::test]
async fn a_token_neither_current_nor_pending_is_refused() {
    let f = fixture();
    for step in Step::ALL {
        f.run(step).await.unwrap();
    }
    // The first version is now AWSPREVIOUS.
    for step in Step::ALL {
        let err = f
            .rotation
            .run_step(&f.event_for(step, &f.first_version), None)
            .await
            .unwrap_err();
        match err {
            RotationError::NotPending { stages, .. } => assert_eq!(stages, vec![AWSPREVIOUS]),
            other => panic!("{step}: {other}"),
        }
    }
}

#[tokio::test]
async fn set_and_test_before_create_say_create_must_run_first() {
    let f = fixture();
    for step in [Step::SetSecret, Step::TestSecret] {
        let err = f.run(step).await.unwrap_err();
        assert!(
            matches!(err, RotationError::PendingValueMissing { .. }),
            "{step}: {err}"
        );
        assert!(err.to_string().contains("createSecret must succeed first"));
    }
}

#[tokio::test]
async fn create_keeps_an_existing_pending_value() {
    let f = fixture();
    f.store
        .put_value(
            &f.arn,
            PutValue {
                version_id: &f.token,
                value: &SecretString::new(
                    json!({"username": "x", "password": "preset-pending-password"}).to_string(),
                ),
                stages: &[AWSPENDING],
                rotation_token: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(
        f.run(Step::CreateSecret).await.unwrap(),
        StepOutcome::AlreadyCreated
    );
    let pending = f
        .store
        .get_value(&f.arn, VersionSelector::Id(&f.token))
        .await
        .unwrap()
        .unwrap();
    let SecretPayload::String(text) = pending.payload else {
        panic!("binary")
    };
    assert!(text.expose().contains("preset-pending-password"));
}

#[tokio::test]
async fn one_rotation_costs_eleven_secrets_manager_calls() {
    let f = fixture();
    let mut all = Vec::new();
    for step in Step::ALL {
        f.rotation.store().disarm();
        f.run(step).await.unwrap();
        all.push(f.rotation.store().take_log());
    }
    assert_eq!(
        all,
        vec![
            vec![
                "DescribeSecret",
                "GetSecretValue",
                "GetSecretValue",
                "PutSecretValue"
            ],
            vec!["DescribeSecret", "GetSecretValue", "GetSecretValue"],
            vec!["DescribeSecret", "GetSecretValue"],
            // testSecret proved this version in this process a moment ago:
            // that is finishSecret's proof.
            vec!["DescribeSecret", "UpdateSecretVersionStage"],
        ]
    );
}

impl Fixture {
    /// The same secret and backend served by another process: a Lambda
    /// instance that did not run this rotation's testSecret.
    fn another_process(&self) -> TestRotation {
        Rotation::new(
            FaultyStore::new(Arc::clone(&self.store)),
            self.harness.rotator(),
            Credential::password("password")
                .generator_from_lookup(|_| None)
                .unwrap(),
        )
    }
}

/// A rotation whose testSecret passed in this process, its store calls so
/// far forgotten.
async fn tested() -> Fixture {
    let f = fixture();
    for step in [Step::CreateSecret, Step::SetSecret, Step::TestSecret] {
        f.run(step).await.unwrap();
    }
    f.rotation.store().take_log();
    f
}

/// finishSecret relies on a testSecret only when that test passed in this
/// process, for this very version, within PROOF_REUSE_WINDOW, and only
/// once: in every other case it reads the pending value and tests it again.
#[tokio::test(start_paused = true)]
async fn finish_secret_proves_again_unless_this_process_just_proved_the_version() {
    let read_and_tested = vec![
        "DescribeSecret",
        "GetSecretValue",
        "UpdateSecretVersionStage",
    ];

    // Another process ran testSecret.
    let f = tested().await;
    let other = f.another_process();
    other
        .run_step(&f.event(Step::FinishSecret), None)
        .await
        .unwrap();
    assert_eq!(other.store().take_log(), read_and_tested);

    // The proof is older than the window.
    let f = tested().await;
    tokio::time::advance(PROOF_REUSE_WINDOW + Duration::from_secs(1)).await;
    f.run(Step::FinishSecret).await.unwrap();
    assert_eq!(f.rotation.store().take_log(), read_and_tested);

    // Within the window, the same process: no second read, so no second
    // test (the test needs the pending value).
    let f = tested().await;
    tokio::time::advance(PROOF_REUSE_WINDOW - Duration::from_secs(1)).await;
    f.run(Step::FinishSecret).await.unwrap();
    assert_eq!(
        f.rotation.store().take_log(),
        vec!["DescribeSecret", "UpdateSecretVersionStage"]
    );

    // A failed testSecret proves nothing: finishSecret tests, and refuses.
    let f = fixture();
    for step in [Step::CreateSecret, Step::SetSecret] {
        f.run(step).await.unwrap();
    }
    f.harness
        .table
        .set_password(&f.user, &SecretString::new("changed-behind-its-back"));
    f.run(Step::TestSecret).await.unwrap_err();
    let before = f.snapshot().await;
    f.run(Step::FinishSecret).await.unwrap_err();
    assert_eq!(f.snapshot().await, before, "AWSCURRENT did not move");

    // A proof serves one finishSecret: after a move that failed, the retry
    // tests again.
    let f = tested().await;
    f.rotation.store().arm(1, FaultTiming::Before);
    f.run(Step::FinishSecret).await.unwrap_err();
    f.rotation.store().disarm();
    f.rotation.store().take_log();
    f.run(Step::FinishSecret).await.unwrap();
    assert_eq!(f.rotation.store().take_log(), read_and_tested);

    // Another version of the same secret is not covered by this one's
    // proof: a rotation abandoned after testSecret and started again.
    let f = tested().await;
    // By hand, as an operator would: the first pending value (whose
    // password the backend now has) as AWSCURRENT, which abandons the
    // rotation; then a new one.
    let first_pending = f.snapshot().await[&f.token].payload.clone().unwrap();
    f.store.put_by_hand(&f.arn, first_pending).unwrap();
    let second = new_token();
    f.store.start_rotation(&f.arn, &second).unwrap();
    for step in [Step::CreateSecret, Step::SetSecret] {
        f.rotation
            .run_step(&f.event_for(step, &second), None)
            .await
            .unwrap();
    }
    f.rotation.store().take_log();
    f.rotation
        .run_step(&f.event_for(Step::FinishSecret, &second), None)
        .await
        .unwrap();
    assert_eq!(f.rotation.store().take_log(), read_and_tested);
}

/// Whoever may invoke the function can send finishSecret with a stuck
/// rotation's token, skipping setSecret and testSecret. finishSecret
/// proves the pending value works before moving AWSCURRENT, so the
/// secret is never left on a password the backend does not accept; with
/// the proof turned off (PROVE_PENDING_AT_FINISH=false), the move happens
/// and the application is locked out, which is why it is on by default.
#[tokio::test]
async fn finish_secret_never_moves_current_to_a_value_that_does_not_work() {
    let f = fixture();
    f.run(Step::CreateSecret).await.unwrap();
    let before = f.snapshot().await;
    let refused = f.run(Step::FinishSecret).await.unwrap_err();
    assert!(
        matches!(
            refused,
            RotationError::Rotator {
                step: Step::FinishSecret,
                ..
            }
        ),
        "{refused}"
    );
    assert_eq!(f.snapshot().await, before, "AWSCURRENT did not move");
    assert!(f.current_logs_in().await, "AWSCURRENT still logs in");

    // The opt-out, on a rotation of its own: the same invocation moves
    // AWSCURRENT onto a password nothing accepts.
    let unproved = fixture();
    let unproved = Fixture {
        rotation: Rotation::new(
            FaultyStore::new(Arc::clone(&unproved.store)),
            unproved.harness.rotator(),
            Credential::password("password")
                .generator_from_lookup(|_| None)
                .unwrap(),
        )
        .proving_pending_at_finish(false),
        ..unproved
    };
    unproved.run(Step::CreateSecret).await.unwrap();
    unproved.run(Step::FinishSecret).await.unwrap();
    assert!(
        !unproved.current_logs_in().await,
        "without the proof, AWSCURRENT moved to a password that does not log in"
    );
}

#[tokio::test]
async fn finish_labels_new_current_and_previous() {
    let f = fixture();
    for step in Step::ALL {
        f.run(step).await.unwrap();
    }
    let snapshot = f.snapshot().await;
    assert_eq!(snapshot[&f.token].stages, vec![AWSCURRENT, AWSPENDING]);
    assert_eq!(snapshot[&f.first_version].stages, vec![AWSPREVIOUS]);
    // The pending secret kept the unknown key and changed only the password.
    let SecretPayload::String(text) = snapshot[&f.token].payload.clone().unwrap() else {
        panic!("binary")
    };
    let value: serde_json::Value = serde_json::from_str(text.expose()).unwrap();
    assert_eq!(value["extra"], json!([1, 2]));
    assert_ne!(value["password"], json!(INITIAL_PASSWORD));
    assert_eq!(value["password"].as_str().unwrap().len(), 32);
}

#[tokio::test]
async fn finish_copes_with_a_retried_move_the_service_refuses() {
    let f = fixture();
    for step in [Step::CreateSecret, Step::SetSecret, Step::TestSecret] {
        f.run(step).await.unwrap();
    }
    // finishSecret's calls: DescribeSecret, then UpdateSecretVersionStage
    // (testSecret proved the version), whose first attempt applies and
    // whose retry meets the refusal.
    f.rotation.store().arm(1, FaultTiming::Retried);
    f.run(Step::FinishSecret).await.unwrap();
    assert!(f.rotation.store().fired());
    let snapshot = f.snapshot().await;
    assert!(snapshot[&f.token].stages.iter().any(|s| s == AWSCURRENT));
    assert_eq!(snapshot[&f.first_version].stages, vec![AWSPREVIOUS]);
}

#[tokio::test]
async fn a_rotation_abandoned_by_hand_is_not_finished() {
    let f = fixture();
    f.run(Step::CreateSecret).await.unwrap();
    // An operator writes a value by hand: the service drops AWSPENDING.
    f.store
        .put_by_hand(
            &f.arn,
            SecretPayload::String(SecretString::new(
                json!({"username": "app", "password": "typed-by-hand-password"}).to_string(),
            )),
        )
        .unwrap();
    // The abandoned version lost every stage, so the service no longer
    // lists it: the rest of the rotation is refused, and nothing moves.
    let before = f.snapshot().await;
    for step in [Step::SetSecret, Step::TestSecret, Step::FinishSecret] {
        let err = f.run(step).await.unwrap_err();
        assert!(
            matches!(err, RotationError::UnknownVersion { .. }),
            "{step}: {err}"
        );
    }
    assert_eq!(before, f.snapshot().await);
}

/// A rotator whose setSecret never returns, to exercise the deadline.
struct Hangs;

#[async_trait]
impl Rotator for Hangs {
    async fn set_secret(
        &self,
        _: &RotationContext<'_>,
        _: &SecretJson,
        _: &SecretJson,
    ) -> Result<(), RotatorError> {
        std::future::pending().await
    }

    async fn test_secret(
        &self,
        _: &RotationContext<'_>,
        _: &SecretJson,
    ) -> Result<(), RotatorError> {
        Ok(())
    }
}

fn lambda_event(
    payload: serde_json::Value,
    deadline_in: Option<Duration>,
) -> LambdaEvent<serde_json::Value> {
    let mut context = Context::default();
    if let Some(after) = deadline_in {
        let deadline = SystemTime::now() + after;
        context.deadline = deadline.duration_since(UNIX_EPOCH).unwrap().as_millis() as u64;
    }
    LambdaEvent::new(payload, context)
}

#[tokio::test]
async fn the_handler_reports_bad_events_as_lambda_errors() {
    let f = fixture();
    let failure = handle(
        &f.rotation,
        lambda_event(
            json!({"Step": "rotate", "SecretId": f.arn, "ClientRequestToken": f.token}),
            None,
        ),
    )
    .await
    .unwrap_err();
    assert_eq!(failure.error_type, "InvalidEvent");
    assert!(
        failure.message.contains("unknown step `rotate`"),
        "{}",
        failure.message
    );
    let diagnostic: lambda_runtime::Diagnostic = failure.into();
    assert_eq!(diagnostic.error_type, "InvalidEvent");

    let ok = handle(
        &f.rotation,
        lambda_event(
            f.event(Step::CreateSecret).to_json(),
            Some(Duration::from_secs(30)),
        ),
    )
    .await;
    assert!(ok.is_ok());
}

/// On a paused clock: the step's timer fires when the runtime has nothing
/// else to do, so the time it gave the step is exact however loaded the
/// machine is.
#[tokio::test(start_paused = true)]
async fn a_step_stops_before_the_lambda_deadline() {
    let f = fixture();
    let rotation = Rotation::new(
        Arc::clone(&f.store),
        Hangs,
        Credential::password("password")
            .generator_from_lookup(|_| None)
            .unwrap(),
    );
    rotation
        .run_step(&f.event(Step::CreateSecret), None)
        .await
        .unwrap();
    let started = tokio::time::Instant::now();
    let failure = handle(
        &rotation,
        lambda_event(
            f.event(Step::SetSecret).to_json(),
            Some(Duration::from_millis(2500)),
        ),
    )
    .await
    .unwrap_err();
    let took = started.elapsed();
    assert_eq!(failure.error_type, "DeadlineExceeded");
    assert!(
        failure.message.contains("setSecret did not finish"),
        "{}",
        failure.message
    );
    // 2.5 s deadline minus the 1.5 s margin, less the real time the
    // deadline's arithmetic took.
    assert!(
        took > Duration::from_millis(900) && took <= Duration::from_millis(1000),
        "{took:?}"
    );
}

#[tokio::test]
async fn each_step_logs_one_line_with_its_outcome_and_no_secret() {
    let f = fixture();
    let logs = CapturedLogs::new();
    for step in Step::ALL {
        logs.capture(f.run(step)).await.unwrap();
    }
    let _ = logs.capture(f.run(Step::FinishSecret)).await;
    let text = logs.text();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    assert_eq!(lines.len(), 5, "{text}");
    for (line, step) in lines.iter().zip([
        "createSecret",
        "setSecret",
        "testSecret",
        "finishSecret",
        "finishSecret",
    ]) {
        assert_eq!(line["fields"]["step"], step);
        assert_eq!(line["fields"]["secret_id"], f.arn.as_str());
        assert_eq!(line["fields"]["token"], f.token.as_str());
        assert!(line["fields"]["duration_ms"].is_u64());
    }
    assert_eq!(lines[4]["fields"]["outcome"], "already_current");
    let secrets = rotation_core::testkit::admin::secret_strings(&f.snapshot().await);
    rotation_core::testkit::assert_no_secret_in("the step logs", &text, &secrets);
}

/// One injected failure: which step, which of its calls, when, and how the
/// rotation is retried afterwards.
#[derive(Debug, Clone)]
struct Fault {
    step: usize,
    call: usize,
    after: bool,
    restart: bool,
    repeat_before: bool,
}

fn fault() -> impl Strategy<Value = Fault> {
    (
        0usize..4,
        0usize..4,
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(step, call, after, restart, repeat_before)| Fault {
            step,
            call,
            after,
            restart,
            repeat_before,
        })
}

/// Calls each step makes; a fault's call index is taken modulo this.
const CALLS: [usize; 4] = [4, 3, 2, 2];

async fn interleaving(faults: Vec<Fault>) {
    let f = fixture();
    let mut queue = faults.into_iter().peekable();
    let mut step = 0usize;
    let mut runs = 0;
    while step < 4 {
        runs += 1;
        assert!(runs < 100, "the rotation does not converge");
        let before = f.snapshot().await;
        let armed = match queue.peek() {
            Some(fault) if fault.step == step => queue.next(),
            Some(fault) if fault.step < step => {
                queue.next();
                None
            }
            _ => None,
        };
        if let Some(fault) = &armed {
            if fault.repeat_before {
                // A retry of a step that had already succeeded.
                if step > 0 {
                    f.run(Step::ALL[step - 1]).await.unwrap();
                }
            }
            let timing = if fault.after {
                FaultTiming::After
            } else {
                FaultTiming::Before
            };
            f.rotation.store().arm(fault.call % CALLS[step], timing);
        }
        let result = f.run(Step::ALL[step]).await;
        let after = f.snapshot().await;
        for (id, version) in &before {
            if let Some(value) = &version.payload {
                assert_eq!(
                    after.get(id).and_then(|v| v.payload.as_ref()),
                    Some(value),
                    "the value of version {id} was lost or changed"
                );
            }
        }
        assert!(
            f.someone_logs_in().await,
            "lockout after {:?}",
            Step::ALL[step]
        );
        match (result, armed) {
            (Ok(_), None) => step += 1,
            (Err(_), Some(fault)) => {
                assert!(f.rotation.store().fired());
                step = if fault.restart { 0 } else { step };
            }
            // A retried step can skip calls (createSecret finding its value
            // stored); then the fault never fires.
            (Ok(_), Some(_)) => {
                assert!(
                    !f.rotation.store().fired(),
                    "an injected fault went unnoticed"
                );
                step += 1;
            }
            (Err(e), None) => panic!("a clean step failed: {e}"),
        }
        f.rotation.store().disarm();
    }
    let snapshot = f.snapshot().await;
    assert!(snapshot[&f.token].stages.contains(&AWSCURRENT.to_owned()));
    assert_eq!(snapshot[&f.first_version].stages, vec![AWSPREVIOUS]);
    let current = f
        .store
        .get_value(&f.arn, VersionSelector::Stage(AWSCURRENT))
        .await
        .unwrap()
        .unwrap();
    let secret = SecretJson::from_payload(&current.payload).unwrap();
    assert!(f.harness.can_log_in(&secret).await);
    assert_eq!(snapshot.len(), 2, "no stray versions");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_interleaving_of_failures_and_retries_completes_without_loss(
        faults in proptest::collection::vec(fault(), 0..10)
    ) {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap()
            .block_on(interleaving(faults));
    }
}

#[tokio::test]
async fn after_finish_runs_even_when_finish_died_after_moving_the_label() {
    let f = fixture();
    let rotation = Rotation::new(
        FaultyStore::new(Arc::clone(&f.store)),
        InstrumentedRotator::new(f.harness.rotator()),
        Credential::password("password")
            .generator_from_lookup(|_| None)
            .unwrap(),
    );
    for step in [Step::CreateSecret, Step::SetSecret, Step::TestSecret] {
        rotation.run_step(&f.event(step), None).await.unwrap();
    }
    // UpdateSecretVersionStage (after DescribeSecret and the pending
    // value's GetSecretValue) takes effect, then the answer is lost.
    rotation.store().arm(2, FaultTiming::After);
    assert!(rotation
        .run_step(&f.event(Step::FinishSecret), None)
        .await
        .is_err());
    let calls = || rotation.rotator().after_finish_calls();
    assert_eq!(calls().len(), 0, "the hook did not run in the failed try");
    assert!(f.snapshot().await[&f.token]
        .stages
        .contains(&AWSCURRENT.to_owned()));
    let retry = rotation
        .run_step(&f.event(Step::FinishSecret), None)
        .await
        .unwrap();
    assert_eq!(retry, StepOutcome::AlreadyCurrent);
    assert_eq!(calls().len(), 1, "the retried finishSecret ran the hook");
    // The old value is AWSPREVIOUS by the time the hook runs.
    assert_eq!(
        calls(),
        vec![true],
        "after_finish sees the old value as AWSPREVIOUS"
    );
}

#[tokio::test]
async fn after_finish_sees_the_replaced_value_on_a_first_rotation() {
    let f = fixture();
    let rotation = Rotation::new(
        Arc::clone(&f.store),
        InstrumentedRotator::new(f.harness.rotator()),
        Credential::password("password")
            .generator_from_lookup(|_| None)
            .unwrap(),
    );
    for step in Step::ALL {
        rotation.run_step(&f.event(step), None).await.unwrap();
    }
    // The secret had no AWSPREVIOUS when finishSecret started: the hook
    // must still find the value the move just made AWSPREVIOUS.
    assert_eq!(rotation.rotator().after_finish_calls(), vec![true]);
}
