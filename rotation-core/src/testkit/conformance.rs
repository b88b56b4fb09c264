//! The suite every rotator runs against its real backend.
//!
//! A rotator's test implements [`RotatorHarness`] (make a fresh credential,
//! check a login) and calls [`run_all`], or the single cases. Every case
//! captures the logs it causes and fails if a secret value of the test
//! occurs in them or in an error.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use serde_json::json;

use crate::engine::StepOutcome;
use crate::error::{error_chain, RotationError};
use crate::event::Step;
use crate::rotator::Rotator;
use crate::secret::{SecretBytes, SecretJson, SecretPayload, SecretString};
use crate::store::{MoveStage, PutValue, VersionSelector, AWSCURRENT, AWSPENDING, AWSPREVIOUS};

use super::admin::{SecretAdmin, Snapshot};
use super::faults::{FaultTiming, InstrumentedRotator};
use super::rotations::Rotations;
use super::{new_token, unique_name};

/// The key the kit adds to every secret to check unknown keys survive.
pub const UNKNOWN_KEY: &str = "kit_unknown_key";

/// The value under [`UNKNOWN_KEY`]: nested, of mixed types.
fn unknown_value() -> serde_json::Value {
    json!({"nested": [1, "two", null], "kept": true})
}

/// What a rotator's test supplies to run the suite against its backend.
#[async_trait]
pub trait RotatorHarness: Send + Sync {
    /// The rotator under test.
    type Rotator: Rotator + 'static;

    /// A rotator configured for the test backend.
    fn rotator(&self) -> Self::Rotator;

    /// A fresh credential in the backend (a new user, a new key) as the
    /// secret JSON an operator would store. Each call returns a distinct
    /// credential. Secrets it depends on (a master secret) are created in
    /// `store`.
    async fn fresh_secret(&self, store: &dyn SecretAdmin) -> SecretJson;

    /// Whether the backend accepts the credential in `secret`.
    async fn can_log_in(&self, secret: &SecretJson) -> bool;

    /// Secrets this rotator must refuse at createSecret, derived from a
    /// valid one, with a description; the kit adds the generic ones (binary,
    /// not JSON, not an object).
    fn malformed_secrets(&self, valid: &SecretJson) -> Vec<(String, SecretPayload)> {
        let _ = valid;
        Vec::new()
    }

    /// Whether the backend accepts a pending value as soon as createSecret
    /// made it (a provider-issued API key), before setSecret. When it does
    /// not (the default: a database password), the kit checks testSecret
    /// fails on a pending value setSecret has not applied.
    fn pending_works_before_set_secret(&self) -> bool {
        false
    }

    /// Whether setSecret recovers through AWSPREVIOUS when AWSCURRENT no
    /// longer logs in (an operator stored a wrong value as AWSCURRENT), as
    /// the single-user strategy does. When it does, the kit injects store
    /// faults into such a recovery too.
    fn recovers_through_previous(&self) -> bool {
        false
    }

    /// Whether the test backend tells a wrong value of the credential from
    /// the right one. Not so for IAM on moto, which checks no request
    /// signature, so any secret key authenticates there: the kit then skips
    /// `test_secret_refuses_a_value_it_never_made`, by name.
    fn backend_checks_the_value(&self) -> bool {
        true
    }

    /// Whether the rotator's new values have its declared format. Not so
    /// where a provider issues them in its own shape (an HTTP provider's
    /// keys): the kit then does not hold them to it.
    fn values_have_the_declared_format(&self) -> bool {
        true
    }

    /// Secret values outside the rotated secret that must not leak either
    /// (a master password).
    fn other_secret_values(&self) -> Vec<SecretString> {
        Vec::new()
    }
}

