//! One cached version of a secret.

use rotation_core::secret::SecretPayload;
use rotation_core::store::SecretVersion;
use rotation_core::{SecretFormatError, SecretJson, SecretString};
use serde::de::DeserializeOwned;

/// A version of a secret as the cache holds it: the store's
/// [`SecretVersion`], read-only. `Debug` prints its id and labels, never
/// its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachedSecret(SecretVersion);

impl CachedSecret {
    /// The secret's ARN.
    pub fn arn(&self) -> &str {
        &self.0.arn
    }

    /// The secret's name.
    pub fn name(&self) -> &str {
        &self.0.name
    }

    /// When the version was created, where the store says.
    pub fn created(&self) -> Option<std::time::SystemTime> {
        self.0.created
    }

    /// The version id: two reads returned the same value when their ids
    /// are equal.
    pub fn version_id(&self) -> &str {
        &self.0.version_id
    }

    /// The labels the version had when it was read.
    pub fn stages(&self) -> &[String] {
        &self.0.stages
    }

    /// The stored value, string or binary.
    pub fn payload(&self) -> &SecretPayload {
        &self.0.payload
    }

    /// The `SecretString`, or `None` for a binary secret.
    pub fn string(&self) -> Option<&SecretString> {
        match &self.0.payload {
            SecretPayload::String(s) => Some(s),
            SecretPayload::Binary(_) => None,
        }
    }

    /// The `SecretString` parsed as a JSON object; the error names what is
    /// wrong and quotes nothing.
    pub fn json(&self) -> Result<SecretJson, SecretFormatError> {
        SecretJson::from_payload(&self.0.payload)
    }

    /// The `SecretString` as the application's own type (a
    /// `#[derive(Deserialize)]` struct of the fields it reads). The error
    /// names the field and what is wrong, never the value: serde's own
    /// text quotes what it could not use, so only a missing field's name is
    /// taken from it.
    pub fn json_as<T: DeserializeOwned>(&self) -> Result<T, SecretFormatError> {
        let object = serde_json::Value::Object(self.json()?.as_map().clone());
        serde_path_to_error::deserialize(object).map_err(|error| {
            let path = error.path().to_string();
            let text = error.into_inner().to_string();
            let missing = text
                .strip_prefix("missing field `")
                .and_then(|rest| rest.split('`').next());
            match (missing, path.as_str()) {
                (Some(field), ".") => SecretFormatError::MissingField {
                    field: field.to_owned(),
                },
                (Some(field), parent) => SecretFormatError::MissingField {
                    field: format!("{parent}.{field}"),
                },
                (None, _) => SecretFormatError::InvalidValue {
                    field: path,
                    reason: "it is not what the application's type expects".into(),
                },
            }
        })
    }
}

impl From<SecretVersion> for CachedSecret {
    /// A version read from a store directly, for code that reads some
    /// secrets around the cache.
    fn from(version: SecretVersion) -> Self {
        Self(version)
    }
}
