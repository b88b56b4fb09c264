//! A [`SecretStore`] held in memory, with Secrets Manager's semantics.
//!
//! It is what the state machine's unit tests and the rotator kit run on, so
//! it reproduces the service where the service is subtle: a stage sits on at
//! most one version; moving AWSCURRENT stages the old version AWSPREVIOUS;
//! `DescribeSecret` lists only versions that carry a stage; a different value
//! under an existing version is refused; `RotateSecret` creates the pending
//! version without a value; writing a value by hand abandons a rotation.

use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;

use super::{
    MoveStage, PutValue, SecretDescription, SecretStore, SecretVersion, VersionSelector,
    VersionSnapshot, AWSCURRENT, AWSPENDING, AWSPREVIOUS,
};
use crate::error::StoreError;
use crate::secret::SecretPayload;

#[derive(Debug, Clone)]
struct Version {
    payload: Option<SecretPayload>,
    stages: Vec<String>,
}

#[derive(Debug, Clone)]
struct Secret {
    arn: String,
    name: String,
    rotation_enabled: bool,
    versions: BTreeMap<String, Version>,
    tags: BTreeMap<String, String>,
}

impl Secret {
    fn holder_of(&self, stage: &str) -> Option<String> {
        self.versions
            .iter()
            .find(|(_, v)| v.stages.iter().any(|s| s == stage))
            .map(|(id, _)| id.clone())
    }

    fn remove_stage(&mut self, stage: &str) {
        for version in self.versions.values_mut() {
            version.stages.retain(|s| s != stage);
        }
    }

    /// Attaches `stage` to `version_id`, taking it off any other version;
    /// AWSCURRENT leaving a version puts AWSPREVIOUS there.
    fn attach_stage(&mut self, stage: &str, version_id: &str) {
        let old = self.holder_of(stage);
        if old.as_deref() == Some(version_id) {
            return;
        }
        self.remove_stage(stage);
        if stage == AWSCURRENT {
            if let Some(old) = old {
                self.remove_stage(AWSPREVIOUS);
                self.versions
                    .get_mut(&old)
                    .expect("the holder exists")
                    .stages
                    .push(AWSPREVIOUS.to_owned());
            }
        }
        let version = self
            .versions
            .get_mut(version_id)
            .expect("checked by caller");
        version.stages.push(stage.to_owned());
        if stage == AWSCURRENT {
            version.stages.retain(|s| s != AWSPREVIOUS);
        }
    }
}

#[derive(Debug, Default)]
struct State {
    secrets: BTreeMap<String, Secret>,
    clock: u64,
}

impl State {
    fn find(
        &mut self,
        operation: &'static str,
        secret_id: &str,
    ) -> Result<&mut Secret, StoreError> {
        self.secrets
            .values_mut()
            .find(|s| s.arn == secret_id || s.name == secret_id)
            .ok_or_else(|| StoreError::SecretNotFound {
                operation,
                secret_id: secret_id.to_owned(),
            })
    }

    fn tick(&mut self) -> u64 {
        self.clock += 1;
        self.clock
    }
}

/// An in-memory secret store. Cloning shares nothing; wrap it in an `Arc`
/// to share one store between a test and the code under test.
#[derive(Debug, Default)]
pub struct InMemorySecretStore {
    state: Mutex<State>,
}

fn refused(operation: &'static str, secret_id: &str, message: impl Into<String>) -> StoreError {
    StoreError::Refused {
        operation,
        secret_id: secret_id.to_owned(),
        message: message.into(),
    }
}

