//! moto's server as the Secrets Manager API.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use aws_sdk_secretsmanager::config::SharedCredentialsProvider;
use aws_sdk_secretsmanager::config::{BehaviorVersion, Credentials, Region};
use rotation_core::aws_query::{QueryClient, RDS};
use rotation_core::store::AwsSecretStore;
use rotation_core::testkit::unique_name;

use crate::{free_port, wait_for_port, workspace_root};

/// How to install moto where the tests look for it.
pub const INSTALL_HINT: &str = "install it with `python3 -m venv .venv && .venv/bin/pip install 'moto[server]' waitress` \
     at the workspace root (the README's test command does), or set MOTO_SERVER to a moto_server binary";

/// A moto server on a free port, stopped on drop.
pub struct MotoServer {
    child: Child,
    port: u16,
}

/// The command that serves moto: `MOTO_SERVER` as given, or the
/// workspace's `.venv` Python running `rotation-testing/moto_server.py` (moto's
/// application with two per-request costs taken out, served with
/// keep-alive).
fn moto_command() -> Command {
    if let Some(binary) = std::env::var_os("MOTO_SERVER") {
        let binary = PathBuf::from(binary);
        assert!(
            binary.exists(),
            "MOTO_SERVER names {}, which does not exist; {INSTALL_HINT}",
            binary.display()
        );
        return Command::new(binary);
    }
    let venv = workspace_root().join(".venv/bin");
    assert!(
        venv.join("moto_server").exists(),
        "moto_server not found in {}; {INSTALL_HINT}",
        venv.display()
    );
    let mut command = Command::new(venv.join("python"));
    command.arg(workspace_root().join("rotation-testing/moto_server.py"));
    command
}

impl MotoServer {
    /// Starts moto; panics with the install command if it is missing.
    ///
    /// The port comes from [`free_port`], which another process can take
    /// before moto binds it (an outgoing connection's local port, say). A
    /// server that exits before it listens is started again on another
    /// port, twice at most; the panic after that shows moto's own output.
    pub fn start() -> Self {
        let mut last_failure = String::new();
        for _ in 0..3 {
            match Self::try_start() {
                Ok(server) => return server,
                Err(failure) => last_failure = failure,
            }
        }
        panic!("moto_server did not start, three times; the last: {last_failure}");
    }

    /// One attempt: moto on a free port, its output in a file that is
    /// removed once it listens (and kept in the error if it does not).
    fn try_start() -> Result<Self, String> {
        let port = free_port();
        let log_path = std::env::temp_dir().join(unique_name("rotation-moto"));
        let log = std::fs::File::create(&log_path).expect("create moto's log file");
        let mut command = moto_command();
        let mut child = command
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("share moto's log file"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("start {command:?}: {e}; {INSTALL_HINT}"));
        let alive = || match child.try_wait() {
            Ok(Some(status)) => {
                let output = std::fs::read_to_string(&log_path).unwrap_or_default();
                let tail: Vec<&str> = output.lines().rev().take(5).collect();
                let tail: Vec<&str> = tail.into_iter().rev().collect();
                Err(format!("{status}; {}", tail.join(" | ")))
            }
            _ => Ok(()),
        };
        let listening = wait_for_port(port, Duration::from_secs(30), "moto_server", alive);
        let outcome = listening.map(|()| Self { child, port });
        // moto keeps writing to the file it holds open; the name goes.
        let _ = std::fs::remove_file(&log_path);
        outcome
    }

    /// The moto server this test binary's tests share, started by the
    /// first to ask and stopped when the binary exits. moto keeps every
    /// secret, user and instance in one process, so tests that share it
    /// name theirs uniquely (`unique_name`); a test that lists or counts
    /// what the whole server holds, or restarts it, starts its own with
    /// [`start`](Self::start).
    pub fn shared() -> &'static Self {
        static SHARED: std::sync::OnceLock<MotoServer> = std::sync::OnceLock::new();
        SHARED.get_or_init(|| {
            let server = Self::start();
            crate::stop_when_this_process_exits(&format!("kill {}", server.child.id()));
            server
        })
    }

    /// The TCP port on 127.0.0.1 (for a proxy in front of it).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The endpoint URL, `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// An SDK client for this server: region us-east-1, dummy credentials.
    pub fn client(&self) -> aws_sdk_secretsmanager::Client {
        let config = aws_sdk_secretsmanager::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("test", "test", None, None, "moto"))
            .endpoint_url(self.endpoint())
            .build();
        aws_sdk_secretsmanager::Client::from_conf(config)
    }

    /// An RDS client for this server (moto serves RDS too), at `endpoint`
    /// (this server's, or a proxy's in front of it): region us-east-1,
    /// dummy credentials. Tests also create moto's instances and clusters
    /// with it (`call("CreateDBInstance", ...)`).
    pub fn rds_client(&self, endpoint: &str) -> QueryClient {
        let config = aws_config::SdkConfig::builder()
            .region(Region::new("us-east-1"))
            .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
                "test", "test", None, None, "moto",
            )))
            .endpoint_url(endpoint)
            .build();
        QueryClient::new(&config, &RDS).expect("an RDS client for moto")
    }

    /// The AWS-SDK store over this server.
    pub fn store(&self) -> AwsSecretStore {
        AwsSecretStore::from_client(self.client())
    }
}

impl MotoServer {
    /// [`store`](Self::store) as the shared handle the kit and the step
    /// driver take.
    pub fn admin_store(&self) -> std::sync::Arc<dyn rotation_core::testkit::SecretAdmin> {
        std::sync::Arc::new(self.store())
    }

    /// A rotator's conformance kit: every case over this server, but the
    /// two store-fault matrices over the in-memory store, as
    /// [`run_all_with_matrix_store`](rotation_core::testkit::conformance::run_all_with_matrix_store)
    /// explains (the state machine's own kit runs them over moto).
    pub async fn run_conformance_kit<H: rotation_core::testkit::RotatorHarness>(
        &self,
        harness: &H,
    ) -> rotation_core::testkit::ConformanceReport {
        rotation_core::testkit::conformance::run_all_with_matrix_store(
            harness,
            self.admin_store(),
            std::sync::Arc::new(rotation_core::store::InMemorySecretStore::new()),
        )
        .await
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        // Our own child, by PID.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
