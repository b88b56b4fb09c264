//! A throwaway MariaDB server: `mariadb-install-db` in a temporary
//! directory, `mariadbd` on a free port on 127.0.0.1, stopped (by its own
//! PID) and removed on drop.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::Duration;

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, OptsBuilder};
use rotation_core::testkit::unique_name;
use rotation_testing::certificates::TestCertificates;
use rotation_testing::{free_port, wait_for_port};

/// How to install MariaDB where the tests look for it.
pub const INSTALL_HINT: &str = "install it with `apt-get install -y mariadb-server` (the README's test command does), or set MARIADB_BIN to the directory holding mariadbd and mariadb-install-db";

/// A running test server. root@127.0.0.1 logs in without a password.
pub struct MariaDbServer {
    dir: PathBuf,
    port: u16,
    args: Vec<String>,
    child: Mutex<Option<Child>>,
    certificates: Option<TestCertificates>,
}

/// Finds a MariaDB program: in `MARIADB_BIN`, /usr/sbin, /usr/bin or PATH.
fn program(name: &str) -> PathBuf {
    if let Some(dir) = std::env::var_os("MARIADB_BIN") {
        return Path::new(&dir).join(name);
    }
    for dir in ["/usr/sbin", "/usr/bin", "/usr/local/bin"] {
        let path = Path::new(dir).join(name);
        if path.exists() {
            return path;
        }
    }
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|path| path.exists())
    });
    found.unwrap_or_else(|| panic!("MariaDB's {name} was not found; {INSTALL_HINT}"))
}

/// Options for every `mariadbd` this starts, the bootstrap one included:
/// small (the tests hold a few accounts) and without Linux native AIO,
/// whose per-process contexts (`fs.aio-max-nr`) many servers at once can
/// run out of.
const SMALL_SERVER: [&str; 4] = [
    "--innodb-buffer-pool-size=16M",
    "--innodb-log-file-size=8M",
    "--innodb-flush-log-at-trx-commit=0",
    "--innodb-use-native-aio=0",
];

