//! The contract every [`SecretStore`](crate::store::SecretStore) passes, so the
//! in-memory store and the AWS-SDK store (against moto) stay equivalent.
//!
//! Each function is one case; [`run_all`] runs them in order. Secret names
//! are prefixed so that one server can host many runs.

use crate::error::StoreError;
use crate::secret::{SecretBytes, SecretPayload, SecretString};
use crate::store::{MoveStage, PutValue, VersionSelector, AWSCURRENT, AWSPENDING, AWSPREVIOUS};

use super::admin::SecretAdmin;
use super::unique_name;

/// Where a store knowingly departs from Secrets Manager. Each flag skips
/// exactly one assertion, and the test that sets it says why.
#[derive(Debug, Clone, Copy, Default)]
pub struct KnownGaps {
    /// The store overwrites a version's value when `PutSecretValue` repeats
    /// its token with a different value, where the service answers
    /// `ResourceExistsException` (moto does this).
    pub overwrites_existing_version: bool,
    /// The store lets a new rotation start while AWSPENDING is on a version
    /// other than AWSCURRENT, where the service refuses (moto does this).
    pub starts_rotation_while_incomplete: bool,
}

fn text(value: &str) -> SecretPayload {
    SecretPayload::String(SecretString::new(value))
}

/// A new secret holding `v1-initial-value`. Returns the ARN.
async fn new_secret(store: &dyn SecretAdmin, prefix: &str) -> String {
    store
        .create_secret(&unique_name(prefix), text("v1-initial-value"))
        .await
        .unwrap()
}

/// A new secret with a rotation started under `token` and its pending value
/// `v2-pending-value` stored. Returns the ARN.
async fn secret_with_pending_value(store: &dyn SecretAdmin, prefix: &str, token: &str) -> String {
    let arn = new_secret(store, prefix).await;
    store.start_rotation(&arn, token).await.unwrap();
    store
        .put_value(
            &arn,
            PutValue {
                version_id: token,
                value: &SecretString::new("v2-pending-value"),
                stages: &[AWSPENDING],
                rotation_token: None,
            },
        )
        .await
        .unwrap();
    arn
}

/// A new secret: one AWSCURRENT version holding the value, rotation off.
pub async fn create_and_describe(store: &dyn SecretAdmin) {
    let arn = new_secret(store, "contract-create").await;
    let description = store.describe(&arn).await.unwrap();
    assert_eq!(description.arn, arn);
    assert!(!description.rotation_enabled);
    assert_eq!(description.versions.len(), 1);
    let (id, stages) = description.versions.iter().next().unwrap();
    assert_eq!(stages, &vec![AWSCURRENT.to_owned()]);
    let current = store
        .get_value(&arn, VersionSelector::Stage(AWSCURRENT))
        .await
        .unwrap()
        .expect("AWSCURRENT has a value");
    assert_eq!(&current.version_id, id);
    assert_eq!(current.payload, text("v1-initial-value"));
    let by_id = store
        .get_value(&arn, VersionSelector::Id(id))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(by_id.payload, current.payload);
}

/// An unknown secret is `SecretNotFound`; an unknown version or stage reads
/// as `None`.
pub async fn missing_things(store: &dyn SecretAdmin) {
    let missing = unique_name("contract-missing");
    assert!(matches!(
        store.describe(&missing).await,
        Err(StoreError::SecretNotFound { .. })
    ));
    let arn = new_secret(store, "contract-missing").await;
    let none = store
        .get_value(
            &arn,
            VersionSelector::Id("00000000-0000-0000-0000-000000000000"),
        )
        .await
        .unwrap();
    assert!(none.is_none());
    let none = store
        .get_value(&arn, VersionSelector::Stage(AWSPREVIOUS))
        .await
        .unwrap();
    assert!(none.is_none(), "a new secret has no AWSPREVIOUS");
}

