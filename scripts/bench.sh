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
cargo lambda build --release --package lambda-floor --x86-64 --lambda-dir target/lambda/x86_64
cargo lambda build --release --package lambda-floor --arm64 --lambda-dir target/lambda/arm64
cargo bench -p rotation-testing --bench report -- "$@"
