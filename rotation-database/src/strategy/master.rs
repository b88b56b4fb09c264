//! Which master secrets alternating users may use, and where a master logs
//! in. Whoever may edit the rotated secret chooses every field of it, so
//! nothing here reads an address from the rotated secret: the master's
//! address comes from the master secret itself or, for an RDS-managed
//! master secret, from the RDS API.

use std::sync::Arc;

use serde_json::Value;

use rotation_core::RotationContext;
use rotation_core::{RotatorError, SettingsError};

use crate::rds::{default_directory, RdsDirectory, PRIMARY_CLUSTER_TAG, PRIMARY_INSTANCE_TAG};
use crate::secret::{DatabaseSecret, EngineSpec};

/// The master secrets a function may use, comma-separated ARNs, each full
/// or with its random suffix written `-??????` (the form IAM policies and
/// the quick start use). Unset or empty: none, and alternating users is
/// refused, naming this variable; the allow-list never depends on a
/// setting being present.
pub const MASTER_SECRET_ARNS_VARIABLE: &str = "MASTER_SECRET_ARNS";

/// What the alternating-users strategy trusts for the master's side.
pub struct MasterPolicy {
    allowed: Allowed,
    rds: Arc<dyn RdsDirectory>,
}

/// The master secrets a policy allows.
enum Allowed {
    /// Those listed.
    Listed(Vec<String>),
    /// Any the function's role can read: only ever chosen in code
    /// ([`MasterPolicy::new`] with `None`), never by a missing setting.
    Any,
    /// None: the settings name no allow-list.
    Unset,
}

impl Default for MasterPolicy {
    /// Any master secret; RDS-managed ones located through the RDS API from
    /// the SDK's environment.
    fn default() -> Self {
        Self::new(None, default_directory())
    }
}

/// A master login and what vouches for where it goes.
pub(crate) struct Master {
    /// The login: the master secret's fields, with the address from the
    /// master secret or from RDS.
    pub login: DatabaseSecret,
    /// Hosts RDS says serve the same data as `login` (a cluster's reader
    /// endpoint, a read replica); empty when the address came from the
    /// master secret.
    pub replica_hosts: Vec<String>,
}

impl MasterPolicy {
    /// A policy allowing the master secrets in `allowed` (`None`: any, a
    /// choice made in code, as the `rotate` tool does for its own local
    /// store), with RDS-managed master secrets located through `rds`.
    pub fn new(allowed: Option<Vec<String>>, rds: Arc<dyn RdsDirectory>) -> Self {
        let allowed = allowed.map_or(Allowed::Any, Allowed::Listed);
        Self { allowed, rds }
    }

