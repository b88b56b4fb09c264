#!/usr/bin/env bash
# The project's test command (the README's): installs what the tests need
# on a fresh Debian machine with Rust, then runs the fast, services and
# function tiers (CONTRIBUTING.md):
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
# Formatting, clippy and docs are scripts/lint.sh; the release tier (LTO
# artifacts for both architectures, SAM, the shipped binaries' rotations)
# is scripts/release-check.sh, and fuzzing scripts/fuzz.sh; .ci/run runs
# them all.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/install.sh services
export PATH="$PWD/.venv/bin:$PATH"

log() { printf '\n==> %s\n' "$*"; }

# Every test target (unit and integration tests), the ignored ones
# included: those are the services and function tiers. Doc tests run
# apart, since an `ignore` snippet is documentation, not a test to run.
mkdir -p target
log "cargo test --no-run: build every test target once"
cargo test --workspace --tests --no-run --message-format=json-render-diagnostics >target/test-build.json

# The binaries mostly wait (on servers, moto and the clock), so they run
# TEST_LANES at a time rather than one after another.
log "the fast, services and function tiers, ${TEST_LANES:-3} test binaries at a time"
python3 scripts/run_tests.py target/test-build.json "${TEST_LANES:-3}" -- --include-ignored

log "cargo test --doc"
cargo test --workspace --doc
