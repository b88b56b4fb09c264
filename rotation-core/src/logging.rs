//! The function's log subscriber: Lambda's log level and format controls,
//! as `lambda_runtime`'s default subscriber reads them, with the crates
//! that print raw HTTP exchanges, SQL or TLS details capped below the level
//! at which they do. At TRACE, the AWS SDK prints every request and
//! response (a `GetSecretValue` answer holds the secret) and
//! tokio-postgres prints each statement at DEBUG (`ALTER ROLE` carries a
//! password verifier), so no log level may reach them.

use tracing::Level;
use tracing_subscriber::filter::{filter_fn, EnvFilter, LevelFilter};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{fmt, Layer};

/// Crates and the most verbose level they may log at. Targets are module
/// paths, so a prefix covers a crate's modules.
const CAPS: &[(&str, Level)] = &[
    // Requests and responses, bodies included, at TRACE.
    ("aws_smithy_runtime", Level::DEBUG),
    ("aws_smithy_runtime_api", Level::DEBUG),
    ("aws_smithy_http", Level::DEBUG),
    ("aws_smithy_http_client", Level::DEBUG),
    ("aws_smithy_types", Level::DEBUG),
    ("aws_runtime", Level::DEBUG),
    ("aws_sigv4", Level::DEBUG),
    ("aws_config", Level::DEBUG),
    ("aws_sdk_secretsmanager", Level::DEBUG),
    ("aws_sdk_sts", Level::DEBUG),
    // Frames, headers (session tokens) and bytes from DEBUG on.
    ("hyper", Level::INFO),
    ("hyper_util", Level::INFO),
    ("h2", Level::INFO),
    ("rustls", Level::INFO),
    // Statements and parameters at DEBUG.
    ("tokio_postgres", Level::INFO),
    ("postgres_protocol", Level::INFO),
];

/// Whether an event of `level` from `target` may be logged at all.
pub fn allowed(target: &str, level: &Level) -> bool {
    CAPS.iter()
        .find(|(prefix, _)| {
            target
                .strip_prefix(prefix)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with("::"))
        })
        .is_none_or(|(_, cap)| level <= cap)
}

/// Installs the subscriber: the level from `AWS_LAMBDA_LOG_LEVEL`, else
/// `RUST_LOG` (with its per-target directives), else INFO; JSON lines when
/// `AWS_LAMBDA_LOG_FORMAT=JSON`; the caps above whatever is asked.
pub fn init() {
    let level = std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .or_else(|_| std::env::var("RUST_LOG"))
        .ok()
        .and_then(|v| v.parse::<LevelFilter>().ok())
        .unwrap_or(LevelFilter::INFO);
    let levels = EnvFilter::builder()
        .with_default_directive(level.into())
        .from_env_lossy();
    let caps = filter_fn(|metadata| allowed(metadata.target(), metadata.level()));
    let json = std::env::var("AWS_LAMBDA_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    let layer = fmt::layer().with_target(false).without_time();
    let registry = tracing_subscriber::registry().with(levels);
    if json {
        registry.with(layer.json().with_filter(caps)).init();
    } else {
        registry.with(layer.with_filter(caps)).init();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_hold_whatever_the_level() {
        assert!(!allowed(
            "aws_smithy_runtime::client::orchestrator",
            &Level::TRACE
        ));
        assert!(allowed(
            "aws_smithy_runtime::client::orchestrator",
            &Level::DEBUG
        ));
        assert!(!allowed("tokio_postgres::query", &Level::DEBUG));
        assert!(!allowed("h2", &Level::DEBUG));
        assert!(allowed("rotation_core::rotation", &Level::TRACE));
        // A prefix of a name is not the crate.
        assert!(allowed("hyperion", &Level::TRACE));
    }
}
