//! The application in another language: a Python client (the standard
//! library's HTTP client and pg8000) reads its login through the secrets
//! agent, side by side with the same client reading through an agent that
//! behaves as AWS's does (a plain time to live, no refresh ahead, and no
//! route for a refused login), through the rotations of
//! [`comparison`](crate::comparison)'s scenario.

use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use postgres_rotator_testing::PostgresServer;
use rotation_core::testkit::FaultyStore;
use rotation_testing::moto::MotoServer;
use rotation_testing::workspace_root;
use secret_cache::SecretCache;
use secrets_agent::token::Token;
use secrets_agent::{server, Agent};
use tokio::time::Instant;

use crate::comparison::{AppSecret, Comparison, Outcome, Scenario, Strategy};

const TOKEN: &str = "python-client-token";

/// Runs the Python client through both agents side by side, through
/// `scenario.rotations` rotations with `strategy`; the outcomes are the
/// rotation-aware agent's, then the plain one's.
pub async fn run_python(strategy: Strategy, scenario: &Scenario) -> Comparison {
    let server = PostgresServer::start();
    let moto = MotoServer::start();
    let app = AppSecret::new(strategy, &server, &moto).await;
    let arn = app.arn.clone();

    let (aware_config, plain_config) = (scenario.aware_cache(), scenario.plain_cache());
    let duration = scenario.interval * (scenario.rotations as u32 + 1);
    let started = Instant::now();
    let mut clients = Vec::new();
    let mut stops = Vec::new();
    for (name, config, aware) in [
        ("Python through secrets-agent", aware_config, true),
        (
            "Python through a plain time-to-live agent",
            plain_config,
            false,
        ),
    ] {
        let store = Arc::new(FaultyStore::new(moto.store()));
        let cache = SecretCache::new(Arc::clone(&store), config).expect("a valid configuration");
        let agent = Arc::new(Agent::new(cache, Token::new(TOKEN)));
        let listener = server::listen(0).await.expect("listen");
        let port = listener.local_addr().expect("bound").port();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(server::serve(agent, listener, 64, async {
            let _ = stopped.await;
        }));
        stops.push(stop);
        let client = python_client(port, &arn, scenario, duration, aware);
        clients.push((name, store, client));
    }
    app.rotate_through(scenario, started).await;
    let mut outcomes = Vec::new();
    for (name, store, client) in clients {
        let output = client.await.expect("the Python client ran");
        let text = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "{name}: {}{}",
            text,
            String::from_utf8_lossy(&output.stderr)
        );
        let tally: serde_json::Value = serde_json::from_str(text.trim())
            .unwrap_or_else(|e| panic!("{name} printed no tally ({e}): {text}"));
        let count = |field: &str| tally[field].as_u64().unwrap_or(0) as usize;
        let calls = store.take_log().len();
        outcomes.push(Outcome {
            credentials: name,
            connections: count("connections"),
            failed: count("failed"),
            refused_logins: count("refused_logins"),
            longest_outage: Duration::from_secs_f64(
                tally["longest_outage_ms"].as_f64().unwrap_or(0.0) / 1000.0,
            ),
            secrets_manager_calls: calls,
            calls_per_minute: calls as f64 / (duration.as_secs_f64() / 60.0),
        });
    }
    for stop in stops {
        let _ = stop.send(());
    }
    Comparison {
        strategy,
        scenario: scenario.clone(),
        duration: started.elapsed(),
        outcomes,
    }
}

/// The client process, reading from the agent on `port` for `duration`.
fn python_client(
    port: u16,
    secret_id: &str,
    scenario: &Scenario,
    duration: Duration,
    aware: bool,
) -> tokio::task::JoinHandle<std::process::Output> {
    let root = workspace_root();
    let python = root.join(".venv/bin/python");
    let mut command = std::process::Command::new(&python);
    command
        .arg(root.join("examples/database-app/python/agent_client.py"))
        .args(["--port", &port.to_string(), "--token", TOKEN])
        .args(["--secret-id", secret_id])
        .args(["--workers", &scenario.workers.to_string()])
        .args(["--pause-ms", &scenario.pause.as_millis().to_string()])
        .args(["--duration-s", &duration.as_secs_f64().to_string()])
        .stdin(Stdio::null());
    if aware {
        command.arg("--aware");
    }
    tokio::task::spawn_blocking(move || {
        command.output().unwrap_or_else(|e| {
            panic!(
                "run {} (./scripts/install.sh services installs pg8000): {e}",
                python.display()
            )
        })
    })
}
