//! What a database engine supplies to the shared strategies: logins and the
//! few statements that change users.

use async_trait::async_trait;

use rotation_core::error::BoxError;
use rotation_core::SecretString;

use crate::secret::{DatabaseSecret, EngineSpec};

/// Why a login failed. The strategies fall back to an older password only
/// when the server refused the credentials; anything else (an unreachable
/// host, a timeout, a TLS failure) would fail the same way again, so they
/// stop there and keep the step well inside the Lambda timeout.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// The server answered and refused the username or password.
    #[error("the server refused the credentials")]
    Rejected(#[source] BoxError),
    /// No session: the host did not answer in time, refused the
    /// connection, or failed the TLS handshake or verification.
    #[error("could not connect")]
    Connection(#[source] BoxError),
}

/// A login that did not finish within `DB_CONNECT_TIMEOUT`.
#[derive(Debug, thiserror::Error)]
#[error("no answer within {0:?} (DB_CONNECT_TIMEOUT)")]
pub struct TimedOut(pub std::time::Duration);

/// The server's certificate failed verification; the source is the
/// driver's error.
#[derive(Debug, thiserror::Error)]
#[error("the server's certificate was not accepted (trusted: the system's roots, Amazon RDS's authorities compiled in, and DB_CA_BUNDLE, with the host name checked; with \"ssl\": \"verify-ca\", RDS's authorities and DB_CA_BUNDLE only, and no name; for an RDS region the compiled-in set lacks, or a private authority, set DB_CA_BUNDLE; for a host given as an IP address or an alias the certificate does not name, \"ssl\": \"verify-ca\")")]
pub struct CertificateRejected(#[source] pub BoxError);

/// The secret asks for TLS and the server offers none; the source is the
/// driver's error.
#[derive(Debug, thiserror::Error)]
#[error("the server does not accept TLS, and this function never falls back to plaintext; if an unencrypted connection is really wanted, set \"ssl\": false in the secret")]
pub struct ServerWithoutTls(#[source] pub BoxError);

/// A database engine, as the single-user and alternating-users strategies
/// need it. Implementations hold the engine's settings (TLS roots, connect
/// timeout); every method must be safe to call again after it succeeded,
/// since a step may be retried at any point.
///
/// Usernames arrive as plain strings taken from the secret: implementations
/// quote them by the engine's identifier rules and never splice them into
/// SQL otherwise. Passwords are bound, or pre-hashed on the client, never
/// interpolated in clear.
#[async_trait]
pub trait DatabaseBackend: Send + Sync + 'static {
    /// An open session.
    type Connection: Send;

    /// The engine's secret fields, defaults and limits.
    const SPEC: EngineSpec;

    /// Logs in with `login`, bounded by the backend's connect timeout.
    async fn connect(&self, login: &DatabaseSecret) -> Result<Self::Connection, LoginError>;

    /// Logs in with the master secret's `login`. Engines whose driver lets
    /// them should refuse any authentication that hands the password to the
    /// server (cleartext, or a replayable hash), so even a server that is
    /// not what the master secret's owner meant never learns it. The
    /// default is [`connect`](Self::connect).
    async fn connect_admin(&self, login: &DatabaseSecret) -> Result<Self::Connection, LoginError> {
        self.connect(login).await
    }

    /// Runs a trivial query: proof that the session works.
    async fn check(&self, connection: &mut Self::Connection) -> Result<(), BoxError>;

    /// Sets the password of the user the session is logged in as
    /// (single user). The default is [`set_password`](Self::set_password)
    /// on the login's own username; engines whose users change their own
    /// password with another statement (MySQL's `SET PASSWORD`) override it.
    async fn set_own_password(
        &self,
        connection: &mut Self::Connection,
        login: &DatabaseSecret,
        password: &SecretString,
    ) -> Result<(), BoxError> {
        self.set_password(connection, &login.username, password)
            .await
    }

    /// Told, before the logins and checks that come ahead of
    /// [`set_password`](Self::set_password) or
    /// [`set_own_password`](Self::set_own_password), which user and
    /// password they will set: an engine that stores a costly derivation of
    /// the password (SCRAM's 4096 rounds) may start computing it on another
    /// thread, to overlap those round trips, and use it if that user and
    /// password are then set. The default does nothing.
    fn prepare_password(&self, _username: &str, _password: &SecretString) {}

    /// Sets another user's password with an administrator's session
    /// (alternating users).
    async fn set_password(
        &self,
        admin: &mut Self::Connection,
        username: &str,
        password: &SecretString,
    ) -> Result<(), BoxError>;

    /// Makes `clone` the copy of `original` that alternating users logs in
    /// with: creates it if missing, able to log in and marked as
    /// `original`'s clone (see [`is_clone_of`](Self::is_clone_of)) in the
    /// same statement, so a crash cannot leave an unmarked clone; then
    /// makes its privileges match `original`'s, granting what is missing and
    /// revoking what `original` lacks. Idempotent, and complete even when an
    /// earlier try died between creating the clone and its grants. The
    /// strategy has proved both users are ordinary and, when `clone`
    /// exists, that it is `original`'s clone.
    async fn match_clone(
        &self,
        admin: &mut Self::Connection,
        original: &str,
        clone: &str,
    ) -> Result<(), BoxError>;

    /// What `username` is, as the pair check needs it: missing, an
    /// ordinary user, or one that administers users (a superuser, or
    /// PostgreSQL's `CREATEROLE`). Alternating users never change an
    /// administrator's password nor make one its pair.
    async fn user_standing(
        &self,
        admin: &mut Self::Connection,
        username: &str,
    ) -> Result<UserStanding, BoxError>;

    /// Whether `clone` carries the mark [`match_clone`](Self::match_clone)
    /// gives the clones it creates (for PostgreSQL, membership in
    /// `original`), so a user merely named `<original>_clone` is never
    /// taken for the pair of `original`.
    async fn is_clone_of(
        &self,
        admin: &mut Self::Connection,
        original: &str,
        clone: &str,
    ) -> Result<bool, BoxError>;

    /// Both users of the pair as the pair check reads them. The default
    /// asks [`user_standing`](Self::user_standing) of each and, when the
    /// clone is an ordinary user, [`is_clone_of`](Self::is_clone_of); an
    /// engine whose driver pipelines may answer in one round trip.
    async fn pair_standing(
        &self,
        admin: &mut Self::Connection,
        original: &str,
        clone: &str,
    ) -> Result<PairStanding, BoxError> {
        let original_standing = self.user_standing(admin, original).await?;
        let clone_standing = self.user_standing(admin, clone).await?;
        let clone_is_marked = clone_standing == UserStanding::Ordinary
            && self.is_clone_of(admin, original, clone).await?;
        Ok(PairStanding {
            original: original_standing,
            clone: clone_standing,
            clone_is_marked,
        })
    }
}

/// The two users of an alternating pair, as [`DatabaseBackend::pair_standing`]
/// reads them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PairStanding {
    /// The original user.
    pub original: UserStanding,
    /// Its clone.
    pub clone: UserStanding,
    /// Whether the clone carries the original's clone mark
    /// ([`DatabaseBackend::is_clone_of`]); false when it is missing.
    pub clone_is_marked: bool,
}

/// A user as the alternating-users pair check sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserStanding {
    /// No such user.
    Missing,
    /// A user without rights over other users.
    Ordinary,
    /// A user that can administer users; the reason names the right (e.g.
    /// `SUPERUSER`).
    Administrator(String),
}
