//! The TLS client for `ssl: true`: rustls, verifying the certificate chain
//! and the host name against the system roots, Amazon RDS's authorities
//! and `DB_CA_BUNDLE`.

use std::sync::Arc;

use rustls::pki_types::CertificateDer;
use rustls::{ClientConfig, RootCertStore};

/// The client configuration: [`rotation_database::system_and_rds_roots`]
/// and `extra` (the CA bundle). Built on first use.
pub fn client_config(extra: &[CertificateDer<'static>]) -> Result<ClientConfig, rustls::Error> {
    let mut roots = RootCertStore::empty();
    roots.add_parsable_certificates(rotation_database::system_and_rds_roots());
    for certificate in extra {
        roots.add(certificate.clone())?;
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    Ok(ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth())
}
