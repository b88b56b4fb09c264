//! Keys this function makes, for services that check an incoming key by
//! reading the secret themselves: the service accepts AWSCURRENT and
//! AWSPREVIOUS, so a key stays valid for one rotation after it is replaced
//! and no call to the service is needed. setSecret has nothing to change;
//! testSecret proves the stored key has the configured shape, so a pending
//! value written by hand (or by a function with other settings) is not
//! promoted.

use rotation_core::{async_trait, Credential, KeyFormat, RotationContext, Rotator, RotatorError};
use rotation_core::{SecretFormatError, SecretJson, SettingsError};

use rotation_core::settings;

/// The provider's name in `API_KEY_PROVIDER` and a secret's `engine`.
pub const ENGINE: &str = "generated";

/// The alphabets `API_KEY_ALPHABET` names.
const ALPHABETS: [(&str, &str); 3] = [
    (
        "alphanumeric",
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
    ),
    ("hex", "0123456789abcdef"),
    (
        "base64url",
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
    ),
];

/// Generated keys in one field of the secret.
#[derive(Debug, Clone)]
pub struct GeneratedKeys {
    field: String,
    format: KeyFormat,
}

impl GeneratedKeys {
    /// Keys in `field`, of `format`.
    pub fn new(field: impl Into<String>, format: KeyFormat) -> Self {
        Self {
            field: field.into(),
            format,
        }
    }

    /// From the settings: `API_KEY_FIELD` (default `api_key`),
    /// `API_KEY_LENGTH` (default 40, at most 4096), `API_KEY_ALPHABET`
    /// (`alphanumeric`, the default, `hex` or `base64url`) and
    /// `API_KEY_PREFIX` (default none; `sk_live_`, say).
    pub fn from_lookup(lookup: &impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let field = settings::optional(lookup, "API_KEY_FIELD")?.unwrap_or("api_key".into());
        let length = settings::number(lookup, "API_KEY_LENGTH", 1..=4096, 40)? as usize;
        let alphabet = match settings::optional(lookup, "API_KEY_ALPHABET")? {
            None => ALPHABETS[0].1,
            Some(name) => ALPHABETS
                .iter()
                .find(|(known, _)| *known == name)
                .map(|(_, alphabet)| *alphabet)
                .ok_or_else(|| SettingsError {
                    name: "API_KEY_ALPHABET",
                    reason: format!("`{name}` is not `alphanumeric`, `hex` or `base64url`"),
                })?,
        };
        let mut format = KeyFormat::from_alphabet(length, alphabet);
        if let Some(prefix) = settings::optional(lookup, "API_KEY_PREFIX")? {
            format = format.with_prefix(prefix);
        }
        let keys = Self::new(field, format);
        // A prefix with a space fails here, at start-up, not at the first
        // rotation.
        keys.credential()
            .generator_from_lookup(|_| None)
            .map_err(|e| SettingsError {
                name: "API_KEY_PREFIX",
                reason: e.reason,
            })?;
        Ok(keys)
    }

    /// The format new keys have.
    pub fn format(&self) -> &KeyFormat {
        &self.format
    }
}

#[async_trait]
impl Rotator for GeneratedKeys {
    fn credential(&self) -> Credential {
        Credential::key(self.field.clone(), self.format.clone())
    }

    fn validate(&self, secret: &SecretJson) -> Result<(), SecretFormatError> {
        crate::check_engine(secret, ENGINE)?;
        secret.required_credential(&self.field).map(drop)
    }

    async fn set_secret(
        &self,
        _: &RotationContext<'_>,
        _: &SecretJson,
        _: &SecretJson,
    ) -> Result<(), RotatorError> {
        Ok(())
    }

    async fn test_secret(
        &self,
        _: &RotationContext<'_>,
        pending: &SecretJson,
    ) -> Result<(), RotatorError> {
        let key = pending.required_secret(&self.field)?;
        if self.format.matches(key.expose()) {
            Ok(())
        } else {
            Err(RotatorError::Refused(format!(
                "the pending `{}` is not a key of the configured format ({} characters{}); \
                 it was not made by this function",
                self.field,
                self.format.length(),
                match self.format.prefix() {
                    "" => String::new(),
                    prefix => format!(" after the prefix `{prefix}`"),
                }
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn from(pairs: &[(&str, &str)]) -> Result<GeneratedKeys, SettingsError> {
        let map: HashMap<&str, &str> = pairs.iter().copied().collect();
        GeneratedKeys::from_lookup(&|name| map.get(name).map(|v| v.to_string()))
    }

    #[test]
    fn defaults_are_forty_alphanumerics_in_api_key() {
        let keys = from(&[]).unwrap();
        assert_eq!(keys.credential().field(), "api_key");
        assert_eq!(keys.format(), &KeyFormat::alphanumeric(40));
    }

    #[test]
    fn settings_shape_the_keys() {
        let keys = from(&[
            ("API_KEY_FIELD", "token"),
            ("API_KEY_LENGTH", "64"),
            ("API_KEY_ALPHABET", "hex"),
            ("API_KEY_PREFIX", "sk_live_"),
        ])
        .unwrap();
        assert_eq!(keys.credential().field(), "token");
        assert_eq!(keys.format(), &KeyFormat::hex(64).with_prefix("sk_live_"));
    }

    #[test]
    fn bad_settings_are_named() {
        for (pairs, name) in [
            (&[("API_KEY_LENGTH", "0")][..], "API_KEY_LENGTH"),
            (&[("API_KEY_LENGTH", "4097")][..], "API_KEY_LENGTH"),
            (&[("API_KEY_LENGTH", "ten")][..], "API_KEY_LENGTH"),
            (&[("API_KEY_ALPHABET", "emoji")][..], "API_KEY_ALPHABET"),
            (&[("API_KEY_PREFIX", "sk live")][..], "API_KEY_PREFIX"),
        ] {
            let err = from(pairs).unwrap_err();
            assert_eq!(err.name, name, "{pairs:?}: {err}");
        }
    }
}
