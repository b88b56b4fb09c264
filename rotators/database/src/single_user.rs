//! setSecret for the single-user strategy: the user changes its own
//! password.

use rotation_core::RotationContext;
use rotation_core::SecretString;
use rotation_core::{RotatorError, VersionLabel};

use crate::backend::{DatabaseBackend, LoginError};
use crate::secret::DatabaseSecret;
use crate::{login_failed, same_host};

/// Logs in with AWSCURRENT, falling back to AWSPENDING (an earlier try
/// already applied it: nothing left to do) and then AWSPREVIOUS (AWSCURRENT
/// was edited out of step with the database), and sets the pending
/// password. The pending password is not tried first, unlike AWS's
/// template: that costs a failed login, visible in the database's auth log,
/// on every healthy rotation.
///
/// A fallback happens only when the server rejected the credentials; an
/// unreachable host fails the step at once.
pub(crate) async fn set_secret<B: DatabaseBackend>(
    backend: &B,
    ctx: &RotationContext<'_>,
    current: &DatabaseSecret,
    pending: &DatabaseSecret,
) -> Result<(), RotatorError> {
    if !same_host(&current.host, &pending.host) || current.username != pending.username {
        return Err(RotatorError::Refused(format!(
            "the AWSPENDING secret names user {} on {}, but AWSCURRENT names {} on {}; the single-user strategy only changes the current user's password",
            pending.username, pending.host, current.username, current.host
        )));
    }
    let mut rejected = Vec::new();
    match backend.connect(current).await {
        Ok(mut session) => return apply(backend, &mut session, current, &pending.password).await,
        Err(LoginError::Rejected(_)) => rejected.push(VersionLabel::Current),
        Err(e) => return Err(login_failed(VersionLabel::Current, current, e)),
    }
    match backend.connect(pending).await {
        Ok(_) => {
            tracing::info!(
                "setSecret: the AWSPENDING password already logs in; an earlier attempt applied it"
            );
            return Ok(());
        }
        Err(LoginError::Rejected(_)) => rejected.push(VersionLabel::Pending),
        Err(e) => return Err(login_failed(VersionLabel::Pending, pending, e)),
    }
    if let Some(password) = previous_password(ctx, current).await? {
        let previous = current.with_password(password);
        match backend.connect(&previous).await {
            Ok(mut session) => {
                tracing::warn!(
                    "setSecret: AWSCURRENT was rejected and AWSPREVIOUS logged in; AWSCURRENT was out of step with the database"
                );
                return apply(backend, &mut session, current, &pending.password).await;
            }
            Err(LoginError::Rejected(_)) => rejected.push(VersionLabel::Previous),
            Err(e) => return Err(login_failed(VersionLabel::Previous, &previous, e)),
        }
    }
    let tried: Vec<String> = rejected.iter().map(ToString::to_string).collect();
    Err(RotatorError::Refused(format!(
        "{} rejected the password of {} for user {}; the database password was changed outside rotation: store the working password as AWSCURRENT, then rotate again",
        current.address(),
        tried.join(", "),
        current.username
    )))
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

/// The AWSPREVIOUS password, when that version exists and is a login for
/// the same user on the same host. An old AWSPREVIOUS may lack fields, so
/// only the ones it has are compared; one that cannot be read is skipped.
async fn previous_password(
    ctx: &RotationContext<'_>,
    current: &DatabaseSecret,
) -> Result<Option<SecretString>, RotatorError> {
    let previous = match ctx.secret(VersionLabel::Previous).await {
        Ok(Some(previous)) => previous,
        Ok(None) => return Ok(None),
        Err(RotatorError::InvalidSecret(e)) => {
            tracing::warn!(error = %e, "setSecret: AWSPREVIOUS is unusable; not trying it");
            return Ok(None);
        }
        Err(e) => return Err(e),
    };
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
        tracing::warn!("setSecret: AWSPREVIOUS names another user or host; not trying it");
        return Ok(None);
    }
    Ok(previous.required_secret("password").ok())
}
