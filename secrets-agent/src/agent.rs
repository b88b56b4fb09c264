//! Answering one request: the token, the route, the cache, and the reply
//! as AWS's agent shapes it (`GetSecretValue`'s JSON, or an error with a
//! `__type`). Independent of the HTTP server, so every answer is tested
//! without a socket.

use std::time::UNIX_EPOCH;

use rotation_core::error::StoreError;
use rotation_core::secret::SecretPayload;
use secret_cache::{CacheError, CachedSecret, SecretCache, SecretStore};
use serde_json::{json, Map, Value};

use crate::request::{self, GetRequest, Refusal, Route};
use crate::token::{Token, TOKEN_HEADERS};

/// The agent: a cache, and the token requests must carry.
pub struct Agent<S> {
    cache: SecretCache<S>,
    token: Token,
}

impl<S> std::fmt::Debug for Agent<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Agent")
            .field("cache", &self.cache)
            .field("token", &self.token)
            .finish()
    }
}

/// An answer: its status and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The HTTP status.
    pub status: u16,
    /// The body, JSON except for `/ping`.
    pub body: ReplyBody,
}

/// A reply's body, which may hold a secret value: `Debug` prints its
/// length only.
#[derive(Clone, PartialEq, Eq)]
pub struct ReplyBody(String);

impl ReplyBody {
    /// A body of fixed text.
    pub fn from_static(text: &'static str) -> Self {
        Self(text.to_owned())
    }

    /// The body as sent.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The body, to send.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl std::fmt::Debug for ReplyBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ReplyBody(<{} bytes>)", self.0.len())
    }
}

impl Reply {
    fn refused(refusal: Refusal) -> Self {
        let body = json!({ "__type": refusal.kind, "message": refusal.message });
        Self {
            status: refusal.status,
            body: ReplyBody(body.to_string()),
        }
    }
}

impl<S: SecretStore + 'static> Agent<S> {
    /// An agent answering from `cache` to clients that present `token`.
    pub fn new(cache: SecretCache<S>, token: Token) -> Self {
        Self { cache, token }
    }

    /// The cache it answers from.
    pub fn cache(&self) -> &SecretCache<S> {
        &self.cache
    }

    /// The answer to `method` `target` (the path and query as sent), with
    /// the request's headers looked up by `header` (case-insensitive).
    pub async fn answer<'h>(
        &self,
        method: &str,
        target: &str,
        header: impl Fn(&str) -> Option<&'h [u8]>,
    ) -> Reply {
        let reply = match self.admit(target, &header) {
            Err(refusal) => Reply::refused(refusal),
            Ok(()) => match request::parse(method, target) {
                Err(refusal) => Reply::refused(refusal),
                Ok(route) => self.route(route).await,
            },
        };
        let path = target.split('?').next().unwrap_or_default();
        if reply.status >= 500 {
            tracing::warn!(status = reply.status, path, "answered with a failure");
        } else {
            tracing::debug!(status = reply.status, path, "answered");
        }
        reply
    }

    /// The checks before any route but `/ping`: no proxy in between, and
    /// the token.
    fn admit<'h>(
        &self,
        target: &str,
        header: &impl Fn(&str) -> Option<&'h [u8]>,
    ) -> Result<(), Refusal> {
        if target == "/ping" {
            return Ok(());
        }
        // A proxy forwarded the request: whoever sent it is not on this
        // host, whatever the token says.
        if header("X-Forwarded-For").is_some() {
            return Err(Refusal::new(
                400,
                "Forwarded",
                "requests forwarded by a proxy (X-Forwarded-For) are refused",
            ));
        }
        let presented = TOKEN_HEADERS.iter().find_map(|name| header(name));
        match presented {
            Some(value) if self.token.matches(value) => Ok(()),
            Some(_) => Err(Refusal::new(
                403,
                "AccessDeniedException",
                "the X-Aws-Parameters-Secrets-Token header does not hold the agent's token",
            )),
            None => Err(Refusal::new(
                403,
                "AccessDeniedException",
                "the X-Aws-Parameters-Secrets-Token header is missing",
            )),
        }
    }

    async fn route(&self, route: Route) -> Reply {
        match route {
            Route::Ping => Reply {
                status: 200,
                body: ReplyBody("healthy".into()),
            },
            Route::Get(request) => self.get(&request).await,
            Route::AfterRefusal {
                secret_id,
                refused_version,
            } => match self.cache.after_refusal(&secret_id, &refused_version).await {
                Some(next) => value_reply(&next),
                None => Reply::refused(Refusal::new(
                    404,
                    "NoNewerValue",
                    format!(
                        "{secret_id} has no value to try after version {refused_version} \
                         (no newer AWSCURRENT, no AWSPENDING, or a look that found none \
                         was made moments ago)"
                    ),
                )),
            },
        }
    }

    async fn get(&self, request: &GetRequest) -> Reply {
        let selector = request.selector();
        let read = if request.refresh_now {
            self.cache.refresh_now(&request.secret_id, selector).await
        } else {
            self.cache.get_version(&request.secret_id, selector).await
        };
        match read {
            Ok(secret) => value_reply(&secret),
            Err(error) => Reply::refused(refusal_for(&error)),
        }
    }
}

