//! setSecret for the alternating-users strategy: the master secret's user
//! sets the password of whichever of the pair is not current.
//!
//! This is the one place where the function acts with the master's rights
//! on behalf of whoever may edit the rotated secret, so nothing the editor
//! writes decides where the master logs in or whose password it changes:
//! the master's address comes from the master secret or RDS; a rotated
//! secret naming another host is served only when RDS says that host holds
//! the same data or its AWSCURRENT login works on the master's own host;
//! and the pair is proved (ours, neither the master nor an administrator)
//! before anything changes.

use rotation_core::RotationContext;
use rotation_core::{RotatorError, SecretFormatError, VersionLabel};

use crate::backend::{DatabaseBackend, LoginError, UserStanding};
use crate::secret::DatabaseSecret;
use crate::strategy::master::{listed, same_address, Master, MasterPolicy};
use crate::strategy::{alternate_name, clone_name, original_name};
use crate::{login_failed, same_host};

/// Proves AWSCURRENT logs in, locates the master, proves the rotated secret
/// and the master reach the same data, proves the pair, creates the clone
/// if missing, re-syncs its privileges to the original's (on every
/// rotation, whichever user is pending), and sets the pending user's
/// password.
pub(crate) async fn set_secret<B: DatabaseBackend>(
    backend: &B,
    policy: &MasterPolicy,
    ctx: &RotationContext<'_>,
    current: &DatabaseSecret,
    pending: &DatabaseSecret,
) -> Result<(), RotatorError> {
    let expected = alternate_name(&current.username);
    if !same_host(&current.host, &pending.host)
        || current.port != pending.port
        || pending.username != expected
    {
        return Err(RotatorError::Refused(format!(
            "the AWSPENDING secret names user {} on {}; alternating from {} on {} it must name {expected} on {}",
            pending.username,
            pending.address(),
            current.username,
            current.address(),
            current.address()
        )));
    }
    let master_arn =
        current
            .masterarn
            .as_deref()
            .ok_or_else(|| SecretFormatError::MissingField {
                field: "masterarn".into(),
            })?;
    policy.check_allowed(master_arn)?;

    backend.prepare_password(&pending.username, &pending.password);

    // The confused-deputy guard: nothing is done with the master's rights
    // until the current credentials prove themselves. Reading the master
    // secret (and RDS, for its address) is not acting with them, so it
    // runs during the login instead of after it; a failed proof still
    // wins, and the master is then dropped unused.
    let (proof, master) = tokio::join!(
        prove_current(backend, current),
        policy.resolve(ctx, master_arn, current, &B::SPEC)
    );
    proof?;
    let Master {
        login: master,
        replica_hosts,
    } = master?;
    if !same_address(&master, current) {
        same_data(backend, current, &master, &replica_hosts).await?;
    }

    let on_master = format!("on {} as {}", master.address(), master.username);
    let mut admin = backend.connect_admin(&master).await.map_err(|e| {
        RotatorError::backend(
            format!(
                "log in to {} as {} with the master secret {master_arn}",
                master.address(),
                master.username
            ),
            e,
        )
    })?;
    let admin_action = |what: String| {
        let on_master = &on_master;
        move |e| RotatorError::backend(format!("{what} {on_master}"), e)
    };

    let original = original_name(&current.username);
    let clone = clone_name(&current.username);
    prove_pair(backend, &mut admin, &master, original, &clone)
        .await
        .map_err(|e| match e {
            PairError::Refused(reason) => RotatorError::Refused(reason),
            PairError::Backend(e) => RotatorError::backend(
                format!("inspect users {original} and {clone} {on_master}"),
                e,
            ),
        })?;

    backend
        .match_clone(&mut admin, original, &clone)
        .await
        .map_err(admin_action(format!(
            "make {clone} a copy of {original} (create it, copy its privileges)"
        )))?;
    backend
        .set_password(&mut admin, &pending.username, &pending.password)
        .await
        .map_err(admin_action(format!(
            "set the password of {}",
            pending.username
        )))
}

