//! How the PostgreSQL rotator connects: verified TLS that never falls back
//! to plaintext, bounded logins, and the checks made before the master
//! secret's rights are used.

use rotation_database::testkit::attacks::{AlternatingServer, AttackedServer};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use postgres_rotator_testing::PostgresRotatorHarness;
use postgres_rotator_testing::PostgresServer;
use rotation_core::error::error_chain;
use rotation_core::store::VersionSelector;
use rotation_core::testkit::Rotations;
use rotation_core::testkit::RotatorHarness;
use rotation_core::{event::Step, store::AWSCURRENT, SecretJson};
use rotation_database::ConnectSettings;
use rotation_testing::moto::MotoServer;
use serde_json::json;

fn settings(ca_bundle: Option<PathBuf>, connect_timeout: Duration) -> ConnectSettings {
    ConnectSettings {
        connect_timeout,
        ca_bundle,
    }
}

/// Runs createSecret then setSecret, expecting setSecret to fail; returns
/// its error chain, after checking the store and the login are unchanged.
async fn set_secret_fails<R: rotation_core::Rotator>(
    rotations: &Rotations<R>,
    harness: &PostgresRotatorHarness<'_>,
    arn: &str,
) -> String {
    let message = rotation_database::testkit::attacks::refused(rotations, arn).await;
    let current = rotations
        .value(arn, VersionSelector::Stage(AWSCURRENT))
        .await;
    assert!(harness.logs_in(&current).await, "AWSCURRENT still logs in");
    message
}

/// The server's "connection authorized" lines for sessions the rotator
/// opened (its application_name).
fn rotator_sessions(server: &PostgresServer) -> Vec<String> {
    std::fs::read_to_string(server.log_path())
        .expect("read the server log")
        .lines()
        .filter(|l| {
            l.contains("connection authorized")
                && l.contains("application_name=secrets-manager-rotation")
        })
        .map(str::to_owned)
        .collect()
}

/// How `user`'s password is stored: the start of `pg_authid.rolpassword`.
async fn stored_format(server: &PostgresServer, user: &str) -> String {
    let row = server
        .superuser()
        .await
        .query_one(
            "SELECT rolpassword FROM pg_authid WHERE rolname = $1",
            &[&user],
        )
        .await
        .expect("read pg_authid");
    let stored: String = row.get(0);
    stored.chars().take(13).collect()
}

/// A server as RDS and Aurora PostgreSQL 13 and earlier are by default:
/// `password_encryption = md5`, `md5` in pg_hba.conf. Both strategies
/// rotate, and every new password is stored as MD5 (clients that speak
/// only MD5 keep working), computed in the function. The master answers
/// the server's MD5 challenge inside TLS verified with the host name; on a
/// plaintext session the same master is refused before it answers, and
/// nothing changes.
#[tokio::test]
#[ignore = "services tier: cargo test --tests -- --include-ignored (CONTRIBUTING.md)"]
async fn md5_servers_rotate_with_both_strategies_and_keep_md5() {
    let moto = MotoServer::shared();
    let server = PostgresServer::start_md5_with_tls(&["log_connections = on"]);
    let ca = server.certificates().expect("a TLS server").ca.clone();
    let tls = || settings(Some(ca.clone()), Duration::from_secs(5));

    let single = PostgresRotatorHarness::single_user(&server).await;
    let rotations = Rotations::new(moto.admin_store(), single.rotator_with(tls(), None));
    let mut secret = single.new_user(rotations.store(), "md5-single").await;
    secret.set("ssl", true);
    let user = secret.required_str("username").unwrap().to_owned();
    assert!(
        stored_format(&server, &user).await.starts_with("md5"),
        "the server stores new passwords as MD5"
    );
    let arn = rotations.create("pg-md5-single", &secret).await;
    rotations.rotate(&arn).await;
    let new = rotations
        .value(&arn, VersionSelector::Stage(AWSCURRENT))
        .await;
    assert!(single.logs_in(&new).await, "the new password logs in");
    assert!(!single.logs_in(&secret).await, "the old one no longer does");
    assert!(
        stored_format(&server, &user).await.starts_with("md5"),
        "{user} stored as MD5"
    );

    let alternating = PostgresRotatorHarness::alternating_users(&server).await;
    assert!(stored_format(&server, alternating.master_user())
        .await
        .starts_with("md5"));
    let mut master = alternating.secret_for(
        alternating.master_user(),
        alternating.master_password().expose(),
    );
    master.set("ssl", true);
    let master_arn = rotations
        .store()
        .create_json("pg-md5-master", &master)
        .await
        .unwrap();
    let rotations = Rotations::new(moto.admin_store(), alternating.rotator_with(tls(), None));
    let mut secret = alternating.new_user(rotations.store(), "md5alt").await;
    secret.set("masterarn", master_arn.as_str());
    secret.set("ssl", true);
    let original = secret.required_str("username").unwrap().to_owned();
    let arn = rotations.create("pg-md5-alternating", &secret).await;
    for expected in [format!("{original}_clone"), original.clone()] {
        rotations.rotate(&arn).await;
        let new = rotations
            .value(&arn, VersionSelector::Stage(AWSCURRENT))
            .await;
        assert_eq!(new.required_str("username").unwrap(), expected);
        assert!(alternating.logs_in(&new).await, "{expected} logs in");
        assert!(
            stored_format(&server, &expected).await.starts_with("md5"),
            "{expected} stored as MD5"
        );
    }

    // The same master over plaintext: refused before it answers MD5.
    master.set("ssl", false);
    let plain_master = rotations
        .store()
        .create_json("pg-md5-plain-master", &master)
        .await
        .unwrap();
    let mut secret = alternating.new_user(rotations.store(), "md5plain").await;
    secret.set("masterarn", plain_master.as_str());
    let arn = rotations.create("pg-md5-plain", &secret).await;
    let message = set_secret_fails(&rotations, &alternating, &arn).await;
    assert!(
        message.contains("MD5") && message.contains("not TLS verified with the host name"),
        "{message}"
    );
    rotations
        .assert_no_leaks(&alternating.other_secret_values())
        .await;
}

