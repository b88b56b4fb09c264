//! The HTTP/1.1 server on 127.0.0.1: each connection served by hyper, at
//! most `max_connections` at once, until the shutdown future completes.

use std::convert::Infallible;
use std::future::Future;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use secret_cache::SecretStore;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use crate::agent::{Agent, Reply};
use crate::error::AgentError;

/// The most a request's head may take (its line and headers).
const MAX_HEAD: usize = 16 * 1024;

/// How long a connection may stay idle or take over a request: clients on
/// this host answer at once, and a stuck one must not hold a place.
const CONNECTION_BUDGET: Duration = Duration::from_secs(65);

/// Listens on 127.0.0.1:`port` (0 for any free port). Loopback only: the
/// agent serves the processes of this host, or of this function.
pub async fn listen(port: u16) -> Result<TcpListener, AgentError> {
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    TcpListener::bind(address)
        .await
        .map_err(|source| AgentError::Listen { address, source })
}

/// Serves `agent` on `listener` until `shutdown` completes; then stops
/// accepting and lets the requests under way finish (up to a second).
pub async fn serve<S: SecretStore + 'static>(
    agent: Arc<Agent<S>>,
    listener: TcpListener,
    max_connections: usize,
    shutdown: impl Future<Output = ()>,
) -> Result<(), AgentError> {
    let places = Arc::new(Semaphore::new(max_connections));
    let mut connections = tokio::task::JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                // Out of file descriptors, or a connection reset before it
                // was accepted: the listener itself is fine.
                Err(error) if is_per_connection(&error) => {
                    tracing::warn!(%error, "a connection could not be accepted");
                    // Out of descriptors, accepting again at once would spin.
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
                Err(error) => return Err(AgentError::Accept(error)),
            },
            () = &mut shutdown => break,
        };
        // Reap finished connections, so the set holds live ones only.
        while connections.try_join_next().is_some() {}
        let place = Arc::clone(&places).try_acquire_owned().ok();
        let agent = Arc::clone(&agent);
        connections.spawn(async move {
            let _place = place.as_ref();
            let full = place.is_none();
            let service = service_fn(move |request| {
                let agent = Arc::clone(&agent);
                async move { Ok::<_, Infallible>(respond(&agent, request, full).await) }
            });
            let connection = http1::Builder::new()
                .max_buf_size(MAX_HEAD)
                .serve_connection(TokioIo::new(stream), service);
            match tokio::time::timeout(CONNECTION_BUDGET, connection).await {
                Ok(Err(error)) => tracing::debug!(%error, "a connection ended in error"),
                Err(_) => tracing::debug!("a connection outlived its budget"),
                Ok(Ok(())) => {}
            }
        });
    }
    drop(listener);
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    Ok(())
}

async fn respond<S: SecretStore + 'static>(
    agent: &Agent<S>,
    request: Request<Incoming>,
    full: bool,
) -> Response<Full<Bytes>> {
    let reply = if full {
        Reply {
            status: 429,
            body: crate::agent::ReplyBody::from_static(
                r#"{"__type":"TooManyConnections","message":"the agent serves PARAMETERS_SECRETS_EXTENSION_MAX_CONNECTIONS connections at once"}"#,
            ),
        }
    } else {
        let target = request
            .uri()
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/");
        let headers = request.headers();
        agent
            .answer(request.method().as_str(), target, |name| {
                headers.get(name).map(|value| value.as_bytes())
            })
            .await
    };
    let content_type = if reply.body.expose().starts_with('{') {
        "application/json"
    } else {
        "text/plain"
    };
    Response::builder()
        .status(reply.status)
        .header("Content-Type", content_type)
        .body(Full::new(Bytes::from(reply.body.into_string())))
        .unwrap_or_else(|_| {
            let mut response = Response::new(Full::new(Bytes::new()));
            *response.status_mut() = hyper::StatusCode::INTERNAL_SERVER_ERROR;
            response
        })
}

fn is_per_connection(error: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(
        error.kind(),
        ConnectionAborted | ConnectionReset | Interrupted | WouldBlock
    ) || error
        .raw_os_error()
        // ENFILE and EMFILE (Linux): out of file descriptors, which
        // closing connections frees.
        .is_some_and(|code| code == 23 || code == 24)
}
