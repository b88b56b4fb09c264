//! `rotate` on the embedded store: the quick start, values shown only when
//! asked, a PostgreSQL rotation failed mid-way and resumed, `step`, two
//! processes racing, `status` on each stuck state, every exit code and
//! Ctrl-C.

use std::process::{Command, Output, Stdio};
use std::time::Duration;

use postgres_rotator_testing::PostgresServer;
use rotation_core::store::{
    PutValue, SecretStore, VersionSelector, AWSCURRENT, AWSPENDING, AWSPREVIOUS,
};
use rotation_core::SecretString;
use serde_json::Value;

use crate::support::{
    describe, holder, labels_of, postgres_secret, stuck_postgres_rotation, StoreFile,
};

#[test]
fn the_quick_start_rotates_a_generated_key_and_moves_the_labels() {
    let store = StoreFile::new();
    let initial = r#"{"engine": "generated", "api_key": "sk_initial_key_value"}"#;
    let created = store.json(&["secret", "create", "billing-key", "--value", initial]);
    assert!(created["arn"].as_str().unwrap().contains("billing-key"));

    let output = store.rotate(&["run", "billing-key"]);
    assert!(output.status.success(), "{}", describe(&output));
    let text = String::from_utf8_lossy(&output.stdout);
    for step in ["createSecret", "setSecret", "testSecret", "finishSecret"] {
        assert!(text.contains(step), "{text}");
    }
    assert!(text.contains("AWSPREVIOUS"), "{text}");
    assert!(
        !text.contains("sk_initial_key_value"),
        "a value was printed: {text}"
    );

    let report = store.json(&["run", "billing-key"]);
    assert_eq!(report["resumed"], false);
    let steps: Vec<_> = report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["step"].as_str().unwrap().to_owned(), s["outcome"].clone()))
        .collect();
    assert_eq!(steps.len(), 4, "{report}");
    let token = report["token"].as_str().unwrap();
    let old = holder(&report["before"], AWSCURRENT).unwrap();
    assert_eq!(holder(&report["after"], AWSCURRENT).as_deref(), Some(token));
    assert_eq!(labels_of(&report["after"], &old), vec![AWSPREVIOUS]);

    let current = store.json(&["secret", "get", "billing-key", "--show-value"]);
    let value: Value = serde_json::from_str(current["value"].as_str().unwrap()).unwrap();
    assert_eq!(value["engine"], "generated");
    assert_eq!(value["api_key"].as_str().unwrap().len(), 40);
}

#[test]
fn values_are_shown_only_when_asked() {
    let store = StoreFile::new();
    let initial = r#"{"engine": "generated", "api_key": "sk_first_value_1234"}"#;
    store.json(&["secret", "create", "k", "--value", initial]);
    let report = store.json(&["run", "k", "--show-values"]);
    assert!(report["values_before"]["AWSCURRENT"]
        .as_str()
        .unwrap()
        .contains("sk_first_value_1234"));
    let after = report["values_after"]["AWSPREVIOUS"].as_str().unwrap();
    assert!(after.contains("sk_first_value_1234"), "{report}");
    let got = store.json(&["secret", "get", "k", "--stage", "AWSPREVIOUS"]);
    assert!(got.get("value").is_none(), "{got}");
    assert_eq!(got["fields"], serde_json::json!(["engine", "api_key"]));
}

#[tokio::test]
#[ignore = "services tier: cargo test --tests -- --include-ignored (CONTRIBUTING.md)"]
async fn a_postgres_rotation_that_fails_mid_way_is_resumed() {
    let server = PostgresServer::start();
    let store = StoreFile::new();
    let (user, output) = stuck_postgres_rotation(&server, &store).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("setSecret failed"), "{stderr}");
    assert!(stderr.contains("rotate run db"), "{stderr}");
    let status = store.json(&["status", "db"]);
    assert_eq!(
        status[0]["problems"][0]["code"], "rotation-incomplete",
        "{status}"
    );

    server.start_again();
    let report = store.json(&["run", "db"]);
    assert_eq!(report["resumed"], true, "{report}");
    let current = store
        .open()
        .get_value("db", VersionSelector::Stage(AWSCURRENT))
        .await
        .unwrap()
        .unwrap();
    let rotation_core::secret::SecretPayload::String(value) = current.payload else {
        panic!("a string secret")
    };
    let value: Value = serde_json::from_str(value.expose()).unwrap();
    assert!(
        server
            .can_log_in(&user, value["password"].as_str().unwrap())
            .await
    );
    let status = store.json(&["status", "db"]);
    assert_eq!(status[0]["problems"], serde_json::json!([]), "{status}");
}

