//! Which linked-in rotator rotates a secret: the `--rotator` flag, or the
//! secret's `engine`, as the deployed functions are chosen.

use rotation_core::store::VersionSelector;
use rotation_core::{Rotator, SecretJson, SecretStore, AWSCURRENT};

use crate::cli::RotatorKind;
use crate::error::CliError;

const POSTGRES_ENGINES: &[&str] = &["postgres", "aurora-postgresql"];
const MYSQL_ENGINES: &[&str] = &["mysql", "aurora-mysql", "mariadb"];
const API_KEY_ENGINES: &[&str] = &["generated", "iam-access-key", "http"];

/// The rotator for `secret`, and the API key provider its `engine` names.
async fn choose(
    store: &dyn SecretStore,
    secret: &str,
    flag: Option<RotatorKind>,
) -> Result<(RotatorKind, Option<String>), CliError> {
    let current = store
        .get_value(secret, VersionSelector::Stage(AWSCURRENT))
        .await?
        .ok_or_else(|| CliError::Usage(format!("{secret} has no AWSCURRENT value")))?;
    let engine = SecretJson::from_payload(&current.payload)
        .ok()
        .and_then(|json| {
            json.get("engine")
                .and_then(|e| e.as_str())
                .map(str::to_owned)
        });
    let from_engine = engine.as_deref().and_then(|engine| {
        if POSTGRES_ENGINES.contains(&engine) {
            Some(RotatorKind::Postgres)
        } else if MYSQL_ENGINES.contains(&engine) {
            Some(RotatorKind::Mysql)
        } else if API_KEY_ENGINES.contains(&engine) {
            Some(RotatorKind::ApiKey)
        } else {
            None
        }
    });
    let kind = flag.or(from_engine).ok_or_else(|| {
        CliError::Usage(format!(
            "no rotator for {secret}: its `engine` field is {}; choose one with --rotator postgres|mysql|api-key",
            engine.as_deref().map_or("missing".to_owned(), |e| format!("`{e}`, which no linked rotator rotates"))
        ))
    })?;
    let provider = engine.filter(|e| API_KEY_ENGINES.contains(&e.as_str()));
    Ok((kind, provider))
}

/// The API key rotator's settings: the environment, with the provider
/// taken from the secret's `engine` when API_KEY_PROVIDER is unset.
fn api_key_settings(provider: Option<String>) -> impl Fn(&str) -> Option<String> {
    move |name| {
        std::env::var(name).ok().or_else(|| {
            (name == api_key_rotator::PROVIDER_SETTING)
                .then(|| provider.clone())
                .flatten()
        })
    }
}

/// Work that needs the secret's rotator, whichever type it is.
pub trait WithRotator {
    /// What the work returns.
    type Output;

    /// Does the work with `rotator`.
    async fn with<R: Rotator>(self, rotator: R) -> Result<Self::Output, CliError>;
}

/// Chooses the rotator for `secret` and hands it to `work`.
pub async fn dispatch<W: WithRotator>(
    store: &dyn SecretStore,
    secret: &str,
    flag: Option<RotatorKind>,
    work: W,
) -> Result<W::Output, CliError> {
    let (kind, provider) = choose(store, secret, flag).await?;
    match kind {
        RotatorKind::Postgres => work.with(postgres_rotator::rotator_from_env()?).await,
        RotatorKind::Mysql => work.with(mysql_rotator::rotator_from_env()?).await,
        RotatorKind::ApiKey => {
            work.with(api_key_rotator::rotator_from_lookup(api_key_settings(
                provider,
            ))?)
            .await
        }
    }
}
