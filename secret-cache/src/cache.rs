//! Cached reads: a time to live, one read at a time per value, a refresh
//! ahead of expiry, stale values through an outage, and a bounded size.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rotation_core::store::{SecretStore, VersionSelector, AWSCURRENT};
use tokio::time::Instant;

use crate::config::CacheConfig;
use crate::error::{CacheError, ConfigError};
use crate::events::{CacheEvent, CacheObserver};
use crate::rejection::Rejections;
use crate::value::CachedSecret;

/// A cache of secret values in front of a [`SecretStore`]
/// ([`AwsSecretStore`](rotation_core::store::AwsSecretStore) for Secrets
/// Manager). Cloning is cheap and shares the cache; it must be used inside
/// a tokio runtime, which runs its background refreshes.
pub struct SecretCache<S> {
    pub(crate) inner: Arc<Inner<S>>,
}

impl<S> Clone for SecretCache<S> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<S> std::fmt::Debug for SecretCache<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretCache")
            .field("config", &self.inner.config)
            .field("entries", &lock(&self.inner.entries).len())
            .finish_non_exhaustive()
    }
}

pub(crate) struct Inner<S> {
    pub(crate) store: S,
    pub(crate) config: CacheConfig,
    observer: Option<Box<dyn CacheObserver>>,
    entries: Mutex<HashMap<Key, Arc<Entry>>>,
    pub(crate) rejections: Mutex<HashMap<String, Arc<Rejections>>>,
}

/// What is cached: a secret's value by label, by version id, or by both.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Key {
    pub(crate) secret_id: String,
    stage: Option<String>,
    version_id: Option<String>,
}

impl Key {
    pub(crate) fn new(secret_id: &str, stage: &str) -> Self {
        Self::of(secret_id, VersionSelector::Stage(stage))
    }

    pub(crate) fn of(secret_id: &str, selector: VersionSelector<'_>) -> Self {
        let (version_id, stage) = match selector {
            VersionSelector::Stage(stage) => (None, Some(stage)),
            VersionSelector::Id(id) => (Some(id), None),
            VersionSelector::IdAndStage(id, stage) => (Some(id), Some(stage)),
        };
        Self {
            secret_id: secret_id.to_owned(),
            stage: stage.map(str::to_owned),
            version_id: version_id.map(str::to_owned),
        }
    }

    fn selector(&self) -> VersionSelector<'_> {
        match (&self.version_id, &self.stage) {
            (Some(id), Some(stage)) => VersionSelector::IdAndStage(id, stage),
            (Some(id), None) => VersionSelector::Id(id),
            (None, Some(stage)) => VersionSelector::Stage(stage),
            (None, None) => VersionSelector::Stage(AWSCURRENT),
        }
    }

    /// The label, or the version, for errors and logs.
    pub(crate) fn wanted(&self) -> String {
        match (&self.version_id, &self.stage) {
            (Some(id), Some(stage)) => format!("version {id} labelled {stage}"),
            (Some(id), None) => format!("version {id}"),
            (None, Some(stage)) => stage.clone(),
            (None, None) => AWSCURRENT.to_owned(),
        }
    }
}

/// One (secret, label): its value and the flight that makes reads of it
/// one at a time.
pub(crate) struct Entry {
    flight: Mutex<Flight>,
    state: Mutex<EntryState>,
    /// Wakes the waiters of a flight given up on when another read holds
    /// a value.
    held: tokio::sync::Notify,
}

/// The read of an entry under way, if any. Its lock is replaced when the
/// read outlives `flight_timeout`: a read frozen with its Lambda
/// environment between invocations (the monotonic clock runs on through
/// a freeze, so it looks as old as it is) or stuck on a dead connection
/// would otherwise hold every later reader until the SDK gives up on it.
struct Flight {
    lock: Arc<tokio::sync::Mutex<()>>,
    started: Option<Instant>,
}

/// Being the one read of an entry in flight; dropping it lets the next go.
pub(crate) struct Boarded {
    guard: tokio::sync::OwnedMutexGuard<()>,
    entry: Arc<Entry>,
    started: Instant,
}