/// Logs in with the AWSCURRENT credentials on `login`'s address; a
/// rejected password is a refusal that says what to do.
async fn prove_current<B: DatabaseBackend>(
    backend: &B,
    login: &DatabaseSecret,
) -> Result<(), RotatorError> {
    match backend.connect(login).await {
        Ok(_) => Ok(()),
        Err(LoginError::Rejected(_)) => Err(RotatorError::Refused(format!(
            "{} rejected the AWSCURRENT password of {}; the alternating-users strategy uses the master secret only after AWSCURRENT logs in: store the working password as AWSCURRENT, then rotate again",
            login.address(),
            login.username
        ))),
        Err(e) => Err(login_failed(Some(VersionLabel::Current), login, e)),
    }
}

/// The rotated secret names another address than the master: a reader
/// endpoint or replica of the master's database, or a server the secret's
/// editor runs. Accepted when RDS lists the host among the master's
/// database's endpoints, or when the AWSCURRENT login works on the
/// master's own host (so the user exists there, with the password the
/// editor holds). Never on what the rotated secret's server says about
/// itself.
async fn same_data<B: DatabaseBackend>(
    backend: &B,
    current: &DatabaseSecret,
    master: &DatabaseSecret,
    replica_hosts: &[String],
) -> Result<(), RotatorError> {
    if listed(replica_hosts, &current.host) {
        tracing::info!("setSecret: RDS lists the rotated secret's host among the master's database's endpoints");
        return Ok(());
    }
    let on_master_host = DatabaseSecret {
        host: master.host.clone(),
        port: master.port,
        ssl: master.ssl,
        ..current.clone()
    };
    match backend.connect(&on_master_host).await {
        Ok(_) => {
            tracing::info!(
                "setSecret: the rotated secret names another host than the master secret; AWSCURRENT logs in on the master's host, so both are one database"
            );
            Ok(())
        }
        Err(LoginError::Rejected(_)) => Err(RotatorError::Refused(format!(
            "the master secret names {}, the rotated secret {}, and {} does not log in on {} with its AWSCURRENT password, so they are not shown to be one database; the master secret must name the same server or the writer of the same cluster",
            master.address(),
            current.address(),
            current.username,
            master.address()
        ))),
        Err(e) => Err(login_failed(Some(VersionLabel::Current), &on_master_host, e)),
    }
}

enum PairError {
    Refused(String),
    Backend(rotation_core::error::BoxError),
}

impl From<rotation_core::error::BoxError> for PairError {
    fn from(e: rotation_core::error::BoxError) -> Self {
        Self::Backend(e)
    }
}

/// The pair must be ours to change: neither user the master itself nor an
/// administrator, the original existing, and an existing clone marked as
/// the original's (a user that merely ends in `_clone` is not taken over,
/// and its "original" is not reset).
async fn prove_pair<B: DatabaseBackend>(
    backend: &B,
    admin: &mut B::Connection,
    master: &DatabaseSecret,
    original: &str,
    clone: &str,
) -> Result<(), PairError> {
    let refuse = |why: String| {
        Err(PairError::Refused(format!(
            "refusing to rotate the pair {original} / {clone}: {why}"
        )))
    };
    for user in [original, clone] {
        if user == master.username {
            return refuse(format!(
                "{user} is the master secret's user, whose password only its own secret may change"
            ));
        }
    }
    let pair = backend.pair_standing(admin, original, clone).await?;
    match pair.original {
        UserStanding::Missing => return refuse(format!("user {original} does not exist")),
        UserStanding::Administrator(right) => {
            return refuse(format!(
                "{original} has {right}; alternating users rotates application users, never an administrator"
            ))
        }
        UserStanding::Ordinary => {}
    }
    match pair.clone {
        UserStanding::Missing => Ok(()),
        UserStanding::Administrator(right) => refuse(format!(
            "{clone} has {right}; alternating users rotates application users, never an administrator"
        )),
        UserStanding::Ordinary if pair.clone_is_marked => Ok(()),
        UserStanding::Ordinary => refuse(format!(
            "{clone} exists but is not the clone of {original} (clones this function creates are members of their original); it is not taken over"
        )),
    }
}
