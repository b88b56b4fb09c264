//! The floor a rotation function is compared with: the same Secrets
//! Manager calls and database logins, made directly with the AWS SDK and
//! the engine's driver in this process, and nothing else (no parsing, no
//! checks, no logging, no Runtime API).

use std::time::Instant;

use aws_sdk_secretsmanager::config::http::HttpResponse;
use aws_sdk_secretsmanager::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_secretsmanager::operation::describe_secret::DescribeSecretOutput;
use aws_sdk_secretsmanager::operation::get_secret_value::{
    GetSecretValueError, GetSecretValueOutput,
};
use aws_sdk_secretsmanager::Client;
use mysql_rotator::server::SqlMode;
use mysql_rotator::sql::{account as mysql_account, quote_literal as quote_mysql_literal};
use mysql_rotator_testing::MariaDbServer;
use postgres_rotator::sql::{alter_password, quote_identifier, quote_literal, PasswordFormat};
use postgres_rotator_testing::PostgresServer;
use rotation_core::store::{AWSCURRENT, AWSPENDING};
use rotation_core::testkit::{new_token, unique_name, SecretAdmin};
use rotation_core::{PasswordPolicy, SecretString};
use rotation_testing::fault_proxy::FaultProxy;
use rotation_testing::moto::MotoServer;

use crate::steps::StepTimes;

/// Which strategy's work the floor does.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum FloorStrategy {
    /// The user logs in with AWSCURRENT and changes its own password.
    SingleUser,
    /// AWSCURRENT logs in (the function's proof), then the master secret is
    /// read and the administrator logs in and sets the other user's
    /// password.
    AlternatingUsers,
}

/// The database side of the floor: the least a rotation must do with the
/// engine's own driver.
#[async_trait::async_trait]
pub trait FloorDatabase: Sync {
    /// The `engine` of its secrets.
    fn engine(&self) -> &'static str;
    /// Its port on 127.0.0.1.
    fn port(&self) -> u16;
    /// Creates `user` with `password`.
    async fn create_user(&self, user: &str, password: &str);
    /// Logs in as `user` with `old` and sets its password to `new`.
    async fn change_password(&self, user: &str, old: &str, new: &SecretString);
    /// Logs in as the server's administrator and sets `user`'s password to
    /// `new`.
    async fn admin_set_password(&self, user: &str, new: &SecretString);
    /// Logs in as `user` with `password` and runs `SELECT 1`.
    async fn check(&self, user: &str, password: &str);
}

/// The SDK call's output; on failure, a panic with the service's error
/// code and message only: an SDK error's `Debug` carries the raw HTTP
/// response, which for GetSecretValue holds the secret.
fn sdk<T, E: ProvideErrorMetadata, R>(operation: &str, result: Result<T, SdkError<E, R>>) -> T {
    result.unwrap_or_else(|e| {
        panic!(
            "{operation}: {} {}",
            e.code().unwrap_or("(no code)"),
            e.message().unwrap_or("")
        )
    })
}

async fn describe(client: &Client, arn: &str) -> DescribeSecretOutput {
    let answer = client.describe_secret().secret_id(arn).send().await;
    sdk("DescribeSecret", answer)
}

async fn get_value(
    client: &Client,
    arn: &str,
    version: Option<&str>,
    stage: &str,
) -> Result<GetSecretValueOutput, SdkError<GetSecretValueError, HttpResponse>> {
    client
        .get_secret_value()
        .secret_id(arn)
        .set_version_id(version.map(str::to_owned))
        .version_stage(stage)
        .send()
        .await
}

/// The users a floor rotates and the password AWSCURRENT holds. Single
/// user: both names are the same user.
struct Accounts {
    users: [String; 2],
    current: usize,
    password: String,
}

