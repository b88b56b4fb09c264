//! Rotates PostgreSQL and Aurora PostgreSQL credentials stored in AWS
//! Secrets Manager.
//!
//! The rotation protocol and the single-user and alternating-users
//! strategies come from `rotation-core`; this crate is the
//! [`DatabaseBackend`](rotation_database::DatabaseBackend) for
//! PostgreSQL: logins through `tokio-postgres` (TLS through rustls,
//! verifying the certificate and host name, never falling back to
//! plaintext), `ALTER ROLE ... PASSWORD` with a SCRAM-SHA-256 verifier
//! computed here so the password never reaches the server's logs, and the
//! clone's role attributes and memberships kept equal to the original's.
//! Master logins never answer a request for a cleartext or MD5 password
//! ([`auth_guard`]).
//! The `postgres-rotator` binary is the Lambda function.

#![warn(missing_docs)]

mod backend;
mod clone_sync;
mod tls;
mod verifier_ahead;
rotation_database::internal_modules!(auth_guard, sql);

pub use backend::{PostgresBackend, RoleMissing, Session};
pub use clone_sync::SyncIncomplete;
pub use rotation_database::{CertificateRejected, ServerWithoutTls, TimedOut};

use rotation_core::error::SettingsError;
use rotation_database::DatabaseRotator;

/// The PostgreSQL rotator: the shared database strategies over
/// [`PostgresBackend`].
pub type PostgresRotator = DatabaseRotator<PostgresBackend>;

/// The rotator configured from the environment (`ROTATION_STRATEGY`,
/// `DB_CONNECT_TIMEOUT`, `DB_CA_BUNDLE`).
pub fn rotator_from_env() -> Result<PostgresRotator, SettingsError> {
    DatabaseRotator::from_env(PostgresBackend::from_env()?)
}
