//! A failure at every database call of setSecret and testSecret, before
//! and after the call takes effect, in a first rotation and in a second
//! (for alternating users: when the clone is made to match its original,
//! at the master login, and back from the clone to the original), then the
//! rotation resumed from the failed step; and a database that hangs
//! mid-step. At every point a stored login works, and the resumed rotation
//! ends with a working AWSCURRENT. Written once for every engine: each
//! runs it with its backend and its conformance harness.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rotation_core::error::error_chain;
use rotation_core::store::VersionSelector;
use rotation_core::testkit::{Rotations, RotatorHarness, SecretAdmin};
use rotation_core::{
    error::RotationError, event::Step, store::AWSCURRENT, store::AWSPENDING, SecretJson,
};

use super::faulty::{BackendFault, FaultSwitch, FaultyBackend};
use crate::{DatabaseBackend, DatabaseRotator};

type FaultyRotations<B> = Rotations<DatabaseRotator<FaultyBackend<B>>>;

fn faulty_rotations<B: DatabaseBackend>(
    backend: B,
    store: Arc<dyn SecretAdmin>,
) -> (FaultyRotations<B>, FaultSwitch) {
    let (backend, switch) = FaultyBackend::new(backend);
    (
        Rotations::new(store, DatabaseRotator::new(backend, None)),
        switch,
    )
}

/// A fresh user's secret, rotated `times` times; returns its ARN.
async fn subject<B: DatabaseBackend, H: RotatorHarness>(
    rotations: &FaultyRotations<B>,
    harness: &H,
    times: usize,
) -> String {
    let secret = harness.fresh_secret(rotations.store()).await;
    let arn = rotations.create("db-fault", &secret).await;
    for _ in 0..times {
        rotations.rotate(&arn).await;
    }
    arn
}

async fn logs_in<B: DatabaseBackend, H: RotatorHarness>(
    rotations: &FaultyRotations<B>,
    harness: &H,
    arn: &str,
    selector: VersionSelector<'_>,
) -> bool {
    let value: Option<SecretJson> = rotations
        .store()
        .get_value(arn, selector)
        .await
        .expect("read the secret")
        .map(|v| SecretJson::from_payload(&v.payload).unwrap());
    match value {
        Some(secret) => harness.can_log_in(&secret).await,
        None => false,
    }
}

/// The database calls of setSecret and testSecret in a clean rotation
/// after `times` earlier ones.
async fn calls<B: DatabaseBackend, H: RotatorHarness>(
    rotations: &FaultyRotations<B>,
    switch: &FaultSwitch,
    harness: &H,
    times: usize,
) -> Vec<(Step, Vec<&'static str>)> {
    let arn = subject(rotations, harness, times).await;
    let token = rotations.start(&arn).await;
    rotations.steps(&arn, &token, &[Step::CreateSecret]).await;
    let mut calls = Vec::new();
    for step in [Step::SetSecret, Step::TestSecret] {
        switch.disarm();
        rotations.steps(&arn, &token, &[step]).await;
        calls.push((step, switch.take_log()));
    }
    rotations.steps(&arn, &token, &[Step::FinishSecret]).await;
    calls
}

