//! A key-issuing HTTP service on a free port of 127.0.0.1, with the
//! semantics the HTTP provider relies on: accounts with keys, an admin
//! token, `Idempotency-Key` (honoured or ignored, as a provider may do
//! either), tags, listing, verification and revocation, and faults a test
//! queues (a status, with or without `Retry-After`).
//!
//! - `POST /v1/accounts/{account}/keys` `{"tag": ...}`: issues a key (201
//!   `{"id", "key", "tag"}`), authenticated by the admin token or a live
//!   key of the account;
//! - `GET /v1/accounts/{account}/keys`: the keys' ids, tags and status;
//! - `DELETE /v1/accounts/{account}/keys/{id}`: revokes (204; 404 when the
//!   key is unknown or already revoked);
//! - `GET /v1/whoami`: 200 with the key's id and account when the bearer
//!   key is live, 401 otherwise.

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use tokio::net::TcpListener;

/// One key the service issued.
#[derive(Debug, Clone)]
pub struct IssuedKey {
    /// Its id.
    pub id: String,
    /// The key itself.
    pub key: String,
    /// Its account.
    pub account: String,
    /// The tag the request gave it.
    pub tag: String,
    /// Whether it was revoked.
    pub revoked: bool,
}

#[derive(Default)]
struct State {
    keys: Vec<IssuedKey>,
    answered: HashMap<String, (StatusCode, Value)>,
    faults: VecDeque<(Option<String>, StatusCode, Option<u64>)>,
    requests: Vec<String>,
    next: u64,
}

/// The service; stops with the test process.
#[derive(Clone)]
pub struct KeyService {
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// The admin token.
    pub admin_token: String,
    honours_idempotency: bool,
    state: Arc<Mutex<State>>,
}

