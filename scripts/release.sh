#!/usr/bin/env bash
# Builds every rotator's Lambda function for x86_64 and arm64 as
# bootstrap.zip, ready for `aws lambda create-function --zip-file` or a
# Terraform `filename`, with SHA-256 checksums:
#
#   target/release-artifacts/<arch>/<rotator>/bootstrap.zip
#   target/release-artifacts/SHA256SUMS
#
# Rotators are the binaries of the publishable crates under rotators/.
# Needs cargo-lambda (the test command installs it into .venv).
#
#   ./scripts/release.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
out=target/release-artifacts
mapfile -t rotators < <(python3 scripts/crates.py rotators)
[ ${#rotators[@]} -gt 0 ] || { echo "no rotator binaries found" >&2; exit 1; }
rm -rf "$out"
packages=()
for rotator in "${rotators[@]}"; do packages+=(--bin "$rotator"); done
for arch in x86_64 arm64; do
    flag=--x86-64
    [ "$arch" = arm64 ] && flag=--arm64
    cargo lambda build --release "${packages[@]}" "$flag" \
        --output-format zip --lambda-dir "$out/$arch"
done
(cd "$out" && find . -name bootstrap.zip | sort | xargs sha256sum > SHA256SUMS)
cat "$out/SHA256SUMS"
