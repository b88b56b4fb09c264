//! Where `rotate` runs a rotation: the embedded store, or Secrets Manager.
//!
//! On Secrets Manager, `RotateSecret` would invoke the deployed function,
//! so a new in-process rotation cannot be started with it. Its only effect
//! the steps rely on is the value-less AWSPENDING placeholder, which
//! [`WithPlaceholder`] shows to the steps without writing it: createSecret
//! then stores the pending value under the token (`PutSecretValue` moves
//! AWSPENDING to it), as it would after `RotateSecret`. Nothing else
//! differs: every later read and write goes to Secrets Manager.

use std::sync::Arc;

use rotation_core::store::embedded::{EmbeddedSecretStore, VersionInfo};
use rotation_core::store::{
    AwsSecretStore, MoveStage, PutValue, SecretDescription, SecretVersion, VersionSelector,
};
use rotation_core::{
    async_trait, error::StoreError, store::SecretStore, store::AWSCURRENT, store::AWSPENDING,
};

use crate::error::CliError;
use crate::secrets_manager;

/// The store a command works on.
pub enum Target {
    /// The embedded store.
    Embedded(EmbeddedSecretStore),
    /// Secrets Manager.
    SecretsManager(AwsSecretStore),
}

/// A rotation's token, and whether it continues an unfinished rotation.
pub struct Begun {
    /// The token.
    pub token: String,
    /// Whether the rotation was already under way.
    pub resumed: bool,
}

impl Target {
    /// The store, for reads.
    pub fn store(&self) -> &dyn SecretStore {
        match self {
            Self::Embedded(store) => store,
            Self::SecretsManager(store) => store,
        }
    }

    /// Every version of `arn`, oldest first, with dates.
    pub async fn versions(&self, arn: &str) -> Result<Vec<VersionInfo>, CliError> {
        match self {
            Self::Embedded(store) => Ok(store.versions(arn).await?),
            Self::SecretsManager(store) => Ok(secrets_manager::state(store, arn).await?.versions),
        }
    }

    /// An unfinished rotation's token, or a new one.
    async fn token_for(&self, arn: &str) -> Result<Begun, CliError> {
        let described = self.store().describe(arn).await?;
        let current = described.version_with_stage(AWSCURRENT);
        Ok(match described.version_with_stage(AWSPENDING) {
            Some(pending) if Some(pending) != current => Begun {
                token: pending.to_owned(),
                resumed: true,
            },
            _ => Begun {
                token: new_token(),
                resumed: false,
            },
        })
    }

    /// Starts a rotation of `arn` as `RotateSecret` does, or joins the
    /// unfinished one.
    pub async fn begin(&self, arn: &str) -> Result<Begun, CliError> {
        let begun = self.token_for(arn).await?;
        let Self::Embedded(store) = self else {
            return Ok(begun);
        };
        if let Err(error) = store.start_rotation(arn, &begun.token).await {
            // Another process started a rotation between the two calls:
            // join it, as a retried invocation would (every step is
            // idempotent).
            let joined = self.token_for(arn).await?;
            return if joined.resumed {
                Ok(joined)
            } else {
                Err(error.into())
            };
        }
        Ok(begun)
    }

    /// The store the steps of rotation `token` run on.
    pub fn for_rotation(&self, token: &str) -> Arc<dyn SecretStore> {
        match self {
            Self::Embedded(store) => Arc::new(store.clone()),
            Self::SecretsManager(store) => Arc::new(WithPlaceholder {
                inner: store.clone(),
                token: token.to_owned(),
            }),
        }
    }
}

/// A new token, shaped as Secrets Manager's (a version 4 UUID).
fn new_token() -> String {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).expect("the OS random source is available");
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// Secrets Manager as the steps see it just after `RotateSecret`: until
/// createSecret stores a value under `token`, the description lists the
/// token as AWSPENDING; rotation shows as enabled, which `RotateSecret`
/// would have made it.
struct WithPlaceholder {
    inner: AwsSecretStore,
    token: String,
}

