//! A throwaway `redis-server` on a free port, with an admin user and the
//! default user switched off, stopped (by its PID) when dropped.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use redis::aio::MultiplexedConnection;
use redis::{Client, ConnectionAddr, IntoConnectionInfo};
use rotation_core::testkit::unique_name;
use rotation_core::SecretString;

pub const ADMIN: &str = "rotation_admin";

pub struct RedisServer {
    child: Child,
    pub port: u16,
    pub admin_password: SecretString,
}

impl RedisServer {
    /// Starts a server; panics, saying how to install it, when
    /// `redis-server` is missing: these tests never skip.
    pub async fn start() -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let admin_password = SecretString::new(format!("adm'in {}", unique_name("pw")));
        let child = Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
            .args(["--save", "", "--appendonly", "no"])
            .args(["--user", ADMIN, "on", &format!(">{}", admin_password.expose())])
            .args(["~*", "&*", "+@all"])
            .args(["--user", "default", "off"])
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server is not installed: apt-get install redis-server (./scripts/test.sh installs it)");
        let server = Self {
            child,
            port,
            admin_password,
        };
        for _ in 0..100 {
            if server.log_in(ADMIN, &server.admin_password).await.is_ok() {
                return server;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("redis-server did not accept the admin's login on port {port} within 5 s");
    }

    /// A session as `user` with `password`.
    pub async fn log_in(
        &self,
        user: &str,
        password: &SecretString,
    ) -> redis::RedisResult<MultiplexedConnection> {
        let info = ConnectionAddr::Tcp("127.0.0.1".into(), self.port).into_connection_info()?;
        let settings = info
            .redis_settings()
            .clone()
            .set_username(user)
            .set_password(password.expose());
        Client::open(info.set_redis_settings(settings))?
            .get_multiplexed_async_connection()
            .await
    }

    /// Whether `user` logs in with `password` and may PING.
    pub async fn can_log_in(&self, user: &str, password: &SecretString) -> bool {
        match self.log_in(user, password).await {
            Ok(mut session) => redis::cmd("PING")
                .query_async::<String>(&mut session)
                .await
                .is_ok(),
            Err(_) => false,
        }
    }

    /// Runs an ACL command as the admin.
    pub async fn acl(&self, args: &[&str]) -> redis::Value {
        let mut admin = self
            .log_in(ADMIN, &self.admin_password)
            .await
            .expect("the admin logs in");
        redis::cmd("ACL")
            .arg(args)
            .query_async(&mut admin)
            .await
            .unwrap_or_else(|e| panic!("ACL {}: {e}", args[0]))
    }

    /// How many passwords `user` has.
    pub async fn password_count(&self, user: &str) -> usize {
        let redis::Value::Array(info) = self.acl(&["GETUSER", user]).await else {
            panic!("user {user} does not exist");
        };
        let at = info
            .iter()
            .position(|v| *v == redis::Value::BulkString(b"passwords".to_vec()))
            .expect("ACL GETUSER lists passwords");
        match &info[at + 1] {
            redis::Value::Array(hashes) => hashes.len(),
            other => panic!("passwords is {other:?}"),
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
