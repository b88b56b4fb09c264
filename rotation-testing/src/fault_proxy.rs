//! An HTTP proxy in front of moto that fails requests the way Secrets
//! Manager does on a bad day: `ThrottlingException`, HTTP 500 and 503,
//! connections reset mid-request, and slow answers. It can also rewrite
//! answers, e.g. to point the made-up host names of moto's RDS at a local
//! database server.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use crate::http::{exchange, read_message, response, Message};

/// One injected failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// HTTP 400 `ThrottlingException`, as when the account's request rate
    /// is exceeded.
    Throttle,
    /// HTTP 500 `InternalServiceError`.
    InternalError,
    /// HTTP 503 `ServiceUnavailable`.
    Unavailable,
    /// The connection is reset without an answer.
    Reset,
    /// The answer comes after this long.
    Slow(Duration),
}

/// Which requests fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultPlan {
    /// None: a plain proxy.
    Pass,
    /// Each call's first attempt, as the SDK numbers it in the
    /// `amz-sdk-request` header (`attempt=1`); retries go through. By the
    /// header, not by counting: under load an attempt that times out on
    /// the client side would shift a count.
    FirstAttempts(Fault),
    /// Every request.
    Always(Fault),
}

#[derive(Debug)]
struct State {
    plan: FaultPlan,
    requests: usize,
    injected: Vec<(String, Fault)>,
    rewrites: Vec<(String, String)>,
}

/// A running proxy; stops when dropped.
pub struct FaultProxy {
    port: u16,
    state: Arc<Mutex<State>>,
    task: JoinHandle<()>,
}

impl FaultProxy {
    /// A proxy to `127.0.0.1:upstream_port`, passing everything through
    /// until a plan is set.
    pub async fn start(upstream_port: u16) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the proxy");
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(Mutex::new(State {
            plan: FaultPlan::Pass,
            requests: 0,
            injected: Vec::new(),
            rewrites: Vec::new(),
        }));
        let task = tokio::spawn({
            let state = Arc::clone(&state);
            async move {
                while let Ok((client, _)) = listener.accept().await {
                    tokio::spawn(serve(client, upstream_port, Arc::clone(&state)));
                }
            }
        });
        Self { port, state, task }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Sets which of the following requests fail; restarts the count.
    pub fn set_plan(&self, plan: FaultPlan) {
        let mut state = self.state.lock().unwrap();
        state.plan = plan;
        state.requests = 0;
    }

    /// From now on, every `from` in an answer's body becomes `to`.
    pub fn rewrite(&self, from: impl Into<String>, to: impl Into<String>) {
        let mut state = self.state.lock().unwrap();
        state.rewrites.push((from.into(), to.into()));
    }

    /// Requests seen since the plan was set.
    pub fn requests(&self) -> usize {
        self.state.lock().unwrap().requests
    }

    /// Every fault injected so far, with the operation it hit
    /// (`X-Amz-Target`, e.g. `secretsmanager.GetSecretValue`).
    pub fn injected(&self) -> Vec<(String, Fault)> {
        self.state.lock().unwrap().injected.clone()
    }
}

fn decide(state: &Mutex<State>, request: &Message) -> Option<Fault> {
    let mut state = state.lock().unwrap();
    state.requests += 1;
    let fault = match state.plan {
        FaultPlan::Pass => None,
        FaultPlan::FirstAttempts(fault) => is_first_attempt(request).then_some(fault),
        FaultPlan::Always(fault) => Some(fault),
    }?;
    let target = request.header("x-amz-target").unwrap_or("?").to_owned();
    state.injected.push((target, fault));
    Some(fault)
}

/// Whether the SDK says this is a call's first attempt
/// (`amz-sdk-request: attempt=1; max=3`). A request without the header is
/// no SDK call's retry, so it counts as a first attempt.
fn is_first_attempt(request: &Message) -> bool {
    request
        .header("amz-sdk-request")
        .and_then(|value| {
            value
                .split(';')
                .find_map(|part| part.trim().strip_prefix("attempt="))
                .map(|attempt| attempt.trim() == "1")
        })
        .unwrap_or(true)
}

fn error_answer(status: &str, error_type: &str) -> Vec<u8> {
    let body = format!(r#"{{"__type":"{error_type}","message":"injected by the test proxy"}}"#);
    response(
        status,
        &[
            ("content-type", "application/x-amz-json-1.1".into()),
            ("x-amzn-errortype", error_type.into()),
        ],
        body.as_bytes(),
    )
}

async fn serve(client: TcpStream, upstream_port: u16, state: Arc<Mutex<State>>) {
    let mut client = BufReader::new(client);
    while let Some(request) = read_message(&mut client).await {
        let answer = match decide(&state, &request) {
            Some(Fault::Throttle) => error_answer("400 Bad Request", "ThrottlingException"),
            Some(Fault::InternalError) => {
                error_answer("500 Internal Server Error", "InternalServiceError")
            }
            Some(Fault::Unavailable) => {
                error_answer("503 Service Unavailable", "ServiceUnavailable")
            }
            Some(Fault::Reset) => {
                // SO_LINGER 0: closing sends RST, not FIN.
                let _ = client.get_ref().set_zero_linger();
                return;
            }
            Some(Fault::Slow(delay)) => {
                tokio::time::sleep(delay).await;
                match forward(&request, upstream_port, &state).await {
                    Some(answer) => answer,
                    None => return,
                }
            }
            None => match forward(&request, upstream_port, &state).await {
                Some(answer) => answer,
                None => return,
            },
        };
        if client.get_mut().write_all(&answer).await.is_err() {
            return;
        }
    }
}

/// Sends `request` to the upstream on a new connection and returns its
/// answer, rewritten and re-framed with a Content-Length.
async fn forward(request: &Message, upstream_port: u16, state: &Mutex<State>) -> Option<Vec<u8>> {
    let mut answer = exchange(request, upstream_port).await?;
    let rewrites = state.lock().unwrap().rewrites.clone();
    if !rewrites.is_empty() {
        let mut body = String::from_utf8_lossy(&answer.body).into_owned();
        for (from, to) in &rewrites {
            body = body.replace(from.as_str(), to);
        }
        answer.body = body.into_bytes();
    }
    Some(answer.to_bytes())
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}
