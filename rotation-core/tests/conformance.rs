//! The conformance kit and the store contract over the in-memory store,
//! with the reference rotator.

use std::sync::Arc;

use rotation_core::store::InMemorySecretStore;
use rotation_core::testkit::conformance::run_all;
use rotation_core::testkit::reference::TableHarness;
use rotation_core::testkit::{store_contract, KnownGaps, SecretAdmin};
use rotation_core::Step;

#[tokio::test]
async fn in_memory_store_meets_the_store_contract() {
    let store = InMemorySecretStore::new();
    store_contract::run_all(&store, KnownGaps::default()).await;
}

#[tokio::test]
async fn reference_rotator_passes_the_conformance_kit_on_the_in_memory_store() {
    let store: Arc<dyn SecretAdmin> = Arc::new(InMemorySecretStore::new());
    let report = run_all(&TableHarness::default(), store).await;
    println!("{report:#?}");
    assert_eq!(report.cases.len(), 9);
    // The exact call budget of one rotation: 11 Secrets Manager calls
    // (AWS's PostgreSQL template makes 14).
    let calls: Vec<(Step, usize)> = report
        .calls_per_step
        .iter()
        .map(|(step, ops)| (*step, ops.len()))
        .collect();
    assert_eq!(
        calls,
        vec![
            (Step::CreateSecret, 4),
            (Step::SetSecret, 3),
            (Step::TestSecret, 2),
            (Step::FinishSecret, 2),
        ]
    );
    // Two timings at each of the 11 calls.
    assert_eq!(report.fault_points.len(), 22);
}
