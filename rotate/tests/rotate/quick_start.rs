//! The README's local quick start, run as written: the line a reader
//! pastes, with its `cargo build` left out (this test's binary is already
//! built, and cargo holds the target directory while tests run) and
//! `./target/debug/rotate` standing for that binary.

use std::process::Command;

#[test]
fn the_readmes_local_quick_start_rotates_as_it_says() {
    let readme = include_str!("../../../README.md");
    let section = readme
        .split("## Quick start: try it locally with `rotate`")
        .nth(1)
        .expect("the README's local quick start");
    let block = section
        .split("```bash\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("its bash block");
    let line = block.trim();
    assert!(
        line.starts_with("cargo build -q -p rotate && "),
        "the quick start builds rotate first: {line}"
    );
    let script = line
        .trim_start_matches("cargo build -q -p rotate && ")
        .replace("./target/debug/rotate", env!("CARGO_BIN_EXE_rotate"));
    let home = std::env::temp_dir().join(rotation_core::testkit::unique_name("quick-start"));
    std::fs::create_dir_all(&home).unwrap();
    let output = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .current_dir(&home)
        .env("TMPDIR", &home)
        .env_remove("ROTATE_STORE")
        .output()
        .expect("run bash");
    let _ = std::fs::remove_dir_all(&home);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    // The run's steps, then the status: the new version current, the old
    // one previous.
    for step in ["createSecret", "setSecret", "testSecret", "finishSecret"] {
        assert!(stdout.contains(step), "no {step} in: {stdout}");
    }
    assert!(
        stdout.contains("AWSCURRENT") && stdout.contains("AWSPREVIOUS"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("sk_initial"),
        "a value was printed: {stdout}"
    );
}
