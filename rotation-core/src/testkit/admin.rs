//! The operations tests need beyond the rotation protocol: creating
//! secrets, starting a rotation as `RotateSecret` does, and reading a whole
//! secret back to compare states.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_secretsmanager::error::ProvideErrorMetadata;
use aws_sdk_secretsmanager::primitives::Blob;

use crate::error::StoreError;
use crate::secret::{SecretJson, SecretPayload, SecretString};
use crate::store::aws::map_error;
use crate::store::{
    AwsSecretStore, InMemorySecretStore, SecretStore, VersionSelector, VersionSnapshot, AWSCURRENT,
    AWSPENDING,
};
use crate::testkit::unique_name;

/// A whole secret: every version id with its sorted stages and value.
pub type Snapshot = BTreeMap<String, VersionSnapshot>;

/// A store the test kit can set up and inspect.
#[async_trait]
pub trait SecretAdmin: SecretStore {
    /// Creates a secret whose first version is AWSCURRENT; returns its ARN.
    async fn create_secret(&self, name: &str, payload: SecretPayload)
        -> Result<String, StoreError>;

    /// What `RotateSecret` does before invoking the function: enables
    /// rotation and stages a value-less version `token` AWSPENDING.
    async fn start_rotation(&self, secret_id: &str, token: &str) -> Result<(), StoreError>;

    /// Every version with its stages and value.
    async fn snapshot(&self, secret_id: &str) -> Result<Snapshot, StoreError>;

    /// Tags the secret (`TagResource`), as RDS tags the master secrets it
    /// manages.
    async fn tag_secret(&self, secret_id: &str, key: &str, value: &str) -> Result<(), StoreError>;

    /// Creates a secret holding `secret` under a fresh name starting with
    /// `prefix` (tests share one store); returns its ARN.
    async fn create_json(&self, prefix: &str, secret: &SecretJson) -> Result<String, StoreError> {
        let payload = SecretPayload::String(secret.to_secret_string());
        self.create_secret(&unique_name(prefix), payload).await
    }
}

#[async_trait]
impl SecretAdmin for InMemorySecretStore {
    async fn create_secret(
        &self,
        name: &str,
        payload: SecretPayload,
    ) -> Result<String, StoreError> {
        InMemorySecretStore::create_secret(self, name, payload)
    }

    async fn start_rotation(&self, secret_id: &str, token: &str) -> Result<(), StoreError> {
        InMemorySecretStore::start_rotation(self, secret_id, token)
    }

    async fn snapshot(&self, secret_id: &str) -> Result<Snapshot, StoreError> {
        InMemorySecretStore::snapshot(self, secret_id)
    }

    async fn tag_secret(&self, secret_id: &str, key: &str, value: &str) -> Result<(), StoreError> {
        InMemorySecretStore::tag_secret(self, secret_id, key, value)
    }
}

#[cfg(feature = "embedded")]
#[async_trait]
impl SecretAdmin for crate::store::embedded::EmbeddedSecretStore {
    async fn create_secret(
        &self,
        name: &str,
        payload: SecretPayload,
    ) -> Result<String, StoreError> {
        crate::store::embedded::EmbeddedSecretStore::create_secret(self, name, payload).await
    }

    async fn start_rotation(&self, secret_id: &str, token: &str) -> Result<(), StoreError> {
        crate::store::embedded::EmbeddedSecretStore::start_rotation(self, secret_id, token).await
    }

    async fn snapshot(&self, secret_id: &str) -> Result<Snapshot, StoreError> {
        crate::store::embedded::EmbeddedSecretStore::snapshot(self, secret_id).await
    }

    async fn tag_secret(&self, secret_id: &str, key: &str, value: &str) -> Result<(), StoreError> {
        crate::store::embedded::EmbeddedSecretStore::tag_secret(self, secret_id, key, value).await
    }
}

/// A Lambda ARN no test deploys: moto's `RotateSecret` stages the pending
/// version and enables rotation, then fails to find the function, which
/// [`SecretAdmin::start_rotation`] expects.
pub const ABSENT_FUNCTION_ARN: &str =
    "arn:aws:lambda:us-east-1:123456789012:function:rotation-under-test";

#[async_trait]
impl SecretAdmin for AwsSecretStore {
    async fn create_secret(
        &self,
        name: &str,
        payload: SecretPayload,
    ) -> Result<String, StoreError> {
        let request = self.client().create_secret().name(name);
        let request = match &payload {
            SecretPayload::String(s) => request.secret_string(s.expose()),
            SecretPayload::Binary(b) => request.secret_binary(Blob::new(b.expose())),
        };
        let out = request
            .send()
            .await
            .map_err(|e| map_error("CreateSecret", name, None, e))?;
        Ok(out.arn().unwrap_or(name).to_owned())
    }

