//! A throwaway PostgreSQL cluster: `initdb` in a temporary directory, a free
//! port on 127.0.0.1, `scram-sha-256` for TCP logins, stopped and removed on
//! drop.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use crate::{free_port, wait_for_port};

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
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
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
        let bin = pg_bin();
        let dir = std::env::temp_dir().join(format!("rotation-pg-{}", crate::unique_suffix()));
        std::fs::create_dir_all(&dir).expect("create the cluster directory");
        let superuser_password = format!("super-{}", crate::unique_suffix());
        std::fs::write(dir.join("pwfile"), &superuser_password).expect("write the password file");
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
        let data = dir.join("data");
        let pwfile = dir.join("pwfile");
        check(
            "initdb",
            run_pg(
                &bin.join("initdb"),
                &[
                    "-D",
                    data.to_str().unwrap(),
                    "-U",
                    SUPERUSER,
                    "--pwfile",
                    pwfile.to_str().unwrap(),
                    "--auth-local=trust",
                    "--auth-host=scram-sha-256",
                    "-E",
                    "UTF8",
                    "--locale=C.UTF-8",
                ],
            ),
        );
        let mut conf = String::from("\n# rotation tests\n");
        for line in extra_config {
            conf.push_str(line);
            conf.push('\n');
        }
        let conf_path = data.join("postgresql.conf");
        let mut existing = std::fs::read_to_string(&conf_path).expect("read postgresql.conf");
        existing.push_str(&conf);
        std::fs::write(&conf_path, existing).expect("write postgresql.conf");

        let server = Self {
            bin,
            dir,
            port: free_port(),
            superuser_password,
        };
        server.start_again();
        server
    }

    /// Creates and starts a cluster with the default configuration.
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    /// The TCP port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The superuser's password.
    pub fn superuser_password(&self) -> &str {
        &self.superuser_password
    }

    /// The server's log file (with `log_statement`, every statement).
    pub fn log_path(&self) -> PathBuf {
        self.dir.join("server.log")
    }

    /// A connection string for `user` with `password` over TCP.
    pub fn conninfo(&self, user: &str, password: &str, dbname: &str) -> tokio_postgres::Config {
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

    /// A superuser connection; its driver task runs until the client drops.
    pub async fn superuser(&self) -> tokio_postgres::Client {
        let (client, connection) = self
            .conninfo(SUPERUSER, &self.superuser_password, "postgres")
            .connect(tokio_postgres::NoTls)
            .await
            .expect("connect as the superuser");
        tokio::spawn(connection);
        client
    }

    /// Whether `user` logs in with `password` (over TCP, scram-sha-256).
    pub async fn can_log_in(&self, user: &str, password: &str) -> bool {
        match self
            .conninfo(user, password, "postgres")
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

    /// Stops the server (fast mode), keeping its files; `start_again`
    /// brings it back on the same port.
    pub fn stop(&self) {
        let data = self.dir.join("data");
        check(
            "pg_ctl stop",
            run_pg(
                &self.bin.join("pg_ctl"),
                &["-D", data.to_str().unwrap(), "-m", "fast", "-w", "stop"],
            ),
        );
    }

    /// Starts the (stopped) server on its port and waits until it listens.
    pub fn start_again(&self) {
        let data = self.dir.join("data");
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.dir.display()
        );
        check(
            "pg_ctl start",
            run_pg(
                &self.bin.join("pg_ctl"),
                &[
                    "-D",
                    data.to_str().unwrap(),
                    "-l",
                    self.dir.join("server.log").to_str().unwrap(),
                    "-w",
                    "-o",
                    &options,
                    "start",
                ],
            ),
        );
        wait_for_port(self.port, Duration::from_secs(30), "postgres", || Ok(()));
    }
}

impl Drop for PostgresServer {
    fn drop(&mut self) {
        let data = self.dir.join("data");
        // Stops only this cluster (its own data directory and postmaster PID).
        let _ = run_pg(
            &self.bin.join("pg_ctl"),
            &[
                "-D",
                data.to_str().unwrap(),
                "-m",
                "immediate",
                "-w",
                "stop",
            ],
        );
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
