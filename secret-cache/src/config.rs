//! How long values live, how many are kept, and how hard the cache tries
//! Secrets Manager again.

use std::time::Duration;

use crate::error::ConfigError;

/// The cache's settings. [`CacheConfig::default`] is AWS Lambda
/// Powertools' time to live (300 s) with the rotation-aware parts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheConfig {
    pub(crate) ttl: Duration,
    pub(crate) max_entries: usize,
    pub(crate) refresh_ahead: Duration,
    pub(crate) max_stale: Duration,
    pub(crate) stale_retry: Duration,
    pub(crate) rejection_backoff: Duration,
    pub(crate) try_pending: bool,
    pub(crate) flight_timeout: Duration,
}

impl Default for CacheConfig {
    fn default() -> Self {
        Self {
            ttl: Duration::from_secs(300),
            max_entries: 1024,
            refresh_ahead: Duration::from_secs(30),
            max_stale: Duration::from_secs(900),
            stale_retry: Duration::from_secs(5),
            rejection_backoff: Duration::from_millis(500),
            try_pending: true,
            flight_timeout: Duration::from_secs(5),
        }
    }
}

impl CacheConfig {
    /// How long a value is served before it is read again (default 300 s).
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// How many (secret, label) values are kept; the least recently used
    /// goes first (default 1024).
    pub fn max_entries(mut self, max_entries: usize) -> Self {
        self.max_entries = max_entries;
        self
    }

    /// A value is refreshed in the background at a random moment between
    /// this long and half this long before it expires, so readers never
    /// wait for it and many processes started together do not call Secrets
    /// Manager together (default 30 s; at most half the time to live is
    /// used; zero refreshes only on expiry).
    pub fn refresh_ahead(mut self, refresh_ahead: Duration) -> Self {
        self.refresh_ahead = refresh_ahead;
        self
    }

    /// How long past its expiry a value is still served while Secrets
    /// Manager fails transiently (throttling, network, its own failures);
    /// zero serves nothing stale (default 900 s). A refused permission, KMS
    /// key or expired credentials is an error at once.
    pub fn max_stale(mut self, max_stale: Duration) -> Self {
        self.max_stale = max_stale;
        self
    }

    /// While a stale value is served, how long until Secrets Manager is
    /// asked again (default 5 s), so an outage is not answered with a
    /// request per read.
    pub fn stale_retry(mut self, stale_retry: Duration) -> Self {
        self.stale_retry = stale_retry;
        self
    }

    /// After a refused credential, a refresh that found nothing new blocks
    /// the next one for this long, doubling up to the time to live, so a
    /// wrong password costs a few calls and not a request storm (default
    /// 500 ms). A refresh that finds a new value resets it.
    pub fn rejection_backoff(mut self, rejection_backoff: Duration) -> Self {
        self.rejection_backoff = rejection_backoff;
        self
    }

    /// Whether a refused AWSCURRENT that Secrets Manager still calls
    /// current is retried with AWSPENDING (default yes). In a single-user
    /// rotation the database takes the new password at setSecret but
    /// AWSCURRENT moves only at finishSecret; in between, only the pending
    /// value logs in. An identity that may not read AWSPENDING simply goes
    /// without.
    pub fn try_pending(mut self, try_pending: bool) -> Self {
        self.try_pending = try_pending;
        self
    }

    /// How long readers wait on a read of a value already under way before
    /// one of them reads again (default 5 s): a read frozen with its Lambda
    /// environment between invocations, or hung on a dead connection,
    /// would otherwise hold them until the SDK's own timeouts (10 s an
    /// attempt, with retries). A slow store then costs one more read each
    /// `flight_timeout`, not one per reader.
    pub fn flight_timeout(mut self, flight_timeout: Duration) -> Self {
        self.flight_timeout = flight_timeout;
        self
    }

    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        if self.ttl.is_zero() {
            return Err(ConfigError {
                setting: "ttl",
                reason: "it must be longer than zero",
            });
        }
        if self.max_entries == 0 {
            return Err(ConfigError {
                setting: "max_entries",
                reason: "the cache must hold at least one value",
            });
        }
        if self.rejection_backoff.is_zero() {
            return Err(ConfigError {
                setting: "rejection_backoff",
                reason: "it must be longer than zero, or a wrong password refreshes on every use",
            });
        }
        if self.stale_retry.is_zero() {
            return Err(ConfigError {
                setting: "stale_retry",
                reason: "it must be longer than zero, or an outage is met with a call per read",
            });
        }
        if self.flight_timeout.is_zero() {
            return Err(ConfigError {
                setting: "flight_timeout",
                reason: "it must be longer than zero, or every reader reads for itself",
            });
        }
        Ok(())
    }

    /// The part of the time to live in which a background refresh starts.
    pub(crate) fn refresh_window(&self) -> Duration {
        self.refresh_ahead.min(self.ttl / 2)
    }
}
