//! The four rotation steps, written once over a store and a rotator: the
//! engine [`lambda::run`](crate::lambda::run) serves, and what a tool that
//! plays Secrets Manager's part in-process (the `rotate` CLI, a test)
//! drives directly.
//!
//! Every step starts with AWS's validation (rotation enabled; the token is a
//! version of the secret; a token already AWSCURRENT makes the step a no-op;
//! otherwise the token must be AWSPENDING) and is safe to run again after it
//! succeeded or after dying at any point inside it: each writes at most once,
//! and only after checking whether the write already happened.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use tokio::time::Instant as ClockInstant;

use tracing::{info, warn};

use crate::credential::ValueGenerator;
use crate::error::{error_chain, RotationError, SecretFormatError, StoreError};
use crate::event::{RotationEvent, Step};
use crate::label::VersionLabel;
use crate::rotator::{RotationContext, Rotator};
use crate::secret::SecretJson;
use crate::store::{MoveStage, PutValue, SecretDescription, SecretStore, AWSCURRENT, AWSPENDING};

/// Time kept back from the Lambda deadline so a step that runs out can
/// still report its error before Lambda kills the process.
pub const DEADLINE_MARGIN: Duration = Duration::from_millis(1500);

/// How a step that did not fail ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepOutcome {
    /// The step did its work.
    Done,
    /// createSecret found a value already stored for the token.
    AlreadyCreated,
    /// The token is already AWSCURRENT: the rotation finished earlier.
    AlreadyCurrent,
}

impl StepOutcome {
    /// A short name for logs.
    pub fn as_str(self) -> &'static str {
        match self {
            StepOutcome::Done => "done",
            StepOutcome::AlreadyCreated => "already_created",
            StepOutcome::AlreadyCurrent => "already_current",
        }
    }
}

/// A store, a rotator and its credential's generator: everything a
/// rotation function holds between invocations.
pub struct Rotation<S, R> {
    store: S,
    rotator: R,
    values: ValueGenerator,
    prove_pending_at_finish: bool,
    proven: ProvenVersions,
}

/// How long a testSecret that passed in this process stands in for
/// finishSecret's proof of the same version. Secrets Manager sends
/// finishSecret right after testSecret; a later finishSecret proves again.
pub const PROOF_REUSE_WINDOW: Duration = Duration::from_secs(60);

/// The versions whose value this process's testSecret proved, and when:
/// a version's value never changes once stored (the service refuses a
/// second value for a version id), so the same test run again seconds
/// later by finishSecret would prove nothing new. Taken by the
/// finishSecret that uses it, so a retried finishSecret proves again.
#[derive(Default)]
struct ProvenVersions {
    // (secret ARN, version id, when): a handful at most, one per rotation
    // this process is in the middle of. Tokio's clock, which tests can
    // advance.
    entries: Mutex<Vec<(String, String, ClockInstant)>>,
}

impl ProvenVersions {
    const KEPT: usize = 16;

    fn record(&self, secret_arn: &str, version_id: &str) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.retain(|(arn, id, _)| !(arn == secret_arn && id == version_id));
        if entries.len() == Self::KEPT {
            entries.remove(0);
        }
        entries.push((
            secret_arn.to_owned(),
            version_id.to_owned(),
            ClockInstant::now(),
        ));
    }

    /// Whether testSecret proved this version within
    /// [`PROOF_REUSE_WINDOW`]; the entry is taken either way.
    fn take(&self, secret_arn: &str, version_id: &str) -> bool {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        match entries
            .iter()
            .position(|(arn, id, _)| arn == secret_arn && id == version_id)
        {
            Some(at) => entries.remove(at).2.elapsed() <= PROOF_REUSE_WINDOW,
            None => false,
        }
    }
}

/// Turns off finishSecret's proof that the pending value works
/// (`false`); on by default. See [`Rotation::proving_pending_at_finish`].
pub const PROVE_PENDING_AT_FINISH_VARIABLE: &str = "PROVE_PENDING_AT_FINISH";

impl<S: SecretStore, R: Rotator> Rotation<S, R> {
    /// Assembles a rotation from its parts.
    pub fn new(store: S, rotator: R, values: ValueGenerator) -> Self {
        Self {
            store,
            rotator,
            values,
            prove_pending_at_finish: true,
            proven: ProvenVersions::default(),
        }
    }

