//! The secrets agent: a Lambda extension in a function's environment, a
//! sidecar elsewhere.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    rotation_core::logging::init();
    match secrets_agent::run_from_env().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(error = %rotation_core::error::error_chain(&error), "the agent stopped");
            std::process::ExitCode::FAILURE
        }
    }
}
