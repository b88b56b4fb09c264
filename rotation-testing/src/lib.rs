//! Real services for the project's tests, started on free ports on
//! 127.0.0.1 and stopped (by the PID we started) when dropped.
//!
//! A test that needs a service fails, with the command that installs it,
//! when the service is missing; it never skips.

#![warn(missing_docs)]

pub mod certificates;
pub mod database_attacks;
pub mod fault_proxy;
pub mod function_checks;
pub mod http;
pub mod lambda_e2e;
pub mod lambda_function;
pub mod measure;
pub mod moto;
pub mod rotating_service;
pub mod runtime_api;

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The workspace root (this crate lives in `<root>/rotation-testing`).
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("rotation-testing sits in the workspace")
        .to_path_buf()
}

/// A port nothing listens on right now. The OS picks it; the listener is
/// closed before the service binds it.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("bind an ephemeral port on 127.0.0.1")
}

/// A port on 127.0.0.1 where a server accepts connections and never says
/// a word (nor closes them) for as long as the test process runs: a host
/// that hangs, for timeout and deadline tests.
pub fn silent_port() -> u16 {
    SilentPort::start().port
}

/// A [`silent_port`] that counts the connections it accepted: how many
/// attempts a client made, without timing it.
pub struct SilentPort {
    /// The port.
    pub port: u16,
    accepted: Arc<AtomicUsize>,
}

impl SilentPort {
    /// Starts the silent server.
    pub fn start() -> Self {
        let silent = TcpListener::bind("127.0.0.1:0").expect("bind a silent port");
        let port = silent.local_addr().unwrap().port();
        let accepted = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&accepted);
        std::thread::spawn(move || {
            let mut held = Vec::new();
            for stream in silent.incoming() {
                counter.fetch_add(1, Ordering::SeqCst);
                held.push(stream);
            }
        });
        Self { port, accepted }
    }

    /// The connections accepted so far.
    pub fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

/// Runs `stop` (a shell command) once this process has exited, however it
/// exits: for a server shared by a test binary's tests, which lives in a
/// `static` and so is never dropped. A small `sh` loop watches this
/// process's id, then stops the server by the PID or directory this
/// process gave it.
pub fn stop_when_this_process_exits(stop: &str) {
    let watcher = format!(
        "while kill -0 {parent} 2>/dev/null; do sleep 0.2; done; {stop}",
        parent = std::process::id()
    );
    // Never waited on: the watcher outlives this process by design, and
    // init reaps it.
    #[allow(clippy::zombie_processes)]
    std::process::Command::new("sh")
        .args(["-c", &watcher])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start the watcher that stops a shared server at exit");
}

/// Waits until something accepts connections on `port`. `alive` says
/// whether the process that should listen is still running; if it has
/// exited, the error names `what`, the port and `alive`'s answer, and the
/// caller decides (a port taken by someone else is worth another try).
/// Panics after `timeout`.
pub fn wait_for_port(
    port: u16,
    timeout: Duration,
    what: &str,
    mut alive: impl FnMut() -> Result<(), String>,
) -> Result<(), String> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let started = Instant::now();
    loop {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(100)).is_ok() {
            return Ok(());
        }
        if let Err(exit) = alive() {
            return Err(format!(
                "{what} exited before listening on port {port}: {exit}"
            ));
        }
        assert!(
            started.elapsed() < timeout,
            "{what} did not listen on port {port} within {timeout:?}"
        );
        std::thread::sleep(Duration::from_millis(25));
    }
}