/// `RotateSecret`'s placeholder: listed under AWSPENDING, readable as
/// `None` until a value is put.
pub async fn pending_placeholder_has_no_value(store: &dyn SecretAdmin) {
    let arn = new_secret(store, "contract-placeholder").await;
    let token = "11111111-2222-3333-4444-555555555555";
    store.start_rotation(&arn, token).await.unwrap();
    let description = store.describe(&arn).await.unwrap();
    assert!(description.rotation_enabled);
    assert!(description.has_stage(token, AWSPENDING));
    assert_eq!(description.versions.len(), 2);
    for selector in [
        VersionSelector::Id(token),
        VersionSelector::IdAndStage(token, AWSPENDING),
        VersionSelector::Stage(AWSPENDING),
    ] {
        let value = store.get_value(&arn, selector).await.unwrap();
        assert!(value.is_none(), "{selector:?} must read as no value yet");
    }
}

/// Putting the pending value, again with the same value (a no-op), and with
/// a different one (refused by the service).
pub async fn put_pending_is_idempotent(store: &dyn SecretAdmin, gaps: KnownGaps) {
    let arn = new_secret(store, "contract-put").await;
    let token = "22222222-2222-3333-4444-555555555555";
    store.start_rotation(&arn, token).await.unwrap();
    let pending = SecretString::new("v2-pending-value");
    store
        .put_value(
            &arn,
            PutValue {
                version_id: token,
                value: &pending,
                stages: &[AWSPENDING],
                rotation_token: Some("rotation-token-1"),
            },
        )
        .await
        .unwrap();
    store
        .put_value(
            &arn,
            PutValue {
                version_id: token,
                value: &pending,
                stages: &[AWSPENDING],
                rotation_token: None,
            },
        )
        .await
        .expect("the same value again is a no-op");
    let read = store
        .get_value(&arn, VersionSelector::IdAndStage(token, AWSPENDING))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(read.payload, SecretPayload::String(pending.clone()));
    assert!(read.stages.iter().any(|s| s == AWSPENDING));

    let other = store
        .put_value(
            &arn,
            PutValue {
                version_id: token,
                value: &SecretString::new("v2-other-value"),
                stages: &[AWSPENDING],
                rotation_token: None,
            },
        )
        .await;
    if !gaps.overwrites_existing_version {
        assert!(
            matches!(other, Err(StoreError::VersionExists { .. })),
            "a different value under an existing version must be refused: {other:?}"
        );
        let read = store
            .get_value(&arn, VersionSelector::Id(token))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(read.payload, SecretPayload::String(pending));
    }
    // AWSCURRENT is untouched by a pending put.
    let current = store
        .get_value(&arn, VersionSelector::Stage(AWSCURRENT))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(current.payload, text("v1-initial-value"));
}

