//! HTTPS to one provider: every request goes to the configured base URL,
//! with a timeout per attempt, bounded retries with backoff on 429, 5xx and
//! connection failures (`Retry-After` honoured), and error bodies trimmed
//! and cleared of the keys the request carried.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Method, Request, StatusCode, Uri};
use http_body_util::{BodyExt, Full};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use rotation_core::error::BoxError;
use rotation_core::{RotatorError, SettingsError};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use serde_json::Value;
use tokio::sync::OnceCell;

/// Longest `Retry-After` waited for; a provider asking for more fails the
/// step, and Secrets Manager retries the rotation later.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(10);

/// The provider's base URL, split so requests can only add a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseUrl {
    scheme: String,
    authority: String,
    prefix: String,
}

impl BaseUrl {
    /// Parses `https://host[:port][/prefix]`. `http` is accepted only for a
    /// loopback host: a key must not cross a network in the clear.
    pub fn parse(text: &str, setting: &'static str) -> Result<Self, SettingsError> {
        let refuse = |reason: String| SettingsError {
            name: setting,
            reason,
        };
        let uri: Uri = text
            .trim()
            .parse()
            .map_err(|_| refuse("it is not a URL".into()))?;
        let (Some(scheme), Some(authority)) = (uri.scheme_str(), uri.authority()) else {
            return Err(refuse(
                "it must be an absolute URL, e.g. https://api.example.com/v1".into(),
            ));
        };
        if uri.query().is_some() || authority.as_str().contains('@') {
            return Err(refuse(
                "it may hold no query and no user information".into(),
            ));
        }
        let loopback = matches!(
            authority.host(),
            "127.0.0.1" | "localhost" | "[::1]" | "::1"
        );
        match scheme {
            "https" => {}
            "http" if loopback => {}
            _ => {
                return Err(refuse(format!(
                    "`{scheme}` is not https (http only to a loopback host)"
                )))
            }
        }
        Ok(Self {
            scheme: scheme.to_owned(),
            authority: authority.as_str().to_owned(),
            prefix: uri.path().trim_end_matches('/').to_owned(),
        })
    }

    fn join(&self, path: &str) -> Result<Uri, RotatorError> {
        let text = format!(
            "{}://{}{}{}",
            self.scheme, self.authority, self.prefix, path
        );
        text.parse().map_err(|_| {
            RotatorError::Refused(format!(
                "`{}{path}` is not a valid request path",
                self.prefix
            ))
        })
    }

    /// The origin, for messages.
    pub fn origin(&self) -> String {
        format!("{}://{}", self.scheme, self.authority)
    }
}

/// One request.
pub struct Call<'a> {
    /// The method.
    pub method: Method,
    /// The path (and query) below the base URL, already filled in.
    pub path: String,
    /// The authentication header, if any.
    pub auth: Option<(HeaderName, HeaderValue)>,
    /// An `Idempotency-Key` header, if any.
    pub idempotency_key: Option<&'a str>,
    /// A JSON body, if any.
    pub body: Option<Value>,
    /// What the request is for, in errors ("issue a key").
    pub purpose: &'a str,
}

/// An answer: its status and body.
pub struct Answer {
    /// The status.
    pub status: StatusCode,
    /// The body.
    pub body: Bytes,
}

impl Answer {
    /// The body as JSON, or an error that quotes none of it (it may hold a
    /// key).
    pub fn json(&self, purpose: &str) -> Result<Value, RotatorError> {
        serde_json::from_slice(&self.body).map_err(|_| {
            RotatorError::Refused(format!(
                "{purpose}: the provider answered {} with a body that is not JSON",
                self.status
            ))
        })
    }
}

type HyperClient = hyper_util::client::legacy::Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

/// The provider's HTTP client.
pub struct ProviderClient {
    base: BaseUrl,
    timeout: Duration,
    attempts: u32,
    extra_roots: Vec<CertificateDer<'static>>,
    client: OnceCell<HyperClient>,
}

impl std::fmt::Debug for ProviderClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderClient")
            .field("base", &self.base)
            .field("timeout", &self.timeout)
            .field("attempts", &self.attempts)
            .finish_non_exhaustive()
    }
}