/// What a run of the suite covered, for the record.
#[derive(Debug, Default, Clone)]
pub struct ConformanceReport {
    /// Cases run, in order: [`CASES`] but for those in `skipped`.
    pub cases: Vec<&'static str>,
    /// Cases the harness opted out of (its `pending_works_before_set_secret`,
    /// `recovers_through_previous` or `backend_checks_the_value`), by name,
    /// so that a test states which it expects instead of counting them as
    /// run.
    pub skipped: Vec<&'static str>,
    /// Store calls made by each step of a clean rotation.
    pub calls_per_step: Vec<(Step, Vec<&'static str>)>,
    /// Each injected store fault: step, call index, operation, timing.
    pub fault_points: Vec<(Step, usize, &'static str, FaultTiming)>,
    /// Full rotations completed.
    pub rotations: usize,
}

/// The suite over one harness and one store, on the one test driver
/// ([`Rotations`]): each case runs its rotator (or a wrapped one) through
/// a driver that shares the store, the captured logs and the leak check.
pub struct Kit<'a, H: RotatorHarness> {
    harness: &'a H,
    driver: Rotations<H::Rotator>,
    report: Mutex<ConformanceReport>,
    /// Where the store-fault matrices run, when not over `driver`'s store
    /// ([`run_all_with_matrix_store`]).
    matrix: Option<Box<Kit<'a, H>>>,
}

/// A secret under test.
struct Subject {
    arn: String,
    first_version: String,
}

impl<'a, H: RotatorHarness> Kit<'a, H> {
    /// A kit over `store` (in-memory, or the AWS-SDK store against moto).
    pub fn new(harness: &'a H, store: Arc<dyn SecretAdmin>) -> Self {
        Self {
            harness,
            driver: Rotations::new(store, harness.rotator()),
            report: Mutex::new(ConformanceReport::default()),
            matrix: None,
        }
    }

    /// The kit with its two store-fault matrices run over `matrix_store`
    /// instead; see [`run_all_with_matrix_store`].
    pub fn with_matrix_store(mut self, matrix_store: Arc<dyn SecretAdmin>) -> Self {
        self.matrix = Some(Box::new(Kit::new(self.harness, matrix_store)));
        self
    }

    /// Moves what the matrix kit recorded (cases skipped, fault points,
    /// calls per step, rotations) into this kit's report.
    fn absorb_matrix_report(&self, matrix: &Self) {
        let theirs = std::mem::take(&mut *matrix.report.lock().unwrap());
        let mut ours = self.report.lock().unwrap();
        ours.skipped.extend(theirs.skipped);
        ours.fault_points.extend(theirs.fault_points);
        if ours.calls_per_step.is_empty() {
            ours.calls_per_step = theirs.calls_per_step;
        }
        ours.rotations += theirs.rotations;
    }

    fn rotation<R: Rotator>(&self, rotator: R) -> Rotations<R> {
        self.driver.with_rotator(rotator)
    }

    fn store(&self) -> &dyn SecretAdmin {
        self.driver.store()
    }

    /// Records `name` as run, unless it recorded itself as skipped.
    fn record_case(&self, name: &'static str) {
        let mut report = self.report.lock().unwrap();
        if !report.skipped.contains(&name) {
            report.cases.push(name);
        }
    }

    fn skip(&self, name: &'static str) {
        self.report.lock().unwrap().skipped.push(name);
    }

    /// A fresh credential from the harness, with the kit's unknown key.
    async fn subject(&self, prefix: &str) -> Subject {
        let mut secret = self.harness.fresh_secret(self.store()).await;
        secret.set(UNKNOWN_KEY, unknown_value());
        let arn = self.driver.create(prefix, &secret).await;
        self.recorded_subject(arn).await
    }

    /// A secret holding `payload`, recorded for the leak check.
    async fn subject_with(&self, prefix: &str, payload: SecretPayload) -> Subject {
        let arn = self.driver.create_payload(prefix, payload).await;
        self.recorded_subject(arn).await
    }

    async fn recorded_subject(&self, arn: String) -> Subject {
        let first_version = self
            .version_with(&arn, AWSCURRENT)
            .await
            .expect("a current version");
        Subject { arn, first_version }
    }

    async fn version_with(&self, arn: &str, stage: &str) -> Option<String> {
        self.store()
            .describe(arn)
            .await
            .expect("describe")
            .version_with_stage(stage)
            .map(str::to_owned)
    }

    async fn start(&self, subject: &Subject) -> String {
        self.driver.start(&subject.arn).await
    }

    /// Runs `steps`, checking after each that someone still logs in.
    async fn run_steps<R: Rotator>(
        &self,
        rotation: &Rotations<R>,
        subject: &Subject,
        token: &str,
        steps: &[Step],
    ) {
        for &step in steps {
            rotation.steps(&subject.arn, token, &[step]).await;
            self.assert_someone_logs_in(subject, &format!("after {step}"))
                .await;
        }
    }

    /// The no-lockout invariant: some labelled version logs in.
    async fn assert_someone_logs_in(&self, subject: &Subject, when: &str) {
        let snapshot = self.snapshot(subject).await;
        for version in snapshot.values() {
            let labelled = version
                .stages
                .iter()
                .any(|s| s == AWSCURRENT || s == AWSPENDING || s == AWSPREVIOUS);
            let Some(payload) = &version.payload else {
                continue;
            };
            if !labelled {
                continue;
            }
            if let Ok(secret) = SecretJson::from_payload(payload) {
                if self.harness.can_log_in(&secret).await {
                    return;
                }
            }
        }
        panic!(
            "lockout {when}: no labelled version of {} logs in",
            subject.arn
        );
    }

