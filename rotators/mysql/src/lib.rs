//! Rotates MySQL, Aurora MySQL and MariaDB credentials stored in AWS
//! Secrets Manager.
//!
//! The rotation protocol comes from `rotation-core` and the single-user
//! and alternating-users strategies from `rotation-database`; this crate
//! is the [`DatabaseBackend`](rotation_database::DatabaseBackend) for the
//! MySQL family: logins through `mysql_async` (TLS through rustls,
//! verifying the certificate and host name, never falling back to
//! plaintext), the server's family and version read from `VERSION()`
//! ([`server`]), passwords set as the hash of each account's own plugin
//! computed here ([`hash`], [`sql`]) so the password never reaches the
//! server's logs, and the clone kept a copy of its original at every host
//! the original has: plugin, TLS requirement, limits, privileges, roles
//! and default roles, granted and revoked ([`grants`]). The
//! `mysql-rotator` binary is the Lambda function.

#![warn(missing_docs)]

mod accounts;
mod backend;
mod clone_sync;
mod settings;
rotation_database::internal_modules!(grants, hash, server, sql);

pub use accounts::Account;
pub use backend::{CloneNameTooLong, MysqlBackend, SecretStatementFailed, Session};
pub use clone_sync::StatementFailed;
pub use rotation_database::{CertificateRejected, ServerWithoutTls, TimedOut};
pub use settings::{MysqlSettings, USERNAME_LIMIT_VARIABLE};

use rotation_core::error::SettingsError;
use rotation_database::DatabaseRotator;

/// The MySQL rotator: the shared database strategies over
/// [`MysqlBackend`].
pub type MysqlRotator = DatabaseRotator<MysqlBackend>;

/// The rotator configured from the environment (`ROTATION_STRATEGY`,
/// `MASTER_SECRET_ARNS`, `DB_CONNECT_TIMEOUT`, `DB_CA_BUNDLE`,
/// `USERNAME_CHARACTER_LIMIT`).
pub fn rotator_from_env() -> Result<MysqlRotator, SettingsError> {
    DatabaseRotator::from_env(MysqlBackend::from_env()?)
}