    /// The policy from `MASTER_SECRET_ARNS`; unset or empty, it allows no
    /// master secret.
    pub fn from_env() -> Result<Self, SettingsError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// [`from_env`](Self::from_env) through `lookup` (a variable's value,
    /// if set).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let allowed = match lookup(MASTER_SECRET_ARNS_VARIABLE) {
            Some(value) if !value.trim().is_empty() => Allowed::Listed(parse_arns(&value)?),
            _ => Allowed::Unset,
        };
        Ok(Self {
            allowed,
            rds: default_directory(),
        })
    }

    /// Refuses a master secret outside the allow-list, naming it, and any
    /// master secret when there is no allow-list.
    pub(crate) fn check_allowed(&self, master_arn: &str) -> Result<(), RotatorError> {
        match &self.allowed {
            Allowed::Listed(allowed) if !allowed.iter().any(|a| allows(a, master_arn)) => {
                Err(RotatorError::Refused(format!(
                    "the secret names the master secret {master_arn}, which this function may not use: {MASTER_SECRET_ARNS_VARIABLE} allows only {}",
                    allowed.join(", ")
                )))
            }
            Allowed::Unset => Err(RotatorError::Refused(format!(
                "the secret names the master secret {master_arn} (alternating users), and {MASTER_SECRET_ARNS_VARIABLE} is not set: alternating users needs the list of master secrets this function may use (the template's MasterSecretArn, Terraform's master_secret_arn), so that editing a rotated secret cannot choose another"
            ))),
            Allowed::Listed(_) | Allowed::Any => Ok(()),
        }
    }

    /// The master's login. Every field comes from the master secret; a
    /// master secret without `host` must be RDS-managed, and its address
    /// comes from RDS. Only `engine`, which selects nothing, may come from
    /// the rotated secret (RDS-managed master secrets have none).
    pub(crate) async fn resolve(
        &self,
        ctx: &RotationContext<'_>,
        master_arn: &str,
        rotated: &DatabaseSecret,
        spec: &EngineSpec,
    ) -> Result<Master, RotatorError> {
        let unusable = |reason: String| {
            RotatorError::Refused(format!(
                "the master secret {master_arn} is unusable: {reason}"
            ))
        };
        let mut master = ctx.other_secret(master_arn).await?;
        // Whoever may edit rotated secrets must not make one the master of
        // another: a master secret never names a master itself.
        if master.get("masterarn").is_some() {
            return Err(RotatorError::Refused(format!(
                "the master secret {master_arn} is itself a rotated secret of alternating users (it has `masterarn`); a rotated secret is never a master"
            )));
        }
        if master.get("engine").is_none() {
            master.set("engine", rotated.engine.as_str());
        }
        let mut replica_hosts = Vec::new();
        if master.get("host").is_none() {
            let database = self.locate(ctx, master_arn).await?;
            tracing::info!(
                database = %database.arn,
                "setSecret: the master secret is RDS-managed; its address comes from RDS"
            );
            master.set("host", database.host.as_str());
            master.set("port", Value::from(database.port));
            replica_hosts = database.replica_hosts;
        }
        let login = DatabaseSecret::parse(&master, spec).map_err(|e| unusable(e.to_string()))?;
        Ok(Master {
            login,
            replica_hosts,
        })
    }

    async fn locate(
        &self,
        ctx: &RotationContext<'_>,
        master_arn: &str,
    ) -> Result<crate::rds::RdsDatabase, RotatorError> {
        let tags = ctx.other_secret_tags(master_arn).await?;
        let lookup = |what: String| {
            move |e| RotatorError::backend(format!("look up {what} in the RDS API"), e)
        };
        if let Some(arn) = tags.get(PRIMARY_CLUSTER_TAG) {
            self.rds
                .cluster(arn)
                .await
                .map_err(lookup(format!("the DB cluster {arn}")))
        } else if let Some(arn) = tags.get(PRIMARY_INSTANCE_TAG) {
            self.rds
                .instance(arn)
                .await
                .map_err(lookup(format!("the DB instance {arn}")))
        } else {
            Err(RotatorError::Refused(format!(
                "the master secret {master_arn} has no `host` and is not RDS-managed (no {PRIMARY_INSTANCE_TAG} or {PRIMARY_CLUSTER_TAG} tag); the master's address is never taken from the rotated secret: add `host` and `port` to the master secret"
            )))
        }
    }
}

fn parse_arns(value: &str) -> Result<Vec<String>, SettingsError> {
    let arns: Vec<String> = value
        .split(',')
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(str::to_owned)
        .collect();
    let refuse = |reason: String| SettingsError {
        name: MASTER_SECRET_ARNS_VARIABLE,
        reason,
    };
    if let Some(bad) = arns.iter().find(|a| !a.starts_with("arn:")) {
        return Err(refuse(format!(
            "`{bad}` is not a secret ARN (a comma-separated list of ARNs)"
        )));
    }
    let wildcard_elsewhere = |arn: &&String| {
        arn.strip_suffix(RANDOM_SUFFIX)
            .unwrap_or(arn)
            .contains(['?', '*'])
    };
    if let Some(bad) = arns.iter().find(wildcard_elsewhere) {
        return Err(refuse(format!(
            "`{bad}` has a wildcard other than the random suffix: write the full ARN, or end it with `{RANDOM_SUFFIX}`"
        )));
    }
    Ok(arns)
}

/// How IAM policies write the six random characters Secrets Manager
/// appends to a secret's name in its ARN.
const RANDOM_SUFFIX: &str = "-??????";

/// Whether the allow-list entry `allowed` names `arn`: the same ARN, or,
/// for an entry ending in `-??????`, the same ARN up to six random
/// characters (letters and digits, as Secrets Manager makes them).
fn allows(allowed: &str, arn: &str) -> bool {
    match allowed.strip_suffix("??????") {
        Some(prefix) if allowed.ends_with(RANDOM_SUFFIX) => {
            arn.strip_prefix(prefix).is_some_and(|suffix| {
                suffix.len() == 6 && suffix.bytes().all(|b| b.is_ascii_alphanumeric())
            })
        }
        _ => allowed == arn,
    }
}

