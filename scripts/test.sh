#!/usr/bin/env bash
# The project's test command: installs what the tests need on a fresh
# Debian machine with Rust, then runs every check and test.
#
#   ./scripts/test.sh
#
# Installs (only what is missing):
#   - Debian packages: python3-venv (for moto's virtualenv), postgresql,
#     mariadb-server (the MySQL rotator's tests), redis-server (the Redis
#     example's tests), openssl (the TLS tests'
#     throwaway certificate authority), binutils (readelf, to check what
#     the bootstraps link), g++ (libFuzzer)
#     (the tests run their own throwaway clusters; the packaged one is left
#     alone)
#   - .venv/ at the workspace root with moto's server (the Secrets Manager
#     API), cargo-lambda (with zig, for the Lambda builds), aws-sam-cli and
#     cfn-lint (the template checks) and python-hcl2 (reads the Terraform
#     example)
#   - the Rust standard library for aarch64 (the arm64 Lambda build)
#   - cargo-fuzz (cargo install)
#
# Then builds every rotator's Lambda bootstrap for x86_64 (which the
# end-to-end tests run) and arm64, runs fmt, clippy, doc and the tests, and
# fuzzes the input parsers briefly (FUZZ_SECONDS each, default 20; longer
# runs: ./scripts/fuzz.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

MOTO_VERSION="5.2.5"
# Pinned so CI runs what was tested.
PYTHON_TOOLS=(
    "moto[server]==$MOTO_VERSION"
    "cargo-lambda==1.9.2"
    "aws-sam-cli==1.170.0"
    "cfn-lint==1.58.0"
    "python-hcl2==8.1.4"
)

log() { printf '\n==> %s\n' "$*"; }

apt_install() {
    if [ "$(id -u)" -ne 0 ]; then
        echo "missing Debian packages: $*; install them with: sudo apt-get install -y $*" >&2
        exit 1
    fi
    log "apt-get install $*"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "$@" >/dev/null
}

install_system_packages() {
    local missing=()
    command -v python3 >/dev/null || missing+=(python3)
    if command -v python3 >/dev/null && ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
        missing+=(python3-venv)
    fi
    compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || missing+=(postgresql)
    command -v openssl >/dev/null || missing+=(openssl)
    command -v readelf >/dev/null || missing+=(binutils)
    command -v g++ >/dev/null || missing+=(g++)
    command -v redis-server >/dev/null || missing+=(redis-server)
    # Installing it starts no server here; the tests run their own.
    [ -x /usr/sbin/mariadbd ] || command -v mariadbd >/dev/null || missing+=(mariadb-server)
    [ ${#missing[@]} -eq 0 ] || apt_install "${missing[@]}"
}

install_python_tools() {
    if [ ! -x .venv/bin/python ]; then
        log "python3 -m venv .venv"
        python3 -m venv .venv
    fi
    # pip resolves nothing when every pin is already installed.
    local missing=()
    for requirement in "${PYTHON_TOOLS[@]}"; do
        local name="${requirement%%==*}" version="${requirement##*==}"
        name="${name%%\[*}"
        if [ "$(.venv/bin/pip show "$name" 2>/dev/null | awk '/^Version:/ {print $2}')" != "$version" ]; then
            missing+=("$requirement")
        fi
    done
    if [ ${#missing[@]} -gt 0 ]; then
        log "pip install ${missing[*]}"
        .venv/bin/pip install -q --disable-pip-version-check "${missing[@]}"
    fi
}

install_rust_targets() {
    if ! rustup target list --installed | grep -qx aarch64-unknown-linux-gnu; then
        log "rustup target add aarch64-unknown-linux-gnu"
        rustup target add aarch64-unknown-linux-gnu
    fi
}

install_system_packages
install_python_tools
install_rust_targets
export PATH="$PWD/.venv/bin:$PATH"
export SAM_CLI_TELEMETRY=0
# CI builds from a clean checkout once: incremental state (0.7 GB on a
# clean run) would only be written, never reused.
export CARGO_INCREMENTAL=0

# Every rotator's release artifacts (scripts/release.sh: a bootstrap.zip
# per architecture and SHA256SUMS), unpacked where the tests run them, and
# the benchmarks' empty function. The end-to-end tests run the x86_64
# build (this machine's); the arm64 build proves the cross build. The Redis
# example's binary is built by clippy and the tests, not released.
log "release artifacts (scripts/release.sh), unpacked into target/lambda"
./scripts/release.sh
python3 - <<'PY'
import os, pathlib, zipfile
for archive in sorted(pathlib.Path("target/release-artifacts").glob("*/*/bootstrap.zip")):
    arch, rotator = archive.parts[-3], archive.parts[-2]
    target = pathlib.Path("target/lambda", arch, rotator)
    target.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(archive) as z:
        (target / "bootstrap").write_bytes(z.read("bootstrap"))
    os.chmod(target / "bootstrap", 0o755)
    print(f"unpacked {archive} into {target}")
PY
cargo lambda build --release --package lambda-floor --x86-64 --lambda-dir target/lambda/x86_64
cargo lambda build --release --package lambda-floor --arm64 --lambda-dir target/lambda/arm64

log "cargo fmt --check"
cargo fmt --all -- --check

log "cargo clippy"
cargo clippy --workspace --all-targets -- -D warnings

log "cargo doc"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --quiet

# The publishable crates package (metadata, readme, license, versions of
# path dependencies); building them from the packages is checked by hand
# (`cargo package` without --no-verify, four minutes more).
# Every crate whose manifest does not say `publish = false`.
mapfile -t PUBLISHABLE < <(python3 scripts/crates.py publishable | sed 's/^/--package=/')
log "cargo package (${PUBLISHABLE[*]})"
cargo package "${PUBLISHABLE[@]}" --allow-dirty --no-verify --quiet

log "cargo test"
cargo test --workspace -- --nocapture 2>&1 | tee target/test-output.log
grep -E '^test result' target/test-output.log | awk '{p+=$4; f+=$6} END {printf "\n==> %d tests passed, %d failed\n", p, f}'

# A short fuzzing run of the event, secret and settings parsers; any crash,
# panic or failed property fails the command.
log "fuzz (${FUZZ_SECONDS:-20} s per target)"
./scripts/fuzz.sh "${FUZZ_SECONDS:-20}"
