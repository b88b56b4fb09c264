//! The one test driver: rotations run step by step with the events Secrets
//! Manager sends, every log line and error captured for the leak check. A
//! rotator's own tests use it directly; the conformance kit is built on it.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use super::admin::secret_strings;
use super::faults::FaultyStore;
use super::{new_token, SecretAdmin, StepRecorder};
use crate::credential::{Credential, ValueGenerator};
use crate::engine::{Rotation, StepOutcome};
use crate::error::error_chain;
use crate::secret::SecretPayload;
use crate::store::VersionSelector;
use crate::{
    error::RotationError, event::RotationEvent, event::Step, Rotator, SecretJson, SecretString,
};

/// What every rotation of one driver shares, whichever rotator runs it.
struct Session {
    store: Arc<dyn SecretAdmin>,
    credential: Credential,
    values: ValueGenerator,
    recorder: StepRecorder,
    arns: Mutex<Vec<String>>,
}

/// One rotator over one store, through a [`FaultyStore`] that fails a call
/// only when armed.
pub struct Rotations<R> {
    rotation: Rotation<FaultyStore<Arc<dyn SecretAdmin>>, R>,
    session: Arc<Session>,
}

impl<R: Rotator> Rotations<R> {
    /// Rotations by `rotator` over `store`, with its credential's default
    /// format (no `PASSWORD_LENGTH`/`EXCLUDE_*` settings).
    pub fn new(store: Arc<dyn SecretAdmin>, rotator: R) -> Self {
        let credential = rotator.credential();
        let values = credential
            .generator_from_lookup(|_| None)
            .expect("the rotator's default credential format is valid");
        let session = Session {
            store,
            credential,
            values,
            recorder: StepRecorder::new(),
            arns: Mutex::new(Vec::new()),
        };
        Self::sharing(Arc::new(session), rotator)
    }

    fn sharing(session: Arc<Session>, rotator: R) -> Self {
        let store = FaultyStore::new(Arc::clone(&session.store));
        Self {
            rotation: Rotation::new(store, rotator, session.values.clone()),
            session,
        }
    }

    /// Rotations by another rotator (a wrapped or broken one) sharing this
    /// driver's store, credential format, captured logs and leak check, with
    /// a fault injector of its own.
    pub fn with_rotator<R2: Rotator>(&self, rotator: R2) -> Rotations<R2> {
        Rotations::sharing(Arc::clone(&self.session), rotator)
    }

    /// The store.
    pub fn store(&self) -> &dyn SecretAdmin {
        self.session.store.as_ref()
    }

    /// The fault injector between these rotations and the store.
    pub fn faults(&self) -> &FaultyStore<Arc<dyn SecretAdmin>> {
        self.rotation.store()
    }

    /// The rotated field, as the rotator declared it.
    pub fn credential(&self) -> &Credential {
        &self.session.credential
    }

    /// The generator of new values these rotations use: the declared
    /// format, without `PASSWORD_*`/`EXCLUDE_*` settings.
    pub fn values(&self) -> &ValueGenerator {
        &self.session.values
    }

    /// Creates a secret holding `secret` (AWSCURRENT); returns its ARN.
    pub async fn create(&self, prefix: &str, secret: &SecretJson) -> String {
        let payload = SecretPayload::String(secret.to_secret_string());
        self.create_payload(prefix, payload).await
    }

    /// Creates a secret holding `payload`, which need not be valid JSON.
    pub async fn create_payload(&self, prefix: &str, payload: SecretPayload) -> String {
        let arn = self
            .store()
            .create_secret(&super::unique_name(prefix), payload)
            .await
            .expect("create the secret");
        self.session.arns.lock().unwrap().push(arn.clone());
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
        deadline: Instant,
    ) -> Result<StepOutcome, RotationError> {
        self.step_by(arn, token, step, Some(deadline)).await
    }

    async fn step_by(
        &self,
        arn: &str,
        token: &str,
        step: Step,
        deadline: Option<Instant>,
    ) -> Result<StepOutcome, RotationError> {
        let event = RotationEvent {
            step,
            secret_id: arn.to_owned(),
            token: token.to_owned(),
            rotation_token: Some("test-rotation-token".to_owned()),
        };
        self.session
            .recorder
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

    /// The AWSCURRENT value.
    pub async fn current(&self, arn: &str) -> SecretJson {
        self.value(arn, VersionSelector::Stage(crate::store::AWSCURRENT))
            .await
    }

    /// The log lines captured so far (JSON lines).
    pub fn logs(&self) -> String {
        self.session.recorder.logs()
    }

    /// No value of any secret created through this driver (every version,
    /// the rotated field whatever its name), nor any of `others`, occurs in
    /// the captured logs, errors or `Debug` prints of errors.
    pub async fn assert_no_leaks(&self, others: &[SecretString]) {
        let mut secrets = others.to_vec();
        let field = self.session.credential.field();
        let arns = self.session.arns.lock().unwrap().clone();
        for arn in arns {
            let snapshot = self.store().snapshot(&arn).await.expect("snapshot");
            secrets.extend(secret_strings(&snapshot));
            secrets.extend(snapshot.values().filter_map(|version| {
                let json = SecretJson::from_payload(version.payload.as_ref()?).ok()?;
                json.required_secret(field).ok()
            }));
        }
        self.session.recorder.assert_no_leaks(&secrets);
    }
}
