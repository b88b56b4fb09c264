#!/usr/bin/env bash
# The project's test command: installs what the tests need on a fresh
# Debian machine with Rust, then runs every check and test.
#
#   ./scripts/test.sh
#
# Installs (only what is missing):
#   - Debian packages: python3-venv (for moto's virtualenv), postgresql,
#     openssl (the TLS tests' throwaway certificate authority)
#     (the tests run their own throwaway clusters; the packaged one is left
#     alone)
#   - .venv/ at the workspace root with moto's server (the Secrets Manager API)
set -euo pipefail
cd "$(dirname "$0")/.."

MOTO_VERSION="5.2.5"

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
    [ ${#missing[@]} -eq 0 ] || apt_install "${missing[@]}"
}

install_python_tools() {
    if [ ! -x .venv/bin/python ]; then
        log "python3 -m venv .venv"
        python3 -m venv .venv
    fi
    if ! .venv/bin/python -c "import moto, sys; sys.exit(moto.__version__ != '$MOTO_VERSION')" 2>/dev/null \
        || [ ! -x .venv/bin/moto_server ]; then
        log "pip install moto[server]==$MOTO_VERSION"
        .venv/bin/pip install -q --disable-pip-version-check "moto[server]==$MOTO_VERSION"
    fi
}

install_system_packages
install_python_tools

log "cargo fmt --check"
cargo fmt --all -- --check

log "cargo clippy"
cargo clippy --workspace --all-targets -- -D warnings

log "cargo doc"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --quiet

log "cargo test"
cargo test --workspace -- --nocapture 2>&1 | tee target/test-output.log
grep -E '^test result' target/test-output.log | awk '{p+=$4; f+=$6} END {printf "\n==> %d tests passed, %d failed\n", p, f}'