/// `ssl: "verify-ca"` (as libpq): the certificate must chain to a trusted
/// authority, whatever names it holds, so hosts given as an IP address or
/// an alias the certificate does not name work over TLS. The server's
/// certificate names only `db.internal.example`: under verify-full
/// (`true`) both hosts are refused for the name; under verify-ca both
/// rotate, every session over TLS by the server's own log; and an
/// authority not trusted is still refused, with nothing changed. Public
/// authorities are not trusted under verify-ca (`rds_roots` only, with the
/// bundle): a unit test of the roots could not show the name is skipped,
/// this shows both.
#[tokio::test]
#[ignore = "services tier: cargo test --tests -- --include-ignored (CONTRIBUTING.md)"]
async fn verify_ca_checks_the_chain_and_not_the_name() {
    let moto = MotoServer::shared();
    let server =
        PostgresServer::start_with_tls_for(&["log_connections = on"], "DNS:db.internal.example");
    let ca = server.certificates().expect("a TLS server").ca.clone();
    let harness = PostgresRotatorHarness::single_user(&server).await;
    let trusting = Rotations::new(
        moto.admin_store(),
        harness.rotator_with(settings(Some(ca), Duration::from_secs(5)), None),
    );
    for host in ["127.0.0.1", "localhost"] {
        let mut secret = harness.new_user(trusting.store(), "full").await;
        secret.set("host", host);
        secret.set("ssl", "verify-full");
        let arn = trusting.create("pg-verify-full", &secret).await;
        let before = rotator_sessions(&server).len();
        let message = set_secret_fails(&trusting, &harness, &arn).await;
        assert!(
            message.contains("certificate") && message.contains("verify-ca"),
            "{host}: a name error that points to verify-ca: {message}"
        );
        assert_eq!(rotator_sessions(&server).len(), before, "{host}");

        let mut secret = harness.new_user(trusting.store(), "ca").await;
        secret.set("host", host);
        secret.set("ssl", "verify-ca");
        let arn = trusting.create("pg-verify-ca", &secret).await;
        trusting.rotate(&arn).await;
        let new = trusting
            .value(&arn, VersionSelector::Stage(AWSCURRENT))
            .await;
        assert_ne!(
            new.required_secret("password").unwrap().expose(),
            secret.required_secret("password").unwrap().expose(),
            "{host}"
        );
        assert!(
            harness.logs_in(&new).await,
            "{host}: the new password logs in"
        );
        let sessions = rotator_sessions(&server);
        assert!(
            sessions.len() >= before + 2,
            "{host}: setSecret and testSecret logged in: {sessions:#?}"
        );
        assert!(
            sessions.iter().all(|l| l.contains("SSL enabled")),
            "{host}: every rotator session used TLS: {sessions:#?}"
        );
    }

    let untrusting = Rotations::new(
        moto.admin_store(),
        harness.rotator_with(settings(None, Duration::from_secs(5)), None),
    );
    let mut secret = harness.new_user(untrusting.store(), "ca-untrusted").await;
    secret.set("host", "127.0.0.1");
    secret.set("ssl", "verify-ca");
    let arn = untrusting.create("pg-verify-ca-untrusted", &secret).await;
    let before = rotator_sessions(&server).len();
    let message = set_secret_fails(&untrusting, &harness, &arn).await;
    assert!(
        message.contains("certificate was not accepted") && message.contains("UnknownIssuer"),
        "{message}"
    );
    assert_eq!(rotator_sessions(&server).len(), before);
    trusting.assert_no_leaks(&[]).await;
    untrusting.assert_no_leaks(&[]).await;
}

