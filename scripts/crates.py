"""The workspace's crates as the scripts and tests need them, from `cargo
metadata`, so that there is one definition of each list:

    python3 scripts/crates.py publishable   # every crate not `publish = false`
    python3 scripts/crates.py rotators      # the binaries of those under rotators/
    python3 scripts/crates.py rotator-versions   # each of those, with its crate's version
    python3 scripts/crates.py agent-version      # the secrets agent's version
"""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def publishable():
    metadata = subprocess.run(
        ["cargo", "metadata", "--no-deps", "--format-version", "1"],
        cwd=ROOT, check=True, capture_output=True, text=True,
    )
    return [p for p in json.loads(metadata.stdout)["packages"] if p["publish"] != []]


def rotator_versions():
    return [
        f"{target['name']} {package['version']}"
        for package in publishable()
        if Path(package["manifest_path"]).relative_to(ROOT).parts[0] == "rotators"
        for target in package["targets"]
        if "bin" in target["kind"]
    ]


def agent_version():
    return [p["version"] for p in publishable() if p["name"] == "secrets-agent"]


def rotators():
    return [line.split()[0] for line in rotator_versions()]


if __name__ == "__main__":
    lists = {
        "publishable": lambda: [p["name"] for p in publishable()],
        "rotators": rotators,
        "rotator-versions": rotator_versions,
        "agent-version": agent_version,
    }
    if len(sys.argv) != 2 or sys.argv[1] not in lists:
        sys.exit(f"usage: {sys.argv[0]} {'|'.join(lists)}")
    names = lists[sys.argv[1]]()
    if not names:
        sys.exit(f"no {sys.argv[1]} crates found")
    print("\n".join(names))
