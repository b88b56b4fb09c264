//! The Secrets Manager operations the rotation protocol needs, as a trait.
//!
//! Three implementations: `AwsSecretStore` over the AWS SDK (the `aws`
//! feature, on with `lambda`);
//! `InMemorySecretStore` with the service's semantics, for fast tests (the
//! `testkit` feature); and `embedded::EmbeddedSecretStore`, the same
//! semantics in an SQLite file, for rotating without an AWS account (the
//! `embedded` feature). All pass the same contract suite
//! (`testkit::store_contract`).

#[cfg(feature = "aws")]
pub(crate) mod aws;
#[cfg(feature = "embedded")]
pub mod embedded;
#[cfg(feature = "testkit")]
mod memory;

use std::collections::BTreeMap;

use async_trait::async_trait;

#[cfg(feature = "internals")]
pub(crate) use aws::aws_endpoint_connector;
#[cfg(feature = "aws")]
pub use aws::AwsSecretStore;
#[cfg(feature = "internals")]
#[doc(hidden)]
pub use aws::{map_error, sdk_config_loader};
#[cfg(feature = "testkit")]
pub use memory::InMemorySecretStore;

use crate::error::StoreError;
use crate::secret::{SecretPayload, SecretString};

/// The label on the version applications use.
pub const AWSCURRENT: &str = "AWSCURRENT";
/// The label on the version being rotated in.
pub const AWSPENDING: &str = "AWSPENDING";
/// The label Secrets Manager puts on the version AWSCURRENT left.
pub const AWSPREVIOUS: &str = "AWSPREVIOUS";

/// What `DescribeSecret` tells the state machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretDescription {
    /// The secret's ARN.
    pub arn: String,
    /// Whether rotation is enabled.
    pub rotation_enabled: bool,
    /// Every version id with its staging labels.
    pub versions: BTreeMap<String, Vec<String>>,
    /// The secret's tags. RDS-managed secrets carry
    /// `aws:rds:primaryDBInstanceArn` or `aws:rds:primaryDBClusterArn`,
    /// which only RDS can set.
    pub tags: BTreeMap<String, String>,
}

impl SecretDescription {
    /// The version carrying `stage`, if any (a stage is on at most one).
    pub fn version_with_stage(&self, stage: &str) -> Option<&str> {
        self.versions
            .iter()
            .find(|(_, stages)| stages.iter().any(|s| s == stage))
            .map(|(id, _)| id.as_str())
    }

    /// The description as it is once AWSCURRENT moved to `token`: the
    /// service puts AWSPREVIOUS on the version that held AWSCURRENT.
    pub(crate) fn after_promoting(&self, token: &str) -> SecretDescription {
        let mut after = self.clone();
        let old = self.version_with_stage(AWSCURRENT).map(str::to_owned);
        for stages in after.versions.values_mut() {
            stages.retain(|s| s != AWSCURRENT && s != AWSPREVIOUS);
        }
        if let Some(old) = old.filter(|old| old != token) {
            after
                .versions
                .entry(old)
                .or_default()
                .push(AWSPREVIOUS.to_owned());
        }
        after
            .versions
            .entry(token.to_owned())
            .or_default()
            .push(AWSCURRENT.to_owned());
        after
    }

    /// The stages of a version, or `None` if the version does not exist.
    pub fn stages_of(&self, version_id: &str) -> Option<&[String]> {
        self.versions.get(version_id).map(Vec::as_slice)
    }

    /// Whether `version_id` carries `stage`.
    pub fn has_stage(&self, version_id: &str, stage: &str) -> bool {
        self.stages_of(version_id)
            .is_some_and(|stages| stages.iter().any(|s| s == stage))
    }
}