/// `GetSecretValue`'s answer for `secret`.
fn value_reply(secret: &CachedSecret) -> Reply {
    let mut body = Map::new();
    body.insert("ARN".into(), Value::from(secret.arn()));
    body.insert("Name".into(), Value::from(secret.name()));
    body.insert("VersionId".into(), Value::from(secret.version_id()));
    match secret.payload() {
        SecretPayload::String(value) => {
            body.insert("SecretString".into(), Value::from(value.expose()));
        }
        SecretPayload::Binary(value) => {
            let encoded = aws_smithy_types::base64::encode(value.expose());
            body.insert("SecretBinary".into(), Value::from(encoded));
        }
    }
    body.insert(
        "VersionStages".into(),
        Value::from(secret.stages().to_vec()),
    );
    if let Some(created) = secret.created() {
        if let Ok(since) = created.duration_since(UNIX_EPOCH) {
            // Seconds with milliseconds, as the service sends it.
            let seconds = since.as_millis() as f64 / 1000.0;
            body.insert("CreatedDate".into(), json!(seconds));
        }
    }
    Reply {
        status: 200,
        body: ReplyBody(Value::Object(body).to_string()),
    }
}

/// The error a client of AWS's agent expects for `error`: the service's
/// own code and status where there is one.
fn refusal_for(error: &CacheError) -> Refusal {
    let message = rotation_core::error::error_chain(error);
    match error {
        CacheError::NoValue { .. } => Refusal::new(400, "ResourceNotFoundException", message),
        CacheError::Store { source, .. } => match source {
            StoreError::SecretNotFound { .. } => {
                Refusal::new(400, "ResourceNotFoundException", message)
            }
            StoreError::Refused { .. } => Refusal::new(400, "InvalidRequestException", message),
            StoreError::Service { .. } => match source.service_code() {
                Some(code @ ("InternalServiceError" | "InternalFailure")) => {
                    Refusal::new(500, static_code(code), message)
                }
                Some("ServiceUnavailable") => Refusal::new(503, "ServiceUnavailable", message),
                Some(code) => Refusal::new(400, static_code(code), message),
                // No answer at all: a timeout or a lost connection.
                None => Refusal::new(504, "TimeoutError", message),
            },
            StoreError::VersionExists { .. } => Refusal::new(500, "InternalFailure", message),
        },
        CacheError::Format { .. } => Refusal::new(500, "InternalFailure", message),
    }
}

/// The codes a client may act on, as static strings; any other is passed
/// on as the service's generic client error.
fn static_code(code: &str) -> &'static str {
    const KNOWN: &[&str] = &[
        "AccessDeniedException",
        "DecryptionFailure",
        "ExpiredTokenException",
        "InternalFailure",
        "InternalServiceError",
        "InvalidParameterException",
        "InvalidRequestException",
        "KMSAccessDeniedException",
        "KMSDisabledException",
        "KMSInvalidStateException",
        "ResourceNotFoundException",
        "ThrottlingException",
        "UnrecognizedClientException",
    ];
    KNOWN
        .iter()
        .find(|known| **known == code)
        .copied()
        .unwrap_or("ServiceError")
}
