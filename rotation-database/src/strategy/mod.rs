//! Which strategy rotates a secret, the alternating-users naming rule, and
//! the strategies themselves: `single_user`, where a user changes its own
//! password, and `alternating`, where a master sets the password of the
//! user that is not current (`master` says which masters may).

pub(crate) mod alternating;
pub(crate) mod master;
pub(crate) mod single_user;

use std::fmt;

use rotation_core::{SecretFormatError, SettingsError};

use crate::secret::{DatabaseSecret, EngineSpec};

/// The environment variable that forces a strategy for every secret.
pub const STRATEGY_VARIABLE: &str = "ROTATION_STRATEGY";

/// The suffix of the second user in the alternating-users strategy, as in
/// AWS's templates.
pub const CLONE_SUFFIX: &str = "_clone";

/// How a database secret is rotated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    /// The user changes its own password. Between setSecret and
    /// finishSecret, clients holding the old password fail to log in.
    SingleUser,
    /// Two users take turns: the pending secret names the user that is not
    /// current, whose password the master secret's user changes, so the
    /// current password keeps working throughout.
    AlternatingUsers,
}

impl fmt::Display for Strategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::SingleUser => "single-user",
            Self::AlternatingUsers => "alternating-users",
        })
    }
}

impl Strategy {
    /// Reads `ROTATION_STRATEGY`: `single-user` or `alternating-users`
    /// (also `single`, `alternating`, `multi-user`). Unset or empty: `None`,
    /// the strategy follows each secret (alternating when it has a
    /// `masterarn`).
    pub fn from_env() -> Result<Option<Self>, SettingsError> {
        Self::parse_setting(std::env::var(STRATEGY_VARIABLE).ok().as_deref())
    }

    /// [`from_env`](Self::from_env) on a given value.
    pub fn parse_setting(value: Option<&str>) -> Result<Option<Self>, SettingsError> {
        let Some(value) = value.map(str::trim).filter(|v| !v.is_empty()) else {
            return Ok(None);
        };
        match value.to_ascii_lowercase().replace('_', "-").as_str() {
            "single-user" | "single" => Ok(Some(Self::SingleUser)),
            "alternating-users" | "alternating" | "multi-user" | "multiuser" => {
                Ok(Some(Self::AlternatingUsers))
            }
            _ => Err(SettingsError {
                name: STRATEGY_VARIABLE,
                reason: format!(
                    "`{value}` is not a strategy: use single-user or alternating-users"
                ),
            }),
        }
    }

    /// The strategy for `secret`: the setting when given, otherwise
    /// alternating users exactly when the secret names a master secret.
    /// Alternating users without `masterarn` is an error naming the field,
    /// as is a username whose clone name exceeds the engine's limit.
    pub fn for_secret(
        setting: Option<Self>,
        secret: &DatabaseSecret,
        spec: &EngineSpec,
    ) -> Result<Self, SecretFormatError> {
        let strategy = setting.unwrap_or(if secret.masterarn.is_some() {
            Self::AlternatingUsers
        } else {
            Self::SingleUser
        });
        if strategy == Self::AlternatingUsers {
            if secret.masterarn.is_none() {
                return Err(SecretFormatError::MissingField {
                    field: "masterarn".into(),
                });
            }
            let clone = clone_name(&secret.username);
            if clone.len() > spec.max_username_bytes {
                return Err(SecretFormatError::InvalidValue {
                    field: "username".into(),
                    reason: format!(
                        "alternating users need a second user `{clone}` of {} bytes; the engine's limit is {}",
                        clone.len(),
                        spec.max_username_bytes
                    ),
                });
            }
        }
        Ok(strategy)
    }
}

/// The original user of a pair: the username without [`CLONE_SUFFIX`].
pub fn original_name(username: &str) -> &str {
    username.strip_suffix(CLONE_SUFFIX).unwrap_or(username)
}

/// The clone of a pair: the original's name with [`CLONE_SUFFIX`].
pub fn clone_name(username: &str) -> String {
    format!("{}{CLONE_SUFFIX}", original_name(username))
}

/// The user a rotation switches to: the clone for the original, the
/// original for the clone.
pub fn alternate_name(username: &str) -> String {
    match username.strip_suffix(CLONE_SUFFIX) {
        Some(original) => original.to_owned(),
        None => clone_name(username),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_alternate() {
        assert_eq!(alternate_name("app"), "app_clone");
        assert_eq!(alternate_name("app_clone"), "app");
        assert_eq!(alternate_name(&alternate_name("a \"b\"")), "a \"b\"");
        assert_eq!(original_name("app_clone"), "app");
        assert_eq!(clone_name("app_clone"), "app_clone");
    }

    #[test]
    fn the_setting_parses_or_names_itself() {
        assert_eq!(Strategy::parse_setting(None).unwrap(), None);
        assert_eq!(Strategy::parse_setting(Some(" ")).unwrap(), None);
        assert_eq!(
            Strategy::parse_setting(Some("Alternating_Users")).unwrap(),
            Some(Strategy::AlternatingUsers)
        );
        assert_eq!(
            Strategy::parse_setting(Some("single")).unwrap(),
            Some(Strategy::SingleUser)
        );
        let error = Strategy::parse_setting(Some("round-robin")).unwrap_err();
        assert_eq!(error.name, STRATEGY_VARIABLE);
        assert!(error.to_string().contains("round-robin"));
    }
}
