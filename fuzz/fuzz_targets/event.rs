//! Any bytes as a Lambda event: parsing never panics, and an event that
//! parses round-trips through `to_json`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rotation_core::RotationEvent;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    match RotationEvent::from_json(&value) {
        Ok(event) => {
            let again = RotationEvent::from_json(&event.to_json()).expect("a parsed event re-parses");
            assert_eq!(event, again);
        }
        Err(error) => {
            // Messages stay short whatever the input's size.
            assert!(error.to_string().len() < 512);
        }
    }
});
