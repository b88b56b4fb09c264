//! The API key rotator's test harnesses, shared by its tests and the
//! benchmark: IAM users and access keys in moto ([`IamHarness`]), a
//! key-issuing HTTP service ([`KeyService`], [`HttpHarness`]), and
//! generated keys ([`GeneratedHarness`]), each for the conformance kit and
//! the built function's checks.

#![warn(missing_docs)]

mod generated;
mod http;
mod iam;
pub mod key_service;

pub use generated::{GeneratedHarness, SETTINGS};
pub use http::HttpHarness;
pub use iam::{moto_config, IamHarness};
pub use key_service::KeyService;
