//! A throwaway PostgreSQL cluster: `initdb` in a temporary directory, a free
//! port on 127.0.0.1, `scram-sha-256` for TCP logins, stopped and removed on
//! drop.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use std::io::Write;

use rotation_core::testkit::unique_name;

use rotation_testing::certificates::TestCertificates;
use rotation_testing::free_port;

/// How to install PostgreSQL where the tests look for it.
pub const INSTALL_HINT: &str =
    "install it with `apt-get install -y postgresql` (the README's test command does), \
     or set PG_BIN to the directory holding initdb and pg_ctl";

/// The superuser's name in test clusters.
pub const SUPERUSER: &str = "postgres";

/// A running test cluster.
pub struct PostgresServer {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
    superuser_password: String,
    certificates: Option<TestCertificates>,
}

/// The directory holding `initdb` and `pg_ctl`: `PG_BIN`, or the newest
/// Debian install under /usr/lib/postgresql.
fn pg_bin() -> PathBuf {
    if let Some(bin) = std::env::var_os("PG_BIN") {
        return PathBuf::from(bin);
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|entries| entries.flatten().map(|e| e.path().join("bin")).collect())
        .unwrap_or_default();
    versions.retain(|bin| bin.join("initdb").exists());
    versions.sort();
    versions
        .pop()
        .unwrap_or_else(|| panic!("PostgreSQL's initdb was not found; {INSTALL_HINT}"))
}

fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    // /proc/self belongs to the process's effective user.
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// Runs a PostgreSQL tool; as root, as the `postgres` user (initdb refuses
/// to run as root).
fn run_pg(tool: &Path, args: &[&str]) -> Output {
    let mut command = if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(tool);
        c
    } else {
        Command::new(tool)
    };
    command
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("run {}: {e}; {INSTALL_HINT}", tool.display()))
}

