//! The benchmark report: runs every measurement in one go on this machine
//! and writes BENCHMARKS.md at the workspace root.
//!
//! `./scripts/bench.sh [--quick]` (which builds the empty `lambda-floor`
//! first), or `cargo bench -p rotation-testing --bench report [-- --quick]`
//!
//! Needs the bootstraps from scripts/release-check.sh and scripts/bench.sh
//! (target/lambda/), moto in .venv, PostgreSQL and MariaDB, as the tests do. `--quick` runs fewer
//! rounds and 100 secrets instead of 1,000 for the scale test.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use api_key_rotator::iam::PreviousKey;
use api_key_rotator_testing::{GeneratedHarness, HttpHarness, IamHarness};
use database_app::comparison::{run as run_comparison, Comparison, Scenario, Strategy};
use database_app::languages::run_python;
use mysql_rotator_testing::{MariaDbServer, MysqlRotatorHarness};
use postgres_rotator::sql::{quote_identifier, quote_literal};
use postgres_rotator_testing::PostgresRotatorHarness;
use postgres_rotator_testing::PostgresServer;
use rotation_core::engine::Rotation;
use rotation_core::store::InMemorySecretStore;
use rotation_core::testkit::{new_token, unique_name, RotatorHarness, SecretAdmin};
use rotation_core::{event::RotationEvent, event::Step, Rotator};
use rotation_testing::fault_proxy::{FaultPlan, FaultProxy};
use rotation_testing::function_checks::FunctionHarness;
use rotation_testing::lambda_e2e::invoke_steps;
use rotation_testing::lambda_function::{times_to_ready, FunctionProcess};
use rotation_testing::measure::{ms, Stats};
use rotation_testing::moto::MotoServer;
use rotation_testing::runtime_api::RuntimeApi;
use rotation_testing::workspace_root;

use floor::{floor, Floor, FloorStrategy};
use steps::StepTimes;

mod agent;
mod floor;
mod logins;
mod steps;

fn command_line(program: &str, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_else(|_| "unknown".into())
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .next()
                .map(|l| l.split_whitespace().nth(1).unwrap_or("0").to_owned())
        })
        .and_then(|kb| kb.parse::<u64>().ok())
        .map_or("unknown".into(), |kb| {
            format!("{:.0} GiB", kb as f64 / 1024.0 / 1024.0)
        });
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let moto = command_line(
        workspace_root().join(".venv/bin/python").to_str().unwrap(),
        &["-c", "import moto; print(moto.__version__)"],
    );
    format!(
        "- CPU: {cpu}, {cores} cores; memory {memory}; Linux {}\n- CPU features: {}\n- {}\n- moto {moto} (Secrets Manager) and PostgreSQL (throwaway cluster) on 127.0.0.1\n",
        kernel.trim(),
        cpu_features(),
        command_line("rustc", &["-V"]),
    )
}

/// The CPU features the rotators' hot paths depend on, so figures from two
/// kinds of machine can be told apart: SHA-256 instructions decide the cost
/// of SCRAM's key derivation (4096 HMAC rounds per PostgreSQL login and
/// per verifier; `sha2` picks its code at run time from the same flags),
/// AES and vector units that of TLS.
fn cpu_features() -> String {
    let info = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let flags: Vec<&str> = info
        .lines()
        .find(|l| l.starts_with("flags") || l.starts_with("Features"))
        .and_then(|l| l.split(':').nth(1))
        .map(|f| f.split_whitespace().collect())
        .unwrap_or_default();
    let has = |flag: &str| flags.contains(&flag);
    let named: &[(&str, &str)] = if cfg!(target_arch = "aarch64") {
        &[("sha2", "SHA-256"), ("aes", "AES"), ("asimd", "NEON")]
    } else {
        &[
            ("sha_ni", "SHA-256 (sha_ni)"),
            ("aes", "AES-NI"),
            ("avx2", "AVX2"),
            ("avx512f", "AVX-512"),
        ]
    };
    let list = |present: bool| {
        named
            .iter()
            .filter(|(flag, _)| has(flag) == present)
            .map(|(_, name)| *name)
            .collect::<Vec<_>>()
            .join(", ")
    };
    let sha = if has(named[0].0) {
        "in hardware"
    } else {
        "in software (no SHA instructions: SCRAM costs several times more)"
    };
    let (present, missing) = (list(true), list(false));
    let mut out = format!("SHA-256 runs {sha}");
    if !present.is_empty() {
        let _ = write!(out, "; has {present}");
    }
    if !missing.is_empty() {
        let _ = write!(out, "; lacks {missing}");
    }
    out
}