    async fn snapshot(&self, subject: &Subject) -> Snapshot {
        self.store().snapshot(&subject.arn).await.expect("snapshot")
    }

    async fn value(&self, subject: &Subject, selector: VersionSelector<'_>) -> SecretJson {
        self.driver.value(&subject.arn, selector).await
    }

    /// The end state of a completed rotation from `previous_version` to
    /// `token`: labels, the new value, unknown keys, a working login.
    async fn assert_rotated(&self, subject: &Subject, token: &str, previous_version: &str) {
        let description = self.store().describe(&subject.arn).await.unwrap();
        assert!(
            description.has_stage(token, AWSCURRENT),
            "AWSCURRENT must be on the new version: {:?}",
            description.versions
        );
        assert!(
            description.has_stage(previous_version, AWSPREVIOUS),
            "AWSPREVIOUS must be on the old version: {:?}",
            description.versions
        );
        let stray_pending = description
            .version_with_stage(AWSPENDING)
            .is_some_and(|v| v != token);
        assert!(!stray_pending, "AWSPENDING left on another version");
        let current = self
            .value(subject, VersionSelector::Stage(AWSCURRENT))
            .await;
        let previous = self
            .value(subject, VersionSelector::Id(previous_version))
            .await;
        let field = self.driver.credential().field();
        assert_ne!(
            current.get(field),
            previous.get(field),
            "the rotation must change the credential's field `{field}`"
        );
        if let (Some(new), Some(old)) = (
            current.get(field).and_then(|v| v.as_str()),
            previous.get(field).and_then(|v| v.as_str()),
        ) {
            assert!(
                !near_copy(new, old),
                "the new value of `{field}` is a near copy of the old one: a new credential must not be derived from the old"
            );
            assert!(
                !self.harness.values_have_the_declared_format()
                    || self.driver.values().admits(new),
                "the new value of `{field}` ({} characters) is not of the format the rotator declares ({:?})",
                new.chars().count(),
                self.driver.credential().format()
            );
        }
        assert_eq!(
            current.get(UNKNOWN_KEY),
            Some(&unknown_value()),
            "unknown keys must survive rotation"
        );
        assert!(
            self.harness.can_log_in(&current).await,
            "the new AWSCURRENT must log in"
        );
    }

    /// Values are never lost or changed: every version that held a value
    /// before still holds the same one.
    fn assert_values_kept(before: &Snapshot, after: &Snapshot, when: &str) {
        for (id, version) in before {
            if let Some(payload) = &version.payload {
                let kept = after.get(id).and_then(|v| v.payload.as_ref());
                assert!(
                    kept == Some(payload),
                    "{when}: the value of version {id} was lost or changed"
                );
            }
        }
    }

    /// Four steps, each once: the rotation completes.
    pub async fn full_rotation(&self) {
        let subject = self.subject("kit-full").await;
        let token = self.start(&subject).await;
        let rotation = self.rotation(self.harness.rotator());
        for step in Step::ALL {
            let outcome = rotation.step(&subject.arn, &token, step).await;
            assert_eq!(
                outcome.map_err(|e| error_chain(&e)),
                Ok(StepOutcome::Done),
                "{step}"
            );
            self.assert_someone_logs_in(&subject, &format!("after {step}"))
                .await;
        }
        self.assert_rotated(&subject, &token, &subject.first_version)
            .await;
        self.report.lock().unwrap().rotations += 1;
    }

    /// Two rotations back to back: the second starts from the first's value.
    pub async fn two_rotations_in_a_row(&self) {
        let subject = self.subject("kit-twice").await;
        let rotation = self.rotation(self.harness.rotator());
        let first = self.start(&subject).await;
        self.run_steps(&rotation, &subject, &first, &Step::ALL)
            .await;
        self.assert_rotated(&subject, &first, &subject.first_version)
            .await;
        let second = self.start(&subject).await;
        self.run_steps(&rotation, &subject, &second, &Step::ALL)
            .await;
        self.assert_rotated(&subject, &second, &first).await;
        let field = self.driver.credential().field();
        let original = self
            .value(&subject, VersionSelector::Id(&subject.first_version))
            .await;
        let current = self
            .value(&subject, VersionSelector::Stage(AWSCURRENT))
            .await;
        assert_ne!(
            current.get(field),
            original.get(field),
            "the second rotation brought back the first value of `{field}`: credentials must not cycle"
        );
        self.report.lock().unwrap().rotations += 2;
    }

