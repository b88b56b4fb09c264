//! What the cache tells an application about its values: a value that
//! changed (a rotation finished) and a read that failed, for metrics and
//! alarms. Each is also logged through `tracing`.

use crate::error::CacheError;

/// Something that happened to a cached value.
#[derive(Debug)]
#[non_exhaustive]
pub enum CacheEvent<'a> {
    /// A read returned another version than the one held: a rotation moved
    /// the label, or someone put a new value.
    Changed {
        /// The secret, as the application named it.
        secret_id: &'a str,
        /// The label, or `version <id>`.
        wanted: &'a str,
        /// The version held until now.
        previous_version: &'a str,
        /// The version held from now on.
        version: &'a str,
    },
    /// Reading from the store failed, in the background or for a reader.
    ReadFailed {
        /// The secret, as the application named it.
        secret_id: &'a str,
        /// The label, or `version <id>`.
        wanted: &'a str,
        /// Why ([`CacheError::is_transient`] says whether it may pass).
        error: &'a CacheError,
        /// Whether readers are served the held value meanwhile.
        serving_held_value: bool,
    },
}

/// Receives the cache's [`CacheEvent`]s; any `Fn(&CacheEvent)` is one. It
/// runs on the reading task, so it must be quick (count, or send to a
/// channel).
pub trait CacheObserver: Send + Sync {
    /// Called once per event.
    fn observe(&self, event: &CacheEvent<'_>);
}

impl<F> CacheObserver for F
where
    F: Fn(&CacheEvent<'_>) + Send + Sync,
{
    fn observe(&self, event: &CacheEvent<'_>) {
        self(event)
    }
}
