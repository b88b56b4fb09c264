//! setSecret for the alternating-users strategy: the master secret's user
//! sets the password of whichever of the pair is not current.

use crate::error::{RotatorError, SecretFormatError, VersionLabel};
use crate::rotator::RotationContext;
use crate::secret::SecretJson;

use super::backend::{DatabaseBackend, LoginError};
use super::secret::DatabaseSecret;
use super::strategy::{alternate_name, clone_name, original_name};
use super::{login_failed, same_host};

/// Proves AWSCURRENT logs in (a secret's editor cannot aim the master
/// credentials at a user they do not already control), checks the master
/// secret reaches the same cluster, creates the clone if missing, re-syncs
/// its privileges to the original's (in both directions, on every rotation,
/// whichever user is pending), and sets the pending user's password.
pub(crate) async fn set_secret<B: DatabaseBackend>(
    backend: &B,
    ctx: &RotationContext<'_>,
    current_json: &SecretJson,
    current: &DatabaseSecret,
    pending: &DatabaseSecret,
) -> Result<(), RotatorError> {
    let expected = alternate_name(&current.username);
    if !same_host(&current.host, &pending.host) || pending.username != expected {
        return Err(RotatorError::Refused(format!(
            "the AWSPENDING secret names user {} on {}; alternating from {} on {} it must name {expected} on {}",
            pending.username, pending.host, current.username, current.host, current.host
        )));
    }
    let master_arn =
        current
            .masterarn
            .as_deref()
            .ok_or_else(|| SecretFormatError::MissingField {
                field: "masterarn".into(),
            })?;

    // The confused-deputy guard: nothing is changed with the master's
    // rights until the current credentials prove themselves.
    let mut session = match backend.connect(current).await {
        Ok(session) => session,
        Err(LoginError::Rejected(_)) => {
            return Err(RotatorError::Refused(format!(
                "{} rejected the AWSCURRENT password of {}; the alternating-users strategy uses the master secret only after AWSCURRENT logs in: store the working password as AWSCURRENT, then rotate again",
                current.address(),
                current.username
            )))
        }
        Err(e) => return Err(login_failed(VersionLabel::Current, current, e)),
    };

    let master = master_login::<B>(ctx, master_arn, current_json).await?;
    let mut admin = backend.connect(&master).await.map_err(|e| {
        RotatorError::backend(
            format!(
                "log in to {} as {} with the master secret {master_arn}",
                master.address(),
                master.username
            ),
            e,
        )
    })?;
    if !(same_host(&master.host, &current.host) && master.port == current.port) {
        same_cluster(backend, &mut session, &mut admin, current, &master).await?;
    }
    drop(session);

    let original = original_name(&current.username);
    let clone = clone_name(&current.username);
    let on_master = format!("on {} as {}", master.address(), master.username);
    let admin_action = |what: String| {
        let on_master = &on_master;
        move |e| RotatorError::backend(format!("{what} {on_master}"), e)
    };
    backend
        .ensure_clone(&mut admin, original, &clone)
        .await
        .map_err(admin_action(format!("create user {clone}")))?;
    backend
        .sync_privileges(&mut admin, original, &clone)
        .await
        .map_err(admin_action(format!(
            "copy the privileges of {original} to {clone}"
        )))?;
    backend
        .set_password(&mut admin, &pending.username, &pending.password)
        .await
        .map_err(admin_action(format!(
            "set the password of {}",
            pending.username
        )))
}

/// The master secret's login. Fields it lacks are taken from the rotated
/// secret, so an RDS-managed master secret (username and password only)
/// works as is.
async fn master_login<B: DatabaseBackend>(
    ctx: &RotationContext<'_>,
    master_arn: &str,
    current_json: &SecretJson,
) -> Result<DatabaseSecret, RotatorError> {
    let master_json = ctx.other_secret(master_arn).await?;
    let mut merged = current_json.clone();
    for (field, value) in master_json.as_map() {
        merged.set(field, value.clone());
    }
    DatabaseSecret::parse(&merged, &B::SPEC).map_err(|e| {
        RotatorError::Refused(format!("the master secret {master_arn} is unusable: {e}"))
    })
}

/// A master secret may name the cluster's writer while the rotated secret
/// names a reader (another host or port): accepted only when both sessions
/// report the same cluster identity, so a master secret of another database
/// server is never used.
async fn same_cluster<B: DatabaseBackend>(
    backend: &B,
    session: &mut B::Connection,
    admin: &mut B::Connection,
    current: &DatabaseSecret,
    master: &DatabaseSecret,
) -> Result<(), RotatorError> {
    let identify = |who: &DatabaseSecret| {
        let action = format!("identify the cluster of {}", who.address());
        move |e| RotatorError::backend(action, e)
    };
    let ours = backend
        .cluster_identity(session)
        .await
        .map_err(identify(current))?;
    let theirs = backend
        .cluster_identity(admin)
        .await
        .map_err(identify(master))?;
    match (ours, theirs) {
        (Some(a), Some(b)) if a == b => {
            tracing::info!(
                "setSecret: the master secret names another host of the same cluster"
            );
            Ok(())
        }
        _ => Err(RotatorError::Refused(format!(
            "the master secret names {}, the rotated secret {}, and they are not one cluster; the master secret must name the same server or the writer of the same cluster",
            master.address(), current.address()
        ))),
    }
}
