//! The MySQL rotator's side of the conformance kit: fresh accounts on a
//! test server, logins checked with a client of their own.

use std::time::Duration;

use async_trait::async_trait;
use mysql_rotator::sql::{account, quote_literal, Plugin};
use mysql_rotator::{MysqlBackend, MysqlRotator, MysqlSettings, USERNAME_LIMIT_VARIABLE};
use rotation_core::secret::SecretPayload;
use rotation_core::testkit::{unique_name, RotatorHarness, SecretAdmin};
use rotation_core::{SecretJson, SecretString};
use rotation_database::testkit::attacks::{AlternatingServer, AttackedServer};
use rotation_database::testkit::{invalid_settings, malformed_secrets};
use rotation_database::{ConnectSettings, DatabaseRotator, EngineSpec, Strategy};
use serde_json::{json, Value};

use crate::server::MariaDbServer;
use mysql_rotator::server::SqlMode;
use rotation_testing::function_checks::{FunctionHarness, NamedCase};

/// RDS for MariaDB's master privileges, all `WITH GRANT OPTION`.
const RDS_MASTER_PRIVILEGES: &str = "SELECT, INSERT, UPDATE, DELETE, CREATE, DROP, RELOAD, PROCESS, REFERENCES, INDEX, ALTER, SHOW DATABASES, CREATE TEMPORARY TABLES, LOCK TABLES, EXECUTE, REPLICATION CLIENT, CREATE VIEW, SHOW VIEW, CREATE ROUTINE, ALTER ROUTINE, CREATE USER, EVENT, TRIGGER, REPLICATION SLAVE";

/// The schema the test users are granted on.
pub const APP_SCHEMA: &str = "rotation_app";

/// Creates fresh accounts on a server and checks logins, for one strategy
/// and one authentication plugin.
pub struct MysqlRotatorHarness<'a> {
    server: &'a MariaDbServer,
    alternating: bool,
    plugin: Plugin,
    master_user: String,
    master_password: SecretString,
    settings: ConnectSettings,
}

/// Literal quoting for the test's own statements (the server's default
/// `sql_mode`).
fn literal(value: &str) -> String {
    quote_literal(value, SqlMode::default())
}

impl<'a> MysqlRotatorHarness<'a> {
    /// Single user: secrets without `masterarn`, native passwords.
    pub async fn single_user(server: &'a MariaDbServer) -> Self {
        Self::new(server, false, Plugin::Native).await
    }

    /// Alternating users: every secret names a master secret, whose user
    /// this creates: an account of its own, named uniquely, so that
    /// harnesses share a server, with the privileges RDS gives its master
    /// user (no `SUPER`, no `PROXY`).
    pub async fn alternating_users(server: &'a MariaDbServer) -> Self {
        Self::new(server, true, Plugin::Native).await
    }

    /// The same harness with accounts created with `plugin` (native or
    /// ed25519).
    pub fn with_plugin(self, plugin: Plugin) -> Self {
        Self { plugin, ..self }
    }

    async fn new(server: &'a MariaDbServer, alternating: bool, plugin: Plugin) -> Self {
        let master_user = unique_name("master").replace('-', "_");
        let master_password = SecretString::new(format!("m'a\\s$ter-{}", unique_name("pw")));
        server
            .execute(&format!("CREATE DATABASE IF NOT EXISTS `{APP_SCHEMA}`"))
            .await;
        if alternating {
            let master = account(&master_user, "%");
            server
                .execute(&format!(
                    "CREATE USER {master} IDENTIFIED BY {}; GRANT {RDS_MASTER_PRIVILEGES} ON *.* TO {master} WITH GRANT OPTION",
                    literal(master_password.expose())
                ))
                .await;
        }
        Self {
            server,
            alternating,
            plugin,
            master_user,
            master_password,
            settings: ConnectSettings {
                connect_timeout: Duration::from_secs(5),
                ca_bundle: None,
            },
        }
    }

    /// The rotator, with `settings` and the strategy left to each secret
    /// unless given.
    pub fn rotator_with(
        &self,
        settings: MysqlSettings,
        strategy: Option<Strategy>,
    ) -> MysqlRotator {
        DatabaseRotator::new(
            MysqlBackend::new(settings).expect("valid settings"),
            strategy,
        )
    }

    /// Creates `username` at `host` with `password` and the harness's
    /// plugin, and `SELECT` on the app schema.
    pub async fn create_user_at(&self, username: &str, host: &str, password: &str) {
        let acct = account(username, host);
        let identified = match self.plugin {
            Plugin::Ed25519 => format!(
                "IDENTIFIED VIA ed25519 USING PASSWORD({})",
                literal(password)
            ),
            _ => format!("IDENTIFIED BY {}", literal(password)),
        };
        self.server
            .execute(&format!(
                "CREATE USER {acct} {identified}; GRANT SELECT ON `{APP_SCHEMA}`.* TO {acct}"
            ))
            .await;
    }

    /// Creates `username` at host `%`.
    pub async fn create_user(&self, username: &str, password: &str) {
        self.create_user_at(username, "%", password).await;
    }

    /// The secret an operator would store for `username`: AWS's fields,
    /// plaintext (`ssl: false`) on 127.0.0.1.
    pub fn secret_for(&self, username: &str, password: &str) -> SecretJson {
        let value = json!({
            "engine": "mariadb",
            "host": "127.0.0.1",
            "port": self.server.port(),
            "username": username,
            "password": password,
            "ssl": false,
        });
        let Value::Object(map) = value else {
            unreachable!("json! of an object")
        };
        SecretJson::from_map(map)
    }

    /// The master user of this harness's alternating-users secrets.
    pub fn master_user(&self) -> &str {
        &self.master_user
    }

