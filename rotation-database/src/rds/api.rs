//! [`RdsDirectory`] over the RDS API (feature `rds-api`): two read-only
//! calls through `rotation_core::aws_query`, not the SDK's RDS crate,
//! which built longer than the rest of the workspace for them.

use async_trait::async_trait;
use rotation_core::aws_query::{Element, QueryClient, QueryError, RDS};
use tokio::sync::OnceCell;

use rotation_core::error::BoxError;

use super::{RdsDatabase, RdsDirectory};

/// The RDS API. The client is built on first use: only rotations with an
/// RDS-managed master secret need it, so no other function pays for it at
/// start-up.
#[derive(Debug, Default)]
pub struct RdsApi {
    client: OnceCell<Result<QueryClient, QueryError>>,
}

impl RdsApi {
    /// The RDS API from the SDK's environment (credentials, region, and
    /// `AWS_ENDPOINT_URL_RDS` / `AWS_ENDPOINT_URL` for the endpoint).
    pub fn from_env() -> Self {
        Self::default()
    }

    /// The RDS API through an already configured client.
    pub fn from_client(client: QueryClient) -> Self {
        Self {
            client: OnceCell::new_with(Some(Ok(client))),
        }
    }

    async fn client(&self) -> Result<&QueryClient, BoxError> {
        self.client
            .get_or_init(|| async {
                // Not the Secrets Manager endpoint override: RDS's endpoint
                // comes from its own settings (AWS_ENDPOINT_URL_RDS).
                let config = rotation_core::store::sdk_config_loader().load().await;
                QueryClient::new(&config, &RDS)
            })
            .await
            .as_ref()
            .map_err(|e| e.clone().into())
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
                        .filter_map(|i| i.text_at(&["Endpoint", "Address"]).map(str::to_owned)),
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
    async fn instances(&self, id: &str) -> Result<Vec<Element>, BoxError> {
        let client = self.client().await?;
        let elsewhere = match arn_region(id).filter(|r| *r != client.signing_region()) {
            Some(region) => Some(client.in_region(region)?),
            None => None,
        };
        let answer = elsewhere
            .as_ref()
            .unwrap_or(client)
            .call("DescribeDBInstances", &[("DBInstanceIdentifier", id)])
            .await?;
        Ok(answer
            .at(&["DescribeDBInstancesResult", "DBInstances"])
            .map(|list| list.children_named("DBInstance").cloned().collect())
            .unwrap_or_default())
    }
}

/// The region of an RDS ARN (`arn:partition:rds:region:account:db:name`),
/// or `None` for a plain identifier.
fn arn_region(id: &str) -> Option<&str> {
    let mut parts = id.split(':');
    (parts.next() == Some("arn")).then_some(())?;
    parts.nth(2).filter(|region| !region.is_empty())
}

/// A port as RDS gives it: a number from 1 to 65535.
fn port(value: Option<&str>, what: &str) -> Result<u16, BoxError> {
    value
        .and_then(|p| p.trim().parse::<u16>().ok())
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
            .child("Endpoint")
            .ok_or_else(|| format!("the DB instance {arn} has no endpoint yet"))?;
        let host = endpoint
            .text_at(&["Address"])
            .filter(|a| !a.is_empty())
            .ok_or_else(|| format!("the DB instance {arn} has no address"))?
            .to_owned();
        let replica_hosts = self
            .addresses(
                instance
                    .list_at(&["ReadReplicaDBInstanceIdentifiers"])
                    .into_iter(),
            )
            .await;
        Ok(RdsDatabase {
            arn: arn.to_owned(),
            host,
            port: port(endpoint.text_at(&["Port"]), arn)?,
            replica_hosts,
        })
    }

    async fn cluster(&self, arn: &str) -> Result<RdsDatabase, BoxError> {
        let answer = self
            .client()
            .await?
            .call("DescribeDBClusters", &[("DBClusterIdentifier", arn)])
            .await?;
        let cluster = answer
            .at(&["DescribeDBClustersResult", "DBClusters", "DBCluster"])
            .ok_or_else(|| format!("RDS knows no DB cluster {arn}"))?;
        let host = cluster
            .text_at(&["Endpoint"])
            .filter(|e| !e.is_empty())
            .ok_or_else(|| format!("the DB cluster {arn} has no endpoint yet"))?
            .to_owned();
        let mut replica_hosts: Vec<String> = cluster
            .text_at(&["ReaderEndpoint"])
            .filter(|e| !e.is_empty())
            .into_iter()
            .chain(cluster.list_at(&["CustomEndpoints"]))
            .map(str::to_owned)
            .collect();
        let members: Vec<&str> = cluster
            .at(&["DBClusterMembers"])
            .map(|list| {
                list.children
                    .iter()
                    .filter_map(|m| m.text_at(&["DBInstanceIdentifier"]))
                    .collect()
            })
            .unwrap_or_default();
        replica_hosts.extend(self.addresses(members.into_iter()).await);
        Ok(RdsDatabase {
            arn: arn.to_owned(),
            host,
            port: port(cluster.text_at(&["Port"]), arn)?,
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
