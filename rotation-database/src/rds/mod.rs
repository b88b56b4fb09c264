//! Where an RDS-managed master secret's database is. Such a secret holds
//! only `username` and `password`; RDS tags it with the instance or cluster
//! it belongs to (`aws:rds:` tags, which no one else can set), and the RDS
//! API gives that database's endpoints. AWS's templates do the same.

use std::sync::Arc;

use async_trait::async_trait;

use rotation_core::error::BoxError;

#[cfg(feature = "rds-api")]
mod api;

#[cfg(feature = "rds-api")]
pub use api::RdsApi;

/// The tag RDS puts on the master secret of a DB instance it manages.
pub const PRIMARY_INSTANCE_TAG: &str = "aws:rds:primaryDBInstanceArn";

/// The tag RDS puts on the master secret of a DB cluster it manages.
pub const PRIMARY_CLUSTER_TAG: &str = "aws:rds:primaryDBClusterArn";

/// A database as the RDS API describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RdsDatabase {
    /// The instance's or cluster's ARN.
    pub arn: String,
    /// The writer's address: the instance endpoint, or the cluster
    /// (writer) endpoint.
    pub host: String,
    /// The port of [`host`](Self::host).
    pub port: u16,
    /// Every other address serving the same data, by RDS's word: a
    /// cluster's reader and custom endpoints and its instances' endpoints,
    /// or an instance's read replicas.
    pub replica_hosts: Vec<String>,
}

/// The part of the RDS API the alternating-users strategy reads.
#[async_trait]
pub trait RdsDirectory: Send + Sync {
    /// `DescribeDBInstances` for one instance, and its read replicas.
    async fn instance(&self, arn: &str) -> Result<RdsDatabase, BoxError>;

    /// `DescribeDBClusters` for one cluster, and its member instances.
    async fn cluster(&self, arn: &str) -> Result<RdsDatabase, BoxError>;
}

/// Where RDS-managed master secrets are looked up by default: the RDS API
/// from the SDK's environment, or, in a build without the `rds-api`
/// feature (the fuzz targets), nowhere.
pub(crate) fn default_directory() -> Arc<dyn RdsDirectory> {
    #[cfg(feature = "rds-api")]
    return Arc::new(RdsApi::from_env());
    #[cfg(not(feature = "rds-api"))]
    return Arc::new(NoRdsApi);
}

/// The directory of a build without the RDS client.
#[cfg(not(feature = "rds-api"))]
struct NoRdsApi;

#[cfg(not(feature = "rds-api"))]
fn no_rds_api(arn: &str) -> BoxError {
    format!("this build has no RDS API client (feature rds-api) to locate {arn}").into()
}

#[cfg(not(feature = "rds-api"))]
#[async_trait]
impl RdsDirectory for NoRdsApi {
    async fn instance(&self, arn: &str) -> Result<RdsDatabase, BoxError> {
        Err(no_rds_api(arn))
    }

    async fn cluster(&self, arn: &str) -> Result<RdsDatabase, BoxError> {
        Err(no_rds_api(arn))
    }
}
