//! Bad input, table-driven, through the built `postgres-rotator`: malformed
//! events, malformed secrets and bad settings each get an error that names
//! the field or variable, never a secret value, and change nothing in the
//! store or the database.

use std::time::Duration;

use rotation_core::secret::{SecretBytes, SecretPayload};
use rotation_core::testkit::{new_token, unique_name, RotatorHarness};
use rotation_core::{SecretJson, SecretString, Step};
use rotation_tests::lambda_e2e::{rotation_event, start_function, INVOCATION_BUDGET};
use rotation_tests::lambda_function::{bootstrap, FunctionProcess};
use rotation_tests::moto::MotoServer;
use rotation_tests::postgres::PostgresServer;
use rotation_tests::postgres_rotator::PostgresRotatorHarness;
use rotation_tests::runtime_api::{Outcome, RuntimeApi};
use serde_json::{json, Value};

const BIN: &str = "postgres-rotator";

fn expect_error(outcome: Option<Outcome>, error_type: &str, names: &str, what: &str) -> String {
    match outcome {
        Some(Outcome::Error {
            error_type: found,
            message,
        }) => {
            assert_eq!(found, error_type, "{what}: {message}");
            assert!(
                message.contains(names),
                "{what}: `{message}` should name {names}"
            );
            message
        }
        other => panic!("{what}: expected a {error_type} error, got {other:?}"),
    }
}

#[tokio::test]
async fn malformed_events_are_refused_naming_the_field() {
    let moto = MotoServer::start();
    let (api, mut process, _) = start_function(BIN, &moto.endpoint(), &[]).await;
    let ok = |step: &str| json!({"Step": step, "SecretId": "arn:x", "ClientRequestToken": "t"});
    let without = |field: &str| {
        let mut event = ok("createSecret");
        event.as_object_mut().unwrap().remove(field);
        event
    };
    let with = |field: &str, value: Value| {
        let mut event = ok("createSecret");
        event[field] = value;
        event
    };
    let cases: Vec<(&str, Value, &str)> = vec![
        ("an empty object", json!({}), "Step"),
        ("no SecretId", without("SecretId"), "SecretId"),
        (
            "no ClientRequestToken",
            without("ClientRequestToken"),
            "ClientRequestToken",
        ),
        ("a numeric Step", with("Step", json!(1)), "Step"),
        ("an unknown Step", ok("rotateSecret"), "rotateSecret"),
        ("an empty SecretId", with("SecretId", json!("")), "SecretId"),
        (
            "an empty token",
            with("ClientRequestToken", json!("")),
            "ClientRequestToken",
        ),
        (
            "a numeric SecretId",
            with("SecretId", json!(42)),
            "SecretId",
        ),
        (
            "a numeric RotationToken",
            with("RotationToken", json!(7)),
            "RotationToken",
        ),
        ("an array", json!([ok("createSecret")]), "not a JSON object"),
        ("a string", json!("createSecret"), "not a JSON object"),
        ("null", Value::Null, "not a JSON object"),
        (
            "a huge unknown Step",
            ok(&"x".repeat(100_000)),
            "unknown step",
        ),
    ];
    for (what, event, names) in &cases {
        let outcome = api.invoke(event, INVOCATION_BUDGET).await;
        let message = expect_error(outcome, "InvalidEvent", names, what);
        assert!(message.len() < 1000, "{what}: the message echoes the input");
    }
    assert!(
        process.is_running(),
        "the function survives every bad event"
    );
    println!("{} malformed events refused", cases.len());
}

