//! The AWS Secrets Manager rotation protocol, written once.
//!
//! Secrets Manager rotates a secret by invoking a function four times with
//! one token: createSecret stores a new value as AWSPENDING, setSecret makes
//! the backend accept it, testSecret proves it works, finishSecret moves
//! AWSCURRENT to it. This crate runs those steps over a [`SecretStore`]
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
//!    password once". A credential that changes itself logs in with the
//!    first stored value that works: [`working_login::find_working_login`].
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
//! 6. **Run it:** [`lambda::run`] (or [`lambda::run_with`] for settings read
//!    at start-up) is the Lambda function's whole `main`, with a log
//!    subscriber ([`logging`]) that keeps raw HTTP exchanges out of the logs
//!    at any level.
//! 7. **Prove it against the real backend:** the `testkit` feature's
//!    conformance kit (`testkit::conformance::run_all`) runs full, repeated
//!    and interrupted rotations, store faults at every call, bad events and
//!    bad secrets, and checks no secret reached the logs;
//!    `testkit::Rotations` drives single steps for your own tests.
//!
//! `examples/redis-acl-rotator` in the repository is a complete rotator
//! written this way.

#![warn(missing_docs)]

mod credential;
pub mod error;
pub mod event;
mod label;
pub mod lambda;
pub mod logging;
pub mod password;
mod rotation;
mod rotator;
pub mod secret;
pub mod store;
#[cfg(feature = "testkit")]
pub mod testkit;
pub mod working_login;

/// The attribute [`Rotator`] implementations are written with, re-exported so
/// a rotator crate needs no dependency of its own for it.
pub use async_trait::async_trait;
pub use credential::{Credential, KeyFormat, ValueFormat, ValueGenerator};
pub use error::{
    BackendContext, RotationError, RotatorError, SecretFormatError, SettingsError, StoreError,
    VersionLabel,
};
pub use event::{RotationEvent, Step};
pub use password::{PasswordGenerator, PasswordPolicy};
pub use rotation::{Rotation, StepOutcome, DEADLINE_MARGIN};
pub use rotator::{RotationContext, Rotator};
pub use secret::{SecretJson, SecretPayload, SecretString};
pub use store::{SecretStore, AWSCURRENT, AWSPENDING, AWSPREVIOUS};

/// The README's Rust examples, compiled and run as doctests so they stay
/// true.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeExamples;
