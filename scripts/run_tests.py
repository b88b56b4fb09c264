"""Runs the workspace's test binaries, several at a time, as `cargo test`
would run each one, for the test command (scripts/test.sh):

    cargo test --workspace --tests --no-run --message-format=json > BUILD
    python3 scripts/run_tests.py BUILD LANES [-- TEST ARGS...]

`cargo test` runs its binaries one after another, and ours mostly wait on
servers, on moto and on the clock, so one binary at a time leaves the
machine half idle. Each binary runs in its package's directory with the
variables cargo gives it (its package's name and manifest directory, and
`CARGO_BIN_EXE_<name>` for the package's binaries, which the function tier
runs). A binary's output is printed whole when it ends, and the totals at
the end; the exit status is non-zero if any binary failed.
"""

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

# The binaries that take longest, started first so that none is left
# running alone at the end (measured on 2 cores; CONTRIBUTING.md).
LONGEST_FIRST = ["api_key", "postgres", "through_rotations", "mysql", "rotate"]


def binaries(build_output):
    """The test executables, and each package's binaries, from cargo's
    JSON messages."""
    tests, bins = [], {}
    for line in Path(build_output).read_text().splitlines():
        if not line.startswith("{"):
            continue
        message = json.loads(line)
        if message.get("reason") != "compiler-artifact" or not message.get("executable"):
            continue
        target = message["target"]
        package = message["package_id"]
        manifest = Path(message["manifest_path"]).parent
        if message["profile"]["test"]:
            tests.append((package, manifest, target["name"], message["executable"]))
        elif "bin" in target["kind"]:
            bins.setdefault(package, {})[target["name"]] = message["executable"]
    order = {name: i for i, name in enumerate(LONGEST_FIRST)}
    tests.sort(key=lambda t: (order.get(t[2], len(order)), t[2]))
    return tests, bins


def package_name(manifest):
    text = (manifest / "Cargo.toml").read_text()
    return re.search(r'^name\s*=\s*"([^"]+)"', text, re.M).group(1)


def run(test, bins, args):
    package, manifest, name, executable = test
    env = dict(os.environ)
    env["CARGO_MANIFEST_DIR"] = str(manifest)
    env["CARGO_PKG_NAME"] = package_name(manifest)
    for bin_name, path in bins.get(package, {}).items():
        env[f"CARGO_BIN_EXE_{bin_name}"] = path
    started = time.monotonic()
    with tempfile.TemporaryFile() as output:
        status = subprocess.call(
            [executable, *args], cwd=manifest, env=env, stdout=output, stderr=subprocess.STDOUT
        )
        output.seek(0)
        text = output.read().decode("utf-8", "replace")
    took = time.monotonic() - started
    header = f"\n     Running {Path(executable).name} ({env['CARGO_PKG_NAME']}, {took:.0f} s)\n"
    sys.stdout.write(header + text)
    sys.stdout.flush()
    return status, text


def main():
    build_output, lanes = sys.argv[1], int(sys.argv[2])
    args = sys.argv[4:] if len(sys.argv) > 3 and sys.argv[3] == "--" else []
    tests, bins = binaries(build_output)
    if not tests:
        sys.exit(f"no test executables in {build_output}")
    with ThreadPoolExecutor(max_workers=lanes) as pool:
        results = list(pool.map(lambda t: run(t, bins, args), tests))
    passed = failed = ignored = 0
    for _, text in results:
        for m in re.finditer(r"^test result: \w+\. (\d+) passed; (\d+) failed; (\d+) ignored", text, re.M):
            passed, failed, ignored = passed + int(m[1]), failed + int(m[2]), ignored + int(m[3])
    broken = [Path(t[3]).name for t, (status, _) in zip(tests, results) if status != 0]
    print(f"\n==> {len(tests)} test binaries: {passed} tests passed, {failed} failed, {ignored} ignored")
    if broken:
        sys.exit("failed: " + ", ".join(broken))


if __name__ == "__main__":
    main()
