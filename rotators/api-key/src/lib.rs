//! Rotates API keys held in AWS Secrets Manager, one provider per function.
//!
//! An API key differs from a database password in who makes it: the
//! provider issues the new key, so it exists before the secret stores it, a
//! retried createSecret must not leave a second live key behind, and the
//! old key stays valid for a while so consumers can move over. Three
//! providers are built in, chosen by the function's `API_KEY_PROVIDER`
//! setting (never by the rotated secret):
//!
//! - [`iam`] (`iam-access-key`): an AWS IAM user's access keys. createSecret
//!   proves the stored key is the user's, clears keys a failed earlier try
//!   left behind, retires the key two generations old and creates a new
//!   one; testSecret proves the new key through STS. The key consumers held
//!   until now stays valid until the next rotation (the grace window).
//! - [`http`] (`http`): keys a provider issues over HTTP, described by the
//!   function's settings (where the provider is; how to issue, list,
//!   verify and revoke a key). A retried createSecret never leaves two live
//!   keys, and the replaced key stays valid until the next rotation.
//! - [`generated`] (`generated`): keys this function makes (length,
//!   alphabet, prefix) for services that check incoming keys against the
//!   secret's AWSCURRENT and AWSPREVIOUS values themselves.
//!
//! [`rotator_from_env`] reads the settings; the Lambda binary's `main` is
//! one call to `rotation_core::lambda::run_with` with it.

#![warn(missing_docs)]

pub mod generated;
pub mod http;
#[cfg(feature = "iam")]
pub mod iam;

use rotation_core::{settings, Rotator, SecretFormatError, SecretJson, SettingsError};

pub use generated::GeneratedKeys;
pub use http::HttpKeys;
#[cfg(feature = "iam")]
pub use iam::IamAccessKeys;

/// The IAM provider's name, known without the `iam` feature so that such a
/// build says what it lacks.
const IAM_ENGINE: &str = "iam-access-key";

/// The function setting that chooses the provider.
pub const PROVIDER_SETTING: &str = "API_KEY_PROVIDER";

/// The rotator the function's settings describe: one of the providers,
/// chosen at start-up. Each provider refuses a secret whose `engine` names
/// another one.
pub type ApiKeyRotator = Box<dyn Rotator>;

/// The providers' names, as a secret's `engine` field gives them.
pub const ENGINES: [&str; 3] = [generated::ENGINE, IAM_ENGINE, http::ENGINE];

/// The rotator from the function's environment: `API_KEY_PROVIDER`
/// (`generated`, `iam-access-key` or `http`) and that provider's settings.
pub fn rotator_from_env() -> Result<ApiKeyRotator, SettingsError> {
    rotator_from_lookup(|name| std::env::var(name).ok())
}

/// [`rotator_from_env`] over another source of settings (a test's map).
pub fn rotator_from_lookup(
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<ApiKeyRotator, SettingsError> {
    let provider = settings::required(&lookup, PROVIDER_SETTING)?;
    match provider.trim() {
        generated::ENGINE => Ok(Box::new(GeneratedKeys::from_lookup(&lookup)?)),
        #[cfg(feature = "iam")]
        IAM_ENGINE => Ok(Box::new(IamAccessKeys::from_lookup(&lookup)?)),
        #[cfg(not(feature = "iam"))]
        IAM_ENGINE => Err(SettingsError {
            name: PROVIDER_SETTING,
            reason: "this build has no IAM provider (feature `iam`)".into(),
        }),
        http::ENGINE => Ok(Box::new(HttpKeys::from_lookup(&lookup)?)),
        other => Err(SettingsError {
            name: PROVIDER_SETTING,
            reason: format!(
                "`{other}` is not a provider; it must be `{}`, `{}` or `{}`",
                generated::ENGINE,
                IAM_ENGINE,
                http::ENGINE
            ),
        }),
    }
}

/// A secret attached to a function of another provider fails before
/// anything changes, rather than being rotated as something it is not.
/// The field is optional, as in AWS's schemas.
pub(crate) fn check_engine(secret: &SecretJson, engine: &str) -> Result<(), SecretFormatError> {
    match secret.optional_str("engine")? {
        Some(found) if found != engine => Err(SecretFormatError::InvalidValue {
            field: "engine".into(),
            reason: format!("`{found}` is not `{engine}`, the provider this function rotates"),
        }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn the_provider_comes_from_the_setting() {
        // Each provider rotates a field of its own.
        let generated = rotator_from_lookup(lookup(&[(PROVIDER_SETTING, "generated")])).unwrap();
        assert_eq!(generated.credential().field(), "api_key");
        let iam = rotator_from_lookup(lookup(&[
            (PROVIDER_SETTING, "iam-access-key"),
            ("IAM_USERS", "app"),
        ]));
        #[cfg(feature = "iam")]
        assert_eq!(iam.unwrap().credential().field(), "SecretAccessKey");
        #[cfg(not(feature = "iam"))]
        assert!(iam
            .err()
            .is_some_and(|e| e.reason.contains("feature `iam`")));
    }

    #[test]
    fn a_missing_or_unknown_provider_is_named() {
        let Err(missing) = rotator_from_lookup(lookup(&[])) else {
            panic!("a rotator without API_KEY_PROVIDER");
        };
        assert_eq!(missing.name, PROVIDER_SETTING);
        let Err(unknown) = rotator_from_lookup(lookup(&[(PROVIDER_SETTING, "ldap")])) else {
            panic!("a rotator for provider `ldap`");
        };
        assert_eq!(unknown.name, PROVIDER_SETTING);
        assert!(unknown.reason.contains("`ldap`"), "{}", unknown.reason);
    }

    #[test]
    fn a_secret_of_another_engine_is_refused_by_field() {
        let rotator = rotator_from_lookup(lookup(&[(PROVIDER_SETTING, "generated")])).unwrap();
        let mut secret = SecretJson::from_map(Default::default());
        secret.set("api_key", "k".repeat(40));
        secret.set("engine", "postgres");
        let err = rotator.validate(&secret).unwrap_err();
        assert!(
            matches!(&err, SecretFormatError::InvalidValue { field, .. } if field == "engine"),
            "{err}"
        );
        secret.set("engine", "generated");
        assert_eq!(rotator.validate(&secret), Ok(()));
    }
}
