//! [`RdsDirectory`] over the AWS SDK's RDS client (feature `rds-api`).

use async_trait::async_trait;
use aws_sdk_rds::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_rds::Client;
use tokio::sync::OnceCell;

use rotation_core::error::BoxError;

use super::{RdsDatabase, RdsDirectory};

/// The RDS API through the AWS SDK. The client is built on first use: only
/// rotations with an RDS-managed master secret need it, so no other
/// function pays for it at start-up.
#[derive(Debug, Default)]
pub struct RdsApi {
    client: OnceCell<Client>,
}

impl RdsApi {
    /// The RDS API from the SDK's environment (credentials, region, and
    /// `AWS_ENDPOINT_URL_RDS` / `AWS_ENDPOINT_URL` for the endpoint).
    pub fn from_env() -> Self {
        Self::default()
    }

    /// An RDS API over an already configured client.
    pub fn from_client(client: Client) -> Self {
        Self {
            client: OnceCell::new_with(Some(client)),
        }
    }

    async fn client(&self) -> &Client {
        self.client
            .get_or_init(|| async {
                // Not the Secrets Manager endpoint override: RDS's endpoint
                // comes from the SDK's own settings (AWS_ENDPOINT_URL_RDS).
                Client::new(&rotation_core::store::sdk_config_loader().load().await)
            })
            .await
    }

    /// The endpoint addresses of the replicas or members named `ids`, one
    /// `DescribeDBInstances` call each. They only widen the hosts a
    /// rotated secret may name, so one that cannot be described is left
    /// out with a warning instead of failing rotations that never needed
    /// it.
    async fn addresses<I, S>(&self, ids: I) -> Vec<String>
    where
        I: Iterator<Item = S> + Send,
        S: AsRef<str> + Send,
    {
        let mut addresses = Vec::new();
        for id in ids {
            match self.instances(id.as_ref()).await {
                Ok(found) => addresses.extend(
                    found
                        .iter()
                        .filter_map(|i| i.endpoint()?.address().map(str::to_owned)),
                ),
                Err(error) => tracing::warn!(
                    replica = id.as_ref(),
                    %error,
                    "RDS did not describe a replica of the master's database; a rotated secret naming its address is not accepted as that database"
                ),
            }
        }
        addresses
    }

    /// `DescribeDBInstances` for one instance identifier or ARN, asked of
    /// the ARN's region: a cross-region read replica is listed by its ARN,
    /// and only its own region knows it.
    async fn instances(&self, id: &str) -> Result<Vec<aws_sdk_rds::types::DbInstance>, BoxError> {
        let client = self.client().await;
        let region =
            arn_region(id).filter(|r| client.config().region().map(|own| own.as_ref()) != Some(*r));
        let describe = match region {
            Some(region) => Client::from_conf(
                client
                    .config()
                    .to_builder()
                    .region(aws_sdk_rds::config::Region::new(region.to_owned()))
                    .build(),
            )
            .describe_db_instances(),
            None => client.describe_db_instances(),
        };
        let out = describe
            .db_instance_identifier(id)
            .send()
            .await
            .map_err(rds_error)?;
        Ok(out.db_instances().to_vec())
    }
}

/// The region of an RDS ARN (`arn:partition:rds:region:account:db:name`),
/// or `None` for a plain identifier.
fn arn_region(id: &str) -> Option<&str> {
    let mut parts = id.split(':');
    (parts.next() == Some("arn")).then_some(())?;
    parts.nth(2).filter(|region| !region.is_empty())
}

/// The SDK error's code and message only: its Debug carries the raw HTTP
/// exchange.
fn rds_error<E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static>(
    error: aws_sdk_rds::error::SdkError<E>,
) -> BoxError {
    match error.code() {
        Some(code) => format!(
            "RDS answered {code}: {}",
            error.message().unwrap_or("no message")
        )
        .into(),
        None => format!("RDS API call failed: {}", DisplayErrorContext(&error)).into(),
    }
}

fn port(value: Option<i32>, what: &str) -> Result<u16, BoxError> {
    value
        .and_then(|p| u16::try_from(p).ok())
        .filter(|p| *p != 0)
        .ok_or_else(|| format!("RDS gives no port for {what}").into())
}

#[async_trait]
impl RdsDirectory for RdsApi {
    async fn instance(&self, arn: &str) -> Result<RdsDatabase, BoxError> {
        let instances = self.instances(arn).await?;
        let instance = instances
            .first()
            .ok_or_else(|| format!("RDS knows no DB instance {arn}"))?;
        let endpoint = instance
            .endpoint()
            .ok_or_else(|| format!("the DB instance {arn} has no endpoint yet"))?;
        let host = endpoint
            .address()
            .ok_or_else(|| format!("the DB instance {arn} has no address"))?
            .to_owned();
        let replica_hosts = self
            .addresses(instance.read_replica_db_instance_identifiers().iter())
            .await;
        Ok(RdsDatabase {
            arn: arn.to_owned(),
            host,
            port: port(endpoint.port(), arn)?,
            replica_hosts,
        })
    }

    async fn cluster(&self, arn: &str) -> Result<RdsDatabase, BoxError> {
        let client = self.client().await;
        let out = client
            .describe_db_clusters()
            .db_cluster_identifier(arn)
            .send()
            .await
            .map_err(rds_error)?;
        let cluster = out
            .db_clusters()
            .first()
            .ok_or_else(|| format!("RDS knows no DB cluster {arn}"))?;
        let host = cluster
            .endpoint()
            .ok_or_else(|| format!("the DB cluster {arn} has no endpoint yet"))?
            .to_owned();
        let mut replica_hosts: Vec<String> = cluster
            .reader_endpoint()
            .into_iter()
            .map(str::to_owned)
            .chain(cluster.custom_endpoints().iter().cloned())
            .collect();
        let members = cluster
            .db_cluster_members()
            .iter()
            .filter_map(|m| m.db_instance_identifier());
        replica_hosts.extend(self.addresses(members).await);
        Ok(RdsDatabase {
            arn: arn.to_owned(),
            host,
            port: port(cluster.port(), arn)?,
            replica_hosts,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::arn_region;

    #[test]
    fn a_replica_arn_names_its_region() {
        assert_eq!(
            arn_region("arn:aws:rds:us-west-2:111122223333:db:replica-1"),
            Some("us-west-2")
        );
        assert_eq!(
            arn_region("arn:aws-cn:rds:cn-north-1:111122223333:db:r"),
            Some("cn-north-1")
        );
        assert_eq!(arn_region("replica-1"), None);
        assert_eq!(arn_region("arn:aws:rds::111122223333:db:r"), None);
    }
}