#[async_trait]
impl SecretStore for WithPlaceholder {
    async fn describe(&self, secret_id: &str) -> Result<SecretDescription, StoreError> {
        let mut described = self.inner.describe(secret_id).await?;
        if !described.versions.contains_key(&self.token) {
            for stages in described.versions.values_mut() {
                stages.retain(|s| s != AWSPENDING);
            }
            described
                .versions
                .insert(self.token.clone(), vec![AWSPENDING.to_owned()]);
        }
        // Asking for the rotation is what enables it, as RotateSecret does;
        // the secret's own setting is left as it is.
        described.rotation_enabled = true;
        Ok(described)
    }

    async fn get_value(
        &self,
        secret_id: &str,
        version: VersionSelector<'_>,
    ) -> Result<Option<SecretVersion>, StoreError> {
        self.inner.get_value(secret_id, version).await
    }

    /// Re-reads the secret just before createSecret's write: a rotation
    /// started meanwhile (the deployed function's, on its schedule) holds
    /// AWSPENDING on a version of its own, and moving the label to ours
    /// would fail both rotations. `PutSecretValue` cannot be made
    /// conditional, so a narrow window remains.
    async fn put_value(&self, secret_id: &str, put: PutValue<'_>) -> Result<(), StoreError> {
        if put.stages.contains(&AWSPENDING) {
            let described = self.inner.describe(secret_id).await?;
            let current = described.version_with_stage(AWSCURRENT);
            if let Some(other) = described
                .version_with_stage(AWSPENDING)
                .filter(|&v| v != put.version_id && Some(v) != current)
            {
                return Err(StoreError::Refused {
                    operation: "PutSecretValue",
                    secret_id: secret_id.to_owned(),
                    message: format!(
                        "another rotation (version {other}) started while this one ran; it is left to finish, and this one wrote nothing"
                    ),
                });
            }
        }
        self.inner.put_value(secret_id, put).await
    }

    async fn move_stage(&self, secret_id: &str, change: MoveStage<'_>) -> Result<(), StoreError> {
        self.inner.move_stage(secret_id, change).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rotation_core::testkit::SecretAdmin;
    use rotation_core::{SecretJson, SecretString};
    use rotation_testing::moto::MotoServer;

    /// The deployed function's createSecret lands between `rotate`'s
    /// choice of a token and its own createSecret: `rotate` must not move
    /// AWSPENDING off the function's version (both rotations would then
    /// fail, with AWSCURRENT on a value the backend may not accept).
    #[tokio::test]
    #[ignore = "services tier: cargo test --tests -- --include-ignored (CONTRIBUTING.md)"]
    async fn a_rotation_started_meanwhile_is_never_overwritten() {
        let moto = MotoServer::shared();
        let admin = moto.store();
        let secret = SecretJson::parse(&SecretString::new(r#"{"api_key": "k0"}"#)).unwrap();
        let arn = admin.create_json("cli-race", &secret).await.unwrap();
        let ours = new_token();
        let placeholder = WithPlaceholder {
            inner: moto.store(),
            token: ours.clone(),
        };
        // The function's rotation: RotateSecret, then its createSecret.
        let theirs = new_token();
        admin.start_rotation(&arn, &theirs).await.unwrap();
        let their_value = SecretString::new(r#"{"api_key": "k-theirs"}"#);
        admin
            .put_value(
                &arn,
                PutValue {
                    version_id: &theirs,
                    value: &their_value,
                    stages: &[AWSPENDING],
                    rotation_token: None,
                },
            )
            .await
            .unwrap();
        let before = admin.snapshot(&arn).await.unwrap();

        let our_value = SecretString::new(r#"{"api_key": "k-ours"}"#);
        let put = placeholder
            .put_value(
                &arn,
                PutValue {
                    version_id: &ours,
                    value: &our_value,
                    stages: &[AWSPENDING],
                    rotation_token: None,
                },
            )
            .await;
        assert!(
            matches!(put, Err(StoreError::Refused { .. })),
            "rotate wrote over a rotation that started meanwhile: {put:?}"
        );
        assert_eq!(before, admin.snapshot(&arn).await.unwrap());
    }
}
