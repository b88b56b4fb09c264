//! The cache's errors. None quotes a secret value.

use rotation_core::error::StoreError;

/// A setting of [`CacheConfig`](crate::CacheConfig) the cache refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cache setting {setting}: {reason}")]
pub struct ConfigError {
    /// The setting's name.
    pub setting: &'static str,
    /// Why it is refused.
    pub reason: &'static str,
}

/// Why a value could not be read.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    /// Secrets Manager failed, and no value young enough to serve stale
    /// was cached.
    #[error("reading {stage} of {secret_id} failed")]
    Store {
        /// The secret's name or ARN, as asked.
        secret_id: String,
        /// The label asked for, or `version <id>`.
        stage: String,
        /// The store's error.
        #[source]
        source: StoreError,
    },
    /// The secret exists but no version carries the label, or that
    /// version has no value yet (a rotation's placeholder).
    #[error("{secret_id} has no value for {stage}")]
    NoValue {
        /// The secret's name or ARN, as asked.
        secret_id: String,
        /// The label asked for, or `version <id>`.
        stage: String,
    },
    /// The value is not what the caller asked of it (not JSON, a field
    /// missing); the error names the field, never the value.
    #[error("the value of {secret_id} cannot be used")]
    Format {
        /// The secret's name or ARN, as asked.
        secret_id: String,
        /// What is wrong.
        #[source]
        source: rotation_core::SecretFormatError,
    },
}

impl CacheError {
    /// Whether the store failed in a way that may pass (a timeout,
    /// throttling, the service's own failure): an outage a held value may
    /// be served through, unlike a refused permission or a missing secret.
    pub fn is_transient(&self) -> bool {
        matches!(self, CacheError::Store { source, .. } if source.is_transient())
    }
}

/// What [`SecretCache::with_current`](crate::SecretCache::with_current)
/// returns when the application's use of the value did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum UseError<E> {
    /// No value could be read.
    #[error(transparent)]
    Cache(#[from] CacheError),
    /// The backend refused the credential, and no fresher value was
    /// available (or the fresh one was refused too).
    #[error("the credential was refused")]
    Rejected(#[source] E),
    /// The use failed for a reason other than the credential.
    #[error("the use of the credential failed")]
    Failed(#[source] E),
}

/// A boxed error, as applications that mix drivers' errors use.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A refusal kept as such when a [`UseError`] is boxed.
#[derive(Debug, thiserror::Error)]
#[error("the credential was refused")]
struct Refused(#[source] BoxError);

impl<E: Into<BoxError>> UseError<E> {
    /// The error boxed, refusals kept as such, for `?` into a function
    /// returning a [`BoxError`]: `Box<dyn Error>` is not itself an `Error`,
    /// so `UseError<BoxError>` is not, and `?` alone cannot convert it.
    pub fn boxed(self) -> BoxError {
        match self {
            UseError::Cache(cache) => Box::new(cache),
            UseError::Rejected(source) => Box::new(Refused(source.into())),
            UseError::Failed(source) => source.into(),
        }
    }
}

impl<E> UseError<E> {
    /// The application's own error, when there is one.
    pub fn into_inner(self) -> Option<E> {
        match self {
            Self::Cache(_) => None,
            Self::Rejected(e) | Self::Failed(e) => Some(e),
        }
    }
}

/// How the application's use of a credential failed, for
/// [`SecretCache::with_current`](crate::SecretCache::with_current): only a
/// refusal of the credential makes the cache look for a newer one.
#[derive(Debug)]
pub enum Attempt<E> {
    /// The backend refused the credential (a wrong password, an unknown or
    /// revoked key).
    Rejected(E),
    /// Anything else: the network, a timeout, a query error.
    Failed(E),
}

impl<E> Attempt<E> {
    /// `Rejected` when `rejected` holds, else `Failed`.
    pub fn classify(error: E, rejected: impl FnOnce(&E) -> bool) -> Self {
        if rejected(&error) {
            Self::Rejected(error)
        } else {
            Self::Failed(error)
        }
    }
}
