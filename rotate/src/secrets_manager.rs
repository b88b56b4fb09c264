//! A secret's rotation state as Secrets Manager reports it, for `rotate
//! --aws status`: `DescribeSecret` for the settings and labels,
//! `ListSecretVersionIds` for the versions' dates, and `GetSecretValue` of
//! a pending version to tell a rotation's value-less placeholder.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_secretsmanager::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_secretsmanager::primitives::DateTime;
use aws_sdk_secretsmanager::Client;
use rotation_core::store::embedded::VersionInfo;
use rotation_core::store::{map_error, AwsSecretStore, VersionSelector};
use rotation_core::{store::SecretStore, store::AWSCURRENT, store::AWSPENDING};

use crate::error::CliError;
use crate::status::{Place, SecretState};

fn time(date: &DateTime) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(date.secs().max(0) as u64)
}

/// A failed call, as the store's error kinds (a secret that is not there
/// is the caller's mistake; the rest the tool's). The core's mapping keeps
/// only the SDK error's message: its `Debug` holds the raw response.
pub fn sdk_error<E, R>(operation: &'static str, secret: &str, error: SdkError<E, R>) -> CliError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    CliError::Store(map_error(operation, secret, None, error))
}

/// The state of `secret` (a name or an ARN) in Secrets Manager.
pub async fn state(store: &AwsSecretStore, secret: &str) -> Result<SecretState, CliError> {
    let client: &Client = store.client();
    let described = client
        .describe_secret()
        .secret_id(secret)
        .send()
        .await
        .map_err(|e| sdk_error("DescribeSecret", secret, e))?;
    let arn = described.arn().unwrap_or(secret).to_owned();
    let mut versions = Vec::new();
    let mut next_token = None;
    loop {
        let page = client
            .list_secret_version_ids()
            .secret_id(&arn)
            .set_next_token(next_token)
            .send()
            .await
            .map_err(|e| sdk_error("ListSecretVersionIds", secret, e))?;
        for version in page.versions() {
            versions.push(VersionInfo {
                version_id: version.version_id().unwrap_or_default().to_owned(),
                stages: version.version_stages().to_vec(),
                created: version.created_date().map_or(UNIX_EPOCH, time),
                has_value: true,
            });
        }
        next_token = next_page(page.next_token());
        if next_token.is_none() {
            break;
        }
    }
    versions.sort_by_key(|v| v.created);
    // A rotation's placeholder has no value until createSecret: only the
    // pending version can be one.
    let labelled = |stage: &str| {
        versions
            .iter()
            .position(|v| v.stages.iter().any(|s| s == stage))
    };
    if let Some(pending) = labelled(AWSPENDING).filter(|p| Some(*p) != labelled(AWSCURRENT)) {
        let id = versions[pending].version_id.clone();
        versions[pending].has_value = store
            .get_value(&arn, VersionSelector::Id(&id))
            .await?
            .is_some();
    }
    let rules = described.rotation_rules();
    let schedule = rules.and_then(|r| {
        r.schedule_expression().map(str::to_owned).or_else(|| {
            r.automatically_after_days()
                .map(|d| format!("every {d} days"))
        })
    });
    Ok(SecretState {
        place: Place::SecretsManager,
        name: described.name().unwrap_or(secret).to_owned(),
        arn,
        rotation_enabled: described.rotation_enabled().unwrap_or(false),
        schedule,
        function: described.rotation_lambda_arn().map(str::to_owned),
        last_rotated: described.last_rotated_date().map(time),
        next_rotation: described.next_rotation_date().map(time),
        versions,
    })
}

/// The token of the next page of a list, if there is one (moto answers an
/// empty token on the last page).
pub fn next_page(token: Option<&str>) -> Option<String> {
    token.filter(|token| !token.is_empty()).map(str::to_owned)
}
