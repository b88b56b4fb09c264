//! Every committed fuzz input (`fuzz/corpus/<target>/`) through its
//! target's property: inputs that once crashed a parser or failed a
//! property stay fixed.

use std::path::{Path, PathBuf};

fn corpus(target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(target);
    let mut inputs: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("a corpus entry").path())
        .collect();
    inputs.sort();
    assert!(!inputs.is_empty(), "{} holds no input", dir.display());
    inputs
}

/// Runs `check` on each input of `target`'s corpus, naming the input that
/// fails.
fn replay(target: &str, check: fn(&[u8])) {
    for input in corpus(target) {
        let data = std::fs::read(&input).expect("read a corpus input");
        if let Err(panic) = std::panic::catch_unwind(|| check(&data)) {
            eprintln!("{} fails the {target} property", input.display());
            std::panic::resume_unwind(panic);
        }
    }
}

#[test]
fn the_event_corpus_holds() {
    replay("event", rotation_fuzz_properties::event::check);
}

#[test]
fn the_secret_corpus_holds() {
    replay("secret", rotation_fuzz_properties::secret::check);
}

#[test]
fn the_settings_corpus_holds() {
    replay("settings", rotation_fuzz_properties::settings::check);
}

#[test]
fn the_mysql_server_text_corpus_holds() {
    replay(
        "mysql_server_text",
        rotation_fuzz_properties::mysql_server_text::check,
    );
}

/// A property that fails is reported, not swallowed by the replay.
#[test]
#[should_panic(expected = "re-parses")]
fn a_failing_property_fails_the_replay() {
    replay("event", |_| panic!("a parsed event re-parses"));
}
