#!/usr/bin/env bash
# The benchmark report (BENCHMARKS.md), over the release bootstraps that
# scripts/release-check.sh unpacked into target/lambda/<arch>/: builds the
# empty `lambda-floor` function the start-up and size figures compare
# with (CI runs no benchmark, so the release check does not build it),
# then runs the report.
#
#   ./scripts/bench.sh [--quick]
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
if [ ! -x target/lambda/x86_64/postgres-rotator/bootstrap ]; then
    echo "no release bootstraps in target/lambda: run ./scripts/release-check.sh first" >&2
    exit 1
fi
# Into a directory of its own: cargo-lambda copies every binary of the
# target directory it finds there (the secrets agent's too, as a bootstrap),
# so only lambda-floor's is taken from it.
for arch in x86_64 arm64; do
    flag=--x86-64
    [ "$arch" = arm64 ] && flag=--arm64
    cargo lambda build --release --package lambda-floor "$flag" --lambda-dir "target/lambda-floor/$arch"
    mkdir -p "target/lambda/$arch/lambda-floor"
    cp "target/lambda-floor/$arch/lambda-floor/bootstrap" "target/lambda/$arch/lambda-floor/bootstrap"
done
cargo bench -p rotation-testing --bench report -- "$@"
