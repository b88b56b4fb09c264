//! A Lambda Runtime API on 127.0.0.1, served by the tests themselves: what
//! Lambda gives a `provided.al2023` function, small enough to write here
//! (four endpoints over HTTP/1.1), so the end-to-end tests run the built
//! `bootstrap` exactly as Lambda would and see each response or error.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::http::{read_message, response, Message};

const PREFIX: &str = "/2018-06-01/runtime";

/// The ARN the function is told it was invoked as.
pub const FUNCTION_ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:rotation-under-test";

/// What an invocation ended with.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The function's response body, as JSON.
    Response(Value),
    /// The function reported an error.
    Error {
        /// `errorType`.
        error_type: String,
        /// `errorMessage`.
        message: String,
    },
}

struct Invocation {
    request_id: String,
    event: Vec<u8>,
    deadline_ms: u128,
}

#[derive(Default)]
struct Shared {
    /// Requests for the next invocation, by arrival time.
    next_requests: Mutex<Vec<Instant>>,
    /// Invocations sent to the function and not answered yet.
    waiting: Mutex<HashMap<String, oneshot::Sender<Outcome>>>,
    /// What the function reported through `/init/error`.
    init_error: Mutex<Option<String>>,
}

/// A running Runtime API; stops when dropped.
pub struct RuntimeApi {
    port: u16,
    shared: Arc<Shared>,
    invocations: mpsc::UnboundedSender<Invocation>,
    server: JoinHandle<()>,
    counter: Mutex<u64>,
}

impl RuntimeApi {
    /// Listens on a free port of 127.0.0.1.
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the runtime API");
        let port = listener.local_addr().unwrap().port();
        let shared = Arc::new(Shared::default());
        let (invocations, queue) = mpsc::unbounded_channel();
        let queue = Arc::new(tokio::sync::Mutex::new(queue));
        let server = tokio::spawn({
            let shared = Arc::clone(&shared);
            async move {
                while let Ok((stream, _)) = listener.accept().await {
                    tokio::spawn(serve(stream, Arc::clone(&shared), Arc::clone(&queue)));
                }
            }
        });
        Self {
            port,
            shared,
            invocations,
            server,
            counter: Mutex::new(0),
        }
    }

    /// The value for `AWS_LAMBDA_RUNTIME_API`.
    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// When each `next` request arrived.
    pub fn next_requests(&self) -> Vec<Instant> {
        self.shared.next_requests.lock().unwrap().clone()
    }

    /// Waits up to `timeout` for the first `next` request: the function is
    /// initialised and ready. `None` if it never came.
    pub async fn wait_until_ready(&self, timeout: Duration) -> Option<Instant> {
        let started = Instant::now();
        loop {
            if let Some(first) = self.next_requests().first() {
                return Some(*first);
            }
            if started.elapsed() > timeout {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    /// What the function reported through `/init/error`, if anything.
    pub fn init_error(&self) -> Option<String> {
        self.shared.init_error.lock().unwrap().clone()
    }

    /// Invokes the function with `event` and a deadline `budget` from now,
    /// as Lambda does with the function's timeout; waits for its answer.
    /// `None` when none came within `budget` plus a second (a hang).
    pub async fn invoke(&self, event: &Value, budget: Duration) -> Option<Outcome> {
        let request_id = {
            let mut counter = self.counter.lock().unwrap();
            *counter += 1;
            format!("request-{}", *counter)
        };
        let deadline = SystemTime::now() + budget;
        let (answer, answered) = oneshot::channel();
        self.shared
            .waiting
            .lock()
            .unwrap()
            .insert(request_id.clone(), answer);
        self.invocations
            .send(Invocation {
                request_id,
                event: serde_json::to_vec(event).unwrap(),
                deadline_ms: deadline.duration_since(UNIX_EPOCH).unwrap().as_millis(),
            })
            .expect("the runtime API is running");
        tokio::time::timeout(budget + Duration::from_secs(1), answered)
            .await
            .ok()
            .and_then(Result::ok)
    }
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn serve(
    stream: TcpStream,
    shared: Arc<Shared>,
    queue: Arc<tokio::sync::Mutex<mpsc::UnboundedReceiver<Invocation>>>,
) {
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    // HTTP/1.1 keep-alive: one request after another on the connection.
    while let Some(request) = read_message(&mut reader).await {
        let answer = route(request, &shared, &queue).await;
        if write.write_all(&answer).await.is_err() {
            return;
        }
    }
}

async fn route(
    request: Message,
    shared: &Shared,
    queue: &tokio::sync::Mutex<mpsc::UnboundedReceiver<Invocation>>,
) -> Vec<u8> {
    let accepted = || response("202 Accepted", &[], br#"{"status":"OK"}"#);
    let (method, path) = request.method_and_path();
    let path = path.strip_prefix(PREFIX).unwrap_or(path);
    match (method, path) {
        ("GET", "/invocation/next") => {
            shared.next_requests.lock().unwrap().push(Instant::now());
            let Some(invocation) = queue.lock().await.recv().await else {
                return response("500 Internal Server Error", &[], b"{}");
            };
            response(
                "200 OK",
                &[
                    ("content-type", "application/json".into()),
                    ("lambda-runtime-aws-request-id", invocation.request_id),
                    (
                        "lambda-runtime-deadline-ms",
                        invocation.deadline_ms.to_string(),
                    ),
                    ("lambda-runtime-invoked-function-arn", FUNCTION_ARN.into()),
                    (
                        "lambda-runtime-trace-id",
                        "Root=1-00000000-000000000000000000000000".into(),
                    ),
                ],
                &invocation.event,
            )
        }
        ("POST", "/init/error") => {
            *shared.init_error.lock().unwrap() =
                Some(String::from_utf8_lossy(&request.body).into_owned());
            accepted()
        }
        ("POST", path) => {
            let Some(rest) = path.strip_prefix("/invocation/") else {
                return response("404 Not Found", &[], b"{}");
            };
            let outcome = match rest.rsplit_once('/') {
                Some((id, "response")) => Some((
                    id,
                    Outcome::Response(serde_json::from_slice(&request.body).unwrap_or(Value::Null)),
                )),
                Some((id, "error")) => {
                    let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
                    let text = |key: &str| {
                        body.get(key)
                            .and_then(Value::as_str)
                            .unwrap_or("")
                            .to_owned()
                    };
                    Some((
                        id,
                        Outcome::Error {
                            error_type: text("errorType"),
                            message: text("errorMessage"),
                        },
                    ))
                }
                _ => None,
            };
            let Some((id, outcome)) = outcome else {
                return response("404 Not Found", &[], b"{}");
            };
            match shared.waiting.lock().unwrap().remove(id) {
                Some(answer) => {
                    let _ = answer.send(outcome);
                    accepted()
                }
                None => response(
                    "400 Bad Request",
                    &[],
                    br#"{"errorMessage":"unknown request id"}"#,
                ),
            }
        }
        _ => response("404 Not Found", &[], b"{}"),
    }
}
