//! The application through rotations: three ways of getting the login,
//! side by side in one run, against moto and a throwaway PostgreSQL while
//! the PostgreSQL rotator rotates the secret.
//!
//! Time is compressed: the caches' time to live stands for Powertools'
//! 300 s, and rotations come every few times to live (a real secret
//! rotates after days), so 20 rotations fit in a test. The ratios are what
//! the run measures: failures per rotation, the longest outage against the
//! time to live, and calls per minute against the plain cache's.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use postgres_rotator_testing::{PostgresRotatorHarness, PostgresServer};
use rotation_core::event::Step;
use rotation_core::testkit::{FaultyStore, Rotations, RotatorHarness};
use rotation_testing::moto::MotoServer;
use secret_cache::{CacheConfig, SecretCache};
use tokio::time::Instant;

use crate::app::{worker, Credentials, Tally};

/// The run's shape.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// How many rotations.
    pub rotations: usize,
    /// From one rotation's start to the next's.
    pub interval: Duration,
    /// Both caches' time to live.
    pub ttl: Duration,
    /// Workers per way of getting the login.
    pub workers: usize,
    /// Each worker's pause between connections.
    pub pause: Duration,
    /// The pause between a rotation's steps, for the gap between Secrets
    /// Manager's invocations of a function (the steps run in-process).
    pub step_gap: Duration,
}

impl Default for Scenario {
    fn default() -> Self {
        Self {
            rotations: 20,
            interval: Duration::from_secs(4),
            ttl: Duration::from_secs(1),
            workers: 2,
            pause: Duration::from_millis(100),
            step_gap: Duration::from_millis(100),
        }
    }
}

impl Scenario {
    /// The rotation-aware cache's settings: refresh ahead within the last
    /// tenth of the time to live.
    pub fn aware_cache(&self) -> CacheConfig {
        CacheConfig::default()
            .ttl(self.ttl)
            .refresh_ahead(self.ttl / 10)
    }

    /// A plain time-to-live cache's settings, as Powertools' `max_age` and
    /// AWS's agent: a value until it expires, then a read.
    pub fn plain_cache(&self) -> CacheConfig {
        CacheConfig::default()
            .ttl(self.ttl)
            .refresh_ahead(Duration::ZERO)
    }
}

/// The rotation strategy of the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    /// The user changes its own password.
    SingleUser,
    /// A master user changes the password of whichever of the user and its
    /// clone is not current.
    AlternatingUsers,
}

impl Strategy {
    /// As the tables name it.
    pub fn name(self) -> &'static str {
        match self {
            Self::SingleUser => "single user",
            Self::AlternatingUsers => "alternating users",
        }
    }
}

/// What one way of getting the login measured.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The way, as [`Credentials::name`] says.
    pub credentials: &'static str,
    /// Connections asked for.
    pub connections: usize,
    /// Connections that failed, as the application saw them.
    pub failed: usize,
    /// Logins the database refused, those the cache retried included.
    pub refused_logins: usize,
    /// The longest run of failed connections of one worker.
    pub longest_outage: Duration,
    /// `GetSecretValue` and `DescribeSecret` calls by this way.
    pub secrets_manager_calls: usize,
    /// Those calls per minute of the run.
    pub calls_per_minute: f64,
}

/// One run's figures.
#[derive(Debug, Clone)]
pub struct Comparison {
    /// The strategy rotated.
    pub strategy: Strategy,
    /// The run's shape.
    pub scenario: Scenario,
    /// From the workers' start to their stop.
    pub duration: Duration,
    /// [`Credentials::RotationAware`], [`Credentials::PlainTtl`],
    /// [`Credentials::EveryConnection`], in that order.
    pub outcomes: Vec<Outcome>,
}

impl Comparison {
    /// The figures of one way of getting the login.
    pub fn outcome(&self, index: usize) -> &Outcome {
        &self.outcomes[index]
    }

    /// Markdown table rows, one per way.
    pub fn rows(&self) -> Vec<String> {
        self.outcomes
            .iter()
            .map(|o| {
                format!(
                    "| {} | {} | {} | {} | {:.2} | {} | {} | {:.1} |",
                    self.strategy.name(),
                    o.credentials,
                    o.connections,
                    o.failed,
                    o.failed as f64 / self.scenario.rotations as f64,
                    format_outage(o.longest_outage),
                    o.refused_logins,
                    o.calls_per_minute,
                )
            })
            .collect()
    }

    /// The table's header.
    pub const HEADER: &'static str = "| strategy | login from | connections | failed | failed per rotation | longest outage | logins refused (retried by the cache or not) | Secrets Manager calls per minute |\n| --- | --- | --- | --- | --- | --- | --- | --- |";
}

