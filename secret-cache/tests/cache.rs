//! The cache on the in-memory store (Secrets Manager's semantics), behind a
//! wrapper that counts reads and can fail or slow them. Time is tokio's
//! paused clock, so a 300 s time to live takes no real time.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use rotation_core::secret::SecretPayload;
use rotation_core::store::{
    InMemorySecretStore, MoveStage, PutValue, SecretDescription, SecretStore, SecretVersion,
    VersionSelector, AWSCURRENT, AWSPENDING,
};
use rotation_core::{
    error::{error_chain, StoreError},
    SecretString,
};
use secret_cache::{Attempt, CacheConfig, CacheError, CacheEvent, KeyMatch, SecretCache, UseError};
use tokio::time::{advance, Instant};

/// The in-memory store, counting `GetSecretValue` calls.
#[derive(Default)]
struct CountingStore {
    inner: InMemorySecretStore,
    reads: AtomicUsize,
    failing: AtomicBool,
    denying: AtomicBool,
    /// The next read never answers, as one frozen with its Lambda
    /// environment, or on a dead connection, does not.
    hang_next: AtomicBool,
    delay: Option<Duration>,
}

impl CountingStore {
    fn slow(delay: Duration) -> Self {
        Self {
            delay: Some(delay),
            ..Self::default()
        }
    }

    fn reads(&self) -> usize {
        self.reads.load(Ordering::SeqCst)
    }

    fn fail(&self, failing: bool) {
        self.failing.store(failing, Ordering::SeqCst);
    }

    /// Reads refused as a revoked permission would be: not transient.
    fn deny(&self, denying: bool) {
        self.denying.store(denying, Ordering::SeqCst);
    }

    fn create(&self, name: &str, value: &str) -> String {
        self.inner
            .create_secret(name, payload(value))
            .expect("create the secret")
    }

    /// `DeleteSecret` without a recovery window.
    fn delete(&self, name: &str) {
        self.inner.delete_secret(name).expect("delete the secret");
    }

    /// A rotation's createSecret: `value` stored as AWSPENDING.
    async fn stage_pending(&self, name: &str, token: &str, value: &str) {
        self.inner.start_rotation(name, token).unwrap();
        self.inner
            .put_value(
                name,
                PutValue {
                    version_id: token,
                    value: &SecretString::new(value),
                    stages: &[AWSPENDING],
                    rotation_token: None,
                },
            )
            .await
            .unwrap();
    }

    /// A rotation's finishSecret.
    async fn finish(&self, name: &str, token: &str) {
        let described = self.inner.describe(name).await.unwrap();
        let from = described.version_with_stage(AWSCURRENT).map(str::to_owned);
        self.inner
            .move_stage(
                name,
                MoveStage {
                    stage: AWSCURRENT,
                    to_version: token,
                    from_version: from.as_deref(),
                },
            )
            .await
            .unwrap();
    }

    async fn rotate(&self, name: &str, token: &str, value: &str) {
        self.stage_pending(name, token, value).await;
        self.finish(name, token).await;
    }
}

fn payload(value: &str) -> SecretPayload {
    SecretPayload::String(SecretString::new(value))
}

#[async_trait]
impl SecretStore for CountingStore {
    async fn describe(&self, secret_id: &str) -> Result<SecretDescription, StoreError> {
        self.inner.describe(secret_id).await
    }

    async fn get_value(
        &self,
        secret_id: &str,
        version: VersionSelector<'_>,
    ) -> Result<Option<SecretVersion>, StoreError> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        if self.hang_next.swap(false, Ordering::SeqCst) {
            std::future::pending::<()>().await;
        }
        if let Some(delay) = self.delay {
            tokio::time::sleep(delay).await;
        }
        if self.failing.load(Ordering::SeqCst) {
            return Err(StoreError::Service {
                operation: "GetSecretValue",
                secret_id: secret_id.to_owned(),
                transient: true,
                source: "throttled (simulated)".into(),
            });
        }
        if self.denying.load(Ordering::SeqCst) {
            return Err(StoreError::Service {
                operation: "GetSecretValue",
                secret_id: secret_id.to_owned(),
                transient: false,
                source: "AccessDeniedException (simulated)".into(),
            });
        }
        self.inner.get_value(secret_id, version).await
    }

    async fn put_value(&self, secret_id: &str, put: PutValue<'_>) -> Result<(), StoreError> {
        self.inner.put_value(secret_id, put).await
    }

    async fn move_stage(&self, secret_id: &str, change: MoveStage<'_>) -> Result<(), StoreError> {
        self.inner.move_stage(secret_id, change).await
    }
}

