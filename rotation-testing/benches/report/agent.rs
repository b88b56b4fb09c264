//! The secrets agent's figures: the shipped binary's start-up, its cached
//! answers' latency and throughput at several numbers of clients, its
//! memory, and the cost of a hit in `secret-cache` itself.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rotation_core::secret::SecretPayload;
use rotation_core::store::InMemorySecretStore;
use rotation_core::testkit::unique_name;
use rotation_core::SecretString;
use rotation_testing::free_port;
use rotation_testing::http::read_message;
use rotation_testing::measure::{ms, Stats};
use rotation_testing::moto::MotoServer;
use secret_cache::{CacheConfig, SecretCache};
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use crate::{peak_rss_mb, zip_size};

const TOKEN: &str = "bench-token";

/// An agent binary the report measures: ours, or AWS's Secrets Manager
/// Agent when `SECRETS_AGENT_COMPARE_AWS` names a binary of it built by
/// hand (none is built or kept by this project).
pub enum Measured {
    /// `secrets-agent`.
    Ours(PathBuf),
    /// AWS's agent, configured by a file this report writes.
    Aws(PathBuf),
}

impl Measured {
    fn name(&self) -> &'static str {
        match self {
            Measured::Ours(_) => "secrets-agent",
            Measured::Aws(_) => "AWS's Secrets Manager Agent",
        }
    }

    fn binary(&self) -> &Path {
        match self {
            Measured::Ours(path) | Measured::Aws(path) => path,
        }
    }

    /// The agent as a sidecar on `port`, reading moto.
    fn start(&self, moto: &MotoServer, port: u16) -> Child {
        let mut command = Command::new(self.binary());
        command
            .env_clear()
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_ENDPOINT_URL", moto.endpoint())
            .env("AWS_TOKEN", TOKEN)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        match self {
            Measured::Ours(_) => {
                command.env("SECRETS_AGENT_PORT", port.to_string());
            }
            Measured::Aws(_) => {
                // Its defaults but the port, logs to stderr rather than a
                // file, and no STS call at start (which ours does not make).
                let config = aws_config_file(port);
                std::fs::write(
                    &config,
                    format!(
                        "http_port = \"{port}\"\nlog_level = \"WARN\"\nlog_to_file = false\nregion = \"us-east-1\"\nvalidate_credentials = false\n"
                    ),
                )
                .unwrap();
                command.arg("--config").arg(&config);
            }
        }
        command.spawn().expect("start the agent")
    }
}

/// The configuration file AWS's agent on `port` reads (it wants the
/// `.toml` extension).
fn aws_config_file(port: u16) -> PathBuf {
    std::env::temp_dir().join(format!("aws-agent-bench-{port}.toml"))
}

/// Stops an agent started on `port`, by its PID, and removes its files.
fn stop(mut child: Child, port: u16) {
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_file(aws_config_file(port));
}

/// One keep-alive connection, sending GETs one after another.
struct Client {
    stream: BufReader<TcpStream>,
    request: Vec<u8>,
}

impl Client {
    async fn connect(port: u16, target: &str) -> Option<Self> {
        let stream = TcpStream::connect(("127.0.0.1", port)).await.ok()?;
        stream.set_nodelay(true).ok()?;
        let request = format!(
            "GET {target} HTTP/1.1\r\nHost: localhost:{port}\r\nX-Aws-Parameters-Secrets-Token: {TOKEN}\r\n\r\n"
        )
        .into_bytes();
        Some(Self {
            stream: BufReader::new(stream),
            request,
        })
    }

    /// One request; its status.
    async fn get(&mut self) -> u16 {
        self.stream
            .get_mut()
            .write_all(&self.request)
            .await
            .unwrap();
        let answer = read_message(&mut self.stream).await.expect("an answer");
        answer
            .start_line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0)
    }
}

/// Process start to the first answered `/ping`.
async fn start_up(agent: &Measured, moto: &MotoServer, starts: usize) -> Stats {
    let mut times = Vec::new();
    for _ in 0..starts {
        let port = free_port();
        let started = Instant::now();
        let child = agent.start(moto, port);
        loop {
            if let Some(mut client) = Client::connect(port, "/ping").await {
                if client.get().await == 200 {
                    break;
                }
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "the agent never answered"
            );
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
        times.push(started.elapsed());
        stop(child, port);
    }
    Stats::of(times)
}

/// `clients` connections each sending `per_client` cached GETs: every
/// request's latency, and requests per second over the whole run.
async fn load(port: u16, target: &str, clients: usize, per_client: usize) -> (Vec<Duration>, f64) {
    let mut connected = Vec::new();
    for _ in 0..clients {
        connected.push(Client::connect(port, target).await.expect("connect"));
    }
    let started = Instant::now();
    let tasks: Vec<_> = connected
        .into_iter()
        .map(|mut client| {
            tokio::spawn(async move {
                let mut times = Vec::with_capacity(per_client);
                for _ in 0..per_client {
                    let one = Instant::now();
                    assert_eq!(client.get().await, 200);
                    times.push(one.elapsed());
                }
                times
            })
        })
        .collect();
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.unwrap());
    }
    let rate = all.len() as f64 / started.elapsed().as_secs_f64();
    (all, rate)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index]
}

