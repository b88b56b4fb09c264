//! The MySQL rotator's settings: the shared connection settings and the
//! username limit.

use rotation_core::{settings, SettingsError};
use rotation_database::ConnectSettings;

/// Overrides the server's username limit for clone names, as in AWS's
/// templates (for a server whose limit this function does not know).
pub const USERNAME_LIMIT_VARIABLE: &str = "USERNAME_CHARACTER_LIMIT";

/// How the MySQL backend connects and names clones.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MysqlSettings {
    /// `DB_CONNECT_TIMEOUT`, `DB_CA_BUNDLE`.
    pub connect: ConnectSettings,
    /// `USERNAME_CHARACTER_LIMIT`; `None`: the server's own (MySQL 32,
    /// MariaDB 80).
    pub username_limit: Option<usize>,
}

impl MysqlSettings {
    /// Reads the settings from the environment.
    pub fn from_env() -> Result<Self, SettingsError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the settings through `lookup` (a variable's value, if set).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let connect = ConnectSettings::from_lookup(&lookup)?;
        // No MySQL-family server accepts more than 80.
        let username_limit = match settings::optional(&lookup, USERNAME_LIMIT_VARIABLE)? {
            Some(_) => {
                Some(settings::number(&lookup, USERNAME_LIMIT_VARIABLE, 7..=80, 0)? as usize)
            }
            None => None,
        };
        Ok(Self {
            connect,
            username_limit,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(pairs: &[(&str, &str)]) -> Result<MysqlSettings, SettingsError> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        MysqlSettings::from_lookup(move |name| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        })
    }

    #[test]
    fn the_limit_is_optional_and_checked() {
        assert_eq!(read(&[]).unwrap(), MysqlSettings::default());
        assert_eq!(
            read(&[(USERNAME_LIMIT_VARIABLE, " 16 ")])
                .unwrap()
                .username_limit,
            Some(16)
        );
        for bad in ["sixteen", "0", "81", "-3"] {
            let error = read(&[(USERNAME_LIMIT_VARIABLE, bad)]).unwrap_err();
            assert_eq!(error.name, USERNAME_LIMIT_VARIABLE, "{bad}");
        }
        let error = read(&[("DB_CONNECT_TIMEOUT", "soon")]).unwrap_err();
        assert_eq!(error.name, "DB_CONNECT_TIMEOUT");
    }
}