fn new_version_id() -> String {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).expect("the OS random source is available");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl InMemorySecretStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // A panicking test must not poison the store for the others.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `CreateSecret`: a new secret whose first version is AWSCURRENT.
    /// Returns its ARN.
    pub fn create_secret(&self, name: &str, payload: SecretPayload) -> Result<String, StoreError> {
        let mut state = self.state();
        if state.secrets.contains_key(name) {
            return Err(refused(
                "CreateSecret",
                name,
                "a secret with this name already exists",
            ));
        }
        let created = state.tick();
        let arn =
            format!("arn:aws:secretsmanager:us-east-1:123456789012:secret:{name}-{created:06}");
        let mut versions = BTreeMap::new();
        versions.insert(
            new_version_id(),
            Version {
                payload: Some(payload),
                stages: vec![AWSCURRENT.to_owned()],
            },
        );
        state.secrets.insert(
            name.to_owned(),
            Secret {
                arn: arn.clone(),
                name: name.to_owned(),
                rotation_enabled: false,
                versions,
                tags: BTreeMap::new(),
            },
        );
        Ok(arn)
    }

    /// The part of `RotateSecret` that happens before the function runs:
    /// enables rotation and stages a value-less version `token` AWSPENDING.
    /// Refused while another rotation is incomplete, unless restarted with
    /// the same token, as the service does.
    pub fn start_rotation(&self, secret_id: &str, token: &str) -> Result<(), StoreError> {
        const OP: &str = "RotateSecret";
        let mut state = self.state();
        let secret = state.find(OP, secret_id)?;
        secret.rotation_enabled = true;
        if secret.versions.contains_key(token) {
            if secret.holder_of(AWSPENDING).as_deref() == Some(token)
                || secret.holder_of(AWSCURRENT).as_deref() == Some(token)
            {
                return Ok(());
            }
            return Err(refused(
                OP,
                secret_id,
                "the token names an existing version that is not being rotated",
            ));
        }
        if let Some(pending) = secret.holder_of(AWSPENDING) {
            if secret.holder_of(AWSCURRENT) != Some(pending) {
                return Err(refused(OP, secret_id, "a previous rotation isn't complete"));
            }
        }
        secret.versions.insert(
            token.to_owned(),
            Version {
                payload: None,
                stages: Vec::new(),
            },
        );
        secret.attach_stage(AWSPENDING, token);
        Ok(())
    }

    /// `PutSecretValue` without a token, as an operator does by hand: a new
    /// AWSCURRENT version. Like the service, it abandons any rotation in
    /// progress by removing AWSPENDING.
    pub fn put_by_hand(
        &self,
        secret_id: &str,
        payload: SecretPayload,
    ) -> Result<String, StoreError> {
        let mut state = self.state();
        let secret = state.find("PutSecretValue", secret_id)?;
        let id = new_version_id();
        secret.versions.insert(
            id.clone(),
            Version {
                payload: Some(payload),
                stages: Vec::new(),
            },
        );
        secret.remove_stage(AWSPENDING);
        secret.attach_stage(AWSCURRENT, &id);
        Ok(id)
    }

    /// Sets a tag on the secret (`TagResource`).
    pub fn tag_secret(&self, secret_id: &str, key: &str, value: &str) -> Result<(), StoreError> {
        let mut state = self.state();
        state
            .find("TagResource", secret_id)?
            .tags
            .insert(key.to_owned(), value.to_owned());
        Ok(())
    }

    /// `DeleteSecret` without a recovery window
    /// (`ForceDeleteWithoutRecovery`): the secret and every version are
    /// gone, and every later call naming it finds no secret.
    pub fn delete_secret(&self, secret_id: &str) -> Result<(), StoreError> {
        let mut state = self.state();
        let name = state.find("DeleteSecret", secret_id)?.name.clone();
        state.secrets.remove(&name);
        Ok(())
    }

    /// Turns rotation on or off.
    pub fn set_rotation_enabled(&self, secret_id: &str, enabled: bool) -> Result<(), StoreError> {
        let mut state = self.state();
        state.find("RotateSecret", secret_id)?.rotation_enabled = enabled;
        Ok(())
    }

    /// Every version with its stages and value, including unlabelled ones.
    pub fn snapshot(
        &self,
        secret_id: &str,
    ) -> Result<BTreeMap<String, VersionSnapshot>, StoreError> {
        let mut state = self.state();
        let secret = state.find("ListSecretVersionIds", secret_id)?;
        Ok(secret
            .versions
            .iter()
            .map(|(id, v)| {
                let mut stages = v.stages.clone();
                stages.sort();
                (
                    id.clone(),
                    VersionSnapshot {
                        stages,
                        payload: v.payload.clone(),
                    },
                )
            })
            .collect())
    }
}

