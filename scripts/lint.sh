#!/usr/bin/env bash
# The lint tier (CONTRIBUTING.md): formatting, clippy on every target with
# warnings denied, and the docs with warnings denied.
#
#   ./scripts/lint.sh
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\n==> %s\n' "$*"; }

log "cargo fmt --check"
cargo fmt --all -- --check

log "cargo clippy"
cargo clippy --workspace --all-targets -- -D warnings
# --all-targets leaves out targets with `test = false`: the release tier's.
cargo clippy --workspace --test release -- -D warnings

log "cargo doc"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --quiet
