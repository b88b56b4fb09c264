//! A client for AWS's Query protocol (a signed, form-encoded POST; an XML
//! answer), for the few RDS and IAM calls the rotators make.
//!
//! The SDK's RDS and IAM crates each hold every operation of their service:
//! they took a third of the workspace's build time, in every profile and
//! for both architectures, for two RDS reads and eight IAM calls. This
//! client does what the SDK's does for those calls, with the SDK's own
//! parts: the credentials and region of the [`SdkConfig`]
//! ([`sdk_config_loader`](crate::store::sdk_config_loader)), the same
//! HTTPS connector trusting only AWS's roots, `aws-sigv4` to sign, the
//! endpoint settings the SDK reads (`AWS_ENDPOINT_URL_<SERVICE>`, then
//! `AWS_ENDPOINT_URL`, FIPS and dual-stack), and the retry policy of the
//! store (3 attempts, 100 ms backoff doubling to 1 s, jittered; throttling,
//! 5xx answers, timeouts and broken connections retried).

mod endpoint;
pub mod xml;

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use aws_config::SdkConfig;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_credential_types::Credentials;
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_sigv4::sign::v4;
use aws_smithy_http_client::Connector;
use aws_smithy_runtime_api::client::http::HttpConnector;
use aws_smithy_runtime_api::http::Request;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::byte_stream::ByteStream;

pub use endpoint::Endpoint;
pub use xml::Element;

/// A Query service: its name in messages and in `AWS_ENDPOINT_URL_<NAME>`,
/// its signing name (also its endpoint prefix), its API version, and
/// whether it has one endpoint per partition rather than per region.
#[derive(Debug)]
pub struct QueryApi {
    /// As in `AWS_ENDPOINT_URL_RDS`, and in error messages.
    pub name: &'static str,
    /// SigV4's service name and the endpoint's first label.
    pub signing_name: &'static str,
    /// The `Version` every request carries.
    pub version: &'static str,
    /// IAM: one endpoint per partition, signed for the partition's region.
    pub global: bool,
}

/// Amazon RDS.
pub const RDS: QueryApi = QueryApi {
    name: "RDS",
    signing_name: "rds",
    version: "2014-10-31",
    global: false,
};

/// AWS Identity and Access Management.
pub const IAM: QueryApi = QueryApi {
    name: "IAM",
    signing_name: "iam",
    version: "2010-05-08",
    global: true,
};

/// Attempts per call, as the Secrets Manager store's retry policy.
const ATTEMPTS: u32 = 3;
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(1);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
/// Credentials this close to their expiry are fetched again.
const CREDENTIALS_MARGIN: Duration = Duration::from_secs(300);

/// A call that failed. Messages carry the service's error code and message,
/// or what went wrong on the way; never a request's or answer's body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    /// The service refused the call.
    #[error("{service} answered {code}: {message}")]
    Service {
        /// The service's name.
        service: &'static str,
        /// Its error code (`DBInstanceNotFound`, `NoSuchEntity`...).
        code: String,
        /// Its message.
        message: String,
        /// The HTTP status.
        status: u16,
    },
    /// No answer: connection, TLS or timeout, after the retries.
    #[error("{service} call {action} failed: {reason}")]
    Transport {
        /// The service's name.
        service: &'static str,
        /// The action.
        action: String,
        /// What failed.
        reason: String,
    },
    /// The configuration gives no region, endpoint or credentials.
    #[error("{0}")]
    Config(String),
    /// An answer that is not the XML the protocol promises.
    #[error("{service} answered {action} with {reason}")]
    Answer {
        /// The service's name.
        service: &'static str,
        /// The action.
        action: String,
        /// What was wrong.
        reason: String,
    },
}

impl QueryError {
    /// The service's error code, for a refusal.
    pub fn code(&self) -> Option<&str> {
        match self {
            QueryError::Service { code, .. } => Some(code),
            _ => None,
        }
    }
}

/// A signed Query client for one service in one region.
#[derive(Clone)]
pub struct QueryClient {
    api: &'static QueryApi,
    config: SdkConfig,
    endpoint: Endpoint,
    shared: Arc<Shared>,
}

/// What every client made from one configuration shares (the connector's
/// TLS set-up and the credentials' cache).
struct Shared {
    connector: Connector,
    credentials: Option<SharedCredentialsProvider>,
    cached: Mutex<Option<Credentials>>,
}

impl std::fmt::Debug for QueryClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QueryClient")
            .field("service", &self.api.name)
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

impl QueryClient {
    /// A client for `api` in `config`'s region.
    pub fn new(config: &SdkConfig, api: &'static QueryApi) -> Result<Self, QueryError> {
        let region = config
            .region()
            .map(|r| r.as_ref().to_owned())
            .ok_or_else(|| {
                QueryError::Config(format!("no AWS region for {}: set AWS_REGION", api.name))
            })?;
        let endpoint = Endpoint::resolve(api, config, &region)?;
        let settings = aws_smithy_runtime_api::client::http::HttpConnectorSettings::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .build();
        let connector = crate::store::aws_endpoint_connector(Some(settings), None);
        Ok(Self {
            api,
            config: config.clone(),
            endpoint,
            shared: Arc::new(Shared {
                connector,
                credentials: config.credentials_provider(),
                cached: Mutex::new(None),
            }),
        })
    }