    /// Each step runs twice in a row; the second run changes nothing.
    pub async fn each_step_twice(&self) {
        let subject = self.subject("kit-repeat").await;
        let token = self.start(&subject).await;
        let rotation = self.rotation(self.harness.rotator());
        for step in Step::ALL {
            self.run_steps(&rotation, &subject, &token, &[step]).await;
            let before = self.snapshot(&subject).await;
            let again = rotation.step(&subject.arn, &token, step).await;
            let expected = match step {
                Step::CreateSecret => StepOutcome::AlreadyCreated,
                Step::FinishSecret => StepOutcome::AlreadyCurrent,
                _ => StepOutcome::Done,
            };
            assert_eq!(
                again.map_err(|e| error_chain(&e)),
                Ok(expected),
                "{step} again"
            );
            assert_eq!(
                before,
                self.snapshot(&subject).await,
                "{step} again changed the store"
            );
        }
        // The whole rotation replayed after it finished: every step a no-op.
        for step in Step::ALL {
            let replay = rotation.step(&subject.arn, &token, step).await;
            assert_eq!(
                replay.map_err(|e| error_chain(&e)),
                Ok(StepOutcome::AlreadyCurrent)
            );
        }
        self.assert_rotated(&subject, &token, &subject.first_version)
            .await;
        self.report.lock().unwrap().rotations += 1;
    }

    /// testSecret proves something: on a pending value the backend was never
    /// given (createSecret ran, setSecret did not), it fails and changes
    /// nothing; the rotation then completes from setSecret.
    pub async fn test_secret_refuses_an_unapplied_value(&self) {
        if self.harness.pending_works_before_set_secret() {
            self.skip("test_secret_refuses_an_unapplied_value");
            return;
        }
        let subject = self.subject("kit-untested").await;
        let token = self.start(&subject).await;
        let rotation = self.rotation(self.harness.rotator());
        self.run_steps(&rotation, &subject, &token, &[Step::CreateSecret])
            .await;
        let before = self.snapshot(&subject).await;
        let tested = rotation.step(&subject.arn, &token, Step::TestSecret).await;
        assert!(
            tested.is_err(),
            "testSecret must fail on a pending value setSecret has not applied"
        );
        assert_eq!(
            before,
            self.snapshot(&subject).await,
            "a failed testSecret changed the store"
        );
        self.run_steps(&rotation, &subject, &token, &Step::ALL[1..])
            .await;
        self.assert_rotated(&subject, &token, &subject.first_version)
            .await;
        self.report.lock().unwrap().rotations += 1;
    }

    /// testSecret proves the pending value, not another one that works: on
    /// an AWSPENDING the kit wrote itself (AWSCURRENT with the credential
    /// replaced by a value no rotator made and no backend holds), it fails
    /// and changes nothing. The case above cannot tell a testSecret that
    /// checks AWSCURRENT from a right one when the backend accepts a
    /// pending value before setSecret (an issued key); this one can, in
    /// both kinds.
    pub async fn test_secret_refuses_a_value_it_never_made(&self) {
        if !self.harness.backend_checks_the_value() {
            self.skip("test_secret_refuses_a_value_it_never_made");
            return;
        }
        let subject = self.subject("kit-foreign").await;
        let token = self.start(&subject).await;
        let mut foreign = self
            .value(&subject, VersionSelector::Stage(AWSCURRENT))
            .await;
        foreign.set(
            self.driver.credential().field(),
            "a value no rotator made, never given to the backend",
        );
        self.store()
            .put_value(
                &subject.arn,
                PutValue {
                    version_id: &token,
                    value: &foreign.to_secret_string(),
                    stages: &[AWSPENDING],
                    rotation_token: None,
                },
            )
            .await
            .expect("store the kit's own pending value");
        let before = self.snapshot(&subject).await;
        let rotation = self.rotation(self.harness.rotator());
        let tested = rotation.step(&subject.arn, &token, Step::TestSecret).await;
        assert!(
            tested.is_err(),
            "testSecret must fail on a pending value the rotator never made"
        );
        assert_eq!(
            before,
            self.snapshot(&subject).await,
            "a failed testSecret changed the store"
        );
        self.assert_someone_logs_in(&subject, "after testSecret refused a foreign value")
            .await;
    }

