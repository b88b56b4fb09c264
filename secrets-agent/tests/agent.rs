//! The agent over HTTP, in this process, on the in-memory store (Secrets
//! Manager's semantics): requests as AWS documents them for its agent, the
//! bad-input table, the route for refused credentials, the connection
//! limit, and the leak check. `lambda.rs` runs the built binary.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use rotation_core::error::{ServiceFailure, StoreError};
use rotation_core::secret::SecretPayload;
use rotation_core::store::{
    InMemorySecretStore, MoveStage, PutValue, SecretDescription, SecretStore, SecretVersion,
    VersionSelector, AWSCURRENT, AWSPENDING,
};
use rotation_core::testkit::{assert_no_secret_in, CapturedLogs};
use rotation_core::SecretString;
use rotation_testing::http::{exchange, Message};
use secret_cache::{CacheConfig, SecretCache};
use secrets_agent::token::Token;
use secrets_agent::{server, Agent};
use serde_json::Value;

const TOKEN: &str = "token-4f1c2a9e";

/// The in-memory store counting reads; names starting `denied-` are
/// refused as a role without `secretsmanager:GetSecretValue` is.
#[derive(Default)]
struct Store {
    inner: InMemorySecretStore,
    reads: AtomicUsize,
}

#[async_trait]
impl SecretStore for Store {
    async fn describe(&self, secret_id: &str) -> Result<SecretDescription, StoreError> {
        self.inner.describe(secret_id).await
    }

    async fn get_value(
        &self,
        secret_id: &str,
        version: VersionSelector<'_>,
    ) -> Result<Option<SecretVersion>, StoreError> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        if secret_id.starts_with("denied-") {
            return Err(StoreError::Service {
                operation: "GetSecretValue",
                secret_id: secret_id.to_owned(),
                transient: false,
                source: Box::new(ServiceFailure {
                    code: Some("AccessDeniedException".into()),
                    detail: "not authorized to perform secretsmanager:GetSecretValue".into(),
                }),
            });
        }
        self.inner.get_value(secret_id, version).await
    }

    async fn put_value(&self, secret_id: &str, put: PutValue<'_>) -> Result<(), StoreError> {
        self.inner.put_value(secret_id, put).await
    }

    async fn move_stage(&self, secret_id: &str, change: MoveStage<'_>) -> Result<(), StoreError> {
        self.inner.move_stage(secret_id, change).await
    }
}

struct Running {
    store: Arc<Store>,
    agent: Arc<Agent<Arc<Store>>>,
    port: u16,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    served: Option<tokio::task::JoinHandle<Result<(), secrets_agent::AgentError>>>,
}

impl Running {
    async fn start(max_connections: usize) -> Self {
        let store = Arc::new(Store::default());
        let cache = SecretCache::new(Arc::clone(&store), CacheConfig::default()).unwrap();
        let agent = Arc::new(Agent::new(cache, Token::new(TOKEN)));
        let listener = server::listen(0).await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let served = tokio::spawn(server::serve(
            Arc::clone(&agent),
            listener,
            max_connections,
            async {
                let _ = stopped.await;
            },
        ));
        Self {
            store,
            agent,
            port,
            stop: Some(stop),
            served: Some(served),
        }
    }

    fn create(&self, name: &str, value: &str) {
        self.store
            .inner
            .create_secret(name, SecretPayload::String(SecretString::new(value)))
            .unwrap();
    }

    fn reads(&self) -> usize {
        self.store.reads.load(Ordering::SeqCst)
    }

    /// `GET target` with `headers`, as a client would send it.
    async fn get(&self, target: &str, headers: &[(&str, &str)]) -> (u16, String) {
        self.request("GET", target, headers).await
    }

    async fn request(&self, method: &str, target: &str, headers: &[(&str, &str)]) -> (u16, String) {
        let mut all = vec![("Host".to_owned(), format!("localhost:{}", self.port))];
        all.extend(
            headers
                .iter()
                .map(|(n, v)| ((*n).to_owned(), (*v).to_owned())),
        );
        let request = Message {
            start_line: format!("{method} {target} HTTP/1.1"),
            headers: all,
            body: Vec::new(),
        };
        let answer = exchange(&request, self.port)
            .await
            .expect("the agent answers");
        let status = answer
            .start_line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .expect("a status line");
        (
            status,
            String::from_utf8(answer.body).expect("a UTF-8 body"),
        )
    }