fn cache(store: &Arc<CountingStore>, config: CacheConfig) -> SecretCache<Arc<CountingStore>> {
    SecretCache::new(Arc::clone(store), config).expect("a valid configuration")
}

/// `n` copies of `task` started at once, each with its own handle on
/// `cache`; their results, once every one has ended.
async fn together<T, Fut>(
    n: usize,
    cache: &SecretCache<Arc<CountingStore>>,
    task: impl Fn(SecretCache<Arc<CountingStore>>) -> Fut,
) -> Vec<T>
where
    Fut: std::future::Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let tasks: Vec<_> = (0..n).map(|_| tokio::spawn(task(cache.clone()))).collect();
    let mut results = Vec::with_capacity(n);
    for task in tasks {
        results.push(task.await.expect("the task ran to its end"));
    }
    results
}

fn text(secret: &secret_cache::CachedSecret) -> String {
    secret
        .string()
        .expect("a string secret")
        .expose()
        .to_owned()
}

/// The application's connect: only `accepted` logs in.
async fn connect(
    secret: Arc<secret_cache::CachedSecret>,
    accepted: &str,
    attempts: &AtomicUsize,
) -> Result<String, Attempt<&'static str>> {
    attempts.fetch_add(1, Ordering::SeqCst);
    let presented = text(&secret);
    if presented == accepted {
        Ok(presented)
    } else {
        Err(Attempt::Rejected("password authentication failed"))
    }
}

#[tokio::test(start_paused = true)]
async fn a_value_is_served_for_its_time_to_live_then_read_again() {
    let store = Arc::new(CountingStore::default());
    store.create("app", "v1");
    let cache = cache(&store, CacheConfig::default().refresh_ahead(Duration::ZERO));
    assert_eq!(text(&cache.get("app").await.unwrap()), "v1");
    store.inner.put_by_hand("app", payload("v2")).unwrap();
    advance(Duration::from_secs(299)).await;
    assert_eq!(text(&cache.get("app").await.unwrap()), "v1");
    assert_eq!(store.reads(), 1);
    advance(Duration::from_secs(2)).await;
    assert_eq!(text(&cache.get("app").await.unwrap()), "v2");
    assert_eq!(store.reads(), 2);
}

