//! `rotate --aws` on moto's Secrets Manager: `status` of a stuck rotation
//! and its resumption, and new rotations run in-process.

use rotation_core::store::{AWSCURRENT, AWSPENDING, AWSPREVIOUS};
use rotation_core::testkit::SecretAdmin;
use rotation_core::{SecretJson, SecretString};
use rotation_testing::moto::MotoServer;
use serde_json::Value;

use crate::support::{current_json, describe, holder, on_moto, StoreFile};

/// Stores `json` as a new secret named after `name`; its ARN.
async fn create(admin: &dyn SecretAdmin, name: &str, json: &str) -> String {
    admin
        .create_json(name, &SecretJson::parse(&SecretString::new(json)).unwrap())
        .await
        .unwrap()
}

#[tokio::test]
#[ignore = "services tier: cargo test --tests -- --include-ignored (CONTRIBUTING.md)"]
async fn a_stuck_rotation_in_secrets_manager_is_diagnosed_and_resumed() {
    let moto = MotoServer::start();
    let admin = moto.store();
    let arn = create(&admin, "cli-status", r#"{"api_key": "k"}"#).await;
    let token = "0b7e5d1c-6a57-4d1b-9d3e-2f4c8a9e1b20";
    admin.start_rotation(&arn, token).await.unwrap();
    let store = StoreFile::new();
    let aws = |args: &[&str]| on_moto(&store, &moto, args).output().unwrap();
    let output = aws(&["--json", "status", &arn]);
    assert!(output.status.success(), "{}", describe(&output));
    let status: Value = serde_json::from_slice(&output.stdout).unwrap();
    let status = &status[0];
    assert_eq!(status["arn"], arn.as_str());
    assert_eq!(status["rotation_enabled"], true, "{status}");
    assert_eq!(status["schedule"], "every 30 days", "{status}");
    assert!(status["function"]
        .as_str()
        .unwrap()
        .contains("rotation-under-test"));
    assert_eq!(
        holder(&status["versions"], AWSPENDING).as_deref(),
        Some(token)
    );
    let problem = &status["problems"][0];
    assert_eq!(problem["code"], "pending-without-value", "{status}");
    let fix = problem["fix"].as_str().unwrap();
    assert!(
        fix.contains(&format!("--client-request-token {token}")),
        "{fix}"
    );

    let text = String::from_utf8_lossy(&aws(&["status", &arn]).stdout).into_owned();
    assert!(text.contains("Problem (pending-without-value)"), "{text}");
    // A secret Secrets Manager does not have is bad usage; `secret`
    // manages the embedded store only, and says so.
    assert_eq!(aws(&["status", "absent-secret"]).status.code(), Some(2));
    let output = aws(&["secret", "list"]);
    assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
    assert!(String::from_utf8_lossy(&output.stderr).contains("AWS CLI"));

    // `run` resumes the stuck rotation with its token, in this process
    // (--force: the secret has a function and rotation enabled).
    let output = aws(&["--json", "run", &arn, "--rotator", "api-key", "--force"]);
    assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
    // The secret has no `engine`: the provider comes from the setting.
    let output = on_moto(
        &store,
        &moto,
        &["--json", "run", &arn, "--rotator", "api-key", "--force"],
    )
    .env("API_KEY_PROVIDER", "generated")
    .output()
    .unwrap();
    assert!(output.status.success(), "{}", describe(&output));
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["resumed"], true, "{report}");
    assert_eq!(report["token"], token);
    assert_eq!(holder(&report["after"], AWSCURRENT).as_deref(), Some(token));
    let current = current_json(&admin, &arn).await;
    assert_eq!(current.required_str("api_key").unwrap().len(), 40);
}

