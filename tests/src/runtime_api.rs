//! A Lambda Runtime API on 127.0.0.1, served by the tests themselves: what
//! Lambda gives a `provided.al2023` function, small enough to write here
//! (four endpoints over HTTP/1.1), so the end-to-end tests run the built
//! `bootstrap` exactly as Lambda would and see each response or error.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

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

struct Request {
    method: String,
    path: String,
    body: Vec<u8>,
}

async fn serve(
    stream: TcpStream,
    shared: Arc<Shared>,
    queue: Arc<tokio::sync::Mutex<mpsc::UnboundedReceiver<Invocation>>>,
) {
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    // HTTP/1.1 keep-alive: one request after another on the connection.
    while let Some(request) = read_request(&mut reader).await {
        let response = route(request, &shared, &queue).await;
        if write.write_all(&response).await.is_err() {
            return;
        }
    }
}

async fn read_request(reader: &mut BufReader<tokio::net::tcp::OwnedReadHalf>) -> Option<Request> {
    let mut line = String::new();
    if reader.read_line(&mut line).await.ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_owned();
    let path = parts.next()?.to_owned();
    let mut length = 0usize;
    let mut chunked = false;
    loop {
        let mut header = String::new();
        reader.read_line(&mut header).await.ok()?;
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        let (name, value) = header.split_once(':')?;
        match name.trim().to_ascii_lowercase().as_str() {
            "content-length" => length = value.trim().parse().ok()?,
            "transfer-encoding" => chunked = value.to_ascii_lowercase().contains("chunked"),
            _ => {}
        }
    }
    let mut body = Vec::new();
    if chunked {
        loop {
            let mut size = String::new();
            reader.read_line(&mut size).await.ok()?;
            let size = usize::from_str_radix(size.trim().split(';').next()?, 16).ok()?;
            let mut chunk = vec![0; size + 2];
            reader.read_exact(&mut chunk).await.ok()?;
            if size == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..size]);
        }
    } else {
        body.resize(length, 0);
        reader.read_exact(&mut body).await.ok()?;
    }
    Some(Request { method, path, body })
}

fn http(status: &str, headers: &[(&str, String)], body: &[u8]) -> Vec<u8> {
    let mut head = format!("HTTP/1.1 {status}\r\ncontent-length: {}\r\n", body.len());
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    let mut response = head.into_bytes();
    response.extend_from_slice(body);
    response
}

async fn route(
    request: Request,
    shared: &Shared,
    queue: &tokio::sync::Mutex<mpsc::UnboundedReceiver<Invocation>>,
) -> Vec<u8> {
    let accepted = || http("202 Accepted", &[], br#"{"status":"OK"}"#);
    let path = request.path.strip_prefix(PREFIX).unwrap_or(&request.path);
    match (request.method.as_str(), path) {
        ("GET", "/invocation/next") => {
            shared.next_requests.lock().unwrap().push(Instant::now());
            let Some(invocation) = queue.lock().await.recv().await else {
                return http("500 Internal Server Error", &[], b"{}");
            };
            http(
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
                return http("404 Not Found", &[], b"{}");
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
                return http("404 Not Found", &[], b"{}");
            };
            match shared.waiting.lock().unwrap().remove(id) {
                Some(answer) => {
                    let _ = answer.send(outcome);
                    accepted()
                }
                None => http(
                    "400 Bad Request",
                    &[],
                    br#"{"errorMessage":"unknown request id"}"#,
                ),
            }
        }
        _ => http("404 Not Found", &[], b"{}"),
    }
}
