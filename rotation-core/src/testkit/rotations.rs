//! Rotations driven step by step, with the events Secrets Manager sends,
//! for tests that check one rotator's behaviour beyond the conformance kit.

use std::sync::{Arc, Mutex};

use super::admin::secret_strings;
use super::{new_token, SecretAdmin, StepRecorder};
use crate::error::error_chain;
use crate::rotation::{Rotation, StepOutcome};
use crate::store::VersionSelector;
use crate::{RotationError, RotationEvent, Rotator, SecretJson, SecretString, Step};

/// One rotator over one store, with every log line and error captured for
/// the leak check.
pub struct Rotations<R> {
    rotation: Rotation<Arc<dyn SecretAdmin>, R>,
    recorder: StepRecorder,
    arns: Mutex<Vec<String>>,
}

impl<R: Rotator> Rotations<R> {
    /// Rotations by `rotator` over `store`, with the default password
    /// policy for the rotator.
    pub fn new(store: Arc<dyn SecretAdmin>, rotator: R) -> Self {
        let values = rotator
            .credential()
            .generator_from_lookup(|_| None)
            .expect("the rotator's default credential format is valid");
        Self {
            rotation: Rotation::new(store, rotator, values),
            recorder: StepRecorder::new(),
            arns: Mutex::new(Vec::new()),
        }
    }

    /// The store.
    pub fn store(&self) -> &dyn SecretAdmin {
        self.rotation.store().as_ref()
    }

    /// Creates a secret holding `secret` (AWSCURRENT); returns its ARN.
    pub async fn create(&self, prefix: &str, secret: &SecretJson) -> String {
        let arn = self
            .store()
            .create_json(prefix, secret)
            .await
            .expect("create the secret");
        self.arns.lock().unwrap().push(arn.clone());
        arn
    }

    /// Starts a rotation as `RotateSecret` does; returns its token.
    pub async fn start(&self, arn: &str) -> String {
        let token = new_token();
        self.store()
            .start_rotation(arn, &token)
            .await
            .expect("start the rotation");
        token
    }

    /// Runs one step, as the Lambda invocation for it would.
    pub async fn step(
        &self,
        arn: &str,
        token: &str,
        step: Step,
    ) -> Result<StepOutcome, RotationError> {
        self.step_by(arn, token, step, None).await
    }

    /// Runs one step with a Lambda deadline.
    pub async fn step_within(
        &self,
        arn: &str,
        token: &str,
        step: Step,
        deadline: std::time::Instant,
    ) -> Result<StepOutcome, RotationError> {
        self.step_by(arn, token, step, Some(deadline)).await
    }

    async fn step_by(
        &self,
        arn: &str,
        token: &str,
        step: Step,
        deadline: Option<std::time::Instant>,
    ) -> Result<StepOutcome, RotationError> {
        let event = RotationEvent {
            step,
            secret_id: arn.to_owned(),
            token: token.to_owned(),
            rotation_token: None,
        };
        self.recorder
            .run_within(&self.rotation, &event, deadline)
            .await
    }

    /// Runs `steps` in order; panics with the error chain if one fails.
    pub async fn steps(&self, arn: &str, token: &str, steps: &[Step]) {
        for &step in steps {
            if let Err(e) = self.step(arn, token, step).await {
                panic!("{step} failed: {}", error_chain(&e));
            }
        }
    }

    /// A whole rotation; returns the new version's token.
    pub async fn rotate(&self, arn: &str) -> String {
        let token = self.start(arn).await;
        self.steps(arn, &token, &Step::ALL).await;
        token
    }

    /// The value of one version.
    pub async fn value(&self, arn: &str, selector: VersionSelector<'_>) -> SecretJson {
        let version = self
            .store()
            .get_value(arn, selector)
            .await
            .expect("read the secret")
            .unwrap_or_else(|| panic!("{selector:?} of {arn} has no value"));
        SecretJson::from_payload(&version.payload).expect("a JSON secret")
    }

    /// The log lines captured so far.
    pub fn logs(&self) -> String {
        self.recorder.logs()
    }

    /// No value of any secret these rotations touched, nor any of `others`,
    /// occurs in the captured logs or errors.
    pub async fn assert_no_leaks(&self, others: &[SecretString]) {
        let mut secrets = others.to_vec();
        let arns = self.arns.lock().unwrap().clone();
        for arn in arns {
            let snapshot = self.store().snapshot(&arn).await.expect("snapshot");
            secrets.extend(secret_strings(&snapshot));
        }
        self.recorder.assert_no_leaks(&secrets);
    }
}
