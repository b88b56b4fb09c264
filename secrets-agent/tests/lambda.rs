//! The built agent binary: as a Lambda extension against a local emulation
//! of Lambda's Extensions API, and as a sidecar, reading from moto's
//! Secrets Manager. Services tier, but for the start-up refusal, which
//! needs nothing.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rotation_core::testkit::assert_no_secret_in;
use rotation_core::testkit::unique_name;
use rotation_core::SecretString;
use rotation_testing::free_port;
use rotation_testing::http::{exchange, read_message, response, Message};
use rotation_testing::moto::MotoServer;
use tokio::net::TcpListener;
use tokio::sync::{oneshot, Notify};

const TOKEN: &str = "session-token-2b8f";

/// The agent process, killed (by its PID) if the test ends first; its
/// output goes to files so the test can read it afterwards.
struct AgentProcess {
    child: Child,
    output: std::path::PathBuf,
}

impl AgentProcess {
    fn start(env: &[(&str, String)]) -> Self {
        let output = std::env::temp_dir().join(unique_name("secrets-agent-output"));
        let log = std::fs::File::create(&output).unwrap();
        let mut command = Command::new(Path::new(env!("CARGO_BIN_EXE_secrets-agent")));
        command
            .env_clear()
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_LAMBDA_LOG_LEVEL", "TRACE")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log);
        for (name, value) in env {
            command.env(name, value);
        }
        let child = command.spawn().expect("start the agent");
        Self { child, output }
    }

    /// Waits for the process to end, up to `budget`.
    fn wait(&mut self, budget: Duration) -> Option<std::process::ExitStatus> {
        let until = Instant::now() + budget;
        while Instant::now() < until {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        None
    }

    fn output(&self) -> String {
        std::fs::read_to_string(&self.output).unwrap_or_default()
    }
}

impl Drop for AgentProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.output);
    }
}

async fn get(port: u16, target: &str) -> Option<(u16, String)> {
    let request = Message {
        start_line: format!("GET {target} HTTP/1.1"),
        headers: vec![
            ("Host".into(), format!("localhost:{port}")),
            ("X-Aws-Parameters-Secrets-Token".into(), TOKEN.into()),
        ],
        body: Vec::new(),
    };
    let answer = exchange(&request, port).await?;
    let status = answer.start_line.split_whitespace().nth(1)?.parse().ok()?;
    Some((status, String::from_utf8(answer.body).ok()?))
}

/// What the emulated Extensions API saw.
#[derive(Default)]
struct Seen {
    registered: Option<(String, String)>,
    next_with: Option<String>,
}