    /// A master secret for [`master_user`](Self::master_user) in `store`;
    /// returns its ARN.
    pub async fn master_secret(&self, store: &dyn SecretAdmin) -> String {
        let secret = self.secret_for(&self.master_user, self.master_password.expose());
        store
            .create_json("mysql-master", &secret)
            .await
            .expect("create the master secret")
    }

    /// A username that is new on this server, short enough for a clone.
    pub fn new_username(prefix: &str) -> String {
        unique_name(prefix)
    }

    /// A new account and its secret (with `masterarn` for alternating
    /// users). Passwords hold quotes, a backslash, `%` and `_`.
    pub async fn new_user(&self, store: &dyn SecretAdmin, prefix: &str) -> SecretJson {
        let username = Self::new_username(prefix);
        let password = format!("pw'\\%_{}", unique_name("x"));
        self.create_user(&username, &password).await;
        let mut secret = self.secret_for(&username, &password);
        if self.alternating {
            secret.set("masterarn", self.master_secret(store).await);
        }
        secret
    }

    /// Whether the login in `secret` works, checked with a plain client.
    pub async fn logs_in(&self, secret: &SecretJson) -> bool {
        let (Ok(user), Ok(password)) = (
            secret.required_str("username"),
            secret.required_secret("password"),
        ) else {
            return false;
        };
        self.server.can_log_in(user, password.expose()).await
    }

    /// The master's password, for tests that log in as the master.
    pub fn master_password(&self) -> &SecretString {
        &self.master_password
    }
}

#[async_trait]
impl RotatorHarness for MysqlRotatorHarness<'_> {
    type Rotator = MysqlRotator;

    fn rotator(&self) -> MysqlRotator {
        self.rotator_with(
            MysqlSettings {
                connect: self.settings.clone(),
                username_limit: None,
            },
            None,
        )
    }

    async fn fresh_secret(&self, store: &dyn SecretAdmin) -> SecretJson {
        self.new_user(store, "kit").await
    }

    async fn can_log_in(&self, secret: &SecretJson) -> bool {
        self.logs_in(secret).await
    }

    fn recovers_through_previous(&self) -> bool {
        // Alternating users refuse a rejected AWSCURRENT by design.
        !self.alternating
    }

    fn malformed_secrets(&self, valid: &SecretJson) -> Vec<(String, SecretPayload)> {
        malformed_secrets(valid, &EngineSpec::MYSQL, self.alternating)
            .into_iter()
            .map(|(what, payload, _)| (what, payload))
            .collect()
    }

    fn other_secret_values(&self) -> Vec<SecretString> {
        vec![self.master_password.clone()]
    }
}

#[async_trait]
impl FunctionHarness for MysqlRotatorHarness<'_> {
    fn binary(&self) -> &'static str {
        "mysql-rotator"
    }

    fn pointed_at(&self, secret: &SecretJson, port: u16) -> Option<SecretJson> {
        let mut secret = secret.clone();
        secret.set("port", port);
        Some(secret)
    }

    fn slow_connect_env(&self) -> Vec<(&'static str, String)> {
        vec![("DB_CONNECT_TIMEOUT", "30".to_owned())]
    }

    fn invalid_secrets(&self, valid: &SecretJson) -> Vec<NamedCase<SecretPayload>> {
        malformed_secrets(valid, &EngineSpec::MYSQL, self.alternating)
    }

    fn invalid_settings(&self) -> Vec<NamedCase<Vec<(&'static str, &'static str)>>> {
        let mut cases = invalid_settings();
        for (what, value) in [
            ("a username limit that is no number", "many"),
            ("a username limit above 80", "200"),
        ] {
            cases.push((
                what.to_owned(),
                vec![(USERNAME_LIMIT_VARIABLE, value)],
                USERNAME_LIMIT_VARIABLE.to_owned(),
            ));
        }
        cases
    }
}

/// The shared attacks' view of a server started with its general log on.
#[async_trait]
impl AttackedServer for MysqlRotatorHarness<'_> {
    fn secret_for(&self, user: &str, password: &str) -> SecretJson {
        MysqlRotatorHarness::secret_for(self, user, password)
    }

    async fn create_user(&self, user: &str, password: &str) {
        MysqlRotatorHarness::create_user(self, user, password).await;
    }

    async fn user_exists(&self, user: &str) -> bool {
        !self.server.hosts_of(user).await.is_empty()
    }

    async fn can_log_in(&self, user: &str, password: &SecretString) -> bool {
        self.server.can_log_in(user, password.expose()).await
    }

    /// A login attempt shows up as a `Connect` or an `Access denied`.
    fn login_traces(&self, user: &str) -> Vec<String> {
        let log =
            std::fs::read_to_string(self.server.general_log_path()).expect("read the general log");
        // The harness's own root sessions are there when the log is on.
        assert!(
            log.contains("Connect\troot@"),
            "the server logs connections (start it with its general log)"
        );
        log.lines()
            .filter(|l| l.contains(user) && (l.contains("Connect") || l.contains("denied")))
            .map(str::to_owned)
            .collect()
    }
}

#[async_trait]
impl AlternatingServer for MysqlRotatorHarness<'_> {
    type Backend = MysqlBackend;

    fn alternating_rotator(&self) -> MysqlRotator {
        RotatorHarness::rotator(self)
    }

    fn master_user(&self) -> &str {
        &self.master_user
    }

    fn master_password(&self) -> SecretString {
        self.master_password.clone()
    }

    async fn master_secret(&self, store: &dyn SecretAdmin) -> String {
        MysqlRotatorHarness::master_secret(self, store).await
    }

    async fn new_user(&self, store: &dyn SecretAdmin, prefix: &str) -> SecretJson {
        MysqlRotatorHarness::new_user(self, store, prefix).await
    }
}