    async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        self.served.take().unwrap().await.unwrap().unwrap();
    }
}

fn token() -> [(&'static str, &'static str); 1] {
    [("X-Aws-Parameters-Secrets-Token", TOKEN)]
}

fn json(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

/// AWS's documented request (`curl -H "X-Aws-Parameters-Secrets-Token:
/// $AWS_SESSION_TOKEN" localhost:2773/secretsmanager/get?secretId=…`) and
/// the fields its clients read from `GetSecretValue`'s answer.
#[tokio::test]
async fn a_client_written_for_aws_agent_works_unchanged() {
    let agent = Running::start(800).await;
    agent.create("prod/db", r#"{"username":"app","password":"pw-1"}"#);
    let (status, body) = agent
        .get("/secretsmanager/get?secretId=prod%2Fdb", &token())
        .await;
    assert_eq!(status, 200, "{body}");
    let answer = json(&body);
    assert_eq!(answer["Name"], "prod/db");
    assert!(answer["ARN"]
        .as_str()
        .unwrap()
        .starts_with("arn:aws:secretsmanager:"));
    assert_eq!(
        answer["SecretString"],
        r#"{"username":"app","password":"pw-1"}"#
    );
    assert_eq!(answer["VersionStages"], serde_json::json!(["AWSCURRENT"]));
    let version = answer["VersionId"].as_str().unwrap().to_owned();
    assert!(!version.is_empty());

    // The path route, the other header AWS's agent accepts, by version id
    // and by label: one read served all of them but the version id's.
    let (status, body) = agent.get("/v1/prod/db", &[("X-Vault-Token", TOKEN)]).await;
    assert_eq!(
        (status, json(&body)["VersionId"].as_str()),
        (200, Some(version.as_str()))
    );
    let by_id = format!("/secretsmanager/get?secretId=prod/db&versionId={version}");
    assert_eq!(agent.get(&by_id, &token()).await.0, 200);
    let by_stage = "/secretsmanager/get?secretId=prod/db&versionStage=AWSCURRENT";
    assert_eq!(agent.get(by_stage, &token()).await.0, 200);
    assert_eq!(agent.reads(), 2);
    assert_eq!(agent.get("/ping", &[]).await, (200, "healthy".to_owned()));
    agent.stop().await;
}

/// A binary secret comes back base64-encoded in `SecretBinary`, as the
/// service sends it.
#[tokio::test]
async fn a_binary_secret_is_answered_in_base64() {
    let agent = Running::start(800).await;
    agent
        .store
        .inner
        .create_secret(
            "cert",
            SecretPayload::Binary(rotation_core::secret::SecretBytes::new(vec![
                0u8, 1, 2, 255,
            ])),
        )
        .unwrap();
    let (status, body) = agent
        .get("/secretsmanager/get?secretId=cert", &token())
        .await;
    assert_eq!(status, 200);
    let answer = json(&body);
    assert_eq!(answer["SecretBinary"], "AAEC/w==");
    assert!(answer.get("SecretString").is_none());
    agent.stop().await;
}

/// The bad-input table over HTTP: each refused with its status and a body
/// naming what is wrong, none read from the store or held in the cache,
/// and no body quoting the token.
#[tokio::test]
async fn bad_requests_are_refused_clearly_and_change_nothing() {
    let agent = Running::start(800).await;
    agent.create("app", "value-7d1e");
    let wrong = [("X-Aws-Parameters-Secrets-Token", "not-the-token")];
    let forwarded = [
        ("X-Aws-Parameters-Secrets-Token", TOKEN),
        ("X-Forwarded-For", "203.0.113.9"),
    ];
    let get = "/secretsmanager/get?secretId=app";
    let right = token();
    // (method, target, headers, status, __type, words of the message)
    type Case<'a> = (
        &'a str,
        String,
        &'a [(&'a str, &'a str)],
        u16,
        &'a str,
        &'a str,
    );
    let cases: Vec<Case> = vec![
        (
            "GET",
            get.into(),
            &[],
            403,
            "AccessDeniedException",
            "header is missing",
        ),
        (
            "GET",
            get.into(),
            &wrong,
            403,
            "AccessDeniedException",
            "does not hold the agent's token",
        ),
        (
            "GET",
            get.into(),
            &forwarded,
            400,
            "Forwarded",
            "X-Forwarded-For",
        ),
        (
            "POST",
            get.into(),
            &right,
            405,
            "MethodNotAllowed",
            "only GET",
        ),
        (
            "GET",
            "/secretsmanager/get".into(),
            &right,
            400,
            "InvalidParameterException",
            "secretId is required",
        ),
        (
            "GET",
            "/secretsmanager/get?secretId=app&colour=red".into(),
            &right,
            400,
            "InvalidParameterException",
            "unknown parameter \"colour\"",
        ),
        (
            "GET",
            "/secretsmanager/get?secretId=app&refreshNow=1".into(),
            &right,
            400,
            "InvalidParameterException",
            "refreshNow",
        ),
        (
            "GET",
            format!("/secretsmanager/get?secretId={}", "a".repeat(2049)),
            &right,
            400,
            "InvalidParameterException",
            "secretId is 2049 characters",
        ),
        (
            "GET",
            "/secretsmanager/delete?secretId=app".into(),
            &right,
            404,
            "NotFound",
            "no such route",
        ),
    ];
    let tokenless_cache = agent.agent.cache().len();
    for (method, target, headers, status, kind, words) in cases {
        let (got, body) = agent.request(method, &target, headers).await;
        assert_eq!(got, status, "{method} {target}: {body}");
        let answer = json(&body);
        assert_eq!(answer["__type"], kind, "{target}");
        let message = answer["message"].as_str().unwrap();
        assert!(message.contains(words), "{target}: {message}");
        assert!(
            !body.contains(TOKEN) && !body.contains("value-7d1e"),
            "{body}"
        );
    }
    assert_eq!(agent.reads(), 0, "nothing refused reached the store");
    assert_eq!(agent.agent.cache().len(), tokenless_cache);

    // Refused by the store: not found, and a role without the permission,
    // each with the service's code; neither holds a place in the cache.
    let (status, body) = agent
        .get("/secretsmanager/get?secretId=no-such-secret", &token())
        .await;
    assert_eq!(
        (status, json(&body)["__type"].as_str()),
        (400, Some("ResourceNotFoundException"))
    );
    assert!(body.contains("no-such-secret"), "{body}");
    let (status, body) = agent
        .get("/secretsmanager/get?secretId=denied-payroll", &token())
        .await;
    assert_eq!(
        (status, json(&body)["__type"].as_str()),
        (400, Some("AccessDeniedException"))
    );
    let (status, body) = agent
        .get(
            "/secretsmanager/get?secretId=app&versionStage=AWSPENDING",
            &token(),
        )
        .await;
    assert_eq!(
        (status, json(&body)["__type"].as_str()),
        (400, Some("ResourceNotFoundException"))
    );
    assert!(body.contains("AWSPENDING"), "{body}");
    assert_eq!(agent.agent.cache().len(), 0);

    // A head larger than the agent reads: refused by the HTTP layer.
    let huge = "x".repeat(20 * 1024);
    let (status, _) = agent
        .get(
            get,
            &[
                ("X-Aws-Parameters-Secrets-Token", TOKEN),
                ("X-Padding", &huge),
            ],
        )
        .await;
    assert_eq!(status, 431);
    agent.stop().await;
}

/// The rotation-aware part: between setSecret and finishSecret of a
/// single-user rotation, a client refused with AWSCURRENT is pointed at
/// AWSPENDING; refused with that too, it is told there is nothing newer,
/// and asking again at once reads nothing.
#[tokio::test]
async fn a_refused_client_is_pointed_at_the_value_to_try_next() {
    let agent = Running::start(800).await;
    agent.create("app", "old-password");
    let (_, body) = agent
        .get("/secretsmanager/get?secretId=app", &token())
        .await;
    let current = json(&body)["VersionId"].as_str().unwrap().to_owned();
    agent.store.inner.start_rotation("app", "token-2").unwrap();
    agent
        .store
        .inner
        .put_value(
            "app",
            PutValue {
                version_id: "token-2",
                value: &SecretString::new("new-password"),
                stages: &[AWSPENDING],
                rotation_token: None,
            },
        )
        .await
        .unwrap();
    let after =
        |version: &str| format!("/secretsmanager/after-refusal?secretId=app&versionId={version}");
    let (status, body) = agent.get(&after(&current), &token()).await;
    assert_eq!(status, 200, "{body}");
    let next = json(&body);
    assert_eq!(next["SecretString"], "new-password");
    assert_eq!(next["VersionId"], "token-2");
    assert_eq!(next["VersionStages"], serde_json::json!([AWSPENDING]));

    let (status, body) = agent.get(&after("token-2"), &token()).await;
    assert_eq!(
        (status, json(&body)["__type"].as_str()),
        (404, Some("NoNewerValue"))
    );
    let reads = agent.reads();
    let (status, _) = agent.get(&after("token-2"), &token()).await;
    assert_eq!(status, 404);
    assert_eq!(agent.reads(), reads, "backed off: no read");

    // finishSecret: AWSCURRENT moves; refreshNow sees it at once.
    agent
        .store
        .inner
        .move_stage(
            "app",
            MoveStage {
                stage: AWSCURRENT,
                to_version: "token-2",
                from_version: Some(&current),
            },
        )
        .await
        .unwrap();
    let (_, body) = agent
        .get("/secretsmanager/get?secretId=app", &token())
        .await;
    assert_eq!(json(&body)["SecretString"], "old-password", "cached");
    let (_, body) = agent
        .get("/secretsmanager/get?secretId=app&refreshNow=true", &token())
        .await;
    assert_eq!(json(&body)["SecretString"], "new-password");
    agent.stop().await;
}

/// Past `max_connections`, a connection is answered 429 at once instead of
/// queueing.
#[tokio::test]
async fn connections_past_the_limit_are_answered_429() {
    let agent = Running::start(1).await;
    agent.create("app", "v");
    // One client holds its connection open without sending.
    let held = tokio::net::TcpStream::connect(("127.0.0.1", agent.port))
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let (status, body) = agent
        .get("/secretsmanager/get?secretId=app", &token())
        .await;
    assert_eq!(
        (status, json(&body)["__type"].as_str()),
        (429, Some("TooManyConnections"))
    );
    drop(held);
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    assert_eq!(
        agent
            .get("/secretsmanager/get?secretId=app", &token())
            .await
            .0,
        200
    );
    agent.stop().await;
}

/// At TRACE, through successes, refusals and failures: neither a value nor
/// the token in any log line.
#[tokio::test]
async fn nothing_the_agent_logs_holds_a_value_or_the_token() {
    let logs = CapturedLogs::new();
    logs.capture(async {
        let agent = Running::start(800).await;
        agent.create("app", "value-in-a-log-9c2b");
        agent.create("denied-x", "unused");
        for target in [
            "/secretsmanager/get?secretId=app",
            "/secretsmanager/get?secretId=app&refreshNow=true",
            "/secretsmanager/get?secretId=denied-x",
            "/secretsmanager/get?secretId=missing",
            "/secretsmanager/after-refusal?secretId=app&versionId=v",
            "/v1/app",
        ] {
            agent.get(target, &token()).await;
            agent
                .get(
                    target,
                    &[("X-Aws-Parameters-Secrets-Token", "token-4f1c2a9f")],
                )
                .await;
        }
        tracing::debug!(agent = ?agent.agent, "the agent as Debug prints it");
        agent.stop().await;
    })
    .await;
    let text = logs.text_with_spawned();
    assert!(
        text.contains("answered"),
        "the capture saw the agent: {text}"
    );
    assert_no_secret_in(
        "the agent's logs",
        &text,
        &[
            SecretString::new("value-in-a-log-9c2b"),
            SecretString::new(TOKEN),
            SecretString::new("token-4f1c2a9f"),
        ],
    );
}
