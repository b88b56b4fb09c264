//! setSecret for the single-user strategy: the user changes its own
//! password.

use rotation_core::working_login::{find_working_login, Attempt, WorkingLogin};
use rotation_core::{RotationContext, RotatorError, SecretJson, SecretString, VersionLabel};

use crate::backend::{DatabaseBackend, LoginError};
use crate::secret::DatabaseSecret;
use crate::{login_failed, same_host};

/// Logs in with the first stored value that works, in core's order
/// ([`find_working_login`]: AWSCURRENT, then AWSPENDING, then AWSPREVIOUS),
/// and sets the pending password.
///
/// A fallback happens only when the server rejected the credentials; an
/// unreachable host fails the step at once.
pub(crate) async fn set_secret<B: DatabaseBackend>(
    backend: &B,
    ctx: &RotationContext<'_>,
    (current_json, current): (&SecretJson, &DatabaseSecret),
    (pending_json, pending): (&SecretJson, &DatabaseSecret),
) -> Result<(), RotatorError> {
    if !same_host(&current.host, &pending.host) || current.username != pending.username {
        return Err(RotatorError::Refused(format!(
            "the AWSPENDING secret names user {} on {}, but AWSCURRENT names {} on {}; the single-user strategy only changes the current user's password",
            pending.username, pending.host, current.username, current.host
        )));
    }
    let try_login = |label: VersionLabel, value: SecretJson| async move {
        let login = match label {
            VersionLabel::Current => current.clone(),
            VersionLabel::Pending => pending.clone(),
            VersionLabel::Previous => match previous_login(current, &value) {
                Some(login) => login,
                None => return Ok(Attempt::NotApplicable),
            },
        };
        match backend.connect(&login).await {
            Ok(session) => Ok(Attempt::LoggedIn(session)),
            Err(LoginError::Rejected(_)) => Ok(Attempt::Rejected),
            Err(e) => Err(login_failed(label, &login, e)),
        }
    };
    match find_working_login(ctx, current_json, pending_json, try_login).await? {
        WorkingLogin::Current(mut session) | WorkingLogin::Previous(mut session) => {
            apply(backend, &mut session, current, &pending.password).await
        }
        WorkingLogin::PendingAlreadyApplied => Ok(()),
        WorkingLogin::NoneWorks(rejected) => {
            let tried: Vec<String> = rejected.iter().map(ToString::to_string).collect();
            Err(RotatorError::Refused(format!(
                "{} rejected the password of {} for user {}; the database password was changed outside rotation: store the working password as AWSCURRENT, then rotate again",
                current.address(),
                tried.join(", "),
                current.username
            )))
        }
    }
}

async fn apply<B: DatabaseBackend>(
    backend: &B,
    session: &mut B::Connection,
    login: &DatabaseSecret,
    password: &SecretString,
) -> Result<(), RotatorError> {
    backend
        .set_own_password(session, login, password)
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

/// The login AWSPREVIOUS gives: the current login with its password, when
/// it is a login for the same user on the same host. An old AWSPREVIOUS may
/// lack fields, so only the ones it has are compared.
fn previous_login(current: &DatabaseSecret, previous: &SecretJson) -> Option<DatabaseSecret> {
    let same_user = previous
        .optional_str("username")
        .ok()
        .flatten()
        .is_none_or(|u| u == current.username);
    let same_host = previous
        .optional_str("host")
        .ok()
        .flatten()
        .is_none_or(|h| same_host(h, &current.host));
    if !(same_user && same_host) {
        return None;
    }
    let password = previous.required_secret("password").ok()?;
    Some(current.with_password(password))
}