    /// A fresh subject rotated `times` times; returns it with the version
    /// AWSCURRENT is on.
    async fn rotated_subject<R: Rotator>(
        &self,
        rotation: &Rotations<R>,
        prefix: &str,
        times: usize,
    ) -> (Subject, String) {
        let subject = self.subject(prefix).await;
        let mut current = subject.first_version.clone();
        for _ in 0..times {
            let token = self.start(&subject).await;
            self.run_steps(rotation, &subject, &token, &Step::ALL).await;
            current = token;
        }
        (subject, current)
    }

    /// The store calls each step makes in a clean rotation, after `rotated`
    /// earlier ones.
    async fn calls_per_step(&self, rotated: usize) -> Vec<(Step, Vec<&'static str>)> {
        let rotation = self.rotation(self.harness.rotator());
        let (subject, _) = self.rotated_subject(&rotation, "kit-count", rotated).await;
        let token = self.start(&subject).await;
        let mut calls = Vec::new();
        for step in Step::ALL {
            rotation.faults().disarm();
            self.run_steps(&rotation, &subject, &token, &[step]).await;
            calls.push((step, rotation.faults().take_log()));
        }
        self.report.lock().unwrap().rotations += 1;
        calls
    }

    /// A failure injected at every store call of every step, before and
    /// after the call takes effect, in a first rotation and in a second one
    /// (for alternating users, back from the clone to the original); then
    /// the rotation resumes, from the failed step and, separately, from
    /// createSecret (as a retried RotateSecret does). At every point some
    /// labelled version logs in, no stored value is lost or changed, and
    /// the resumed rotation ends right.
    pub async fn fault_at_every_store_call(&self) {
        match &self.matrix {
            Some(matrix) => {
                matrix.fault_at_every_store_call_here().await;
                self.absorb_matrix_report(matrix);
            }
            None => self.fault_at_every_store_call_here().await,
        }
    }

    async fn fault_at_every_store_call_here(&self) {
        for rotated in [0, 1] {
            self.fault_at_every_store_call_after(rotated).await;
        }
    }

    async fn fault_at_every_store_call_after(&self, rotated: usize) {
        let calls = self.calls_per_step(rotated).await;
        if rotated == 0 {
            self.report.lock().unwrap().calls_per_step = calls.clone();
        }
        for (index, (step, operations)) in calls.iter().enumerate() {
            for (at, operation) in operations.iter().enumerate() {
                for timing in [FaultTiming::Before, FaultTiming::After] {
                    for resume_from_start in [false, true] {
                        let when =
                            format!(
                            "fault {timing:?} call {at} ({operation}) of {step} in rotation {}, resumed from {}",
                            rotated + 1,
                            if resume_from_start { "createSecret" } else { "the failed step" }
                        );
                        let rotation = self.rotation(self.harness.rotator());
                        let (subject, previous) =
                            self.rotated_subject(&rotation, "kit-fault", rotated).await;
                        let token = self.start(&subject).await;
                        self.run_steps(&rotation, &subject, &token, &Step::ALL[..index])
                            .await;
                        let before = self.snapshot(&subject).await;
                        rotation.faults().arm(at, timing);
                        let failed = rotation.step(&subject.arn, &token, *step).await;
                        assert!(rotation.faults().fired(), "{when}: the fault did not fire");
                        assert!(failed.is_err(), "{when}: the step must report the failure");
                        rotation.faults().disarm();
                        Self::assert_values_kept(&before, &self.snapshot(&subject).await, &when);
                        self.assert_someone_logs_in(&subject, &when).await;
                        let resume = if resume_from_start {
                            &Step::ALL[..]
                        } else {
                            &Step::ALL[index..]
                        };
                        self.run_steps(&rotation, &subject, &token, resume).await;
                        self.assert_rotated(&subject, &token, &previous).await;
                        let mut report = self.report.lock().unwrap();
                        report.rotations += 1 + rotated;
                        if !resume_from_start && rotated == 0 {
                            report.fault_points.push((*step, at, operation, timing));
                        }
                    }
                }
            }
        }
    }

