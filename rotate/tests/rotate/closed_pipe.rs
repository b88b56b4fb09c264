//! `rotate` whose reader goes away (`| head -c 1`, a pager quit early):
//! it ends quietly with 141, as a process killed by SIGPIPE would, for
//! every command and both output forms; never a panic or a backtrace.

use std::io::Read;
use std::process::{Child, Stdio};

use rotation_core::testkit::SecretAdmin;
use rotation_core::SecretJson;
use serde_json::json;

use crate::support::StoreFile;

/// What a shell reports for a process killed by SIGPIPE: 128 + 13.
const CLOSED_PIPE: i32 = 141;

/// A store holding `count` generated-key secrets; returns the store and
/// the secrets' ARNs.
fn store_with_secrets(count: usize) -> (StoreFile, Vec<String>) {
    let store = StoreFile::new();
    let admin = store.open();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let arns = runtime.block_on(async {
        let mut arns = Vec::new();
        for _ in 0..count {
            let serde_json::Value::Object(map) =
                json!({"engine": "generated", "api_key": "sk_closed_pipe_test_key"})
            else {
                unreachable!("json! of an object")
            };
            arns.push(
                admin
                    .create_json(
                        "a-secret-whose-long-name-fills-the-listing-of-a-closed-pipe-test",
                        &SecretJson::from_map(map),
                    )
                    .await
                    .unwrap(),
            );
        }
        arns
    });
    (store, arns)
}

/// `rotate args` with its standard output and error in pipes.
fn spawn_piped(store: &StoreFile, args: &[&str]) -> Child {
    store
        .command(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start rotate")
}

/// Waits for `child` and checks that it ended as a closed pipe should.
fn assert_ended_quietly(mut child: Child, what: &str) {
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let status = child.wait().unwrap();
    assert!(
        !stderr.contains("panicked") && !stderr.contains("stack backtrace"),
        "{what}: a panic on a closed pipe: {stderr}"
    );
    assert_eq!(
        status.code(),
        Some(CLOSED_PIPE),
        "{what}: the exit status on a closed pipe (stderr: {stderr})"
    );
    assert!(stderr.is_empty(), "{what}: nothing to say: {stderr}");
}

/// Every command and output form, with the reader gone before the first
/// byte: the outcome does not depend on timing.
#[test]
fn a_reader_gone_before_the_output_ends_every_command_quietly() {
    let (store, arns) = store_with_secrets(3);
    let mut commands: Vec<Vec<&str>> = Vec::new();
    for json in [false, true] {
        let form: &[&str] = if json { &["--json"] } else { &[] };
        commands.push([form, &["status"], &[arns[0].as_str(), arns[1].as_str()]].concat());
        commands.push([form, &["secret", "list"]].concat());
        commands.push([form, &["secret", "get", arns[2].as_str()]].concat());
        commands.push([form, &["run", arns[if json { 1 } else { 0 }].as_str()]].concat());
    }
    for args in &commands {
        let mut child = spawn_piped(&store, args);
        drop(child.stdout.take());
        assert_ended_quietly(child, &args.join(" "));
    }
}

/// The reader takes one byte of a long output (each over 64 KiB, what a
/// pipe holds) and leaves while `rotate` is still writing, as `| head -c 1`
/// does: repeated, since when it leaves is a race.
#[test]
fn a_reader_that_leaves_mid_output_ends_it_quietly() {
    let (store, arns) = store_with_secrets(300);
    let mut status = vec!["--json", "status"];
    status.extend(arns[..200].iter().map(String::as_str));
    let commands = [
        (status, 40),
        (vec!["secret", "list"], 100),
        (vec!["--json", "secret", "list"], 100),
    ];
    for (args, times) in &commands {
        for _ in 0..*times {
            let mut child = spawn_piped(&store, args);
            let mut stdout = child.stdout.take().unwrap();
            let mut first = [0_u8; 1];
            stdout.read_exact(&mut first).unwrap();
            drop(stdout);
            assert_ended_quietly(child, &args[..2].join(" "));
        }
    }
}
