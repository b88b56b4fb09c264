//! The AWS Secrets Manager rotation protocol, written once.
//!
//! Secrets Manager rotates a secret by invoking a function four times with
//! one token: createSecret stores a new value as AWSPENDING, setSecret makes
//! the backend accept it, testSecret proves it works, finishSecret moves
//! AWSCURRENT to it. This crate runs those steps ([`Rotation`]) over a
//! [`SecretStore`] (Secrets Manager through the AWS SDK, or an in-memory
//! store with the service's semantics) and a [`Rotator`], the small trait a
//! backend implements. The steps validate the event as AWS's templates do,
//! are idempotent, and resume after a crash at any point; secret values live
//! in redacting types ([`SecretString`], [`SecretJson`]) so they never reach
//! a log or an error. Database rotators build on the `rotation-database`
//! crate, which holds AWS's database secret schema and the single-user and
//! alternating-users strategies.
//! [`lambda::run`] turns a rotator into a Lambda function's `main`, with a
//! log subscriber ([`logging`]) that keeps raw HTTP exchanges out of the
//! logs at any level; the `testkit` feature brings the conformance suite
//! every rotator runs against its real backend.

#![warn(missing_docs)]

mod credential;
pub mod error;
pub mod event;
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
pub use rotation::{validate, Rotation, StepOutcome, DEADLINE_MARGIN};
pub use rotator::{RotationContext, Rotator};
pub use secret::{SecretJson, SecretPayload, SecretString};
pub use store::{SecretStore, AWSCURRENT, AWSPENDING, AWSPREVIOUS};

/// The README's Rust examples, compiled and run as doctests so they stay
/// true.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeExamples;
