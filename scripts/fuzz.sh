#!/usr/bin/env bash
# Fuzzes the parsers that take outside input (rotation events, secret
# values, settings) with cargo-fuzz, SECONDS_EACH seconds per target
# (default 60). The committed seeds in fuzz/corpus/ stay as they are; the
# corpus grows in target/fuzz-corpus/. A crash, panic or failed assertion
# stops the run with its input saved under fuzz/artifacts/.
#
#   ./scripts/fuzz.sh [SECONDS_EACH]
#
# Needs cargo-fuzz (`cargo install cargo-fuzz`) and a C++ compiler for
# libFuzzer. Runs on the stable toolchain without a sanitizer
# (--sanitizer none): the targets are safe Rust, and what they check is
# panics and the assertions in fuzz/fuzz_targets/.
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_EACH="${1:-60}"
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked

for target in event secret settings mysql_server_text; do
    corpus="target/fuzz-corpus/$target"
    mkdir -p "$corpus"
    cp -n fuzz/corpus/"$target"/* "$corpus"/
    printf '\n==> fuzz %s for %ss\n' "$target" "$SECONDS_EACH"
    log="target/fuzz-$target.log"
    status=0
    cargo fuzz run --sanitizer none -O "$target" "$corpus" -- \
        -max_total_time="$SECONDS_EACH" -max_len=65536 -print_final_stats=1 \
        >"$log" 2>&1 || status=$?
    grep -E '^(#[0-9]+ +DONE|stat::number_of_executed_units|stat::peak_rss_mb)' "$log" || true
    if [ "$status" -ne 0 ]; then
        tail -n 40 "$log"
        echo "fuzzing $target failed (exit $status); the input is under fuzz/artifacts/$target/" >&2
        exit "$status"
    fi
done
printf '\n==> fuzzing found nothing\n'
