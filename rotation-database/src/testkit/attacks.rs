//! The attacks on the alternating-users strategy that no engine may let
//! through, written once: whoever may edit one rotated secret tries to send
//! the master's password to a server of theirs, or to use a master the
//! function was not given. Each must be refused before anything changes,
//! with no login as the master anywhere the rotated secret chose. Each
//! engine's tests run them against two throwaway servers of theirs (one
//! plays the editor's) through [`AttackedServer`] and
//! [`AlternatingServer`], and keep only the attacks on their own SQL.

use std::sync::Arc;

use async_trait::async_trait;
use rotation_core::error::{error_chain, RotationError};
use rotation_core::event::Step;
use rotation_core::testkit::{Rotations, SecretAdmin};
use rotation_core::{Rotator, SecretJson, SecretString};

use crate::rds::PRIMARY_INSTANCE_TAG;
use crate::{DatabaseBackend, DatabaseRotator, MasterPolicy};

/// A throwaway server whose log records every login attempt, as an attack
/// sees it.
#[async_trait]
pub trait AttackedServer: Sync {
    /// A login secret for `user` on this server (engine, host, port, TLS).
    fn secret_for(&self, user: &str, password: &str) -> SecretJson;

    /// Creates a user that logs in with `password`.
    async fn create_user(&self, user: &str, password: &str);

    /// Whether any account named `user` exists.
    async fn user_exists(&self, user: &str) -> bool;

    /// Whether `user` logs in with `password`.
    async fn can_log_in(&self, user: &str, password: &SecretString) -> bool;

    /// The lines of the server's log that record a login attempt as `user`,
    /// accepted or not.
    fn login_traces(&self, user: &str) -> Vec<String>;
}

/// An [`AttackedServer`] with an alternating-users set-up: a master of its
/// own, and the rotator.
#[async_trait]
pub trait AlternatingServer: AttackedServer {
    /// The engine.
    type Backend: DatabaseBackend;

    /// The rotator, with the default master policy (named apart from
    /// `RotatorHarness::rotator`, which a harness also implements).
    fn alternating_rotator(&self) -> DatabaseRotator<Self::Backend>;

    /// The master user's name.
    fn master_user(&self) -> &str;

    /// The master user's password.
    fn master_password(&self) -> SecretString;

    /// Stores the master's secret, with its address, in `store`; its ARN.
    async fn master_secret(&self, store: &dyn SecretAdmin) -> String;

    /// A fresh user and its secret, naming the master secret.
    async fn new_user(&self, store: &dyn SecretAdmin, prefix: &str) -> SecretJson;
}

/// Runs createSecret, then expects setSecret to be refused with the store
/// unchanged; returns the error chain.
pub async fn refused<R: Rotator>(rotations: &Rotations<R>, arn: &str) -> String {
    let token = rotations.start(arn).await;
    rotations.steps(arn, &token, &[Step::CreateSecret]).await;
    let before = rotations.store().snapshot(arn).await.unwrap();
    let result = rotations.step(arn, &token, Step::SetSecret).await;
    assert!(
        matches!(result, Err(RotationError::Rotator { .. })),
        "setSecret must be refused: {:?}",
        result.as_ref().map_err(|e| error_chain(e))
    );
    assert_eq!(before, rotations.store().snapshot(arn).await.unwrap());
    error_chain(&result.unwrap_err())
}

/// The master secret as RDS manages it: `username` and `password` only.
pub fn rds_managed(server: &impl AlternatingServer) -> SecretJson {
    let mut secret = SecretJson::from_map(Default::default());
    secret.set("username", server.master_user());
    secret.set_secret("password", &server.master_password());
    secret
}

/// `secret_for(user, password)` on `server`, naming `master_arn`: the
/// rotated secret an attacker stores.
pub fn secret_naming(
    server: &impl AttackedServer,
    user: &str,
    password: &str,
    master_arn: &str,
) -> SecretJson {
    let mut secret = server.secret_for(user, password);
    secret.set("masterarn", master_arn);
    secret
}

/// The password of the attacker's user `lure` on their own server.
pub const LURE_PASSWORD: &str = "the attacker's password";

/// The attacker's user `lure` on `attackers`, and a rotated secret for it
/// naming `master_arn`.
pub async fn lure(attackers: &impl AttackedServer, master_arn: &str) -> SecretJson {
    attackers.create_user("lure", LURE_PASSWORD).await;
    secret_naming(attackers, "lure", LURE_PASSWORD, master_arn)
}

/// The master's own secret still logs in: no attack changed it.
pub async fn master_still_logs_in(server: &impl AlternatingServer) {
    assert!(
        server
            .can_log_in(server.master_user(), &server.master_password())
            .await,
        "the master's own secret still logs in"
    );
}

fn assert_no_master_login(server: &impl AttackedServer, master: &str, which: &str) {
    let traces = server.login_traces(master);
    assert!(
        traces.is_empty(),
        "the master tried to log in to {which}: {traces:?}"
    );
}

