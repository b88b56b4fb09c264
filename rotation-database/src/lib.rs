//! Database rotation, written once for every engine.
//!
//! A database secret is AWS's JSON (`engine`, `host`, `port`, `username`,
//! `password`, `dbname`, `ssl`, `masterarn`), parsed by [`DatabaseSecret`].
//! Two strategies rotate it: [`Strategy::SingleUser`], where the user
//! changes its own password, and [`Strategy::AlternatingUsers`], where a
//! master user sets the password of whichever of `name` / `name_clone` is
//! not current. The strategies decide which versions to log in with and in
//! what order, the host and user checks, the confused-deputy guard and the
//! clone naming; an engine supplies only a [`DatabaseBackend`]: logins and
//! the statements that change users. [`DatabaseRotator`] puts the two
//! together as a [`Rotator`](rotation_core::Rotator).
//!
//! The alternating-users strategy trusts nothing the rotated secret says
//! about where the master logs in: the address comes from the master secret
//! or, for an RDS-managed one, from the RDS API ([`rds`]). What every
//! engine's TLS trusts is here too ([`system_and_rds_roots`],
//! [`read_ca_bundle`]). The `testkit` feature adds what every engine's
//! tests share: `testkit::FaultyBackend` and the fault matrix run with it,
//! and the tables of malformed secrets and settings.

#![warn(missing_docs)]

mod backend;
pub mod rds;
mod rotator;
mod secret;
mod settings;
mod strategy;
#[cfg(feature = "testkit")]
pub mod testkit;
mod tls;

pub use backend::{
    CertificateRejected, DatabaseBackend, LoginError, PairStanding, ServerWithoutTls, TimedOut,
    UserStanding,
};
pub use rotator::DatabaseRotator;
pub use secret::{DatabaseSecret, EngineSpec, SslMode};
pub use settings::{
    ConnectSettings, CA_BUNDLE_VARIABLE, CONNECT_TIMEOUT_VARIABLE, DEFAULT_CONNECT_TIMEOUT,
};
pub use strategy::master::{MasterPolicy, MASTER_SECRET_ARNS_VARIABLE};
pub use strategy::{
    alternate_name, clone_name, original_name, Strategy, CLONE_SUFFIX, STRATEGY_VARIABLE,
};
pub use tls::{
    is_certificate_error, rds_roots, read_ca_bundle, rustls_error, system_and_rds_roots,
    ChainOnlyVerifier, RDS_REGIONS_NOT_COVERED, RDS_ROOTS_PEM,
};

use rotation_core::{RotatorError, VersionLabel};

/// Host names compare without case and without a trailing dot, as DNS does.
fn same_host(a: &str, b: &str) -> bool {
    a.trim_end_matches('.')
        .eq_ignore_ascii_case(b.trim_end_matches('.'))
}

/// A login failed for a reason other than a rejected password (or the
/// caller does not fall back); `label` names the version it used, when the
/// caller knows it.
fn login_failed(
    label: Option<VersionLabel>,
    login: &DatabaseSecret,
    error: LoginError,
) -> RotatorError {
    let with = label
        .map(|l| format!(" with the {l} secret"))
        .unwrap_or_default();
    RotatorError::backend(
        format!("log in to {} as {}{with}", login.address(), login.username),
        error,
    )
}

/// Declares modules public (and hidden) when the calling crate's feature
/// `internals` is on, private otherwise: an engine's statement builders
/// and parsers, which its fuzz targets and tests call directly but which
/// are not part of its API.
#[doc(hidden)]
#[macro_export]
macro_rules! internal_modules {
    ($($module:ident),+) => {$(
        #[cfg(feature = "internals")]
        #[doc(hidden)]
        pub mod $module;
        #[cfg(not(feature = "internals"))]
        mod $module;
    )+};
}
