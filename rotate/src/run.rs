//! `rotate run`: Secrets Manager's part, played in this process.
//!
//! Like `RotateSecret`, it stages a value-less AWSPENDING version under a
//! new token, or takes the token of an unfinished rotation and resumes it
//! (where the service would refuse a new one); then it runs the four steps
//! in order, each up to `--attempts` times, as the service retries a
//! failed invocation. A rotation that still fails, or a Ctrl-C, leaves the
//! secret as the service would: AWSPENDING on the new version, which the
//! next `rotate run` resumes.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rotation_core::store::embedded::VersionInfo;
use rotation_core::{
    engine::Rotation, event::RotationEvent, event::Step, store::SecretStore, store::AWSCURRENT,
    store::AWSPENDING, Rotator,
};
use serde_json::{json, Value};

use crate::cli::{RunArgs, StepArgs};
use crate::error::CliError;
use crate::output;
use crate::target::{Begun, Target};

/// Pause before a failed step's next attempt, doubled each time.
const FIRST_RETRY_DELAY: Duration = Duration::from_millis(500);

/// One step as it ran.
#[derive(Debug, Clone)]
pub struct StepReport {
    step: Step,
    outcome: String,
    attempts: u32,
    duration: Duration,
}

/// What `rotate run` did.
#[derive(Debug)]
pub struct RunReport {
    arn: String,
    token: String,
    resumed: bool,
    steps: Vec<StepReport>,
    before: Vec<VersionInfo>,
    after: Vec<VersionInfo>,
    values: Option<(Value, Value)>,
}

/// The labelled versions' values, for `--show-values`.
async fn labelled_values(store: &dyn SecretStore, arn: &str) -> Result<Value, CliError> {
    let mut values = serde_json::Map::new();
    for stage in [AWSCURRENT, "AWSPREVIOUS", AWSPENDING] {
        let version = store
            .get_value(arn, rotation_core::store::VersionSelector::Stage(stage))
            .await?;
        if let Some(version) = version {
            let shown = match &version.payload {
                rotation_core::secret::SecretPayload::String(s) => {
                    Value::String(s.expose().to_owned())
                }
                rotation_core::secret::SecretPayload::Binary(b) => {
                    Value::String(format!("<{} bytes of binary>", b.expose().len()))
                }
            };
            values.insert(stage.to_owned(), shown);
        }
    }
    Ok(Value::Object(values))
}

/// Runs a rotation of `args.secret` with `rotator`.
pub async fn run<R: Rotator>(
    target: &Target,
    rotator: R,
    args: &RunArgs,
    interrupted: Arc<AtomicBool>,
) -> Result<RunReport, CliError> {
    let values = rotator.credential().generator_from_env()?;
    let arn = target.store().describe(&args.secret).await?.arn;
    let before = target.versions(&arn).await?;
    let values_before = if args.show_values {
        Some(labelled_values(target.store(), &arn).await?)
    } else {
        None
    };
    let Begun { token, resumed } = target.begin(&arn).await?;
    let rotation = Rotation::new(target.for_rotation(&token), rotator, values);
    let mut steps = Vec::new();
    for step in Step::ALL {
        let event = RotationEvent {
            step,
            secret_id: arn.clone(),
            token: token.clone(),
            rotation_token: None,
        };
        let started = Instant::now();
        let mut attempt = 1;
        let outcome = loop {
            match rotation.run_step(&event, None).await {
                Ok(outcome) => break outcome,
                Err(error) if attempt >= args.attempts => {
                    return Err(CliError::rotation(
                        &args.secret,
                        &step.to_string(),
                        attempt,
                        &error,
                    ));
                }
                Err(_) if interrupted.load(Ordering::SeqCst) => {
                    return Err(CliError::Interrupted {
                        secret: args.secret.clone(),
                        step: format!("a failed attempt at {step}"),
                    });
                }
                Err(_) => {
                    tokio::time::sleep(FIRST_RETRY_DELAY * 2u32.pow(attempt - 1)).await;
                    attempt += 1;
                }
            }
        };
        steps.push(StepReport {
            step,
            outcome: outcome.as_str().to_owned(),
            attempts: attempt,
            duration: started.elapsed(),
        });
        if step != Step::FinishSecret && interrupted.load(Ordering::SeqCst) {
            return Err(CliError::Interrupted {
                secret: args.secret.clone(),
                step: step.to_string(),
            });
        }
    }
    let after = target.versions(&arn).await?;
    let values = match values_before {
        Some(before) => Some((before, labelled_values(target.store(), &arn).await?)),
        None => None,
    };
    Ok(RunReport {
        arn,
        token,
        resumed,
        steps,
        before,
        after,
        values,
    })
}

/// Runs one step of the rotation `args.token`, once.
pub async fn step<R: Rotator>(
    target: &Target,
    rotator: R,
    args: &StepArgs,
) -> Result<Value, CliError> {
    let values = rotator.credential().generator_from_env()?;
    let arn = target.store().describe(&args.secret).await?.arn;
    let rotation = Rotation::new(target.for_rotation(&args.token), rotator, values);
    let event = RotationEvent {
        step: args.step,
        secret_id: arn.clone(),
        token: args.token.clone(),
        rotation_token: None,
    };
    let started = Instant::now();
    let outcome = rotation
        .run_step(&event, None)
        .await
        .map_err(|error| CliError::rotation(&args.secret, &args.step.to_string(), 1, &error))?;
    Ok(json!({
        "arn": arn,
        "token": args.token,
        "step": args.step.to_string(),
        "outcome": outcome.as_str(),
        "duration_ms": started.elapsed().as_secs_f64() * 1000.0,
        "versions": output::versions_json(&target.versions(&arn).await?),
    }))
}

impl RunReport {
    /// For a person.
    pub fn text(&self) -> String {
        let mut out = format!(
            "{} rotation of {}\ntoken {}\n\n",
            if self.resumed { "Resumed the" } else { "Ran a" },
            self.arn,
            self.token
        );
        let rows: Vec<Vec<String>> = self
            .steps
            .iter()
            .map(|s| {
                vec![
                    s.step.to_string(),
                    s.outcome.clone(),
                    s.attempts.to_string(),
                    format!("{:.1} ms", s.duration.as_secs_f64() * 1000.0),
                ]
            })
            .collect();
        out.push_str(&output::table(
            &["STEP", "OUTCOME", "ATTEMPTS", "TIME"],
            &rows,
        ));
        out.push_str("\n\nBefore:\n");
        out.push_str(&output::versions_table(&self.before));
        out.push_str("\n\nAfter:\n");
        out.push_str(&output::versions_table(&self.after));
        if let Some((before, after)) = &self.values {
            out.push_str(&format!(
                "\n\nValues before: {before}\nValues after: {after}"
            ));
        }
        out
    }

    /// For a program.
    pub fn json(&self) -> Value {
        let mut report = json!({
            "arn": self.arn,
            "token": self.token,
            "resumed": self.resumed,
            "steps": self.steps.iter().map(|s| json!({
                "step": s.step.to_string(),
                "outcome": s.outcome,
                "attempts": s.attempts,
                "duration_ms": s.duration.as_secs_f64() * 1000.0,
            })).collect::<Vec<_>>(),
            "before": output::versions_json(&self.before),
            "after": output::versions_json(&self.after),
        });
        if let Some((before, after)) = &self.values {
            report["values_before"] = before.clone();
            report["values_after"] = after.clone();
        }
        report
    }
}
