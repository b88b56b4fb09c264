//! Reading the function's settings through a lookup (the environment, or a
//! test's map), each error naming the variable.

use rotation_core::SettingsError;

/// A setting that must be present and not blank.
pub(crate) fn required(
    lookup: &impl Fn(&str) -> Option<String>,
    name: &'static str,
) -> Result<String, SettingsError> {
    optional(lookup, name)?.ok_or_else(|| SettingsError {
        name,
        reason: "it is not set; it must be".into(),
    })
}

/// A setting that may be absent; blank counts as absent, as an empty
/// CloudFormation parameter arrives as an empty variable.
pub(crate) fn optional(
    lookup: &impl Fn(&str) -> Option<String>,
    name: &'static str,
) -> Result<Option<String>, SettingsError> {
    Ok(lookup(name)
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty()))
}

/// A whole number within `range`, or `default` when absent.
pub(crate) fn number(
    lookup: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    range: std::ops::RangeInclusive<u64>,
    default: u64,
) -> Result<u64, SettingsError> {
    let Some(text) = optional(lookup, name)? else {
        return Ok(default);
    };
    match text.parse::<u64>() {
        Ok(n) if range.contains(&n) => Ok(n),
        _ => Err(SettingsError {
            name,
            reason: format!(
                "`{text}` is not a whole number from {} to {}",
                range.start(),
                range.end()
            ),
        }),
    }
}
