//! Reading a function's settings: its environment, or a test's map, through
//! a `lookup` from a variable's name to its value. Every error is a
//! [`SettingsError`] naming the variable, raised at start-up before any
//! rotation is served. A blank value counts as absent, as an empty
//! CloudFormation parameter arrives as an empty variable.
//!
//! ```
//! use rotation_core::settings;
//!
//! let lookup = |name: &str| (name == "KEY_LENGTH").then(|| " 48 ".to_owned());
//! assert_eq!(settings::number(&lookup, "KEY_LENGTH", 16..=256, 40), Ok(48));
//! assert_eq!(settings::flag(&lookup, "KEY_UPPERCASE", true), Ok(true));
//! assert!(settings::required(&lookup, "KEY_PREFIX").is_err());
//! ```

use std::ops::RangeInclusive;

use crate::error::SettingsError;

/// The process environment as a lookup.
pub fn env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// A setting that may be absent, trimmed; blank counts as absent.
pub fn optional(
    lookup: &impl Fn(&str) -> Option<String>,
    name: &'static str,
) -> Result<Option<String>, SettingsError> {
    Ok(lookup(name)
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty()))
}

/// A setting that must be present and not blank, trimmed.
pub fn required(
    lookup: &impl Fn(&str) -> Option<String>,
    name: &'static str,
) -> Result<String, SettingsError> {
    optional(lookup, name)?.ok_or_else(|| SettingsError {
        name,
        reason: "it is not set; it must be".into(),
    })
}

/// A whole number within `range`, or `default` when absent.
pub fn number(
    lookup: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    range: RangeInclusive<u64>,
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

/// A yes/no setting (`true`/`false`, `1`/`0`, `yes`/`no`, `y`/`n`, in any
/// case), or `default` when absent.
pub fn flag(
    lookup: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: bool,
) -> Result<bool, SettingsError> {
    let Some(text) = optional(lookup, name)? else {
        return Ok(default);
    };
    match text.to_ascii_lowercase().as_str() {
        "true" | "1" | "y" | "yes" => Ok(true),
        "false" | "0" | "n" | "no" => Ok(false),
        _ => Err(SettingsError {
            name,
            reason: format!("`{text}` is not a boolean (use true/false, 1/0, yes/no)"),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(value: &'static str) -> impl Fn(&str) -> Option<String> {
        move |name| (name == "SETTING").then(|| value.to_owned())
    }

    #[test]
    fn blank_is_absent_and_values_are_trimmed() {
        assert_eq!(optional(&with("  "), "SETTING"), Ok(None));
        assert_eq!(optional(&with(" x "), "SETTING"), Ok(Some("x".into())));
        let missing = required(&with(""), "SETTING").unwrap_err();
        assert_eq!(missing.name, "SETTING");
        assert_eq!(number(&with(""), "SETTING", 1..=9, 4), Ok(4));
        assert_eq!(flag(&with(" "), "SETTING", true), Ok(true));
    }

    #[test]
    fn numbers_outside_the_range_name_the_variable_and_the_range() {
        assert_eq!(number(&with("9"), "SETTING", 1..=9, 4), Ok(9));
        for bad in ["0", "10", "-1", "4.5", "four"] {
            let error = number(&with(bad), "SETTING", 1..=9, 4).unwrap_err();
            assert_eq!(error.name, "SETTING");
            assert!(error.reason.contains("from 1 to 9"), "{}", error.reason);
        }
    }

    #[test]
    fn flags_accept_the_usual_spellings_only() {
        for yes in ["true", "TRUE", "1", "yes", "Y"] {
            assert_eq!(flag(&with(yes), "SETTING", false), Ok(true), "{yes}");
        }
        for no in ["false", "0", "No", "n"] {
            assert_eq!(flag(&with(no), "SETTING", true), Ok(false), "{no}");
        }
        let error = flag(&with("maybe"), "SETTING", true).unwrap_err();
        assert!(error.reason.contains("`maybe`"), "{}", error.reason);
    }
}
