//! Connection settings every database backend reads from the environment.

use std::path::PathBuf;
use std::time::Duration;

use rotation_core::{settings, SettingsError};

/// Seconds one login may take, TCP, TLS and authentication together.
pub const CONNECT_TIMEOUT_VARIABLE: &str = "DB_CONNECT_TIMEOUT";

/// A PEM file of CA certificates trusted for `ssl: true`, in addition to
/// the system roots (RDS publishes its own bundle).
pub const CA_BUNDLE_VARIABLE: &str = "DB_CA_BUNDLE";

/// The connect timeout when `DB_CONNECT_TIMEOUT` is unset, as in AWS's
/// templates.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// How a backend connects.
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectSettings {
    /// `DB_CONNECT_TIMEOUT`: the bound on one login.
    pub connect_timeout: Duration,
    /// `DB_CA_BUNDLE`: extra trusted CA certificates.
    pub ca_bundle: Option<PathBuf>,
}

impl Default for ConnectSettings {
    fn default() -> Self {
        Self {
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            ca_bundle: None,
        }
    }
}

impl ConnectSettings {
    /// Reads the settings from the environment.
    pub fn from_env() -> Result<Self, SettingsError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the settings through `lookup` (a variable's value, if set).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let connect_timeout = match settings::optional(&lookup, CONNECT_TIMEOUT_VARIABLE)? {
            Some(value) => parse_timeout(&value)?,
            None => DEFAULT_CONNECT_TIMEOUT,
        };
        let ca_bundle = settings::optional(&lookup, CA_BUNDLE_VARIABLE)?.map(PathBuf::from);
        Ok(Self {
            connect_timeout,
            ca_bundle,
        })
    }
}

fn parse_timeout(value: &str) -> Result<Duration, SettingsError> {
    let seconds: f64 = value.trim().parse().map_err(|_| SettingsError {
        name: CONNECT_TIMEOUT_VARIABLE,
        reason: format!("`{value}` is not a number of seconds"),
    })?;
    // A login slower than a minute cannot fit in a rotation step anyway.
    if !(0.1..=60.0).contains(&seconds) {
        return Err(SettingsError {
            name: CONNECT_TIMEOUT_VARIABLE,
            reason: format!("{seconds} s is outside 0.1 to 60 seconds"),
        });
    }
    Ok(Duration::from_secs_f64(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn defaults_and_values() {
        assert_eq!(
            ConnectSettings::from_lookup(lookup(&[])).unwrap(),
            ConnectSettings::default()
        );
        let set = ConnectSettings::from_lookup(lookup(&[
            (CONNECT_TIMEOUT_VARIABLE, "2.5"),
            (CA_BUNDLE_VARIABLE, "/opt/rds-ca.pem"),
        ]))
        .unwrap();
        assert_eq!(set.connect_timeout, Duration::from_millis(2500));
        assert_eq!(set.ca_bundle, Some(PathBuf::from("/opt/rds-ca.pem")));
    }

    #[test]
    fn bad_timeouts_name_the_variable() {
        for bad in ["soon", "0", "-1", "120", "NaN"] {
            let pairs: &'static [(&str, &str)] =
                Box::leak(Box::new([(CONNECT_TIMEOUT_VARIABLE, bad)]));
            let error = ConnectSettings::from_lookup(lookup(pairs)).unwrap_err();
            assert_eq!(error.name, CONNECT_TIMEOUT_VARIABLE, "{bad}");
        }
    }
}
