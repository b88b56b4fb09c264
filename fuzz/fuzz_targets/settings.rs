//! The `settings` property (`rotation_fuzz_properties::settings`), under libFuzzer.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rotation_fuzz_properties::settings::check(data));