    /// A subject rotated once, then hand-edited: an operator stored a wrong
    /// password as AWSCURRENT, so the working value is AWSPREVIOUS.
    async fn out_of_step_subject<R: Rotator>(&self, rotation: &Rotations<R>) -> Subject {
        let (subject, rotated) = self.rotated_subject(rotation, "kit-recovery", 1).await;
        let mut wrong = self
            .value(&subject, VersionSelector::Stage(AWSCURRENT))
            .await;
        wrong.set(
            self.driver.credential().field(),
            "a mistyped value the backend never had",
        );
        let edit = new_token();
        self.store()
            .put_value(
                &subject.arn,
                PutValue {
                    version_id: &edit,
                    value: &wrong.to_secret_string(),
                    stages: &["HAND_EDIT"],
                    rotation_token: None,
                },
            )
            .await
            .expect("store the hand edit");
        self.store()
            .move_stage(
                &subject.arn,
                MoveStage {
                    stage: AWSCURRENT,
                    to_version: &edit,
                    from_version: Some(&rotated),
                },
            )
            .await
            .expect("stage the hand edit AWSCURRENT");
        // The finished rotation left AWSPENDING on the version that is now
        // AWSPREVIOUS, which would block the next rotation; the service's
        // own hand edit clears it. Leave it where a finished rotation
        // would: on AWSCURRENT.
        let labels = self.store().describe(&subject.arn).await.unwrap();
        if labels.has_stage(&rotated, AWSPENDING) {
            self.store()
                .move_stage(
                    &subject.arn,
                    MoveStage {
                        stage: AWSPENDING,
                        to_version: &edit,
                        from_version: Some(&rotated),
                    },
                )
                .await
                .expect("move AWSPENDING with AWSCURRENT");
        }
        subject
    }

    /// A failure before and after every store call of a setSecret that
    /// recovers through AWSPREVIOUS (the AWSPREVIOUS read included), then
    /// the rotation resumed: some labelled version logs in throughout, no
    /// value is lost, and the new AWSCURRENT logs in.
    pub async fn fault_during_recovery_through_previous(&self) {
        match &self.matrix {
            Some(matrix) => {
                matrix.fault_during_recovery_through_previous_here().await;
                self.absorb_matrix_report(matrix);
            }
            None => self.fault_during_recovery_through_previous_here().await,
        }
    }

    async fn fault_during_recovery_through_previous_here(&self) {
        if !self.harness.recovers_through_previous() {
            self.skip("fault_during_recovery_through_previous");
            return;
        }
        let rotation = self.rotation(self.harness.rotator());
        let subject = self.out_of_step_subject(&rotation).await;
        let token = self.start(&subject).await;
        self.run_steps(&rotation, &subject, &token, &[Step::CreateSecret])
            .await;
        rotation.faults().disarm();
        self.run_steps(&rotation, &subject, &token, &[Step::SetSecret])
            .await;
        let operations = rotation.faults().take_log();
        assert!(
            operations.len() >= 4,
            "a recovering setSecret reads AWSPREVIOUS: {operations:?}"
        );
        for (at, operation) in operations.iter().enumerate() {
            for timing in [FaultTiming::Before, FaultTiming::After] {
                let when =
                    format!("fault {timing:?} call {at} ({operation}) of a recovering setSecret");
                let rotation = self.rotation(self.harness.rotator());
                let subject = self.out_of_step_subject(&rotation).await;
                let token = self.start(&subject).await;
                self.run_steps(&rotation, &subject, &token, &[Step::CreateSecret])
                    .await;
                let before = self.snapshot(&subject).await;
                rotation.faults().arm(at, timing);
                let failed = rotation.step(&subject.arn, &token, Step::SetSecret).await;
                assert!(rotation.faults().fired(), "{when}: the fault did not fire");
                assert!(failed.is_err(), "{when}: the step must report the failure");
                rotation.faults().disarm();
                Self::assert_values_kept(&before, &self.snapshot(&subject).await, &when);
                self.assert_someone_logs_in(&subject, &when).await;
                self.run_steps(&rotation, &subject, &token, &Step::ALL[1..])
                    .await;
                let current = self
                    .value(&subject, VersionSelector::Stage(AWSCURRENT))
                    .await;
                assert!(
                    self.harness.can_log_in(&current).await,
                    "{when}: the resumed rotation must end with a working AWSCURRENT"
                );
                self.report.lock().unwrap().rotations += 2;
            }
        }
    }

    /// setSecret changes the backend, then dies before reporting success;
    /// the retried rotation must still find a working login and complete.
    pub async fn crash_after_backend_change(&self) {
        for resume_from_start in [false, true] {
            let subject = self.subject("kit-crash").await;
            let token = self.start(&subject).await;
            let rotation = self.rotation(InstrumentedRotator::dying_after_set_secret(
                self.harness.rotator(),
            ));
            self.run_steps(&rotation, &subject, &token, &[Step::CreateSecret])
                .await;
            let died = rotation.step(&subject.arn, &token, Step::SetSecret).await;
            assert!(died.is_err(), "the injected crash must fail setSecret");
            self.assert_someone_logs_in(&subject, "after a crash in setSecret")
                .await;
            let resume = if resume_from_start {
                &Step::ALL[..]
            } else {
                &Step::ALL[1..]
            };
            self.run_steps(&rotation, &subject, &token, resume).await;
            self.assert_rotated(&subject, &token, &subject.first_version)
                .await;
            self.report.lock().unwrap().rotations += 1;
        }
    }

