//! The TLS clients of the secret's `ssl` modes: rustls verifying the
//! certificate chain and the host name against the system roots, Amazon
//! RDS's authorities and `DB_CA_BUNDLE` (`verify-full`, the default), or
//! the chain alone against RDS's authorities and `DB_CA_BUNDLE`
//! (`verify-ca`).

use std::sync::Arc;

use rotation_database::{ChainOnlyVerifier, SslMode};
use rustls::pki_types::CertificateDer;
use rustls::{ClientConfig, RootCertStore};

/// The client configuration for `mode` (a TLS mode), with `extra` (the
/// CA bundle) trusted. Built on first use.
pub fn client_config(
    extra: &[CertificateDer<'static>],
    mode: SslMode,
) -> Result<ClientConfig, rustls::Error> {
    let chain_only = mode == SslMode::VerifyCa;
    let mut roots = RootCertStore::empty();
    roots.add_parsable_certificates(if chain_only {
        rotation_database::rds_roots()
    } else {
        rotation_database::system_and_rds_roots()
    });
    for certificate in extra {
        roots.add(certificate.clone())?;
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()?;
    let config = if chain_only {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(ChainOnlyVerifier::new(roots, provider)?))
    } else {
        builder.with_root_certificates(roots)
    };
    Ok(config.with_no_client_auth())
}