/// The application's secret under rotation: a new PostgreSQL user on a
/// throwaway server, stored in moto, and the rotator that rotates it with
/// the run's strategy.
pub(crate) struct AppSecret<'a> {
    harness: PostgresRotatorHarness<'a>,
    rotations: Rotations<<PostgresRotatorHarness<'a> as RotatorHarness>::Rotator>,
    /// The secret's ARN.
    pub(crate) arn: String,
}

impl<'a> AppSecret<'a> {
    pub(crate) async fn new(
        strategy: Strategy,
        server: &'a PostgresServer,
        moto: &MotoServer,
    ) -> Self {
        let harness = match strategy {
            Strategy::SingleUser => PostgresRotatorHarness::single_user(server).await,
            Strategy::AlternatingUsers => PostgresRotatorHarness::alternating_users(server).await,
        };
        let rotations = Rotations::new(moto.admin_store(), harness.rotator());
        let secret = harness.new_user(rotations.store(), "app").await;
        let arn = rotations.create("app", &secret).await;
        Self {
            harness,
            rotations,
            arn,
        }
    }

    /// `scenario.rotations` rotations, one every `scenario.interval` from
    /// `started`, with `scenario.step_gap` after each step. Panics with the
    /// step's error if one fails, and if the final AWSCURRENT does not log
    /// in.
    pub(crate) async fn rotate_through(&self, scenario: &Scenario, started: Instant) {
        let (rotations, arn) = (&self.rotations, self.arn.as_str());
        for round in 1..=scenario.rotations {
            tokio::time::sleep_until(started + scenario.interval * round as u32).await;
            let token = rotations.start(arn).await;
            for step in Step::ALL {
                if let Err(error) = rotations.step(arn, &token, step).await {
                    panic!(
                        "rotation {round}, {step}: {}",
                        rotation_core::error::error_chain(&error)
                    );
                }
                tokio::time::sleep(scenario.step_gap).await;
            }
        }
        assert!(
            self.harness.logs_in(&rotations.current(arn).await).await,
            "the final AWSCURRENT does not log in"
        );
    }
}

fn format_outage(outage: Duration) -> String {
    if outage.is_zero() {
        "none".into()
    } else {
        format!("{:.0} ms", outage.as_secs_f64() * 1000.0)
    }
}

/// Runs the three ways side by side through `scenario.rotations`
/// rotations of one secret with `strategy`. Panics (with the step's error)
/// if a rotation fails, and if the final AWSCURRENT does not log in.
pub async fn run(strategy: Strategy, scenario: &Scenario) -> Comparison {
    let server = PostgresServer::start();
    let moto = MotoServer::start();
    let app = AppSecret::new(strategy, &server, &moto).await;
    let arn = app.arn.clone();

    // Unarmed, it only records each call.
    let counting = || Arc::new(FaultyStore::new(moto.store()));
    let (aware_config, plain_config) = (scenario.aware_cache(), scenario.plain_cache());
    let (aware, plain, every) = (counting(), counting(), counting());
    let ways = [
        (
            Arc::clone(&aware),
            Credentials::RotationAware(SecretCache::new(Arc::clone(&aware), aware_config).unwrap()),
        ),
        (
            Arc::clone(&plain),
            Credentials::PlainTtl(SecretCache::new(Arc::clone(&plain), plain_config).unwrap()),
        ),
        (
            Arc::clone(&every),
            Credentials::EveryConnection(Arc::clone(&every)),
        ),
    ];

    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let mut running = Vec::new();
    let mut tallies = Vec::new();
    for (store, credentials) in ways {
        let name = credentials.name();
        let credentials = Arc::new(credentials);
        let tally = Arc::new(Tally::default());
        for _ in 0..scenario.workers {
            running.push(tokio::spawn(worker(
                Arc::clone(&credentials),
                arn.clone(),
                scenario.pause,
                Arc::clone(&stop),
                Arc::clone(&tally),
            )));
        }
        tallies.push((name, store, tally));
    }

    app.rotate_through(scenario, started).await;
    tokio::time::sleep(scenario.interval).await;
    stop.store(true, Ordering::Relaxed);
    for worker in running {
        worker.await.expect("a worker panicked");
    }
    let duration = started.elapsed();
    let minutes = duration.as_secs_f64() / 60.0;
    let outcomes = tallies
        .into_iter()
        .map(|(credentials, store, tally)| {
            let calls = store.take_log().len();
            Outcome {
                credentials,
                connections: tally.connections.load(Ordering::Relaxed),
                failed: tally.failed.load(Ordering::Relaxed),
                refused_logins: tally.refused_logins.load(Ordering::Relaxed),
                longest_outage: tally.longest_outage(),
                secrets_manager_calls: calls,
                calls_per_minute: calls as f64 / minutes,
            }
        })
        .collect();
    Comparison {
        strategy,
        scenario: scenario.clone(),
        duration,
        outcomes,
    }
}
