//! The login order of a credential that changes itself (a database user
//! setting its own password, a key that issues its successor): which stored
//! value to log in with during setSecret.
//!
//! AWSCURRENT first, because that is what works on a healthy rotation. If
//! the backend rejects it, the pending value: an earlier try of this step
//! may have applied it already, and then there is nothing left to do. Last,
//! AWSPREVIOUS: someone edited AWSCURRENT out of step with the backend, and
//! the old value still logs in. The pending value is not tried first, unlike
//! AWS's templates, because that costs a failed login (visible in the
//! backend's audit log) on every healthy rotation.

use std::future::Future;

use crate::error::{RotatorError, VersionLabel};
use crate::rotator::RotationContext;
use crate::secret::SecretJson;

/// How one login with one stored value went.
#[derive(Debug)]
pub enum Attempt<S> {
    /// The backend accepted the credential; `S` is the session, if any.
    LoggedIn(S),
    /// The backend rejected the credential (wrong password, revoked key).
    /// Any other failure, such as an unreachable backend, is an `Err` and
    /// ends the search at once.
    Rejected,
    /// The value is not a login for this credential (an AWSPREVIOUS naming
    /// another user or host): not tried.
    NotApplicable,
}

/// Which stored value works, in the order the module describes.
#[derive(Debug)]
pub enum WorkingLogin<S> {
    /// AWSCURRENT logs in: set the pending value with this session.
    Current(S),
    /// The pending value already logs in: an earlier try applied it.
    PendingAlreadyApplied,
    /// AWSCURRENT was rejected and AWSPREVIOUS logs in: set the pending value
    /// with this session (AWSCURRENT was out of step with the backend).
    Previous(S),
    /// The backend rejected every value tried, listed in order: the
    /// credential was changed outside rotation.
    NoneWorks(Vec<VersionLabel>),
}

/// Finds the stored value that logs in, calling `try_login` with each
/// label and value in turn. AWSPREVIOUS is read from the store only when
/// the first two are rejected; an AWSPREVIOUS that does not parse is
/// skipped with a warning.
pub async fn find_working_login<S, F, Fut>(
    ctx: &RotationContext<'_>,
    current: &SecretJson,
    pending: &SecretJson,
    try_login: F,
) -> Result<WorkingLogin<S>, RotatorError>
where
    F: Fn(VersionLabel, SecretJson) -> Fut,
    Fut: Future<Output = Result<Attempt<S>, RotatorError>>,
{
    let mut rejected = Vec::new();
    match try_login(VersionLabel::Current, current.clone()).await? {
        Attempt::LoggedIn(session) => return Ok(WorkingLogin::Current(session)),
        Attempt::Rejected => rejected.push(VersionLabel::Current),
        Attempt::NotApplicable => {}
    }
    match try_login(VersionLabel::Pending, pending.clone()).await? {
        Attempt::LoggedIn(_) => {
            tracing::info!(
                "setSecret: the AWSPENDING value already logs in; an earlier attempt applied it"
            );
            return Ok(WorkingLogin::PendingAlreadyApplied);
        }
        Attempt::Rejected => rejected.push(VersionLabel::Pending),
        Attempt::NotApplicable => {}
    }
    let previous = match ctx.secret(VersionLabel::Previous).await {
        Ok(previous) => previous,
        Err(RotatorError::InvalidSecret(e)) => {
            tracing::warn!(error = %e, "setSecret: AWSPREVIOUS is unusable; not trying it");
            None
        }
        Err(e) => return Err(e),
    };
    if let Some(previous) = previous {
        match try_login(VersionLabel::Previous, previous).await? {
            Attempt::LoggedIn(session) => {
                tracing::warn!(
                    "setSecret: AWSCURRENT was rejected and AWSPREVIOUS logged in; AWSCURRENT was out of step with the backend"
                );
                return Ok(WorkingLogin::Previous(session));
            }
            Attempt::Rejected => rejected.push(VersionLabel::Previous),
            Attempt::NotApplicable => {
                tracing::warn!(
                    "setSecret: AWSPREVIOUS is not a login for this credential; not trying it"
                );
            }
        }
    }
    Ok(WorkingLogin::NoneWorks(rejected))
}
