//! Running a rotator as a Lambda function.
//!
//! A rotator binary's `main` is one call:
//!
//! ```no_run
//! # use rotation_core::{Rotator, RotationContext, RotatorError, SecretJson};
//! # struct MyRotator;
//! # #[async_trait::async_trait]
//! # impl Rotator for MyRotator {
//! #     async fn set_secret(&self, _: &RotationContext<'_>, _: &SecretJson, _: &SecretJson) -> Result<(), RotatorError> { Ok(()) }
//! #     async fn test_secret(&self, _: &RotationContext<'_>, _: &SecretJson) -> Result<(), RotatorError> { Ok(()) }
//! # }
//! #[tokio::main]
//! async fn main() -> Result<(), rotation_core::lambda::Error> {
//!     rotation_core::lambda::run(MyRotator).await
//! }
//! ```

use std::sync::Arc;
use std::time::{Instant, SystemTime};

use lambda_runtime::{service_fn, Diagnostic, LambdaEvent};
use serde_json::Value;

use crate::engine::Rotation;
use crate::error::{error_chain, RotationError, SettingsError};
use crate::event::RotationEvent;
use crate::rotator::Rotator;
use crate::store::AwsSecretStore;

/// The error `main` returns when the function cannot start or the runtime
/// fails.
pub type Error = lambda_runtime::Error;

/// Initialises logging, reads the settings (an impossible password policy
/// stops the function here, before it serves any rotation), builds the
/// Secrets Manager store from the environment, and serves invocations.
///
/// Logs go to stdout through `tracing`, one JSON object per line when
/// `AWS_LAMBDA_LOG_FORMAT=JSON`; the level comes from `AWS_LAMBDA_LOG_LEVEL`
/// or `RUST_LOG` (default INFO). At any level, the SDK and HTTP crates are
/// capped below the level at which they print request or response bodies
/// ([`logging`](crate::logging)).
pub async fn run<R: Rotator + 'static>(rotator: R) -> Result<(), Error> {
    run_with(|| Ok(rotator)).await
}

/// [`run`] for a rotator built from settings: `build` runs after logging is
/// set up, so a bad setting is logged, naming the variable, and stops the
/// function before it serves any rotation.
///
/// ```no_run
/// # use rotation_core::{Rotator, RotationContext, RotatorError, SecretJson};
/// # use rotation_core::error::SettingsError;
/// # struct MyRotator;
/// # impl MyRotator { fn from_env() -> Result<Self, SettingsError> { Ok(MyRotator) } }
/// # #[async_trait::async_trait]
/// # impl Rotator for MyRotator {
/// #     async fn set_secret(&self, _: &RotationContext<'_>, _: &SecretJson, _: &SecretJson) -> Result<(), RotatorError> { Ok(()) }
/// #     async fn test_secret(&self, _: &RotationContext<'_>, _: &SecretJson) -> Result<(), RotatorError> { Ok(()) }
/// # }
/// #[tokio::main]
/// async fn main() -> Result<(), rotation_core::lambda::Error> {
///     rotation_core::lambda::run_with(MyRotator::from_env).await
/// }
/// ```
pub async fn run_with<R, F>(build: F) -> Result<(), Error>
where
    R: Rotator + 'static,
    F: FnOnce() -> Result<R, SettingsError>,
{
    crate::logging::init();
    let settings = build().and_then(|rotator| {
        let values = rotator.credential().generator_from_env()?;
        let prove = crate::settings::flag(
            &crate::settings::env,
            crate::engine::PROVE_PENDING_AT_FINISH_VARIABLE,
            true,
        )?;
        Ok((rotator, values, prove))
    });
    let (rotator, values, prove) = settings.inspect_err(
        |e| tracing::error!(error = %e, "invalid settings; the function cannot start"),
    )?;
    let store = AwsSecretStore::from_env().await;
    let rotation = Arc::new(Rotation::new(store, rotator, values).proving_pending_at_finish(prove));
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let rotation = Arc::clone(&rotation);
        async move { handle(&rotation, event).await }
    }))
    .await
}

/// Serves one invocation: parses the event and runs its step within the
/// invocation's deadline. The response is `null`; a failure is a Lambda
/// error response whose type names the failure and whose message is the
/// error's whole chain (never a secret value). [`run`] serves each
/// invocation with it; tests call it with events of their own.
pub async fn handle<S, R>(
    rotation: &Rotation<S, R>,
    event: LambdaEvent<Value>,
) -> Result<(), StepFailure>
where
    S: crate::store::SecretStore,
    R: Rotator,
{
    let parsed = RotationEvent::from_json(&event.payload).map_err(|e| {
        let error = RotationError::from(e);
        tracing::warn!(error = %error, "rejected rotation event");
        StepFailure::from(error)
    })?;
    // A zero deadline means the runtime gave none (only in tests).
    let deadline = (event.context.deadline != 0).then(|| {
        let remaining = event
            .context
            .deadline()
            .duration_since(SystemTime::now())
            .unwrap_or_default();
        Instant::now() + remaining
    });
    rotation
        .run_step(&parsed, deadline)
        .await
        .map(drop)
        .map_err(StepFailure::from)
}

/// A failed invocation, as Lambda reports it.
#[derive(Debug)]
pub struct StepFailure {
    /// The failure's kind, e.g. `RotationDisabled`.
    pub error_type: &'static str,
    /// The error's message with its causes.
    pub message: String,
}

impl From<RotationError> for StepFailure {
    fn from(error: RotationError) -> Self {
        let error_type = match &error {
            RotationError::Event(_) => "InvalidEvent",
            RotationError::RotationDisabled { .. } => "RotationDisabled",
            RotationError::UnknownVersion { .. } => "UnknownVersion",
            RotationError::NotPending { .. } => "NotPending",
            RotationError::NoCurrentValue { .. } => "NoCurrentValue",
            RotationError::PendingValueMissing { .. } => "PendingValueMissing",
            RotationError::InvalidSecret { .. } => "InvalidSecret",
            RotationError::Store { .. } => "SecretsManagerError",
            RotationError::Rotator { .. } => "RotatorError",
            RotationError::DeadlineExceeded { .. } => "DeadlineExceeded",
        };
        Self {
            error_type,
            message: error_chain(&error),
        }
    }
}

impl From<StepFailure> for Diagnostic {
    fn from(failure: StepFailure) -> Self {
        Diagnostic {
            error_type: failure.error_type.to_owned(),
            error_message: failure.message,
        }
    }
}
