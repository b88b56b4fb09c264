//! `rotate secret ...`: the store's secrets, by hand.

use std::io::Read;

use rotation_core::secret::SecretPayload;
use rotation_core::store::embedded::EmbeddedSecretStore;
use rotation_core::store::VersionSelector;
use rotation_core::{store::SecretStore, SecretJson, SecretString};
use serde_json::{json, Value};

use crate::cli::{SecretCommand, ValueArgs};
use crate::error::CliError;
use crate::output;

/// The value `args` name, read whole.
fn read_value(args: &ValueArgs) -> Result<SecretString, CliError> {
    if let Some(value) = &args.value {
        return Ok(SecretString::new(value.clone()));
    }
    let path = args
        .value_file
        .as_ref()
        .ok_or_else(|| CliError::Usage("give --value or --value-file".into()))?;
    let io = |source| CliError::Io {
        path: path.display().to_string(),
        source,
    };
    let mut text = String::new();
    if path.as_os_str() == "-" {
        std::io::stdin().read_to_string(&mut text).map_err(io)?;
    } else {
        text = std::fs::read_to_string(path).map_err(io)?;
    }
    // A file's last newline is the editor's, not the secret's.
    if text.ends_with('\n') {
        text.pop();
        if text.ends_with('\r') {
            text.pop();
        }
    }
    Ok(SecretString::new(text))
}

/// Runs one `rotate secret` command; returns what to print.
pub async fn run(
    store: &EmbeddedSecretStore,
    command: &SecretCommand,
    as_json: bool,
) -> Result<String, CliError> {
    let print = |value: Value, text: String| {
        if as_json {
            serde_json::to_string_pretty(&value).expect("JSON values print")
        } else {
            text
        }
    };
    match command {
        SecretCommand::Create { name, value } => {
            let value = read_value(value)?;
            let arn = store
                .create_secret(name, SecretPayload::String(value))
                .await?;
            Ok(print(json!({ "arn": arn }), format!("created {arn}")))
        }
        SecretCommand::Put { secret, value } => {
            let value = read_value(value)?;
            let version = store
                .put_by_hand(secret, SecretPayload::String(value))
                .await?;
            Ok(print(
                json!({ "version_id": version }),
                format!("stored version {version} as AWSCURRENT"),
            ))
        }
        SecretCommand::Get {
            secret,
            stage,
            show_value,
        } => {
            let version = store
                .get_value(secret, VersionSelector::Stage(stage))
                .await?
                .ok_or_else(|| {
                    CliError::Usage(format!("{secret} has no value labelled {stage}"))
                })?;
            let fields: Vec<String> = SecretJson::from_payload(&version.payload)
                .map(|json| json.as_map().keys().cloned().collect())
                .unwrap_or_default();
            let mut shown = json!({
                "version_id": version.version_id,
                "labels": version.stages,
                "fields": fields,
            });
            let mut text = format!(
                "version {}\nlabels  {}\nfields  {}",
                version.version_id,
                version.stages.join(","),
                if fields.is_empty() {
                    "(not a JSON object)".to_owned()
                } else {
                    fields.join(", ")
                }
            );
            if *show_value {
                let value = match &version.payload {
                    SecretPayload::String(s) => s.expose().to_owned(),
                    SecretPayload::Binary(b) => format!("<{} bytes of binary>", b.expose().len()),
                };
                text.push_str(&format!("\nvalue   {value}"));
                shown["value"] = Value::String(value);
            }
            Ok(print(shown, text))
        }
        SecretCommand::List => {
            let secrets = store.list().await?;
            let rows: Vec<Vec<String>> = secrets
                .iter()
                .map(|s| {
                    vec![
                        s.name.clone(),
                        output::rotation_text(s),
                        s.last_rotated.map_or("never".into(), output::timestamp),
                        s.arn.clone(),
                    ]
                })
                .collect();
            let listed = secrets.iter().map(output::summary_json).collect();
            Ok(print(
                Value::Array(listed),
                output::table(&["NAME", "ROTATION", "LAST ROTATED", "ARN"], &rows),
            ))
        }
        SecretCommand::Delete { secret } => {
            store.delete_secret(secret).await?;
            Ok(print(
                json!({ "deleted": secret }),
                format!("deleted {secret}"),
            ))
        }
        SecretCommand::EnableRotation { secret, days } => {
            store.set_rotation(secret, true, *days).await?;
            Ok(print(
                json!({ "rotation_enabled": true, "rotation_days": days }),
                format!("rotation of {secret} enabled"),
            ))
        }
        SecretCommand::DisableRotation { secret } => {
            store.set_rotation(secret, false, None).await?;
            Ok(print(
                json!({ "rotation_enabled": false }),
                format!("rotation of {secret} disabled"),
            ))
        }
    }
}
