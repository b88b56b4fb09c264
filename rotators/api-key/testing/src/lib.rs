//! The API key rotator's test harnesses, shared by its tests and the
//! benchmark: IAM users and access keys in moto ([`IamHarness`]), and
//! generated keys ([`GeneratedHarness`]), each for the conformance kit and
//! the built function's checks.

#![warn(missing_docs)]

mod generated;
mod iam;

pub use generated::{GeneratedHarness, SETTINGS};
pub use iam::{moto_config, IamHarness};
