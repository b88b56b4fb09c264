//! The properties the fuzzer checks on the parsers that take outside
//! input (rotation events, secret values, settings, what a MySQL server
//! says about itself), one module per fuzz target, each a `check` that
//! panics when its property fails. The cargo-fuzz targets in `fuzz/` call
//! them under libFuzzer; this crate's tests replay every committed input
//! of `fuzz/corpus/` through them, so plain `cargo test` re-checks what
//! fuzzing once found, without a fuzzer.

pub mod event;
pub mod mysql_server_text;
pub mod secret;
pub mod settings;
