//! Keeping the clone an exact copy of its original: the same hosts, each
//! with the original's plugin at creation, TLS requirement, resource
//! limits, privileges, role grants and default roles, on every rotation,
//! in both directions (what the original gained is granted, what it lost
//! is revoked).

use std::collections::BTreeSet;

use mysql_async::prelude::Queryable;
use rotation_core::error::BoxError;
use rotation_core::SecretString;

use crate::accounts::{self, Account};
use crate::backend::{execute_secret, Session};
use crate::sql;

/// Creates the clone where the original exists and it does not, drops it
/// where the original no longer exists, and makes every account of the
/// clone match the original's at the same host.
pub async fn match_clone(
    session: &mut Session,
    original: &str,
    clone: &str,
) -> Result<(), BoxError> {
    let originals = accounts::accounts(session, original).await?;
    if originals.is_empty() {
        return Err(format!("user {original} does not exist").into());
    }
    let clones = accounts::accounts(session, clone).await?;
    let clone_hosts: BTreeSet<&str> = clones.iter().map(|a| a.host.as_str()).collect();
    let original_hosts: BTreeSet<&str> = originals.iter().map(|a| a.host.as_str()).collect();

    for account in originals
        .iter()
        .filter(|a| !clone_hosts.contains(a.host.as_str()))
    {
        create(session, original, clone, account).await?;
    }
    for host in clone_hosts.difference(&original_hosts) {
        run(session, format!("DROP USER {}", sql::account(clone, host))).await?;
        tracing::info!(
            clone,
            host,
            "setSecret: dropped the clone's account at a host its original no longer has"
        );
    }

    for account in &originals {
        let clone_account = sql::account(clone, &account.host);
        let current = clones.iter().find(|c| c.host == account.host);
        if current.is_none_or(|c| c.limits != account.limits) {
            run(
                session,
                sql::alter_limits(&clone_account, &account.limits, session.mode),
            )
            .await?;
        }

        let wanted = accounts::grants(session, original, &account.host).await?;
        let mut held = accounts::grants(session, clone, &account.host).await?;
        // The mark is the clone's own, not a grant to copy.
        held.privileges.remove(&accounts::mark_grant(original));
        let statements = held.statements_to_match(&wanted, &clone_account);
        for statement in &statements {
            run(session, statement.clone()).await?;
        }
        if !statements.is_empty() {
            tracing::info!(
                clone,
                host = account.host.as_str(),
                changes = statements.len(),
                "setSecret: brought the clone's grants in line with its original's"
            );
        }

        if !session.server.has_roles() {
            continue;
        }
        let roles = accounts::default_roles(session, original, &account.host).await?;
        if accounts::default_roles(session, clone, &account.host).await? != roles {
            run(
                session,
                sql::set_default_roles(&session.server, &clone_account, &roles),
            )
            .await?;
        }
    }
    Ok(())
}

/// A statement failed; it names accounts and objects, never a password.
#[derive(Debug, thiserror::Error)]
#[error("`{statement}` failed")]
pub struct StatementFailed {
    /// The statement.
    pub statement: String,
    #[source]
    source: mysql_async::Error,
}

/// Runs an account statement that holds no password or hash.
async fn run(session: &mut Session, statement: String) -> Result<(), StatementFailed> {
    match session.conn.query_drop(statement.as_str()).await {
        Ok(()) => Ok(()),
        Err(source) => Err(StatementFailed { statement, source }),
    }
}

/// Creates `clone` at `account`'s host with the original's plugin and a
/// random password (setSecret sets the real one next), then marks it.
async fn create(
    session: &mut Session,
    original: &str,
    clone: &str,
    account: &Account,
) -> Result<(), BoxError> {
    let mut random = [0u8; 24];
    getrandom::fill(&mut random).map_err(|e| format!("the system's random source: {e}"))?;
    let placeholder = SecretString::new(
        random
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>(),
    );
    let clone_account = sql::account(clone, &account.host);
    let statement = format!(
        "CREATE USER {clone_account} {}",
        sql::identified(&session.server, &account.plugin, &placeholder, session.mode)?
    );
    match execute_secret(session, &format!("creating {clone_account}"), statement).await {
        Ok(()) => {}
        // ER_CANNOT_USER: a concurrent retry created it first.
        Err(e) if e.to_string().contains("server error 1396") => {}
        Err(e) => return Err(e),
    }
    let mark = format!(
        "GRANT SELECT ON {}.* TO {clone_account}",
        sql::quote_identifier(&accounts::mark_database(original))
    );
    run(session, mark).await?;
    tracing::info!(
        clone,
        host = account.host.as_str(),
        "setSecret: created the clone user"
    );
    Ok(())
}

/// Whether every account of `clone` carries the mark [`match_clone`]'s
/// accounts get: a grant on `original`'s mark database.
pub async fn is_clone_of(
    session: &mut Session,
    original: &str,
    clone: &str,
) -> Result<bool, BoxError> {
    let clones = accounts::accounts(session, clone).await?;
    let marked = accounts::marked_hosts(session, original, clone).await?;
    Ok(!clones.is_empty() && clones.iter().all(|c| marked.contains(&c.host)))
}
