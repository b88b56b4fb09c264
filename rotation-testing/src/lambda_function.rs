//! A built rotator `bootstrap`, started as Lambda starts it: a clean
//! environment, `AWS_LAMBDA_RUNTIME_API` pointing at a [`RuntimeApi`], its
//! stdout and stderr kept for the leak and log-format checks.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rotation_core::testkit::unique_name;

use crate::runtime_api::RuntimeApi;
use crate::workspace_root;

/// Where the release check (`scripts/release-check.sh`) unpacks the
/// shipped x86_64 artifacts; the benchmarks measure these.
pub const LAMBDA_DIR: &str = "target/lambda/x86_64";

/// Set to a directory holding `<bin>/bootstrap` to run those binaries
/// instead of the ones cargo built for the test run: the release check
/// points it at the shipped artifacts.
pub const LAMBDA_DIR_VARIABLE: &str = "ROTATION_LAMBDA_DIR";

/// The `bootstrap` of rotator binary `bin` the test runs.
///
/// By default the binary cargo built for this test run: cargo builds a
/// package's binaries before running its integration tests and names them
/// in `CARGO_BIN_EXE_<bin>`, so the binary is never missing nor older than
/// its sources, and nobody has to build it first. With
/// [`LAMBDA_DIR_VARIABLE`] set, `<dir>/<bin>/bootstrap` instead (the
/// release artifact). Panics when neither names an existing file.
pub fn bootstrap(bin: &str) -> PathBuf {
    if let Some(dir) = std::env::var_os(LAMBDA_DIR_VARIABLE) {
        let path = workspace_root().join(dir).join(bin).join("bootstrap");
        assert!(
            path.is_file(),
            "{LAMBDA_DIR_VARIABLE} is set but {} is missing; `scripts/release-check.sh` builds and unpacks it",
            path.display()
        );
        return path;
    }
    let variable = format!("CARGO_BIN_EXE_{bin}");
    let path = std::env::var_os(&variable)
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            panic!(
            "{variable} is not set: run this test with `cargo test` (or nextest) in the package \
             that builds `{bin}`, which builds it first"
        )
        });
    assert!(
        path.is_file(),
        "{variable} names {}, which is missing",
        path.display()
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
        captured(&self.dir.join("stdout"))
    }

    /// Everything it wrote to stderr so far.
    pub fn stderr(&self) -> String {
        captured(&self.dir.join("stderr"))
    }
}

/// A captured stream as text. Bytes that are not UTF-8 become U+FFFD and
/// the rest is kept, so the leak checks still see a secret printed beside
/// them (reading the file as a `String` failed whole, and gave nothing).
fn captured(path: &Path) -> String {
    let bytes = std::fs::read(path)
        .unwrap_or_else(|e| panic!("read the function's output {}: {e}", path.display()));
    String::from_utf8_lossy(&bytes).into_owned()
}

impl Drop for FunctionProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_that_is_not_utf8_still_shows_a_secret_in_it() {
        let path = std::env::temp_dir().join(unique_name("stderr"));
        let mut bytes = b"panic: \xff\xfe broken bytes, then ".to_vec();
        bytes.extend_from_slice(b"password=hunter2-leaked");
        std::fs::write(&path, &bytes).unwrap();
        let text = captured(&path);
        std::fs::remove_file(&path).unwrap();
        assert!(text.contains("hunter2-leaked"), "{text}");
    }
}