    /// Events the state machine must refuse, each with nothing changed.
    pub async fn bad_events_change_nothing(&self) {
        let rotation = self.rotation(self.harness.rotator());

        // A secret whose rotation was never enabled.
        let disabled = self.subject("kit-disabled").await;
        let version = disabled.first_version.clone();
        for step in Step::ALL {
            self.expect_refused(&rotation, &disabled, &version, step, |e| {
                matches!(e, RotationError::RotationDisabled { .. })
            })
            .await;
        }

        // A token that is no version of the secret.
        let subject = self.subject("kit-bad-event").await;
        let token = self.start(&subject).await;
        for step in Step::ALL {
            self.expect_refused(&rotation, &subject, &new_token(), step, |e| {
                matches!(e, RotationError::UnknownVersion { .. })
            })
            .await;
        }
        // setSecret and testSecret before createSecret stored a value.
        for step in [Step::SetSecret, Step::TestSecret] {
            self.expect_refused(&rotation, &subject, &token, step, |e| {
                matches!(e, RotationError::PendingValueMissing { .. })
            })
            .await;
        }
        // An old version that is not the rotation in progress.
        self.run_steps(&rotation, &subject, &token, &Step::ALL)
            .await;
        let next = self.start(&subject).await;
        let old = subject.first_version.clone();
        for step in Step::ALL {
            self.expect_refused(&rotation, &subject, &old, step, |e| {
                matches!(e, RotationError::NotPending { .. })
            })
            .await;
        }
        // The in-progress rotation still completes after all that.
        self.run_steps(&rotation, &subject, &next, &Step::ALL).await;
        self.assert_rotated(&subject, &next, &token).await;

        // A secret that does not exist.
        let missing = Subject {
            arn: unique_name("kit-missing"),
            first_version: new_token(),
        };
        let result = rotation
            .step(&missing.arn, &missing.first_version, Step::CreateSecret)
            .await;
        assert!(
            matches!(result, Err(RotationError::Store { .. })),
            "a missing secret: {result:?}"
        );
        self.report.lock().unwrap().rotations += 2;
    }

    async fn expect_refused<R: Rotator>(
        &self,
        rotation: &Rotations<R>,
        subject: &Subject,
        token: &str,
        step: Step,
        expected: impl Fn(&RotationError) -> bool,
    ) {
        let before = self.snapshot(subject).await;
        let result = rotation.step(&subject.arn, token, step).await;
        match &result {
            Err(e) if expected(e) => {}
            other => panic!("{step} with token {token}: unexpected {other:?}"),
        }
        assert_eq!(
            before,
            self.snapshot(subject).await,
            "a refused {step} changed the store"
        );
        let current = self
            .value(subject, VersionSelector::Stage(AWSCURRENT))
            .await;
        assert!(
            self.harness.can_log_in(&current).await,
            "a refused {step} broke the current login"
        );
    }

    /// Secrets that createSecret must refuse, naming the problem, with
    /// nothing written.
    pub async fn bad_secrets_change_nothing(&self) {
        let valid = self.harness.fresh_secret(self.store()).await;
        let mut cases: Vec<(String, SecretPayload)> = vec![
            (
                "a binary secret".into(),
                SecretPayload::Binary(SecretBytes::new(
                    valid.to_secret_string().expose().as_bytes(),
                )),
            ),
            (
                "not JSON".into(),
                SecretPayload::String(SecretString::new(format!(
                    "{{{}",
                    valid.to_secret_string().expose()
                ))),
            ),
            (
                "a JSON array".into(),
                SecretPayload::String(SecretString::new(format!(
                    "[{}]",
                    valid.to_secret_string().expose()
                ))),
            ),
        ];
        cases.extend(self.harness.malformed_secrets(&valid));
        let rotation = self.rotation(self.harness.rotator());
        for (what, payload) in cases {
            let subject = self.subject_with("kit-bad-secret", payload).await;
            let token = self.start(&subject).await;
            let before = self.snapshot(&subject).await;
            let result = rotation
                .step(&subject.arn, &token, Step::CreateSecret)
                .await;
            assert!(
                matches!(result, Err(RotationError::InvalidSecret { .. })),
                "{what}: createSecret must refuse it as an invalid secret, got {:?}",
                result.map_err(|e| error_chain(&e))
            );
            assert_eq!(
                before,
                self.snapshot(&subject).await,
                "{what}: the store changed"
            );
        }
    }