/// One floor rotation, timed per step.
async fn floor_rotation(
    client: &Client,
    server: &dyn FloorDatabase,
    store: &dyn SecretAdmin,
    arn: &str,
    master_arn: &str,
    strategy: FloorStrategy,
    accounts: &mut Accounts,
) -> StepTimes {
    let token = new_token();
    store.start_rotation(arn, &token).await.unwrap();
    let generator = PasswordPolicy::default().generator().unwrap();
    let current_user = accounts.users[accounts.current].clone();
    let pending_user = accounts.users[1 - accounts.current].clone();
    let mut times = StepTimes::default();

    // createSecret: the pending read answers "not found".
    let step = Instant::now();
    describe(client, arn).await;
    let current = sdk(
        "GetSecretValue",
        get_value(client, arn, None, AWSCURRENT).await,
    );
    let _ = get_value(client, arn, Some(&token), AWSPENDING).await;
    let mut pending: serde_json::Value =
        serde_json::from_str(current.secret_string().unwrap()).unwrap();
    let new_password = generator.generate();
    pending["password"] = new_password.expose().into();
    pending["username"] = pending_user.clone().into();
    let put = client
        .put_secret_value()
        .secret_id(arn)
        .client_request_token(&token)
        .secret_string(pending.to_string())
        .version_stages(AWSPENDING)
        .send()
        .await;
    sdk("PutSecretValue", put);
    times.record(0, step.elapsed());

    // setSecret
    let step = Instant::now();
    describe(client, arn).await;
    sdk(
        "GetSecretValue",
        get_value(client, arn, None, AWSCURRENT).await,
    );
    sdk(
        "GetSecretValue",
        get_value(client, arn, Some(&token), AWSPENDING).await,
    );
    match strategy {
        FloorStrategy::SingleUser => {
            server
                .change_password(&current_user, &accounts.password, &new_password)
                .await;
        }
        FloorStrategy::AlternatingUsers => {
            server.check(&current_user, &accounts.password).await;
            sdk(
                "GetSecretValue",
                get_value(client, master_arn, None, AWSCURRENT).await,
            );
            server
                .admin_set_password(&pending_user, &new_password)
                .await;
        }
    }
    times.record(1, step.elapsed());

    // testSecret
    let step = Instant::now();
    describe(client, arn).await;
    sdk(
        "GetSecretValue",
        get_value(client, arn, Some(&token), AWSPENDING).await,
    );
    server.check(&pending_user, new_password.expose()).await;
    times.record(2, step.elapsed());

    // finishSecret: the move. The function's proof of the pending value
    // is testSecret's, made in the same process a moment before.
    let step = Instant::now();
    let description = describe(client, arn).await;
    let old = description
        .version_ids_to_stages()
        .and_then(|m| {
            m.iter()
                .find(|(_, s)| s.iter().any(|s| s == AWSCURRENT))
                .map(|(v, _)| v.clone())
        })
        .unwrap();
    let moved = client
        .update_secret_version_stage()
        .secret_id(arn)
        .version_stage(AWSCURRENT)
        .move_to_version_id(&token)
        .remove_from_version_id(old)
        .send()
        .await;
    sdk("UpdateSecretVersionStage", moved);
    times.record(3, step.elapsed());

    accounts.password = new_password.expose().to_owned();
    accounts.current = 1 - accounts.current;
    times
}

/// What the floor measured: its times per step and in all, and the
/// Secrets Manager calls of one rotation as the proxy counted them.
pub struct Floor {
    /// Per step and in all.
    pub times: StepTimes,
    /// Secrets Manager calls of one rotation.
    pub calls: usize,
}

