//! The TLS client for `ssl: true`: rustls, verifying the certificate chain
//! and the host name against the system roots, Amazon RDS's authorities
//! and `DB_CA_BUNDLE`.

use std::path::Path;
use std::sync::Arc;

use rotation_core::error::SettingsError;
use rotation_database::{CA_BUNDLE_VARIABLE, RDS_ROOTS_PEM};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use rustls::{ClientConfig, RootCertStore};

/// Reads the CA bundle at start-up, so a missing or malformed file stops
/// the function with an error naming the variable instead of failing each
/// rotation.
pub fn read_ca_bundle(path: &Path) -> Result<Vec<CertificateDer<'static>>, SettingsError> {
    let error = |reason: String| SettingsError {
        name: CA_BUNDLE_VARIABLE,
        reason,
    };
    let certificates = CertificateDer::pem_file_iter(path)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| error(format!("cannot read {}: {e}", path.display())))?;
    if certificates.is_empty() {
        return Err(error(format!(
            "{} holds no PEM certificate",
            path.display()
        )));
    }
    Ok(certificates)
}

/// The client configuration: the system's roots (as the platform's
/// `ca-certificates` has them; on `provided.al2023`, Amazon's bundle),
/// Amazon RDS's authorities (compiled in: no public root signs an RDS
/// server's certificate, and Lambda's images do not carry them) and
/// `extra`. Built on first use, since reading the system store and parsing
/// the RDS roots cost milliseconds of cold start that `ssl: false`
/// rotations never need.
pub fn client_config(extra: &[CertificateDer<'static>]) -> Result<ClientConfig, rustls::Error> {
    let mut roots = RootCertStore::empty();
    // Unreadable system certificates are skipped; a bundle that is the only
    // trust anchor still works.
    let system = rustls_native_certs::load_native_certs();
    roots.add_parsable_certificates(system.certs);
    // The file is checked by rotation-database's tests; nothing is skipped.
    roots.add_parsable_certificates(
        CertificateDer::pem_slice_iter(RDS_ROOTS_PEM.as_bytes()).filter_map(Result::ok),
    );
    for certificate in extra {
        roots.add(certificate.clone())?;
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    Ok(ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth())
}