    /// Whether finishSecret makes sure the pending value works before it
    /// moves AWSCURRENT (default: yes). Secrets Manager runs testSecret
    /// first, but whoever may invoke the function can send finishSecret
    /// alone with a stuck rotation's token; the proof keeps AWSCURRENT off
    /// a value the backend does not accept. When this process's testSecret
    /// passed for the same version within [`PROOF_REUSE_WINDOW`], that is
    /// the proof; otherwise finishSecret reads the pending value and runs
    /// the rotator's test again (one GetSecretValue and, for a database, a
    /// login).
    pub fn proving_pending_at_finish(mut self, prove: bool) -> Self {
        self.prove_pending_at_finish = prove;
        self
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The rotator.
    pub fn rotator(&self) -> &R {
        &self.rotator
    }

    /// Runs one step, logging one line with its outcome and duration. With a
    /// `deadline` (the Lambda invocation's), the step is given until
    /// [`DEADLINE_MARGIN`] before it, and fails cleanly when that runs out.
    pub async fn run_step(
        &self,
        event: &RotationEvent,
        deadline: Option<Instant>,
    ) -> Result<StepOutcome, RotationError> {
        let started = Instant::now();
        let result = match deadline {
            None => self.step(event).await,
            Some(deadline) => {
                let budget = deadline
                    .saturating_duration_since(started)
                    .saturating_sub(DEADLINE_MARGIN);
                tokio::time::timeout(budget, self.step(event))
                    .await
                    .unwrap_or(Err(RotationError::DeadlineExceeded {
                        step: event.step,
                        budget,
                    }))
            }
        };
        let duration_ms = started.elapsed().as_millis() as u64;
        match &result {
            Ok(outcome) => info!(
                secret_id = %event.secret_id,
                token = %event.token,
                step = %event.step,
                outcome = outcome.as_str(),
                duration_ms,
                "rotation step succeeded"
            ),
            Err(error) => warn!(
                secret_id = %event.secret_id,
                token = %event.token,
                step = %event.step,
                outcome = "failed",
                duration_ms,
                error = %error_chain(error),
                "rotation step failed"
            ),
        }
        result
    }

    async fn step(&self, event: &RotationEvent) -> Result<StepOutcome, RotationError> {
        let description = self
            .store
            .describe(&event.secret_id)
            .await
            .map_err(store_error(event.step))?;
        if let Some(outcome) = validate(event, &description)? {
            if event.step == Step::FinishSecret {
                // The move happened in an earlier try; that try may have died
                // before the hook ran.
                self.rotator
                    .after_finish(&self.context(event, &description))
                    .await
                    .map_err(|source| RotationError::Rotator {
                        step: event.step,
                        source,
                    })?;
            }
            return Ok(outcome);
        }
        let ctx = self.context(event, &description);
        match event.step {
            Step::CreateSecret => self.create_secret(event, &ctx).await,
            Step::SetSecret => self.set_secret(event, &ctx).await,
            Step::TestSecret => self.test_secret(event, &ctx).await,
            Step::FinishSecret => self.finish_secret(event, &ctx, &description).await,
        }
    }

    fn context<'a>(
        &'a self,
        event: &'a RotationEvent,
        description: &'a SecretDescription,
    ) -> RotationContext<'a> {
        RotationContext {
            step: event.step,
            description,
            token: &event.token,
            store: &self.store,
            values: &self.values,
        }
    }

    async fn create_secret(
        &self,
        event: &RotationEvent,
        ctx: &RotationContext<'_>,
    ) -> Result<StepOutcome, RotationError> {
        let step = event.step;
        let current = self.load(ctx, VersionLabel::Current).await?;
        self.rotator
            .validate(&current)
            .map_err(invalid(ctx, VersionLabel::Current))?;
        if ctx
            .read(VersionLabel::Pending)
            .await
            .map_err(store_error(step))?
            .is_some()
        {
            return Ok(StepOutcome::AlreadyCreated);
        }
        let pending = self
            .rotator
            .create_pending(ctx, &current)
            .await
            .map_err(rotator_error(step))?;
        self.rotator
            .validate(&pending)
            .map_err(invalid(ctx, VersionLabel::Pending))?;
        let put = self
            .store
            .put_value(
                ctx.secret_id(),
                PutValue {
                    version_id: &event.token,
                    value: &pending.to_secret_string(),
                    stages: &[AWSPENDING],
                    rotation_token: event.rotation_token.as_deref(),
                },
            )
            .await;
        match put {
            Ok(()) => Ok(StepOutcome::Done),
            // A concurrent createSecret stored its value first; later steps
            // read whichever value the store kept.
            Err(StoreError::VersionExists { .. }) => Ok(StepOutcome::AlreadyCreated),
            Err(e) => Err(store_error(step)(e)),
        }
    }

    async fn set_secret(
        &self,
        event: &RotationEvent,
        ctx: &RotationContext<'_>,
    ) -> Result<StepOutcome, RotationError> {
        let current = self.load(ctx, VersionLabel::Current).await?;
        let pending = self.load(ctx, VersionLabel::Pending).await?;
        self.rotator
            .set_secret(ctx, &current, &pending)
            .await
            .map_err(rotator_error(event.step))?;
        Ok(StepOutcome::Done)
    }

    async fn test_secret(
        &self,
        event: &RotationEvent,
        ctx: &RotationContext<'_>,
    ) -> Result<StepOutcome, RotationError> {
        let pending = self.load(ctx, VersionLabel::Pending).await?;
        self.rotator
            .test_secret(ctx, &pending)
            .await
            .map_err(rotator_error(event.step))?;
        self.proven.record(ctx.secret_id(), ctx.token());
        Ok(StepOutcome::Done)
    }

    async fn finish_secret(
        &self,
        event: &RotationEvent,
        ctx: &RotationContext<'_>,
        description: &SecretDescription,
    ) -> Result<StepOutcome, RotationError> {
        if self.prove_pending_at_finish && !self.proven.take(ctx.secret_id(), ctx.token()) {
            let pending = self.load(ctx, VersionLabel::Pending).await?;
            self.rotator
                .test_secret(ctx, &pending)
                .await
                .map_err(rotator_error(event.step))?;
        }
        let old = description.version_with_stage(AWSCURRENT);
        let moved = self
            .store
            .move_stage(
                ctx.secret_id(),
                MoveStage {
                    stage: AWSCURRENT,
                    to_version: &event.token,
                    from_version: old,
                },
            )
            .await;
        let after = match moved {
            // What the service did: AWSCURRENT on the token, AWSPREVIOUS on
            // the old version. The hook reads AWSPREVIOUS, and must not be
            // told by the pre-move description that there is none.
            Ok(()) => description.after_promoting(&event.token),
            Err(error) => {
                // An SDK retry of a move the service already applied is
                // refused (the old version no longer holds AWSCURRENT): the
                // move is done if AWSCURRENT is on the token now.
                if !matches!(error, StoreError::Refused { .. }) {
                    return Err(store_error(event.step)(error));
                }
                let now = self
                    .store
                    .describe(ctx.secret_id())
                    .await
                    .map_err(store_error(event.step))?;
                if !now.has_stage(&event.token, AWSCURRENT) {
                    return Err(store_error(event.step)(error));
                }
                tracing::info!(
                    "finishSecret: AWSCURRENT is already on the new version (a retried move was refused after the first one applied)"
                );
                now
            }
        };
        self.rotator
            .after_finish(&self.context(event, &after))
            .await
            .map_err(rotator_error(event.step))?;
        Ok(StepOutcome::Done)
    }

    /// Reads and parses a labelled version the step cannot do without
    /// (AWSCURRENT or the pending version).
    async fn load(
        &self,
        ctx: &RotationContext<'_>,
        label: VersionLabel,
    ) -> Result<SecretJson, RotationError> {
        let version = ctx
            .read(label)
            .await
            .map_err(store_error(ctx.step()))?
            .ok_or_else(|| match label {
                VersionLabel::Pending => RotationError::PendingValueMissing {
                    step: ctx.step(),
                    secret_id: ctx.secret_id().to_owned(),
                    token: ctx.token().to_owned(),
                },
                _ => RotationError::NoCurrentValue {
                    secret_id: ctx.secret_id().to_owned(),
                },
            })?;
        SecretJson::from_payload(&version.payload).map_err(invalid(ctx, label))
    }
}