    /// The same client for another region (a cross-region read replica is
    /// described in its own region). Shares the connection set-up and the
    /// credentials.
    pub fn in_region(&self, region: &str) -> Result<Self, QueryError> {
        Ok(Self {
            endpoint: Endpoint::resolve(self.api, &self.config, region)?,
            ..self.clone()
        })
    }

    /// The region requests are signed for.
    pub fn signing_region(&self) -> &str {
        &self.endpoint.signing_region
    }

    /// Calls `action` with `params` and returns the answer's root element
    /// (`<ActionResponse>`). Retries throttling, 5xx answers and transport
    /// failures; a refusal is [`QueryError::Service`] with the code.
    pub async fn call(&self, action: &str, params: &[(&str, &str)]) -> Result<Element, QueryError> {
        let body = form_body(action, self.api.version, params);
        let mut attempt = 1;
        loop {
            let outcome =
                match tokio::time::timeout(ATTEMPT_TIMEOUT, self.attempt(action, &body)).await {
                    Ok(outcome) => outcome,
                    Err(_) => Err(Failure::Transient(QueryError::Transport {
                        service: self.api.name,
                        action: action.to_owned(),
                        reason: format!("no answer within {ATTEMPT_TIMEOUT:?}"),
                    })),
                };
            match outcome {
                Ok(root) => return Ok(root),
                Err(Failure::Final(error)) => return Err(error),
                Err(Failure::Transient(error)) if attempt >= ATTEMPTS => return Err(error),
                Err(Failure::Transient(error)) => {
                    tracing::debug!(service = self.api.name, action, attempt, %error, "retrying");
                    tokio::time::sleep(backoff(attempt)).await;
                    attempt += 1;
                }
            }
        }
    }

    async fn attempt(&self, action: &str, body: &str) -> Result<Element, Failure> {
        let credentials = self.credentials().await.map_err(Failure::Final)?;
        let mut request = Request::new(SdkBody::from(body.to_owned()));
        let headers = self
            .signed_headers(&credentials, body)
            .map_err(Failure::Final)?;
        request
            .set_method("POST")
            .and_then(|()| request.set_uri(self.endpoint.url.as_str()))
            .map_err(|e| {
                Failure::Final(QueryError::Config(format!(
                    "{} endpoint {}: {e}",
                    self.api.name, self.endpoint.url
                )))
            })?;
        for (name, value) in headers {
            request.headers_mut().insert(name, value);
        }
        let transport = |reason: String| {
            Failure::Transient(QueryError::Transport {
                service: self.api.name,
                action: action.to_owned(),
                reason,
            })
        };
        let response = self
            .shared
            .connector
            .call(request)
            .await
            .map_err(|e| transport(crate::error::error_chain(&e)))?;
        let status = response.status().as_u16();
        let bytes = ByteStream::new(response.into_body())
            .collect()
            .await
            .map_err(|e| {
                transport(format!(
                    "reading the answer: {}",
                    crate::error::error_chain(&e)
                ))
            })?
            .into_bytes();
        let answer = |reason: String| QueryError::Answer {
            service: self.api.name,
            action: action.to_owned(),
            reason,
        };
        let text = std::str::from_utf8(&bytes).map_err(|_| {
            Failure::Final(answer(format!(
                "HTTP {status} and a body that is not UTF-8"
            )))
        })?;
        if (200..300).contains(&status) {
            return xml::parse(text).map_err(|e| Failure::Final(answer(e.to_string())));
        }
        let Ok(error) = xml::parse(text) else {
            let error = answer(format!("HTTP {status} and no error document"));
            return Err(if retryable_status(status) {
                Failure::Transient(error)
            } else {
                Failure::Final(error)
            });
        };
        // <ErrorResponse><Error><Code/><Message/></Error></ErrorResponse>
        let detail = error.child("Error").unwrap_or(&error);
        let code = detail.text_at(&["Code"]).unwrap_or("").to_owned();
        let refused = QueryError::Service {
            service: self.api.name,
            message: detail
                .text_at(&["Message"])
                .unwrap_or("no message")
                .to_owned(),
            code,
            status,
        };
        let transient = retryable_status(status) || refused.code().is_some_and(throttling_code);
        Err(if transient {
            Failure::Transient(refused)
        } else {
            Failure::Final(refused)
        })
    }

