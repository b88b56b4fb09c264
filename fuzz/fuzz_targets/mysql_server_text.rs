//! The `mysql_server_text` property (`rotation_fuzz_properties::mysql_server_text`), under libFuzzer.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rotation_fuzz_properties::mysql_server_text::check(data));
