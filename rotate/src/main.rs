//! `rotate`: run and inspect Secrets Manager rotations from a terminal.
//!
//! It links the project's rotators and plays Secrets Manager's part
//! in-process over an embedded store (an SQLite file with the service's
//! semantics), so a rotation can be tried, debugged or resumed without an
//! AWS account. See `rotate --help`.

mod aws_guard;
mod cli;
mod error;
mod output;
mod rotators;
mod run;
mod secret;
mod secrets_manager;
mod status;
mod target;
mod trigger;

use std::io::Write;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use clap::Parser;
use rotation_core::store::embedded::EmbeddedSecretStore;
use rotation_core::store::AwsSecretStore;
use rotation_core::Rotator;

use crate::cli::{Cli, Command, RotatorKind, RunArgs, StepArgs, TriggerArgs};
use crate::error::{exit, CliError};
use crate::status::{SecretState, Status};
use crate::target::Target;

fn open_store(cli: &Cli) -> Result<EmbeddedSecretStore, CliError> {
    let path = cli.store.as_ref().ok_or_else(|| {
        CliError::Usage(if cli.aws {
            "`rotate secret` manages the embedded store: give --store PATH or set ROTATE_STORE (on Secrets Manager, use the AWS CLI)".into()
        } else {
            "no store: give --store PATH or set ROTATE_STORE, or --aws for Secrets Manager".into()
        })
    })?;
    Ok(EmbeddedSecretStore::open(path)?)
}

async fn open_target(cli: &Cli) -> Result<Target, CliError> {
    if cli.aws {
        Ok(Target::SecretsManager(AwsSecretStore::from_env().await))
    } else {
        Ok(Target::Embedded(open_store(cli)?))
    }
}

async fn statuses(cli: &Cli, secrets: &[String]) -> Result<String, CliError> {
    let mut statuses = Vec::new();
    if cli.aws {
        let store = AwsSecretStore::from_env().await;
        for secret in secrets {
            statuses.push(Status::of(secrets_manager::state(&store, secret).await?));
        }
    } else {
        let store = open_store(cli)?;
        for secret in secrets {
            statuses.push(Status::of(SecretState::embedded(&store, secret).await?));
        }
    }
    Ok(if cli.json {
        let all: Vec<_> = statuses.iter().map(Status::json).collect();
        serde_json::to_string_pretty(&all).expect("JSON values print")
    } else {
        statuses
            .iter()
            .map(Status::text)
            .collect::<Vec<_>>()
            .join("\n\n")
    })
}

/// What a command prints, and the exit code it ends with.
struct Printed {
    text: String,
    code: u8,
}

impl From<String> for Printed {
    fn from(text: String) -> Self {
        Self {
            text,
            code: exit::OK,
        }
    }
}

async fn execute(cli: &Cli) -> Result<Printed, CliError> {
    match &cli.command {
        Command::Run(args) => whole_rotation(cli, args).await.map(Printed::from),
        Command::Step(args) => one_step(cli, args).await.map(Printed::from),
        Command::Status { secrets } => statuses(cli, secrets).await.map(Printed::from),
        Command::Trigger(args) => trigger_all(cli, args).await,
        Command::Secret(command) => secret::run(&open_store(cli)?, command, cli.json)
            .await
            .map(Printed::from),
    }
}

async fn whole_rotation(cli: &Cli, args: &RunArgs) -> Result<String, CliError> {
    let target = open_target(cli).await?;
    // Ctrl-C lets the running step finish, then stops between steps.
    let interrupted = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&interrupted);
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            flag.store(true, Ordering::SeqCst);
        }
    });
    let rotator =
        guarded_rotator(&target, &args.secret, args.rotator, args.allow_local_hosts).await?;
    if let Target::SecretsManager(store) = &target {
        aws_guard::check_schedule(store, &args.secret, args.force).await?;
    }
    let report = run::run(&target, rotator, args, interrupted).await?;
    Ok(if cli.json {
        serde_json::to_string_pretty(&report.json()).expect("JSON values print")
    } else {
        report.text()
    })
}

/// The rotator for `secret`, read once from its AWSCURRENT: on Secrets
/// Manager, only after the checks that keep the secret's content from
/// choosing what runs with the operator's credentials and network
/// (`aws_guard::check`).
async fn guarded_rotator(
    target: &Target,
    secret: &str,
    flag: Option<RotatorKind>,
    allow_local_hosts: bool,
) -> Result<Box<dyn Rotator>, CliError> {
    let current = rotators::current_value(target.store(), secret).await?;
    if matches!(target, Target::SecretsManager(_)) {
        aws_guard::check(current.as_ref(), secret, flag, allow_local_hosts)?;
    }
    let local = !matches!(target, Target::SecretsManager(_));
    rotators::rotator_for(current.as_ref(), secret, flag, local)
}

async fn one_step(cli: &Cli, args: &StepArgs) -> Result<String, CliError> {
    let target = open_target(cli).await?;
    let rotator =
        guarded_rotator(&target, &args.secret, args.rotator, args.allow_local_hosts).await?;
    let report = run::step(&target, rotator, args).await?;
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

async fn trigger_all(cli: &Cli, args: &TriggerArgs) -> Result<Printed, CliError> {
    if !cli.aws {
        return Err(CliError::Usage(
            "trigger asks Secrets Manager to run the deployed functions: add --aws (on the embedded store, `rotate run` rotates)".into(),
        ));
    }
    let store = AwsSecretStore::from_env().await;
    let results = trigger::trigger(&store, args.clone()).await?;
    Ok(Printed {
        text: if cli.json {
            serde_json::to_string_pretty(&trigger::json(&results)).expect("JSON values print")
        } else {
            trigger::text(&results)
        },
        code: if trigger::all_finished(&results) {
            exit::OK
        } else {
            exit::ROTATION_FAILED
        },
    })
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            print_error(&format!("rotate: cannot start: {error}"));
            return ExitCode::from(exit::INTERNAL);
        }
    };
    match runtime.block_on(execute(&cli)) {
        Ok(printed) => match print_output(&printed.text) {
            Ok(()) => ExitCode::from(printed.code),
            Err(code) => code,
        },
        Err(error) => {
            if cli.json {
                let code = error.exit_code();
                let document = serde_json::json!({ "error": error.to_string(), "exit_code": code });
                // The error below says what happened whether or not the
                // document reached a reader.
                let _ = print_output(&document.to_string());
            }
            print_error(&format!("rotate: {error}"));
            ExitCode::from(error.exit_code())
        }
    }
}

/// Writes `text` and a newline to standard output. `println!` would panic
/// when the reader has gone away (`| head`); this ends the output quietly
/// with [`exit::CLOSED_PIPE`], and any other write failure with a line on
/// standard error and [`exit::INTERNAL`].
fn print_output(text: &str) -> Result<(), ExitCode> {
    let mut stdout = std::io::stdout().lock();
    match writeln!(stdout, "{text}").and_then(|()| stdout.flush()) {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => {
            Err(ExitCode::from(exit::CLOSED_PIPE))
        }
        Err(error) => {
            print_error(&format!("rotate: cannot write the output: {error}"));
            Err(ExitCode::from(exit::INTERNAL))
        }
    }
}

/// Writes `line` to standard error; a standard error that cannot be
/// written to has no one to tell, so a failure is ignored, never a panic.
pub(crate) fn print_error(line: &str) {
    let _ = writeln!(std::io::stderr(), "{line}");
}
