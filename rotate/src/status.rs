//! `rotate status`: a secret's versions and rotation settings, and a
//! diagnosis of the states a rotation gets stuck in, each with the command
//! that clears it, on the embedded store or on Secrets Manager.

use std::time::{Duration, SystemTime};

use rotation_core::store::embedded::{EmbeddedSecretStore, VersionInfo};
use rotation_core::{store::AWSCURRENT, store::AWSPENDING};
use serde_json::{json, Value};

use crate::error::CliError;
use crate::output;

/// Where the secret lives, which decides the commands that fix it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// The embedded store: `rotate` commands.
    Embedded,
    /// Secrets Manager: `aws secretsmanager` commands.
    SecretsManager,
}

/// What a store says of one secret's rotation.
#[derive(Debug, Clone)]
pub struct SecretState {
    /// Where it lives.
    pub place: Place,
    /// Its name.
    pub name: String,
    /// Its ARN.
    pub arn: String,
    /// Whether rotation is enabled.
    pub rotation_enabled: bool,
    /// The schedule in words ("every 30 days", a rate or cron expression).
    pub schedule: Option<String>,
    /// The rotation function, on Secrets Manager.
    pub function: Option<String>,
    /// When a rotation last finished.
    pub last_rotated: Option<SystemTime>,
    /// When the next rotation is due.
    pub next_rotation: Option<SystemTime>,
    /// Every version, oldest first.
    pub versions: Vec<VersionInfo>,
}

impl SecretState {
    /// A secret of the embedded store.
    pub async fn embedded(store: &EmbeddedSecretStore, secret: &str) -> Result<Self, CliError> {
        let summary = store.summary(secret).await?;
        let versions = store.versions(secret).await?;
        let next_rotation = summary
            .rotation_days
            .filter(|_| summary.rotation_enabled)
            .map(|days| {
                summary.last_rotated.unwrap_or(summary.created)
                    + Duration::from_secs(u64::from(days) * 86_400)
            });
        Ok(Self {
            place: Place::Embedded,
            schedule: summary.rotation_days.map(|d| format!("every {d} days")),
            function: None,
            name: summary.name,
            arn: summary.arn,
            rotation_enabled: summary.rotation_enabled,
            last_rotated: summary.last_rotated,
            next_rotation,
            versions,
        })
    }
}

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

fn holder<'a>(versions: &'a [VersionInfo], stage: &str) -> Option<&'a VersionInfo> {
    versions
        .iter()
        .find(|v| v.stages.iter().any(|s| s == stage))
}

/// The commands that clear each state, where the secret lives.
struct Fixes<'a>(&'a SecretState);

impl Fixes<'_> {
    fn put_value(&self) -> String {
        match self.0.place {
            Place::Embedded => format!("rotate secret put {} --value-file FILE", self.0.name),
            Place::SecretsManager => format!(
                "aws secretsmanager put-secret-value --secret-id {} --secret-string file://FILE",
                self.0.arn
            ),
        }
    }

    fn resume_or_abandon(&self, pending: &str) -> String {
        match self.0.place {
            Place::Embedded => format!(
                "rotate run {} (resumes it), or abandon it: {}",
                self.0.name,
                self.put_value()
            ),
            Place::SecretsManager => format!(
                "aws secretsmanager rotate-secret --secret-id {arn} --client-request-token {pending} (runs it again with its token), or abandon it: aws secretsmanager update-secret-version-stage --secret-id {arn} --version-stage AWSPENDING --remove-from-version-id {pending}",
                arn = self.0.arn
            ),
        }
    }

    fn enable(&self) -> String {
        match self.0.place {
            Place::Embedded => format!("rotate secret enable-rotation {} --days 30", self.0.name),
            Place::SecretsManager => format!(
                "aws secretsmanager rotate-secret --secret-id {} --rotation-lambda-arn FUNCTION --rotation-rules AutomaticallyAfterDays=30",
                self.0.arn
            ),
        }
    }

    fn rotate_now(&self) -> String {
        match self.0.place {
            Place::Embedded => format!("rotate run {}", self.0.name),
            Place::SecretsManager => {
                format!(
                    "aws secretsmanager rotate-secret --secret-id {}",
                    self.0.arn
                )
            }
        }
    }
}

/// What is wrong with a secret, as of `now`.
pub fn diagnose(state: &SecretState, now: SystemTime) -> Vec<Finding> {
    let fixes = Fixes(state);
    let mut findings = Vec::new();
    let current = holder(&state.versions, AWSCURRENT);
    if current.is_none() {
        findings.push(Finding {
            code: "no-current",
            problem: "no version is labelled AWSCURRENT: applications cannot read the secret"
                .into(),
            fix: fixes.put_value(),
        });
    }
    if let Some(pending) = holder(&state.versions, AWSPENDING) {
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
                fix: fixes.resume_or_abandon(&pending.version_id),
            });
        }
    }
    if !state.rotation_enabled {
        findings.push(Finding {
            code: "rotation-disabled",
            problem: "rotation is disabled".into(),
            fix: fixes.enable(),
        });
    } else if let Some(due) = state.next_rotation.filter(|due| *due < now) {
        findings.push(Finding {
            code: "rotation-overdue",
            problem: format!(
                "the next rotation was due at {} (last: {})",
                output::timestamp(due),
                state.last_rotated.map_or("never".into(), output::timestamp)
            ),
            fix: fixes.rotate_now(),
        });
    }
    findings
}