fn check(what: &str, output: Output) {
    assert!(
        output.status.success(),
        "{what} failed ({}): {}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

impl PostgresServer {
    /// Creates and starts a cluster with `extra_config` lines appended to
    /// postgresql.conf (e.g. `log_statement = 'all'`).
    pub fn start_with(extra_config: &[&str]) -> Self {
        Self::start_configured(extra_config, None, "scram-sha-256")
    }

    /// A cluster as RDS and Aurora PostgreSQL 13 and earlier set up by
    /// default: passwords stored as MD5 (`password_encryption = md5`),
    /// TCP logins by `md5` in pg_hba.conf (which answers SCRAM for a
    /// password stored as SCRAM), with TLS as
    /// [`start_with_tls`](Self::start_with_tls).
    pub fn start_md5_with_tls(extra_config: &[&str]) -> Self {
        let mut config = vec!["password_encryption = md5"];
        config.extend_from_slice(extra_config);
        Self::start_configured(&config, Some("IP:127.0.0.1"), "md5")
    }

    /// A cluster that also accepts TLS, with a certificate for 127.0.0.1
    /// from a throwaway authority ([`certificates`](Self::certificates)).
    /// Plaintext logins still work, so a client that fell back to
    /// plaintext would go unnoticed by the server: tests check the client.
    pub fn start_with_tls(extra_config: &[&str]) -> Self {
        Self::start_configured(extra_config, Some("IP:127.0.0.1"), "scram-sha-256")
    }

    /// [`start_with_tls`](Self::start_with_tls) with a certificate for
    /// `subject_alt_names` (e.g. `DNS:db.internal.example`) instead.
    pub fn start_with_tls_for(extra_config: &[&str], subject_alt_names: &str) -> Self {
        Self::start_configured(extra_config, Some(subject_alt_names), "scram-sha-256")
    }

    fn start_configured(extra_config: &[&str], tls_names: Option<&str>, auth_host: &str) -> Self {
        let bin = pg_bin();
        let dir = std::env::temp_dir().join(unique_name("rotation-pg"));
        std::fs::create_dir_all(&dir).expect("create the cluster directory");
        let certificates = tls_names.map(|names| TestCertificates::issue(&dir.join("tls"), names));
        let mut extra_config: Vec<String> = extra_config.iter().map(|l| l.to_string()).collect();
        if let Some(certificates) = &certificates {
            extra_config.push("ssl = on".into());
            extra_config.push(format!(
                "ssl_cert_file = '{}'",
                certificates.server_certificate.display()
            ));
            extra_config.push(format!(
                "ssl_key_file = '{}'",
                certificates.server_key.display()
            ));
        }
        let superuser_password = unique_name("super");
        let pwfile = dir.join("pwfile");
        std::fs::write(&pwfile, &superuser_password).expect("write the password file");
        if is_root() {
            check(
                "chown the cluster directory",
                Command::new("chown")
                    .args(["-R", "postgres:postgres"])
                    .arg(&dir)
                    .output()
                    .expect("run chown"),
            );
        }
        let server = Self {
            bin,
            dir,
            port: free_port(),
            superuser_password,
            certificates,
        };
        let data = server.data_dir();
        check(
            "initdb",
            run_pg(
                &server.bin.join("initdb"),
                &[
                    "-D",
                    data.to_str().unwrap(),
                    "-U",
                    SUPERUSER,
                    "--pwfile",
                    pwfile.to_str().unwrap(),
                    "--auth-local=trust",
                    &format!("--auth-host={auth_host}"),
                    "-E",
                    "UTF8",
                    "--locale=C.UTF-8",
                ],
            ),
        );
        let _ = std::fs::remove_file(&pwfile);
        let mut conf = std::fs::OpenOptions::new()
            .append(true)
            .open(data.join("postgresql.conf"))
            .expect("open postgresql.conf");
        writeln!(conf, "\n# rotation tests\n{}", extra_config.join("\n"))
            .expect("append to postgresql.conf");
        server.start_again();
        server
    }

    /// A physical copy of `self` on its own port, as a replica or a stolen
    /// backup would be: same roles, same passwords, same
    /// `system_identifier`. `self` is stopped for the copy and started
    /// again.
    pub fn start_copy_of(&self) -> Self {
        let dir = std::env::temp_dir().join(unique_name("rotation-pg-copy"));
        std::fs::create_dir_all(&dir).expect("create the copy's directory");
        self.stop();
        let copied = Command::new("cp")
            .arg("-a")
            .arg(self.data_dir())
            .arg(dir.join("data"))
            .output()
            .expect("run cp");
        self.start_again();
        check("copy the data directory", copied);
        if is_root() {
            check(
                "chown the copy's directory",
                Command::new("chown")
                    .args(["-R", "postgres:postgres"])
                    .arg(&dir)
                    .output()
                    .expect("run chown"),
            );
        }
        let _ = std::fs::remove_file(dir.join("data").join("postmaster.pid"));
        let copy = Self {
            bin: self.bin.clone(),
            dir,
            port: free_port(),
            superuser_password: self.superuser_password.clone(),
            certificates: None,
        };
        copy.start_again();
        copy
    }

    /// Creates and starts a cluster with the default configuration.
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    /// The cluster this test binary's tests share, started by the first to
    /// ask and stopped (and removed) when the binary exits. Tests that
    /// share it create their own roles with `unique_name` and never look
    /// at what the whole cluster holds; a test that stops or restarts its
    /// cluster, reads its log, needs TLS or another configuration, or
    /// copies its data directory starts its own with [`start`](Self::start)
    /// or [`start_with`](Self::start_with).
    pub fn shared() -> &'static Self {
        static SHARED: std::sync::OnceLock<PostgresServer> = std::sync::OnceLock::new();
        SHARED.get_or_init(|| {
            let server = Self::start();
            rotation_testing::stop_when_this_process_exits(&server.stop_and_remove_command());
            server
        })
    }

    /// A shell command that stops this cluster's postmaster (by its data
    /// directory) and removes its files, as `Drop` does.
    fn stop_and_remove_command(&self) -> String {
        let pg_ctl = self.bin.join("pg_ctl");
        let as_postgres = if is_root() {
            "runuser -u postgres -- "
        } else {
            ""
        };
        format!(
            "{as_postgres}'{}' -D '{}' -m immediate -w stop; rm -rf '{}'",
            pg_ctl.display(),
            self.data_dir().display(),
            self.dir.display()
        )
    }

    /// The TLS files, for a cluster started with
    /// [`start_with_tls`](Self::start_with_tls).
    pub fn certificates(&self) -> Option<&TestCertificates> {
        self.certificates.as_ref()
    }

    /// The TCP port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The directory of this server's PostgreSQL programs (`pgbench`,
    /// `psql`...).
    pub fn bin_dir(&self) -> &Path {
        &self.bin
    }

    /// The superuser's password.
    pub fn superuser_password(&self) -> &str {
        &self.superuser_password
    }

    /// The server's log file (with `log_statement`, every statement).
    pub fn log_path(&self) -> PathBuf {
        self.dir.join("server.log")
    }

    /// A client configuration for `user` with `password` over TCP.
    pub fn config(&self, user: &str, password: &str, dbname: &str) -> tokio_postgres::Config {
        let mut config = tokio_postgres::Config::new();
        config
            .host("127.0.0.1")
            .port(self.port)
            .user(user)
            .password(password)
            .dbname(dbname)
            .connect_timeout(Duration::from_secs(5));
        config
    }

    /// A connection as `user` to database `postgres`; its driver task runs
    /// until the client drops. Panics, naming the user, if the login fails.
    pub async fn connect_as(&self, user: &str, password: &str) -> tokio_postgres::Client {
        let (client, connection) = self
            .config(user, password, "postgres")
            .connect(tokio_postgres::NoTls)
            .await
            .unwrap_or_else(|e| panic!("connect as {user}: {e}"));
        tokio::spawn(connection);
        client
    }

    /// A superuser connection; its driver task runs until the client drops.
    pub async fn superuser(&self) -> tokio_postgres::Client {
        self.connect_as(SUPERUSER, &self.superuser_password).await
    }

    /// Runs `statements` as the superuser; panics naming them if they fail.
    pub async fn execute(&self, statements: &str) {
        self.superuser()
            .await
            .batch_execute(statements)
            .await
            .unwrap_or_else(|e| panic!("{statements}: {e}"));
    }

    /// Whether a role named `name` exists.
    pub async fn role_exists(&self, name: &str) -> bool {
        !self
            .superuser()
            .await
            .query("SELECT 1 FROM pg_roles WHERE rolname = $1", &[&name])
            .await
            .expect("query pg_roles")
            .is_empty()
    }

    /// Whether `user` logs in with `password` (over TCP, scram-sha-256).
    pub async fn can_log_in(&self, user: &str, password: &str) -> bool {
        match self
            .config(user, password, "postgres")
            .connect(tokio_postgres::NoTls)
            .await
        {
            Ok((client, connection)) => {
                tokio::spawn(connection);
                client.simple_query("SELECT 1").await.is_ok()
            }
            Err(_) => false,
        }
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// Runs `pg_ctl -D <this cluster's data directory> args...`, which acts
    /// on this cluster's postmaster only.
    fn pg_ctl(&self, args: &[&str]) -> Output {
        let data = self.data_dir();
        let mut all = vec!["-D", data.to_str().unwrap()];
        all.extend_from_slice(args);
        run_pg(&self.bin.join("pg_ctl"), &all)
    }

    /// Stops the server (fast mode), keeping its files; `start_again`
    /// brings it back on the same port.
    pub fn stop(&self) {
        check("pg_ctl stop", self.pg_ctl(&["-m", "fast", "-w", "stop"]));
    }

    /// Starts the (stopped) server on its port; `-w` returns once it
    /// accepts connections.
    pub fn start_again(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.dir.display()
        );
        let log = self.log_path();
        check(
            "pg_ctl start",
            self.pg_ctl(&["-l", log.to_str().unwrap(), "-w", "-o", &options, "start"]),
        );
    }
}

impl Drop for PostgresServer {
    fn drop(&mut self) {
        let _ = self.pg_ctl(&["-m", "immediate", "-w", "stop"]);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
