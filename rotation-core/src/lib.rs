//! The AWS Secrets Manager rotation protocol, written once.
//!
//! Secrets Manager rotates a secret by invoking a function four times with
//! one token: createSecret stores a new value as AWSPENDING, setSecret makes
//! the backend accept it, testSecret proves it works, finishSecret moves
//! AWSCURRENT to it. This crate runs those steps over a [`SecretStore`](store::SecretStore)
//! (Secrets Manager through the AWS SDK; an in-memory store with the
//! service's semantics, for tests; or the same semantics in an SQLite file,
//! feature `embedded`, for the `rotate` tool) and a [`Rotator`], the small
//! trait a backend implements. The steps validate the event as AWS's
//! templates do, are idempotent, and resume after a crash at any point;
//! secret values live in redacting types ([`SecretString`],
//! [`SecretJson`]) so they never reach a log or an error. Database rotators
//! build on the `rotation-database` crate, which holds AWS's database
//! secret schema and the single-user and alternating-users strategies.
//!
//! # Writing a rotator
//!
//! 1. **Say what rotates.** By default a rotator rotates the `password`
//!    field with AWS's password policy (which the function's
//!    `PASSWORD_LENGTH` and `EXCLUDE_*` settings adjust). A different field,
//!    other policy defaults, or keys in a fixed shape are one method,
//!    [`Rotator::credential`], returning a [`Credential`]. createSecret then
//!    needs nothing from you: the pending value is the current one with a
//!    new value in that field.
//! 2. **Make the backend accept it:** [`Rotator::set_secret`]. It may run
//!    again after it succeeded, or after the process died inside it, so it
//!    says "make the backend accept the pending value", not "change the
//!    password once". A credential that changes itself (a user setting its
//!    own password) implements [`ChangesItself`] instead, two methods, and
//!    [`SelfChanging`] makes it a rotator with the login order done: the
//!    first stored value that works, a pending value for another account
//!    refused. A rotator chosen at run time is a `Box<dyn Rotator>`.
//!    A more privileged credential (an admin's) comes from a secret the
//!    function's settings name, never from a field of the rotated secret:
//!    [`RotationContext::other_secret`].
//! 3. **Prove it works:** [`Rotator::test_secret`] logs in with the pending
//!    value. It must fail when setSecret has not applied it.
//! 4. **Retire the old value, if the backend keeps several:**
//!    [`Rotator::after_finish`], with
//!    [`RotationContext::previous_and_current`].
//! 5. **Check what you are given:** [`Rotator::validate`] refuses a secret
//!    that lacks a field before anything is written; errors name fields,
//!    never values ([`SecretFormatError`], [`RotatorError`], and
//!    [`BackendContext`] for a driver's errors).
//! 6. **Run it:** `lambda::run` (or `lambda::run_with` for settings read
//!    at start-up; feature `lambda`, on by default) is the Lambda
//!    function's whole `main`, with a log subscriber (`logging`) that keeps
//!    raw HTTP exchanges out of the logs at any level. An application that
//!    only reads secrets (`secret-cache`) turns default features off but
//!    `aws` (the Secrets Manager store) and builds no Lambda runtime; with
//!    no features at all (the fuzz targets) nothing of the AWS SDK is
//!    built.
//! 7. **Prove it against the real backend:** the `testkit` feature's
//!    conformance kit (`testkit::conformance::run_all`) runs full, repeated
//!    and interrupted rotations, store faults at every call, bad events and
//!    bad secrets, and checks no secret reached the logs;
//!    `testkit::Rotations` drives single steps for your own tests.
//!
//! A whole function for a directory whose users change their own
//! passwords:
//!
//! ```no_run
//! use rotation_core::{async_trait, ChangesItself, RotatorError, SecretJson, SelfChanging};
//!
//! struct Directory;
//!
//! #[async_trait]
//! impl ChangesItself for Directory {
//!     type Session = String;
//!
//!     async fn log_in(&self, login: &SecretJson) -> Result<Option<String>, RotatorError> {
//!         let user = login.required_str("username")?;
//!         let password = login.required_credential("password")?;
//!         Ok((password.expose() != "rejected").then(|| user.to_owned())) // bind here
//!     }
//!
//!     async fn change(&self, user: String, pending: &SecretJson) -> Result<(), RotatorError> {
//!         let _password = pending.required_credential("password")?;
//!         Ok(()) // set `user`'s password here
//!     }
//! }
//!
//! #[tokio::main]
//! async fn main() -> Result<(), rotation_core::lambda::Error> {
//!     rotation_core::lambda::run(SelfChanging(Directory)).await
//! }
//! ```
//!
//! `examples/redis-acl-rotator` in the repository is a complete rotator
//! written against this API, with its tests.

#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "internals")]
#[doc(hidden)]
pub mod aws_query;
pub mod credential;
pub mod engine;
pub mod error;
pub mod event;
mod label;
#[cfg(feature = "lambda")]
pub mod lambda;
#[cfg(feature = "logging")]
pub mod logging;
pub mod password;
mod rotator;
pub mod secret;
pub mod self_changing;
pub mod settings;
pub mod store;
#[cfg(feature = "testkit")]
pub mod testkit;

/// The attribute [`Rotator`] implementations are written with, re-exported so
/// a rotator crate needs no dependency of its own for it.
pub use async_trait::async_trait;
pub use credential::{Credential, KeyFormat};
pub use error::{BackendContext, RotatorError, SecretFormatError, SettingsError};
pub use label::VersionLabel;
pub use password::PasswordPolicy;
pub use rotator::{RotationContext, Rotator};
pub use secret::{SecretJson, SecretString};
pub use self_changing::{ChangesItself, SelfChanging};

/// The book's chapter on writing a rotator: its Rust examples compiled
/// and run as doctests, so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../../docs/writing-a-rotator.md")]
pub struct WritingARotatorExamples;
