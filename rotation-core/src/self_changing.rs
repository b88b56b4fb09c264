//! Credentials that change themselves: a database user setting its own
//! password, a directory account binding as itself, a key that issues its
//! successor. Such a rotator says only how to log in and how to change the
//! credential once logged in ([`ChangesItself`]); [`SelfChanging`] turns it
//! into a [`Rotator`], and [`set_pending`] is the login order it uses.
//!
//! The order, during setSecret: AWSCURRENT first, because that is what
//! works on a healthy rotation. If the backend rejects it, the pending
//! value: an earlier try of this step may have applied it already, and then
//! there is nothing left to do. Last, AWSPREVIOUS: someone edited
//! AWSCURRENT out of step with the backend, and the old value still logs
//! in. The pending value is not tried first, unlike AWS's templates,
//! because that costs a failed login (visible in the backend's audit log)
//! on every healthy rotation.
//!
//! AWSPREVIOUS only lends its credential field: the login is AWSCURRENT
//! with the old password, so an old version cannot send the login to
//! another host or account, and one naming another account is not tried.

use async_trait::async_trait;

use crate::credential::Credential;
use crate::error::{RotatorError, SecretFormatError};
use crate::label::VersionLabel;
use crate::rotator::{RotationContext, Rotator};
use crate::secret::SecretJson;

/// A credential that logs in as itself and changes itself. Implement it,
/// wrap it in [`SelfChanging`], and the login order of setSecret, the
/// account check and testSecret are done.
///
/// ```
/// use rotation_core::{async_trait, ChangesItself, RotatorError, SecretJson, SelfChanging};
///
/// struct Ldap;
///
/// #[async_trait]
/// impl ChangesItself for Ldap {
///     type Session = String;
///
///     async fn log_in(&self, login: &SecretJson) -> Result<Option<String>, RotatorError> {
///         let user = login.required_str("username")?;
///         let _password = login.required_credential("password")?;
///         // bind; Ok(None) when the directory rejects the password
///         Ok(Some(user.to_owned()))
///     }
///
///     async fn change(&self, _user: String, pending: &SecretJson) -> Result<(), RotatorError> {
///         let _new_password = pending.required_credential("password")?;
///         // modify the bound user's password
///         Ok(())
///     }
/// }
///
/// let _rotator = SelfChanging(Ldap);
/// ```
#[async_trait]
pub trait ChangesItself: Send + Sync {
    /// What a successful login gives [`change`](Self::change): a
    /// connection, a bound client, or `()`.
    type Session: Send;

    /// What rotates; as [`Rotator::credential`].
    fn credential(&self) -> Credential {
        Credential::password("password")
    }

    /// Checks a secret has what the credential needs; as
    /// [`Rotator::validate`]. The default requires the credential's field
    /// and, when the secret has one, a string `username`.
    fn validate(&self, secret: &SecretJson) -> Result<(), SecretFormatError> {
        secret.optional_str("username")?;
        secret
            .required_credential(self.credential().field())
            .map(drop)
    }

    /// Whether `other` (the pending value, or AWSPREVIOUS) is a login for
    /// the same account as `current`. The pending value must be; an
    /// AWSPREVIOUS that is not is not tried. The default compares
    /// `username`, a field missing from either counting as the same (an old
    /// AWSPREVIOUS may lack fields); a rotator whose secret also says where
    /// to log in compares that too.
    fn same_account(&self, current: &SecretJson, other: &SecretJson) -> bool {
        match (current.get("username"), other.get("username")) {
            (Some(a), Some(b)) => a == b,
            _ => true,
        }
    }

    /// How messages name the account `secret` logs in as. The default is
    /// its `username`; a rotator whose secret also says where adds that.
    fn account(&self, secret: &SecretJson) -> String {
        match secret.optional_str("username") {
            Ok(Some(user)) => user.to_owned(),
            _ => "an unnamed account".to_owned(),
        }
    }

    /// Logs in with `login`'s credential. `Ok(None)` when the backend
    /// rejected it (wrong password, revoked key); any other failure, such as
    /// an unreachable backend, is an `Err` and ends the step at once.
    async fn log_in(&self, login: &SecretJson) -> Result<Option<Self::Session>, RotatorError>;

    /// Sets the pending value's credential through `session`. It may run
    /// again after it succeeded (a retried step finds the pending value
    /// already logs in, and does not call it), so it only has to make the
    /// backend accept `pending`.
    async fn change(
        &self,
        session: Self::Session,
        pending: &SecretJson,
    ) -> Result<(), RotatorError>;

    /// testSecret: the default logs in with the pending value and fails
    /// when the backend rejects it.
    async fn test(&self, pending: &SecretJson) -> Result<(), RotatorError> {
        match self.log_in(pending).await? {
            Some(_) => Ok(()),
            None => Err(RotatorError::Refused(
                "the backend rejected the AWSPENDING credential".into(),
            )),
        }
    }

    /// As [`Rotator::after_finish`]; the default does nothing.
    async fn after_finish(&self, ctx: &RotationContext<'_>) -> Result<(), RotatorError> {
        let _ = ctx;
        Ok(())
    }
}

