//! The `event` property (`rotation_fuzz_properties::event`), under libFuzzer.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rotation_fuzz_properties::event::check(data));