/// AWS's validation. `Ok(Some(_))` ends the step early as a no-op.
pub(crate) fn validate(
    event: &RotationEvent,
    description: &SecretDescription,
) -> Result<Option<StepOutcome>, RotationError> {
    if !description.rotation_enabled {
        return Err(RotationError::RotationDisabled {
            secret_id: description.arn.clone(),
        });
    }
    let stages =
        description
            .stages_of(&event.token)
            .ok_or_else(|| RotationError::UnknownVersion {
                secret_id: description.arn.clone(),
                token: event.token.clone(),
            })?;
    if stages.iter().any(|s| s == AWSCURRENT) {
        return Ok(Some(StepOutcome::AlreadyCurrent));
    }
    if !stages.iter().any(|s| s == AWSPENDING) {
        return Err(RotationError::NotPending {
            secret_id: description.arn.clone(),
            token: event.token.clone(),
            stages: stages.to_vec(),
        });
    }
    Ok(None)
}

fn store_error(step: Step) -> impl Fn(StoreError) -> RotationError {
    move |source| RotationError::Store { step, source }
}

fn rotator_error(step: Step) -> impl Fn(crate::RotatorError) -> RotationError {
    move |source| RotationError::Rotator { step, source }
}

fn invalid<'a>(
    ctx: &'a RotationContext<'_>,
    label: VersionLabel,
) -> impl Fn(SecretFormatError) -> RotationError + 'a {
    move |source| RotationError::InvalidSecret {
        step: ctx.step(),
        secret_id: ctx.secret_id().to_owned(),
        label,
        source,
    }
}