/// The master secret has no address (RDS-managed, no `aws:rds:` tag) and
/// the rotated secret names the attacker's server, where the attacker's
/// user logs in: refused, naming the missing tag, with no master login
/// there. Then with a tag naming an instance `rds` does not know: an RDS
/// error, and still no master login anywhere.
pub async fn an_rds_managed_master_is_never_sent_where_the_rotated_secret_points<D, A>(
    store: Arc<dyn SecretAdmin>,
    rds: Arc<crate::rds::RdsApi>,
    server: &D,
    attackers: &A,
) where
    D: AlternatingServer,
    A: AttackedServer,
{
    let rotations = Rotations::new(Arc::clone(&store), server.alternating_rotator());
    let master = server.master_user();
    let master_arn = rotations.create("rds-master", &rds_managed(server)).await;
    let secret = lure(attackers, &master_arn).await;
    let arn = rotations.create("lure", &secret).await;
    let message = refused(&rotations, &arn).await;
    assert!(
        message.contains("no `host`") && message.contains(PRIMARY_INSTANCE_TAG),
        "{message}"
    );
    assert_no_master_login(attackers, master, "the attacker's server");
    assert!(!attackers.user_exists("lure_clone").await);
    master_still_logs_in(server).await;

    rotations
        .store()
        .tag_secret(
            &master_arn,
            PRIMARY_INSTANCE_TAG,
            "arn:aws:rds:us-east-1:123456789012:db:no-such-db",
        )
        .await
        .unwrap();
    let arn = rotations.create("lure", &secret).await;
    let with_rds = Rotations::new(
        store,
        server
            .alternating_rotator()
            .with_master_policy(MasterPolicy::new(None, rds)),
    );
    let message = refused(&with_rds, &arn).await;
    assert!(
        message.contains("no-such-db") && message.contains("RDS"),
        "{message}"
    );
    assert_no_master_login(attackers, master, "the attacker's server");
    assert!(!attackers.user_exists("lure_clone").await);
    rotations.assert_no_leaks(&[server.master_password()]).await;
    with_rds.assert_no_leaks(&[server.master_password()]).await;
}

/// The master secret has an address; the rotated secret names the
/// attacker's server: refused as not shown to be one database, before the
/// master logs in anywhere, its own server included.
pub async fn a_master_with_an_address_logs_in_only_there<D, A>(
    store: Arc<dyn SecretAdmin>,
    server: &D,
    attackers: &A,
) where
    D: AlternatingServer,
    A: AttackedServer,
{
    let rotations = Rotations::new(store, server.alternating_rotator());
    let master = server.master_user();
    let master_arn = server.master_secret(rotations.store()).await;
    let secret = lure(attackers, &master_arn).await;
    let arn = rotations.create("lure", &secret).await;
    let message = refused(&rotations, &arn).await;
    assert!(
        message.contains("not shown to be one database"),
        "{message}"
    );
    assert_no_master_login(attackers, master, "the attacker's server");
    assert_no_master_login(server, master, "its own server");
    assert!(!attackers.user_exists("lure_clone").await);
    assert!(!server.user_exists("lure_clone").await);
    master_still_logs_in(server).await;
    // Positive control: that login shows in the log, so an attempt by the
    // rotator would have.
    let traces = server.login_traces(master);
    assert!(
        !traces.is_empty(),
        "the log shows no login as the master, even its own"
    );
    rotations.assert_no_leaks(&[server.master_password()]).await;
}

/// A function given `MASTER_SECRET_ARNS` refuses a rotated secret naming
/// any other master, before using it.
pub async fn a_master_outside_the_allow_list_is_refused<D: AlternatingServer>(
    store: Arc<dyn SecretAdmin>,
    rds: Arc<crate::rds::RdsApi>,
    server: &D,
) {
    let allowed = "arn:aws:secretsmanager:us-east-1:123456789012:secret:the-only-master";
    let policy = MasterPolicy::new(Some(vec![allowed.into()]), rds);
    let rotations = Rotations::new(
        store,
        server.alternating_rotator().with_master_policy(policy),
    );
    let secret = server.new_user(rotations.store(), "allow").await;
    let username = secret.required_str("username").unwrap().to_owned();
    let arn = rotations.create("allow", &secret).await;
    let message = refused(&rotations, &arn).await;
    assert!(
        message.contains("MASTER_SECRET_ARNS") && message.contains("the-only-master"),
        "{message}"
    );
    assert!(!server.user_exists(&format!("{username}_clone")).await);
    assert_no_master_login(server, server.master_user(), "its server");
}

/// The rotated secret names, as its master, another rotated secret of
/// alternating users (one that names a master itself): whoever may edit
/// rotated secrets must not make one of them act as the master of
/// another. Refused before that secret's user logs in, and no clone made.
pub async fn a_rotated_secret_is_never_a_master<D: AlternatingServer>(
    store: Arc<dyn SecretAdmin>,
    server: &D,
) {
    let rotations = Rotations::new(store, server.alternating_rotator());
    let stepping_stone = server.new_user(rotations.store(), "stone").await;
    let stone_arn = rotations.create("stone", &stepping_stone).await;
    let mut secret = server.new_user(rotations.store(), "climber").await;
    secret.set("masterarn", stone_arn.as_str());
    let username = secret.required_str("username").unwrap().to_owned();
    let arn = rotations.create("climber", &secret).await;
    let message = refused(&rotations, &arn).await;
    assert!(
        message.contains(&stone_arn) && message.contains("rotated secret"),
        "{message}"
    );
    assert!(!server.user_exists(&format!("{username}_clone")).await);
    let stone_user = stepping_stone.required_str("username").unwrap();
    let traces = server.login_traces(stone_user);
    assert!(
        traces.is_empty(),
        "the rotated secret's user logged in as a master: {traces:?}"
    );
}