/// Which version to read: by id, by stage, or both (both must match).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionSelector<'a> {
    /// The version with this id.
    Id(&'a str),
    /// The version carrying this stage.
    Stage(&'a str),
    /// The version with this id, only if it carries this stage.
    IdAndStage(&'a str, &'a str),
}

/// One version's value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretVersion {
    /// The secret's ARN.
    pub arn: String,
    /// The secret's name.
    pub name: String,
    /// When the version was created, where the store keeps it.
    pub created: Option<std::time::SystemTime>,
    /// The version id.
    pub version_id: String,
    /// Its stages when read.
    pub stages: Vec<String>,
    /// Its value.
    pub payload: SecretPayload,
}

/// A snapshot of one version (its value included), for comparing store
/// states.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionSnapshot {
    /// Its stages, sorted.
    pub stages: Vec<String>,
    /// Its value; `None` for RotateSecret's placeholder.
    pub payload: Option<SecretPayload>,
}

/// A `PutSecretValue` request: `value` stored as version `version_id` with
/// `stages`, passing `rotation_token` through when the event carried one.
/// Named fields, so two ids cannot be swapped unnoticed.
#[derive(Debug, Clone, Copy)]
pub struct PutValue<'a> {
    /// The new version's id (the rotation's token).
    pub version_id: &'a str,
    /// The value.
    pub value: &'a SecretString,
    /// The stages the version gets.
    pub stages: &'a [&'a str],
    /// The event's `RotationToken`, if any.
    pub rotation_token: Option<&'a str>,
}

/// An `UpdateSecretVersionStage` request: `stage` moves to `to_version`
/// from `from_version` (the version carrying it, if any).
#[derive(Debug, Clone, Copy)]
pub struct MoveStage<'a> {
    /// The stage, such as AWSCURRENT.
    pub stage: &'a str,
    /// The version that gets it.
    pub to_version: &'a str,
    /// The version that holds it now, if any.
    pub from_version: Option<&'a str>,
}

/// The Secrets Manager operations a rotation needs.
///
/// Implementations map the service's "not found" answers to `Ok(None)` in
/// [`get_value`](SecretStore::get_value): during createSecret the pending
/// version exists without a value, and that is normal.
#[async_trait]
pub trait SecretStore: Send + Sync {
    /// `DescribeSecret`: rotation state and the version-to-stages map.
    async fn describe(&self, secret_id: &str) -> Result<SecretDescription, StoreError>;

    /// `GetSecretValue`: `None` when the selected version has no value (or
    /// does not exist).
    async fn get_value(
        &self,
        secret_id: &str,
        version: VersionSelector<'_>,
    ) -> Result<Option<SecretVersion>, StoreError>;

    /// `PutSecretValue`: stores the request's value as its version with its
    /// stages. Idempotent for the same value; a different value under an
    /// existing version is [`StoreError::VersionExists`].
    async fn put_value(&self, secret_id: &str, put: PutValue<'_>) -> Result<(), StoreError>;

    /// `UpdateSecretVersionStage`: moves the stage to `to_version`, removing
    /// it from `from_version` (which must be the version carrying it, if
    /// any). Moving AWSCURRENT makes the service stage the old version
    /// AWSPREVIOUS.
    async fn move_stage(&self, secret_id: &str, change: MoveStage<'_>) -> Result<(), StoreError>;
}

#[async_trait]
impl<S: SecretStore + ?Sized> SecretStore for std::sync::Arc<S> {
    async fn describe(&self, secret_id: &str) -> Result<SecretDescription, StoreError> {
        (**self).describe(secret_id).await
    }

    async fn get_value(
        &self,
        secret_id: &str,
        version: VersionSelector<'_>,
    ) -> Result<Option<SecretVersion>, StoreError> {
        (**self).get_value(secret_id, version).await
    }

    async fn put_value(&self, secret_id: &str, put: PutValue<'_>) -> Result<(), StoreError> {
        (**self).put_value(secret_id, put).await
    }

    async fn move_stage(&self, secret_id: &str, change: MoveStage<'_>) -> Result<(), StoreError> {
        (**self).move_stage(secret_id, change).await
    }
}
