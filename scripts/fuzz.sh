#!/usr/bin/env bash
# Fuzzes the parsers that take outside input (rotation events, secret
# values, settings) with libFuzzer, SECONDS_EACH seconds per target
# (default 60). The committed seeds in fuzz/corpus/ stay as they are; the
# corpus grows in target/fuzz-corpus/. A crash, panic or failed assertion
# stops the run with its input saved under fuzz/artifacts/.
#
#   ./scripts/fuzz.sh [SECONDS_EACH]
#
# Builds the targets as cargo-fuzz does (its coverage instrumentation,
# `--cfg fuzzing`, `--target` so that build scripts are left
# uninstrumented), without installing cargo-fuzz itself, which CI would
# otherwise compile on every run; `cargo fuzz run --sanitizer none -O
# <target>` runs the same targets by hand. Stable toolchain, no sanitizer:
# the targets are safe Rust, and what they check is panics and the
# assertions in fuzz/fuzz_targets/. Needs a C++ compiler for libFuzzer
# (./scripts/install.sh fuzz).
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_EACH="${1:-60}"
# Every [[bin]] of fuzz/Cargo.toml.
mapfile -t TARGETS < <(awk '/^\[\[bin\]\]/ { bin = 1; next } bin && /^name *=/ { gsub(/"/, "", $3); print $3; bin = 0 }' fuzz/Cargo.toml)
[ ${#TARGETS[@]} -gt 0 ] || { echo "no fuzz targets in fuzz/Cargo.toml" >&2; exit 1; }
triple=$(rustc -vV | sed -n 's/^host: //p')

printf '\n==> build the fuzz targets (%s)\n' "$triple"
RUSTFLAGS="-Cpasses=sancov-module \
-Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters \
-Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares \
-Cllvm-args=-sanitizer-coverage-stack-depth \
--cfg fuzzing" \
    cargo build --manifest-path fuzz/Cargo.toml --target "$triple" --release --bins

for target in "${TARGETS[@]}"; do
    corpus="target/fuzz-corpus/$target"
    artifacts="fuzz/artifacts/$target"
    mkdir -p "$corpus" "$artifacts"
    cp -n fuzz/corpus/"$target"/* "$corpus"/
    printf '\n==> fuzz %s for %ss\n' "$target" "$SECONDS_EACH"
    log="target/fuzz-$target.log"
    status=0
    "fuzz/target/$triple/release/$target" "$corpus" \
        -artifact_prefix="$artifacts/" -max_total_time="$SECONDS_EACH" \
        -max_len=65536 -print_final_stats=1 >"$log" 2>&1 || status=$?
    grep -E '^(#[0-9]+ +DONE|stat::number_of_executed_units|stat::peak_rss_mb)' "$log" || true
    if [ "$status" -ne 0 ]; then
        tail -n 40 "$log"
        echo "fuzzing $target failed (exit $status); the input is under $artifacts/" >&2
        exit "$status"
    fi
done
printf '\n==> fuzzing found nothing\n'