#[tokio::test]
#[ignore = "services tier: cargo test --tests -- --include-ignored (CONTRIBUTING.md)"]
async fn run_rotates_a_secret_in_secrets_manager_without_invoking_a_function() {
    let moto = MotoServer::start();
    let admin = moto.store();
    let initial = r#"{"engine": "generated", "api_key": "sk_on_moto"}"#;
    let arn = create(&admin, "cli-run", initial).await;
    let store = StoreFile::new();
    let aws = |args: &[&str]| on_moto(&store, &moto, args).output().unwrap();
    let mut previous = None;
    for round in 0..2 {
        let output = aws(&["--json", "run", &arn, "--rotator", "api-key"]);
        assert!(
            output.status.success(),
            "round {round}: {}",
            describe(&output)
        );
        let report: Value = serde_json::from_slice(&output.stdout).unwrap();
        assert_eq!(report["resumed"], false, "{report}");
        let token = report["token"].as_str().unwrap().to_owned();
        let old = holder(&report["before"], AWSCURRENT).unwrap();
        assert_eq!(
            holder(&report["after"], AWSCURRENT).as_deref(),
            Some(token.as_str())
        );
        assert_eq!(holder(&report["after"], AWSPREVIOUS), Some(old.clone()));
        if let Some(previous) = &previous {
            assert_eq!(&old, previous);
        }
        previous = Some(token);
    }
    let current = current_json(&admin, &arn).await;
    assert_ne!(current.required_str("api_key").unwrap(), "sk_on_moto");
    // Nothing is stuck; the secret never had a rotation function, which
    // an in-process run leaves as it is.
    let status = aws(&["--json", "status", &arn]);
    let status: Value = serde_json::from_slice(&status.stdout).unwrap();
    let codes: Vec<_> = status[0]["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, vec!["rotation-disabled"], "{status}");
}

/// A secret's content must not choose what runs with the operator's
/// credentials and network position: on Secrets Manager, `run` and `step`
/// need `--rotator`, refuse a secret whose `host` is a Unix socket, a
/// loopback or a link-local address unless `--allow-local-hosts` says
/// the operator means it, and refuse alternating users without the
/// `MASTER_SECRET_ARNS` allow-list. Each refusal is bad usage (exit 2),
/// names what to do, and changes nothing.
#[tokio::test]
#[ignore = "services tier: cargo test --tests -- --include-ignored (CONTRIBUTING.md)"]
async fn a_secret_edited_by_someone_else_does_not_steer_an_aws_run() {
    let moto = MotoServer::start();
    let admin = moto.store();
    let store = StoreFile::new();
    let aws = |args: &[&str]| on_moto(&store, &moto, args).output().unwrap();
    let refused = |args: &[&str], says: &str| {
        let output = aws(args);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{args:?}: {}",
            describe(&output)
        );
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        assert!(stderr.contains(says), "{args:?}: {stderr}");
    };

    let generated = r#"{"engine": "generated", "api_key": "sk_untouched"}"#;
    let arn = create(&admin, "cli-engine", generated).await;
    refused(&["run", &arn], "--rotator");
    refused(&["step", &arn, "createSecret", "--token", "t"], "--rotator");
    let current = current_json(&admin, &arn).await;
    assert_eq!(current.required_str("api_key").unwrap(), "sk_untouched");

    for host in [
        "/var/run/postgresql",
        "localhost",
        "127.0.0.1",
        "::1",
        "[::1]",
        "169.254.169.254",
        "fe80::1",
        "0.0.0.0",
    ] {
        let secret = serde_json::json!({
            "engine": "postgres", "host": host, "username": "postgres",
            "password": "chosen-by-the-editor", "ssl": false,
        });
        let arn = create(&admin, "cli-local", &secret.to_string()).await;
        refused(
            &["run", &arn, "--rotator", "postgres"],
            "--allow-local-hosts",
        );
        let current = current_json(&admin, &arn).await;
        assert_eq!(
            current.required_str("password").unwrap(),
            "chosen-by-the-editor",
            "{host}"
        );
        let versions = admin.snapshot(&arn).await.unwrap();
        assert_eq!(versions.len(), 1, "{host}: a version was written");
    }

    let alternating = serde_json::json!({
        "engine": "postgres", "host": "db.example.com", "username": "app",
        "password": "p", "masterarn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:master",
    });
    let arn = create(&admin, "cli-alternating", &alternating.to_string()).await;
    refused(
        &["run", &arn, "--rotator", "postgres"],
        "MASTER_SECRET_ARNS",
    );
    assert_eq!(admin.snapshot(&arn).await.unwrap().len(), 1);
}

/// `rotate --aws run` plays Secrets Manager's part without its per-secret
/// lock: on a secret whose rotation is enabled or that has a function, a
/// scheduled rotation could start beside it. It refuses such a secret
/// unless `--force` says the operator has stopped the schedule (or means
/// to resume a stuck rotation), and changes nothing.
#[tokio::test]
#[ignore = "services tier: cargo test --tests -- --include-ignored (CONTRIBUTING.md)"]
async fn an_aws_run_beside_a_scheduled_rotation_needs_force() {
    let moto = MotoServer::start();
    let admin = moto.store();
    let value = r#"{"engine": "generated", "api_key": "sk_scheduled"}"#;
    let arn = create(&admin, "cli-scheduled", value).await;
    // A rotation the function finished: rotation enabled, a function set.
    let token = "5d0c8a3e-7b41-4e2a-9f6d-1c3b5a7e9d20";
    admin.start_rotation(&arn, token).await.unwrap();
    let store = StoreFile::new();
    let before = admin.snapshot(&arn).await.unwrap();
    let output = on_moto(&store, &moto, &["run", &arn, "--rotator", "api-key"])
        .env("API_KEY_PROVIDER", "generated")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("--force") && stderr.contains("rotation-under-test"),
        "{stderr}"
    );
    assert_eq!(before, admin.snapshot(&arn).await.unwrap());
    let output = on_moto(
        &store,
        &moto,
        &["run", &arn, "--rotator", "api-key", "--force"],
    )
    .env("API_KEY_PROVIDER", "generated")
    .output()
    .unwrap();
    assert!(output.status.success(), "{}", describe(&output));
}