/// `mariadb-install-db` into `data`. Tried up to three times: once, with
/// many servers starting at once, a bootstrap failed without a word of
/// why; the last failure's output is in the panic.
fn install(data: &Path) {
    let mut last = String::new();
    for _ in 0..3 {
        let _ = std::fs::remove_dir_all(data);
        let output = Command::new(program("mariadb-install-db"))
            .arg("--no-defaults")
            .arg(format!("--datadir={}", data.display()))
            .args([
                "--user=root",
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
            ])
            .args(SMALL_SERVER)
            .output()
            .unwrap_or_else(|e| panic!("run mariadb-install-db: {e}; {INSTALL_HINT}"));
        if output.status.success() {
            return;
        }
        last = format!(
            "{}: {}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("mariadb-install-db failed three times; the last ({last})");
}

impl MariaDbServer {
    /// Creates and starts a server with the default configuration.
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    /// The server this test binary's tests share, started by the first to
    /// ask and stopped (and removed) when the binary exits. Tests that
    /// share it create their own accounts with `unique_name` and never
    /// look at what the whole server holds; a test that stops or restarts
    /// its server, reads its general log, or needs TLS or other options
    /// starts its own with [`start`](Self::start) or
    /// [`start_with`](Self::start_with).
    pub fn shared() -> &'static Self {
        static SHARED: std::sync::OnceLock<MariaDbServer> = std::sync::OnceLock::new();
        SHARED.get_or_init(|| {
            let server = Self::start();
            let pid = server
                .child
                .lock()
                .unwrap()
                .as_ref()
                .map(Child::id)
                .expect("a started server has a process");
            rotation_testing::stop_when_this_process_exits(&format!(
                "kill -KILL {pid}; rm -rf '{}'",
                server.dir.display()
            ));
            server
        })
    }

    /// Creates and starts a server with extra `mariadbd` options (e.g.
    /// `--general-log=1`).
    pub fn start_with(extra: &[&str]) -> Self {
        Self::start_configured(extra, None, false)
    }

    /// A server whose general query log records every connection and
    /// statement in [`general_log_path`](Self::general_log_path).
    pub fn start_with_general_log() -> Self {
        Self::start_configured(&[], None, true)
    }

    /// A server that also accepts TLS, with a certificate for 127.0.0.1
    /// from a throwaway authority ([`certificates`](Self::certificates)).
    /// Plaintext logins still work, so tests check the client.
    pub fn start_with_tls() -> Self {
        Self::start_configured(&[], Some("IP:127.0.0.1"), false)
    }

    /// [`start_with_tls`](Self::start_with_tls) with a certificate for
    /// `subject_alt_names` (e.g. `DNS:db.internal.example`) instead.
    pub fn start_with_tls_for(subject_alt_names: &str) -> Self {
        Self::start_configured(&[], Some(subject_alt_names), false)
    }

    fn start_configured(extra: &[&str], tls_names: Option<&str>, general_log: bool) -> Self {
        let dir = std::env::temp_dir().join(unique_name("rotation-mariadb"));
        std::fs::create_dir_all(&dir).expect("create the server directory");
        let data = dir.join("data");
        install(&data);
        let certificates = tls_names.map(|names| TestCertificates::issue(&dir.join("tls"), names));
        let port = free_port();
        let mut args = vec![
            "--no-defaults".to_owned(),
            format!("--datadir={}", data.display()),
            format!("--port={port}"),
            "--bind-address=127.0.0.1".to_owned(),
            format!("--socket={}", dir.join("sock").display()),
            format!("--pid-file={}", dir.join("pid").display()),
            "--user=root".to_owned(),
            "--skip-log-bin".to_owned(),
            "--skip-name-resolve".to_owned(),
            format!("--log-error={}", dir.join("error.log").display()),
            "--plugin-load-add=auth_ed25519".to_owned(),
        ];
        args.extend(SMALL_SERVER.iter().map(|a| (*a).to_owned()));
        if let Some(c) = &certificates {
            args.push(format!("--ssl-ca={}", c.ca.display()));
            args.push(format!("--ssl-cert={}", c.server_certificate.display()));
            args.push(format!("--ssl-key={}", c.server_key.display()));
        }
        if general_log {
            args.push("--general-log=1".to_owned());
            args.push(format!(
                "--general-log-file={}",
                dir.join("general.log").display()
            ));
        }
        args.extend(extra.iter().map(|a| (*a).to_owned()));
        let server = Self {
            dir,
            port,
            args,
            child: Mutex::new(None),
            certificates,
        };
        server.start_again();
        server
    }

    /// Starts the (stopped) server on its port; returns once it listens.
    pub fn start_again(&self) {
        let child = Command::new(program("mariadbd"))
            .args(&self.args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("start mariadbd: {e}; {INSTALL_HINT}"));
        *self.child.lock().unwrap() = Some(child);
        let log = self.dir.join("error.log");
        wait_for_port(self.port, Duration::from_secs(30), "mariadbd", || {
            let mut guard = self.child.lock().unwrap();
            match guard.as_mut().map(Child::try_wait) {
                Some(Ok(Some(status))) => Err(format!(
                    "{status}; {}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                )),
                _ => Ok(()),
            }
        })
        .unwrap_or_else(|exited| panic!("{exited}"));
    }

    /// Stops the server (SIGTERM to the process this started, then wait),
    /// keeping its files; [`start_again`](Self::start_again) brings it back.
    pub fn stop(&self) {
        if let Some(mut child) = self.child.lock().unwrap().take() {
            // By the PID of the process this value started and has not
            // reaped: a clean shutdown, unlike Child::kill's SIGKILL.
            let pid = child.id() as i32;
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(pid.to_string())
                .status();
            let _ = child.wait();
        }
    }

    /// The TCP port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The TLS files, for a server started with
    /// [`start_with_tls`](Self::start_with_tls).
    pub fn certificates(&self) -> Option<&TestCertificates> {
        self.certificates.as_ref()
    }

    /// The general query log's path, for a server started with
    /// [`start_with_general_log`](Self::start_with_general_log).
    pub fn general_log_path(&self) -> PathBuf {
        self.dir.join("general.log")
    }

    fn opts(&self, user: &str, password: &str) -> OptsBuilder {
        OptsBuilder::default()
            .ip_or_hostname("127.0.0.1")
            .tcp_port(self.port)
            .user(Some(user))
            .pass(Some(password))
            .prefer_socket(false)
    }

    /// A root session over TCP.
    pub async fn root(&self) -> Conn {
        Conn::new(self.opts("root", ""))
            .await
            .expect("connect as root")
    }

    /// Runs `statements` (separated by `;`) as root; panics naming them if
    /// one fails.
    pub async fn execute(&self, statements: &str) {
        let mut root = self.root().await;
        root.query_drop(statements)
            .await
            .unwrap_or_else(|e| panic!("{statements}: {e}"));
        let _ = root.disconnect().await;
    }

    /// Rows of `query` as root, each column as text.
    pub async fn rows(&self, query: &str) -> Vec<Vec<String>> {
        let mut root = self.root().await;
        let rows: Vec<mysql_async::Row> = root
            .query(query)
            .await
            .unwrap_or_else(|e| panic!("{query}: {e}"));
        let _ = root.disconnect().await;
        rows.into_iter()
            .map(|row| {
                (0..row.len())
                    .map(|i| {
                        row.get_opt::<Vec<u8>, _>(i)
                            .and_then(Result::ok)
                            .map(|b| String::from_utf8_lossy(&b).into_owned())
                            .unwrap_or_else(|| "NULL".into())
                    })
                    .collect()
            })
            .collect()
    }

    /// The hosts `user` exists at, sorted.
    pub async fn hosts_of(&self, user: &str) -> Vec<String> {
        let query = format!(
            "SELECT Host FROM mysql.user WHERE User = '{}' ORDER BY Host",
            user.replace('\\', "\\\\").replace('\'', "''")
        );
        self.rows(&query)
            .await
            .into_iter()
            .map(|r| r[0].clone())
            .collect()
    }

    /// Whether `user` logs in with `password` over TCP as that user (not
    /// an anonymous account). A refused login is tried once more:
    /// mysql_async fails one ed25519 login in 256 (it drops a trailing
    /// zero from MariaDB's nonce).
    pub async fn can_log_in(&self, user: &str, password: &str) -> bool {
        self.logs_in_once(user, password).await || self.logs_in_once(user, password).await
    }

    async fn logs_in_once(&self, user: &str, password: &str) -> bool {
        let Ok(Ok(mut conn)) = tokio::time::timeout(
            Duration::from_secs(10),
            Conn::new(self.opts(user, password)),
        )
        .await
        else {
            return false;
        };
        let who: Option<String> = conn
            .query_first("SELECT CURRENT_USER()")
            .await
            .ok()
            .flatten();
        let _ = conn.disconnect().await;
        who.is_some_and(|w| w.rsplit_once('@').is_some_and(|(u, _)| u == user))
    }
}

impl Drop for MariaDbServer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.lock().unwrap().take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
