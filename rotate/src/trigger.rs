//! `rotate trigger`: asks Secrets Manager to rotate many secrets now
//! (`RotateSecret`), so the deployed functions do the work, and waits for
//! each rotation to finish or fail.
//!
//! A rotation is finished when its token carries AWSCURRENT. Secrets
//! Manager does not report a failed function to the caller: a rotation
//! whose token loses AWSPENDING without becoming current was abandoned,
//! and one still pending at `--timeout` is reported as not finished, with
//! the `status` command that shows why.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_secretsmanager::types::{Filter, FilterNameStringType};
use rotation_core::store::AwsSecretStore;
use rotation_core::{store::SecretStore, store::AWSCURRENT, store::AWSPENDING};
use serde_json::{json, Value};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::cli::TriggerArgs;
use crate::error::CliError;
use crate::output;
use crate::secrets_manager::{next_page, sdk_error};

/// How one secret's rotation ended.
#[derive(Debug, Clone)]
pub struct Triggered {
    name: String,
    token: Option<String>,
    finished: bool,
    detail: String,
    took: Duration,
}

/// The secrets `args` select: the names given, and those whose name starts
/// with `--prefix` and carry every `--tag`.
async fn select(store: &AwsSecretStore, args: &TriggerArgs) -> Result<Vec<String>, CliError> {
    let mut selected = args.secrets.clone();
    if args.prefix.is_none() && args.tags.is_empty() {
        return Ok(selected);
    }
    let wanted: Vec<(String, String)> = args
        .tags
        .iter()
        .map(|tag| {
            tag.split_once('=')
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .ok_or_else(|| CliError::Usage(format!("--tag {tag}: write it KEY=VALUE")))
        })
        .collect::<Result<_, _>>()?;
    let mut filters = Vec::new();
    if let Some(prefix) = &args.prefix {
        filters.push(
            Filter::builder()
                .key(FilterNameStringType::Name)
                .values(prefix)
                .build(),
        );
    }
    for (key, _) in &wanted {
        filters.push(
            Filter::builder()
                .key(FilterNameStringType::TagKey)
                .values(key)
                .build(),
        );
    }
    let mut next_token = None;
    loop {
        let page = store
            .client()
            .list_secrets()
            .set_filters(Some(filters.clone()))
            .set_next_token(next_token)
            .send()
            .await
            .map_err(|e| sdk_error("ListSecrets", "*", e))?;
        for secret in page.secret_list() {
            let name = secret.name().unwrap_or_default();
            // The service's name filter matches words too; keep prefixes.
            let prefixed = args.prefix.as_ref().is_none_or(|p| name.starts_with(p));
            let tags: BTreeMap<&str, &str> = secret
                .tags()
                .iter()
                .filter_map(|t| Some((t.key()?, t.value()?)))
                .collect();
            let tagged = wanted
                .iter()
                .all(|(k, v)| tags.get(k.as_str()) == Some(&v.as_str()));
            if prefixed && tagged && !selected.iter().any(|s| s == name) {
                selected.push(name.to_owned());
            }
        }
        next_token = next_page(page.next_token());
        if next_token.is_none() {
            break;
        }
    }
    Ok(selected)
}

/// Starts one rotation and waits for it.
async fn rotate_one(store: AwsSecretStore, name: String, args: Arc<TriggerArgs>) -> Triggered {
    let started = Instant::now();
    let ended = |token: Option<String>, finished: bool, detail: String| Triggered {
        name: name.clone(),
        token,
        finished,
        detail,
        took: started.elapsed(),
    };
    let answer = store.client().rotate_secret().secret_id(&name).send().await;
    let token = match answer {
        Ok(out) => match out.version_id() {
            Some(token) => token.to_owned(),
            None => return ended(None, false, "RotateSecret returned no version".into()),
        },
        Err(error) => {
            let error = sdk_error("RotateSecret", &name, error);
            return ended(None, false, error.to_string());
        }
    };
    let deadline = started + Duration::from_secs(args.timeout);
    loop {
        match store.describe(&name).await {
            Ok(described) => {
                if described.has_stage(&token, AWSCURRENT) {
                    return ended(
                        Some(token),
                        true,
                        "AWSCURRENT moved to the new version".into(),
                    );
                }
                if !described.has_stage(&token, AWSPENDING) {
                    return ended(
                        Some(token),
                        false,
                        "abandoned: the new version lost AWSPENDING without becoming current"
                            .into(),
                    );
                }
            }
            Err(error) => report_poll_failure(&name, &error),
        }
        if Instant::now() >= deadline {
            return ended(
                Some(token),
                false,
                format!(
                    "not finished after {} s; `rotate --aws status {name}` shows where it stopped",
                    args.timeout
                ),
            );
        }
        tokio::time::sleep(Duration::from_millis(args.poll_ms)).await;
    }
}