#[async_trait]
impl SecretStore for InMemorySecretStore {
    async fn describe(&self, secret_id: &str) -> Result<SecretDescription, StoreError> {
        let mut state = self.state();
        let secret = state.find("DescribeSecret", secret_id)?;
        Ok(SecretDescription {
            arn: secret.arn.clone(),
            rotation_enabled: secret.rotation_enabled,
            // The service lists only versions with a stage; unlabelled
            // versions are deprecated.
            versions: secret
                .versions
                .iter()
                .filter(|(_, v)| !v.stages.is_empty())
                .map(|(id, v)| (id.clone(), v.stages.clone()))
                .collect(),
            tags: secret.tags.clone(),
        })
    }

    async fn get_value(
        &self,
        secret_id: &str,
        version: VersionSelector<'_>,
    ) -> Result<Option<SecretVersion>, StoreError> {
        let mut state = self.state();
        let secret = state.find("GetSecretValue", secret_id)?;
        let found = match version {
            VersionSelector::Id(id) => secret.versions.get_key_value(id),
            VersionSelector::Stage(stage) => secret
                .versions
                .iter()
                .find(|(_, v)| v.stages.iter().any(|s| s == stage)),
            VersionSelector::IdAndStage(id, stage) => secret
                .versions
                .get_key_value(id)
                .filter(|(_, v)| v.stages.iter().any(|s| s == stage)),
        };
        Ok(found.and_then(|(id, v)| {
            v.payload.clone().map(|payload| SecretVersion {
                arn: secret.arn.clone(),
                name: secret.name.clone(),
                created: None,
                version_id: id.clone(),
                stages: v.stages.clone(),
                payload,
            })
        }))
    }

    async fn put_value(&self, secret_id: &str, put: PutValue<'_>) -> Result<(), StoreError> {
        let PutValue {
            version_id,
            value,
            stages,
            rotation_token: _,
        } = put;
        const OP: &str = "PutSecretValue";
        let mut state = self.state();
        let secret = state.find(OP, secret_id)?;
        let payload = SecretPayload::String(value.clone());
        match secret.versions.get_mut(version_id) {
            Some(existing) => match &existing.payload {
                Some(stored) if *stored == payload => return Ok(()),
                Some(_) => {
                    return Err(StoreError::VersionExists {
                        operation: OP,
                        secret_id: secret_id.to_owned(),
                        version_id: version_id.to_owned(),
                    })
                }
                None => existing.payload = Some(payload),
            },
            None => {
                secret.versions.insert(
                    version_id.to_owned(),
                    Version {
                        payload: Some(payload),
                        stages: Vec::new(),
                    },
                );
            }
        }
        let stages: &[&str] = if stages.is_empty() {
            &[AWSCURRENT]
        } else {
            stages
        };
        for stage in stages {
            secret.attach_stage(stage, version_id);
        }
        Ok(())
    }

    async fn move_stage(&self, secret_id: &str, change: MoveStage<'_>) -> Result<(), StoreError> {
        let MoveStage {
            stage,
            to_version,
            from_version,
        } = change;
        const OP: &str = "UpdateSecretVersionStage";
        let mut state = self.state();
        let secret = state.find(OP, secret_id)?;
        if !secret.versions.contains_key(to_version) {
            return Err(refused(
                OP,
                secret_id,
                format!("version {to_version} does not exist"),
            ));
        }
        let holder = secret.holder_of(stage);
        // The service checks RemoveFromVersionId first: naming a version
        // that does not hold the stage is refused even when the move is
        // already done (an SDK retry of an applied move meets this).
        if let Some(from) = from_version {
            if holder.as_deref() != Some(from) {
                return Err(refused(
                    OP,
                    secret_id,
                    format!("version {from} does not hold stage {stage}"),
                ));
            }
        }
        if holder.as_deref() == Some(to_version) {
            return Ok(());
        }
        if holder.is_some() && holder.as_deref() != from_version {
            return Err(refused(
                OP,
                secret_id,
                format!(
                    "stage {stage} is attached to version {}; name it as the version to remove it from",
                    holder.unwrap_or_default()
                ),
            ));
        }
        secret.attach_stage(stage, to_version);
        Ok(())
    }
}