/// Whether two logins reach the same address (host names compared as DNS
/// does).
pub(crate) fn same_address(a: &DatabaseSecret, b: &DatabaseSecret) -> bool {
    crate::same_host(&a.host, &b.host) && a.port == b.port
}

/// Whether `host` is among `hosts`.
pub(crate) fn listed(hosts: &[String], host: &str) -> bool {
    hosts.iter().any(|h| crate::same_host(h, host))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(value: &'static str) -> impl Fn(&str) -> Option<String> {
        move |name| (name == MASTER_SECRET_ARNS_VARIABLE).then(|| value.to_owned())
    }

    #[test]
    fn the_allow_list_parses_and_refuses_by_name() {
        let policy = MasterPolicy::from_lookup(lookup(
            " arn:aws:secretsmanager:us-east-1:1:secret:a , arn:aws:secretsmanager:us-east-1:1:secret:b",
        ))
        .unwrap();
        policy
            .check_allowed("arn:aws:secretsmanager:us-east-1:1:secret:b")
            .unwrap();
        let error = policy
            .check_allowed("arn:aws:secretsmanager:us-east-1:1:secret:evil")
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("secret:evil") && error.contains(MASTER_SECRET_ARNS_VARIABLE),
            "{error}"
        );
        // No allow-list in the settings: no master at all, naming the
        // variable; only code may allow any.
        for unset in ["", "  "] {
            let closed = MasterPolicy::from_lookup(lookup(unset)).unwrap();
            let error = closed
                .check_allowed("arn:anything")
                .unwrap_err()
                .to_string();
            assert!(
                error.contains(MASTER_SECRET_ARNS_VARIABLE) && error.contains("not set"),
                "{error}"
            );
        }
        let missing = MasterPolicy::from_lookup(|_| None).unwrap();
        missing.check_allowed("arn:anything").unwrap_err();
        MasterPolicy::default()
            .check_allowed("arn:anything")
            .unwrap();
        let bad = MasterPolicy::from_lookup(lookup("master-secret"))
            .err()
            .unwrap();
        assert_eq!(bad.name, MASTER_SECRET_ARNS_VARIABLE);
    }

    /// The `-??????` form an operator also writes in the template's ARN
    /// parameters allows the secret of that name whatever its random
    /// suffix, and nothing else: not a longer name, not another name.
    #[test]
    fn the_allow_list_takes_the_random_suffix_wildcard() {
        let policy = MasterPolicy::from_lookup(lookup(
            "arn:aws:secretsmanager:eu-west-1:1:secret:rds-master-??????",
        ))
        .unwrap();
        policy
            .check_allowed("arn:aws:secretsmanager:eu-west-1:1:secret:rds-master-AbC123")
            .unwrap();
        for refused in [
            "arn:aws:secretsmanager:eu-west-1:1:secret:rds-master-other-AbC123",
            "arn:aws:secretsmanager:eu-west-1:1:secret:rds-master-AbC12",
            "arn:aws:secretsmanager:eu-west-1:1:secret:rds-master-AbC1234",
            "arn:aws:secretsmanager:eu-west-1:1:secret:rds-master-AbC12/",
            "arn:aws:secretsmanager:eu-west-1:1:secret:rds-mastex-AbC123",
            "arn:aws:secretsmanager:eu-west-2:1:secret:rds-master-AbC123",
        ] {
            let error = policy.check_allowed(refused).unwrap_err().to_string();
            assert!(error.contains(refused), "{refused}: {error}");
        }
        for bad in [
            "arn:aws:secretsmanager:eu-west-1:1:secret:rds-*",
            "arn:aws:secretsmanager:eu-west-1:1:secret:rds-master-???",
            "arn:aws:secretsmanager:eu-west-1:1:secret:rds-??????-master-??????",
        ] {
            let error = MasterPolicy::from_lookup(lookup(bad)).err().unwrap();
            assert!(error.reason.contains(bad), "{bad}: {}", error.reason);
        }
    }
}
