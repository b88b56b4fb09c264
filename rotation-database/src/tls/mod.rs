//! The certificate authorities every database rotator's TLS trusts: the
//! system's roots, Amazon RDS's (compiled in) and `DB_CA_BUNDLE`; and the
//! check of `ssl: "verify-ca"`, which trusts only the last two and reads
//! no name.

use std::path::Path;

use rotation_core::SettingsError;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;

mod chain_only;
mod rds_roots;

pub use chain_only::ChainOnlyVerifier;
pub use rds_roots::{RDS_REGIONS_NOT_COVERED, RDS_ROOTS_PEM};

use crate::CA_BUNDLE_VARIABLE;

/// Reads the CA bundle at start-up, so a missing or malformed file stops
/// the function with an error naming `DB_CA_BUNDLE` instead of failing
/// each rotation.
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

/// The system's roots (as the platform's `ca-certificates` has them; on
/// `provided.al2023`, Amazon's bundle) and Amazon RDS's authorities (no
/// public root signs an RDS server's certificate, and Lambda's images do
/// not carry them). Read on first use by the backends, since reading the
/// system store and parsing the RDS roots cost milliseconds of cold start
/// that `ssl: false` rotations never need. Unreadable system certificates
/// are skipped: a `DB_CA_BUNDLE` that is the only trust anchor still works.
pub fn system_and_rds_roots() -> Vec<CertificateDer<'static>> {
    let mut roots = rustls_native_certs::load_native_certs().certs;
    roots.extend(rds_roots());
    roots
}

/// Amazon RDS's authorities alone: with `DB_CA_BUNDLE`, what
/// `ssl: "verify-ca"` trusts. The public authorities of the system store
/// are left out there, since without a name to check, any certificate
/// they issued (to anyone, for any name) would pass.
pub fn rds_roots() -> Vec<CertificateDer<'static>> {
    // The file is checked by this crate's tests; nothing is skipped.
    CertificateDer::pem_slice_iter(RDS_ROOTS_PEM.as_bytes())
        .filter_map(Result::ok)
        .collect()
}

/// Whether `error`, or an error in its chain (directly or inside an
/// `io::Error`), is rustls refusing the server's certificate: the case a
/// backend names, with the trusted sources, instead of a bare TLS error.
pub fn is_certificate_error(error: &(dyn std::error::Error + 'static)) -> bool {
    matches!(
        rustls_error(error),
        Some(rustls::Error::InvalidCertificate(_))
    )
}

/// The first rustls error in `error`'s chain, directly or inside an
/// `io::Error` (as the drivers wrap it).
pub fn rustls_error<'a>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    let mut source = Some(error);
    while let Some(e) = source {
        let tls = e.downcast_ref::<rustls::Error>().or_else(|| {
            e.downcast_ref::<std::io::Error>()
                .and_then(|io| io.get_ref())
                .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        });
        if tls.is_some() {
            return tls;
        }
        source = e.source();
    }
    None
}