    /// The headers of a SigV4-signed POST of `body` (host, content type,
    /// date, session token, authorization).
    fn signed_headers(
        &self,
        credentials: &Credentials,
        body: &str,
    ) -> Result<Vec<(String, String)>, QueryError> {
        let mut headers = vec![
            ("host".to_owned(), self.endpoint.host.clone()),
            (
                "content-type".to_owned(),
                "application/x-www-form-urlencoded; charset=utf-8".to_owned(),
            ),
        ];
        let identity = credentials.clone().into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.endpoint.signing_region)
            .name(self.api.signing_name)
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()
            .map_err(|e| QueryError::Config(format!("signing {}: {e}", self.api.name)))?
            .into();
        let signable = SignableRequest::new(
            "POST",
            self.endpoint.url.as_str(),
            headers.iter().map(|(n, v)| (n.as_str(), v.as_str())),
            SignableBody::Bytes(body.as_bytes()),
        )
        .map_err(|e| QueryError::Config(format!("signing {}: {e}", self.api.name)))?;
        let (instructions, _signature) = sign(signable, &params)
            .map_err(|e| QueryError::Config(format!("signing {}: {e}", self.api.name)))?
            .into_parts();
        headers.extend(
            instructions
                .headers()
                .map(|(n, v)| (n.to_owned(), v.to_owned())),
        );
        Ok(headers)
    }

    /// The configuration's credentials, fetched again only near their
    /// expiry.
    async fn credentials(&self) -> Result<Credentials, QueryError> {
        let fresh = |c: &Credentials| {
            c.expiry()
                .is_none_or(|expiry| expiry > SystemTime::now() + CREDENTIALS_MARGIN)
        };
        if let Some(cached) = self
            .shared
            .cached
            .lock()
            .unwrap()
            .as_ref()
            .filter(|c| fresh(c))
        {
            return Ok(cached.clone());
        }
        let provider = self.shared.credentials.as_ref().ok_or_else(|| {
            QueryError::Config(format!("no AWS credentials for {}", self.api.name))
        })?;
        let credentials = provider.provide_credentials().await.map_err(|e| {
            QueryError::Config(format!(
                "AWS credentials for {}: {}",
                self.api.name,
                crate::error::error_chain(&e)
            ))
        })?;
        *self.shared.cached.lock().unwrap() = Some(credentials.clone());
        Ok(credentials)
    }
}

enum Failure {
    Transient(QueryError),
    Final(QueryError),
}

/// `Action=...&Version=...&k=v...`, each part percent-encoded as the
/// Query protocol wants (RFC 3986's unreserved characters kept).
fn form_body(action: &str, version: &str, params: &[(&str, &str)]) -> String {
    let mut body = format!("Action={}&Version={}", encode(action), encode(version));
    for (key, value) in params {
        body.push('&');
        body.push_str(&encode(key));
        body.push('=');
        body.push_str(&encode(value));
    }
    body
}

fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(byte as char)
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

fn retryable_status(status: u16) -> bool {
    status == 429 || status >= 500
}

/// The throttling codes the SDK's standard retry policy retries.
fn throttling_code(code: &str) -> bool {
    matches!(
        code,
        "Throttling"
            | "ThrottlingException"
            | "ThrottledException"
            | "RequestThrottledException"
            | "TooManyRequestsException"
            | "ProvisionedThroughputExceededException"
            | "TransactionInProgressException"
            | "RequestLimitExceeded"
            | "BandwidthLimitExceeded"
            | "LimitExceededException"
            | "RequestThrottled"
            | "SlowDown"
            | "PriorRequestNotComplete"
            | "EC2ThrottledException"
    )
}

/// The wait before attempt `attempt + 1`: 100 ms doubling, at most 1 s,
/// times a random factor in [0.5, 1) so that clients throttled together
/// do not retry together.
fn backoff(attempt: u32) -> Duration {
    let base = FIRST_BACKOFF
        .saturating_mul(1 << (attempt - 1).min(10))
        .min(MAX_BACKOFF);
    let mut random = [0u8; 2];
    let factor = match getrandom::fill(&mut random) {
        Ok(()) => 0.5 + f64::from(u16::from_le_bytes(random)) / f64::from(u16::MAX) / 2.0,
        Err(_) => 0.75,
    };
    base.mul_f64(factor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_body_is_form_encoded_with_action_and_version_first() {
        assert_eq!(
            form_body(
                "DescribeDBInstances",
                "2014-10-31",
                &[("DBInstanceIdentifier", "arn:aws:rds:us-west-2:1:db:a b/c&d=é")]
            ),
            "Action=DescribeDBInstances&Version=2014-10-31&DBInstanceIdentifier=arn%3Aaws%3Ards%3Aus-west-2%3A1%3Adb%3Aa%20b%2Fc%26d%3D%C3%A9"
        );
    }

    #[test]
    fn backoff_doubles_to_a_second_with_jitter() {
        for (attempt, base) in [
            (1, 100),
            (2, 200),
            (3, 400),
            (4, 800),
            (5, 1000),
            (40, 1000),
        ] {
            let wait = backoff(attempt).as_millis() as u64;
            assert!(
                wait >= base / 2 && wait <= base,
                "attempt {attempt}: {wait} ms"
            );
        }
    }

    #[test]
    fn throttling_and_server_errors_are_retried_refusals_are_not() {
        assert!(retryable_status(500) && retryable_status(503) && retryable_status(429));
        assert!(!retryable_status(400) && !retryable_status(403) && !retryable_status(404));
        assert!(throttling_code("Throttling") && throttling_code("RequestLimitExceeded"));
        assert!(!throttling_code("DBInstanceNotFound") && !throttling_code("NoSuchEntity"));
        assert!(!throttling_code("AccessDenied"));
    }
}
