//! What the cache does when a credential is refused: find a newer value
//! once, share it with every task that was refused at the same time, and
//! back off when there is none.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rotation_core::store::{SecretStore, AWSCURRENT, AWSPENDING, AWSPREVIOUS};
use rotation_core::SecretString;
use tokio::time::Instant;

use crate::cache::{lock, Key, SecretCache};
use crate::error::{Attempt, CacheError, UseError};
use crate::value::CachedSecret;

/// Versions remembered as refused, per secret: enough for a rotation's
/// current, pending and previous values.
const REMEMBERED_REFUSALS: usize = 8;

/// Per secret: the refresh that follows a refusal, one at a time.
#[derive(Default)]
pub(crate) struct Rejections {
    refresh: tokio::sync::Mutex<RefreshState>,
    /// A pending value that logged in while AWSCURRENT did not, and the
    /// AWSCURRENT version it stands in for.
    stand_in: Mutex<Option<StandIn>>,
}

#[derive(Default)]
struct RefreshState {
    /// The newest value a refresh found, handed to tasks refused together.
    found: Option<Arc<CachedSecret>>,
    refused: Vec<String>,
    next_allowed: Option<Instant>,
    backoff: Option<Duration>,
}

impl RefreshState {
    fn is_refused(&self, secret: &CachedSecret) -> bool {
        self.refused.iter().any(|id| id == secret.version_id())
    }

    fn remember_refused(&mut self, version_id: &str) {
        if !self.refused.iter().any(|id| id == version_id) {
            if self.refused.len() == REMEMBERED_REFUSALS {
                self.refused.remove(0);
            }
            self.refused.push(version_id.to_owned());
        }
    }

    fn back_off(&mut self, first: Duration, ceiling: Duration) {
        let wait = self.backoff.unwrap_or(first);
        self.next_allowed = Some(Instant::now() + wait);
        self.backoff = Some((wait * 2).min(ceiling.max(first)));
    }

    fn record_found(&mut self, secret: &Arc<CachedSecret>) -> Arc<CachedSecret> {
        self.found = Some(Arc::clone(secret));
        self.backoff = None;
        self.next_allowed = None;
        Arc::clone(secret)
    }
}

struct StandIn {
    for_current: String,
    secret: Arc<CachedSecret>,
}

/// Which labelled value a presented key matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyMatch {
    /// The AWSCURRENT value.
    Current,
    /// The AWSPREVIOUS value: the old key, still inside its grace window.
    Previous,
    /// Neither, even after a refresh of AWSCURRENT.
    Unknown,
}

impl KeyMatch {
    /// Whether the key is to be accepted.
    pub fn accepted(self) -> bool {
        self != KeyMatch::Unknown
    }
}

