//! A deadpool connection pool whose new connections log in with the
//! secret's value as the cache holds it now, so a pool outlives rotations:
//! a refused login is retried once with the newer value, as
//! [`with_current`](crate::SecretCache::with_current) does, instead of the
//! pool failing every new connection until it is rebuilt. Connections
//! already open stay open; PostgreSQL does not end a session whose
//! password changed.

use deadpool::managed::{Metrics, RecycleError, RecycleResult};
use tokio_postgres::tls::{MakeTlsConnect, TlsConnect};
use tokio_postgres::Socket;

use crate::error::{Attempt, BoxError, UseError};
use crate::postgres::{is_login_refused, PostgresLogin};
use crate::SecretCache;
use rotation_core::store::SecretStore;

/// The pool of this module's manager.
pub type PostgresPool<S, T> = deadpool::managed::Pool<PostgresManager<S, T>>;

/// deadpool itself, for its `Object`, `PoolError` and builder types.
pub use deadpool;

/// Creates connections with the login of the secret `secret_id`, read
/// through the cache each time, and recycles those still open.
///
/// ```no_run
/// # async fn example() -> Result<(), secret_cache::BoxError> {
/// use secret_cache::pool::{PostgresManager, PostgresPool};
/// use secret_cache::{AwsSecretStore, CacheConfig, SecretCache};
///
/// let cache = SecretCache::new(AwsSecretStore::from_env().await, CacheConfig::default())?;
/// // A verifying TLS connector (tokio-postgres-rustls) in a real service.
/// let manager = PostgresManager::new(cache, "prod/app/db", tokio_postgres::NoTls);
/// let pool = PostgresPool::builder(manager).max_size(16).build()?;
/// let client = pool.get().await.map_err(|e| e.to_string())?;
/// client.simple_query("SELECT 1").await?;
/// # Ok(())
/// # }
/// ```
pub struct PostgresManager<S, T> {
    cache: SecretCache<S>,
    secret_id: String,
    tls: T,
}

impl<S, T> std::fmt::Debug for PostgresManager<S, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresManager")
            .field("secret_id", &self.secret_id)
            .finish_non_exhaustive()
    }
}

impl<S, T> PostgresManager<S, T> {
    /// A manager for `secret_id`'s login, connecting through `tls` (a
    /// connector that verifies the server, unless the secret says `ssl`
    /// false).
    pub fn new(cache: SecretCache<S>, secret_id: impl Into<String>, tls: T) -> Self {
        Self {
            cache,
            secret_id: secret_id.into(),
            tls,
        }
    }
}

impl<S, T> deadpool::managed::Manager for PostgresManager<S, T>
where
    S: SecretStore + 'static,
    T: MakeTlsConnect<Socket> + Clone + Send + Sync + 'static,
    T::Stream: Send + Sync + 'static,
    T::TlsConnect: Send + Sync,
    <T::TlsConnect as TlsConnect<Socket>>::Future: Send,
{
    type Type = tokio_postgres::Client;
    type Error = BoxError;

    async fn create(&self) -> Result<tokio_postgres::Client, BoxError> {
        self.cache
            .with_current(&self.secret_id, |secret| {
                let tls = self.tls.clone();
                async move {
                    let login = PostgresLogin::from_secret(&secret)
                        .map_err(|e| Attempt::Failed(BoxError::from(e)))?;
                    let (client, connection) =
                        login.config().connect(tls).await.map_err(|error| {
                            if is_login_refused(&error) {
                                Attempt::Rejected(BoxError::from(error))
                            } else {
                                Attempt::Failed(BoxError::from(error))
                            }
                        })?;
                    tokio::spawn(async move {
                        if let Err(error) = connection.await {
                            tracing::debug!(%error, "a pooled connection ended");
                        }
                    });
                    Ok::<_, Attempt<BoxError>>(client)
                }
            })
            .await
            .map_err(UseError::boxed)
    }

    async fn recycle(
        &self,
        client: &mut tokio_postgres::Client,
        _: &Metrics,
    ) -> RecycleResult<BoxError> {
        if client.is_closed() {
            return Err(RecycleError::message("the connection is closed"));
        }
        Ok(())
    }
}
