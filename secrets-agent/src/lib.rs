//! A Secrets Manager agent that knows about rotation, for applications in
//! any language: it answers AWS's agent's and Lambda extension's HTTP
//! interface on 127.0.0.1 (port 2773, `GET /secretsmanager/get?secretId=…`
//! with the `X-Aws-Parameters-Secrets-Token` header, `GetSecretValue`'s
//! JSON back), so clients written for AWS's switch by changing nothing.
//! Behind it is [`secret_cache`]: one read at a time per value however many
//! clients ask, a refresh before expiry so clients never wait for one, an
//! expired value served through a Secrets Manager outage for a bounded
//! time (not forever), and a read in flight given up on when a Lambda
//! freeze or a dead connection stalls it. What AWS's have no counterpart
//! for: a client whose login was refused asks
//! `/secretsmanager/after-refusal?secretId=…&versionId=…` for the value to
//! try next (the newer AWSCURRENT, or the AWSPENDING value a single-user
//! rotation has already set), and clients refused together share one read
//! that backs off when it finds nothing. In Lambda (`AWS_LAMBDA_RUNTIME_API`
//! set) it registers as an extension for SHUTDOWN, listening before the
//! function's first invocation; elsewhere it runs as a sidecar until
//! SIGTERM. Settings come from AWS's variables ([`AgentConfig`]).

#![warn(missing_docs)]

pub mod agent;
pub mod config;
pub mod error;
pub mod extension;
pub mod request;
pub mod server;
pub mod token;

use std::sync::Arc;

pub use agent::{Agent, Reply};
pub use config::AgentConfig;
pub use error::AgentError;
use extension::{Event, Extension};
use secret_cache::{AwsSecretStore, CacheConfig, SecretCache, SecretStore};
use tokio::net::TcpListener;

/// The agent as `main` runs it: settings from the environment, Secrets
/// Manager through the SDK's default credentials, then a Lambda extension
/// or a sidecar. In Lambda it listens and registers first: Lambda starts
/// the function's runtime once every extension has registered, so the
/// SDK's set-up comes after, and the agent serves before it asks for its
/// first event, which is what Lambda waits for before the first
/// invocation.
pub async fn run_from_env() -> Result<(), AgentError> {
    let var = |name: &str| std::env::var(name).ok();
    let config = AgentConfig::from_vars(var)?;
    let token = config.token.read(var)?;
    let listener = server::listen(config.port).await?;
    let extension = match var("AWS_LAMBDA_RUNTIME_API") {
        Some(api) => Some(Extension::register(&api, &extension_name()).await?),
        None => None,
    };
    let cache_config = CacheConfig::default()
        .ttl(config.ttl)
        .max_entries(config.cache_size);
    let cache = SecretCache::new(AwsSecretStore::from_env().await, cache_config).map_err(|e| {
        AgentError::Setting {
            variable: "SECRETS_MANAGER_TTL",
            reason: e.to_string(),
        }
    })?;
    let agent = Arc::new(Agent::new(cache, token));
    tracing::info!(port = config.port, "listening on 127.0.0.1");
    match extension {
        Some(extension) => {
            serve_until_shutdown(agent, listener, config.max_connections, extension).await
        }
        None => server::serve(agent, listener, config.max_connections, terminated()).await,
    }
}

/// Serves until Lambda sends SHUTDOWN to `extension` (registered for that
/// event only).
pub async fn serve_until_shutdown<S: SecretStore + 'static>(
    agent: Arc<Agent<S>>,
    listener: TcpListener,
    max_connections: usize,
    extension: Extension,
) -> Result<(), AgentError> {
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(server::serve(agent, listener, max_connections, async {
        let _ = stopped.await;
    }));
    let outcome = loop {
        match extension.next_event().await {
            Ok(Event::Shutdown { reason }) => {
                tracing::info!(%reason, "Lambda is shutting the environment down");
                break Ok(());
            }
            Ok(Event::Other(kind)) => tracing::debug!(%kind, "an event the agent ignores"),
            Err(error) => break Err(error),
        }
    };
    let _ = stop.send(());
    match serving.await {
        Ok(served) => outcome.and(served),
        Err(_) => outcome,
    }
}

/// The name Lambda knows the extension by: its file's name.
fn extension_name() -> String {
    std::env::args_os()
        .next()
        .map(std::path::PathBuf::from)
        .and_then(|path| path.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "secrets-agent".to_owned())
}

/// SIGTERM (how containers and service managers stop a sidecar) or
/// Ctrl-C.
async fn terminated() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
    tracing::info!("stopping");
}