/// `rounds` floor rotations after three warm-up ones, reaching moto
/// through the same kind of counting proxy as the function's calls, so
/// both pay the same extra hop.
pub async fn floor(
    server: &dyn FloorDatabase,
    moto: &MotoServer,
    strategy: FloorStrategy,
    rounds: usize,
) -> Floor {
    let proxy = FaultProxy::start(moto.port()).await;
    let config = moto
        .client()
        .config()
        .to_builder()
        .endpoint_url(proxy.endpoint())
        .build();
    let client = aws_sdk_secretsmanager::Client::from_conf(config);
    let store = moto.admin_store();
    let user = unique_name("floor").replace('-', "_");
    let users = match strategy {
        FloorStrategy::SingleUser => [user.clone(), user],
        FloorStrategy::AlternatingUsers => [user.clone(), format!("{user}_clone")],
    };
    let password = unique_name("pw");
    for user in &users[..if users[0] == users[1] { 1 } else { 2 }] {
        server.create_user(user, &password).await;
    }
    let secret = serde_json::json!({"engine": server.engine(), "host": "127.0.0.1", "port": server.port(), "username": users[0], "password": password, "ssl": false});
    let create = |value: String| {
        client
            .create_secret()
            .name(unique_name("floor"))
            .secret_string(value)
            .send()
    };
    let arn = sdk("CreateSecret", create(secret.to_string()).await)
        .arn()
        .unwrap()
        .to_owned();
    // The floor's administrator logs in with the server's own credentials;
    // the master secret is only read, as the function reads it.
    let master_arn = sdk(
        "CreateSecret",
        create(r#"{"stands":"for the master"}"#.into()).await,
    )
    .arn()
    .unwrap()
    .to_owned();
    let mut accounts = Accounts {
        users,
        current: 0,
        password,
    };
    let mut times = StepTimes::default();
    let mut calls = 0;
    for round in 0..rounds + 3 {
        let before = proxy.requests();
        let took = floor_rotation(
            &client,
            server,
            store.as_ref(),
            &arn,
            &master_arn,
            strategy,
            &mut accounts,
        )
        .await;
        calls = proxy.requests() - before;
        if round >= 3 {
            times.extend(&took);
        }
    }
    Floor { times, calls }
}

#[async_trait::async_trait]
impl FloorDatabase for PostgresServer {
    fn engine(&self) -> &'static str {
        "postgres"
    }
    fn port(&self) -> u16 {
        PostgresServer::port(self)
    }
    async fn create_user(&self, user: &str, password: &str) {
        let create = format!(
            "CREATE ROLE {} LOGIN PASSWORD {}",
            quote_identifier(user),
            quote_literal(password)
        );
        self.superuser().await.batch_execute(&create).await.unwrap();
    }
    async fn change_password(&self, user: &str, old: &str, new: &SecretString) {
        let db = self.connect_as(user, old).await;
        db.batch_execute(&alter_password(user, new, PasswordFormat::ScramSha256))
            .await
            .unwrap();
    }
    async fn admin_set_password(&self, user: &str, new: &SecretString) {
        self.superuser()
            .await
            .batch_execute(&alter_password(user, new, PasswordFormat::ScramSha256))
            .await
            .unwrap();
    }
    async fn check(&self, user: &str, password: &str) {
        let db = self.connect_as(user, password).await;
        db.query_one("SELECT 1", &[]).await.unwrap();
    }
}

fn mariadb_login(server: &MariaDbServer, user: &str, password: &str) -> mysql_async::OptsBuilder {
    mysql_async::OptsBuilder::default()
        .ip_or_hostname("127.0.0.1")
        .tcp_port(server.port())
        .user(Some(user))
        .pass(Some(password))
        .prefer_socket(false)
}

#[async_trait::async_trait]
impl FloorDatabase for MariaDbServer {
    fn engine(&self) -> &'static str {
        "mariadb"
    }
    fn port(&self) -> u16 {
        MariaDbServer::port(self)
    }
    async fn create_user(&self, user: &str, password: &str) {
        let literal = |v: &str| quote_mysql_literal(v, SqlMode::default());
        self.execute(&format!(
            "CREATE USER {} IDENTIFIED BY {}",
            mysql_account(user, "%"),
            literal(password)
        ))
        .await;
    }
    async fn change_password(&self, user: &str, old: &str, new: &SecretString) {
        use mysql_async::prelude::Queryable;
        let mut db = mysql_async::Conn::new(mariadb_login(self, user, old))
            .await
            .expect("log in");
        let statement = format!(
            "SET PASSWORD = '{}'",
            mysql_rotator::hash::native_password(new)
        );
        db.query_drop(statement).await.unwrap();
        let _ = db.disconnect().await;
    }
    async fn admin_set_password(&self, user: &str, new: &SecretString) {
        use mysql_async::prelude::Queryable;
        let mut db = self.root().await;
        let statement = format!(
            "ALTER USER {} IDENTIFIED BY PASSWORD '{}'",
            mysql_account(user, "%"),
            mysql_rotator::hash::native_password(new)
        );
        db.query_drop(statement).await.unwrap();
        let _ = db.disconnect().await;
    }
    async fn check(&self, user: &str, password: &str) {
        use mysql_async::prelude::Queryable;
        let mut db = mysql_async::Conn::new(mariadb_login(self, user, password))
            .await
            .expect("log in");
        let one: Option<i64> = db.query_first("SELECT 1").await.unwrap();
        assert_eq!(one, Some(1));
        let _ = db.disconnect().await;
    }
}
