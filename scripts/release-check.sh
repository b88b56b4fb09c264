#!/usr/bin/env bash
# The release tier (CONTRIBUTING.md): builds what ships and checks it.
#
#   ./scripts/release-check.sh
#
# - every rotator's LTO release build for x86_64 and arm64, zipped with
#   checksums (scripts/release.sh), unpacked into target/lambda/<arch>/
#   (where the benchmarks look too; scripts/bench.sh adds the empty
#   `lambda-floor` they compare with, which nothing here needs);
# - `cargo package` of the publishable crates;
# - the release test binary (rotation-testing's tests/release): the
#   artifacts' architectures, checksums and linked libraries, cfn-lint,
#   `sam validate --lint`, `sam build`, the release templates (lint and
#   `sam package` to moto's S3), actionlint on the release workflow, the
#   IAM sync and deployment checks of the template and the Terraform
#   example, and one rotation per rotator through the shipped x86_64
#   bootstrap.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/install.sh services release
export PATH="$PWD/.venv/bin:$PATH"
export SAM_CLI_TELEMETRY=0

log() { printf '\n==> %s\n' "$*"; }

log "release artifacts (scripts/release.sh), unpacked into target/lambda"
./scripts/release.sh
python3 - <<'PY'
import os, pathlib, zipfile
for archive in sorted(pathlib.Path("target/release-artifacts").glob("*.zip")):
    if archive.stem.endswith("-layer"):
        # secrets-agent-<version>-<arch>-layer.zip: the agent, for the
        # benchmark, at target/lambda/<arch>/secrets-agent/secrets-agent
        name, _version, arch, _layer = archive.stem.rsplit("-", 3)
        entry, unpacked = f"extensions/{name}", name
    else:
        # <rotator>-<version>-<arch>.zip
        name, _version, arch = archive.stem.rsplit("-", 2)
        entry, unpacked = "bootstrap", "bootstrap"
    target = pathlib.Path("target/lambda", arch, name)
    target.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(archive) as z:
        (target / unpacked).write_bytes(z.read(entry))
    os.chmod(target / unpacked, 0o755)
    print(f"unpacked {archive} into {target}")
PY

# The publishable crates package (metadata, readme, license, versions of
# path dependencies); building them from the packages is checked by hand
# (`cargo package` without --no-verify, four minutes more).
mapfile -t PUBLISHABLE < <(python3 scripts/crates.py publishable | sed 's/^/--package=/')
log "cargo package (${PUBLISHABLE[*]})"
cargo package "${PUBLISHABLE[@]}" --allow-dirty --no-verify --quiet

log "release tests, on the shipped x86_64 artifacts"
# --workspace, so that features resolve as in the test build and its
# dependencies are reused.
ROTATION_LAMBDA_DIR=target/lambda/x86_64 cargo test --workspace --test release