#[tokio::test]
#[ignore = "services tier: cargo test --tests -- --include-ignored (CONTRIBUTING.md)"]
async fn tls_verifies_the_server_and_never_falls_back_to_plaintext() {
    let moto = MotoServer::shared();
    let server = PostgresServer::start_with_tls(&["log_connections = on"]);
    let ca = server.certificates().expect("a TLS server").ca.clone();
    let harness = PostgresRotatorHarness::single_user(&server).await;
    let trusting = Rotations::new(
        moto.admin_store(),
        harness.rotator_with(settings(Some(ca), Duration::from_secs(5)), None),
    );

    // ssl: true with the test authority trusted, and no ssl key (the
    // default is TLS): both rotate, over TLS only.
    for ssl in [Some(json!(true)), None] {
        let mut secret = harness.new_user(trusting.store(), "tls").await;
        match &ssl {
            Some(value) => secret.set("ssl", value.clone()),
            None => {
                let mut map = secret.as_map().clone();
                map.remove("ssl");
                secret = SecretJson::from_map(map);
            }
        }
        let arn = trusting.create("pg-tls", &secret).await;
        trusting.rotate(&arn).await;
        let new = trusting
            .value(&arn, VersionSelector::Stage(AWSCURRENT))
            .await;
        assert!(harness.logs_in(&new).await, "ssl {ssl:?}");
    }
    let sessions = rotator_sessions(&server);
    assert!(
        sessions.len() >= 4,
        "the rotator's logins are logged: {sessions:?}"
    );
    assert!(
        sessions.iter().all(|l| l.contains("SSL enabled")),
        "every rotator session used TLS: {sessions:#?}"
    );

    // The authority not trusted: a certificate error, nothing changed, and
    // no plaintext session instead.
    let untrusting = Rotations::new(
        moto.admin_store(),
        harness.rotator_with(settings(None, Duration::from_secs(5)), None),
    );
    let mut secret = harness.new_user(untrusting.store(), "untrusted").await;
    secret.set("ssl", true);
    let arn = untrusting.create("pg-untrusted", &secret).await;
    let before = rotator_sessions(&server).len();
    let message = set_secret_fails(&untrusting, &harness, &arn).await;
    assert!(
        message.contains("certificate was not accepted")
            && message.contains("DB_CA_BUNDLE")
            && message.contains("UnknownIssuer")
            && message.contains("AWSCURRENT"),
        "a certificate error naming the login: {message}"
    );
    assert_eq!(
        rotator_sessions(&server).len(),
        before,
        "no session was opened"
    );

    // The authority trusted but the name wrong: the certificate is for
    // 127.0.0.1, the secret says localhost.
    let mut secret = harness.new_user(trusting.store(), "misnamed").await;
    secret.set("ssl", true);
    secret.set("host", "localhost");
    let arn = trusting.create("pg-misnamed", &secret).await;
    let message = set_secret_fails(&trusting, &harness, &arn).await;
    assert!(
        message.contains("certificate") && message.to_lowercase().contains("name"),
        "a host-name error: {message}"
    );
    assert_eq!(
        rotator_sessions(&server).len(),
        before,
        "no session was opened"
    );
    trusting.assert_no_leaks(&[]).await;
    untrusting.assert_no_leaks(&[]).await;
}

