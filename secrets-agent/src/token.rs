//! The token every request must carry, against server-side request
//! forgery: a process that can only make the host send a URL (an SSRF bug
//! in a web application) cannot add the header, so it cannot read secrets
//! through the agent.

use std::path::PathBuf;

use crate::error::AgentError;

/// The variables AWS's agent takes its token from, in order.
pub const TOKEN_VARIABLES: [&str; 3] = [
    "AWS_TOKEN",
    "AWS_SESSION_TOKEN",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
];

/// The headers a client may present the token in, as AWS's agent accepts.
pub const TOKEN_HEADERS: [&str; 2] = ["X-Aws-Parameters-Secrets-Token", "X-Vault-Token"];

/// Where the token comes from. Its value is never part of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenSource {
    /// The value of this variable.
    Variable(&'static str),
    /// The contents of this file (trimmed), which the variable named as
    /// `file://PATH`.
    File {
        /// The variable that named it.
        variable: &'static str,
        /// The file.
        path: PathBuf,
    },
}

impl TokenSource {
    /// The first of [`TOKEN_VARIABLES`] that is set and not empty.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Self, AgentError> {
        for variable in TOKEN_VARIABLES {
            let Some(value) = var(variable).filter(|v| !v.trim().is_empty()) else {
                continue;
            };
            return Ok(match value.strip_prefix("file://") {
                Some(path) => TokenSource::File {
                    variable,
                    path: PathBuf::from(path),
                },
                None => TokenSource::Variable(variable),
            });
        }
        Err(AgentError::Setting {
            variable: "AWS_TOKEN",
            reason: format!(
                "no token to check requests against: set one of {} (a value or file://PATH)",
                TOKEN_VARIABLES.join(", ")
            ),
        })
    }

    /// The token, read from its variable or file.
    pub fn read(&self, var: impl Fn(&str) -> Option<String>) -> Result<Token, AgentError> {
        let value = match self {
            TokenSource::Variable(variable) => var(variable).unwrap_or_default(),
            TokenSource::File { variable, path } => std::fs::read_to_string(path)
                .map_err(|source| AgentError::TokenFile {
                    variable,
                    path: path.clone(),
                    source,
                })?
                .trim()
                .to_owned(),
        };
        if value.is_empty() {
            let variable = match self {
                TokenSource::Variable(variable) | TokenSource::File { variable, .. } => *variable,
            };
            return Err(AgentError::Setting {
                variable,
                reason: "the token is empty".into(),
            });
        }
        Ok(Token(value.into_bytes()))
    }
}

/// The token clients must present. `Debug` prints no part of it.
#[derive(Clone)]
pub struct Token(Vec<u8>);

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

impl Token {
    /// A token of this value, for tests and embedders.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into().into_bytes())
    }

    /// Whether `presented` is the token, in time that depends on the
    /// lengths only.
    pub fn matches(&self, presented: &[u8]) -> bool {
        if presented.len() != self.0.len() {
            return false;
        }
        self.0
            .iter()
            .zip(presented)
            .fold(0u8, |diff, (a, b)| diff | (a ^ b))
            == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_set_variable_is_the_source() {
        let source = TokenSource::from_vars(|name| match name {
            "AWS_TOKEN" => Some("  ".into()),
            "AWS_SESSION_TOKEN" => Some("session".into()),
            "AWS_CONTAINER_AUTHORIZATION_TOKEN" => Some("container".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(source, TokenSource::Variable("AWS_SESSION_TOKEN"));
        let token = source.read(|_| Some("session".into())).unwrap();
        assert!(token.matches(b"session"));
        assert!(!token.matches(b"sessioN"));
        assert!(!token.matches(b"session "));
        assert!(!token.matches(b""));
        assert_eq!(format!("{token:?}"), "Token(<redacted>)");
    }

    #[test]
    fn a_file_reference_is_read_and_trimmed() {
        let path = std::env::temp_dir().join(format!("agent-token-{}", std::process::id()));
        std::fs::write(&path, "from-a-file\n").unwrap();
        let reference = format!("file://{}", path.display());
        let source = TokenSource::from_vars(|name| {
            (name == "AWS_CONTAINER_AUTHORIZATION_TOKEN").then(|| reference.clone())
        })
        .unwrap();
        let token = source.read(|_| None).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert!(token.matches(b"from-a-file"));
        let error = source.read(|_| None).unwrap_err().to_string();
        assert!(
            error.contains("AWS_CONTAINER_AUTHORIZATION_TOKEN") && error.contains("agent-token"),
            "{error}"
        );
    }

    #[test]
    fn no_token_at_all_is_refused_naming_the_variables() {
        let error = TokenSource::from_vars(|_| None).unwrap_err().to_string();
        for variable in TOKEN_VARIABLES {
            assert!(error.contains(variable), "{error}");
        }
    }
}