    /// No secret value of this kit's run occurs in the captured logs or in
    /// any error message or `Debug` print the steps returned.
    pub async fn assert_no_leaks(&self) {
        let others = self.harness.other_secret_values();
        self.driver.assert_no_leaks(&others).await;
        if let Some(matrix) = &self.matrix {
            matrix.driver.assert_no_leaks(&others).await;
        }
    }

    /// The captured logs so far (JSON lines), the matrix kit's last.
    pub fn logs(&self) -> String {
        match &self.matrix {
            Some(matrix) => self.driver.logs() + &matrix.driver.logs(),
            None => self.driver.logs(),
        }
    }

    /// What the cases run so far covered.
    pub fn report(&self) -> ConformanceReport {
        self.report.lock().unwrap().clone()
    }
}

/// Whether `new` is `old` with few changes: more than half of the
/// positions alike, in a value long enough (12 characters) for two
/// independent random values to be told apart so. Random values of any
/// alphabet this project uses share about one position in ten; a value
/// made by editing the old one shares nearly all.
fn near_copy(new: &str, old: &str) -> bool {
    let (new, old): (Vec<char>, Vec<char>) = (new.chars().collect(), old.chars().collect());
    let length = new.len().min(old.len());
    if length < 12 {
        return false;
    }
    let alike = new.iter().zip(&old).filter(|(a, b)| a == b).count();
    alike * 2 > length
}

/// Asserts that `report` covers every case: those of `skipped` were
/// skipped, by name, and every other case of [`CASES`] ran, in order. A
/// harness's test states the cases it opts out of, so a case that stops
/// running is a failure, not a silent gap.
pub fn assert_covered(report: &ConformanceReport, skipped: &[&str]) {
    assert_eq!(report.skipped, skipped, "the cases skipped");
    let expected: Vec<&str> = CASES
        .iter()
        .copied()
        .filter(|case| !skipped.contains(case))
        .collect();
    assert_eq!(report.cases, expected, "the cases run");
}

/// Declares the kit's cases once: [`CASES`] lists them and [`run_all`]
/// runs them in that order, so adding a case is one line here.
macro_rules! kit_cases {
    ($($case:ident),+ $(,)?) => {
        /// Every case [`run_all`] runs, in order, by name.
        pub const CASES: &[&str] = &[$(stringify!($case)),+];

        /// Runs every case, then the leak check, and returns what was
        /// covered: its `cases` are [`CASES`] less its `skipped`.
        pub async fn run_all<H: RotatorHarness>(
            harness: &H,
            store: Arc<dyn SecretAdmin>,
        ) -> ConformanceReport {
            run_kit(Kit::new(harness, store)).await
        }

        /// [`run_all`], with the two store-fault matrices
        /// (`fault_at_every_store_call`, `fault_during_recovery_through_previous`)
        /// run over `matrix_store` and every other case over `store`.
        ///
        /// The matrices make about three quarters of the kit's store
        /// calls, each a whole rotation with a failure injected by the
        /// kit, not by the store: what they test is how the state machine
        /// and the rotator resume, which no store's behaviour changes once
        /// the stores answer alike. So a rotator's kit runs them over the
        /// in-memory store (whose answers match moto's, by
        /// `store_contract`) and everything else over moto, and the state
        /// machine's own kit runs them all over moto; over moto a kit's
        /// time is moto's CPU.
        pub async fn run_all_with_matrix_store<H: RotatorHarness>(
            harness: &H,
            store: Arc<dyn SecretAdmin>,
            matrix_store: Arc<dyn SecretAdmin>,
        ) -> ConformanceReport {
            run_kit(Kit::new(harness, store).with_matrix_store(matrix_store)).await
        }

        async fn run_kit<H: RotatorHarness>(kit: Kit<'_, H>) -> ConformanceReport {
            $(
                kit.$case().await;
                kit.record_case(stringify!($case));
            )+
            kit.assert_no_leaks().await;
            kit.report()
        }
    };
}

kit_cases!(
    full_rotation,
    two_rotations_in_a_row,
    each_step_twice,
    test_secret_refuses_an_unapplied_value,
    test_secret_refuses_a_value_it_never_made,
    fault_at_every_store_call,
    fault_during_recovery_through_previous,
    crash_after_backend_change,
    bad_events_change_nothing,
    bad_secrets_change_nothing,
);
