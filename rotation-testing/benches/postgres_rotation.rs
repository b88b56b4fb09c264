//! How long one full PostgreSQL rotation takes (createSecret to
//! finishSecret, as the four invocations would run them) against a local
//! throwaway cluster, for each strategy, with Secrets Manager as moto's
//! server and as the in-memory store (which leaves the database's share).
//!
//! `cargo bench -p rotation-testing --bench postgres_rotation [-- ROUNDS]`
//! prints min / median / max over ROUNDS rotations (default 30) after 3
//! warm-up rotations.

use std::sync::Arc;
use std::time::{Duration, Instant};

use postgres_rotator_testing::PostgresRotatorHarness;
use postgres_rotator_testing::PostgresServer;
use rotation_core::event::Step;
use rotation_core::store::InMemorySecretStore;
use rotation_core::testkit::Rotations;
use rotation_core::testkit::SecretAdmin;
use rotation_testing::measure::Stats;
use rotation_testing::moto::MotoServer;

const WARM_UP: usize = 3;

async fn measure(
    harness: &PostgresRotatorHarness<'_>,
    store: Arc<dyn SecretAdmin>,
    rounds: usize,
) -> Vec<Duration> {
    let rotations = Rotations::new(store, harness.rotator_with(Default::default(), None));
    let secret = harness.new_user(rotations.store(), "bench").await;
    let arn = rotations.create("pg-bench", &secret).await;
    let mut times = Vec::with_capacity(rounds);
    for round in 0..WARM_UP + rounds {
        let token = rotations.start(&arn).await;
        let started = Instant::now();
        rotations.steps(&arn, &token, &Step::ALL).await;
        if round >= WARM_UP {
            times.push(started.elapsed());
        }
    }
    times
}

fn main() {
    let rounds = std::env::args()
        .skip(1)
        .find_map(|a| a.parse::<usize>().ok())
        .unwrap_or(30);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    runtime.block_on(async {
        let moto = MotoServer::start();
        let server = PostgresServer::start();
        let single = PostgresRotatorHarness::single_user(&server).await;
        let alternating = PostgresRotatorHarness::alternating_users(&server).await;
        println!("One full rotation (4 steps), {rounds} rounds after {WARM_UP} warm-up:");
        println!("| strategy | Secrets Manager | min | median | max |");
        println!("|---|---|---|---|---|");
        for (strategy, harness) in [
            ("single-user", &single),
            ("alternating-users", &alternating),
        ] {
            let stores: [(&str, Arc<dyn SecretAdmin>); 2] = [
                ("moto server", Arc::new(moto.store())),
                ("in-memory", Arc::new(InMemorySecretStore::new())),
            ];
            for (store_name, store) in stores {
                let times = measure(harness, store, rounds).await;
                println!("| {strategy} | {store_name} | {} |", Stats::of(times).row());
            }
        }
    });
}