/// Lambda's Extensions API, as much of it as an extension registered for
/// SHUTDOWN uses: register, then one `event/next` held until the test
/// sends the shutdown.
async fn extensions_api(
    seen: Arc<Mutex<Seen>>,
    next_called: Arc<Notify>,
    shutdown: oneshot::Receiver<()>,
) -> u16 {
    let listener = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let shutdown = Arc::new(tokio::sync::Mutex::new(Some(shutdown)));
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let seen = Arc::clone(&seen);
            let next_called = Arc::clone(&next_called);
            let shutdown = Arc::clone(&shutdown);
            tokio::spawn(async move {
                let mut stream = tokio::io::BufReader::new(stream);
                let Some(request) = read_message(&mut stream).await else {
                    return;
                };
                let (method, path) = request.method_and_path();
                let answer = match (method, path) {
                    ("POST", "/2020-01-01/extension/register") => {
                        let name = request.header("Lambda-Extension-Name").unwrap_or("");
                        let body = String::from_utf8_lossy(&request.body).into_owned();
                        seen.lock().unwrap().registered = Some((name.to_owned(), body));
                        response(
                            "200 OK",
                            &[("Lambda-Extension-Identifier", "ext-7".into())],
                            br#"{"functionName":"app","functionVersion":"$LATEST","handler":"bootstrap"}"#,
                        )
                    }
                    ("GET", "/2020-01-01/extension/event/next") => {
                        let id = request.header("Lambda-Extension-Identifier").unwrap_or("");
                        seen.lock().unwrap().next_with = Some(id.to_owned());
                        next_called.notify_one();
                        if let Some(shutdown) = shutdown.lock().await.take() {
                            let _ = shutdown.await;
                        }
                        response(
                            "200 OK",
                            &[],
                            br#"{"eventType":"SHUTDOWN","shutdownReason":"spindown","deadlineMs":1700000002000}"#,
                        )
                    }
                    _ => response("404 Not Found", &[], b""),
                };
                let _ = tokio::io::AsyncWriteExt::write_all(stream.get_mut(), &answer).await;
            });
        }
    });
    port
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "services tier: cargo test --tests -- --include-ignored (CONTRIBUTING.md)"]
async fn as_a_lambda_extension_it_serves_from_before_the_first_invocation_until_shutdown() {
    let moto = MotoServer::shared();
    let name = unique_name("agent-extension");
    moto.client()
        .create_secret()
        .name(&name)
        .secret_string(r#"{"password":"extension-value-51ad"}"#)
        .send()
        .await
        .unwrap();
    let seen = Arc::new(Mutex::new(Seen::default()));
    let next_called = Arc::new(Notify::new());
    let (send_shutdown, shutdown) = oneshot::channel();
    let api = extensions_api(Arc::clone(&seen), Arc::clone(&next_called), shutdown).await;
    let port = free_port();
    let mut agent = AgentProcess::start(&[
        ("AWS_LAMBDA_RUNTIME_API", format!("127.0.0.1:{api}")),
        ("AWS_SESSION_TOKEN", TOKEN.into()),
        ("AWS_ENDPOINT_URL", moto.endpoint()),
        ("PARAMETERS_SECRETS_EXTENSION_HTTP_PORT", port.to_string()),
    ]);
    tokio::time::timeout(Duration::from_secs(10), next_called.notified())
        .await
        .unwrap_or_else(|_| {
            panic!(
                "the agent never asked for its next event: {}",
                agent.output()
            )
        });
    {
        let seen = seen.lock().unwrap();
        let (registered_as, events) = seen.registered.clone().expect("registered");
        assert_eq!(registered_as, "secrets-agent", "the extension's file name");
        assert_eq!(events, r#"{"events":["SHUTDOWN"]}"#);
        assert_eq!(seen.next_with.as_deref(), Some("ext-7"));
    }
    // Lambda invokes the function once every extension has asked for its
    // next event: the agent must answer from that moment on.
    let target = format!("/secretsmanager/get?secretId={name}");
    let (status, body) = get(port, &target)
        .await
        .expect("listening at the first invocation");
    assert_eq!(status, 200, "{body}");
    let answer: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        answer["SecretString"],
        r#"{"password":"extension-value-51ad"}"#
    );
    assert_eq!(answer["Name"], name.as_str());
    assert!(answer["CreatedDate"].as_f64().is_some(), "{body}");

    send_shutdown.send(()).unwrap();
    let status = agent
        .wait(Duration::from_secs(5))
        .expect("stopped at SHUTDOWN");
    assert!(status.success(), "{status}: {}", agent.output());
    assert!(get(port, "/ping").await.is_none(), "no longer listening");
    let output = agent.output();
    assert!(output.contains("shutting the environment down"), "{output}");
    assert!(output.contains("answered"), "DEBUG lines are on: {output}");
    assert_no_secret_in(
        "the agent's output at TRACE",
        &output,
        &[
            SecretString::new("extension-value-51ad"),
            SecretString::new(TOKEN),
        ],
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "services tier: cargo test --tests -- --include-ignored (CONTRIBUTING.md)"]
async fn as_a_sidecar_it_serves_until_sigterm() {
    let moto = MotoServer::shared();
    let name = unique_name("agent-sidecar");
    moto.client()
        .create_secret()
        .name(&name)
        .secret_string("sidecar-value-0e6f")
        .send()
        .await
        .unwrap();
    let port = free_port();
    let token_file = std::env::temp_dir().join(unique_name("agent-token"));
    std::fs::write(&token_file, format!("{TOKEN}\n")).unwrap();
    let mut agent = AgentProcess::start(&[
        ("AWS_TOKEN", format!("file://{}", token_file.display())),
        ("AWS_ENDPOINT_URL", moto.endpoint()),
        ("SECRETS_AGENT_PORT", port.to_string()),
    ]);
    let listening = Instant::now() + Duration::from_secs(10);
    let (status, body) = loop {
        if let Some(answer) = get(port, &format!("/v1/{name}")).await {
            break answer;
        }
        assert!(
            Instant::now() < listening,
            "never listened: {}",
            agent.output()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    std::fs::remove_file(&token_file).unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("sidecar-value-0e6f"));
    let pid = agent.child.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let status = agent
        .wait(Duration::from_secs(5))
        .expect("stopped at SIGTERM");
    assert!(status.success(), "{status}: {}", agent.output());
}

/// Without a token it refuses to start, naming the variables, instead of
/// serving secrets to any request.
#[test]
fn without_a_token_it_refuses_to_start() {
    let mut agent = AgentProcess::start(&[("SECRETS_AGENT_PORT", free_port().to_string())]);
    let status = agent.wait(Duration::from_secs(10)).expect("it exits");
    assert!(!status.success());
    let output = agent.output();
    for variable in [
        "AWS_TOKEN",
        "AWS_SESSION_TOKEN",
        "AWS_CONTAINER_AUTHORIZATION_TOKEN",
    ] {
        assert!(output.contains(variable), "{output}");
    }
}
