//! What the tests share: a store file, `rotate` commands against it or
//! against moto, reading `--json` output, and PostgreSQL secrets.

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use postgres_rotator::sql::{quote_identifier, quote_literal};
use postgres_rotator_testing::PostgresServer;
use rotation_core::store::embedded::EmbeddedSecretStore;
use rotation_core::store::{SecretStore, VersionSelector, AWSCURRENT};
use rotation_core::testkit::unique_name;
use rotation_core::SecretJson;
use rotation_testing::moto::MotoServer;
use serde_json::Value;

/// A store file in a directory of its own, removed when dropped.
pub struct StoreFile {
    pub dir: PathBuf,
}

impl StoreFile {
    pub fn new() -> Self {
        let dir = std::env::temp_dir().join(unique_name("rotate-cli"));
        std::fs::create_dir_all(&dir).unwrap();
        Self { dir }
    }

    pub fn path(&self) -> PathBuf {
        self.dir.join("secrets.db")
    }

    pub fn open(&self) -> EmbeddedSecretStore {
        EmbeddedSecretStore::open(self.path()).unwrap()
    }

    /// `rotate` with this store, and no setting from the caller's
    /// environment.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_rotate"));
        command
            .args(args)
            .env("ROTATE_STORE", self.path())
            .env_remove("API_KEY_PROVIDER")
            .env_remove("API_KEY_LENGTH")
            .env_remove("API_KEY_PREFIX")
            .stdin(Stdio::null());
        command
    }

    pub fn rotate(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("run rotate")
    }

    pub fn json(&self, args: &[&str]) -> Value {
        let mut with_json = vec!["--json"];
        with_json.extend_from_slice(args);
        let output = self.rotate(&with_json);
        assert!(output.status.success(), "{}", describe(&output));
        serde_json::from_slice(&output.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", describe(&output)))
    }
}

impl Drop for StoreFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `rotate --aws` against `moto`, with no store file.
pub fn on_moto(store: &StoreFile, moto: &MotoServer, args: &[&str]) -> Command {
    on_endpoint(store, &moto.endpoint(), args)
}

/// `rotate --aws` against the Secrets Manager API at `endpoint`.
pub fn on_endpoint(store: &StoreFile, endpoint: &str, args: &[&str]) -> Command {
    let mut command = store.command(&[&["--aws"], args].concat());
    command
        .env_remove("ROTATE_STORE")
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test");
    command
}

pub fn describe(output: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

pub fn labels_of(versions: &Value, id: &str) -> Vec<String> {
    versions
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["version_id"] == id)
        .map(|v| {
            v["labels"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| l.as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

pub fn holder(versions: &Value, label: &str) -> Option<String> {
    versions.as_array().unwrap().iter().find_map(|v| {
        v["labels"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l == label)
            .then(|| v["version_id"].as_str().unwrap().to_owned())
    })
}

/// A PostgreSQL role and its secret (plaintext on 127.0.0.1).
pub async fn postgres_secret(server: &PostgresServer) -> (String, String) {
    let user = unique_name("cli").replace('-', "_");
    let password = format!("pw'{}", unique_name("x"));
    server
        .execute(&format!(
            "CREATE ROLE {} LOGIN PASSWORD {}",
            quote_identifier(&user),
            quote_literal(&password)
        ))
        .await;
    let secret = serde_json::json!({
        "engine": "postgres", "host": "127.0.0.1", "port": server.port(),
        "username": user, "password": password, "dbname": "postgres", "ssl": false,
    });
    (user, secret.to_string())
}

/// Secret `db` for a new role, whose rotation failed at setSecret (the
/// server stopped after createSecret stored the pending value); returns
/// the role and `rotate`'s output.
pub async fn stuck_postgres_rotation(
    server: &PostgresServer,
    store: &StoreFile,
) -> (String, Output) {
    let (user, secret) = postgres_secret(server).await;
    store.json(&["secret", "create", "db", "--value", &secret]);
    server.stop();
    let output = store.rotate(&["run", "db", "--attempts", "1"]);
    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
    (user, output)
}

pub async fn current_json(store: &dyn SecretStore, arn: &str) -> SecretJson {
    let current = store
        .get_value(arn, VersionSelector::Stage(AWSCURRENT))
        .await
        .unwrap()
        .expect("an AWSCURRENT value");
    SecretJson::from_payload(&current.payload).unwrap()
}
