//! Lambda's Extensions API: the agent registers as an external extension
//! for SHUTDOWN only (so Lambda never waits on it between invocations),
//! serves from before the function's first invocation, and stops when the
//! environment shuts down.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1;
use hyper::Request;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::error::AgentError;

/// The API's version path.
const API: &str = "/2020-01-01/extension";

/// A registered extension.
#[derive(Debug, Clone)]
pub struct Extension {
    /// `host:port` of the API (`AWS_LAMBDA_RUNTIME_API`).
    address: String,
    /// What Lambda calls this registration.
    identifier: String,
}

/// An event Lambda sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The environment is shutting down, for this reason (`spindown`,
    /// `timeout`, `failure`).
    Shutdown {
        /// Lambda's `shutdownReason`.
        reason: String,
    },
    /// Any other event (an extension registered for SHUTDOWN gets none).
    Other(String),
}

impl Extension {
    /// Registers with the Extensions API at `address` as `name` (the
    /// extension's file name under `/opt/extensions`).
    pub async fn register(address: &str, name: &str) -> Result<Self, AgentError> {
        let failed = |source: Box<dyn std::error::Error + Send + Sync>| AgentError::Extension {
            action: "register",
            source,
        };
        let request = Request::post(format!("{API}/register"))
            .header("Host", address)
            .header("Lambda-Extension-Name", name)
            .header("Content-Type", "application/json")
            .body(Full::new(Bytes::from_static(br#"{"events":["SHUTDOWN"]}"#)))
            .map_err(|e| failed(e.into()))?;
        let (status, identifier, _) = call(address, request, Some("Lambda-Extension-Identifier"))
            .await
            .map_err(failed)?;
        if status != 200 {
            return Err(failed(format!("answered HTTP {status}").into()));
        }
        let identifier = identifier
            .ok_or_else(|| failed("the answer has no Lambda-Extension-Identifier".into()))?;
        Ok(Self {
            address: address.to_owned(),
            identifier,
        })
    }

    /// Waits for Lambda's next event: for an extension registered for
    /// SHUTDOWN only, that is the shutdown.
    pub async fn next_event(&self) -> Result<Event, AgentError> {
        let failed = |source: Box<dyn std::error::Error + Send + Sync>| AgentError::Extension {
            action: "wait for the next event",
            source,
        };
        let request = Request::get(format!("{API}/event/next"))
            .header("Host", &self.address)
            .header("Lambda-Extension-Identifier", &self.identifier)
            .body(Full::new(Bytes::new()))
            .map_err(|e| failed(e.into()))?;
        let (status, _, body) = call(&self.address, request, None).await.map_err(failed)?;
        if status != 200 {
            return Err(failed(format!("answered HTTP {status}").into()));
        }
        let event: serde_json::Value =
            serde_json::from_slice(&body).map_err(|e| failed(e.into()))?;
        let kind = event["eventType"].as_str().unwrap_or_default();
        Ok(match kind {
            "SHUTDOWN" => Event::Shutdown {
                reason: event["shutdownReason"]
                    .as_str()
                    .unwrap_or("unknown")
                    .to_owned(),
            },
            other => Event::Other(other.to_owned()),
        })
    }
}

/// One request on its own connection: the status, the header `wanted`,
/// and the body.
async fn call(
    address: &str,
    request: Request<Full<Bytes>>,
    wanted: Option<&str>,
) -> Result<(u16, Option<String>, Bytes), Box<dyn std::error::Error + Send + Sync>> {
    let stream = TcpStream::connect(address).await?;
    let (mut sender, connection) = http1::handshake(TokioIo::new(stream)).await?;
    let driving = tokio::spawn(connection);
    let response = sender.send_request(request).await?;
    let status = response.status().as_u16();
    let header = wanted
        .and_then(|name| response.headers().get(name))
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = response.into_body().collect().await?.to_bytes();
    driving.abort();
    Ok((status, header, body))
}
