//! The PostgreSQL rotator's start-up settings: a bad CA bundle stops the
//! function at start-up, naming the variable.

use std::time::Duration;

use postgres_rotator::PostgresBackend;
use rotation_core::testkit::unique_name;
use rotation_database::{ConnectSettings, CA_BUNDLE_VARIABLE};
use rotation_testing::certificates::TestCertificates;

fn with_bundle(path: std::path::PathBuf) -> ConnectSettings {
    ConnectSettings {
        connect_timeout: Duration::from_secs(5),
        ca_bundle: Some(path),
    }
}

#[test]
#[ignore = "services tier: cargo test --tests -- --include-ignored (CONTRIBUTING.md)"]
fn a_ca_bundle_is_read_at_start_up() {
    let dir = std::env::temp_dir().join(unique_name("ca-bundle"));
    let certificates = TestCertificates::issue(&dir, "IP:127.0.0.1");
    assert!(PostgresBackend::new(with_bundle(certificates.ca.clone())).is_ok());

    let empty = dir.join("empty.pem");
    std::fs::write(&empty, "not a certificate\n").unwrap();
    let missing = dir.join("missing.pem");
    for (path, expected) in [
        (empty, "holds no PEM certificate"),
        (missing, "cannot read"),
    ] {
        let error = PostgresBackend::new(with_bundle(path.clone()))
            .err()
            .unwrap_or_else(|| panic!("{} must be refused", path.display()));
        assert_eq!(error.name, CA_BUNDLE_VARIABLE);
        let message = error.to_string();
        assert!(
            message.contains(expected) && message.contains(&*path.to_string_lossy()),
            "{message}"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
