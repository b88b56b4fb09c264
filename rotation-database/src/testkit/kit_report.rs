//! What a database rotator's conformance kit run must show, the same for
//! every engine: the strategies' Secrets Manager calls and fault points
//! are the strategy's, not the engine's.

use rotation_core::testkit::conformance::{self, ConformanceReport};

use crate::Strategy;

/// Every case ran (alternating users skips the recovery fault, which has
/// no master to fail), with exactly the strategy's Secrets Manager calls
/// (alternating users' setSecret also reads the master secret) and fault
/// points.
pub fn assert_database_kit(report: &ConformanceReport, strategy: Strategy) {
    let (skipped, expected_calls, fault_points): (&[&str], usize, usize) = match strategy {
        Strategy::SingleUser => (&[], 11, 22),
        Strategy::AlternatingUsers => (&["fault_during_recovery_through_previous"], 12, 24),
    };
    conformance::assert_covered(report, skipped);
    let calls: usize = report.calls_per_step.iter().map(|(_, ops)| ops.len()).sum();
    assert_eq!(
        calls, expected_calls,
        "Secrets Manager calls per {strategy} rotation"
    );
    assert_eq!(
        report.fault_points.len(),
        fault_points,
        "{strategy} fault points"
    );
}
