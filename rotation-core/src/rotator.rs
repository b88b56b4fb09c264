//! The trait a backend implements, and what it is given to work with.

use async_trait::async_trait;

use crate::credential::{Credential, ValueGenerator};
use crate::error::{RotatorError, SecretFormatError, StoreError};
use crate::event::Step;
use crate::label::VersionLabel;
use crate::secret::{SecretJson, SecretString};
use crate::store::{
    SecretDescription, SecretStore, SecretVersion, VersionSelector, AWSCURRENT, AWSPENDING,
    AWSPREVIOUS,
};

/// A rotation backend: a database, an API, anything that accepts a
/// credential.
///
/// The state machine behind [`lambda::run`](crate::lambda::run) does everything that
/// concerns Secrets Manager: validation, labels, retries, idempotence. A
/// rotator only answers for its backend. Each method may be called again
/// after it succeeded, or after the process died inside it, so each must be
/// idempotent: "make the backend accept the pending secret", not "change the
/// password once".
///
/// ```
/// use async_trait::async_trait;
/// use rotation_core::{Rotator, RotationContext, RotatorError, SecretJson};
///
/// struct Ldap;
///
/// #[async_trait]
/// impl Rotator for Ldap {
///     async fn set_secret(
///         &self,
///         _ctx: &RotationContext<'_>,
///         current: &SecretJson,
///         pending: &SecretJson,
///     ) -> Result<(), RotatorError> {
///         let _user = current.required_str("username")?;
///         let _new_password = pending.required_secret("password")?;
///         // bind as the user with the current password, set the new one
///         Ok(())
///     }
///
///     async fn test_secret(
///         &self,
///         _ctx: &RotationContext<'_>,
///         pending: &SecretJson,
///     ) -> Result<(), RotatorError> {
///         let _new_password = pending.required_secret("password")?;
///         // bind with the new password
///         Ok(())
///     }
/// }
/// ```
#[async_trait]
pub trait Rotator: Send + Sync {
    /// What rotates: the field and how its new values are made. The default
    /// is AWS's: a `password` field and AWS's password policy, which the
    /// function's `PASSWORD_LENGTH` and `EXCLUDE_*` settings adjust.
    fn credential(&self) -> Credential {
        Credential::password("password")
    }

    /// Checks a secret has what the rotator needs. Called on the current
    /// secret before anything is written, and on the pending secret before it
    /// is stored, so a malformed secret fails createSecret with nothing
    /// changed. The default requires the credential's field as a string
    /// without NUL ([`SecretJson::required_credential`]).
    fn validate(&self, secret: &SecretJson) -> Result<(), SecretFormatError> {
        secret
            .required_credential(self.credential().field())
            .map(drop)
    }

    /// The pending secret derived from the current one. The default copies
    /// every field and gives the credential's field a new value.
    async fn create_pending(
        &self,
        ctx: &RotationContext<'_>,
        current: &SecretJson,
    ) -> Result<SecretJson, RotatorError> {
        let mut pending = current.clone();
        pending.set_secret(self.credential().field(), &ctx.new_value());
        Ok(pending)
    }

    /// Makes the backend accept `pending`. `current` is the AWSCURRENT value;
    /// AWSPREVIOUS is available through [`RotationContext::secret`] for
    /// rotators that need a fallback login.
    async fn set_secret(
        &self,
        ctx: &RotationContext<'_>,
        current: &SecretJson,
        pending: &SecretJson,
    ) -> Result<(), RotatorError>;

    /// Proves `pending` works against the backend.
    async fn test_secret(
        &self,
        ctx: &RotationContext<'_>,
        pending: &SecretJson,
    ) -> Result<(), RotatorError>;

    /// Runs after finishSecret moved AWSCURRENT to the new version, and again
    /// when a retried finishSecret finds the move already done, so a crash
    /// between the two cannot skip it: it must be idempotent. The old value
    /// is AWSPREVIOUS by then. The default does nothing.
    async fn after_finish(&self, ctx: &RotationContext<'_>) -> Result<(), RotatorError> {
        let _ = ctx;
        Ok(())
    }
}

