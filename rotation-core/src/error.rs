//! The crate's error types.
//!
//! Each says what failed and, where there is one, what to do next. None of
//! them ever holds a secret value: messages name fields, versions and
//! stages, and report sources whose text does not echo secret input.

use std::time::Duration;

pub use crate::event::EventError;
use crate::event::Step;
use crate::label::VersionLabel;

/// A boxed error from a backend driver or an SDK.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A secret's value is not what a rotator can use.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum SecretFormatError {
    /// The value is a `SecretBinary`; rotators work on JSON `SecretString`s.
    #[error(
        "the secret holds a SecretBinary value; this function rotates JSON SecretString secrets"
    )]
    Binary,
    /// The value does not parse as JSON (position only, never the text).
    #[error("the secret is not valid JSON (syntax error at line {line}, column {column})")]
    NotJson {
        /// 1-based line of the syntax error.
        line: usize,
        /// 1-based column of the syntax error.
        column: usize,
    },
    /// The value is JSON but not an object.
    #[error("the secret is {found}, not a JSON object")]
    NotAnObject {
        /// The JSON type found instead.
        found: &'static str,
    },
    /// A required field is absent or null.
    #[error("field `{field}` is missing")]
    MissingField {
        /// The field's name.
        field: String,
    },
    /// A field has the wrong JSON type.
    #[error("field `{field}` must be {expected}, found {found}")]
    WrongType {
        /// The field's name.
        field: String,
        /// What the field must be.
        expected: &'static str,
        /// The JSON type found.
        found: &'static str,
    },
    /// A field has the right type but an unusable value. `reason` describes
    /// the value without quoting it unless the field is not secret.
    #[error("field `{field}` is invalid: {reason}")]
    InvalidValue {
        /// The field's name.
        field: String,
        /// Why the value is unusable.
        reason: String,
    },
}

impl SecretFormatError {
    /// A field holds the wrong JSON type; names the type found, never the
    /// value.
    pub fn wrong_type(field: &str, expected: &'static str, found: &serde_json::Value) -> Self {
        Self::WrongType {
            field: field.to_owned(),
            expected,
            found: crate::secret::json_type_name(found),
        }
    }
}

/// An environment setting is invalid. Raised at start-up, before any
/// invocation is served.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[error("setting {name} is invalid: {reason}")]
pub struct SettingsError {
    /// The environment variable.
    pub name: &'static str,
    /// What is wrong and what is accepted.
    pub reason: String,
}

impl SettingsError {
    /// The value of environment variable `name`, which must be set and not
    /// blank ([`settings::required`](crate::settings::required) on the
    /// environment).
    pub fn required_env(name: &'static str) -> Result<String, SettingsError> {
        crate::settings::required(&crate::settings::env, name)
    }
}

/// A Secrets Manager operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The secret does not exist (or is not visible to this identity).
    #[error("{operation}: secret {secret_id} was not found, or this function may not read it")]
    SecretNotFound {
        /// The API operation.
        operation: &'static str,
        /// The secret's id or ARN.
        secret_id: String,
    },
    /// The version already holds a different value (`ResourceExistsException`).
    #[error("{operation}: version {version_id} of {secret_id} already holds a different value")]
    VersionExists {
        /// The API operation.
        operation: &'static str,
        /// The secret's id or ARN.
        secret_id: String,
        /// The version id.
        version_id: String,
    },
    /// The service refused the request as invalid for the secret's state.
    #[error("{operation} on {secret_id} was refused: {message}")]
    Refused {
        /// The API operation.
        operation: &'static str,
        /// The secret's id or ARN.
        secret_id: String,
        /// The service's explanation.
        message: String,
    },
    /// Any other failure: network, throttling after retries, permissions.
    #[error("{operation} on {secret_id} failed")]
    Service {
        /// The API operation.
        operation: &'static str,
        /// The secret's id or ARN.
        secret_id: String,
        /// Whether asking again later may succeed: a timeout, a connection
        /// that failed, throttling, the service's own failure. Not so for a
        /// refused permission, a KMS key the caller may not use or expired
        /// credentials, which stay refused until someone acts.
        transient: bool,
        /// The SDK's or transport's error.
        #[source]
        source: BoxError,
    },
}

/// The source of a [`StoreError::Service`] from Secrets Manager: the
/// service's error code, when it answered one (`AccessDeniedException`,
/// `DecryptionFailure`, `ThrottlingException`...), for callers that pass it
/// on, as the secrets agent does.
#[derive(Debug, thiserror::Error)]
#[error("{detail}")]
pub struct ServiceFailure {
    /// The service's error code; `None` for a failure before any answer
    /// (a timeout, a lost connection).
    pub code: Option<String>,
    /// The SDK's error chain.
    pub detail: String,
}

impl StoreError {
    /// The service's error code of a [`StoreError::Service`] failure, when
    /// it answered one.
    pub fn service_code(&self) -> Option<&str> {
        match self {
            StoreError::Service { source, .. } => source
                .downcast_ref::<ServiceFailure>()
                .and_then(|failure| failure.code.as_deref()),
            _ => None,
        }
    }