#[test]
fn two_processes_rotating_one_secret_at_once_both_finish_one_rotation() {
    let store = StoreFile::new();
    let initial = r#"{"engine": "generated", "api_key": "sk_racing"}"#;
    store.json(&["secret", "create", "raced", "--value", initial]);
    // The racers start behind the store's write lock, which every open
    // takes first, and are let go together once both wait on it: both
    // rotations then run at once, whatever the spawn order and timing.
    let gate = rusqlite::Connection::open(store.path()).unwrap();
    gate.execute_batch("BEGIN IMMEDIATE").unwrap();
    let racers: Vec<_> = (0..2)
        .map(|_| {
            store
                .command(&["--json", "run", "raced"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let pids: Vec<u32> = racers.iter().map(|r| r.id()).collect();
    let waiting_since = std::time::Instant::now();
    if !cfg!(target_os = "linux") {
        println!("not Linux: no /proc to see the racers wait, so they start as spawned");
    }
    // Well within the store's 10 s busy timeout.
    while cfg!(target_os = "linux") && !pids.iter().all(|&pid| waits_on_a_lock(pid)) {
        assert!(
            waiting_since.elapsed() < Duration::from_secs(6),
            "the racers never both waited on the store's lock"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    gate.execute_batch("COMMIT").unwrap();
    let outputs: Vec<Output> = racers
        .into_iter()
        .map(|r| r.wait_with_output().unwrap())
        .collect();
    for output in &outputs {
        assert!(output.status.success(), "{}", describe(output));
    }
    let status = store.json(&["status", "raced"]);
    let versions = &status[0]["versions"];
    // One rotation or two in a row, never a torn one.
    let count = versions.as_array().unwrap().len();
    assert!((2..=3).contains(&count), "{status}");
    assert!(holder(versions, AWSCURRENT).is_some());
    assert!(holder(versions, AWSPREVIOUS).is_some());
    assert_eq!(status[0]["problems"], serde_json::json!([]), "{status}");
}

/// Whether a thread of process `pid` sleeps in SQLite's busy handler (the
/// kernel's `hrtimer_nanosleep`: the `rotate` binary sleeps nowhere else).
fn waits_on_a_lock(pid: u32) -> bool {
    let Ok(threads) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return false;
    };
    threads.flatten().any(|thread| {
        std::fs::read_to_string(thread.path().join("wchan"))
            .is_ok_and(|wchan| wchan.trim() == "hrtimer_nanosleep")
    })
}

#[tokio::test]
async fn status_names_each_stuck_state_and_its_fix() {
    let store = StoreFile::new();
    let handle = store.open();
    let value = r#"{"engine": "generated", "api_key": "k"}"#;
    for name in ["placeholder", "incomplete", "disabled"] {
        handle
            .create_secret(
                name,
                rotation_core::secret::SecretPayload::String(SecretString::new(value)),
            )
            .await
            .unwrap();
    }
    handle.start_rotation("placeholder", "t-1").await.unwrap();
    handle.start_rotation("incomplete", "t-2").await.unwrap();
    handle
        .put_value(
            "incomplete",
            PutValue {
                version_id: "t-2",
                value: &SecretString::new(r#"{"engine": "generated", "api_key": "k2"}"#),
                stages: &[AWSPENDING],
                rotation_token: None,
            },
        )
        .await
        .unwrap();
    let statuses = store.json(&["status", "placeholder", "incomplete", "disabled"]);
    let codes: Vec<Vec<String>> = statuses
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            s["problems"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["code"].as_str().unwrap().to_owned())
                .collect()
        })
        .collect();
    assert_eq!(
        codes,
        vec![
            vec!["pending-without-value".to_owned()],
            vec!["rotation-incomplete".to_owned()],
            vec!["rotation-disabled".to_owned()],
        ]
    );
    let text =
        String::from_utf8_lossy(&store.rotate(&["status", "placeholder", "disabled"]).stdout)
            .into_owned();
    assert!(text.contains("Fix: rotate run placeholder"), "{text}");
    assert!(
        text.contains("Fix: rotate secret enable-rotation disabled"),
        "{text}"
    );

    // The fixes it names work: the placeholder's rotation is resumed.
    let report = store.json(&["run", "placeholder"]);
    assert_eq!(report["resumed"], true);
    assert_eq!(report["token"], "t-1");
    let statuses = store.json(&["status", "placeholder"]);
    assert_eq!(statuses[0]["problems"], serde_json::json!([]));
}

#[tokio::test]
#[ignore = "services tier: cargo test --tests -- --include-ignored (CONTRIBUTING.md)"]
async fn step_reproduces_one_step_of_a_stuck_rotation() {
    let server = PostgresServer::start();
    let store = StoreFile::new();
    let (user, _) = stuck_postgres_rotation(&server, &store).await;
    let status = store.json(&["status", "db"]);
    let token = holder(&status[0]["versions"], AWSPENDING).unwrap();

    // The same failure, once, on demand.
    let output = store.rotate(&["step", "db", "setSecret", "--token", &token]);
    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
    assert!(String::from_utf8_lossy(&output.stderr).contains("setSecret failed after 1"));
    server.start_again();
    for step in ["setSecret", "testSecret", "finishSecret"] {
        let report = store.json(&["step", "db", step, "--token", &token]);
        assert_eq!(report["outcome"], "done", "{report}");
    }
    let status = store.json(&["status", "db"]);
    assert_eq!(holder(&status[0]["versions"], AWSCURRENT), Some(token));
    let current = store.json(&["secret", "get", "db", "--show-value"]);
    let value: Value = serde_json::from_str(current["value"].as_str().unwrap()).unwrap();
    assert!(
        server
            .can_log_in(&user, value["password"].as_str().unwrap())
            .await
    );
    // A step name it does not know is bad usage.
    let output = store.rotate(&["step", "db", "rollback", "--token", "t"]);
    assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
}

#[test]
fn each_failure_has_its_exit_code() {
    let store = StoreFile::new();
    let code = |output: Output| output.status.code();
    // Bad usage: an unknown command, a missing secret, no store, a file
    // that is not a store, a secret no rotator takes.
    assert_eq!(code(store.rotate(&["spin"])), Some(2));
    assert_eq!(code(store.rotate(&["run", "absent"])), Some(2));
    let no_store = Command::new(env!("CARGO_BIN_EXE_rotate"))
        .args(["secret", "list"])
        .env_remove("ROTATE_STORE")
        .output()
        .unwrap();
    assert_eq!(no_store.status.code(), Some(2), "{}", describe(&no_store));
    assert!(String::from_utf8_lossy(&no_store.stderr).contains("ROTATE_STORE"));
    let not_ours = store.dir.join("notes.txt");
    std::fs::write(&not_ours, "x".repeat(2048)).unwrap();
    #[cfg(unix)]
    {
        // Readable by others first: refused for that, before its content.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&not_ours, std::fs::Permissions::from_mode(0o644)).unwrap();
        let output = store
            .command(&["--store", not_ours.to_str().unwrap(), "secret", "list"])
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
        assert!(
            String::from_utf8_lossy(&output.stderr).contains("mode 644"),
            "{}",
            describe(&output)
        );
        std::fs::set_permissions(&not_ours, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let output = store
        .command(&["--store", not_ours.to_str().unwrap(), "secret", "list"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
    assert!(String::from_utf8_lossy(&output.stderr).contains("not a secret store"));
    store.json(&["secret", "create", "plain", "--value", r#"{"token": "x"}"#]);
    let output = store.rotate(&["run", "plain"]);
    assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--rotator"));
    // With --json, the error is JSON too.
    let output = store.rotate(&["--json", "run", "absent"]);
    let error: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(error["exit_code"], 2);
    // A bad rotator setting is refused before any step, naming it. (A
    // failed rotation, exit 1, and Ctrl-C, 130, have tests of their own.)
    let output = store
        .command(&["run", "plain", "--rotator", "api-key"])
        .env("API_KEY_PROVIDER", "generated")
        .env("API_KEY_LENGTH", "0")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", describe(&output));
    assert!(String::from_utf8_lossy(&output.stderr).contains("API_KEY_LENGTH"));
    // The store cannot be created: the tool's own failure.
    let output = store
        .command(&[
            "--store",
            &format!("{}/x.db", not_ours.display()),
            "secret",
            "list",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3), "{}", describe(&output));
}

#[cfg(unix)]
#[tokio::test]
#[ignore = "services tier: cargo test --tests -- --include-ignored (CONTRIBUTING.md)"]
async fn ctrl_c_during_a_retried_step_leaves_a_resumable_rotation() {
    let server = PostgresServer::start();
    let store = StoreFile::new();
    let (_, secret) = postgres_secret(&server).await;
    store.json(&["secret", "create", "db", "--value", &secret]);
    server.stop();
    let child = store
        .command(&["run", "db", "--attempts", "5"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Into setSecret's retries (createSecret takes milliseconds).
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let interrupted = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(interrupted.success());
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(130), "{}", describe(&output));
    assert!(String::from_utf8_lossy(&output.stderr).contains("rotate run db"));
    server.start_again();
    let report = store.json(&["run", "db"]);
    assert_eq!(report["resumed"], true, "{report}");
}
