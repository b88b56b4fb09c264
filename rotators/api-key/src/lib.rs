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
mod settings;

use rotation_core::{async_trait, Credential, RotationContext, Rotator, RotatorError};
use rotation_core::{SecretFormatError, SecretJson, SettingsError};

pub use generated::GeneratedKeys;
pub use http::HttpKeys;
#[cfg(feature = "iam")]
pub use iam::IamAccessKeys;

/// The IAM provider's name, known without the `iam` feature so that such a
/// build says what it lacks.
const IAM_ENGINE: &str = "iam-access-key";

/// The function setting that chooses the provider.
pub const PROVIDER_SETTING: &str = "API_KEY_PROVIDER";

/// The rotator the function's settings describe: one of the providers.
#[derive(Debug)]
pub enum ApiKeyRotator {
    /// Keys made by this function ([`GeneratedKeys`]).
    Generated(GeneratedKeys),
    /// AWS IAM access keys ([`IamAccessKeys`]; boxed, as it holds the SDK
    /// clients).
    #[cfg(feature = "iam")]
    Iam(Box<IamAccessKeys>),
    /// Keys a provider issues over HTTP ([`HttpKeys`]).
    Http(Box<HttpKeys>),
}

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
        generated::ENGINE => Ok(ApiKeyRotator::Generated(GeneratedKeys::from_lookup(
            &lookup,
        )?)),
        #[cfg(feature = "iam")]
        IAM_ENGINE => Ok(ApiKeyRotator::Iam(Box::new(IamAccessKeys::from_lookup(
            &lookup,
        )?))),
        #[cfg(not(feature = "iam"))]
        IAM_ENGINE => Err(SettingsError {
            name: PROVIDER_SETTING,
            reason: "this build has no IAM provider (feature `iam`)".into(),
        }),
        http::ENGINE => Ok(ApiKeyRotator::Http(Box::new(HttpKeys::from_lookup(
            &lookup,
        )?))),
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

impl ApiKeyRotator {
    fn provider(&self) -> &dyn Rotator {
        match self {
            Self::Generated(generated) => generated,
            #[cfg(feature = "iam")]
            Self::Iam(iam) => iam.as_ref(),
            Self::Http(http) => http.as_ref(),
        }
    }

    fn engine(&self) -> &'static str {
        match self {
            Self::Generated(_) => generated::ENGINE,
            #[cfg(feature = "iam")]
            Self::Iam(_) => IAM_ENGINE,
            Self::Http(_) => http::ENGINE,
        }
    }
}

/// A secret attached to a function of another provider fails before
/// anything changes, rather than being rotated as something it is not.
/// The field is optional, as in AWS's schemas.
fn check_engine(secret: &SecretJson, engine: &str) -> Result<(), SecretFormatError> {
    match secret.optional_str("engine")? {
        Some(found) if found != engine => Err(SecretFormatError::InvalidValue {
            field: "engine".into(),
            reason: format!("`{found}` is not `{engine}`, the provider this function rotates"),
        }),
        _ => Ok(()),
    }
}

#[async_trait]
impl Rotator for ApiKeyRotator {
    fn credential(&self) -> Credential {
        self.provider().credential()
    }

    fn validate(&self, secret: &SecretJson) -> Result<(), SecretFormatError> {
        check_engine(secret, self.engine())?;
        self.provider().validate(secret)
    }

    async fn create_pending(
        &self,
        ctx: &RotationContext<'_>,
        current: &SecretJson,
    ) -> Result<SecretJson, RotatorError> {
        self.provider().create_pending(ctx, current).await
    }

    async fn set_secret(
        &self,
        ctx: &RotationContext<'_>,
        current: &SecretJson,
        pending: &SecretJson,
    ) -> Result<(), RotatorError> {
        self.provider().set_secret(ctx, current, pending).await
    }

    async fn test_secret(
        &self,
        ctx: &RotationContext<'_>,
        pending: &SecretJson,
    ) -> Result<(), RotatorError> {
        self.provider().test_secret(ctx, pending).await
    }

    async fn after_finish(&self, ctx: &RotationContext<'_>) -> Result<(), RotatorError> {
        self.provider().after_finish(ctx).await
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
        let generated = rotator_from_lookup(lookup(&[(PROVIDER_SETTING, "generated")])).unwrap();
        assert!(matches!(generated, ApiKeyRotator::Generated(_)));
        let iam = rotator_from_lookup(lookup(&[
            (PROVIDER_SETTING, "iam-access-key"),
            ("IAM_USERS", "app"),
        ]));
        #[cfg(feature = "iam")]
        assert!(matches!(iam, Ok(ApiKeyRotator::Iam(_))));
        #[cfg(not(feature = "iam"))]
        assert!(iam.unwrap_err().reason.contains("feature `iam`"));
    }

    #[test]
    fn a_missing_or_unknown_provider_is_named() {
        let missing = rotator_from_lookup(lookup(&[])).unwrap_err();
        assert_eq!(missing.name, PROVIDER_SETTING);
        let unknown = rotator_from_lookup(lookup(&[(PROVIDER_SETTING, "ldap")])).unwrap_err();
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