/// A failed poll is retried at the next interval: worth a line on a
/// terminal, not an end.
fn report_poll_failure(name: &str, error: &rotation_core::error::StoreError) {
    if std::io::stderr().is_terminal() {
        crate::print_error(&format!("\nrotate: polling {name}: {error}"));
    }
}

/// Triggers every selected secret's rotation, `--concurrency` at a time.
pub async fn trigger(
    store: &AwsSecretStore,
    args: TriggerArgs,
) -> Result<Vec<Triggered>, CliError> {
    let names = select(store, &args).await?;
    if names.is_empty() {
        return Err(CliError::Usage(
            "no secret matches: name secrets, or give --prefix or --tag".into(),
        ));
    }
    let total = names.len();
    let args = Arc::new(args);
    let slots = Arc::new(Semaphore::new(usize::from(args.concurrency)));
    let done = Arc::new(AtomicUsize::new(0));
    let mut running = JoinSet::new();
    for name in names {
        let (store, args, slots, done) = (
            store.clone(),
            Arc::clone(&args),
            Arc::clone(&slots),
            Arc::clone(&done),
        );
        running.spawn(async move {
            let _slot = slots
                .acquire_owned()
                .await
                .expect("the semaphore is never closed");
            let result = rotate_one(store, name, args).await;
            done.fetch_add(1, Ordering::SeqCst);
            result
        });
    }
    let progress = std::io::stderr().is_terminal();
    let mut results = Vec::with_capacity(total);
    while let Some(result) = running.join_next().await {
        let result = result.map_err(|e| CliError::Usage(format!("a rotation task failed: {e}")))?;
        if progress {
            let finished = done.load(Ordering::SeqCst);
            let width = 30;
            let filled = finished * width / total;
            // Progress is a courtesy: a terminal that cannot take it
            // (hung up) must not stop the rotations.
            let mut stderr = std::io::stderr().lock();
            let _ = write!(
                stderr,
                "\r[{}{}] {finished}/{total} {}",
                "#".repeat(filled),
                "-".repeat(width - filled),
                result.name
            );
            let _ = stderr.flush();
        }
        results.push(result);
    }
    if progress {
        crate::print_error("");
    }
    results.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(results)
}

/// Whether every rotation finished.
pub fn all_finished(results: &[Triggered]) -> bool {
    results.iter().all(|r| r.finished)
}

/// For a person.
pub fn text(results: &[Triggered]) -> String {
    let rows: Vec<Vec<String>> = results
        .iter()
        .map(|r| {
            vec![
                r.name.clone(),
                if r.finished { "rotated" } else { "FAILED" }.to_owned(),
                format!("{:.1} s", r.took.as_secs_f64()),
                r.token.clone().unwrap_or_else(|| "-".into()),
                r.detail.clone(),
            ]
        })
        .collect();
    let failed = results.iter().filter(|r| !r.finished).count();
    format!(
        "{}\n\n{} rotated, {failed} failed",
        output::table(&["SECRET", "RESULT", "TIME", "TOKEN", "DETAIL"], &rows),
        results.len() - failed
    )
}

/// For a program.
pub fn json(results: &[Triggered]) -> Value {
    Value::Array(
        results
            .iter()
            .map(|r| {
                json!({
                    "secret": r.name,
                    "token": r.token,
                    "rotated": r.finished,
                    "seconds": r.took.as_secs_f64(),
                    "detail": r.detail,
                })
            })
            .collect(),
    )
}
