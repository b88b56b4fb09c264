//! What ships: every rotator binary built for both architectures and
//! present in the SAM template; the template passes cfn-lint and
//! `sam validate --lint` and builds with `sam build`; the Terraform example
//! grants what the template grants.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use rotation_core::testkit::unique_name;
use rotation_testing::workspace_root;

const INSTALL_HINT: &str = "`./scripts/install.sh release` installs it in .venv";

fn venv_tool(name: &str) -> PathBuf {
    let path = workspace_root().join(".venv/bin").join(name);
    assert!(
        path.exists(),
        "{} is missing; {INSTALL_HINT}",
        path.display()
    );
    path
}

/// Runs `tool` at the workspace root with .venv/bin first on PATH (SAM
/// runs cargo-lambda from there) and no telemetry.
fn run(tool: &Path, args: &[&str]) -> Output {
    let path = format!(
        "{}:{}",
        workspace_root().join(".venv/bin").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    Command::new(tool)
        .args(args)
        .current_dir(workspace_root())
        .env("PATH", path)
        .env("SAM_CLI_TELEMETRY", "0")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .output()
        .unwrap_or_else(|e| panic!("run {}: {e}; {INSTALL_HINT}", tool.display()))
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// The rotators' binaries, as the release script lists them
/// (`scripts/crates.py rotators`).
fn rotator_binaries() -> Vec<String> {
    let output = run(&venv_tool("python"), &["scripts/crates.py", "rotators"]);
    assert!(output.status.success(), "crates.py: {}", text(&output));
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Where the release check puts `bin`'s bootstrap for `arch` (unpacked
/// from its release zip).
fn bootstrap_of(arch: &str, bin: &str) -> PathBuf {
    workspace_root()
        .join("target/lambda")
        .join(arch)
        .join(bin)
        .join("bootstrap")
}

/// The ELF machine of `path`: 0x3e for x86-64, 0xb7 for aarch64.
fn elf_machine(path: &Path) -> u16 {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    assert_eq!(
        &bytes[..4],
        b"\x7fELF",
        "{} is not an ELF binary",
        path.display()
    );
    u16::from_le_bytes([bytes[18], bytes[19]])
}

#[test]
fn every_rotator_binary_is_built_for_both_architectures_and_in_the_template() {
    let template = std::fs::read_to_string(workspace_root().join("template.yaml")).unwrap();
    for bin in rotator_binaries() {
        for (arch, machine) in [("x86_64", 0x3e), ("arm64", 0xb7)] {
            let bootstrap = bootstrap_of(arch, &bin);
            assert!(
                bootstrap.exists(),
                "{} is missing; scripts/release-check.sh builds and unpacks it",
                bootstrap.display()
            );
            assert_eq!(elf_machine(&bootstrap), machine, "{}", bootstrap.display());
        }
        assert!(
            template.contains(&format!("Binary: {bin}\n")),
            "template.yaml has no function for {bin}"
        );
    }
}

/// `scripts/release.sh` (which the release check runs): every rotator has a
/// `bootstrap.zip` per architecture holding exactly one executable entry,
/// `bootstrap`, whose bytes are the bootstrap the release tests ran, and
/// `SHA256SUMS` lists every zip with its true checksum.
#[test]
fn release_artifacts_hold_each_rotator_with_checksums() {
    let artifacts = workspace_root().join("target/release-artifacts");
    let sums = std::fs::read_to_string(artifacts.join("SHA256SUMS")).unwrap_or_else(|e| {
        panic!(
            "{}/SHA256SUMS: {e}; run ./scripts/release.sh",
            artifacts.display()
        )
    });
    let mut listed: Vec<String> = sums
        .lines()
        .map(|l| {
            l.split_whitespace()
                .nth(1)
                .expect("a checksum line")
                .to_owned()
        })
        .collect();
    listed.sort();
    let mut expected = Vec::new();
    for bin in rotator_binaries() {
        for arch in ["arm64", "x86_64"] {
            expected.push(format!("./{arch}/{bin}/bootstrap.zip"));
        }
    }
    expected.sort();
    assert_eq!(
        listed, expected,
        "SHA256SUMS lists every zip, and only them"
    );
    let check = Command::new("sha256sum")
        .args(["--check", "--strict", "SHA256SUMS"])
        .current_dir(&artifacts)
        .output()
        .expect("run sha256sum (coreutils)");
    assert!(
        check.status.success(),
        "sha256sum --check: {}",
        text(&check)
    );
    // Each zip holds one executable `bootstrap`, the tests' own.
    let script = "import sys, zipfile\nz = zipfile.ZipFile(sys.argv[1])\nassert [i.filename for i in z.infolist()] == ['bootstrap'], z.namelist()\nassert (z.getinfo('bootstrap').external_attr >> 16) & 0o111, 'not executable'\nsys.stdout.buffer.write(z.read('bootstrap'))";
    for bin in rotator_binaries() {
        for arch in ["arm64", "x86_64"] {
            let zip = artifacts.join(arch).join(&bin).join("bootstrap.zip");
            let output = Command::new(venv_tool("python"))
                .arg("-c")
                .arg(script)
                .arg(&zip)
                .output()
                .expect("run python");
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert!(output.status.success(), "{}: {stderr}", zip.display());
            let bootstrap = bootstrap_of(arch, &bin);
            assert!(
                output.stdout == std::fs::read(&bootstrap).unwrap(),
                "{} is not {}",
                zip.display(),
                bootstrap.display()
            );
        }
    }
}

/// Shared libraries a bootstrap may need: glibc's, which provided.al2023
/// has. No OpenSSL: TLS is compiled in.
const ALLOWED_LIBRARIES: &[&str] = &[
    "libc.so.6",
    "libm.so.6",
    "libgcc_s.so.1",
    "libpthread.so.0",
    "libdl.so.2",
    "librt.so.1",
    "ld-linux-x86-64.so.2",
    "ld-linux-aarch64.so.1",
];

#[test]
fn bootstraps_need_only_glibc() {
    for bin in rotator_binaries() {
        for arch in ["x86_64", "arm64"] {
            let bootstrap = bootstrap_of(arch, &bin);
            let output = Command::new("readelf")
                .arg("-d")
                .arg(&bootstrap)
                .output()
                .expect("run readelf (binutils)");
            assert!(output.status.success(), "readelf: {}", text(&output));
            let needed: Vec<String> = String::from_utf8_lossy(&output.stdout)
                .lines()
                .filter(|l| l.contains("(NEEDED)"))
                .filter_map(|l| l.split('[').nth(1))
                .map(|l| l.trim_end_matches(']').to_owned())
                .collect();
            assert!(
                !needed.is_empty(),
                "{}: no NEEDED entries",
                bootstrap.display()
            );
            for library in &needed {
                assert!(
                    ALLOWED_LIBRARIES.contains(&library.as_str()),
                    "{} needs {library}, which provided.al2023 may not have",
                    bootstrap.display()
                );
            }
        }
    }
}

#[test]
fn the_template_passes_cfn_lint() {
    let output = run(&venv_tool("cfn-lint"), &["template.yaml"]);
    assert!(
        output.status.success() && text(&output).trim().is_empty(),
        "cfn-lint: {}",
        text(&output)
    );
}

#[test]
fn the_template_passes_sam_validate_lint() {
    let output = run(
        &venv_tool("sam"),
        &["validate", "--lint", "--template", "template.yaml"],
    );
    assert!(
        output.status.success() && text(&output).contains("is a valid SAM Template"),
        "sam validate --lint: {}",
        text(&output)
    );
}

#[test]
fn sam_build_builds_every_function_with_cargo_lambda() {
    let build_dir = std::env::temp_dir().join(unique_name("sam-build"));
    let output = run(
        &venv_tool("sam"),
        &[
            "build",
            "--template",
            "template.yaml",
            "--build-dir",
            build_dir.to_str().unwrap(),
        ],
    );
    assert!(output.status.success(), "sam build: {}", text(&output));
    // The template's default architecture is arm64. sam build builds the
    // functions a condition leaves out too.
    for function in [
        "PostgresRotatorFunction",
        "MysqlRotatorFunction",
        "ApiKeyRotatorFunction",
    ] {
        let bootstrap = build_dir.join(function).join("bootstrap");
        assert_eq!(elf_machine(&bootstrap), 0xb7, "{}", bootstrap.display());
    }
    std::fs::remove_dir_all(&build_dir).unwrap();
}

#[test]
fn the_terraform_example_grants_what_the_template_grants() {
    let output = run(&venv_tool("python"), &["scripts/check_iam_sync.py"]);
    assert!(output.status.success(), "{}", text(&output));
    assert!(
        text(&output).contains("9 statements in step"),
        "{}",
        text(&output)
    );
}

/// The traps of a first deployment that no local rotation shows: kept log
/// groups with fixed names, monitoring that exists only with a topic or
/// for every secret of the region, and a Terraform `for_each` that cannot
/// be planned (scripts/check_deployment.py, which fails on each of them as
/// they were).
#[test]
fn the_deployments_avoid_the_first_deployment_traps() {
    let output = run(&venv_tool("python"), &["scripts/check_deployment.py"]);
    assert!(output.status.success(), "{}", text(&output));
    assert!(
        text(&output).contains("deployment checks passed"),
        "{}",
        text(&output)
    );
}