/// Moving AWSCURRENT stages the old version AWSPREVIOUS; a second rotation
/// moves AWSPREVIOUS along; moving a stage held elsewhere without naming
/// the holder is refused.
pub async fn moving_current_sets_previous(store: &dyn SecretAdmin) {
    let token = "33333333-2222-3333-4444-555555555555";
    let arn = secret_with_pending_value(store, "contract-move", token).await;
    let description = store.describe(&arn).await.unwrap();
    let first = description
        .versions
        .keys()
        .find(|id| *id != token)
        .expect("the first version")
        .clone();

    let refused = store
        .move_stage(
            &arn,
            MoveStage {
                stage: AWSCURRENT,
                to_version: token,
                from_version: None,
            },
        )
        .await;
    assert!(
        matches!(refused, Err(StoreError::Refused { .. })),
        "moving a held stage without naming its holder must be refused: {refused:?}"
    );
    store
        .move_stage(
            &arn,
            MoveStage {
                stage: AWSCURRENT,
                to_version: token,
                from_version: Some(&first),
            },
        )
        .await
        .unwrap();
    let description = store.describe(&arn).await.unwrap();
    assert!(description.has_stage(token, AWSCURRENT));
    assert!(description.has_stage(&first, AWSPREVIOUS));
    assert!(!description.has_stage(&first, AWSCURRENT));

    // The same move again (an SDK retry of a call the service applied):
    // the version to remove from no longer holds the stage, so the service
    // refuses, and nothing changes.
    let again = store
        .move_stage(
            &arn,
            MoveStage {
                stage: AWSCURRENT,
                to_version: token,
                from_version: Some(&first),
            },
        )
        .await;
    assert!(
        matches!(again, Err(StoreError::Refused { .. })),
        "a RemoveFromVersionId without the stage must be refused: {again:?}"
    );
    assert_eq!(store.describe(&arn).await.unwrap(), description);
    let current = store
        .get_value(&arn, VersionSelector::Stage(AWSCURRENT))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(current.payload, text("v2-pending-value"));
    let previous = store
        .get_value(&arn, VersionSelector::Stage(AWSPREVIOUS))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(previous.payload, text("v1-initial-value"));

    let second = "44444444-2222-3333-4444-555555555555";
    store.start_rotation(&arn, second).await.unwrap();
    let description = store.describe(&arn).await.unwrap();
    assert!(description.has_stage(second, AWSPENDING));
    assert!(
        !description.has_stage(token, AWSPENDING),
        "a stage is on one version only"
    );
    store
        .put_value(
            &arn,
            PutValue {
                version_id: second,
                value: &SecretString::new("v3-pending-value"),
                stages: &[AWSPENDING],
                rotation_token: None,
            },
        )
        .await
        .unwrap();
    store
        .move_stage(
            &arn,
            MoveStage {
                stage: AWSCURRENT,
                to_version: second,
                from_version: Some(token),
            },
        )
        .await
        .unwrap();
    let description = store.describe(&arn).await.unwrap();
    assert!(description.has_stage(second, AWSCURRENT));
    assert!(description.has_stage(token, AWSPREVIOUS));
    assert!(
        description.stages_of(&first).is_none_or(|s| s.is_empty()),
        "the oldest version lost its stages"
    );
}

/// A rotation cannot start while another is incomplete, except again with
/// the same token.
pub async fn incomplete_rotation_blocks_a_new_one(store: &dyn SecretAdmin, gaps: KnownGaps) {
    if gaps.starts_rotation_while_incomplete {
        return;
    }
    let token = "55555555-2222-3333-4444-555555555555";
    let arn = secret_with_pending_value(store, "contract-block", token).await;
    let other = store
        .start_rotation(&arn, "66666666-2222-3333-4444-555555555555")
        .await;
    assert!(
        matches!(other, Err(StoreError::Refused { .. })),
        "a second rotation must be refused: {other:?}"
    );
    assert!(store
        .describe(&arn)
        .await
        .unwrap()
        .has_stage(token, AWSPENDING));
}

/// Binary secrets read back as bytes.
pub async fn binary_values(store: &dyn SecretAdmin) {
    let bytes = SecretPayload::Binary(SecretBytes::new(vec![0u8, 159, 146, 150, 255]));
    let arn = store
        .create_secret(&unique_name("contract-binary"), bytes.clone())
        .await
        .unwrap();
    let read = store
        .get_value(&arn, VersionSelector::Stage(AWSCURRENT))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(read.payload, bytes);
}

/// Tags set on a secret are described, as RDS's `aws:rds:` tags on the
/// master secrets it manages are.
pub async fn tags_are_described(store: &dyn SecretAdmin) {
    let arn = new_secret(store, "contract-tags").await;
    assert!(store.describe(&arn).await.unwrap().tags.is_empty());
    store
        .tag_secret(
            &arn,
            "aws:rds:primaryDBInstanceArn",
            "arn:aws:rds:us-east-1:1:db:x",
        )
        .await
        .unwrap();
    let tags = store.describe(&arn).await.unwrap().tags;
    assert_eq!(
        tags.get("aws:rds:primaryDBInstanceArn").map(String::as_str),
        Some("arn:aws:rds:us-east-1:1:db:x")
    );
}

/// Every case, in order.
pub async fn run_all(store: &dyn SecretAdmin, gaps: KnownGaps) {
    create_and_describe(store).await;
    missing_things(store).await;
    pending_placeholder_has_no_value(store).await;
    put_pending_is_idempotent(store, gaps).await;
    moving_current_sets_previous(store).await;
    incomplete_rotation_blocks_a_new_one(store, gaps).await;
    binary_values(store).await;
    tags_are_described(store).await;
}