impl ProviderClient {
    /// A client for `base`, trusting the system's roots and `extra_roots`.
    pub fn new(
        base: BaseUrl,
        timeout: Duration,
        attempts: u32,
        extra_roots: Vec<CertificateDer<'static>>,
    ) -> Self {
        Self {
            base,
            timeout,
            attempts: attempts.max(1),
            extra_roots,
            client: OnceCell::new(),
        }
    }

    /// Built on first use: reading the system's roots costs start-up time
    /// a function that fails its settings check never needs.
    async fn client(&self) -> Result<&HyperClient, RotatorError> {
        self.client
            .get_or_try_init(|| async {
                let mut roots = rustls::RootCertStore::empty();
                roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
                for root in &self.extra_roots {
                    roots
                        .add(root.clone())
                        .map_err(|e| RotatorError::backend("trust HTTP_CA_BUNDLE", e))?;
                }
                let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
                let tls = rustls::ClientConfig::builder_with_provider(provider)
                    .with_safe_default_protocol_versions()
                    .map_err(|e| RotatorError::backend("configure TLS", e))?
                    .with_root_certificates(roots)
                    .with_no_client_auth();
                let mut http = HttpConnector::new();
                http.enforce_http(false);
                http.set_connect_timeout(Some(self.timeout));
                let connector = hyper_rustls::HttpsConnectorBuilder::new()
                    .with_tls_config(tls)
                    .https_or_http()
                    .enable_http1()
                    .wrap_connector(http);
                Ok(
                    hyper_util::client::legacy::Client::builder(TokioExecutor::new())
                        .build(connector),
                )
            })
            .await
    }

    /// Sends `call`, retrying what a retry can fix. A final answer of any
    /// status is returned; the caller decides what it means.
    pub async fn send(&self, call: &Call<'_>) -> Result<Answer, RotatorError> {
        let uri = self.base.join(&call.path)?;
        let action = format!(
            "{}: {} {}{}",
            call.purpose,
            call.method,
            self.base.origin(),
            strip_query(uri.path())
        );
        let body = match &call.body {
            Some(json) => Bytes::from(json.to_string()),
            None => Bytes::new(),
        };
        let mut pause = Duration::from_millis(200);
        let mut attempt = 1;
        loop {
            let mut request = Request::builder()
                .method(call.method.clone())
                .uri(uri.clone());
            if let Some((name, value)) = &call.auth {
                request = request.header(name, value);
            }
            if let Some(key) = call.idempotency_key {
                request = request.header("idempotency-key", key);
            }
            if call.body.is_some() {
                request = request.header(http::header::CONTENT_TYPE, "application/json");
            }
            request = request.header(http::header::ACCEPT, "application/json");
            let request = request
                .body(Full::new(body.clone()))
                .map_err(|e| RotatorError::backend(action.clone(), e))?;
            let outcome = tokio::time::timeout(self.timeout, async {
                let response = self.client().await?.request(request).await.map_err(|e| {
                    let error: BoxError = Box::new(e);
                    RotatorError::backend(action.clone(), error)
                })?;
                let status = response.status();
                let retry_after = retry_after(response.headers());
                let body = response
                    .into_body()
                    .collect()
                    .await
                    .map_err(|e| RotatorError::backend(action.clone(), e))?
                    .to_bytes();
                Ok::<_, RotatorError>((status, retry_after, body))
            })
            .await;
            let (retry, wait) = match outcome {
                Err(_) => (
                    Err(RotatorError::Refused(format!(
                        "{action}: no answer within {} s",
                        self.timeout.as_secs_f32()
                    ))),
                    pause,
                ),
                Ok(Err(e)) => (Err(e), pause),
                Ok(Ok((status, retry_after, body))) => {
                    if status != StatusCode::TOO_MANY_REQUESTS && !status.is_server_error() {
                        return Ok(Answer { status, body });
                    }
                    let failure = Err(status_error(&action, status, &body));
                    match retry_after {
                        Some(wait) if wait > MAX_RETRY_AFTER => return failure,
                        Some(wait) => (failure, wait),
                        None => (failure, pause),
                    }
                }
            };
            if attempt >= self.attempts {
                return retry;
            }
            tracing::info!(action = %action, attempt, wait_ms = wait.as_millis() as u64, "retrying");
            tokio::time::sleep(wait).await;
            pause = (pause * 2).min(Duration::from_secs(2));
            attempt += 1;
        }
    }
}