impl Drop for Boarded {
    fn drop(&mut self) {
        let mut flight = lock(&self.entry.flight);
        if Arc::ptr_eq(
            &flight.lock,
            tokio::sync::OwnedMutexGuard::mutex(&self.guard),
        ) {
            flight.started = None;
        }
    }
}

impl Entry {
    fn new() -> Self {
        Self {
            flight: Mutex::new(Flight {
                lock: Arc::new(tokio::sync::Mutex::new(())),
                started: None,
            }),
            state: Mutex::new(EntryState {
                held: None,
                refreshing: false,
                last_used: Instant::now(),
                retry_at: None,
                generation: 0,
            }),
            held: tokio::sync::Notify::new(),
        }
    }

    /// The flight, if no read is under way.
    fn try_board(self: &Arc<Self>) -> Option<Boarded> {
        let flight_lock = Arc::clone(&lock(&self.flight).lock);
        flight_lock
            .try_lock_owned()
            .ok()
            .map(|guard| self.boarded(guard))
    }

    /// The flight, once the read under way ends or has been in flight for
    /// `timeout`; then it is left to finish alone and this caller starts
    /// the next read, which the other waiters wait on in turn. So a stuck
    /// read costs later readers at most `timeout`, and a slow store one
    /// extra read per `timeout`, not one per reader. `None` when a read
    /// held a value meanwhile: the caller looks at it first.
    async fn board(self: &Arc<Self>, key: &Key, timeout: Duration) -> Option<Boarded> {
        let value_held = self.held.notified();
        tokio::pin!(value_held);
        value_held.as_mut().enable();
        loop {
            let (flight_lock, started) = {
                let flight = lock(&self.flight);
                (Arc::clone(&flight.lock), flight.started)
            };
            // A holder that has not yet noted its start began just now.
            let deadline = started.unwrap_or_else(Instant::now) + timeout;
            let boarding = Arc::clone(&flight_lock).lock_owned();
            tokio::select! {
                guard = boarding => return Some(self.boarded(guard)),
                () = &mut value_held => return None,
                () = tokio::time::sleep_until(deadline) => {}
            }
            let mut flight = lock(&self.flight);
            if Arc::ptr_eq(&flight.lock, &flight_lock) {
                tracing::warn!(
                    secret_id = %key.secret_id,
                    wanted = %key.wanted(),
                    "a read of this value has been in flight for longer than flight_timeout \
                     (frozen with a Lambda environment, or a dead connection); reading it again"
                );
                flight.lock = Arc::new(tokio::sync::Mutex::new(()));
                flight.started = None;
            }
        }
    }

    /// [`board`](Self::board), unless `enough` finds what the caller
    /// wants: asked whenever a read holds a value while this one waits,
    /// and once more on boarding (then the flight is let go).
    async fn board_unless<T>(
        self: &Arc<Self>,
        key: &Key,
        timeout: Duration,
        enough: impl Fn() -> Option<T>,
    ) -> Result<Boarded, T> {
        loop {
            let boarded = self.board(key, timeout).await;
            if let Some(found) = enough() {
                return Err(found);
            }
            if let Some(flight) = boarded {
                return Ok(flight);
            }
        }
    }

    /// The held value, if `wanted` says it will do.
    fn held_if(&self, wanted: impl Fn(&Held) -> bool) -> Option<Arc<CachedSecret>> {
        let state = lock(&self.state);
        state
            .held
            .as_ref()
            .filter(|held| wanted(held))
            .map(|held| Arc::clone(&held.secret))
    }

    fn boarded(self: &Arc<Self>, guard: tokio::sync::OwnedMutexGuard<()>) -> Boarded {
        let started = Instant::now();
        let mut flight = lock(&self.flight);
        if Arc::ptr_eq(&flight.lock, tokio::sync::OwnedMutexGuard::mutex(&guard)) {
            flight.started = Some(started);
        }
        Boarded {
            guard,
            entry: Arc::clone(self),
            started,
        }
    }
}

struct EntryState {
    held: Option<Held>,
    refreshing: bool,
    last_used: Instant,
    /// While a stale value is served after a failed read: the next read.
    retry_at: Option<Instant>,
    /// Counts the values held, so a refresh that failed after another read
    /// replaced the value does not mark the new one as failing.
    generation: u64,
}