#[tokio::test]
#[ignore = "services tier: cargo test --tests -- --include-ignored (CONTRIBUTING.md)"]
async fn tls_against_a_server_without_it_fails_clearly() {
    let moto = MotoServer::shared();
    let server = PostgresServer::start_with(&["log_connections = on"]);
    let harness = PostgresRotatorHarness::single_user(&server).await;
    let rotations = Rotations::new(
        moto.admin_store(),
        harness.rotator_with(settings(None, Duration::from_secs(5)), None),
    );
    let mut secret = harness.new_user(rotations.store(), "plain").await;
    secret.set("ssl", "true");
    let arn = rotations.create("pg-plain", &secret).await;
    let message = set_secret_fails(&rotations, &harness, &arn).await;
    assert!(
        message.contains("does not accept TLS") && message.contains("\"ssl\": false"),
        "{message}"
    );
    assert!(rotator_sessions(&server).is_empty(), "no plaintext session");
}

#[tokio::test]
#[ignore = "services tier: cargo test --tests -- --include-ignored (CONTRIBUTING.md)"]
async fn a_server_that_never_answers_fails_within_the_connect_timeout() {
    let moto = MotoServer::shared();
    let server = PostgresServer::shared();
    let harness = PostgresRotatorHarness::single_user(server).await;
    let silent = rotation_testing::SilentPort::start();
    let timeout = Duration::from_secs(1);
    let rotations = Rotations::new(
        moto.admin_store(),
        harness.rotator_with(settings(None, timeout), None),
    );
    let mut secret = harness.new_user(rotations.store(), "silent").await;
    secret.set("port", silent.port);
    let arn = rotations.create("pg-silent", &secret).await;
    let token = rotations.start(&arn).await;
    rotations.steps(&arn, &token, &[Step::CreateSecret]).await;
    let started = Instant::now();
    let result = rotations.step(&arn, &token, Step::SetSecret).await;
    let elapsed = started.elapsed();
    let message = error_chain(&result.expect_err("setSecret must fail"));
    assert!(message.contains("no answer within 1s"), "{message}");
    // One login attempt, not one per label: counted, not timed.
    assert_eq!(silent.accepted(), 1, "login attempts");
    assert!(elapsed >= timeout, "setSecret took {elapsed:?}");
    rotations.assert_no_leaks(&[]).await;
}

#[tokio::test]
#[ignore = "services tier: cargo test --tests -- --include-ignored (CONTRIBUTING.md)"]
async fn alternating_users_refuse_a_current_secret_that_does_not_log_in() {
    let moto = MotoServer::shared();
    // Its own server, logging connections: the master must not log in.
    let server = &PostgresServer::start_with(&["log_connections = on"]);
    let harness = PostgresRotatorHarness::alternating_users(server).await;
    let rotations = Rotations::new(
        moto.admin_store(),
        harness.rotator_with(settings(None, Duration::from_secs(5)), None),
    );
    let secret = harness.new_user(rotations.store(), "deputy").await;
    let username = secret.required_str("username").unwrap().to_owned();
    // The secret's editor does not know this user's password.
    let mut forged = secret.clone();
    forged.set("password", "a guess that is wrong");
    let arn = rotations.create("pg-deputy", &forged).await;
    let token = rotations.start(&arn).await;
    rotations.steps(&arn, &token, &[Step::CreateSecret]).await;
    let result = rotations.step(&arn, &token, Step::SetSecret).await;
    let message = error_chain(&result.expect_err("setSecret must refuse"));
    assert!(
        message.contains("AWSCURRENT") && message.contains("master"),
        "{message}"
    );
    let clone_exists = server.role_exists(&format!("{username}_clone")).await;
    assert!(!clone_exists, "the master's rights were not used");
    let traces = AttackedServer::login_traces(&harness, harness.master_user());
    assert!(traces.is_empty(), "the master logged in first: {traces:?}");
    assert!(harness.logs_in(&secret).await);
    rotations
        .assert_no_leaks(&harness.other_secret_values())
        .await;
}

