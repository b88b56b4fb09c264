//! The application: workers opening PostgreSQL connections in a loop, each
//! with the login its [`Credentials`] give it.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rotation_core::store::{SecretStore, VersionSelector, AWSCURRENT};
use secret_cache::postgres::{is_login_refused, PostgresLogin};
use secret_cache::{Attempt, CachedSecret, SecretCache, UseError};
use tokio::time::Instant;
use tokio_postgres::NoTls;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Where a worker gets its login.
pub enum Credentials<S> {
    /// [`SecretCache::with_current`]: a refused login makes the cache look
    /// for a newer value once and connect again.
    RotationAware(SecretCache<S>),
    /// [`SecretCache::get`] alone: a value is used until its time to live
    /// ends, whatever the database says.
    PlainTtl(SecretCache<S>),
    /// A `GetSecretValue` of AWSCURRENT before every connection.
    EveryConnection(S),
}

impl<S> Credentials<S> {
    /// How the table names it.
    pub fn name(&self) -> &'static str {
        match self {
            Self::RotationAware(_) => "secret-cache (rotation-aware)",
            Self::PlainTtl(_) => "plain time-to-live cache",
            Self::EveryConnection(_) => "a read per connection",
        }
    }
}

/// What the workers of one [`Credentials`] saw.
#[derive(Debug, Default)]
pub struct Tally {
    /// Connections the application asked for.
    pub connections: AtomicUsize,
    /// Connections that failed, as the application saw them.
    pub failed: AtomicUsize,
    /// Logins the database refused, including those the cache retried
    /// successfully (so the application never saw them).
    pub refused_logins: AtomicUsize,
    /// Each worker's runs of failed connections: from the first failure to
    /// the next success.
    pub outages: Mutex<Vec<Duration>>,
}

impl Tally {
    /// The longest outage any worker saw.
    pub fn longest_outage(&self) -> Duration {
        self.outages
            .lock()
            .expect("no worker panicked")
            .iter()
            .copied()
            .max()
            .unwrap_or_default()
    }
}

/// Opens one connection with the login in `secret`, runs `SELECT 1`, and
/// closes it. A refused login is [`Attempt::Rejected`].
pub async fn open_connection(
    secret: &CachedSecret,
    tally: &Tally,
) -> Result<(), Attempt<BoxError>> {
    let login = PostgresLogin::from_secret(secret).map_err(|e| Attempt::Failed(e.into()))?;
    let mut config = login.config();
    config.connect_timeout(Duration::from_secs(5));
    let (client, connection) = config.connect(NoTls).await.map_err(|error| {
        if is_login_refused(&error) {
            tally.refused_logins.fetch_add(1, Ordering::Relaxed);
            Attempt::Rejected(error.into())
        } else {
            Attempt::Failed(error.into())
        }
    })?;
    let connection = tokio::spawn(connection);
    client
        .simple_query("SELECT 1")
        .await
        .map_err(|e| Attempt::Failed(e.into()))?;
    drop(client);
    let _ = connection.await;
    Ok(())
}

impl<S: SecretStore + 'static> Credentials<S> {
    /// One connection of the application, with this way of getting its
    /// login.
    pub async fn connect(&self, secret_id: &str, tally: &Tally) -> Result<(), BoxError> {
        match self {
            Self::RotationAware(cache) => cache
                .with_current(secret_id, |secret| async move {
                    open_connection(&secret, tally).await
                })
                .await
                .map_err(|error| match error {
                    UseError::Cache(e) => e.into(),
                    UseError::Rejected(e) | UseError::Failed(e) => e,
                }),
            Self::PlainTtl(cache) => {
                let secret = cache.get(secret_id).await?;
                open_connection(&secret, tally).await.map_err(plain)
            }
            Self::EveryConnection(store) => {
                let version = store
                    .get_value(secret_id, VersionSelector::Stage(AWSCURRENT))
                    .await?
                    .ok_or("the secret has no AWSCURRENT value")?;
                open_connection(&CachedSecret::from(version), tally)
                    .await
                    .map_err(plain)
            }
        }
    }
}

fn plain(attempt: Attempt<BoxError>) -> BoxError {
    match attempt {
        Attempt::Rejected(e) | Attempt::Failed(e) => e,
    }
}

/// One worker: connects, pauses, and again, until `stop`; counts into
/// `tally`.
pub async fn worker<S: SecretStore + 'static>(
    credentials: Arc<Credentials<S>>,
    secret_id: String,
    pause: Duration,
    stop: Arc<AtomicBool>,
    tally: Arc<Tally>,
) {
    let mut failing_since: Option<Instant> = None;
    while !stop.load(Ordering::Relaxed) {
        let started = Instant::now();
        tally.connections.fetch_add(1, Ordering::Relaxed);
        match credentials.connect(&secret_id, &tally).await {
            Ok(()) => {
                if let Some(since) = failing_since.take() {
                    tally
                        .outages
                        .lock()
                        .expect("no worker panicked")
                        .push(since.elapsed());
                }
            }
            Err(_) => {
                tally.failed.fetch_add(1, Ordering::Relaxed);
                failing_since.get_or_insert(started);
            }
        }
        tokio::time::sleep(pause).await;
    }
    if let Some(since) = failing_since {
        tally
            .outages
            .lock()
            .expect("no worker panicked")
            .push(since.elapsed());
    }
}