/// A rotator behind a pointer is a rotator, so a tool can hold
/// `Box<dyn Rotator>` chosen at run time and a wrapper can share one with
/// `Arc`, as tower's services do.
macro_rules! forward_rotator {
    ($($pointer:ty),+) => {$(
        #[async_trait]
        impl<R: Rotator + ?Sized> Rotator for $pointer {
            fn credential(&self) -> Credential {
                (**self).credential()
            }

            fn validate(&self, secret: &SecretJson) -> Result<(), SecretFormatError> {
                (**self).validate(secret)
            }

            async fn create_pending(
                &self,
                ctx: &RotationContext<'_>,
                current: &SecretJson,
            ) -> Result<SecretJson, RotatorError> {
                (**self).create_pending(ctx, current).await
            }

            async fn set_secret(
                &self,
                ctx: &RotationContext<'_>,
                current: &SecretJson,
                pending: &SecretJson,
            ) -> Result<(), RotatorError> {
                (**self).set_secret(ctx, current, pending).await
            }

            async fn test_secret(
                &self,
                ctx: &RotationContext<'_>,
                pending: &SecretJson,
            ) -> Result<(), RotatorError> {
                (**self).test_secret(ctx, pending).await
            }

            async fn after_finish(&self, ctx: &RotationContext<'_>) -> Result<(), RotatorError> {
                (**self).after_finish(ctx).await
            }
        }
    )+};
}

forward_rotator!(Box<R>, std::sync::Arc<R>, &R);

/// What a rotator is given besides the secrets: the event's identity, a
/// generator of new credential values, and read access to the store.
pub struct RotationContext<'a> {
    pub(crate) step: Step,
    pub(crate) description: &'a SecretDescription,
    pub(crate) token: &'a str,
    pub(crate) store: &'a dyn SecretStore,
    pub(crate) values: &'a ValueGenerator,
}

impl RotationContext<'_> {
    /// The step running.
    pub fn step(&self) -> Step {
        self.step
    }

    /// The rotated secret's ARN.
    pub fn secret_id(&self) -> &str {
        &self.description.arn
    }

    /// The version being rotated in.
    pub fn token(&self) -> &str {
        self.token
    }

    /// A new value for the rotator's [`Credential`]: a password from the
    /// configured policy, or a key in the rotator's format.
    pub fn new_value(&self) -> SecretString {
        self.values.generate()
    }

    /// Reads one labelled version of the rotated secret (one
    /// `GetSecretValue` call). `Ok(None)` when no version carries the label
    /// or it has no value; for [`VersionLabel::Pending`] the version is the
    /// event's token.
    pub async fn secret(&self, label: VersionLabel) -> Result<Option<SecretJson>, RotatorError> {
        match self.read(label).await? {
            None => Ok(None),
            Some(version) => Ok(Some(SecretJson::from_payload(&version.payload)?)),
        }
    }

    /// In [`Rotator::after_finish`]: the value just replaced (AWSPREVIOUS)
    /// and the one that replaced it (AWSCURRENT), for a backend that keeps
    /// both during a rotation and now retires the old one. `None` when the
    /// secret has no AWSPREVIOUS (its first rotation by a function that
    /// created it). Two `GetSecretValue` calls.
    pub async fn previous_and_current(
        &self,
    ) -> Result<Option<(SecretJson, SecretJson)>, RotatorError> {
        let Some(previous) = self.secret(VersionLabel::Previous).await? else {
            return Ok(None);
        };
        let current = self
            .secret(VersionLabel::Current)
            .await?
            .ok_or_else(|| RotatorError::Refused("the secret has no AWSCURRENT value".into()))?;
        Ok(Some((previous, current)))
    }

    /// The raw read behind [`secret`](Self::secret), shared with the steps,
    /// which report its failures as their own errors.
    pub(crate) async fn read(
        &self,
        label: VersionLabel,
    ) -> Result<Option<SecretVersion>, StoreError> {
        let selector = match label {
            VersionLabel::Current => VersionSelector::Stage(AWSCURRENT),
            VersionLabel::Pending => VersionSelector::IdAndStage(self.token, AWSPENDING),
            VersionLabel::Previous => {
                if self.description.version_with_stage(AWSPREVIOUS).is_none() {
                    // The first rotation has no AWSPREVIOUS; skip the call.
                    return Ok(None);
                }
                VersionSelector::Stage(AWSPREVIOUS)
            }
        };
        self.store.get_value(self.secret_id(), selector).await
    }

    /// The tags of another secret (one `DescribeSecret` call), such as the
    /// `aws:rds:` tags RDS puts on the master secrets it manages.
    pub async fn other_secret_tags(
        &self,
        secret_id: &str,
    ) -> Result<std::collections::BTreeMap<String, String>, RotatorError> {
        Ok(self.store.describe(secret_id).await?.tags)
    }

    /// Reads the AWSCURRENT value of another secret, such as the master
    /// secret of the alternating-users strategy.
    pub async fn other_secret(&self, secret_id: &str) -> Result<SecretJson, RotatorError> {
        let version = self
            .store
            .get_value(secret_id, VersionSelector::Stage(AWSCURRENT))
            .await?
            .ok_or_else(|| StoreError::SecretNotFound {
                operation: "GetSecretValue",
                secret_id: secret_id.to_owned(),
            })?;
        SecretJson::from_payload(&version.payload)
            .map_err(|e| RotatorError::Refused(format!("secret {secret_id} is unusable: {e}")))
    }
}
