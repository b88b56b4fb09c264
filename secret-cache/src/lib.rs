//! A cache of Secrets Manager secrets for the applications that use them,
//! aware of what rotation does.
//!
//! A time-based cache alone fails an application for up to its time to
//! live after a single-user rotation changes a password; fetching on every
//! connection costs a call, and its latency, each time. [`SecretCache`]
//! serves values for a time to live (300 s by default) with one read at a
//! time per value however many tasks ask, refreshes them in the background
//! before they expire (at a random moment, so processes started together
//! do not call together), and serves an expired value through a transient
//! Secrets Manager failure for a bounded time. Its rotation-aware part is
//! [`SecretCache::with_current`]: the application's connect runs with the
//! cached value and, when the backend refuses the credential, the cache
//! looks once for a newer one (AWSCURRENT after a rotation finished, or the
//! AWSPENDING value a single-user rotation has already set) and runs the
//! connect again; tasks refused together share that one look, and a look
//! that finds nothing backs off, so a wrong password is not a request
//! storm. A service that verifies keys a rotation issues calls
//! [`SecretCache::check_key`], which accepts AWSCURRENT and AWSPREVIOUS.
//! The `postgres` feature turns a database secret into a
//! `tokio_postgres::Config` or a connection URL (the `postgres` module);
//! the `deadpool` feature adds a connection pool whose new connections log
//! in with the current value (the `pool` module); [`refused`] tells a
//! refused login from other failures for MySQL and Redis. It reads
//! through rotation-core's [`SecretStore`], so it works on Secrets Manager
//! ([`AwsSecretStore`]) and on any store with its semantics. Values stay in
//! redacting types: they are never printed.
//!
//! ```
//! # use std::sync::Arc;
//! # use rotation_core::secret::SecretPayload;
//! # use rotation_core::store::InMemorySecretStore;
//! # use rotation_core::SecretString;
//! use secret_cache::{Attempt, CacheConfig, SecretCache};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let store = Arc::new(InMemorySecretStore::new());
//! # store.create_secret("app/db", SecretPayload::String(SecretString::new(
//! #     r#"{"username": "app", "password": "pw-1"}"#)))?;
//! // On AWS: `AwsSecretStore::from_env().await` instead of a test store.
//! let cache = SecretCache::new(store, CacheConfig::default())?;
//!
//! // The application's own connect; a refused password is `Rejected`.
//! let user = cache
//!     .with_current("app/db", |secret| async move {
//!         let login = secret.json().map_err(Attempt::Failed)?;
//!         let username = login.required_str("username").map_err(Attempt::Failed)?;
//!         Ok::<_, Attempt<_>>(username.to_owned())
//!     })
//!     .await?;
//! assert_eq!(user, "app");
//! # Ok(())
//! # }
//! ```

#![warn(missing_docs)]

mod cache;
mod config;
mod error;
mod events;
#[cfg(feature = "deadpool")]
pub mod pool;
#[cfg(feature = "postgres")]
pub mod postgres;
pub mod refused;
mod rejection;
mod value;

pub use cache::SecretCache;
pub use config::CacheConfig;
pub use error::{Attempt, BoxError, CacheError, ConfigError, UseError};
pub use events::{CacheEvent, CacheObserver};
pub use rejection::KeyMatch;
// Every type the cache's signatures name, so an application needs no
// direct dependency on rotation-core.
pub use rotation_core::error::StoreError;
pub use rotation_core::secret::{SecretBytes, SecretPayload};
pub use rotation_core::store::{AwsSecretStore, SecretStore, VersionSelector};
pub use rotation_core::{SecretFormatError, SecretJson, SecretString};
pub use value::CachedSecret;

/// The README's examples, compiled as doctests (the book's applications
/// chapter shows the same code, which a test checks).
#[cfg(all(doctest, feature = "postgres"))]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

#[cfg(test)]
mod readme_tests {
    /// The book shows the crate README's examples (the applications and
    /// API key chapters): the ones the doctests compile.
    #[test]
    fn the_book_shows_the_compiled_examples() {
        // The book's block is `ignore`: it is this block, compiled here.
        let block = |text: &str, opening: &str| {
            let start = text.find(opening).expect("the example");
            let end = start + text[start..].find("```").expect("its end");
            text[start..end].to_owned()
        };
        let ours = block(include_str!("../README.md"), "\nuse secret_cache::postgres");
        let book = block(
            include_str!("../../docs/applications.md"),
            "\nuse secret_cache::postgres",
        );
        assert_eq!(ours, book);
        let ours = block(
            include_str!("../README.md"),
            "\nuse secret_cache::{AwsSecretStore",
        );
        let book = block(
            include_str!("../../docs/api-key.md"),
            "\nuse secret_cache::{AwsSecretStore",
        );
        assert_eq!(ours, book);
    }
}
