//! A built rotator `bootstrap`, started as Lambda starts it: a clean
//! environment, `AWS_LAMBDA_RUNTIME_API` pointing at a [`RuntimeApi`], its
//! stdout and stderr kept for the leak and log-format checks.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime};

use rotation_core::testkit::unique_name;

use crate::runtime_api::RuntimeApi;
use crate::workspace_root;

/// Where `cargo lambda build --release --x86-64 --lambda-dir target/lambda/x86_64`
/// (the README's test command) puts the binaries the end-to-end tests run.
pub const LAMBDA_DIR: &str = "target/lambda/x86_64";

/// How the README's test command builds `bin` for [`LAMBDA_DIR`].
fn build_command(bin: &str) -> String {
    format!("cargo lambda build --release --package {bin} --x86-64 --lambda-dir {LAMBDA_DIR}")
}

/// What the shipped binaries are built from, for the staleness check: the
/// workspace manifests, and every source, compiled-in file and manifest of
/// `rotation-core/` and `rotators/`, but not their tests, test-support
/// crates or benchmarks. A new rotator under `rotators/` is covered as is.
const SOURCE_ROOTS: &[&str] = &["rotation-core", "rotators", "Cargo.toml", "Cargo.lock"];

/// Directories that hold no shipped code (documents are skipped too).
const NOT_SHIPPED: &[&str] = &["tests", "testing", "benches", "target", "fuzz"];

fn newest_change(path: &Path) -> SystemTime {
    let own = std::fs::metadata(path)
        .and_then(|m| m.modified())
        .unwrap_or(SystemTime::UNIX_EPOCH);
    match std::fs::read_dir(path) {
        Ok(entries) => entries
            .flatten()
            .filter(|e| !NOT_SHIPPED.iter().any(|n| e.file_name() == *n))
            .filter(|e| !e.file_name().to_string_lossy().ends_with(".md"))
            .map(|e| newest_change(&e.path()))
            .fold(own, SystemTime::max),
        Err(_) => own,
    }
}

/// The newest change to the shipped sources, walked once per test process:
/// they do not change while the tests run.
fn sources_changed() -> SystemTime {
    static NEWEST: OnceLock<SystemTime> = OnceLock::new();
    *NEWEST.get_or_init(|| {
        let root = workspace_root();
        SOURCE_ROOTS
            .iter()
            .map(|s| newest_change(&root.join(s)))
            .fold(SystemTime::UNIX_EPOCH, SystemTime::max)
    })
}

/// The `bootstrap` of rotator binary `bin` for this machine's architecture.
/// Panics, with the command to run, when it is missing or older than the
/// sources: an end-to-end test never runs a stale binary.
pub fn bootstrap(bin: &str) -> PathBuf {
    let root = workspace_root();
    let path = root.join(LAMBDA_DIR).join(bin).join("bootstrap");
    let built = std::fs::metadata(&path)
        .and_then(|m| m.modified())
        .unwrap_or_else(|_| {
            panic!(
                "{} is missing; build it with `{}` (the README's test command does)",
                path.display(),
                build_command(bin)
            )
        });
    assert!(
        built >= sources_changed(),
        "{} is older than the sources; rebuild it with `{}`",
        path.display(),
        build_command(bin)
    );
    path
}

/// The least a function needs to start: its required settings (the
/// provider of `api-key-rotator`; the others need none). Starting is all
/// the start-up measurements do, so any valid value serves.
pub fn settings_to_start(bin: &str) -> Vec<(&'static str, String)> {
    match bin {
        "api-key-rotator" => vec![("API_KEY_PROVIDER", "generated".to_owned())],
        _ => Vec::new(),
    }
}

/// The time from spawning `bootstrap` to its first request for an
/// invocation (its initialisation), measured `starts` times, each with a
/// fresh Runtime API and process.
pub async fn times_to_ready(bootstrap: &Path, starts: usize) -> Vec<Duration> {
    let bin = bootstrap
        .parent()
        .and_then(Path::file_name)
        .and_then(|name| name.to_str())
        .unwrap_or_default();
    let env = settings_to_start(bin);
    let mut times = Vec::with_capacity(starts);
    for _ in 0..starts {
        let api = RuntimeApi::start().await;
        let process = FunctionProcess::start(bootstrap, &api, &env);
        let Some(ready) = api.wait_until_ready(Duration::from_secs(10)).await else {
            panic!(
                "{} did not start: {}",
                bootstrap.display(),
                process.stderr()
            );
        };
        times.push(ready.duration_since(process.started()));
    }
    times
}

/// A running function process; killed when dropped.
pub struct FunctionProcess {
    child: Child,
    dir: PathBuf,
    started: Instant,
}

impl FunctionProcess {
    /// Starts `bootstrap` with Lambda's variables for `api` and `env`, and
    /// nothing else from the test's environment.
    pub fn start(bootstrap: &Path, api: &RuntimeApi, env: &[(&str, String)]) -> Self {
        let dir = std::env::temp_dir().join(unique_name("lambda-function"));
        std::fs::create_dir_all(&dir).expect("create the output directory");
        let stdout = std::fs::File::create(dir.join("stdout")).unwrap();
        let stderr = std::fs::File::create(dir.join("stderr")).unwrap();
        let mut command = Command::new(bootstrap);
        command
            .env_clear()
            .env("AWS_LAMBDA_RUNTIME_API", api.address())
            .env("AWS_LAMBDA_FUNCTION_NAME", "rotation-under-test")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_DEFAULT_REGION", "us-east-1")
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .current_dir(&dir)
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr);
        for (name, value) in env {
            command.env(name, value);
        }
        let started = Instant::now();
        let child = command
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", bootstrap.display()));
        Self {
            child,
            dir,
            started,
        }
    }

    /// When the process was spawned.
    pub fn started(&self) -> Instant {
        self.started
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// The process's id (for reading its memory use).
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Everything it wrote to stdout so far.
    pub fn stdout(&self) -> String {
        std::fs::read_to_string(self.dir.join("stdout")).unwrap_or_default()
    }

    /// Everything it wrote to stderr so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(self.dir.join("stderr")).unwrap_or_default()
    }
}

impl Drop for FunctionProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