fn zip_size(path: &Path) -> u64 {
    let script = "import io,sys,zipfile\nb=io.BytesIO()\nz=zipfile.ZipFile(b,'w',zipfile.ZIP_DEFLATED,compresslevel=9)\nz.write(sys.argv[1],'bootstrap')\nz.close()\nprint(len(b.getvalue()))";
    command_line(
        workspace_root().join(".venv/bin/python").to_str().unwrap(),
        &["-c", script, path.to_str().unwrap()],
    )
    .parse()
    .unwrap_or(0)
}

fn bootstraps(arch: &str) -> Vec<(String, PathBuf)> {
    let dir = workspace_root().join("target/lambda").join(arch);
    let mut found: Vec<(String, PathBuf)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}; run scripts/release-check.sh", dir.display()))
        .flatten()
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                e.path().join("bootstrap"),
            )
        })
        .filter(|(_, p)| p.exists())
        .collect();
    found.sort();
    found
}

/// Peak resident memory of a running process (VmHWM), in MB.
fn peak_rss_mb(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

struct FunctionFigures {
    warm: StepTimes,
    cold: Stats,
    calls: usize,
    peak_rss_mb: f64,
}

/// Rotations through the built function: warm (one process, rounds
/// rotations of one secret) and cold (a new process per rotation, timed
/// from its start), with Secrets Manager calls counted at a proxy.
async fn through_function<H: RotatorHarness>(
    bootstrap: &Path,
    harness: &H,
    moto: &MotoServer,
    rounds: usize,
    settings: &[(&'static str, String)],
) -> FunctionFigures {
    let proxy = FaultProxy::start(moto.port()).await;
    let store = moto.admin_store();
    let secret = harness.fresh_secret(store.as_ref()).await;
    let mut env = vec![("SECRETS_MANAGER_ENDPOINT", proxy.endpoint())];
    env.extend_from_slice(settings);
    let env =
        rotation_testing::lambda_e2e::with_masters_allowed(&env, std::slice::from_ref(&secret));
    let api = RuntimeApi::start().await;
    let process = FunctionProcess::start(bootstrap, &api, &env);
    api.wait_until_ready(Duration::from_secs(10))
        .await
        .expect("starts");
    let arn = store.create_json("bench", &secret).await.unwrap();
    let mut warm = StepTimes::default();
    let mut calls = 0;
    for round in 0..rounds + 3 {
        let token = new_token();
        store.start_rotation(&arn, &token).await.unwrap();
        proxy.set_plan(FaultPlan::Pass);
        let before = proxy.requests();
        let mut times = StepTimes::default();
        for (index, step) in Step::ALL.into_iter().enumerate() {
            let started = Instant::now();
            invoke_steps(&api, &arn, &token, &[step]).await;
            times.record(index, started.elapsed());
        }
        if round >= 3 {
            warm.extend(&times);
        }
        calls = proxy.requests() - before;
    }
    let peak_rss_mb = peak_rss_mb(process.id());
    drop(process);
    let mut cold = Vec::new();
    for _ in 0..rounds.min(20) {
        let token = new_token();
        store.start_rotation(&arn, &token).await.unwrap();
        let api = RuntimeApi::start().await;
        let process = FunctionProcess::start(bootstrap, &api, &env);
        invoke_steps(&api, &arn, &token, &Step::ALL).await;
        cold.push(process.started().elapsed());
    }
    FunctionFigures {
        warm,
        cold: Stats::of(cold),
        calls,
        peak_rss_mb,
    }
}

/// `count` single-user secrets rotated once each through the library, at
/// `concurrency` at a time: rotations per second, failures, and the mean
/// time of one rotation.
async fn scale(
    harness: &PostgresRotatorHarness<'_>,
    store: Arc<dyn SecretAdmin>,
    arns: &[String],
    concurrency: usize,
) -> (f64, usize, Duration) {
    let rotator = harness.rotator_with(Default::default(), None);
    let values = rotator
        .credential()
        .generator_from_lookup(|_| None)
        .unwrap();
    let rotation = Arc::new(Rotation::new(Arc::clone(&store), rotator, values));
    let mut tokens = Vec::new();
    for arn in arns {
        let token = new_token();
        store.start_rotation(arn, &token).await.unwrap();
        tokens.push((arn.clone(), token));
    }
    let queue = Arc::new(std::sync::Mutex::new(tokens));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let queue = Arc::clone(&queue);
        let rotation = Arc::clone(&rotation);
        workers.push(tokio::spawn(async move {
            let (mut failures, mut busy) = (0, Duration::ZERO);
            loop {
                let Some((arn, token)) = queue.lock().unwrap().pop() else {
                    return (failures, busy);
                };
                let one = Instant::now();
                for step in Step::ALL {
                    let event = RotationEvent {
                        step,
                        secret_id: arn.clone(),
                        token: token.clone(),
                        rotation_token: None,
                    };
                    if rotation.run_step(&event, None).await.is_err() {
                        failures += 1;
                        break;
                    }
                }
                busy += one.elapsed();
            }
        }));
    }
    let (mut failures, mut busy) = (0, Duration::ZERO);
    for worker in workers {
        let (f, b) = worker.await.unwrap();
        failures += f;
        busy += b;
    }
    let elapsed = started.elapsed();
    (
        arns.len() as f64 / elapsed.as_secs_f64(),
        failures,
        busy / arns.len() as u32,
    )
}

async fn scale_secrets(
    harness: &PostgresRotatorHarness<'_>,
    server: &PostgresServer,
    store: &dyn SecretAdmin,
    count: usize,
) -> Vec<String> {
    let mut statements = String::new();
    let mut secrets = Vec::new();
    for i in 0..count {
        let user = format!("scale_{i}_{}", unique_name("u").replace('-', "_"));
        let password = unique_name("pw");
        let _ = write!(
            statements,
            "CREATE ROLE {} LOGIN PASSWORD {};",
            quote_identifier(&user),
            quote_literal(&password)
        );
        secrets.push(harness.secret_for(&user, &password));
    }
    server
        .superuser()
        .await
        .batch_execute(&statements)
        .await
        .unwrap();
    let mut arns = Vec::new();
    for secret in secrets {
        arns.push(store.create_json("scale", &secret).await.unwrap());
    }
    arns
}

/// What profiling PostgreSQL's rotations found, written once (the figures
/// above are this run's; these are the ones measured then).
const POSTGRES_FINDINGS: &str = "\nWhere the time went (found on 2026-12-07 on the 2-core AMD EPYC of this report, which has SHA instructions; `perf`, `strace -T` on the function and the steps' medians above):\n\n- **SCRAM's key derivation in the shipped binary.** The function took 91 to 104 ms for a warm single-user rotation and 123 to 132 ms for alternating users, about twice its floor, and each step with a login about 11 ms more than the floor's. `strace` showed the time between the server's SCRAM challenge and the function's answer, and before the `ALTER ROLE` (the verifier): 12.5 ms of computation each, against 1.6 ms for the same code in this benchmark. cargo-lambda builds x86_64 with `-C target-cpu=haswell`; with AVX enabled, `sha2`'s SHA-NI code at `opt-level = \"s\"` ran 7x slower (12.2 ms a derivation). The release profile now builds `sha2` at `opt-level = 3`: 1.2 ms with SHA-NI, 3.6 ms with `sha2`'s software code (3.7 ms before), measured alone with both targets. Targeting x86-64-v2 instead was measured and rejected: 1.6 ms with SHA-NI but 7.8 ms without. arm64 (`neoverse-n1`) was not measured, for want of an arm64 machine.\n- **Round trips.** Every catalog read was prepared, then executed (two round trips). They now go in one (`query_typed`), fixed statements use the simple protocol, a user's standing is one query, and the clone sync reads both roles in three queries instead of seven: alternating users' setSecret reads the catalog in 7 round trips instead of 26 (13 queries, each prepared then run), and every login's `SELECT 1` or `SHOW password_encryption` takes one instead of two.\n- **Not the driver.** One login through tokio-postgres costs no more than through libpq (the table above). postgres-protocol recomputes the HMAC key for each of the 4096 rounds (four SHA-256 blocks a round where two would do), as libpq does; a change there would halve every login's derivation for every tokio-postgres user.\n- After both changes, on the same machine: 37.8 ms single user (1.01x its floor) and 51.8 ms alternating users (1.18x), from 91 to 104 ms and 123 to 132 ms.\n- **The pair check in one round trip.** On an AMD EPYC with AVX-512 alternating users ran at 1.24x its floor: setSecret read each user's standing, then the clone's mark, then both roles for the clone sync, one round trip after another. `DatabaseBackend::pair_standing` now sends them together, with the sync's reading kept for the `match_clone` that follows: 1.07x to 1.18x in the runs since.\n- **finishSecret's proof, once per process.** finishSecret proved the pending value by reading it and logging in with it, 4 to 6 ms of a warm rotation, right after testSecret had done the same in the same process. A version's value never changes once stored, so a testSecret that passed in this process within the last minute is now the proof (used once); any other finishSecret still reads and logs in. And alternating users' setSecret reads the master secret while AWSCURRENT's login runs instead of after it (the login still decides first). `--only postgres` before and after, two runs each on the AMD EPYC with AVX-512: single user 27.3 and 22.9 ms became 19.9 and 19.8 ms (finishSecret 6.2 to 7.9 ms became 2.0 to 2.3 ms); alternating users 30.8 and 31.9 ms became 26.4 and 29.1 ms; 11 and 12 Secrets Manager calls instead of 12 and 13. The floor makes the same calls, so it lost the same read and login.
- **The verifier ahead.** setSecret computed the new password's SCRAM verifier (4096 rounds) after the logins and checks, on the step's only thread. It now starts on a blocking thread before the first login (`DatabaseBackend::prepare_password`), and `set_password` takes it. Two interleaved pairs of runs: alternating users' setSecret went from 1.23x and 1.11x the floor's setSecret to 1.14x and 0.98x, single user's whole rotation from 0.98x and 1.01x its floor to 0.96x and 0.98x. The gain is one derivation, about 1 ms here; it should be larger on a CPU without SHA instructions or with a fraction of one (a 128 MB function), which this machine cannot show.
- **Against AWS's Python templates**, measured by hand under this harness (not part of this report: a small Runtime API client around the PostgreSQL templates' `lambda_function.py` from aws-samples/aws-secrets-manager-rotation-lambdas at b4b8eca, Python 3.11, PyGreSQL 6.2.3, boto3 1.44, put in place of the function's bootstrap), two interleaved runs each on the AMD EPYC with AVX-512, after the change above: warm single user 24.9 and 25.4 ms against 55.7 and 58.2 ms (0.45x and 0.44x); alternating users 31.7 and 28.0 ms against 65.5 and 59.1 ms (0.48x and 0.47x); cold 27 to 33 ms against 219 to 264 ms; peak memory 7.9 MB against 51 MB. Before it, on the same machine, alternating users was 0.57x. The templates' finishSecret only moves the label; this function's makes sure the pending value works first (the testSecret just passed in this process, or a read and a login).";

/// An engine's table: its function's rotations for both strategies, each
/// against the floor of its strategy.
async fn database_rotations<H: RotatorHarness>(
    out: &mut String,
    bootstrap: &Path,
    server: &dyn floor::FloorDatabase,
    moto: &MotoServer,
    rounds: usize,
    [single, alternating]: [&H; 2],
) {
    let _ = writeln!(out, "| strategy | warm min | warm median | warm max | steps' warm medians (create / set / test / finish) | cold median | warm median / floor | Secrets Manager calls | peak RSS |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    let mut floors = Vec::new();
    for (name, harness, strategy) in [
        ("single user", single, FloorStrategy::SingleUser),
        (
            "alternating users",
            alternating,
            FloorStrategy::AlternatingUsers,
        ),
    ] {
        let Floor { times, calls } = floor(server, moto, strategy, rounds).await;
        let f = through_function(bootstrap, harness, moto, rounds, &[]).await;
        let warm = f.warm.total();
        let ratio = warm.median.as_secs_f64() / times.total().median.as_secs_f64();
        let _ = writeln!(
            out,
            "| {name} | {} | {} | {} | {ratio:.2} | {} | {:.1} MB |",
            warm.row(),
            f.warm.medians_cell(),
            ms(f.cold.median),
            f.calls,
            f.peak_rss_mb
        );
        floors.push((name, times, calls));
    }
    for (name, times, calls) in floors {
        let _ = writeln!(
            out,
            "| floor ({name}) | {} | {} | — | 1.00 | {calls} | — |",
            times.total().row(),
            times.medians_cell()
        );
    }
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    // `--only postgres`: the machine and PostgreSQL's sections, printed and
    // written to target/bench-postgres.md, leaving BENCHMARKS.md alone.
    let only_postgres = std::env::args()
        .collect::<Vec<_>>()
        .windows(2)
        .any(|w| w[0] == "--only" && w[1] == "postgres");
    // `--only agent`: the machine and the agent's section, written to
    // target/bench-agent.md.
    let only_agent = std::env::args()
        .collect::<Vec<_>>()
        .windows(2)
        .any(|w| w[0] == "--only" && w[1] == "agent");
    let (rounds, starts, secrets) = if quick { (10, 10, 100) } else { (50, 50, 1000) };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let report = runtime.block_on(async {
        let moto = MotoServer::start();
        if only_agent {
            let mut out = format!("# Secrets agent\n\n{}", machine());
            agent::report(&mut out, &agent::measured(), &moto, quick).await;
            return out;
        }
        let server = PostgresServer::start_with(&["max_connections = 200"]);
        let single = PostgresRotatorHarness::single_user(&server).await;
        let alternating = PostgresRotatorHarness::alternating_users(&server).await;
        let mut out = String::new();
        let _ = writeln!(out, "# Benchmarks\n\nWritten by `cargo bench -p rotation-testing --bench report{}` on {}. Every figure below comes from that one run.\n\n## Machine\n\n{}", if quick { " -- --quick" } else { "" }, command_line("date", &["-u", "+%Y-%m-%d %H:%M UTC"]), machine());

        // Sizes.
        let x86 = bootstraps("x86_64");
        let _ = writeln!(out, "## Size\n\nTarget: zip at most 4 MB.\n\n| binary | architecture | bootstrap | zip (deflate -9) |\n| --- | --- | --- | --- |");
        for arch in ["x86_64", "arm64"] {
            for (name, path) in bootstraps(arch) {
                let size = std::fs::metadata(&path).unwrap().len();
                let _ = writeln!(out, "| {name} | {arch} | {:.2} MB | {:.2} MB |", size as f64 / 1e6, zip_size(&path) as f64 / 1e6);
            }
        }

        // Start-up.
        let floor_bin = x86.iter().find(|(n, _)| n == "lambda-floor").map(|(_, p)| p.clone()).expect("the lambda-floor bootstrap");
        let floor_start = Stats::of(times_to_ready(&floor_bin, starts).await);
        let _ = writeln!(out, "\n## Initialisation\n\nProcess start to the first Runtime API `next` request, {starts} starts, x86_64. Floor: `lambda-floor`, an empty `lambda_runtime` function with the same profile. Target: at most 1.5x the floor.\n\n| binary | min | median | max | median / floor |\n| --- | --- | --- | --- | --- |");
        for (name, path) in &x86 {
            let s = if *name == "lambda-floor" { floor_start } else { Stats::of(times_to_ready(path, starts).await) };
            let _ = writeln!(out, "| {name} | {} | {:.2} |", Stats::row(&s), s.median.as_secs_f64() / floor_start.median.as_secs_f64());
        }

        // Rotations through the function.
        let bootstrap = x86.iter().find(|(n, _)| n == "postgres-rotator").map(|(_, p)| p.clone()).expect("postgres-rotator");
        let _ = writeln!(out, "\n## Full rotation through the Runtime API\n\nThe four invocations of one rotation, through the tests' Runtime API, against moto and PostgreSQL on 127.0.0.1. Warm: one process, {rounds} rotations of one secret after 3 warm-up rotations; the steps' medians show where the time goes. Cold: a new process per rotation, timed from its start. Floor: the same Secrets Manager calls and database logins made directly with the AWS SDK and tokio-postgres, in this process (built with the same release profile), {rounds} rotations: single user logs in and changes its own password, then logs in with the new one at testSecret (finishSecret takes that proof, as the function does in one process); alternating users also logs in with AWSCURRENT, reads the master secret and logs in as the administrator, one after another. Both the function and the floor reach moto through a counting proxy (one extra local hop per call). The function's time includes the Runtime API's round trips and its INFO logging. Peak memory is the function process's VmHWM after the warm rotations. Targets: warm at most 1.2x the floor of its strategy; at most 20 MB.\n");
        database_rotations(&mut out, &bootstrap, &server, &moto, rounds, [&single, &alternating]).await;
        logins::report(&mut out, &server, rounds).await;
        let _ = writeln!(out, "{POSTGRES_FINDINGS}");
        if only_postgres {
            return out;
        }

        // MySQL rotations through the function.
        let mysql_bootstrap = x86.iter().find(|(n, _)| n == "mysql-rotator").map(|(_, p)| p.clone()).expect("mysql-rotator");
        let mariadb = MariaDbServer::start();
        let _ = writeln!(out, "\n## MySQL rotation through the Runtime API\n\n`mysql-rotator`, measured as above, against MariaDB 10.11 on 127.0.0.1 (`mysql_native_password` accounts). Floor: the same Secrets Manager calls and database logins made directly with the AWS SDK and `mysql_async`, in this process. Targets as PostgreSQL's.\n");
        let (mysql_single, mysql_alternating) = (MysqlRotatorHarness::single_user(&mariadb).await, MysqlRotatorHarness::alternating_users(&mariadb).await);
        database_rotations(&mut out, &mysql_bootstrap, &mariadb, &moto, rounds, [&mysql_single, &mysql_alternating]).await;

        // API keys through the function.
        let api_key = x86.iter().find(|(n, _)| n == "api-key-rotator").map(|(_, p)| p.clone()).expect("api-key-rotator");
        let iam = IamHarness::new(&moto, PreviousKey::KeptUntilNextRotation);
        let http = HttpHarness::admin(true).await;
        let _ = writeln!(out, "\n## API key rotation through the Runtime API\n\n`api-key-rotator`, measured as above (warm: {rounds} rotations of one secret in one process; cold: a new process per rotation). IAM access keys against moto's IAM and STS, which answer at once (IAM's real propagation delay, which testSecret waits out, is not in these figures); keys over HTTP against the tests' key service on 127.0.0.1 (plain HTTP, so no TLS handshake is counted), with an admin key; generated keys have no backend. Secrets Manager calls counted at the proxy for one warm rotation after the first (the IAM provider's createSecret also reads AWSPREVIOUS once the secret has one).\n\n| provider | warm min | warm median | warm max | steps' warm medians (create / set / test / finish) | cold median | Secrets Manager calls | peak RSS |\n| --- | --- | --- | --- | --- | --- | --- | --- |");
        for (name, f) in [
            ("generated", through_function(&api_key, &GeneratedHarness, &moto, rounds, &GeneratedHarness.function_env()).await),
            ("iam-access-key", through_function(&api_key, &iam, &moto, rounds, &iam.function_env()).await),
            ("http (admin key)", through_function(&api_key, &http, &moto, rounds, &http.function_env()).await),
        ] {
            let warm = f.warm.total();
            let _ = writeln!(out, "| {name} | {} | {} | {} | {} | {:.1} MB |", warm.row(), f.warm.medians_cell(), ms(f.cold.median), f.calls, f.peak_rss_mb);
        }

        // Scale.
        let _ = writeln!(out, "\n## Scale\n\n{secrets} single-user secrets (PostgreSQL roles) rotated once each through the library (`Rotation::run_step`, the code the function runs), at several concurrencies, in this process (2 tokio worker threads).\n\n| Secrets Manager | concurrency | rotations/s | failures | mean time of one rotation |\n| --- | --- | --- | --- | --- |");
        let moto_store = moto.admin_store();
        let arns = scale_secrets(&single, &server, moto_store.as_ref(), secrets).await;
        for concurrency in [1, 8, 32] {
            let (rate, failures, mean) = scale(&single, Arc::clone(&moto_store), &arns, concurrency).await;
            let _ = writeln!(out, "| moto | {concurrency} | {rate:.1} | {failures} | {} |", ms(mean));
        }
        let memory: Arc<dyn SecretAdmin> = Arc::new(InMemorySecretStore::new());
        let arns = scale_secrets(&single, &server, memory.as_ref(), secrets).await;
        for concurrency in [1, 32] {
            let (rate, failures, mean) = scale(&single, Arc::clone(&memory), &arns, concurrency).await;
            let _ = writeln!(out, "| in-memory | {concurrency} | {rate:.1} | {failures} | {} |", ms(mean));
        }

        // Applications through rotations.
        let scenario = Scenario::default();
        let (single_run, alternating_run) = tokio::join!(
            run_comparison(Strategy::SingleUser, &scenario),
            run_comparison(Strategy::AlternatingUsers, &scenario)
        );
        let _ = writeln!(out, "\n## Applications through rotations\n\n`examples/database-app`: {workers} workers per way of getting the login open a PostgreSQL connection, run `SELECT 1` and close it, every {pause} ms, while the PostgreSQL rotator (in-process, {gap} ms between steps for the gap between Secrets Manager's invocations) rotates the secret {rotations} times, one rotation every {interval} s, against moto and a throwaway PostgreSQL. The three ways run side by side in the same run: `secret-cache`'s `with_current` (refresh ahead within the last tenth of the time to live; a refused login looks once for AWSCURRENT, then AWSPENDING), the same cache used as a plain time-to-live cache (as Powertools' `max_age` is), and a `GetSecretValue` per connection. Time is compressed 300 times: both caches' time to live is {ttl} s, standing for Powertools' 300 s, so rotations come every {ratio} times to live. A failed connection is one the application saw fail; an outage is one worker's run of failures, from the first to the next success; refused logins include those the cache retried with a newer value (which the application never saw). Targets: alternating users, no failed connection; single user, no outage longer than one refresh; calls per minute within 2x of the plain cache. The two strategies ran at the same time, each on its own PostgreSQL and moto.\n\n{header}", workers = scenario.workers, pause = scenario.pause.as_millis(), gap = scenario.step_gap.as_millis(), rotations = scenario.rotations, interval = scenario.interval.as_secs(), ttl = scenario.ttl.as_secs(), ratio = scenario.interval.as_secs() / scenario.ttl.as_secs().max(1), header = Comparison::HEADER);
        for row in single_run.rows().into_iter().chain(alternating_run.rows()) {
            let _ = writeln!(out, "{row}");
        }
        let (single_python, alternating_python) = tokio::join!(
            run_python(Strategy::SingleUser, &scenario),
            run_python(Strategy::AlternatingUsers, &scenario)
        );
        let _ = writeln!(out, "\nThe same scenario for an application in another language: a Python client (the standard library's HTTP client, pg8000 for PostgreSQL; `examples/database-app/python/agent_client.py`) reads its login through `secrets-agent` with AWS's agent's request and header, and after a refused login asks `/secretsmanager/after-refusal` for the value to try next. Beside it, the same client reads through an agent that behaves as AWS's agent and Lambda extension do: the same time to live, no refresh ahead, no route for a refused login (the client then simply fails). Both agents run in this process, each with its own cache; the calls are those agents' reads.\n\n{}", Comparison::HEADER);
        for row in single_python.rows().into_iter().chain(alternating_python.rows()) {
            let _ = writeln!(out, "{row}");
        }
        agent::report(&mut out, &agent::measured(), &moto, quick).await;
        out
    });
    let path = workspace_root().join(if only_postgres {
        "target/bench-postgres.md"
    } else if only_agent {
        "target/bench-agent.md"
    } else {
        "BENCHMARKS.md"
    });
    std::fs::write(&path, &report).unwrap();
    println!("{report}\nwritten to {}", path.display());
}
