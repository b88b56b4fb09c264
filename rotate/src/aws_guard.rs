//! What a run on Secrets Manager (`--aws`) refuses before it starts: there
//! the rotated secret may be edited by people who cannot use the
//! operator's credentials or reach the operator's network, so its content
//! must not choose what runs (`--rotator` is required), must not aim a
//! rotator at the operator's own machine or its link-local services (a
//! Unix socket, loopback, link-local: `--allow-local-hosts` says the
//! operator means it), and may use a master secret only from the
//! `MASTER_SECRET_ARNS` allow-list.

use std::net::IpAddr;

use rotation_core::store::AwsSecretStore;
use rotation_core::SecretJson;
use rotation_database::MASTER_SECRET_ARNS_VARIABLE;

use crate::cli::RotatorKind;
use crate::error::CliError;
use crate::secrets_manager;

/// Checks a run or step of `secret` on Secrets Manager, whose AWSCURRENT
/// value is `current` (`None`: not JSON, which the rotator refuses).
pub fn check(
    current: Option<&SecretJson>,
    secret: &str,
    rotator: Option<RotatorKind>,
    allow_local_hosts: bool,
) -> Result<(), CliError> {
    if rotator.is_none() {
        return Err(CliError::Usage(format!(
            "on Secrets Manager, name the rotator with --rotator: {secret}'s `engine` must not choose what runs with your credentials"
        )));
    }
    let Some(current) = current else {
        return Ok(());
    };
    if let (Ok(Some(host)), false) = (current.optional_str("host"), allow_local_hosts) {
        if let Some(kind) = local_host(host) {
            return Err(CliError::Usage(format!(
                "{secret}'s host `{host}` is {kind}: a run on Secrets Manager would log in there with your machine's access; add --allow-local-hosts if you mean it"
            )));
        }
    }
    let allow_list = std::env::var(MASTER_SECRET_ARNS_VARIABLE).unwrap_or_default();
    if current.get("masterarn").is_some() && allow_list.trim().is_empty() {
        return Err(CliError::Usage(format!(
            "{secret} names a master secret (alternating users): on Secrets Manager, set {MASTER_SECRET_ARNS_VARIABLE} to the master secrets this run may use"
        )));
    }
    Ok(())
}

/// Refuses a run on a secret whose rotation is enabled or that has a
/// function, unless `force`: the run plays Secrets Manager's part without
/// its per-secret lock, and a scheduled rotation could start beside it.
pub async fn check_schedule(
    store: &AwsSecretStore,
    secret: &str,
    force: bool,
) -> Result<(), CliError> {
    if force {
        return Ok(());
    }
    let described = store
        .client()
        .describe_secret()
        .secret_id(secret)
        .send()
        .await
        .map_err(|e| secrets_manager::sdk_error("DescribeSecret", secret, e))?;
    let enabled = described.rotation_enabled().unwrap_or(false);
    let function = described.rotation_lambda_arn();
    if !enabled && function.is_none() {
        return Ok(());
    }
    Err(CliError::Usage(format!(
        "{secret} has rotation {} (function {}): a rotation Secrets Manager starts could run beside this one; disable it, or add --force to run anyway (to resume a stuck rotation, for one)",
        if enabled { "enabled" } else { "disabled" },
        function.unwrap_or("none")
    )))
}

/// What a host is when it is on this machine or its link: `None` for any
/// other host.
fn local_host(host: &str) -> Option<&'static str> {
    let host = host.trim();
    if host.starts_with('/') || host.starts_with('@') {
        return Some("a Unix socket");
    }
    let name = host.trim_end_matches('.').to_ascii_lowercase();
    if name == "localhost" || name.ends_with(".localhost") {
        return Some("this machine (loopback)");
    }
    let address = name.trim_start_matches('[').trim_end_matches(']');
    let address = address.split('%').next().unwrap_or(address);
    match address.parse::<IpAddr>().ok()?.to_canonical() {
        ip if ip.is_loopback() || ip.is_unspecified() => Some("this machine (loopback)"),
        IpAddr::V4(v4) if v4.is_link_local() => Some("a link-local address"),
        IpAddr::V6(v6) if v6.is_unicast_link_local() => Some("a link-local address"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_hosts_are_named_and_others_pass() {
        for (host, kind) in [
            ("/var/run/postgresql", "a Unix socket"),
            ("@abstract", "a Unix socket"),
            ("LOCALHOST.", "this machine (loopback)"),
            ("db.localhost", "this machine (loopback)"),
            ("127.8.0.1", "this machine (loopback)"),
            ("::1", "this machine (loopback)"),
            ("[::1]", "this machine (loopback)"),
            ("::ffff:127.0.0.1", "this machine (loopback)"),
            ("0.0.0.0", "this machine (loopback)"),
            ("169.254.169.254", "a link-local address"),
            ("fe80::1%eth0", "a link-local address"),
        ] {
            assert_eq!(local_host(host), Some(kind), "{host}");
        }
        for host in [
            "db.example.com",
            "10.0.0.5",
            "2001:db8::1",
            "localhost.example.com",
        ] {
            assert_eq!(local_host(host), None, "{host}");
        }
    }
}
