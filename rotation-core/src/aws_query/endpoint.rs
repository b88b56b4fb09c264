//! Where a Query call goes and the region it is signed for, by the rules
//! the SDK's endpoint resolvers follow for RDS and IAM.

use aws_config::SdkConfig;

use super::{QueryApi, QueryError};

/// A resolved endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// The URL requests are posted to.
    pub url: String,
    /// Its host (and port), for the signed `host` header.
    pub host: String,
    /// The region the signature names.
    pub signing_region: String,
}

/// A partition: its DNS suffixes, and the region its global endpoints
/// (IAM's) are signed for.
struct Partition {
    name: &'static str,
    dns_suffix: &'static str,
    dual_stack_suffix: &'static str,
    global_region: &'static str,
}

const PARTITIONS: &[(&str, Partition)] = &[
    (
        "cn-",
        Partition {
            name: "aws-cn",
            dns_suffix: "amazonaws.com.cn",
            dual_stack_suffix: "api.amazonwebservices.com.cn",
            global_region: "cn-north-1",
        },
    ),
    (
        "us-gov-",
        Partition {
            name: "aws-us-gov",
            dns_suffix: "amazonaws.com",
            dual_stack_suffix: "api.aws",
            global_region: "us-gov-west-1",
        },
    ),
    (
        "us-isob-",
        Partition {
            name: "aws-iso-b",
            dns_suffix: "sc2s.sgov.gov",
            dual_stack_suffix: "sc2s.sgov.gov",
            global_region: "us-isob-east-1",
        },
    ),
    (
        "us-isof-",
        Partition {
            name: "aws-iso-f",
            dns_suffix: "csp.hci.ic.gov",
            dual_stack_suffix: "csp.hci.ic.gov",
            global_region: "us-isof-south-1",
        },
    ),
    (
        "us-iso-",
        Partition {
            name: "aws-iso",
            dns_suffix: "c2s.ic.gov",
            dual_stack_suffix: "c2s.ic.gov",
            global_region: "us-iso-east-1",
        },
    ),
    (
        "eu-isoe-",
        Partition {
            name: "aws-iso-e",
            dns_suffix: "cloud.adc-e.uk",
            dual_stack_suffix: "cloud.adc-e.uk",
            global_region: "eu-isoe-west-1",
        },
    ),
    (
        "eusc-",
        Partition {
            name: "aws-eusc",
            dns_suffix: "amazonaws.eu",
            dual_stack_suffix: "amazonaws.eu",
            global_region: "eusc-de-east-1",
        },
    ),
];

const AWS: Partition = Partition {
    name: "aws",
    dns_suffix: "amazonaws.com",
    dual_stack_suffix: "api.aws",
    global_region: "us-east-1",
};

fn partition(region: &str) -> &'static Partition {
    PARTITIONS
        .iter()
        .find(|(prefix, _)| region.starts_with(prefix))
        .map_or(&AWS, |(_, partition)| partition)
}