#[tokio::test(start_paused = true)]
async fn a_hundred_concurrent_readers_share_one_read() {
    let store = Arc::new(CountingStore::slow(Duration::from_millis(50)));
    store.create("app", "v1");
    let cache = cache(&store, CacheConfig::default());
    let values = together(100, &cache, |cache| async move {
        cache.get("app").await.map(|s| text(&s))
    })
    .await;
    for value in values {
        assert_eq!(value.unwrap(), "v1");
    }
    assert_eq!(store.reads(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_value_is_refreshed_ahead_of_expiry_without_making_readers_wait() {
    let store = Arc::new(CountingStore::slow(Duration::from_millis(200)));
    store.create("app", "v1");
    let config = CacheConfig::default()
        .ttl(Duration::from_secs(10))
        .refresh_ahead(Duration::from_secs(2));
    let cache = cache(&store, config);
    cache.get("app").await.unwrap();
    store.inner.put_by_hand("app", payload("v2")).unwrap();
    // Past the refresh moment (1 to 2 s before expiry), whatever the
    // jitter.
    advance(Duration::from_secs(9)).await;
    let asked = Instant::now();
    assert_eq!(text(&cache.get("app").await.unwrap()), "v1");
    assert_eq!(asked.elapsed(), Duration::ZERO, "the reader waited");
    // The background refresh reads once, however many readers come.
    for _ in 0..10 {
        cache.get("app").await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(store.reads(), 2);
    assert_eq!(text(&cache.get("app").await.unwrap()), "v2");
}

#[tokio::test(start_paused = true)]
async fn an_expired_value_is_served_through_an_outage_up_to_the_bound() {
    let store = Arc::new(CountingStore::default());
    store.create("app", "v1");
    let config = CacheConfig::default()
        .ttl(Duration::from_secs(60))
        .refresh_ahead(Duration::ZERO)
        .max_stale(Duration::from_secs(120))
        .stale_retry(Duration::from_secs(5));
    let cache = cache(&store, config);
    cache.get("app").await.unwrap();
    store.fail(true);
    advance(Duration::from_secs(61)).await;
    assert_eq!(text(&cache.get("app").await.unwrap()), "v1");
    assert_eq!(store.reads(), 2);
    // No read per request during the outage: one per stale_retry.
    for _ in 0..20 {
        cache.get("app").await.unwrap();
    }
    assert_eq!(store.reads(), 2);
    advance(Duration::from_secs(6)).await;
    cache.get("app").await.unwrap();
    assert_eq!(store.reads(), 3);
    // 60 s of life and 120 s of staleness, then the error.
    advance(Duration::from_secs(120)).await;
    let error = cache.get("app").await.unwrap_err();
    assert!(
        matches!(error, CacheError::Store { ref source, .. } if matches!(source, StoreError::Service { .. })),
        "{error:?}"
    );
    store.fail(false);
    assert_eq!(text(&cache.get("app").await.unwrap()), "v1");
}

#[tokio::test(start_paused = true)]
async fn during_an_outage_one_reader_retries_and_the_others_do_not_wait() {
    let store = Arc::new(CountingStore::slow(Duration::from_millis(100)));
    store.create("app", "v1");
    let config = CacheConfig::default()
        .ttl(Duration::from_secs(60))
        .refresh_ahead(Duration::ZERO)
        .stale_retry(Duration::from_secs(5));
    let cache = cache(&store, config);
    cache.get("app").await.unwrap();
    store.fail(true);
    advance(Duration::from_secs(61)).await;
    cache.get("app").await.unwrap();
    advance(Duration::from_secs(6)).await;
    let retrying = {
        let cache = cache.clone();
        tokio::spawn(async move { cache.get("app").await.map(|s| text(&s)) })
    };
    tokio::task::yield_now().await;
    let asked = Instant::now();
    for _ in 0..10 {
        assert_eq!(text(&cache.get("app").await.unwrap()), "v1");
    }
    assert_eq!(
        asked.elapsed(),
        Duration::ZERO,
        "a reader waited for the retry"
    );
    assert_eq!(retrying.await.unwrap().unwrap(), "v1");
    assert_eq!(store.reads(), 3);
}

/// `error` is the store's "no such secret", passed on as it is.
fn assert_not_found(error: &CacheError, when: &str) {
    assert!(
        matches!(
            error,
            CacheError::Store {
                source: StoreError::SecretNotFound { .. },
                ..
            }
        ),
        "{when}: {error:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_deleted_secret_is_not_served_stale() {
    let store = Arc::new(CountingStore::default());
    store.create("app", "v1");
    let cache = cache(&store, CacheConfig::default().refresh_ahead(Duration::ZERO));
    assert_eq!(text(&cache.get("app").await.unwrap()), "v1");
    store.delete("app");
    advance(Duration::from_secs(301)).await;
    // A secret that is gone is not an outage: no stale value, however
    // long `max_stale` is, and not on the next read either.
    for read in ["the first read after expiry", "the next read"] {
        let error = cache.get("app").await.unwrap_err();
        assert_not_found(&error, read);
    }

    // The control: the same expiry in an outage serves the held value, so
    // the errors above are the cache telling a deletion from an outage.
    let outage = Arc::new(CountingStore::default());
    outage.create("app", "v1");
    let cache = self::cache(
        &outage,
        CacheConfig::default().refresh_ahead(Duration::ZERO),
    );
    cache.get("app").await.unwrap();
    outage.fail(true);
    advance(Duration::from_secs(301)).await;
    assert_eq!(text(&cache.get("app").await.unwrap()), "v1");
}

/// With the default settings, a store failing through the refresh window
/// gets one background try per `stale_retry`, not one per read; and at
/// expiry, readers are served the held value until the next try instead
/// of waiting on a store known to fail.
#[tokio::test(start_paused = true)]
async fn a_failing_background_refresh_waits_before_trying_again() {
    let store = Arc::new(CountingStore::default());
    store.create("app", "v1");
    let cache = cache(&store, CacheConfig::default());
    cache.get("app").await.unwrap();
    store.fail(true);
    // 299 s of a 300 s life: inside the refresh window, whatever its draw.
    advance(Duration::from_secs(299)).await;
    let reads_in_burst = || async {
        for _ in 0..50 {
            assert_eq!(text(&cache.get("app").await.unwrap()), "v1");
            tokio::task::yield_now().await;
        }
        store.reads()
    };
    assert_eq!(
        reads_in_burst().await,
        2,
        "one background refresh, not one per read"
    );
    // Expired, and the last try failed under 5 s ago: no wait, no read.
    advance(Duration::from_secs(2)).await;
    assert_eq!(reads_in_burst().await, 2, "the held value, without a read");
    // The retry is due: one reader tries, the others are served.
    advance(Duration::from_secs(4)).await;
    assert_eq!(reads_in_burst().await, 3);
}

/// In Lambda, a background refresh started in one invocation freezes with
/// the environment and, after the thaw, may wait on a dead connection for
/// the SDK's whole budget. Readers at expiry must not wait on it.
#[tokio::test(start_paused = true)]
async fn a_frozen_refresh_does_not_hold_readers_past_the_flight_timeout() {
    let store = Arc::new(CountingStore::default());
    store.create("app", "v1");
    let config = CacheConfig::default()
        .ttl(Duration::from_secs(10))
        .refresh_ahead(Duration::from_secs(2));
    let cache = cache(&store, config);
    cache.get("app").await.unwrap();
    store.inner.put_by_hand("app", payload("v2")).unwrap();
    store.hang_next.store(true, Ordering::SeqCst);
    advance(Duration::from_secs(9)).await;
    assert_eq!(text(&cache.get("app").await.unwrap()), "v1");
    // The refresh starts its read, which never ends.
    while store.reads() < 2 {
        tokio::task::yield_now().await;
    }
    // Frozen until the next invocation, a minute later.
    advance(Duration::from_secs(60)).await;
    let asked = Instant::now();
    let value = tokio::time::timeout(Duration::from_secs(300), cache.get("app"))
        .await
        .expect("the reader waited on the frozen refresh")
        .unwrap();
    assert_eq!(text(&value), "v2");
    assert_eq!(
        asked.elapsed(),
        Duration::ZERO,
        "the frozen read started 60 s ago, past the 5 s flight timeout"
    );
    assert_eq!(store.reads(), 3);
}

/// A read that is merely slow is not met with a read per waiting reader:
/// one more each `flight_timeout`, and everyone is served by the first to
/// finish.
#[tokio::test(start_paused = true)]
async fn a_slow_read_costs_one_more_read_per_flight_timeout_not_one_per_reader() {
    let store = Arc::new(CountingStore::slow(Duration::from_secs(8)));
    store.create("app", "v1");
    let config = CacheConfig::default()
        .ttl(Duration::from_secs(10))
        .refresh_ahead(Duration::ZERO);
    let cache = cache(&store, config);
    cache.get("app").await.unwrap();
    advance(Duration::from_secs(11)).await;
    let started = Instant::now();
    let readers = together(20, &cache, |cache| async move {
        let value = cache.get("app").await.map(|s| text(&s));
        (value, started.elapsed())
    })
    .await;
    let mut waits = Vec::new();
    for (value, waited) in readers {
        assert_eq!(value.unwrap(), "v1");
        waits.push(waited.as_secs());
    }
    waits.sort();
    // The first read ends at 8 s and serves every waiter; the reader that
    // gave up on it at the 5 s timeout waits for its own read (13 s).
    let mut expected = vec![8; 19];
    expected.push(13);
    assert_eq!(waits, expected);
    assert_eq!(store.reads(), 3, "the first, the expired one, and one more");
}

/// A revoked permission (or KMS key, or expired credentials) is not an
/// outage: at expiry the reader gets the error, not the old value for
/// `max_stale` more.
#[tokio::test(start_paused = true)]
async fn a_refused_permission_is_not_ridden_out_with_the_held_value() {
    let store = Arc::new(CountingStore::default());
    store.create("app", "v1");
    let cache = cache(&store, CacheConfig::default().refresh_ahead(Duration::ZERO));
    assert_eq!(text(&cache.get("app").await.unwrap()), "v1");
    store.deny(true);
    advance(Duration::from_secs(301)).await;
    let error = cache.get("app").await.unwrap_err();
    assert!(
        matches!(&error, CacheError::Store { source, .. } if !source.is_transient()),
        "{error:?}"
    );
    assert!(error_chain(&error).contains("AccessDenied"), "{error:?}");
}

#[tokio::test(start_paused = true)]
async fn a_secret_or_stage_that_never_existed_is_named() {
    let store = Arc::new(CountingStore::default());
    store.create("app", "v1");
    let cache = cache(&store, CacheConfig::default().refresh_ahead(Duration::ZERO));
    let error = cache.get("other").await.unwrap_err();
    assert_not_found(&error, "a secret that never existed");
    let error = cache.get_stage("app", "AWSPREVIOUS").await.unwrap_err();
    assert!(matches!(error, CacheError::NoValue { .. }), "{error:?}");
    assert!(error.to_string().contains("AWSPREVIOUS"), "{error}");
}

#[tokio::test(start_paused = true)]
async fn the_least_recently_used_value_leaves_a_full_cache() {
    let store = Arc::new(CountingStore::default());
    for name in ["a", "b", "c"] {
        store.create(name, name);
    }
    let cache = cache(&store, CacheConfig::default().max_entries(2));
    for name in ["a", "b"] {
        cache.get(name).await.unwrap();
        advance(Duration::from_millis(1)).await;
    }
    cache.get("a").await.unwrap();
    advance(Duration::from_millis(1)).await;
    cache.get("c").await.unwrap();
    assert_eq!(cache.len(), 2);
    assert_eq!(store.reads(), 3);
    cache.get("a").await.unwrap();
    assert_eq!(store.reads(), 3, "a was used recently and stayed");
    cache.get("b").await.unwrap();
    assert_eq!(store.reads(), 4, "b was evicted");
}

#[tokio::test(start_paused = true)]
async fn a_refused_password_is_retried_once_with_the_rotated_value() {
    let store = Arc::new(CountingStore::default());
    store.create("app", "v1");
    let cache = cache(&store, CacheConfig::default());
    let attempts = AtomicUsize::new(0);
    cache
        .with_current("app", |s| connect(s, "v1", &attempts))
        .await
        .unwrap();
    store.rotate("app", "token-2", "v2").await;
    let logged_in = cache
        .with_current("app", |s| connect(s, "v2", &attempts))
        .await
        .unwrap();
    assert_eq!(logged_in, "v2");
    assert_eq!(attempts.load(Ordering::SeqCst), 3);
    assert_eq!(store.reads(), 2, "one read to find the rotated value");
    // The fresh value is cached: no further read, no failed attempt.
    cache
        .with_current("app", |s| connect(s, "v2", &attempts))
        .await
        .unwrap();
    assert_eq!((attempts.load(Ordering::SeqCst), store.reads()), (4, 2));
}

#[tokio::test(start_paused = true)]
async fn tasks_refused_together_share_one_look() {
    let store = Arc::new(CountingStore::slow(Duration::from_millis(20)));
    store.create("app", "v1");
    let cache = cache(&store, CacheConfig::default());
    cache.get("app").await.unwrap();
    store.rotate("app", "token-2", "v2").await;
    let attempts = Arc::new(AtomicUsize::new(0));
    let results = together(50, &cache, |cache| {
        let attempts = Arc::clone(&attempts);
        async move {
            cache
                .with_current("app", |s| connect(s, "v2", &attempts))
                .await
                .map_err(|e| e.to_string())
        }
    })
    .await;
    for result in results {
        assert_eq!(result.unwrap(), "v2");
    }
    assert_eq!(store.reads(), 2);
    assert_eq!(attempts.load(Ordering::SeqCst), 100);
}

#[tokio::test(start_paused = true)]
async fn a_wrong_password_backs_off_instead_of_storming() {
    let store = Arc::new(CountingStore::default());
    store.create("app", "wrong");
    let config = CacheConfig::default()
        .ttl(Duration::from_secs(300))
        .rejection_backoff(Duration::from_millis(500));
    let cache = cache(&store, config);
    let attempts = AtomicUsize::new(0);
    let mut refused = 0;
    // Ten seconds of an application retrying every 10 ms.
    for _ in 0..1000 {
        let result = cache
            .with_current("app", |s| connect(s, "right", &attempts))
            .await;
        if matches!(result, Err(UseError::Rejected(_))) {
            refused += 1;
        }
        advance(Duration::from_millis(10)).await;
    }
    assert_eq!(refused, 1000);
    // The first read, then looks at 0, 0.5, 1.5, 3.5 and 7.5 s: each reads
    // AWSCURRENT and AWSPENDING.
    assert_eq!(store.reads(), 1 + 5 * 2);
    // The correct value stored by hand is found at the next look.
    store.inner.put_by_hand("app", payload("right")).unwrap();
    advance(Duration::from_secs(10)).await;
    cache
        .with_current("app", |s| connect(s, "right", &attempts))
        .await
        .unwrap();
}

#[tokio::test(start_paused = true)]
async fn between_set_secret_and_finish_secret_the_pending_value_logs_in() {
    let store = Arc::new(CountingStore::default());
    store.create("app", "v1");
    let cache = cache(&store, CacheConfig::default().refresh_ahead(Duration::ZERO));
    let attempts = AtomicUsize::new(0);
    cache
        .with_current("app", |s| connect(s, "v1", &attempts))
        .await
        .unwrap();
    // createSecret and setSecret ran: the database takes only v2, and
    // AWSCURRENT is still v1.
    store.stage_pending("app", "token-2", "v2").await;
    let logged_in = cache
        .with_current("app", |s| connect(s, "v2", &attempts))
        .await
        .unwrap();
    assert_eq!(logged_in, "v2");
    assert_eq!(store.reads(), 3, "AWSCURRENT again, then AWSPENDING");
    // Later connects go straight to the pending value.
    for _ in 0..10 {
        cache
            .with_current("app", |s| connect(s, "v2", &attempts))
            .await
            .unwrap();
    }
    assert_eq!((attempts.load(Ordering::SeqCst), store.reads()), (13, 3));
    // finishSecret; once the cache reads AWSCURRENT again it is v2 itself.
    store.finish("app", "token-2").await;
    advance(Duration::from_secs(301)).await;
    cache
        .with_current("app", |s| connect(s, "v2", &attempts))
        .await
        .unwrap();
    assert_eq!((attempts.load(Ordering::SeqCst), store.reads()), (14, 4));
}

#[tokio::test(start_paused = true)]
async fn without_try_pending_the_rotation_window_fails_until_finish_secret() {
    let store = Arc::new(CountingStore::default());
    store.create("app", "v1");
    let cache = cache(&store, CacheConfig::default().try_pending(false));
    cache.get("app").await.unwrap();
    store.stage_pending("app", "token-2", "v2").await;
    let attempts = AtomicUsize::new(0);
    let result = cache
        .with_current("app", |s| connect(s, "v2", &attempts))
        .await;
    assert!(matches!(result, Err(UseError::Rejected(_))));
    assert_eq!(store.reads(), 2, "AWSCURRENT only");
    store.finish("app", "token-2").await;
    advance(Duration::from_millis(600)).await;
    cache
        .with_current("app", |s| connect(s, "v2", &attempts))
        .await
        .unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_failure_other_than_a_refusal_reads_nothing() {
    let store = Arc::new(CountingStore::default());
    store.create("app", "v1");
    let cache = cache(&store, CacheConfig::default());
    let result: Result<(), _> = cache
        .with_current("app", |_| async {
            Err(Attempt::Failed("connection reset"))
        })
        .await;
    assert!(matches!(result, Err(UseError::Failed("connection reset"))));
    assert_eq!(store.reads(), 1);
}

#[tokio::test(start_paused = true)]
async fn keys_are_checked_against_current_and_previous() {
    let store = Arc::new(CountingStore::default());
    store.create("svc", r#"{"api_key": "k1", "owner": "team"}"#);
    let cache = cache(&store, CacheConfig::default());
    let check = |key: &'static str| {
        let cache = cache.clone();
        async move { cache.check_key("svc", Some("api_key"), key).await.unwrap() }
    };
    assert_eq!(check("k1").await, KeyMatch::Current);
    store
        .rotate("svc", "token-2", r#"{"api_key": "k2", "owner": "team"}"#)
        .await;
    // A client already holds k2: the cache re-reads AWSCURRENT and
    // AWSPREVIOUS once.
    assert_eq!(check("k2").await, KeyMatch::Current);
    assert_eq!(check("k1").await, KeyMatch::Previous);
    let reads = store.reads();
    // Unknown keys do not make a request each.
    for _ in 0..100 {
        assert_eq!(check("forged").await, KeyMatch::Unknown);
        assert!(!KeyMatch::Unknown.accepted());
    }
    assert!(
        store.reads() <= reads + 1,
        "{} reads",
        store.reads() - reads
    );
    // An AWSPREVIOUS of another shape matches nothing and stops nothing.
    store.rotate("svc", "token-3", r#"{"api_key": "k3"}"#).await;
    store
        .inner
        .put_by_hand("svc", payload(r#"{"api_key": "k4"}"#))
        .unwrap();
    store.rotate("svc", "token-5", "not json").await;
    store.rotate("svc", "token-6", r#"{"api_key": "k6"}"#).await;
    advance(Duration::from_secs(301)).await;
    assert_eq!(check("k6").await, KeyMatch::Current);
    assert_eq!(check("k4").await, KeyMatch::Unknown);
    // A field the secret lacks is an error naming it.
    let error = cache
        .check_key("svc", Some("token"), "k2")
        .await
        .unwrap_err();
    let message = format!("{error} {:?}", std::error::Error::source(&error));
    assert!(message.contains("token"), "{message}");
    assert!(!message.contains("k2"), "{message}");
}

/// During an outage, unknown keys back off as they do when nothing
/// changed: not one read per request.
#[tokio::test(start_paused = true)]
async fn unknown_keys_during_an_outage_do_not_read_once_each() {
    let store = Arc::new(CountingStore::default());
    store.create("svc", r#"{"api_key": "k1"}"#);
    store.rotate("svc", "token-2", r#"{"api_key": "k2"}"#).await;
    let cache = cache(&store, CacheConfig::default());
    let check = |key: &'static str| {
        let cache = cache.clone();
        async move { cache.check_key("svc", Some("api_key"), key).await.unwrap() }
    };
    assert_eq!(check("k2").await, KeyMatch::Current);
    assert_eq!(check("k1").await, KeyMatch::Previous);
    store.fail(true);
    let reads = store.reads();
    for _ in 0..100 {
        assert_eq!(check("forged").await, KeyMatch::Unknown);
    }
    assert_eq!(
        store.reads(),
        reads + 1,
        "one failed re-read, then the back-off"
    );
}

#[tokio::test]
async fn settings_that_would_misbehave_are_refused_by_name() {
    let store = Arc::new(CountingStore::default());
    for (config, setting) in [
        (CacheConfig::default().ttl(Duration::ZERO), "ttl"),
        (CacheConfig::default().max_entries(0), "max_entries"),
        (
            CacheConfig::default().rejection_backoff(Duration::ZERO),
            "rejection_backoff",
        ),
        (
            CacheConfig::default().stale_retry(Duration::ZERO),
            "stale_retry",
        ),
    ] {
        let error = SecretCache::new(Arc::clone(&store), config).unwrap_err();
        assert_eq!(error.setting, setting);
        assert!(error.to_string().contains(setting));
    }
}

#[tokio::test]
async fn nothing_the_cache_prints_holds_a_value() {
    let store = Arc::new(CountingStore::default());
    store.create("app", r#"{"password": "sekret-pw-1"}"#);
    let cache = cache(&store, CacheConfig::default());
    let secret = cache.get("app").await.unwrap();
    let printed = format!("{secret:?} {cache:?}");
    assert!(!printed.contains("sekret-pw-1"), "{printed}");
    assert!(printed.contains(secret.version_id()), "{printed}");
}

/// A typed read: the application's struct from the secret's JSON; a value
/// that does not fit names the field and quotes nothing.
#[tokio::test(start_paused = true)]
async fn a_secret_is_read_as_the_applications_own_type() {
    #[derive(serde::Deserialize)]
    struct Database {
        host: String,
        port: u16,
        password: String,
    }
    let store = Arc::new(CountingStore::default());
    store.create(
        "db",
        r#"{"host": "db.internal", "port": 5432, "password": "hunter2-typed", "engine": "postgres"}"#,
    );
    store.create(
        "no-port",
        r#"{"host": "db.internal", "password": "hunter2-typed"}"#,
    );
    store.create(
        "bad-port",
        r#"{"host": "db.internal", "port": "hunter2-not-a-port", "password": "p"}"#,
    );
    store.create("not-json", "hunter2-plain");
    let cache = cache(&store, CacheConfig::default());
    let db: Database = cache.get_json("db").await.unwrap();
    assert_eq!((db.host.as_str(), db.port), ("db.internal", 5432));
    assert_eq!(db.password, "hunter2-typed");
    for (secret, names) in [
        ("no-port", "field `port` is missing"),
        ("bad-port", "field `port` is invalid"),
        ("not-json", "not valid JSON"),
    ] {
        let error = cache.get_json::<Database>(secret).await.err().unwrap();
        assert!(matches!(error, CacheError::Format { .. }), "{secret}");
        let shown = format!("{error:?} {}", error_chain(&error));
        assert!(shown.contains(names), "{secret}: {shown}");
        assert!(!shown.contains("hunter2"), "{secret}: {shown}");
    }
}

/// Names that do not exist take no place: with a cache of two, a hundred
/// made-up names leave the real values held.
#[tokio::test(start_paused = true)]
async fn a_secret_that_does_not_exist_takes_no_place_in_the_cache() {
    let store = Arc::new(CountingStore::default());
    store.create("app", "v1");
    let cache = cache(&store, CacheConfig::default().max_entries(2));
    cache.get("app").await.unwrap();
    for n in 0..100 {
        assert!(cache.get(&format!("made-up-{n}")).await.is_err());
        assert!(cache
            .refresh_now(&format!("made-up-{n}"), VersionSelector::Stage(AWSCURRENT))
            .await
            .is_err());
    }
    assert_eq!(cache.len(), 1);
    let reads = store.reads();
    cache.get("app").await.unwrap();
    assert_eq!(store.reads(), reads, "still held");
}

#[tokio::test(start_paused = true)]
async fn a_version_is_read_by_id_and_cached_apart_from_its_label() {
    let store = Arc::new(CountingStore::default());
    store.create("app", "v1");
    let cache = cache(&store, CacheConfig::default());
    let first = cache.get("app").await.unwrap();
    store.rotate("app", "token-2", "v2").await;
    let by_id = cache
        .get_version("app", VersionSelector::Id(first.version_id()))
        .await
        .unwrap();
    assert_eq!(text(&by_id), "v1");
    assert_eq!(store.reads(), 2, "a version id is its own entry");
    // The first version is no longer current: asked for both, nothing.
    let error = cache
        .get_version(
            "app",
            VersionSelector::IdAndStage(first.version_id(), AWSCURRENT),
        )
        .await
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "app has no value for version {} labelled AWSCURRENT",
            first.version_id()
        )
    );
    let pending = cache
        .get_version("app", VersionSelector::IdAndStage("token-2", AWSCURRENT))
        .await
        .unwrap();
    assert_eq!(text(&pending), "v2");
    assert_eq!(text(&cache.get("app").await.unwrap()), "v1", "still cached");
}

#[tokio::test(start_paused = true)]
async fn refresh_now_reads_past_the_held_value_once_for_callers_together() {
    let store = Arc::new(CountingStore::slow(Duration::from_millis(100)));
    store.create("app", "v1");
    let cache = cache(&store, CacheConfig::default());
    cache.get("app").await.unwrap();
    store.inner.put_by_hand("app", payload("v2")).unwrap();
    let values = together(10, &cache, |cache| async move {
        let fresh = cache.refresh_now("app", VersionSelector::Stage(AWSCURRENT));
        fresh.await.map(|s| text(&s))
    })
    .await;
    for value in values {
        assert_eq!(value.unwrap(), "v2");
    }
    assert_eq!(store.reads(), 2);
    assert_eq!(text(&cache.get("app").await.unwrap()), "v2", "and held");
    // A refresh asked later reads again: the held value predates it.
    store.inner.put_by_hand("app", payload("v3")).unwrap();
    let fresh = cache.refresh_now("app", VersionSelector::Stage(AWSCURRENT));
    assert_eq!(text(&fresh.await.unwrap()), "v3");
    assert_eq!(store.reads(), 3);
}

#[tokio::test(start_paused = true)]
async fn a_client_outside_the_process_asks_for_the_value_to_try_after_a_refusal() {
    let store = Arc::new(CountingStore::default());
    store.create("app", "v1");
    let cache = cache(&store, CacheConfig::default());
    let current = cache.get("app").await.unwrap();
    // A single-user rotation between setSecret and finishSecret.
    store.stage_pending("app", "token-2", "v2").await;
    let next = cache.after_refusal("app", current.version_id()).await;
    assert_eq!(next.map(|s| text(&s)).as_deref(), Some("v2"));
    let reads = store.reads();
    // Another client refused with the same value gets it without a read.
    let next = cache.after_refusal("app", current.version_id()).await;
    assert_eq!(next.map(|s| text(&s)).as_deref(), Some("v2"));
    assert_eq!(store.reads(), reads);
    // The pending value refused too: nothing newer, and a backoff.
    assert!(cache.after_refusal("app", "token-2").await.is_none());
    let reads = store.reads();
    assert!(cache.after_refusal("app", "token-2").await.is_none());
    assert_eq!(store.reads(), reads, "backed off");
}

/// The observer hears of a rotation's new value once, and of each failed
/// read with whether the held value is served meanwhile.
#[tokio::test(start_paused = true)]
async fn an_observer_hears_of_changes_and_failed_reads() {
    use std::sync::Mutex;

    let store = Arc::new(CountingStore::default());
    store.create("app", "v1");
    let heard = Arc::new(Mutex::new(Vec::<String>::new()));
    let hearing = Arc::clone(&heard);
    let config = CacheConfig::default().refresh_ahead(Duration::ZERO);
    let cache =
        SecretCache::with_observer(Arc::clone(&store), config, move |event: &CacheEvent<'_>| {
            let line = match event {
                CacheEvent::Changed {
                    secret_id, wanted, ..
                } => format!("changed {secret_id} {wanted}"),
                CacheEvent::ReadFailed {
                    secret_id,
                    serving_held_value,
                    error,
                    ..
                } => {
                    format!(
                        "failed {secret_id} held={serving_held_value} transient={}",
                        error.is_transient()
                    )
                }
                _ => "other".into(),
            };
            hearing.lock().unwrap().push(line);
        })
        .unwrap();
    cache.get("app").await.unwrap();
    assert!(
        heard.lock().unwrap().is_empty(),
        "the first read changes nothing"
    );
    store.rotate("app", "token-2", "v2").await;
    advance(Duration::from_secs(301)).await;
    assert_eq!(text(&cache.get("app").await.unwrap()), "v2");
    advance(Duration::from_secs(301)).await;
    assert_eq!(
        text(&cache.get("app").await.unwrap()),
        "v2",
        "the same version again"
    );
    store.fail(true);
    advance(Duration::from_secs(301)).await;
    assert_eq!(
        text(&cache.get("app").await.unwrap()),
        "v2",
        "held through the outage"
    );
    store.fail(false);
    store.deny(true);
    assert!(cache.get("missing").await.is_err());
    assert_eq!(
        *heard.lock().unwrap(),
        [
            "changed app AWSCURRENT",
            "failed app held=true transient=true",
            "failed missing held=false transient=false",
        ]
    );
}
