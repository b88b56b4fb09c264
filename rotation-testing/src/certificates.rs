//! A throwaway certificate authority and server certificate, made with the
//! `openssl` command, for the TLS tests.

use std::path::{Path, PathBuf};
use std::process::Command;

/// How to install the `openssl` command.
pub const INSTALL_HINT: &str =
    "install it with `apt-get install -y openssl` (the README's test command does)";

/// Files of a test authority and one server certificate it signed.
#[derive(Debug, Clone)]
pub struct TestCertificates {
    /// The authority's certificate (PEM): what a client must trust.
    pub ca: PathBuf,
    /// The server's certificate (PEM).
    pub server_certificate: PathBuf,
    /// The server's private key (PEM).
    pub server_key: PathBuf,
}

fn openssl(dir: &Path, args: &[&str]) {
    let output = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("run openssl: {e}; {INSTALL_HINT}"));
    assert!(
        output.status.success(),
        "openssl {} failed: {}",
        args.first().unwrap_or(&""),
        String::from_utf8_lossy(&output.stderr)
    );
}

impl TestCertificates {
    /// A new authority in `dir` and a server certificate for
    /// `subject_alt_names` (e.g. `IP:127.0.0.1`), P-256 keys, valid two days.
    pub fn issue(dir: &Path, subject_alt_names: &str) -> Self {
        std::fs::create_dir_all(dir).expect("create the certificate directory");
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"];
        let mut ca = vec!["req", "-x509", "-nodes", "-days", "2"];
        ca.extend(ec);
        ca.extend([
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-subj",
            "/CN=rotation test CA",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ]);
        openssl(dir, &ca);
        let mut request = vec!["req", "-nodes"];
        request.extend(ec);
        request.extend([
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=rotation test server",
        ]);
        openssl(dir, &request);
        std::fs::write(
            dir.join("server.ext"),
            format!(
                "basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\nsubjectAltName={subject_alt_names}\n"
            ),
        )
        .expect("write the extensions file");
        openssl(
            dir,
            &[
                "x509",
                "-req",
                "-in",
                "server.csr",
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-days",
                "2",
                "-extfile",
                "server.ext",
                "-out",
                "server.crt",
            ],
        );
        // PostgreSQL refuses a key others can read.
        std::fs::set_permissions(
            dir.join("server.key"),
            std::os::unix::fs::PermissionsExt::from_mode(0o600),
        )
        .expect("restrict the server key");
        Self {
            ca: dir.join("ca.pem"),
            server_certificate: dir.join("server.crt"),
            server_key: dir.join("server.key"),
        }
    }
}
