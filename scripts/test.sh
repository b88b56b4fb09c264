#!/usr/bin/env bash
# The project's test command (the README's): installs what the tests need
# on a fresh Debian machine with Rust, checks formatting, lints and docs,
# then runs the fast, services and function tiers (CONTRIBUTING.md):
#
#   ./scripts/test.sh
#
# - fast: unit, state-machine and property tests, the conformance kit on
#   the in-memory store, fuzz corpora replayed. What plain `cargo test`
#   runs, with nothing installed.
# - services: every test against moto, PostgreSQL, MariaDB and Redis,
#   which each test binary starts on free ports and stops. `cargo test`
#   lists these as ignored; `-- --include-ignored` runs them, and then a
#   missing service fails the test, naming its install command.
# - function: the rotators' Lambda binaries, built by this same cargo run
#   (cargo builds a package's binaries for its integration tests), run
#   through a Lambda Runtime API. Also ignored by plain `cargo test`.
#
# The release tier (LTO artifacts for both architectures, SAM, the
# shipped binaries' rotations) is scripts/release-check.sh, and fuzzing
# scripts/fuzz.sh; .ci/run runs all three.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/install.sh services
export PATH="$PWD/.venv/bin:$PATH"

log() { printf '\n==> %s\n' "$*"; }

log "cargo fmt --check"
cargo fmt --all -- --check

log "cargo clippy"
cargo clippy --workspace --all-targets -- -D warnings

log "cargo doc"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --quiet

# Every test target (unit and integration tests), the ignored ones
# included: those are the services and function tiers. Doc tests run
# apart, since an `ignore` snippet is documentation, not a test to run.
mkdir -p target
log "cargo test: fast, services and function tiers"
cargo test --workspace --tests -- --include-ignored 2>&1 | tee target/test-output.log
log "cargo test --doc"
cargo test --workspace --doc 2>&1 | tee -a target/test-output.log
grep -E '^test result' target/test-output.log |
    awk '{p+=$4; f+=$6; i+=$8} END {printf "\n==> %d tests passed, %d failed, %d ignored\n", p, f, i}'