/// The [`Rotator`] of a [`ChangesItself`], in the way `tower::service_fn`
/// makes a service of a function.
#[derive(Debug, Clone, Default)]
pub struct SelfChanging<C>(pub C);

#[async_trait]
impl<C: ChangesItself> Rotator for SelfChanging<C> {
    fn credential(&self) -> Credential {
        self.0.credential()
    }

    fn validate(&self, secret: &SecretJson) -> Result<(), SecretFormatError> {
        self.0.validate(secret)
    }

    async fn set_secret(
        &self,
        ctx: &RotationContext<'_>,
        current: &SecretJson,
        pending: &SecretJson,
    ) -> Result<(), RotatorError> {
        set_pending(&self.0, ctx, current, pending).await
    }

    async fn test_secret(
        &self,
        _ctx: &RotationContext<'_>,
        pending: &SecretJson,
    ) -> Result<(), RotatorError> {
        self.0.test(pending).await
    }

    async fn after_finish(&self, ctx: &RotationContext<'_>) -> Result<(), RotatorError> {
        self.0.after_finish(ctx).await
    }
}

/// setSecret for a credential that changes itself, in the module's order:
/// refuses a pending value for another account, then logs in with
/// AWSCURRENT, the pending value, or AWSPREVIOUS's credential on
/// AWSCURRENT, and changes the credential with the first that works.
/// AWSPREVIOUS is read from the store only when the first two are
/// rejected; one that does not parse, lacks the field or names another
/// account is skipped with a warning.
pub async fn set_pending<C: ChangesItself + ?Sized>(
    changer: &C,
    ctx: &RotationContext<'_>,
    current: &SecretJson,
    pending: &SecretJson,
) -> Result<(), RotatorError> {
    if !changer.same_account(current, pending) {
        return Err(RotatorError::Refused(format!(
            "the AWSPENDING secret names {}, but AWSCURRENT names {}; a credential that changes itself only changes its own",
            changer.account(pending),
            changer.account(current)
        )));
    }
    if let Some(session) = log_in(changer, current, VersionLabel::Current).await? {
        return changer.change(session, pending).await;
    }
    let mut rejected = vec![VersionLabel::Current];
    if log_in(changer, pending, VersionLabel::Pending)
        .await?
        .is_some()
    {
        tracing::info!(
            "setSecret: the AWSPENDING value already logs in; an earlier attempt applied it"
        );
        return Ok(());
    }
    rejected.push(VersionLabel::Pending);
    if let Some(login) = previous_login(changer, ctx, current).await? {
        if let Some(session) = log_in(changer, &login, VersionLabel::Previous).await? {
            tracing::warn!(
                "setSecret: AWSCURRENT was rejected and AWSPREVIOUS logged in; AWSCURRENT was out of step with the backend"
            );
            return changer.change(session, pending).await;
        }
        rejected.push(VersionLabel::Previous);
    }
    let tried: Vec<String> = rejected.iter().map(ToString::to_string).collect();
    Err(RotatorError::Refused(format!(
        "the backend rejected the {} credential of {}; it was changed outside rotation: store the working value as AWSCURRENT, then rotate again",
        tried.join(", "),
        changer.account(current)
    )))
}

/// [`ChangesItself::log_in`], a backend failure naming the version whose
/// credential it tried, so an operator knows which stored value to check.
async fn log_in<C: ChangesItself + ?Sized>(
    changer: &C,
    login: &SecretJson,
    label: VersionLabel,
) -> Result<Option<C::Session>, RotatorError> {
    changer.log_in(login).await.map_err(|error| match error {
        RotatorError::Backend { action, source } => RotatorError::Backend {
            action: format!("{action} with the {label} secret"),
            source,
        },
        other => other,
    })
}

/// AWSCURRENT with AWSPREVIOUS's credential, when AWSPREVIOUS is usable and
/// a login for the same account.
async fn previous_login<C: ChangesItself + ?Sized>(
    changer: &C,
    ctx: &RotationContext<'_>,
    current: &SecretJson,
) -> Result<Option<SecretJson>, RotatorError> {
    let previous = match ctx.secret(VersionLabel::Previous).await {
        Ok(Some(previous)) => previous,
        Ok(None) => return Ok(None),
        Err(RotatorError::InvalidSecret(e)) => {
            tracing::warn!(error = %e, "setSecret: AWSPREVIOUS is unusable; not trying it");
            return Ok(None);
        }
        Err(e) => return Err(e),
    };
    if !changer.same_account(current, &previous) {
        tracing::warn!("setSecret: AWSPREVIOUS is not a login for this credential; not trying it");
        return Ok(None);
    }
    let field = changer.credential().field().to_owned();
    match previous.required_credential(&field) {
        Ok(old) => {
            let mut login = current.clone();
            login.set_secret(&field, &old);
            Ok(Some(login))
        }
        Err(e) => {
            tracing::warn!(error = %e, "setSecret: AWSPREVIOUS is unusable; not trying it");
            Ok(None)
        }
    }
}
