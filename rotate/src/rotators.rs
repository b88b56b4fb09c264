//! Which linked-in rotator rotates a secret: the `--rotator` flag, or the
//! secret's `engine`, as the deployed functions are chosen.

use rotation_core::store::VersionSelector;
use rotation_core::{store::SecretStore, store::AWSCURRENT, Rotator, SecretJson};

use rotation_database::{
    DatabaseBackend, DatabaseRotator, EngineSpec, MasterPolicy, MASTER_SECRET_ARNS_VARIABLE,
};

use crate::cli::RotatorKind;
use crate::error::CliError;

// The rotators' own lists, so a new engine name needs no change here.
const POSTGRES_ENGINES: &[&str] = EngineSpec::POSTGRES.engines;
const MYSQL_ENGINES: &[&str] = EngineSpec::MYSQL.engines;
const API_KEY_ENGINES: &[&str] = &api_key_rotator::ENGINES;

/// `secret`'s AWSCURRENT value, read once for the checks and the choice of
/// rotator; `None` when it is not JSON (the rotator refuses it, naming why).
pub async fn current_value(
    store: &dyn SecretStore,
    secret: &str,
) -> Result<Option<SecretJson>, CliError> {
    let current = store
        .get_value(secret, VersionSelector::Stage(AWSCURRENT))
        .await?
        .ok_or_else(|| CliError::Usage(format!("{secret} has no AWSCURRENT value")))?;
    Ok(SecretJson::from_payload(&current.payload).ok())
}

/// The rotator for `secret`, and the API key provider its `engine` names.
fn choose(
    current: Option<&SecretJson>,
    secret: &str,
    flag: Option<RotatorKind>,
) -> Result<(RotatorKind, Option<String>), CliError> {
    let engine = current
        .and_then(|json| json.get("engine"))
        .and_then(|e| e.as_str())
        .map(str::to_owned);
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

/// `rotator`, allowed any master secret when `any_master`.
fn masters<B: DatabaseBackend>(
    rotator: DatabaseRotator<B>,
    any_master: bool,
) -> DatabaseRotator<B> {
    match any_master {
        true => rotator.with_master_policy(MasterPolicy::default()),
        false => rotator,
    }
}

/// The rotator for `secret` (whose AWSCURRENT value is `current`): the one
/// `flag` names, or else the one its `engine` field names.
///
/// On the local store (`local`), a database rotator without
/// `MASTER_SECRET_ARNS` may use any master secret of that store: whoever
/// edits it is the operator. A deployed function, and a run on Secrets
/// Manager, refuse alternating users without the allow-list.
pub fn rotator_for(
    current: Option<&SecretJson>,
    secret: &str,
    flag: Option<RotatorKind>,
    local: bool,
) -> Result<Box<dyn Rotator>, CliError> {
    let (kind, provider) = choose(current, secret, flag)?;
    let any_master =
        local && std::env::var(MASTER_SECRET_ARNS_VARIABLE).map_or(true, |v| v.trim().is_empty());
    Ok(match kind {
        RotatorKind::Postgres => {
            Box::new(masters(postgres_rotator::rotator_from_env()?, any_master))
        }
        RotatorKind::Mysql => Box::new(masters(mysql_rotator::rotator_from_env()?, any_master)),
        RotatorKind::ApiKey => api_key_rotator::rotator_from_lookup(api_key_settings(provider))?,
    })
}