impl<S: SecretStore + 'static> SecretCache<S> {
    /// Runs `using` (the application's connect or request) with the
    /// current value. When `using` reports [`Attempt::Rejected`], the cache
    /// looks once for a newer value (a finished rotation's AWSCURRENT, or
    /// during a single-user rotation the AWSPENDING value the database
    /// already took) and runs `using` again with it. Tasks refused together
    /// share one look; a look that finds nothing blocks the next for
    /// [`rejection_backoff`](crate::CacheConfig::rejection_backoff),
    /// doubling.
    pub async fn with_current<T, E, F, Fut>(
        &self,
        secret_id: &str,
        mut using: F,
    ) -> Result<T, UseError<E>>
    where
        F: FnMut(Arc<CachedSecret>) -> Fut,
        Fut: Future<Output = Result<T, Attempt<E>>>,
    {
        let current = self.get(secret_id).await?;
        let first = self.stand_in_for(secret_id, &current).unwrap_or(current);
        let refusal = match using(Arc::clone(&first)).await {
            Ok(done) => return Ok(done),
            Err(Attempt::Failed(e)) => return Err(UseError::Failed(e)),
            Err(Attempt::Rejected(e)) => e,
        };
        let Some(newer) = self.after_refusal(secret_id, first.version_id()).await else {
            return Err(UseError::Rejected(refusal));
        };
        match using(Arc::clone(&newer)).await {
            Ok(done) => {
                self.logged_in_with(secret_id, &newer);
                Ok(done)
            }
            Err(Attempt::Rejected(e)) => {
                self.refused(secret_id, &newer).await;
                Err(UseError::Rejected(e))
            }
            Err(Attempt::Failed(e)) => Err(UseError::Failed(e)),
        }
    }

    /// Checks a key a client presented against the secret's AWSCURRENT and
    /// AWSPREVIOUS values (the whole `SecretString`, or its JSON field
    /// `field`), for a service that verifies keys a rotation issues: the old
    /// key keeps working until the next rotation. A key matching neither
    /// makes the cache re-read AWSCURRENT once, rate-limited as in
    /// [`with_current`](Self::with_current), in case a client already holds
    /// a key this cache has not seen. Comparisons take the same time
    /// wherever the keys differ.
    pub async fn check_key(
        &self,
        secret_id: &str,
        field: Option<&str>,
        presented: &str,
    ) -> Result<KeyMatch, CacheError> {
        let current = self.get(secret_id).await?;
        if key_of(secret_id, &current, field)?
            .is_some_and(|k| same_key(k.expose().as_bytes(), presented))
        {
            return Ok(KeyMatch::Current);
        }
        if self.previous_matches(secret_id, field, presented).await? {
            return Ok(KeyMatch::Previous);
        }
        let Some(newer) = self.newer_current(secret_id, &current).await else {
            return Ok(KeyMatch::Unknown);
        };
        // AWSPREVIOUS moved with AWSCURRENT.
        let key = Key::new(secret_id, AWSPREVIOUS);
        if let Err(error) = self.inner.reread(&key, None).await {
            if !matches!(error, CacheError::NoValue { .. }) {
                return Err(error);
            }
        }
        if key_of(secret_id, &newer, field)?
            .is_some_and(|k| same_key(k.expose().as_bytes(), presented))
        {
            return Ok(KeyMatch::Current);
        }
        if self.previous_matches(secret_id, field, presented).await? {
            return Ok(KeyMatch::Previous);
        }
        Ok(KeyMatch::Unknown)
    }

    async fn previous_matches(
        &self,
        secret_id: &str,
        field: Option<&str>,
        presented: &str,
    ) -> Result<bool, CacheError> {
        match self.get_stage(secret_id, AWSPREVIOUS).await {
            Ok(previous) => match key_of(secret_id, &previous, field) {
                Ok(key) => Ok(key.is_some_and(|k| same_key(k.expose().as_bytes(), presented))),
                // An old value of another shape grants nothing, and must
                // not stop the current key from being checked.
                Err(error) => {
                    tracing::warn!(%secret_id, %error, "AWSPREVIOUS holds no key");
                    Ok(false)
                }
            },
            // Before the first rotation there is no previous value.
            Err(CacheError::NoValue { .. }) => Ok(false),
            Err(error) => Err(error),
        }
    }

    fn rejections(&self, secret_id: &str) -> Arc<Rejections> {
        Arc::clone(
            lock(&self.inner.rejections)
                .entry(secret_id.to_owned())
                .or_default(),
        )
    }

    fn stand_in_for(&self, secret_id: &str, current: &CachedSecret) -> Option<Arc<CachedSecret>> {
        let rejections = self.rejections(secret_id);
        let mut stand_in = lock(&rejections.stand_in);
        match stand_in.as_ref() {
            Some(s) if s.for_current == current.version_id() => Some(Arc::clone(&s.secret)),
            // AWSCURRENT moved on (usually to the stand-in itself).
            Some(_) => {
                *stand_in = None;
                None
            }
            None => None,
        }
    }

    /// The value to try after version `refused_version` was refused: a
    /// newer AWSCURRENT, or during a single-user rotation the AWSPENDING
    /// value. [`with_current`](Self::with_current) asks it; so does a client
    /// that uses the value outside this process (the secrets agent's).
    /// `None` when there is none, or while the backoff after a look that
    /// found none holds; clients refused together share one look.
    pub async fn after_refusal(
        &self,
        secret_id: &str,
        refused_version: &str,
    ) -> Option<Arc<CachedSecret>> {
        let rejections = self.rejections(secret_id);
        let mut state = rejections.refresh.lock().await;
        state.remember_refused(refused_version);
        if let Some(found) = state.found.as_ref().filter(|f| !state.is_refused(f)) {
            return Some(Arc::clone(found));
        }
        if state.next_allowed.is_some_and(|t| Instant::now() < t) {
            return None;
        }
        let current = Key::new(secret_id, AWSCURRENT);
        match self.inner.reread(&current, Some(refused_version)).await {
            Ok(fresh) if !state.is_refused(&fresh) => return Some(state.record_found(&fresh)),
            Ok(_) => {}
            Err(error) => tracing::warn!(%secret_id, %error, "re-reading a refused secret failed"),
        }
        if self.inner.config.try_pending {
            let pending = Key::new(secret_id, AWSPENDING);
            match self.inner.read(&pending).await {
                Ok(pending) if !state.is_refused(&pending) => {
                    return Some(state.record_found(&pending))
                }
                // No rotation in progress, or not readable by this identity.
                Ok(_) | Err(_) => {}
            }
        }
        let config = &self.inner.config;
        state.back_off(config.rejection_backoff, config.ttl);
        None
    }

    /// [`after_refusal`](Self::after_refusal) without AWSPENDING, for keys.
    async fn newer_current(
        &self,
        secret_id: &str,
        known: &CachedSecret,
    ) -> Option<Arc<CachedSecret>> {
        let rejections = self.rejections(secret_id);
        let mut state = rejections.refresh.lock().await;
        if state.next_allowed.is_some_and(|t| Instant::now() < t) {
            return None;
        }
        let current = Key::new(secret_id, AWSCURRENT);
        match self.inner.reread(&current, Some(known.version_id())).await {
            Ok(fresh) if fresh.version_id() != known.version_id() => {
                Some(state.record_found(&fresh))
            }
            Ok(_) => {
                let config = &self.inner.config;
                state.back_off(config.rejection_backoff, config.ttl);
                None
            }
            Err(error) => {
                // The same pace as when nothing changed: during an outage a
                // made-up key must not cost a read per request either.
                let config = &self.inner.config;
                state.back_off(config.rejection_backoff, config.ttl);
                tracing::warn!(%secret_id, %error, "re-reading a secret for an unknown key failed");
                None
            }
        }
    }

    fn logged_in_with(&self, secret_id: &str, secret: &Arc<CachedSecret>) {
        if !secret.stages().iter().any(|s| s == AWSPENDING) {
            return;
        }
        let Some(current) = self.inner.peek(&Key::new(secret_id, AWSCURRENT)) else {
            return;
        };
        if current.version_id() != secret.version_id() {
            *lock(&self.rejections(secret_id).stand_in) = Some(StandIn {
                for_current: current.version_id().to_owned(),
                secret: Arc::clone(secret),
            });
        }
    }

    async fn refused(&self, secret_id: &str, secret: &CachedSecret) {
        let rejections = self.rejections(secret_id);
        let mut state = rejections.refresh.lock().await;
        state.remember_refused(secret.version_id());
        let config = &self.inner.config;
        state.back_off(config.rejection_backoff, config.ttl);
    }
}

/// The key a version holds: the whole `SecretString`, or its field.
fn key_of(
    secret_id: &str,
    secret: &CachedSecret,
    field: Option<&str>,
) -> Result<Option<SecretString>, CacheError> {
    let Some(string) = secret.string() else {
        return Ok(None);
    };
    let Some(field) = field else {
        return Ok(Some(string.clone()));
    };
    let format_error = |source| CacheError::Format {
        secret_id: secret_id.to_owned(),
        source,
    };
    let json = secret.json().map_err(format_error)?;
    json.required_secret(field).map(Some).map_err(format_error)
}

/// Equal keys, compared in time that depends on the lengths only.
fn same_key(stored: &[u8], presented: &str) -> bool {
    let presented = presented.as_bytes();
    if stored.len() != presented.len() {
        return false;
    }
    stored
        .iter()
        .zip(presented)
        .fold(0u8, |diff, (a, b)| diff | (a ^ b))
        == 0
}