struct Held {
    secret: Arc<CachedSecret>,
    /// When the read that returned it began.
    read_started: Instant,
    refresh_at: Instant,
    expires_at: Instant,
}

/// The cache's maps stay consistent if a holder panicked: every update is
/// a single assignment.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

impl<S: SecretStore + 'static> SecretCache<S> {
    /// A cache over `store` with `config`; refuses a setting that would
    /// make it useless or abusive, naming it.
    pub fn new(store: S, config: CacheConfig) -> Result<Self, ConfigError> {
        Self::build(store, config, None)
    }

    /// [`new`](Self::new), with `observer` told when a value changes or a
    /// read fails ([`CacheEvent`]), for an application's metrics or alarms.
    pub fn with_observer(
        store: S,
        config: CacheConfig,
        observer: impl CacheObserver + 'static,
    ) -> Result<Self, ConfigError> {
        Self::build(store, config, Some(Box::new(observer)))
    }

    fn build(
        store: S,
        config: CacheConfig,
        observer: Option<Box<dyn CacheObserver>>,
    ) -> Result<Self, ConfigError> {
        config.validate()?;
        Ok(Self {
            inner: Arc::new(Inner {
                store,
                config,
                observer,
                entries: Mutex::new(HashMap::new()),
                rejections: Mutex::new(HashMap::new()),
            }),
        })
    }

    /// The store the cache reads.
    pub fn store(&self) -> &S {
        &self.inner.store
    }

    /// The AWSCURRENT value of `secret_id` (a name or an ARN).
    pub async fn get(&self, secret_id: &str) -> Result<Arc<CachedSecret>, CacheError> {
        self.get_stage(secret_id, AWSCURRENT).await
    }

    /// [`get`](Self::get) as the application's own type
    /// ([`CachedSecret::json_as`]): a value that does not fit is a
    /// [`CacheError::Format`] naming the field, never its value.
    pub async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        secret_id: &str,
    ) -> Result<T, CacheError> {
        self.get(secret_id)
            .await?
            .json_as()
            .map_err(|source| CacheError::Format {
                secret_id: secret_id.to_owned(),
                source,
            })
    }

    /// The value labelled `stage` (AWSCURRENT, AWSPREVIOUS or a label of
    /// your own). Concurrent callers for one value share one read.
    pub async fn get_stage(
        &self,
        secret_id: &str,
        stage: &str,
    ) -> Result<Arc<CachedSecret>, CacheError> {
        self.get_version(secret_id, VersionSelector::Stage(stage))
            .await
    }

    /// The version `selector` picks: by label, by version id, or a version
    /// id only while it carries a label. Cached apart from one another, as
    /// `GetSecretValue` answers them.
    pub async fn get_version(
        &self,
        secret_id: &str,
        selector: VersionSelector<'_>,
    ) -> Result<Arc<CachedSecret>, CacheError> {
        let key = Key::of(secret_id, selector);
        let entry = self.inner.entry(&key);
        if let Some(hit) = self.inner.hit(&key, &entry) {
            return Ok(hit);
        }
        let read = self.inner.read_through(&key, &entry).await;
        if read.is_err() {
            self.inner.forget_if_empty(&key, &entry);
        }
        read
    }

    /// [`get_version`](Self::get_version) read from the store whatever is
    /// held, for a caller that knows the value changed. Callers at the same
    /// time share one read that began after they asked; a failure is an
    /// error, never the held value.
    pub async fn refresh_now(
        &self,
        secret_id: &str,
        selector: VersionSelector<'_>,
    ) -> Result<Arc<CachedSecret>, CacheError> {
        let asked = Instant::now();
        let key = Key::of(secret_id, selector);
        self.inner
            .read_unless(&key, |held| held.read_started >= asked)
            .await
    }

    /// Drops every cached value of `secret_id`, for an application that
    /// knows it changed.
    pub fn invalidate(&self, secret_id: &str) {
        lock(&self.inner.entries).retain(|key, _| key.secret_id != secret_id);
        lock(&self.inner.rejections).remove(secret_id);
    }

    /// How many values the cache holds.
    pub fn len(&self) -> usize {
        lock(&self.inner.entries).len()
    }

    /// Whether the cache holds nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<S: SecretStore + 'static> Inner<S> {
    /// The entry for `key`, made (and the least recently used one evicted
    /// at capacity) when missing.
    pub(crate) fn entry(&self, key: &Key) -> Arc<Entry> {
        let mut entries = lock(&self.entries);
        if let Some(entry) = entries.get(key) {
            return Arc::clone(entry);
        }
        if entries.len() >= self.config.max_entries {
            let oldest = entries
                .iter()
                .min_by_key(|(_, entry)| lock(&entry.state).last_used)
                .map(|(key, _)| key.clone());
            if let Some(oldest) = oldest {
                entries.remove(&oldest);
                // The refusal state of a secret goes with its last value,
                // so the bound holds for it too.
                if !entries.keys().any(|k| k.secret_id == oldest.secret_id) {
                    lock(&self.rejections).remove(&oldest.secret_id);
                }
            }
        }
        let entry = Arc::new(Entry::new());
        entries.insert(key.clone(), Arc::clone(&entry));
        entry
    }

    /// Drops `entry` if it never held a value: a secret or label that does
    /// not exist (or may not be read) takes no place from the ones that do.
    fn forget_if_empty(&self, key: &Key, entry: &Arc<Entry>) {
        let mut entries = lock(&self.entries);
        let unused = entries
            .get(key)
            .is_some_and(|held| Arc::ptr_eq(held, entry) && lock(&held.state).held.is_none());
        if unused {
            entries.remove(key);
        }
    }

    /// The held value when it may be served without a read: young, or stale
    /// within bounds while the store is failing. Starts the background
    /// refresh once the value is in its refresh window.
    fn hit(self: &Arc<Self>, key: &Key, entry: &Arc<Entry>) -> Option<Arc<CachedSecret>> {
        let now = Instant::now();
        let mut state = lock(&entry.state);
        state.last_used = now;
        let held = state.held.as_ref()?;
        if now < held.expires_at {
            let secret = Arc::clone(&held.secret);
            if now >= held.refresh_at && !state.refreshing {
                state.refreshing = true;
                drop(state);
                self.refresh_in_background(key.clone(), Arc::clone(entry));
            }
            return Some(secret);
        }
        let serving_stale = state.retry_at.is_some_and(|retry| now < retry)
            && now < held.expires_at + self.config.max_stale;
        serving_stale.then(|| Arc::clone(&held.secret))
    }

    async fn read_through(
        self: &Arc<Self>,
        key: &Key,
        entry: &Arc<Entry>,
    ) -> Result<Arc<CachedSecret>, CacheError> {
        let flight = match entry.try_board() {
            Some(flight) => {
                // Another caller may have read it since this one looked.
                if let Some(hit) = self.hit(key, entry) {
                    return Ok(hit);
                }
                flight
            }
            None => {
                // During an outage, one caller retries the store and the
                // others are served the stale value instead of waiting.
                if let Some(stale) = self.stale_while_retrying(entry) {
                    return Ok(stale);
                }
                let waited =
                    entry.board_unless(key, self.config.flight_timeout, || self.hit(key, entry));
                match waited.await {
                    Ok(flight) => flight,
                    Err(hit) => return Ok(hit),
                }
            }
        };
        match self.read(key).await {
            Ok(secret) => {
                self.hold(key, entry, &secret, &flight);
                Ok(secret)
            }
            Err(error) => self.stale_instead(key, entry, error),
        }
    }

    /// The held value, if a read already failed transiently and the value
    /// is within `max_stale`.
    fn stale_while_retrying(&self, entry: &Entry) -> Option<Arc<CachedSecret>> {
        let state = lock(&entry.state);
        let held = state.held.as_ref()?;
        let in_outage = state.retry_at.is_some();
        (in_outage && Instant::now() < held.expires_at + self.config.max_stale)
            .then(|| Arc::clone(&held.secret))
    }

    /// On a transient store failure, the expired value if it is within
    /// `max_stale`; the store is asked again after `stale_retry`.
    fn stale_instead(
        &self,
        key: &Key,
        entry: &Entry,
        error: CacheError,
    ) -> Result<Arc<CachedSecret>, CacheError> {
        // Only a failure that may pass (a timeout, throttling, the
        // service's own): a refused permission or KMS key is not an outage
        // to ride out, and serving the old value would hide it.
        let transient = error.is_transient();
        let now = Instant::now();
        let mut state = lock(&entry.state);
        let stale = match state.held.as_ref() {
            Some(held) if transient && now < held.expires_at + self.config.max_stale => {
                Some(Arc::clone(&held.secret))
            }
            _ => None,
        };
        if stale.is_some() {
            state.retry_at = Some(now + self.config.stale_retry);
        }
        drop(state);
        self.read_failed(key, &error, stale.is_some());
        match stale {
            Some(secret) => {
                tracing::warn!(
                    secret_id = %key.secret_id,
                    wanted = %key.wanted(),
                    error = %error,
                    "serving an expired value while Secrets Manager fails"
                );
                Ok(secret)
            }
            None => Err(error),
        }
    }

    /// Reads the value from the store, bypassing what is held.
    pub(crate) async fn read(&self, key: &Key) -> Result<Arc<CachedSecret>, CacheError> {
        match self.store.get_value(&key.secret_id, key.selector()).await {
            Ok(Some(version)) => Ok(Arc::new(CachedSecret::from(version))),
            Ok(None) => Err(CacheError::NoValue {
                secret_id: key.secret_id.clone(),
                stage: key.wanted(),
            }),
            Err(source) => Err(CacheError::Store {
                secret_id: key.secret_id.clone(),
                stage: key.wanted(),
                source,
            }),
        }
    }

    fn hold(&self, key: &Key, entry: &Entry, secret: &Arc<CachedSecret>, flight: &Boarded) {
        let now = Instant::now();
        let ttl = self.config.ttl;
        // Between the whole window and half of it before expiry, so the
        // refresh has time to finish before readers would have to wait.
        let window = self.config.refresh_window();
        let early = window / 2 + (window / 2).mul_f64(random_fraction());
        let mut state = lock(&entry.state);
        let replaced = state.held.replace(Held {
            secret: Arc::clone(secret),
            read_started: flight.started,
            refresh_at: now + (ttl - early),
            expires_at: now + ttl,
        });
        state.retry_at = None;
        state.generation += 1;
        drop(state);
        entry.held.notify_waiters();
        let previous = replaced.map(|held| held.secret);
        if let Some(previous) = previous.filter(|p| p.version_id() != secret.version_id()) {
            tracing::info!(
                secret_id = %key.secret_id,
                wanted = %key.wanted(),
                previous_version = previous.version_id(),
                version = secret.version_id(),
                "a cached value changed"
            );
            self.tell(&CacheEvent::Changed {
                secret_id: &key.secret_id,
                wanted: &key.wanted(),
                previous_version: previous.version_id(),
                version: secret.version_id(),
            });
        }
    }

    fn tell(&self, event: &CacheEvent<'_>) {
        if let Some(observer) = &self.observer {
            observer.observe(event);
        }
    }

    fn read_failed(&self, key: &Key, error: &CacheError, serving_held_value: bool) {
        self.tell(&CacheEvent::ReadFailed {
            secret_id: &key.secret_id,
            wanted: &key.wanted(),
            error,
            serving_held_value,
        });
    }

    /// After a failed background refresh, the held value stays until it
    /// expires, and the next try waits `stale_retry`, as a reader's does in
    /// an outage (not one refresh after another, each with the SDK's own
    /// retries). A transient failure also marks the outage, so that at
    /// expiry readers are served the held value until that retry instead
    /// of waiting on a store known to fail.
    fn refresh_failed(&self, entry: &Entry, error: &CacheError) {
        let now = Instant::now();
        let retry = now + self.config.stale_retry;
        let mut state = lock(&entry.state);
        if let Some(held) = state.held.as_mut() {
            held.refresh_at = retry.min(held.expires_at);
        }
        if error.is_transient() {
            state.retry_at = Some(retry);
        }
    }

    fn refresh_in_background(self: &Arc<Self>, key: Key, entry: Arc<Entry>) {
        let inner = Arc::clone(self);
        tokio::spawn(async move {
            // None: another read has just held a value, so none is due.
            let Some(flight) = entry.board(&key, inner.config.flight_timeout).await else {
                lock(&entry.state).refreshing = false;
                return;
            };
            let (still_due, generation) = {
                let state = lock(&entry.state);
                let due = state
                    .held
                    .as_ref()
                    .is_none_or(|held| Instant::now() >= held.refresh_at);
                (due, state.generation)
            };
            if still_due {
                match inner.read(&key).await {
                    Ok(secret) => inner.hold(&key, &entry, &secret, &flight),
                    Err(error) => {
                        // A reader may have read past this refresh meanwhile.
                        if lock(&entry.state).generation == generation {
                            inner.refresh_failed(&entry, &error);
                        }
                        inner.read_failed(&key, &error, true);
                        tracing::warn!(
                            secret_id = %key.secret_id,
                            wanted = %key.wanted(),
                            error = %error,
                            "refreshing a cached value failed"
                        );
                    }
                }
            }
            lock(&entry.state).refreshing = false;
        });
    }

    /// The value held for `key`, whatever its age, without a read.
    pub(crate) fn peek(&self, key: &Key) -> Option<Arc<CachedSecret>> {
        let entry = lock(&self.entries).get(key).cloned()?;
        let state = lock(&entry.state);
        state.held.as_ref().map(|held| Arc::clone(&held.secret))
    }

    /// Reads `key` now and holds the result, unless a concurrent reader
    /// already replaced `known` (then that value, without a read).
    pub(crate) async fn reread(
        &self,
        key: &Key,
        known: Option<&str>,
    ) -> Result<Arc<CachedSecret>, CacheError> {
        self.read_unless(key, |held| {
            known.is_some_and(|known| held.secret.version_id() != known)
        })
        .await
    }

    /// Reads `key` and holds the result, unless the held value is `enough`
    /// (then that value, without a read), checked while waiting on a read
    /// already under way and once this one may read. A failure is an
    /// error, never the held value.
    async fn read_unless(
        &self,
        key: &Key,
        enough: impl Fn(&Held) -> bool,
    ) -> Result<Arc<CachedSecret>, CacheError> {
        let entry = self.entry(key);
        let waited = entry.board_unless(key, self.config.flight_timeout, || entry.held_if(&enough));
        let flight = match waited.await {
            Ok(flight) => flight,
            Err(held) => return Ok(held),
        };
        match self.read(key).await {
            Ok(secret) => {
                self.hold(key, &entry, &secret, &flight);
                Ok(secret)
            }
            Err(error) => {
                drop(flight);
                self.read_failed(key, &error, false);
                self.forget_if_empty(key, &entry);
                Err(error)
            }
        }
    }
}

