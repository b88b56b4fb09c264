//! The application keeps working through 20 rotations of its secret, with
//! secret-cache; a plain time-to-live cache does not (single user), and a
//! read per connection costs far more calls. The same for a Python client
//! through the secrets agent, against the same client through an agent
//! that behaves as AWS's. Real PostgreSQL, moto, the PostgreSQL rotator.

use std::time::Duration;

use database_app::comparison::{run, Comparison, Scenario, Strategy};

const AWARE: usize = 0;
const PLAIN: usize = 1;
const EVERY: usize = 2;

fn print(comparison: &Comparison) {
    println!("{}", Comparison::HEADER);
    for row in comparison.rows() {
        println!("{row}");
    }
    println!(
        "({} rotations in {:.0} s)",
        comparison.scenario.rotations,
        comparison.duration.as_secs_f64()
    );
}

/// Calls per minute within 2x of the plain cache's: the cache's refreshes
/// after a refusal cost little next to its time to live's.
fn assert_calls_within_twice_the_plain_cache(comparison: &Comparison) {
    let (aware, plain) = (comparison.outcome(AWARE), comparison.outcome(PLAIN));
    assert!(
        aware.calls_per_minute <= 2.0 * plain.calls_per_minute,
        "secret-cache made {:.1} calls per minute, the plain cache {:.1}",
        aware.calls_per_minute,
        plain.calls_per_minute
    );
    let every = comparison.outcome(EVERY);
    assert!(
        every.calls_per_minute > 5.0 * aware.calls_per_minute,
        "a read per connection made {:.1} calls per minute, secret-cache {:.1}",
        every.calls_per_minute,
        aware.calls_per_minute
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "services tier: cargo test --tests -- --include-ignored (CONTRIBUTING.md)"]
async fn single_user_rotations_cost_no_more_than_one_refresh() {
    let scenario = Scenario::default();
    let comparison = run(Strategy::SingleUser, &scenario).await;
    print(&comparison);
    let aware = comparison.outcome(AWARE);
    // Every rotation refuses the cached password at setSecret; the cache
    // finds the new one at its first look (AWSPENDING until finishSecret).
    assert!(aware.refused_logins > 0, "no login was refused: {aware:?}");
    // At worst a look finds nothing new and the next comes after the
    // default backoff (500 ms): one refresh, and a connect, late.
    assert!(
        aware.longest_outage <= Duration::from_millis(750),
        "an outage outlasted one refresh: {aware:?}"
    );
    // The plain cache keeps the old password until its time to live ends:
    // the check above can fail.
    let plain = comparison.outcome(PLAIN);
    assert!(
        plain.failed >= scenario.rotations,
        "the plain cache failed only {} times: {plain:?}",
        plain.failed
    );
    assert_calls_within_twice_the_plain_cache(&comparison);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "services tier: cargo test --tests -- --include-ignored (CONTRIBUTING.md)"]
async fn alternating_users_rotations_fail_no_connection() {
    let scenario = Scenario::default();
    let comparison = run(Strategy::AlternatingUsers, &scenario).await;
    print(&comparison);
    let aware = comparison.outcome(AWARE);
    assert_eq!(aware.failed, 0, "{aware:?}");
    assert!(aware.connections > 100, "{aware:?}");
    assert_calls_within_twice_the_plain_cache(&comparison);
}

/// A Python client through `secrets-agent`: a single-user rotation costs it
/// no outage longer than one refresh, where the same client through an
/// agent that behaves as AWS's fails every rotation until the time to live
/// ends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "services tier: cargo test --tests -- --include-ignored (CONTRIBUTING.md)"]
async fn a_python_client_through_the_agent_survives_single_user_rotations() {
    let scenario = Scenario::default();
    let comparison = database_app::languages::run_python(Strategy::SingleUser, &scenario).await;
    print(&comparison);
    let (aware, plain) = (comparison.outcome(0), comparison.outcome(1));
    assert!(aware.refused_logins > 0, "no login was refused: {aware:?}");
    assert!(
        aware.longest_outage <= Duration::from_millis(750),
        "an outage outlasted one refresh: {aware:?}"
    );
    assert!(aware.connections > 100, "{aware:?}");
    assert!(
        plain.failed >= scenario.rotations,
        "the plain agent's client failed only {} times: {plain:?}",
        plain.failed
    );
    assert!(
        aware.calls_per_minute <= 2.0 * plain.calls_per_minute,
        "the agent made {:.1} calls per minute, the plain one {:.1}",
        aware.calls_per_minute,
        plain.calls_per_minute
    );
}

/// Alternating users through the agent: no failed connection at all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "services tier: cargo test --tests -- --include-ignored (CONTRIBUTING.md)"]
async fn a_python_client_through_the_agent_fails_no_connection_with_alternating_users() {
    let scenario = Scenario::default();
    let comparison =
        database_app::languages::run_python(Strategy::AlternatingUsers, &scenario).await;
    print(&comparison);
    let aware = comparison.outcome(0);
    assert_eq!(aware.failed, 0, "{aware:?}");
    assert!(aware.connections > 100, "{aware:?}");
}
