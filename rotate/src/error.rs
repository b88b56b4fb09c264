//! The tool's errors and the exit code each one ends with.

use rotation_core::error::error_chain;
use rotation_core::store::embedded::OpenError;
use rotation_core::{error::RotationError, error::StoreError, SettingsError};

/// Exit codes: a script can tell its own mistake from a failed rotation
/// from the tool's.
pub mod exit {
    /// Done.
    pub const OK: u8 = 0;
    /// A rotation failed; it is left resumable.
    pub const ROTATION_FAILED: u8 = 1;
    /// Bad usage: arguments, settings, a secret that does not exist, a file
    /// that is not a store.
    pub const USAGE: u8 = 2;
    /// The tool or its store failed (the file cannot be created or read,
    /// SQLite failed).
    pub const INTERNAL: u8 = 3;
    /// Stopped by Ctrl-C between steps; the rotation is resumable.
    pub const INTERRUPTED: u8 = 130;
    /// Standard output's reader went away (`| head`, a pager quit early):
    /// the rest of the output is dropped, quietly, with the status a shell
    /// shows for a process killed by SIGPIPE (128 + 13). What the command
    /// did (a rotation that ran) is done all the same.
    pub const CLOSED_PIPE: u8 = 141;
}

/// Why a command did not succeed. Messages name secrets, fields and
/// settings, never values.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The arguments or the environment are wrong.
    #[error("{0}")]
    Usage(String),
    /// The store file could not be opened.
    #[error(transparent)]
    Open(#[from] OpenError),
    /// A rotator setting is wrong.
    #[error(transparent)]
    Settings(#[from] SettingsError),
    /// The store failed or refused.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A step failed every attempt.
    #[error("{step} failed after {attempts} attempt(s): {chain}; `rotate run {secret}` resumes the rotation, `rotate status {secret}` shows it")]
    Rotation {
        /// The secret, as given.
        secret: String,
        /// The step.
        step: String,
        /// Attempts made.
        attempts: u32,
        /// The last error, with its causes.
        chain: String,
    },
    /// Ctrl-C between steps.
    #[error("interrupted after {step}; `rotate run {secret}` resumes the rotation")]
    Interrupted {
        /// The secret, as given.
        secret: String,
        /// The last step that ran.
        step: String,
    },
    /// Reading a value file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The system's error.
        #[source]
        source: std::io::Error,
    },
}

impl CliError {
    /// A step's failure, with its error chain.
    pub fn rotation(secret: &str, step: &str, attempts: u32, error: &RotationError) -> Self {
        Self::Rotation {
            secret: secret.to_owned(),
            step: step.to_owned(),
            attempts,
            chain: error_chain(error),
        }
    }

    /// The process's exit code for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Usage(_) | Self::Settings(_) | Self::Io { .. } => exit::USAGE,
            Self::Open(OpenError::Io { .. } | OpenError::Sqlite { .. }) => exit::INTERNAL,
            Self::Open(_) => exit::USAGE,
            Self::Store(StoreError::SecretNotFound { .. }) => exit::USAGE,
            Self::Store(StoreError::Refused { .. } | StoreError::VersionExists { .. }) => {
                exit::USAGE
            }
            Self::Store(StoreError::Service { .. }) => exit::INTERNAL,
            Self::Rotation { .. } => exit::ROTATION_FAILED,
            Self::Interrupted { .. } => exit::INTERRUPTED,
        }
    }
}