impl Endpoint {
    /// The endpoint of `api` for `region` under `config`: an endpoint URL
    /// set for the service (`AWS_ENDPOINT_URL_RDS`, `AWS_ENDPOINT_URL_IAM`)
    /// or for every service (`AWS_ENDPOINT_URL`, or the configuration's),
    /// else the service's own, FIPS and dual-stack as configured.
    pub fn resolve(api: &QueryApi, config: &SdkConfig, region: &str) -> Result<Self, QueryError> {
        if region.is_empty()
            || !region
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(QueryError::Config(format!(
                "{} region {region:?} is not a region name",
                api.name
            )));
        }
        let partition = partition(region);
        let signing_region = if api.global {
            partition.global_region
        } else {
            region
        };
        let configured = std::env::var(format!("AWS_ENDPOINT_URL_{}", api.name))
            .ok()
            .filter(|url| !url.trim().is_empty())
            .or_else(|| config.endpoint_url().map(str::to_owned));
        if let Some(url) = configured {
            return Self::from_url(api, url, signing_region);
        }
        let fips = config.use_fips().unwrap_or(false);
        let dual_stack = config.use_dual_stack().unwrap_or(false);
        let suffix = if dual_stack {
            partition.dual_stack_suffix
        } else {
            partition.dns_suffix
        };
        let name = api.signing_name;
        let host = match (api.global, partition.name, fips) {
            // IAM's global endpoints.
            (true, "aws", false) if !dual_stack => format!("{name}.{suffix}"),
            (true, "aws", true) if !dual_stack => format!("{name}-fips.{suffix}"),
            (true, "aws", _) => format!("{name}.global.{suffix}"),
            (true, "aws-us-gov", _) => format!("{name}.us-gov.{suffix}"),
            (true, _, false) => format!("{name}.{}.{suffix}", partition.global_region),
            (true, _, true) => format!("{name}-fips.{}.{suffix}", partition.global_region),
            (false, _, false) => format!("{name}.{region}.{suffix}"),
            (false, _, true) => format!("{name}-fips.{region}.{suffix}"),
        };
        Ok(Self {
            url: format!("https://{host}/"),
            host,
            signing_region: signing_region.to_owned(),
        })
    }

    fn from_url(api: &QueryApi, url: String, signing_region: &str) -> Result<Self, QueryError> {
        let bad = |why: &str| {
            QueryError::Config(format!(
                "the {} endpoint URL {url:?} {why}; set AWS_ENDPOINT_URL_{} to an http(s) URL",
                api.name, api.name
            ))
        };
        let rest = url
            .strip_prefix("https://")
            .or_else(|| url.strip_prefix("http://"))
            .ok_or_else(|| bad("is not http or https"))?;
        let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
        if host.is_empty() || host.contains(['@', '?', '#', ' ']) {
            return Err(bad("has no usable host"));
        }
        let url = format!("{}{host}/{path}", &url[..url.len() - rest.len()]);
        Ok(Self {
            host: host.to_owned(),
            url,
            signing_region: signing_region.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws_query::{IAM, RDS};
    use aws_config::Region;

    fn config(fips: bool, dual_stack: bool, endpoint: Option<&str>) -> SdkConfig {
        let mut builder = SdkConfig::builder()
            .region(Region::new("us-east-1"))
            .use_fips(fips)
            .use_dual_stack(dual_stack);
        if let Some(url) = endpoint {
            builder = builder.endpoint_url(url);
        }
        builder.build()
    }

    fn url(api: &QueryApi, region: &str, fips: bool, dual_stack: bool) -> (String, String) {
        let e = Endpoint::resolve(api, &config(fips, dual_stack, None), region).unwrap();
        (e.url, e.signing_region)
    }

    #[test]
    fn rds_is_regional_in_every_partition() {
        let cases = [
            (
                "eu-west-1",
                false,
                false,
                "https://rds.eu-west-1.amazonaws.com/",
            ),
            (
                "us-east-1",
                true,
                false,
                "https://rds-fips.us-east-1.amazonaws.com/",
            ),
            ("us-east-1", false, true, "https://rds.us-east-1.api.aws/"),
            (
                "cn-north-1",
                false,
                false,
                "https://rds.cn-north-1.amazonaws.com.cn/",
            ),
            (
                "us-gov-west-1",
                true,
                false,
                "https://rds-fips.us-gov-west-1.amazonaws.com/",
            ),
            (
                "us-iso-east-1",
                false,
                false,
                "https://rds.us-iso-east-1.c2s.ic.gov/",
            ),
            (
                "mx-central-1",
                false,
                false,
                "https://rds.mx-central-1.amazonaws.com/",
            ),
        ];
        for (region, fips, dual, expected) in cases {
            assert_eq!(
                url(&RDS, region, fips, dual),
                (expected.to_owned(), region.to_owned()),
                "{region} fips={fips} dual-stack={dual}"
            );
        }
    }

    #[test]
    fn iam_is_global_per_partition_and_signed_for_its_region() {
        let cases = [
            (
                "eu-west-1",
                false,
                false,
                "https://iam.amazonaws.com/",
                "us-east-1",
            ),
            (
                "eu-west-1",
                true,
                false,
                "https://iam-fips.amazonaws.com/",
                "us-east-1",
            ),
            (
                "eu-west-1",
                false,
                true,
                "https://iam.global.api.aws/",
                "us-east-1",
            ),
            (
                "cn-northwest-1",
                false,
                false,
                "https://iam.cn-north-1.amazonaws.com.cn/",
                "cn-north-1",
            ),
            (
                "us-gov-east-1",
                false,
                false,
                "https://iam.us-gov.amazonaws.com/",
                "us-gov-west-1",
            ),
            (
                "us-iso-west-1",
                false,
                false,
                "https://iam.us-iso-east-1.c2s.ic.gov/",
                "us-iso-east-1",
            ),
        ];
        for (region, fips, dual, expected, signing) in cases {
            assert_eq!(
                url(&IAM, region, fips, dual),
                (expected.to_owned(), signing.to_owned()),
                "{region} fips={fips} dual-stack={dual}"
            );
        }
    }

    #[test]
    fn a_configured_endpoint_wins_and_keeps_the_signing_region() {
        let e = Endpoint::resolve(
            &RDS,
            &config(true, true, Some("http://127.0.0.1:4566")),
            "us-west-2",
        )
        .unwrap();
        assert_eq!(
            e,
            Endpoint {
                url: "http://127.0.0.1:4566/".into(),
                host: "127.0.0.1:4566".into(),
                signing_region: "us-west-2".into()
            }
        );
        let iam = Endpoint::resolve(
            &IAM,
            &config(false, false, Some("https://proxy.internal/iam")),
            "eu-west-1",
        )
        .unwrap();
        assert_eq!(iam.url, "https://proxy.internal/iam");
        assert_eq!(iam.signing_region, "us-east-1");
    }

    #[test]
    fn bad_regions_and_endpoints_are_refused_by_name() {
        for region in ["", "US-EAST-1", "us-east-1/../x", "eu west"] {
            let error = Endpoint::resolve(&RDS, &config(false, false, None), region).unwrap_err();
            assert!(error.to_string().contains("region"), "{error}");
        }
        for url in ["ftp://x", "https://", "https://user@host/", "127.0.0.1:80"] {
            let error =
                Endpoint::resolve(&RDS, &config(false, false, Some(url)), "us-east-1").unwrap_err();
            assert!(
                error.to_string().contains("AWS_ENDPOINT_URL_RDS"),
                "{url}: {error}"
            );
        }
    }
}
