//! `rotate`: run and inspect Secrets Manager rotations from a terminal.
//!
//! It links the project's rotators and plays Secrets Manager's part
//! in-process over an embedded store (an SQLite file with the service's
//! semantics), so a rotation can be tried, debugged or resumed without an
//! AWS account. See `rotate --help`.

mod cli;
mod error;
mod output;
mod rotators;
mod run;
mod secret;
mod status;

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use clap::Parser;
use rotation_core::store::embedded::EmbeddedSecretStore;

use crate::cli::{Cli, Command};
use crate::error::{exit, CliError};

fn open_store(cli: &Cli) -> Result<EmbeddedSecretStore, CliError> {
    let path = cli.store.as_ref().ok_or_else(|| {
        CliError::Usage(
            "no store: give --store PATH or set ROTATE_STORE (this version rotates on an embedded store only)"
                .into(),
        )
    })?;
    Ok(EmbeddedSecretStore::open(path)?)
}

async fn execute(cli: &Cli) -> Result<String, CliError> {
    let store = open_store(cli)?;
    match &cli.command {
        Command::Secret(command) => secret::run(&store, command, cli.json).await,
        Command::Status { secrets } => {
            let mut statuses = Vec::new();
            for name in secrets {
                statuses.push(status::status(&store, name).await?);
            }
            Ok(if cli.json {
                let all: Vec<_> = statuses.iter().map(status::Status::json).collect();
                serde_json::to_string_pretty(&all).expect("JSON values print")
            } else {
                statuses
                    .iter()
                    .map(status::Status::text)
                    .collect::<Vec<_>>()
                    .join("\n\n")
            })
        }
        Command::Step(args) => {
            let report = rotators::dispatch(
                &store,
                &args.secret,
                args.rotator,
                run::OneStep {
                    store: &store,
                    args,
                },
            )
            .await?;
            Ok(if cli.json {
                serde_json::to_string_pretty(&report).expect("JSON values print")
            } else {
                format!(
                    "{} of {}: {} in {:.1} ms",
                    report["step"].as_str().unwrap_or_default(),
                    report["arn"].as_str().unwrap_or_default(),
                    report["outcome"].as_str().unwrap_or_default(),
                    report["duration_ms"].as_f64().unwrap_or_default()
                )
            })
        }
        Command::Run(args) => {
            // Ctrl-C lets the running step finish, then stops between steps.
            let interrupted = Arc::new(AtomicBool::new(false));
            let flag = Arc::clone(&interrupted);
            tokio::spawn(async move {
                if tokio::signal::ctrl_c().await.is_ok() {
                    flag.store(true, Ordering::SeqCst);
                }
            });
            let work = run::WholeRotation {
                store: &store,
                args,
                interrupted,
            };
            let report = rotators::dispatch(&store, &args.secret, args.rotator, work).await?;
            Ok(if cli.json {
                serde_json::to_string_pretty(&report.json()).expect("JSON values print")
            } else {
                report.text()
            })
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("rotate: cannot start: {error}");
            return ExitCode::from(exit::INTERNAL);
        }
    };
    match runtime.block_on(execute(&cli)) {
        Ok(out) => {
            println!("{out}");
            ExitCode::from(exit::OK)
        }
        Err(error) => {
            if cli.json {
                let code = error.exit_code();
                println!(
                    "{}",
                    serde_json::json!({ "error": error.to_string(), "exit_code": code })
                );
            }
            eprintln!("rotate: {error}");
            ExitCode::from(error.exit_code())
        }
    }
}
