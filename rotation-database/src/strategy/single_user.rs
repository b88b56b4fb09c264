//! setSecret for the single-user strategy: the user changes its own
//! password, in core's login order for a credential that changes itself
//! ([`set_pending`]: AWSCURRENT, then AWSPENDING, then AWSPREVIOUS's
//! password on AWSCURRENT's login).
//!
//! A fallback happens only when the server rejected the credentials; an
//! unreachable host fails the step at once. The single-user strategy only
//! changes the current user's password: a pending secret naming another
//! user or host is refused.

use rotation_core::self_changing::set_pending;
use rotation_core::{async_trait, ChangesItself, RotationContext, RotatorError, SecretJson};

use crate::backend::{DatabaseBackend, LoginError};
use crate::secret::DatabaseSecret;
use crate::{login_failed, same_host};

/// Sets the pending password as the user itself; a pending secret naming
/// another user or host is refused by `set_pending`.
pub(crate) async fn set_secret<B: DatabaseBackend>(
    backend: &B,
    ctx: &RotationContext<'_>,
    current: &SecretJson,
    pending: &SecretJson,
) -> Result<(), RotatorError> {
    // A malformed pending secret is reported where it is parsed, later.
    if let (Ok(username), Ok(password)) = (
        pending.required_str("username"),
        pending.required_secret("password"),
    ) {
        backend.prepare_password(username, &password);
    }
    set_pending(&SingleUser { backend }, ctx, current, pending).await
}

/// A database user as a credential that changes itself.
struct SingleUser<'a, B> {
    backend: &'a B,
}

#[async_trait]
impl<B: DatabaseBackend> ChangesItself for SingleUser<'_, B> {
    /// The session and the login it was opened with.
    type Session = (B::Connection, DatabaseSecret);

    /// The same user on the same host; an old AWSPREVIOUS may lack fields,
    /// so only the ones it has are compared.
    fn same_account(&self, current: &SecretJson, other: &SecretJson) -> bool {
        let same = |name: &str, equal: fn(&str, &str) -> bool| match (
            current.optional_str(name),
            other.optional_str(name),
        ) {
            (Ok(Some(a)), Ok(Some(b))) => equal(a, b),
            _ => true,
        };
        same("username", |a, b| a == b) && same("host", same_host)
    }

    /// The user on its host, as the database names it.
    fn account(&self, secret: &SecretJson) -> String {
        let field = |name| secret.optional_str(name).ok().flatten().unwrap_or("?");
        format!("user {} on {}", field("username"), field("host"))
    }

    async fn log_in(&self, login: &SecretJson) -> Result<Option<Self::Session>, RotatorError> {
        let login = DatabaseSecret::parse(login, &B::SPEC)?;
        match self.backend.connect(&login).await {
            Ok(session) => Ok(Some((session, login))),
            Err(LoginError::Rejected(_)) => Ok(None),
            Err(e) => Err(login_failed(None, &login, e)),
        }
    }

    async fn change(
        &self,
        (mut session, login): Self::Session,
        pending: &SecretJson,
    ) -> Result<(), RotatorError> {
        let password = pending.required_credential("password")?;
        self.backend
            .set_own_password(&mut session, &login, &password)
            .await
            .map_err(|e| {
                RotatorError::backend(
                    format!(
                        "set the password of {} on {}",
                        login.username,
                        login.address()
                    ),
                    e,
                )
            })
    }
}