/// Fails every database call of setSecret and testSecret in turn, before
/// and after it takes effect, in a first and a second rotation, and
/// resumes each; `alternating` says the harness's secrets rotate with
/// alternating users (AWSCURRENT must then keep working throughout).
/// Returns the number of fault points.
pub async fn fail_every_database_call<B: DatabaseBackend, H: RotatorHarness>(
    backend: B,
    harness: &H,
    store: Arc<dyn SecretAdmin>,
    alternating: bool,
) -> usize {
    let (rotations, switch) = faulty_rotations(backend, store);
    let mut points = 0;
    for times in [0, 1] {
        let calls = calls(&rotations, &switch, harness, times).await;
        for (step, operations) in &calls {
            for (at, operation) in operations.iter().enumerate() {
                for fault in [BackendFault::Before, BackendFault::After] {
                    let when = format!(
                        "{fault:?} call {at} ({operation}) of {step} in rotation {}",
                        times + 1
                    );
                    let arn = subject(&rotations, harness, times).await;
                    let token = rotations.start(&arn).await;
                    let done: &[Step] = match step {
                        Step::SetSecret => &[Step::CreateSecret],
                        _ => &[Step::CreateSecret, Step::SetSecret],
                    };
                    rotations.steps(&arn, &token, done).await;
                    switch.arm(at, fault);
                    let failed = rotations.step(&arn, &token, *step).await;
                    assert!(switch.fired(), "{when}: the fault did not fire");
                    assert!(failed.is_err(), "{when}: the step must fail");
                    switch.disarm();
                    let current = logs_in(
                        &rotations,
                        harness,
                        &arn,
                        VersionSelector::Stage(AWSCURRENT),
                    )
                    .await;
                    let pending = logs_in(
                        &rotations,
                        harness,
                        &arn,
                        VersionSelector::IdAndStage(&token, AWSPENDING),
                    )
                    .await;
                    assert!(current || pending, "{when}: no stored login works");
                    if alternating {
                        assert!(current, "{when}: alternating users keep AWSCURRENT working");
                    }
                    let from = Step::ALL.iter().position(|s| s == step).unwrap();
                    rotations.steps(&arn, &token, &Step::ALL[from..]).await;
                    assert!(
                        logs_in(
                            &rotations,
                            harness,
                            &arn,
                            VersionSelector::Stage(AWSCURRENT)
                        )
                        .await,
                        "{when}: the resumed rotation must end with a working AWSCURRENT"
                    );
                    points += 1;
                }
            }
        }
    }
    rotations
        .assert_no_leaks(&harness.other_secret_values())
        .await;
    points
}

/// With alternating-users secrets: the database stops answering after the
/// clone was made to match its original; the step fails with
/// DeadlineExceeded before a 4 s Lambda deadline, AWSCURRENT still works,
/// and the next try completes.
pub async fn a_database_that_hangs_mid_step_fails_it_in_time<
    B: DatabaseBackend,
    H: RotatorHarness,
>(
    backend: B,
    harness: &H,
    store: Arc<dyn SecretAdmin>,
) {
    let (rotations, switch) = faulty_rotations(backend, store);
    let calls = calls(&rotations, &switch, harness, 0).await;
    let set_calls = &calls[0].1;
    let made = set_calls
        .iter()
        .position(|c| *c == "match_clone")
        .expect("setSecret makes the clone match its original");
    let after_clone = made + 1;
    assert_eq!(set_calls[after_clone], "set_password", "{set_calls:?}");

    let arn = subject(&rotations, harness, 0).await;
    let token = rotations.start(&arn).await;
    rotations.steps(&arn, &token, &[Step::CreateSecret]).await;
    switch.arm(after_clone, BackendFault::Hang(Duration::from_secs(30)));
    let started = Instant::now();
    // A 4 s Lambda deadline: the step must stop DEADLINE_MARGIN before it.
    let result = rotations
        .step_within(
            &arn,
            &token,
            Step::SetSecret,
            started + Duration::from_secs(4),
        )
        .await;
    let elapsed = started.elapsed();
    assert!(
        matches!(result, Err(RotationError::DeadlineExceeded { .. })),
        "{:?}",
        result.as_ref().map_err(|e| error_chain(e))
    );
    assert!(elapsed < Duration::from_secs(4), "{elapsed:?}");
    switch.disarm();
    assert!(
        logs_in(
            &rotations,
            harness,
            &arn,
            VersionSelector::Stage(AWSCURRENT)
        )
        .await
    );
    rotations.steps(&arn, &token, &Step::ALL[1..]).await;
    assert!(
        logs_in(
            &rotations,
            harness,
            &arn,
            VersionSelector::Stage(AWSCURRENT)
        )
        .await
    );
}
