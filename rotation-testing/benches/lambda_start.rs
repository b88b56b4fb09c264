//! Time from spawning a rotator's `bootstrap` to its first Runtime API
//! `next` request (its cold-start initialisation), over repeated starts,
//! and the bootstrap's size.
//!
//! `cargo bench -p rotation-testing --bench lambda_start [-- STARTS] [BOOTSTRAP...]`
//!
//! Paths are relative to the workspace root. Without paths it measures
//! every rotator's x86_64 build in
//! target/lambda/x86_64 (from scripts/release-check.sh). STARTS defaults
//! to 30.

use std::path::PathBuf;

use rotation_testing::lambda_function::{times_to_ready, LAMBDA_DIR};
use rotation_testing::measure::Stats;
use rotation_testing::workspace_root;

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let starts = args
        .iter()
        .find_map(|a| a.parse::<usize>().ok())
        .unwrap_or(30);
    let mut bootstraps: Vec<PathBuf> = args
        .iter()
        .filter(|a| a.parse::<usize>().is_err())
        // Relative to the workspace root; the process runs elsewhere.
        .map(|a| workspace_root().join(a))
        .collect();
    if bootstraps.is_empty() {
        let dir = workspace_root().join(LAMBDA_DIR);
        bootstraps = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}; run scripts/release-check.sh", dir.display()))
            .flatten()
            .map(|e| e.path().join("bootstrap"))
            .filter(|p| p.exists())
            .collect();
        bootstraps.sort();
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    println!("Process start to first `next` request, {starts} starts each:");
    println!("| bootstrap | size | min | median | max |");
    println!("|---|---|---|---|---|");
    for bootstrap in bootstraps {
        let times = runtime.block_on(times_to_ready(&bootstrap, starts));
        let size = std::fs::metadata(&bootstrap).map(|m| m.len()).unwrap_or(0);
        println!(
            "| {} | {:.2} MB | {} |",
            bootstrap.display(),
            size as f64 / 1e6,
            Stats::of(times).row()
        );
    }
}