fn strip_query(path: &str) -> &str {
    path.split('?').next().unwrap_or(path)
}

/// `Retry-After` in seconds (the HTTP-date form is not used by the APIs
/// that rate-limit keys; it counts as absent).
fn retry_after(headers: &http::HeaderMap) -> Option<Duration> {
    let seconds = headers
        .get(http::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()?;
    Some(Duration::from_secs(seconds))
}

/// An error for a status: the provider's status and its body's size, never
/// its text. Providers echo keys in error bodies (an idempotent replay's
/// 409 with the key issued the first time, a 422 naming it), raw,
/// JSON-escaped or percent-encoded, and a key the rotator has not seen
/// cannot be redacted; the message goes to the logs and to Secrets
/// Manager. The provider's own logs have the rest.
pub fn status_error(action: &str, status: StatusCode, body: &[u8]) -> RotatorError {
    RotatorError::Refused(format!(
        "{action}: the provider answered {status} ({} bytes of body, not shown: it may hold a key)",
        body.len()
    ))
}

/// Reads `HTTP_CA_BUNDLE` at start-up.
pub fn read_ca_bundle(path: &str) -> Result<Vec<CertificateDer<'static>>, SettingsError> {
    let error = |reason: String| SettingsError {
        name: "HTTP_CA_BUNDLE",
        reason,
    };
    let certificates = CertificateDer::pem_file_iter(path)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| error(format!("cannot read {path}: {e}")))?;
    if certificates.is_empty() {
        return Err(error(format!("{path} holds no PEM certificate")));
    }
    Ok(certificates)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_base_url_is_https_or_loopback_http() {
        let base = BaseUrl::parse("https://api.example.com/v1/", "B").unwrap();
        assert_eq!(
            base.join("/keys/a%2Fb").unwrap().to_string(),
            "https://api.example.com/v1/keys/a%2Fb"
        );
        assert!(BaseUrl::parse("http://127.0.0.1:8080", "B").is_ok());
        for bad in [
            "http://api.example.com",
            "ftp://x",
            "/keys",
            "https://u:p@x.com",
            "https://x.com?a=1",
        ] {
            assert_eq!(BaseUrl::parse(bad, "B").unwrap_err().name, "B", "{bad}");
        }
    }

    #[test]
    fn error_bodies_are_left_out_and_the_status_named() {
        let body = format!(
            "{{\"error\":\"bad key sk_live_123\",\"pad\":\"{}\"}}",
            "x".repeat(1000)
        );
        let err = status_error("issue a key", StatusCode::FORBIDDEN, body.as_bytes()).to_string();
        let size = format!("{} bytes", body.len());
        assert!(
            err.contains("403 Forbidden") && err.contains(&size),
            "{err}"
        );
        assert!(
            !err.contains("sk_live_123") && !err.contains("xxx"),
            "{err}"
        );
    }

    /// A provider answers an idempotent replay with 409 and the key it
    /// issued the first time, or a 422 naming it: a key the rotator has
    /// not seen, so it cannot redact it, raw, JSON-escaped or
    /// percent-encoded. None of it may reach the error, which goes to the
    /// logs and to Secrets Manager.
    #[test]
    fn an_error_body_never_carries_an_issued_key() {
        let issued = "sk_new/AB+cd\"ef9";
        let escaped = serde_json::to_string(issued).unwrap();
        let encoded = "sk_new%2FAB%2Bcd%22ef9";
        let bodies = [
            format!("{{\"error\":\"key_exists\",\"key\":{escaped}}}"),
            format!("{{\"error\":{escaped}}}"),
            format!("key already issued: {encoded}"),
            format!("<p>duplicate {issued}</p>"),
        ];
        for body in bodies {
            let err =
                status_error("issue a key", StatusCode::CONFLICT, body.as_bytes()).to_string();
            assert!(
                err.contains("issue a key") && err.contains("409 Conflict"),
                "{err}"
            );
            for form in [
                issued,
                escaped.trim_matches('"'),
                encoded,
                "sk_new",
                "AB+cd",
            ] {
                assert!(!err.contains(form), "{form} in {err}");
            }
        }
    }
}