impl KeyService {
    /// Starts the service. `honours_idempotency`: whether a repeated
    /// `Idempotency-Key` gets the first answer again.
    pub async fn start(honours_idempotency: bool) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let service = Self {
            port: listener.local_addr().unwrap().port(),
            admin_token: format!("admin-{}", rotation_core::testkit::unique_name("token")),
            honours_idempotency,
            state: Arc::default(),
        };
        let server = service.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let server = server.clone();
                tokio::spawn(async move {
                    let handler = hyper::service::service_fn(move |request| {
                        let server = server.clone();
                        async move { Ok::<_, Infallible>(server.handle(request).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), handler)
                        .await;
                });
            }
        });
        service
    }

    /// The base URL the provider is configured with.
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}/v1", self.port)
    }

    /// A key made outside any rotation (an operator's first key).
    pub fn issue_directly(&self, account: &str) -> IssuedKey {
        self.issue(&mut self.state.lock().unwrap(), account, "")
    }

    /// Revokes a key behind the rotator's back.
    pub fn revoke_directly(&self, id: &str) {
        let mut state = self.state.lock().unwrap();
        if let Some(key) = state.keys.iter_mut().find(|k| k.id == id) {
            key.revoked = true;
        }
    }

    /// Answers the next request with `status` (and `Retry-After` seconds).
    pub fn push_fault(&self, status: u16, retry_after: Option<u64>) {
        self.queue_fault(None, status, retry_after);
    }

    /// Answers the next `method` request with `status` (and `Retry-After`
    /// seconds); other requests pass.
    pub fn push_fault_for(&self, method: &str, status: u16, retry_after: Option<u64>) {
        self.queue_fault(Some(method.to_owned()), status, retry_after);
    }

    fn queue_fault(&self, method: Option<String>, status: u16, retry_after: Option<u64>) {
        let status = StatusCode::from_u16(status).unwrap();
        let mut state = self.state.lock().unwrap();
        state.faults.push_back((method, status, retry_after));
    }

    /// The live keys of `account`.
    pub fn live_keys(&self, account: &str) -> Vec<IssuedKey> {
        let state = self.state.lock().unwrap();
        state
            .keys
            .iter()
            .filter(|k| k.account == account && !k.revoked)
            .cloned()
            .collect()
    }

    /// Whether `key` is live.
    pub fn accepts(&self, key: &str) -> bool {
        let state = self.state.lock().unwrap();
        state.keys.iter().any(|k| k.key == key && !k.revoked)
    }

    /// Every request so far, as `METHOD /path`.
    pub fn requests(&self) -> Vec<String> {
        self.state.lock().unwrap().requests.clone()
    }

    fn issue(&self, state: &mut State, account: &str, tag: &str) -> IssuedKey {
        state.next += 1;
        let key = IssuedKey {
            id: format!("key_{}", state.next),
            // Random, as a provider's keys are (the kit refuses a key
            // that is a near copy of the one before).
            key: format!(
                "sk_live_{}",
                rotation_core::testkit::new_token().replace('-', "")
            ),
            account: account.to_owned(),
            tag: tag.to_owned(),
            revoked: false,
        };
        state.keys.push(key.clone());
        key
    }

    async fn handle(&self, request: Request<Incoming>) -> Response<Full<Bytes>> {
        let (parts, body) = request.into_parts();
        let body = body
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        let bearer = parts
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or_default()
            .to_owned();
        let idempotency = parts
            .headers
            .get("idempotency-key")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let mut state = self.state.lock().unwrap();
        state
            .requests
            .push(format!("{} {}", parts.method, parts.uri.path()));
        let fault = state
            .faults
            .iter()
            .position(|(method, ..)| method.as_deref().is_none_or(|m| m == parts.method.as_str()));
        if let Some((_, status, retry_after)) = fault.and_then(|i| state.faults.remove(i)) {
            let mut response = answer(status, json!({"error": "injected"}));
            if let Some(seconds) = retry_after {
                response
                    .headers_mut()
                    .insert("retry-after", seconds.to_string().parse().unwrap());
            }
            return response;
        }
        let segments: Vec<&str> = parts
            .uri
            .path()
            .trim_start_matches('/')
            .split('/')
            .collect();
        let caller = state
            .keys
            .iter()
            .find(|k| k.key == bearer && !k.revoked)
            .cloned();
        let admin = bearer == self.admin_token;
        let may = |account: &str| admin || caller.as_ref().is_some_and(|k| k.account == account);
        match (parts.method.as_str(), segments.as_slice()) {
            ("GET", ["v1", "whoami"]) => match caller {
                Some(key) => answer(
                    StatusCode::OK,
                    json!({"id": key.id, "account": key.account}),
                ),
                None => answer(
                    StatusCode::UNAUTHORIZED,
                    json!({"error": "unknown or revoked key"}),
                ),
            },
            ("POST", ["v1", "accounts", account, "keys"]) if may(account) => {
                if let Some(key) = idempotency.as_ref().filter(|_| self.honours_idempotency) {
                    if let Some((status, body)) = state.answered.get(key) {
                        return answer(*status, body.clone());
                    }
                }
                let Ok(request) = serde_json::from_slice::<Value>(&body) else {
                    return answer(
                        StatusCode::BAD_REQUEST,
                        json!({"error": "body is not JSON"}),
                    );
                };
                let tag = request["tag"].as_str().unwrap_or_default().to_owned();
                let key = self.issue(&mut state, account, &tag);
                let body = json!({"id": key.id, "key": key.key, "tag": key.tag});
                if let Some(idempotency) = idempotency {
                    state
                        .answered
                        .insert(idempotency, (StatusCode::CREATED, body.clone()));
                }
                answer(StatusCode::CREATED, body)
            }
            ("GET", ["v1", "accounts", account, "keys"]) if may(account) => {
                // Revoked keys too, with their status, as many providers
                // list them.
                let keys: Vec<Value> = state
                    .keys
                    .iter()
                    .filter(|k| k.account == *account)
                    .map(|k| {
                        let status = if k.revoked { "revoked" } else { "active" };
                        json!({"id": k.id, "tag": k.tag, "status": status})
                    })
                    .collect();
                answer(StatusCode::OK, json!({ "keys": keys }))
            }
            ("DELETE", ["v1", "accounts", account, "keys", id]) if may(account) => {
                match state
                    .keys
                    .iter_mut()
                    .find(|k| k.id == *id && k.account == *account && !k.revoked)
                {
                    Some(key) => {
                        key.revoked = true;
                        answer(StatusCode::NO_CONTENT, Value::Null)
                    }
                    None => answer(StatusCode::NOT_FOUND, json!({"error": "no such key"})),
                }
            }
            (_, ["v1", "accounts", ..]) => {
                answer(StatusCode::FORBIDDEN, json!({"error": "not allowed"}))
            }
            _ => answer(StatusCode::NOT_FOUND, json!({"error": "no such route"})),
        }
    }
}

fn answer(status: StatusCode, body: Value) -> Response<Full<Bytes>> {
    let bytes = if body.is_null() {
        Bytes::new()
    } else {
        Bytes::from(body.to_string())
    };
    let mut response = Response::new(Full::new(bytes));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert("content-type", "application/json".parse().unwrap());
    response
}
