//! The command line: what `rotate --help` shows.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// The exit codes, as `--help` ends with them (`error::exit` defines them).
const EXIT_CODES: &str = "Exit codes: 0 done; 1 a rotation failed (left resumable); 2 bad usage \
(arguments, settings, an unknown secret, a file that is not a store); 3 the tool or its store \
failed; 130 interrupted by Ctrl-C (resumable); 141 the output's reader went away \
(`| head`), the rest of the output dropped.";

/// Run and inspect Secrets Manager rotations from a terminal.
///
/// Secrets live in an embedded store, a file given by --store or
/// ROTATE_STORE (created if missing, readable by you only), or in Secrets
/// Manager with --aws. Rotators read
/// the settings their Lambda functions read (PASSWORD_LENGTH, API_KEY_*,
/// DB_CA_BUNDLE...) from the environment.
#[derive(Debug, Parser)]
#[command(name = "rotate", version, after_help = EXIT_CODES)]
pub struct Cli {
    /// The embedded store's file.
    #[arg(long, env = "ROTATE_STORE", global = true, value_name = "PATH")]
    pub store: Option<PathBuf>,
    /// Use Secrets Manager, with the environment's AWS configuration
    /// (AWS_ENDPOINT_URL for moto or LocalStack), for `run`, `step` and
    /// `status`; `secret` manages the embedded store only.
    #[arg(long, global = true, conflicts_with = "store")]
    pub aws: bool,
    /// Print JSON instead of tables.
    #[arg(long, global = true)]
    pub json: bool,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Rotate a secret now: start a rotation (or resume an unfinished one)
    /// and run its four steps in this process, as Secrets Manager would
    /// invoke the function, retrying a failed step.
    Run(RunArgs),
    /// Run one step of a rotation once, with its token, to reproduce a
    /// failure (no retry, no new rotation).
    Step(StepArgs),
    /// Show secrets' versions, labels and rotation settings, and what is
    /// wrong with a stuck rotation, with the command that clears it.
    Status {
        /// Names or ARNs.
        #[arg(required = true)]
        secrets: Vec<String>,
    },
    /// On Secrets Manager (--aws): ask it to rotate every matching secret
    /// now (`RotateSecret`, so the deployed functions do the work), a few
    /// at a time, and wait for each to finish or fail.
    Trigger(TriggerArgs),
    /// Create, change, read, list and delete secrets in the store.
    #[command(subcommand)]
    Secret(SecretCommand),
}

/// `rotate run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The secret's name or ARN.
    pub secret: String,
    /// The rotator, when the secret's `engine` does not say (`postgres`,
    /// `aurora-postgresql`: PostgreSQL; `generated`, `iam-access-key`,
    /// `http`: API keys). Required with --aws, where the secret's content
    /// must not choose what runs with your credentials.
    #[arg(long, value_enum)]
    pub rotator: Option<RotatorKind>,
    /// Tries per step before the rotation is left, resumable.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=10))]
    pub attempts: u32,
    /// Also print the values of the versions before and after.
    #[arg(long)]
    pub show_values: bool,
    /// With --aws: rotate a secret whose host is a Unix socket, loopback
    /// or link-local address (refused otherwise: on Secrets Manager, the
    /// secret's editor may not be the one running this tool).
    #[arg(long)]
    pub allow_local_hosts: bool,
    /// With --aws: run although the secret has rotation enabled or a
    /// function attached (refused otherwise: this run bypasses Secrets
    /// Manager's lock, and a scheduled rotation could start beside it).
    #[arg(long)]
    pub force: bool,
}

/// `rotate step`.
#[derive(Debug, Args)]
pub struct StepArgs {
    /// The secret's name or ARN.
    pub secret: String,
    /// createSecret, setSecret, testSecret or finishSecret.
    #[arg(value_parser = clap::value_parser!(rotation_core::event::Step))]
    pub step: rotation_core::event::Step,
    /// The rotation's token (its AWSPENDING version; `rotate status` shows
    /// it).
    #[arg(long)]
    pub token: String,
    /// The rotator, when the secret's `engine` does not say (required
    /// with --aws).
    #[arg(long, value_enum)]
    pub rotator: Option<RotatorKind>,
    /// With --aws: as for `run`.
    #[arg(long)]
    pub allow_local_hosts: bool,
}

/// `rotate trigger`.
#[derive(Debug, Clone, Args)]
pub struct TriggerArgs {
    /// Names or ARNs of secrets to rotate.
    pub secrets: Vec<String>,
    /// Also every secret whose name starts with this.
    #[arg(long)]
    pub prefix: Option<String>,
    /// Only secrets with this tag (KEY=VALUE; repeat for several, all
    /// required). With no name and no --prefix, every secret so tagged.
    #[arg(long = "tag", value_name = "KEY=VALUE")]
    pub tags: Vec<String>,
    /// Rotations running at once.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub concurrency: u16,
    /// Seconds to wait for each rotation before calling it failed.
    #[arg(long, default_value_t = 600)]
    pub timeout: u64,
    /// Milliseconds between two looks at a rotation.
    #[arg(long, default_value_t = 2000, value_parser = clap::value_parser!(u64).range(50..))]
    pub poll_ms: u64,
}

/// The rotators linked into the tool.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RotatorKind {
    /// PostgreSQL and Aurora PostgreSQL logins (single user or alternating
    /// users, by the secret's `masterarn`).
    Postgres,
    /// MySQL, Aurora MySQL and MariaDB logins (single user or alternating
    /// users, by the secret's `masterarn`).
    Mysql,
    /// API keys; the provider is API_KEY_PROVIDER or the secret's `engine`.
    ApiKey,
}

/// `rotate secret ...`.
#[derive(Debug, Subcommand)]
pub enum SecretCommand {
    /// Create a secret; its value becomes AWSCURRENT.
    Create {
        /// The new secret's name.
        name: String,
        /// Where the value comes from.
        #[command(flatten)]
        value: ValueArgs,
    },
    /// Store a new AWSCURRENT value by hand (abandons a rotation in
    /// progress, as Secrets Manager does).
    Put {
        /// The secret's name or ARN.
        secret: String,
        /// Where the value comes from.
        #[command(flatten)]
        value: ValueArgs,
    },
    /// Show one version: its id, labels and field names; the value only
    /// with --show-value.
    Get {
        /// The secret's name or ARN.
        secret: String,
        /// The label of the version.
        #[arg(long, default_value = "AWSCURRENT")]
        stage: String,
        /// Print the value itself.
        #[arg(long)]
        show_value: bool,
    },
    /// List the store's secrets.
    List,
    /// Delete a secret and all its versions, at once.
    Delete {
        /// The secret's name or ARN.
        secret: String,
    },
    /// Turn rotation on, with an interval in days.
    EnableRotation {
        /// The secret's name or ARN.
        secret: String,
        /// Days between rotations (`status` reports a rotation overdue).
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1000))]
        days: Option<u32>,
    },
    /// Turn rotation off.
    DisableRotation {
        /// The secret's name or ARN.
        secret: String,
    },
}

/// A secret value: from a file (`-` for standard input), or on the command
/// line, where other users of the machine can read it in the process list.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct ValueArgs {
    /// The value, as text (visible in the process list).
    #[arg(long)]
    pub value: Option<String>,
    /// A file holding the value; `-` reads standard input.
    #[arg(long, value_name = "PATH")]
    pub value_file: Option<PathBuf>,
}