/// A uniform fraction in [0, 1), for jitter.
fn random_fraction() -> f64 {
    let mut bytes = [0u8; 8];
    // Jitter only spreads load; without randomness it is simply absent.
    if getrandom::fill(&mut bytes).is_err() {
        return 0.0;
    }
    (u64::from_le_bytes(bytes) >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use rotation_core::secret::SecretPayload;
    use rotation_core::store::InMemorySecretStore;
    use rotation_core::SecretString;

    use super::*;
    use crate::error::Attempt;

    #[tokio::test]
    async fn a_secret_evicted_takes_its_refusal_state_with_it() {
        let store = InMemorySecretStore::new();
        for name in ["a", "b"] {
            store
                .create_secret(name, SecretPayload::String(SecretString::new("pw")))
                .unwrap();
        }
        let cache = SecretCache::new(store, CacheConfig::default().max_entries(1)).unwrap();
        let refused = |_| async { Err::<(), _>(Attempt::Rejected(())) };
        let _ = cache.with_current("a", refused).await;
        assert!(lock(&cache.inner.rejections).contains_key("a"));
        let _ = cache.with_current("b", refused).await;
        let rejections = lock(&cache.inner.rejections);
        assert!(!rejections.contains_key("a"));
        assert!(rejections.contains_key("b"));
    }
}
