//! `rotate status`: a secret's versions and rotation settings, and a
//! diagnosis of the states a rotation gets stuck in, each with the command
//! that clears it.

use std::time::{Duration, SystemTime};

use rotation_core::store::embedded::{EmbeddedSecretStore, SecretSummary, VersionInfo};
use rotation_core::{AWSCURRENT, AWSPENDING};
use serde_json::{json, Value};

use crate::error::CliError;
use crate::output;

/// One finding about a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// A stable name, for programs.
    pub code: &'static str,
    /// What is wrong, for a person.
    pub problem: String,
    /// The command that clears it.
    pub fix: String,
}

/// One secret's status.
#[derive(Debug)]
pub struct Status {
    summary: SecretSummary,
    versions: Vec<VersionInfo>,
    findings: Vec<Finding>,
}

/// The status of `secret`.
pub async fn status(store: &EmbeddedSecretStore, secret: &str) -> Result<Status, CliError> {
    let summary = store.summary(secret).await?;
    let versions = store.versions(secret).await?;
    let findings = diagnose(&summary, &versions, SystemTime::now());
    Ok(Status {
        summary,
        versions,
        findings,
    })
}

fn holder<'a>(versions: &'a [VersionInfo], stage: &str) -> Option<&'a VersionInfo> {
    versions
        .iter()
        .find(|v| v.stages.iter().any(|s| s == stage))
}

/// What is wrong with a secret, as of `now`.
pub fn diagnose(
    summary: &SecretSummary,
    versions: &[VersionInfo],
    now: SystemTime,
) -> Vec<Finding> {
    let name = &summary.name;
    let mut findings = Vec::new();
    let current = holder(versions, AWSCURRENT);
    if current.is_none() {
        findings.push(Finding {
            code: "no-current",
            problem: "no version is labelled AWSCURRENT: applications cannot read the secret"
                .into(),
            fix: format!("rotate secret put {name} --value-file FILE"),
        });
    }
    if let Some(pending) = holder(versions, AWSPENDING) {
        if Some(pending.version_id.as_str()) != current.map(|c| c.version_id.as_str()) {
            let step = if pending.has_value {
                "a rotation stopped after createSecret (setSecret, testSecret or finishSecret did not finish)"
            } else {
                "a rotation stopped before createSecret stored a value"
            };
            findings.push(Finding {
                code: if pending.has_value {
                    "rotation-incomplete"
                } else {
                    "pending-without-value"
                },
                problem: format!(
                    "AWSPENDING is on version {}, not on AWSCURRENT's: {step}; no new rotation can start until it finishes",
                    pending.version_id
                ),
                fix: format!(
                    "rotate run {name} (resumes it), or abandon it: rotate secret put {name} --value-file FILE"
                ),
            });
        }
    }
    if !summary.rotation_enabled {
        findings.push(Finding {
            code: "rotation-disabled",
            problem: "rotation is disabled".into(),
            fix: format!("rotate secret enable-rotation {name} --days 30"),
        });
    } else if let Some(days) = summary.rotation_days {
        let since = summary.last_rotated.unwrap_or(summary.created);
        let due = since + Duration::from_secs(u64::from(days) * 86_400);
        if due < now {
            findings.push(Finding {
                code: "rotation-overdue",
                problem: format!(
                    "the last rotation was at {}; with a rotation every {days} days the next was due at {}",
                    output::timestamp(since),
                    output::timestamp(due)
                ),
                fix: format!("rotate run {name}"),
            });
        }
    }
    findings
}

impl Status {
    /// When the next rotation is due, if rotation is on with an interval.
    fn next_rotation(&self) -> Option<SystemTime> {
        let days = self
            .summary
            .rotation_days
            .filter(|_| self.summary.rotation_enabled)?;
        let since = self.summary.last_rotated.unwrap_or(self.summary.created);
        Some(since + Duration::from_secs(u64::from(days) * 86_400))
    }

    /// For a person.
    pub fn text(&self) -> String {
        let s = &self.summary;
        let mut out = format!(
            "{}\n  arn:           {}\n  rotation:      {}\n  last rotation: {}\n  next rotation: {}\n\n",
            s.name,
            s.arn,
            output::rotation_text(s),
            s.last_rotated.map_or("never".into(), output::timestamp),
            self.next_rotation().map_or("-".into(), output::timestamp),
        );
        out.push_str(&output::versions_table(&self.versions));
        if self.findings.is_empty() {
            out.push_str("\n\nNo problem found.");
        }
        for finding in &self.findings {
            out.push_str(&format!(
                "\n\nProblem ({}): {}\n  Fix: {}",
                finding.code, finding.problem, finding.fix
            ));
        }
        out
    }

    /// For a program.
    pub fn json(&self) -> Value {
        let mut status = output::summary_json(&self.summary);
        status["next_rotation"] = json!(self.next_rotation().map(output::timestamp));
        status["versions"] = output::versions_json(&self.versions);
        status["problems"] = self
            .findings
            .iter()
            .map(|f| json!({ "code": f.code, "problem": f.problem, "fix": f.fix }))
            .collect();
        status
    }
}

#[cfg(test)]
mod tests {
    use std::time::UNIX_EPOCH;

    use super::*;

    fn summary(enabled: bool, days: Option<u32>, last: Option<u64>) -> SecretSummary {
        SecretSummary {
            arn: "arn:x".into(),
            name: "app".into(),
            rotation_enabled: enabled,
            rotation_days: days,
            last_rotated: last.map(|s| UNIX_EPOCH + Duration::from_secs(s)),
            created: UNIX_EPOCH,
        }
    }

    fn current() -> Vec<VersionInfo> {
        vec![VersionInfo {
            version_id: "v1".into(),
            stages: vec![AWSCURRENT.into()],
            created: UNIX_EPOCH,
            has_value: true,
        }]
    }

    #[test]
    fn a_rotation_older_than_its_interval_is_overdue() {
        let day = 86_400;
        let now = UNIX_EPOCH + Duration::from_secs(40 * day);
        let codes = |s: &SecretSummary| -> Vec<&str> {
            diagnose(s, &current(), now)
                .iter()
                .map(|f| f.code)
                .collect()
        };
        assert_eq!(
            codes(&summary(true, Some(30), Some(5 * day))),
            vec!["rotation-overdue"]
        );
        assert!(codes(&summary(true, Some(30), Some(20 * day))).is_empty());
        // Never rotated: counted from creation.
        assert_eq!(
            codes(&summary(true, Some(30), None)),
            vec!["rotation-overdue"]
        );
        assert!(codes(&summary(true, None, None)).is_empty());
        let finding = &diagnose(&summary(true, Some(30), None), &current(), now)[0];
        assert_eq!(finding.fix, "rotate run app");
    }

    #[test]
    fn a_secret_without_awscurrent_is_reported() {
        let findings = diagnose(&summary(true, None, None), &[], UNIX_EPOCH);
        assert_eq!(findings[0].code, "no-current");
        assert!(findings[0].fix.starts_with("rotate secret put app"));
    }
}
