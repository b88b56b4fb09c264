//! What one PostgreSQL login costs, and its parts: SCRAM's key derivation
//! on the client (4096 HMAC-SHA-256 rounds, once per login and once per
//! verifier the rotator computes), a whole login through tokio-postgres,
//! and the same login through libpq (`pgbench -C`) for comparison.

use std::fmt::Write as _;
use std::process::Command;
use std::time::{Duration, Instant};

use postgres_rotator::sql::{alter_password, PasswordFormat};
use postgres_rotator_testing::PostgresServer;
use rotation_core::testkit::unique_name;
use rotation_core::SecretString;
use rotation_testing::measure::{ms, Stats};

use crate::floor::FloorDatabase;

/// Times `rounds` runs of `work`.
async fn timed<F: std::future::Future<Output = ()>>(
    rounds: usize,
    mut work: impl FnMut(usize) -> F,
) -> Stats {
    let mut times = Vec::with_capacity(rounds);
    for round in 0..rounds {
        let started = Instant::now();
        work(round).await;
        times.push(started.elapsed());
    }
    Stats::of(times)
}

/// libpq's average connection time over `rounds` connections, each
/// running `SELECT 1`, as `pgbench -C` reports it.
fn libpq_login(server: &PostgresServer, user: &str, password: &str, rounds: usize) -> Duration {
    let script = std::env::temp_dir().join(format!("{}.sql", unique_name("select1")));
    std::fs::write(&script, "SELECT 1;\n").unwrap();
    let output = Command::new(server.bin_dir().join("pgbench"))
        .args(["-n", "-C", "-t", &rounds.to_string(), "-h", "127.0.0.1"])
        .args(["-p", &server.port().to_string(), "-U", user, "-f"])
        .arg(&script)
        .arg("postgres")
        .env("PGPASSWORD", password)
        .env("PGSSLMODE", "disable")
        .output()
        .expect("run pgbench");
    let _ = std::fs::remove_file(&script);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "pgbench failed: {stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let average = stdout
        .lines()
        .find_map(|l| l.strip_prefix("average connection time = "))
        .and_then(|rest| rest.trim_end_matches(" ms").trim().parse::<f64>().ok())
        .unwrap_or_else(|| panic!("no connection time in pgbench's output: {stdout}"));
    Duration::from_secs_f64(average / 1000.0)
}

/// The table of login costs.
pub async fn report(out: &mut String, server: &PostgresServer, rounds: usize) {
    let user = unique_name("login").replace('-', "_");
    let password = unique_name("pw");
    server.create_user(&user, &password).await;
    let rounds = rounds.max(20);

    let derivation = timed(rounds, |round| async move {
        let password = format!("password{round}");
        std::hint::black_box(postgres_protocol::password::scram_sha_256(
            password.as_bytes(),
        ));
    })
    .await;
    let verifier = timed(rounds, |round| async move {
        let password = SecretString::from(format!("password{round}"));
        std::hint::black_box(alter_password(
            "app",
            &password,
            PasswordFormat::ScramSha256,
        ));
    })
    .await;
    let tokio_postgres = timed(rounds, |_| server.check(&user, &password)).await;
    let libpq = libpq_login(server, &user, &password, rounds);

    let _ = writeln!(out, "\nWhat one login costs, and its parts ({rounds} times each, in this process, with the release profile's code): a SCRAM-SHA-256 login derives the password's key on the client (4096 HMAC-SHA-256 rounds) and the server checks the proof; a single-user rotation logs in twice and computes one verifier, alternating users logs in three times (the master once) and computes one (finishSecret takes testSecret's login as its proof when both run in one process).\n\n| operation | min | median | max |\n| --- | --- | --- | --- |");
    let _ = writeln!(
        out,
        "| SCRAM key derivation as the driver does it at login (`postgres-protocol`) | {} |",
        derivation.row()
    );
    let _ = writeln!(
        out,
        "| the rotator's verifier and `ALTER ROLE` statement | {} |",
        verifier.row()
    );
    let _ = writeln!(
        out,
        "| login, `SELECT 1`, close: tokio-postgres | {} |",
        tokio_postgres.row()
    );
    let _ = writeln!(
        out,
        "| login, `SELECT 1`, close: libpq (`pgbench -C`, average) | — | {} | — |",
        ms(libpq)
    );
}
