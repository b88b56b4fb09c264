//! What the commands print: aligned tables for a person, JSON for a
//! program.

use std::time::{SystemTime, UNIX_EPOCH};

use rotation_core::store::embedded::{SecretSummary, VersionInfo};
use serde_json::{json, Value};

/// Seconds since the epoch as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn timestamp(time: SystemTime) -> String {
    let seconds = time
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let (days, rest) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400));
    // Howard Hinnant's days-to-civil.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

/// A secret's rotation setting in words.
pub fn rotation_text(summary: &SecretSummary) -> String {
    match (summary.rotation_enabled, summary.rotation_days) {
        (true, Some(days)) => format!("enabled, every {days} days"),
        (true, None) => "enabled, no schedule".into(),
        (false, _) => "disabled".into(),
    }
}

/// A secret's name, ARN and rotation settings as JSON.
pub fn summary_json(summary: &SecretSummary) -> Value {
    json!({
        "name": summary.name,
        "arn": summary.arn,
        "rotation_enabled": summary.rotation_enabled,
        "rotation_days": summary.rotation_days,
        "last_rotated": summary.last_rotated.map(timestamp),
    })
}

/// Rows aligned under their header, two spaces apart.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        padded.join("  ").trim_end().to_owned()
    };
    let mut out = vec![line(header.iter().map(|h| (*h).to_owned()).collect())];
    out.extend(rows.iter().cloned().map(line));
    out.join("\n")
}

/// The versions as a table: id, labels, creation time, whether it holds a
/// value.
pub fn versions_table(versions: &[VersionInfo]) -> String {
    let rows: Vec<Vec<String>> = versions
        .iter()
        .map(|v| {
            vec![
                v.version_id.clone(),
                if v.stages.is_empty() {
                    "-".to_owned()
                } else {
                    v.stages.join(",")
                },
                timestamp(v.created),
                if v.has_value {
                    "yes"
                } else {
                    "no (placeholder)"
                }
                .to_owned(),
            ]
        })
        .collect();
    table(&["VERSION", "LABELS", "CREATED", "VALUE"], &rows)
}

/// The versions as JSON.
pub fn versions_json(versions: &[VersionInfo]) -> Value {
    Value::Array(
        versions
            .iter()
            .map(|v| {
                json!({
                    "version_id": v.version_id,
                    "labels": v.stages,
                    "created": timestamp(v.created),
                    "has_value": v.has_value,
                })
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn timestamps_are_utc_calendar_dates() {
        let at = |s| timestamp(UNIX_EPOCH + Duration::from_secs(s));
        assert_eq!(at(0), "1970-01-01T00:00:00Z");
        assert_eq!(at(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(at(1_796_083_199), "2026-11-30T23:59:59Z");
    }

    #[test]
    fn tables_align_their_columns() {
        let out = table(
            &["A", "LONG HEADER"],
            &[vec!["wide cell".into(), "x".into()]],
        );
        assert_eq!(out, "A          LONG HEADER\nwide cell  x");
    }
}
