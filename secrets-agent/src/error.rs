//! Why the agent could not start or keep running.

use std::path::PathBuf;

/// A failure to start or run the agent. None holds a secret value or the
/// token.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// A setting is missing or out of range.
    #[error("{variable}: {reason}")]
    Setting {
        /// The environment variable.
        variable: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The file a token variable names could not be read.
    #[error("{variable} names the token file {path}, which could not be read")]
    TokenFile {
        /// The variable that named it.
        variable: &'static str,
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The port could not be listened on (taken, or not allowed).
    #[error("listening on {address} failed")]
    Listen {
        /// The address.
        address: std::net::SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Accepting connections failed.
    #[error("accepting a connection failed")]
    Accept(#[source] std::io::Error),
    /// Lambda's Extensions API refused or failed a call.
    #[error("Lambda's Extensions API: {action} failed")]
    Extension {
        /// What the agent was doing ("register", "wait for the next event").
        action: &'static str,
        /// Why.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}
