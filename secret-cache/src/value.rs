//! One cached version of a secret.

use rotation_core::secret::SecretPayload;
use rotation_core::store::SecretVersion;
use rotation_core::{SecretFormatError, SecretJson, SecretString};

/// A version of a secret as the cache holds it. `Debug` prints its id and
/// labels, never its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachedSecret {
    version_id: String,
    stages: Vec<String>,
    payload: SecretPayload,
}

impl CachedSecret {
    /// The version id: two reads returned the same value when their ids
    /// are equal.
    pub fn version_id(&self) -> &str {
        &self.version_id
    }

    /// The labels the version had when it was read.
    pub fn stages(&self) -> &[String] {
        &self.stages
    }

    /// The stored value, string or binary.
    pub fn payload(&self) -> &SecretPayload {
        &self.payload
    }

    /// The `SecretString`, or `None` for a binary secret.
    pub fn string(&self) -> Option<&SecretString> {
        match &self.payload {
            SecretPayload::String(s) => Some(s),
            SecretPayload::Binary(_) => None,
        }
    }

    /// The `SecretString` parsed as a JSON object; the error names what is
    /// wrong and quotes nothing.
    pub fn json(&self) -> Result<SecretJson, SecretFormatError> {
        SecretJson::from_payload(&self.payload)
    }
}

impl From<SecretVersion> for CachedSecret {
    /// A version read from a store directly, for code that reads some
    /// secrets around the cache.
    fn from(version: SecretVersion) -> Self {
        Self {
            version_id: version.version_id,
            stages: version.stages,
            payload: version.payload,
        }
    }
}
