//! The conformance kit (feature `testkit`), in the spirit of
//! `object_store`'s integration module: suites of async test cases that
//! every store and every rotator runs against its real backend.
//!
//! - [`store_contract`]: what a [`SecretStore`](crate::store::SecretStore) must do,
//!   run by the in-memory store and by the AWS-SDK store against moto.
//! - [`conformance`]: what a [`Rotator`](crate::Rotator) must survive, given
//!   a [`RotatorHarness`] that can make a fresh
//!   credential and check a login: full and repeated rotations, every step
//!   run twice, a failure at every store call of every step then resumed,
//!   a crash after the backend changed, bad events and bad secrets, and no
//!   secret in the logs.
//! - [`Rotations`]: the one test driver, which the kit is built on:
//!   rotations run step by step with the events Secrets Manager sends,
//!   through an armable fault injector, logs captured for the leak check;
//!   for a rotator's own tests beyond the kit.
//! - [`faults`], [`logs`], [`admin`]: the pieces those suites are made of.

pub mod admin;
pub mod conformance;
pub mod faults;
pub mod logs;
pub mod reference;
pub mod rotations;
pub mod store_contract;

use std::sync::atomic::{AtomicU64, Ordering};

pub use admin::{SecretAdmin, Snapshot};
pub use conformance::{ConformanceReport, RotatorHarness};
pub use faults::{FaultTiming, FaultyStore};
pub use logs::{assert_no_secret_in, CapturedLogs, StepRecorder};
pub use rotations::Rotations;

pub use store_contract::KnownGaps;

fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).expect("the OS random source is available");
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

/// A name no other test run uses: `prefix`, a process-wide counter and
/// random hex, within Secrets Manager's name rules.
pub fn unique_name(prefix: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    format!(
        "{prefix}-{}-{}",
        COUNTER.fetch_add(1, Ordering::Relaxed),
        random_hex(4)
    )
}

/// A fresh ClientRequestToken, shaped like the UUIDs the service sends.
pub fn new_token() -> String {
    let h = random_hex(16);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// Runs `run` in a task of its own, which must panic (a broken rotator
/// failing the kit), and returns the panic's message. What `run` started
/// (a server) stops as the task unwinds.
pub async fn panic_message<F>(run: F) -> String
where
    F: std::future::Future + Send + 'static,
    F::Output: std::fmt::Debug + Send,
{
    match tokio::spawn(run).await {
        Ok(output) => panic!("expected a failure, but it passed: {output:?}"),
        Err(error) => {
            let payload = error.into_panic();
            payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default()
        }
    }
}
