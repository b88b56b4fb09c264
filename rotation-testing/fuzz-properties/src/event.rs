//! Any bytes as a Lambda event: parsing never panics, and an event that
//! parses round-trips through `to_json`.

use rotation_core::event::RotationEvent;

/// Checks the property for one input; panics when it does not hold.
pub fn check(data: &[u8]) {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    match RotationEvent::from_json(&value) {
        Ok(event) => {
            let again =
                RotationEvent::from_json(&event.to_json()).expect("a parsed event re-parses");
            assert_eq!(event, again);
        }
        Err(error) => {
            // Messages stay short whatever the input's size.
            assert!(error.to_string().len() < 512);
        }
    }
}
