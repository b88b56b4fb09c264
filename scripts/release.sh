#!/usr/bin/env bash
# Builds a release: every rotator's Lambda function for x86_64 and arm64,
# zipped with its version in the name, a SAM template per architecture
# that deploys those zips as they are (no Rust toolchain needed: README,
# "Deploy without Rust"), and their SHA-256 checksums:
#
#   target/release-artifacts/<rotator>-<version>-<arch>.zip
#   target/release-artifacts/secrets-agent-<version>-<arch>-layer.zip
#   target/release-artifacts/template-<arch>.yaml
#   target/release-artifacts/SHA256SUMS
#
# Each rotator's zip holds one executable, `bootstrap`, ready for `aws
# lambda create-function --zip-file`, a Terraform `filename`, or the
# template. The agent's zip is a Lambda layer: `extensions/secrets-agent`,
# which Lambda starts as an external extension (`aws lambda
# publish-layer-version --zip-file`); the same executable runs as a
# sidecar anywhere else.
# Rotators are the binaries of the publishable crates under rotators/.
# Needs cargo-lambda (./scripts/install.sh release installs it into .venv).
# .github/workflows/release.yml runs it on a version tag and attaches the
# files to the release.
#
#   ./scripts/release.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
out=target/release-artifacts
build=target/release-zips
versions=$(python3 scripts/crates.py rotator-versions)
[ -n "$versions" ] || { echo "no rotator binaries found" >&2; exit 1; }
agent_version=$(python3 scripts/crates.py agent-version)
rm -rf "$out" "$build"
mkdir -p "$out"
for arch in x86_64 arm64; do
    flag=--x86-64
    [ "$arch" = arm64 ] && flag=--arm64
    while read -r rotator version; do
        # One build per rotator: cargo resolves features per build, so
        # built together every rotator carried the others' (MySQL's regex
        # with its Unicode tables, the API key provider's hyper-rustls
        # features): postgres-rotator's x86_64 bootstrap was 7.55 MB built
        # with the others, 7.04 MB alone.
        cargo lambda build --release --package "$rotator" --bin "$rotator" "$flag" \
            --output-format zip --lambda-dir "$build/$arch"
        cp "$build/$arch/$rotator/bootstrap.zip" "$out/$rotator-$version-$arch.zip"
    done <<<"$versions"
    cargo lambda build --release --package secrets-agent --bin secrets-agent "$flag" \
        --extension --output-format zip --lambda-dir "$build/$arch"
    cp "$build/$arch/extensions/secrets-agent.zip" \
        "$out/secrets-agent-$agent_version-$arch-layer.zip"
    python3 scripts/release_template.py "$arch" "$out" <<<"$versions"
done
(cd "$out" && sha256sum -- *.zip template-*.yaml > SHA256SUMS)
cat "$out/SHA256SUMS"