#[tokio::test]
#[ignore = "services tier: cargo test --tests -- --include-ignored (CONTRIBUTING.md)"]
async fn a_master_secret_must_reach_the_same_cluster() {
    let moto = MotoServer::shared();
    let server = PostgresServer::shared();
    let other = PostgresServer::start();
    let harness = PostgresRotatorHarness::alternating_users(server).await;
    let other_harness = PostgresRotatorHarness::alternating_users(&other).await;
    let rotations = Rotations::new(
        moto.admin_store(),
        harness.rotator_with(settings(None, Duration::from_secs(5)), None),
    );

    // The master secret names the same cluster by another host name (as a
    // writer endpoint and a reader endpoint would): accepted.
    let mut secret = harness.new_user(rotations.store(), "reader").await;
    let master = harness.secret_for(
        harness.master_user(),
        harness.other_secret_values()[0].expose(),
    );
    let mut writer = master.clone();
    writer.set("host", "localhost");
    let writer_arn = rotations.create("pg-writer", &writer).await;
    secret.set("masterarn", writer_arn);
    let arn = rotations.create("pg-reader", &secret).await;
    rotations.rotate(&arn).await;
    let new = rotations
        .value(&arn, VersionSelector::Stage(AWSCURRENT))
        .await;
    assert!(harness.logs_in(&new).await);

    // The master secret names another cluster, where a user of the same
    // name exists: refused before anything changes there or here.
    let mut secret = harness.new_user(rotations.store(), "elsewhere").await;
    let username = secret.required_str("username").unwrap().to_owned();
    other_harness
        .create_user(&username, "the other cluster's password")
        .await;
    secret.set(
        "masterarn",
        other_harness.master_secret(rotations.store()).await,
    );
    let arn = rotations.create("pg-elsewhere", &secret).await;
    let message = set_secret_fails(&rotations, &harness, &arn).await;
    assert!(
        message.contains("not shown to be one database"),
        "{message}"
    );
    for cluster in [server, &other] {
        let clone_exists = cluster.role_exists(&format!("{username}_clone")).await;
        assert!(!clone_exists, "no clone was created");
    }
    let mut leaks = harness.other_secret_values();
    leaks.extend(other_harness.other_secret_values());
    rotations.assert_no_leaks(&leaks).await;
}

/// A server that asks every client for its password in cleartext (code 3)
/// or as MD5 (code 5), and records which logins answered with one.
async fn password_harvester(code: u32) -> (u16, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let harvested = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let record = std::sync::Arc::clone(&harvested);
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            let record = std::sync::Arc::clone(&record);
            tokio::spawn(async move {
                let length = client.read_u32().await.unwrap_or(0) as usize;
                let mut startup = vec![0; length.saturating_sub(4)];
                if client.read_exact(&mut startup).await.is_err() {
                    return;
                }
                let mut request = b"R".to_vec();
                let salt: &[u8] = if code == 5 { b"salt" } else { b"" };
                request.extend_from_slice(&(8 + salt.len() as u32).to_be_bytes());
                request.extend_from_slice(&code.to_be_bytes());
                request.extend_from_slice(salt);
                let _ = client.write_all(&request).await;
                // 'p': PasswordMessage. Anything else (or EOF): no password.
                if let Ok(b'p') = client.read_u8().await {
                    let user = String::from_utf8_lossy(&startup).into_owned();
                    record.lock().unwrap().push(user);
                }
            });
        }
    });
    (port, harvested)
}

#[tokio::test]
#[ignore = "services tier: cargo test --tests -- --include-ignored (CONTRIBUTING.md)"]
async fn master_logins_never_answer_a_cleartext_or_md5_password_request() {
    use rotation_core::error::error_chain;
    use rotation_database::{DatabaseBackend, DatabaseSecret, LoginError};
    let backend = postgres_rotator::PostgresBackend::new(settings(None, Duration::from_secs(2)))
        .expect("valid settings");
    for (code, expected) in [(3, "cleartext"), (5, "MD5")] {
        let (port, harvested) = password_harvester(code).await;
        let login = DatabaseSecret::parse(
            &SecretJson::from_map(
                json!({
                    "engine": "postgres", "host": "127.0.0.1", "port": port,
                    "username": "the_master", "password": "master-pw-7f3a", "ssl": false,
                })
                .as_object()
                .unwrap()
                .clone(),
            ),
            &postgres_rotator::PostgresBackend::SPEC,
        )
        .unwrap();

        // An ordinary login answers (the server really asks), ...
        let _ = backend.connect(&login).await;
        assert_eq!(
            harvested.lock().unwrap().len(),
            1,
            "the control login answered"
        );

        // ... a master login does not.
        let refused = backend.connect_admin(&login).await;
        let Err(LoginError::Connection(error)) = refused else {
            panic!("the master login must fail: {:?}", refused.map(drop));
        };
        let message = error_chain(error.as_ref());
        assert!(
            message.contains(expected) && message.contains("SCRAM"),
            "{message}"
        );
        assert!(!message.contains("master-pw-7f3a"), "{message}");
        assert_eq!(
            harvested.lock().unwrap().len(),
            1,
            "no password was sent on the master login"
        );
    }
}