    async fn start_rotation(&self, secret_id: &str, token: &str) -> Result<(), StoreError> {
        // moto inverts the service's check: it refuses a new rotation when
        // AWSPENDING sits on the AWSCURRENT version (the state a finished
        // rotation leaves, which the service accepts). Take that AWSPENDING
        // off first, as the service's own bookkeeping would allow.
        let description = self.describe(secret_id).await?;
        if let Some(current) = description.version_with_stage(AWSCURRENT) {
            if description.has_stage(current, AWSPENDING) {
                self.client()
                    .update_secret_version_stage()
                    .secret_id(secret_id)
                    .version_stage(AWSPENDING)
                    .remove_from_version_id(current)
                    .send()
                    .await
                    .map_err(|e| map_error("UpdateSecretVersionStage", secret_id, None, e))?;
            }
        }
        let result = self
            .client()
            .rotate_secret()
            .secret_id(secret_id)
            .client_request_token(token)
            .rotation_lambda_arn(ABSENT_FUNCTION_ARN)
            // moto enables rotation only when rules are given.
            .rotation_rules(
                aws_sdk_secretsmanager::types::RotationRulesType::builder()
                    .automatically_after_days(30)
                    .build(),
            )
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            // The service would now invoke the function; moto cannot, and
            // says so after staging the version. The tests play the service.
            // Any other "not found" (the secret itself) is a real error.
            Err(e)
                if e.code() == Some("ResourceNotFoundException")
                    && e.message().is_some_and(|m| m.contains(ABSENT_FUNCTION_ARN)) =>
            {
                Ok(())
            }
            Err(e) => Err(map_error("RotateSecret", secret_id, Some(token), e)),
        }
    }

    async fn tag_secret(&self, secret_id: &str, key: &str, value: &str) -> Result<(), StoreError> {
        let tag = aws_sdk_secretsmanager::types::Tag::builder()
            .key(key)
            .value(value)
            .build();
        self.client()
            .tag_resource()
            .secret_id(secret_id)
            .tags(tag)
            .send()
            .await
            .map_err(|e| map_error("TagResource", secret_id, None, e))?;
        Ok(())
    }

    async fn snapshot(&self, secret_id: &str) -> Result<Snapshot, StoreError> {
        let out = self
            .client()
            .list_secret_version_ids()
            .secret_id(secret_id)
            .include_deprecated(true)
            .send()
            .await
            .map_err(|e| map_error("ListSecretVersionIds", secret_id, None, e))?;
        let mut snapshot = Snapshot::new();
        for version in out.versions() {
            let Some(id) = version.version_id() else {
                continue;
            };
            let mut stages = version.version_stages().to_vec();
            stages.sort();
            let payload = self
                .get_value(secret_id, VersionSelector::Id(id))
                .await?
                .map(|v| v.payload);
            snapshot.insert(id.to_owned(), VersionSnapshot { stages, payload });
        }
        Ok(snapshot)
    }
}

/// Every secret string found in a snapshot: whole values and each string
/// field of JSON values whose name, in any case, says it holds a
/// credential, for leak checks.
pub fn secret_strings(snapshot: &Snapshot) -> Vec<SecretString> {
    let mut found = Vec::new();
    for version in snapshot.values() {
        match &version.payload {
            Some(SecretPayload::String(s)) => {
                found.push(s.clone());
                if let Ok(serde_json::Value::Object(map)) = serde_json::from_str(s.expose()) {
                    for (key, value) in map {
                        if let serde_json::Value::String(v) = value {
                            // Any case: IAM's field is `SecretAccessKey`. An
                            // id (`AccessKeyId`, `key_id`) names a key, and is
                            // logged to say which.
                            let key = key.to_ascii_lowercase();
                            if ["password", "key", "secret", "token", "credential"]
                                .iter()
                                .any(|word| key.contains(word))
                                && !key.ends_with("id")
                            {
                                found.push(SecretString::new(v));
                            }
                        }
                    }
                }
            }
            Some(SecretPayload::Binary(b)) => {
                if let Ok(text) = std::str::from_utf8(b.expose()) {
                    found.push(SecretString::new(text));
                }
            }
            None => {}
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The leak check of the built functions' output reads these: a field
    /// missed here is never looked for. IAM's `SecretAccessKey` once was.
    #[test]
    fn credential_fields_are_found_whatever_their_case() {
        let value = r#"{"UserName":"app","AccessKeyId":"AKIAEXAMPLE","SecretAccessKey":"wJalrXUtnFEMI/K7MDENG","Api_Token":"t0k","PASSWORD":"pw"}"#;
        let snapshot = Snapshot::from([(
            "v1".to_owned(),
            VersionSnapshot {
                stages: vec!["AWSCURRENT".into()],
                payload: Some(SecretPayload::String(SecretString::new(value))),
            },
        )]);
        let found: Vec<String> = secret_strings(&snapshot)
            .iter()
            .map(|s| s.expose().to_owned())
            .collect();
        for secret in ["wJalrXUtnFEMI/K7MDENG", "t0k", "pw"] {
            assert!(found.iter().any(|f| f == secret), "{secret} missed");
        }
        assert!(
            !found.iter().any(|f| f == "app"),
            "a user name is no secret"
        );
    }
}