/// One secret's status: its state and what is wrong with it.
#[derive(Debug)]
pub struct Status {
    state: SecretState,
    findings: Vec<Finding>,
}

impl Status {
    /// Diagnoses `state` now.
    pub fn of(state: SecretState) -> Self {
        let findings = diagnose(&state, SystemTime::now());
        Self { state, findings }
    }

    /// For a person.
    pub fn text(&self) -> String {
        let s = &self.state;
        let mut out = format!(
            "{}\n  arn:           {}\n  rotation:      {}\n",
            s.name,
            s.arn,
            match (s.rotation_enabled, &s.schedule) {
                (true, Some(schedule)) => format!("enabled, {schedule}"),
                (true, None) => "enabled, no schedule".into(),
                (false, _) => "disabled".into(),
            },
        );
        if let Some(function) = &s.function {
            out.push_str(&format!("  function:      {function}\n"));
        }
        out.push_str(&format!(
            "  last rotation: {}\n  next rotation: {}\n\n",
            s.last_rotated.map_or("never".into(), output::timestamp),
            s.next_rotation.map_or("-".into(), output::timestamp),
        ));
        out.push_str(&output::versions_table(&s.versions));
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
        let s = &self.state;
        json!({
            "name": s.name,
            "arn": s.arn,
            "rotation_enabled": s.rotation_enabled,
            "schedule": s.schedule,
            "function": s.function,
            "last_rotated": s.last_rotated.map(output::timestamp),
            "next_rotation": s.next_rotation.map(output::timestamp),
            "versions": output::versions_json(&s.versions),
            "problems": self.findings.iter().map(|f| json!({
                "code": f.code, "problem": f.problem, "fix": f.fix,
            })).collect::<Vec<_>>(),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::time::UNIX_EPOCH;

    use super::*;

    const DAY: u64 = 86_400;

    fn state(
        place: Place,
        enabled: bool,
        next: Option<u64>,
        versions: Vec<VersionInfo>,
    ) -> SecretState {
        SecretState {
            place,
            name: "app".into(),
            arn: "arn:aws:secretsmanager:eu-west-1:1:secret:app-AbCdEf".into(),
            rotation_enabled: enabled,
            schedule: None,
            function: None,
            last_rotated: None,
            next_rotation: next.map(|s| UNIX_EPOCH + Duration::from_secs(s)),
            versions,
        }
    }

    fn version(id: &str, stages: &[&str], has_value: bool) -> VersionInfo {
        VersionInfo {
            version_id: id.into(),
            stages: stages.iter().map(|s| (*s).to_owned()).collect(),
            created: UNIX_EPOCH,
            has_value,
        }
    }

    fn codes(state: &SecretState) -> Vec<&'static str> {
        diagnose(state, UNIX_EPOCH + Duration::from_secs(40 * DAY))
            .iter()
            .map(|f| f.code)
            .collect()
    }

    #[test]
    fn a_rotation_past_its_due_date_is_overdue() {
        let current = || vec![version("v1", &[AWSCURRENT], true)];
        let overdue = state(Place::Embedded, true, Some(35 * DAY), current());
        assert_eq!(codes(&overdue), vec!["rotation-overdue"]);
        assert_eq!(
            diagnose(&overdue, UNIX_EPOCH + Duration::from_secs(40 * DAY))[0].fix,
            "rotate run app"
        );
        assert!(codes(&state(Place::Embedded, true, Some(45 * DAY), current())).is_empty());
        assert!(codes(&state(Place::Embedded, true, None, current())).is_empty());
    }

    #[test]
    fn each_stuck_state_is_named_with_its_fix_where_the_secret_lives() {
        let stuck = vec![
            version("v1", &[AWSCURRENT], true),
            version("v2", &[AWSPENDING], false),
        ];
        let embedded = state(Place::Embedded, false, None, stuck.clone());
        assert_eq!(
            codes(&embedded),
            vec!["pending-without-value", "rotation-disabled"]
        );
        let on_aws = state(Place::SecretsManager, true, None, stuck);
        let findings = diagnose(&on_aws, UNIX_EPOCH);
        assert_eq!(findings[0].code, "pending-without-value");
        assert!(
            findings[0].fix.contains("--client-request-token v2"),
            "{}",
            findings[0].fix
        );
        assert!(
            findings[0].fix.contains("--remove-from-version-id v2"),
            "{}",
            findings[0].fix
        );
        let no_current = state(Place::Embedded, true, None, vec![]);
        assert_eq!(codes(&no_current), vec!["no-current"]);
    }
}