    /// Whether asking again later may succeed (a [`StoreError::Service`]
    /// failure that is `transient`); what a cache may serve a held value
    /// through.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            StoreError::Service {
                transient: true,
                ..
            }
        )
    }
}

/// What a [`Rotator`](crate::Rotator) returns when it cannot do its part.
#[derive(Debug, thiserror::Error)]
pub enum RotatorError {
    /// The secret lacks a field the rotator needs, or has a bad value.
    #[error(transparent)]
    InvalidSecret(#[from] SecretFormatError),
    /// The backend refused or failed an operation. `action` says which, in
    /// words an operator can act on ("log in to db.example:5432 as app").
    #[error("{action} failed")]
    Backend {
        /// What the rotator was doing.
        action: String,
        /// The driver's error.
        #[source]
        source: BoxError,
    },
    /// The rotator refuses to proceed (a safety check failed).
    #[error("{0}")]
    Refused(String),
    /// Reading another secret (a master secret) failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl RotatorError {
    /// A backend failure with the action that failed.
    pub fn backend(action: impl Into<String>, source: impl Into<BoxError>) -> Self {
        Self::Backend {
            action: action.into(),
            source: source.into(),
        }
    }
}

/// `.backend_context("action")` on a backend call's result: its error
/// becomes [`RotatorError::Backend`] naming the action that failed.
pub trait BackendContext<T> {
    /// Wraps the error with the action that failed.
    fn backend_context(self, action: impl Into<String>) -> Result<T, RotatorError>;
}

impl<T, E: Into<BoxError>> BackendContext<T> for Result<T, E> {
    fn backend_context(self, action: impl Into<String>) -> Result<T, RotatorError> {
        self.map_err(|e| RotatorError::backend(action, e))
    }
}

/// A rotation step failed. Secrets Manager will retry the rotation; each
/// message says what a retry needs, or what an operator must fix first.
#[derive(Debug, thiserror::Error)]
pub enum RotationError {
    /// The event is malformed.
    #[error("invalid rotation event: {0}")]
    Event(#[from] EventError),
    /// Rotation is disabled on the secret.
    #[error("rotation is not enabled for secret {secret_id}; enable rotation on the secret before invoking this function")]
    RotationDisabled {
        /// The secret's ARN.
        secret_id: String,
    },
    /// The token names no version of the secret.
    #[error("version {token} is not a version of secret {secret_id}; the ClientRequestToken must come from RotateSecret")]
    UnknownVersion {
        /// The secret's ARN.
        secret_id: String,
        /// The event's ClientRequestToken.
        token: String,
    },
    /// The token's version is neither AWSCURRENT nor AWSPENDING.
    #[error("version {token} of secret {secret_id} is not staged AWSPENDING (its stages: {stages:?}); it is not the rotation in progress, start a new rotation with RotateSecret")]
    NotPending {
        /// The secret's ARN.
        secret_id: String,
        /// The event's ClientRequestToken.
        token: String,
        /// The stages the version carries.
        stages: Vec<String>,
    },
    /// No version carries AWSCURRENT.
    #[error(
        "secret {secret_id} has no AWSCURRENT value to rotate from; put an initial value first"
    )]
    NoCurrentValue {
        /// The secret's ARN.
        secret_id: String,
    },
    /// setSecret or testSecret ran before createSecret stored a value.
    #[error("{step}: version {token} of secret {secret_id} has no value yet; createSecret must succeed first")]
    PendingValueMissing {
        /// The step that needed the value.
        step: Step,
        /// The secret's ARN.
        secret_id: String,
        /// The event's ClientRequestToken.
        token: String,
    },
    /// A stored value cannot be used.
    #[error("{step}: the {label} value of secret {secret_id} is unusable: {source}")]
    InvalidSecret {
        /// The failing step.
        step: Step,
        /// The secret's ARN.
        secret_id: String,
        /// Which version.
        label: VersionLabel,
        /// What is wrong with it.
        #[source]
        source: SecretFormatError,
    },
    /// A Secrets Manager call failed.
    #[error("{step}: {source}")]
    Store {
        /// The failing step.
        step: Step,
        /// The store's error.
        #[source]
        source: StoreError,
    },
    /// The rotator failed.
    #[error("{step}: {source}")]
    Rotator {
        /// The failing step.
        step: Step,
        /// The rotator's error.
        #[source]
        source: RotatorError,
    },
    /// The step ran out of time before Lambda's deadline.
    #[error("{step} did not finish within its {budget:?} budget, stopped before the Lambda deadline; the rotation will be retried")]
    DeadlineExceeded {
        /// The failing step.
        step: Step,
        /// The time the step was given.
        budget: Duration,
    },
}

/// Formats an error and its whole source chain on one line, for logs and
/// Lambda error responses.
pub fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        // thiserror's `transparent` and `{source}` in messages repeat the
        // cause; print each distinct message once.
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}
