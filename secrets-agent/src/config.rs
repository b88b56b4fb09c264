//! The agent's settings, from the environment variables AWS's Lambda
//! extension and agent read, so a function or host switches by changing
//! nothing.

use std::time::Duration;

use crate::error::AgentError;
use crate::token::TokenSource;

/// The port AWS's agent and extension listen on.
pub const DEFAULT_PORT: u16 = 2773;

/// Where the agent listens, what it caches, and where its token comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentConfig {
    /// The port on 127.0.0.1.
    pub port: u16,
    /// How long a value is served before it is read again.
    pub ttl: Duration,
    /// How many values are kept.
    pub cache_size: usize,
    /// How many connections are served at once; more are answered 429.
    pub max_connections: usize,
    /// Where the token clients must present comes from.
    pub token: TokenSource,
}

impl AgentConfig {
    /// The settings from `var` (the process environment in `main`):
    /// - `SECRETS_AGENT_PORT`, else the extension's
    ///   `PARAMETERS_SECRETS_EXTENSION_HTTP_PORT` (default 2773);
    /// - `SECRETS_MANAGER_TTL`, seconds, 1 to 3600 (default 300);
    /// - `PARAMETERS_SECRETS_EXTENSION_CACHE_SIZE`, 1 to 10000 (default
    ///   1000);
    /// - `PARAMETERS_SECRETS_EXTENSION_MAX_CONNECTIONS`, 1 to 10000
    ///   (default 800);
    /// - the token: the first of `AWS_TOKEN`, `AWS_SESSION_TOKEN`,
    ///   `AWS_CONTAINER_AUTHORIZATION_TOKEN` that is set, as AWS's agent
    ///   reads it (in Lambda, the function's session token); a value
    ///   `file://PATH` names a file that holds it.
    ///
    /// A value out of range is an error naming the variable.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Self, AgentError> {
        let port = match var("SECRETS_AGENT_PORT") {
            Some(value) => number("SECRETS_AGENT_PORT", &value, 1, 65535)?,
            None => match var("PARAMETERS_SECRETS_EXTENSION_HTTP_PORT") {
                Some(value) => number("PARAMETERS_SECRETS_EXTENSION_HTTP_PORT", &value, 1, 65535)?,
                None => u64::from(DEFAULT_PORT),
            },
        };
        let setting = |name: &'static str, min: u64, max: u64, default: u64| match var(name) {
            Some(value) => number(name, &value, min, max),
            None => Ok(default),
        };
        let ttl = setting("SECRETS_MANAGER_TTL", 1, 3600, 300)?;
        let cache_size = setting("PARAMETERS_SECRETS_EXTENSION_CACHE_SIZE", 1, 10_000, 1000)?;
        let max_connections = setting(
            "PARAMETERS_SECRETS_EXTENSION_MAX_CONNECTIONS",
            1,
            10_000,
            800,
        )?;
        let token = TokenSource::from_vars(&var)?;
        Ok(Self {
            port: u16::try_from(port).expect("checked to be at most 65535"),
            ttl: Duration::from_secs(ttl),
            cache_size: usize::try_from(cache_size).expect("checked to be at most 10000"),
            max_connections: usize::try_from(max_connections).expect("checked to be at most 10000"),
            token,
        })
    }
}

fn number(variable: &'static str, value: &str, min: u64, max: u64) -> Result<u64, AgentError> {
    let bad = || AgentError::Setting {
        variable,
        reason: format!("{value:?} is not a whole number from {min} to {max}"),
    };
    let parsed: u64 = value.trim().parse().map_err(|_| bad())?;
    if (min..=max).contains(&parsed) {
        Ok(parsed)
    } else {
        Err(bad())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn config(vars: &[(&str, &str)]) -> Result<AgentConfig, AgentError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        AgentConfig::from_vars(|name| vars.get(name).cloned())
    }

    #[test]
    fn the_defaults_are_aws_agents() {
        let config = config(&[("AWS_SESSION_TOKEN", "t")]).unwrap();
        assert_eq!(config.port, 2773);
        assert_eq!(config.ttl, Duration::from_secs(300));
        assert_eq!(config.cache_size, 1000);
        assert_eq!(config.max_connections, 800);
        assert_eq!(config.token, TokenSource::Variable("AWS_SESSION_TOKEN"));
    }

    #[test]
    fn the_extensions_variables_are_read() {
        let config = config(&[
            ("AWS_SESSION_TOKEN", "t"),
            ("PARAMETERS_SECRETS_EXTENSION_HTTP_PORT", "2800"),
            ("SECRETS_MANAGER_TTL", "60"),
            ("PARAMETERS_SECRETS_EXTENSION_CACHE_SIZE", "5"),
        ])
        .unwrap();
        assert_eq!(config.port, 2800);
        assert_eq!(config.ttl, Duration::from_secs(60));
        assert_eq!(config.cache_size, 5);
        let ours = super::tests::config(&[
            ("AWS_SESSION_TOKEN", "t"),
            ("PARAMETERS_SECRETS_EXTENSION_HTTP_PORT", "2800"),
            ("SECRETS_AGENT_PORT", "2900"),
        ])
        .unwrap();
        assert_eq!(ours.port, 2900, "the agent's own variable wins");
    }

    #[test]
    fn a_bad_value_is_refused_naming_the_variable() {
        for (variable, value) in [
            ("SECRETS_AGENT_PORT", "0"),
            ("PARAMETERS_SECRETS_EXTENSION_HTTP_PORT", "70000"),
            ("SECRETS_MANAGER_TTL", "0"),
            ("SECRETS_MANAGER_TTL", "five"),
            ("PARAMETERS_SECRETS_EXTENSION_CACHE_SIZE", "-1"),
            ("PARAMETERS_SECRETS_EXTENSION_MAX_CONNECTIONS", ""),
        ] {
            let error = config(&[("AWS_SESSION_TOKEN", "t"), (variable, value)]).unwrap_err();
            let text = error.to_string();
            assert!(text.starts_with(variable), "{variable}={value}: {text}");
            assert!(text.contains(&format!("{value:?}")), "{text}");
        }
    }
}