/// The nanoseconds of one `secret-cache` hit, as a Rust application pays
/// it (no HTTP).
async fn cache_hit_ns(calls: u32) -> f64 {
    let store = InMemorySecretStore::new();
    store
        .create_secret("app", SecretPayload::String(SecretString::new("v")))
        .unwrap();
    let cache = SecretCache::new(store, CacheConfig::default()).unwrap();
    cache.get("app").await.unwrap();
    let started = Instant::now();
    for _ in 0..calls {
        std::hint::black_box(cache.get("app").await.unwrap());
    }
    started.elapsed().as_nanos() as f64 / f64::from(calls)
}

/// The agent's section of the report: each of `agents` measured alike.
pub async fn report(out: &mut String, agents: &[Measured], moto: &MotoServer, quick: bool) {
    let (starts, per_client) = if quick { (10, 500) } else { (50, 3000) };
    let name = unique_name("agent-bench");
    moto.client()
        .create_secret()
        .name(&name)
        .secret_string(r#"{"username":"app","password":"a-password-of-thirty-two-chars!"}"#)
        .send()
        .await
        .unwrap();
    let target = format!("/secretsmanager/get?secretId={name}");
    let _ = writeln!(
        out,
        "\n## Secrets agent\n\n`secrets-agent` (the x86_64 release binary from its layer), as a sidecar on 127.0.0.1 reading moto{}. Start-up: process start to the first answered `/ping`, {starts} starts. Cached answers: `GET /secretsmanager/get?secretId=…` with the token header, each client on one keep-alive connection sending its next request when the last is answered, {per_client} requests per client, after one read filled the cache; the clients run in this process, on the same 2 cores as the agent. Peak memory is the agent's VmHWM after all the runs. A `secret-cache` hit is `SecretCache::get` on a held value, in this process, without HTTP.\n",
        if agents.len() > 1 { ", beside AWS's Secrets Manager Agent (built by hand from its repository for this run, never part of this project; its defaults but the port, logs to stderr and no STS check at start)" } else { "" }
    );
    let mut summary = String::new();
    let _ = writeln!(
        out,
        "| agent | clients | median | p99 | requests/s |\n| --- | --- | --- | --- | --- |"
    );
    for agent in agents {
        let start_up_times = start_up(agent, moto, starts).await;
        let port = free_port();
        let child = agent.start(moto, port);
        // Until it listens, then one read fills the cache.
        let first = Instant::now();
        let mut client = loop {
            if let Some(client) = Client::connect(port, &target).await {
                break client;
            }
            assert!(
                first.elapsed() < Duration::from_secs(10),
                "the agent never listened"
            );
            tokio::time::sleep(Duration::from_millis(1)).await;
        };
        assert_eq!(client.get().await, 200, "{} answers", agent.name());
        for clients in [1, 16, 64] {
            let (mut times, rate) = load(port, &target, clients, per_client).await;
            times.sort();
            let _ = writeln!(
                out,
                "| {} | {clients} | {} | {} | {rate:.0} |",
                agent.name(),
                micros(percentile(&times, 0.5)),
                micros(percentile(&times, 0.99)),
            );
        }
        let binary = agent.binary();
        let _ = writeln!(
            summary,
            "- {}: start-up {} median (min {}, max {}); peak memory {:.1} MB; binary {:.2} MB, zip (deflate -9) {:.2} MB",
            agent.name(),
            ms(start_up_times.median),
            ms(start_up_times.min),
            ms(start_up_times.max),
            peak_rss_mb(child.id()),
            std::fs::metadata(binary).map_or(0, |m| m.len()) as f64 / 1e6,
            zip_size(binary) as f64 / 1e6,
        );
        stop(child, port);
    }
    let _ = writeln!(
        out,
        "\n{summary}- `secret-cache` hit: {:.0} ns",
        cache_hit_ns(if quick { 100_000 } else { 1_000_000 }).await
    );
}

fn micros(d: Duration) -> String {
    format!("{:.0} µs", d.as_secs_f64() * 1e6)
}

/// The agents to measure: the one the release check unpacked, and AWS's
/// if `SECRETS_AGENT_COMPARE_AWS` names its binary.
pub fn measured() -> Vec<Measured> {
    let ours =
        rotation_testing::workspace_root().join("target/lambda/x86_64/secrets-agent/secrets-agent");
    assert!(
        ours.exists(),
        "{}: run scripts/release-check.sh",
        ours.display()
    );
    let mut agents = vec![Measured::Ours(ours)];
    if let Some(aws) = std::env::var_os("SECRETS_AGENT_COMPARE_AWS") {
        agents.push(Measured::Aws(PathBuf::from(aws)));
    }
    agents
}