#[tokio::test]
async fn malformed_secrets_are_refused_naming_the_field_with_nothing_changed() {
    let moto = MotoServer::start();
    let server = PostgresServer::start();
    let harness = PostgresRotatorHarness::single_user(&server).await;
    let (api, mut process, _) = start_function(BIN, &moto.endpoint(), &[]).await;
    let store = moto.admin_store();
    let valid = harness.fresh_secret(store.as_ref()).await;
    let password = valid.required_secret("password").unwrap();
    let with = |field: &str, value: Value| {
        let mut secret = valid.clone();
        secret.set(field, value);
        SecretPayload::String(secret.to_secret_string())
    };
    let without = |field: &str| {
        let mut map = valid.as_map().clone();
        map.remove(field);
        SecretPayload::String(SecretJson::from_map(map).to_secret_string())
    };
    let text = |s: String| SecretPayload::String(SecretString::new(s));
    let valid_text = valid.to_secret_string().expose().to_owned();
    let cases: Vec<(&str, SecretPayload, &str)> = vec![
        (
            "a binary secret",
            SecretPayload::Binary(SecretBytes::new(valid_text.as_bytes())),
            "SecretBinary",
        ),
        (
            "binary, invalid UTF-8",
            SecretPayload::Binary(SecretBytes::new(vec![0xff, 0xfe, 0x00, 0x80])),
            "SecretBinary",
        ),
        (
            "not JSON",
            text(format!("{valid_text}}}")),
            "not valid JSON",
        ),
        (
            "truncated JSON",
            text(valid_text[..valid_text.len() / 2].to_owned()),
            "not valid JSON",
        ),
        (
            "a JSON array",
            text(format!("[{valid_text}]")),
            "not a JSON object",
        ),
        (
            "a JSON string",
            text("\"postgres://user:pw@host/db\"".into()),
            "not a JSON object",
        ),
        ("no password", without("password"), "`password`"),
        (
            "a numeric password",
            with("password", json!(1234567890)),
            "`password`",
        ),
        (
            "a password with NUL",
            with("password", json!("before\u{0}after-secret")),
            "`password`",
        ),
        ("no username", without("username"), "`username`"),
        (
            "a numeric username",
            with("username", json!(7)),
            "`username`",
        ),
        (
            "a 64-byte username",
            with("username", json!("u".repeat(64))),
            "`username`",
        ),
        ("no host", without("host"), "`host`"),
        ("an empty host", with("host", json!(" ")), "`host`"),
        (
            "a huge host",
            with("host", json!("h".repeat(60_000))),
            "`host`",
        ),
        ("no engine", without("engine"), "`engine`"),
        (
            "an unknown engine",
            with("engine", json!("oracle")),
            "`engine`",
        ),
        ("a MySQL engine", with("engine", json!("mysql")), "`engine`"),
        (
            "a port that is no number",
            with("port", json!("fifty")),
            "`port`",
        ),
        ("port 0", with("port", json!(0)), "`port`"),
        ("port 70000", with("port", json!(70000)), "`port`"),
        ("a fractional port", with("port", json!(5432.5)), "`port`"),
        (
            "ssl that is no boolean",
            with("ssl", json!("maybe")),
            "`ssl`",
        ),
        (
            "an ssl mode that falls back to plaintext",
            with("ssl", json!("prefer")),
            "`ssl`",
        ),
        ("a numeric ssl", with("ssl", json!(1)), "`ssl`"),
        ("a numeric dbname", with("dbname", json!(5)), "`dbname`"),
        (
            "an object masterarn",
            with("masterarn", json!({"arn": "x"})),
            "`masterarn`",
        ),
    ];
    for (what, payload, names) in &cases {
        let arn = store
            .create_secret(&unique_name("bad-secret"), payload.clone())
            .await
            .expect("create the secret");
        let token = new_token();
        store.start_rotation(&arn, &token).await.unwrap();
        let before = store.snapshot(&arn).await.unwrap();
        let outcome = api
            .invoke(
                &rotation_event(Step::CreateSecret, &arn, &token),
                INVOCATION_BUDGET,
            )
            .await;
        let message = expect_error(outcome, "InvalidSecret", names, what);
        assert!(
            !message.contains(password.expose()),
            "{what}: the message holds the password"
        );
        assert!(
            !message.contains("after-secret"),
            "{what}: the message holds a value"
        );
        assert_eq!(
            before,
            store.snapshot(&arn).await.unwrap(),
            "{what}: the store changed"
        );
    }
    assert!(
        harness.can_log_in(&valid).await,
        "the database user is untouched"
    );
    assert!(process.is_running());
    assert!(!process.stdout().contains(password.expose()));
    println!("{} malformed secrets refused", cases.len());
}

#[tokio::test]
async fn bad_settings_stop_the_function_at_start_naming_the_variable() {
    /// What is wrong, the variables set, the name the error must give.
    type Case = (
        &'static str,
        &'static [(&'static str, &'static str)],
        &'static str,
    );
    let cases: &[Case] = &[
        (
            "a length that is no number",
            &[("PASSWORD_LENGTH", "long")],
            "PASSWORD_LENGTH",
        ),
        (
            "a zero length",
            &[("PASSWORD_LENGTH", "0")],
            "PASSWORD_LENGTH",
        ),
        (
            "a length over 4096",
            &[("PASSWORD_LENGTH", "5000")],
            "PASSWORD_LENGTH",
        ),
        (
            "a flag that is no boolean",
            &[("EXCLUDE_NUMBERS", "maybe")],
            "EXCLUDE_NUMBERS",
        ),
        (
            "another",
            &[("REQUIRE_EACH_INCLUDED_TYPE", "2")],
            "REQUIRE_EACH_INCLUDED_TYPE",
        ),
        (
            "every class excluded",
            &[
                ("EXCLUDE_NUMBERS", "true"),
                ("EXCLUDE_PUNCTUATION", "true"),
                ("EXCLUDE_UPPERCASE", "true"),
                ("EXCLUDE_LOWERCASE", "true"),
            ],
            "EXCLUDE",
        ),
        (
            "an unknown strategy",
            &[("ROTATION_STRATEGY", "round-robin")],
            "ROTATION_STRATEGY",
        ),
        (
            "a timeout that is no number",
            &[("DB_CONNECT_TIMEOUT", "soon")],
            "DB_CONNECT_TIMEOUT",
        ),
        (
            "a zero timeout",
            &[("DB_CONNECT_TIMEOUT", "0")],
            "DB_CONNECT_TIMEOUT",
        ),
        (
            "a missing CA bundle",
            &[("DB_CA_BUNDLE", "/nonexistent/ca.pem")],
            "DB_CA_BUNDLE",
        ),
    ];
    for (what, env, names) in cases {
        let api = RuntimeApi::start().await;
        let env: Vec<(&str, String)> = env.iter().map(|(k, v)| (*k, (*v).to_owned())).collect();
        let mut process = FunctionProcess::start(&bootstrap(BIN), &api, &env);
        let mut waited = Duration::ZERO;
        while process.is_running() && waited < Duration::from_secs(5) {
            tokio::time::sleep(Duration::from_millis(10)).await;
            waited += Duration::from_millis(10);
        }
        assert!(!process.is_running(), "{what}: the function must not start");
        assert!(api.next_requests().is_empty(), "{what}: it asked for work");
        let output = format!("{}{}", process.stdout(), process.stderr());
        assert!(
            output.contains(names),
            "{what}: the output should name {names}: {output}"
        );
    }
    println!("{} bad settings refused", cases.len());
}
