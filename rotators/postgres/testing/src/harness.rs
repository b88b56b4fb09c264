//! The PostgreSQL rotator's side of the conformance kit: fresh roles in a
//! test cluster, logins checked with a client of their own.

use std::time::Duration;

use async_trait::async_trait;
use postgres_rotator::sql::{quote_identifier, quote_literal};
use postgres_rotator::{PostgresBackend, PostgresRotator};
use rotation_core::secret::SecretPayload;
use rotation_core::testkit::{unique_name, RotatorHarness, SecretAdmin};
use rotation_core::{SecretJson, SecretString};
use rotation_database::testkit::attacks::{AlternatingServer, AttackedServer};
use rotation_database::testkit::{invalid_settings, malformed_secrets};
use rotation_database::{ConnectSettings, DatabaseRotator, EngineSpec, Strategy};
use serde_json::json;

use crate::server::PostgresServer;
use rotation_testing::function_checks::{FunctionHarness, NamedCase};

/// Creates fresh roles in `server` and checks logins, for one strategy.
pub struct PostgresRotatorHarness<'a> {
    server: &'a PostgresServer,
    alternating: bool,
    master_user: String,
    master_password: SecretString,
    settings: ConnectSettings,
}

impl<'a> PostgresRotatorHarness<'a> {
    /// Single user: secrets without `masterarn`.
    pub async fn single_user(server: &'a PostgresServer) -> Self {
        Self::new(server, false).await
    }

    /// Alternating users: every secret names a master secret, whose user
    /// this creates: a role of its own, named uniquely, so that harnesses
    /// share a cluster. It may create roles and change their passwords,
    /// but is no superuser (as on RDS).
    pub async fn alternating_users(server: &'a PostgresServer) -> Self {
        Self::new(server, true).await
    }

    async fn new(server: &'a PostgresServer, alternating: bool) -> Self {
        let master_user = unique_name("master").replace('-', "_");
        let master_password = SecretString::new(format!("m'a\\s$ter-{}", unique_name("pw")));
        if alternating {
            let superuser = server.superuser().await;
            let statement = format!(
                "CREATE ROLE {user} LOGIN CREATEROLE PASSWORD {password}",
                user = quote_identifier(&master_user),
                password = quote_literal(master_password.expose())
            );
            superuser
                .batch_execute(&statement)
                .await
                .expect("create the master user");
        }
        Self {
            server,
            alternating,
            master_user,
            master_password,
            settings: ConnectSettings {
                connect_timeout: Duration::from_secs(5),
                ca_bundle: None,
            },
        }
    }

    /// The rotator, with `settings` and the strategy left to each secret.
    pub fn rotator_with(
        &self,
        settings: ConnectSettings,
        strategy: Option<Strategy>,
    ) -> PostgresRotator {
        DatabaseRotator::new(
            PostgresBackend::new(settings).expect("valid settings"),
            strategy,
        )
    }

    /// Creates a role that logs in with `password`.
    pub async fn create_user(&self, username: &str, password: &str) {
        let statement = format!(
            "CREATE ROLE {} LOGIN PASSWORD {}",
            quote_identifier(username),
            quote_literal(password)
        );
        self.server
            .superuser()
            .await
            .batch_execute(&statement)
            .await
            .expect("create the test role");
    }

    /// The secret an operator would store for `username`: AWS's fields,
    /// plaintext (`ssl: false`) on 127.0.0.1.
    pub fn secret_for(&self, username: &str, password: &str) -> SecretJson {
        let value = json!({
            "engine": "postgres",
            "host": "127.0.0.1",
            "port": self.server.port(),
            "username": username,
            "password": password,
            "dbname": "postgres",
            "ssl": false,
        });
        let serde_json::Value::Object(map) = value else {
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
            .create_json("pg-master", &secret)
            .await
            .expect("create the master secret")
    }

    /// A new role and its secret (with `masterarn` for alternating users).
    pub async fn new_user(&self, store: &dyn SecretAdmin, prefix: &str) -> SecretJson {
        let username = unique_name(prefix);
        let password = format!("pw'\\${}", unique_name("x"));
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
}

#[async_trait]
impl RotatorHarness for PostgresRotatorHarness<'_> {
    type Rotator = PostgresRotator;

    fn rotator(&self) -> PostgresRotator {
        self.rotator_with(self.settings.clone(), None)
    }

    async fn fresh_secret(&self, store: &dyn SecretAdmin) -> SecretJson {
        self.new_user(store, "kit user").await
    }

    async fn can_log_in(&self, secret: &SecretJson) -> bool {
        self.logs_in(secret).await
    }

    fn recovers_through_previous(&self) -> bool {
        // Alternating users refuse a rejected AWSCURRENT by design.
        !self.alternating
    }

    fn malformed_secrets(&self, valid: &SecretJson) -> Vec<(String, SecretPayload)> {
        malformed_secrets(valid, &EngineSpec::POSTGRES, self.alternating)
            .into_iter()
            .map(|(what, payload, _)| (what, payload))
            .collect()
    }

    fn other_secret_values(&self) -> Vec<SecretString> {
        vec![self.master_password.clone()]
    }
}

#[async_trait]
impl FunctionHarness for PostgresRotatorHarness<'_> {
    fn binary(&self) -> &'static str {
        "postgres-rotator"
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
        malformed_secrets(valid, &EngineSpec::POSTGRES, self.alternating)
    }

    fn invalid_settings(&self) -> Vec<NamedCase<Vec<(&'static str, &'static str)>>> {
        invalid_settings()
    }
}

/// The shared attacks' view of a cluster started with
/// `log_connections = on`.
#[async_trait]
impl AttackedServer for PostgresRotatorHarness<'_> {
    fn secret_for(&self, user: &str, password: &str) -> SecretJson {
        PostgresRotatorHarness::secret_for(self, user, password)
    }

    async fn create_user(&self, user: &str, password: &str) {
        PostgresRotatorHarness::create_user(self, user, password).await;
    }

    async fn user_exists(&self, user: &str) -> bool {
        self.server.role_exists(user).await
    }

    async fn can_log_in(&self, user: &str, password: &SecretString) -> bool {
        self.server.can_log_in(user, password.expose()).await
    }

    fn login_traces(&self, user: &str) -> Vec<String> {
        let log = std::fs::read_to_string(self.server.log_path()).expect("read the server log");
        // Without log_connections no login would show, and no attack fail.
        assert!(
            log.contains("connection authorized"),
            "the cluster logs connections (start it with log_connections = on)"
        );
        log.lines()
            .filter(|l| l.contains(user))
            .map(str::to_owned)
            .collect()
    }
}

#[async_trait]
impl AlternatingServer for PostgresRotatorHarness<'_> {
    type Backend = PostgresBackend;

    fn alternating_rotator(&self) -> PostgresRotator {
        RotatorHarness::rotator(self)
    }

    fn master_user(&self) -> &str {
        &self.master_user
    }

    fn master_password(&self) -> SecretString {
        self.master_password.clone()
    }

    async fn master_secret(&self, store: &dyn SecretAdmin) -> String {
        PostgresRotatorHarness::master_secret(self, store).await
    }

    async fn new_user(&self, store: &dyn SecretAdmin, prefix: &str) -> SecretJson {
        PostgresRotatorHarness::new_user(self, store, prefix).await
    }
}
