//! The `secret` property (`rotation_fuzz_properties::secret`), under libFuzzer.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rotation_fuzz_properties::secret::check(data));
