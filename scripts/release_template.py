"""Writes the SAM template of a release for one architecture: template.yaml
with each function's code taken from its release zip beside the template
instead of built from source, so that an operator deploys the release as
it is, with no Rust toolchain (README, "Deploy without Rust"):

    python3 scripts/release_template.py ARCH OUT_DIR < versions

`versions` holds `<binary> <version>` lines (`scripts/crates.py
rotator-versions`); the template goes to OUT_DIR/template-ARCH.yaml and
names OUT_DIR's `<binary>-<version>-ARCH.zip`. The Architecture
parameter allows ARCH only: a zip runs on the architecture it was built
for.
"""

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main():
    arch, out = sys.argv[1], Path(sys.argv[2])
    versions = dict(line.split() for line in sys.stdin if line.strip())
    text = (ROOT / "template.yaml").read_text()

    parameter = "    Default: arm64\n    AllowedValues: [arm64, x86_64]\n"
    if parameter not in text:
        sys.exit("template.yaml: the Architecture parameter changed; update release_template.py")
    text = text.replace(parameter, f"    Default: {arch}\n    AllowedValues: [{arch}]\n")

    # Each function: the cargo-lambda build metadata goes, and its CodeUri
    # (the next one after the metadata) becomes the zip.
    build = re.compile(
        r"    Metadata:\n      BuildMethod: rust-cargolambda\n"
        r"      BuildProperties:\n        Binary: (?P<binary>[a-z0-9-]+)\n"
    )
    functions = 0
    while match := build.search(text):
        binary = match["binary"]
        if binary not in versions:
            sys.exit(f"template.yaml builds {binary}, which is not a rotator binary")
        code = text.index("      CodeUri: .\n", match.end())
        zip_name = f"{binary}-{versions[binary]}-{arch}.zip"
        if not (out / zip_name).exists():
            sys.exit(f"{out / zip_name} is missing: build it first (scripts/release.sh)")
        text = (
            text[: match.start()]
            + text[match.end() : code]
            + f"      CodeUri: {zip_name}\n"
            + text[code + len("      CodeUri: .\n") :]
        )
        functions += 1
    if functions != len(versions):
        sys.exit(f"template.yaml has {functions} functions for {len(versions)} rotators")
    text = text.replace(
        "  Each function is a `bootstrap` built by cargo-lambda for provided.al2023.\n",
        f"  Each function is the release's `bootstrap` zip for {arch} (provided.al2023).\n",
    )
    (out / f"template-{arch}.yaml").write_text(text)


if __name__ == "__main__":
    main()
