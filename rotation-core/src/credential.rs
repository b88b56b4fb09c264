//! What a rotator rotates: one field of the secret, and how a new value for
//! it is made.
//!
//! Most backends take a password, so the default is the `password` field
//! with AWS's password policy. A database narrows the policy (characters its
//! connection strings treat specially); a service that issues keys in a
//! fixed shape uses a [`KeyFormat`] instead, which the `PASSWORD_*` and
//! `EXCLUDE_*` settings do not touch.

use std::borrow::Cow;
use std::collections::BTreeSet;

use crate::error::SettingsError;
use crate::password::{random_below, PasswordGenerator, PasswordPolicy, MAX_LENGTH};
use crate::secret::SecretString;

/// The field a rotator rotates and the shape of its values.
///
/// ```
/// use rotation_core::{Credential, KeyFormat, PasswordPolicy};
///
/// // AWS's default: `password`, 32 characters of every class.
/// let default = Credential::password("password");
/// // A database that cannot take `'` or `\` in a password.
/// let sql = Credential::with_policy("password", PasswordPolicy::default().excluding("'\\"));
/// // An API key: `sk_` and 40 letters or digits.
/// let key = Credential::key("api_key", KeyFormat::alphanumeric(40).with_prefix("sk_"));
/// assert_eq!(key.field(), "api_key");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    field: Cow<'static, str>,
    format: ValueFormat,
}

/// How new values of a [`Credential`] are made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ValueFormat {
    /// A password. The policy holds the rotator's defaults; the function's
    /// `PASSWORD_LENGTH`, `EXCLUDE_*` and `REQUIRE_EACH_INCLUDED_TYPE`
    /// settings override them one by one, as in AWS's templates.
    Password(PasswordPolicy),
    /// A key in a fixed shape, which the password settings do not change.
    Key(KeyFormat),
}

impl Credential {
    /// A password in `field`, with AWS's policy defaults.
    pub fn password(field: impl Into<Cow<'static, str>>) -> Self {
        Self::with_policy(field, PasswordPolicy::default())
    }

    /// A password in `field`, with this rotator's own policy defaults.
    pub fn with_policy(field: impl Into<Cow<'static, str>>, defaults: PasswordPolicy) -> Self {
        Self {
            field: field.into(),
            format: ValueFormat::Password(defaults),
        }
    }

    /// A key in `field`, in a fixed format.
    pub fn key(field: impl Into<Cow<'static, str>>, format: KeyFormat) -> Self {
        Self {
            field: field.into(),
            format: ValueFormat::Key(format),
        }
    }

    /// The secret's field that rotates.
    pub fn field(&self) -> &str {
        &self.field
    }

    /// How its values are made.
    pub fn format(&self) -> &ValueFormat {
        &self.format
    }

    /// The generator for this credential, with the password settings read
    /// from the environment.
    pub fn generator_from_env(&self) -> Result<ValueGenerator, SettingsError> {
        self.generator_from_lookup(|name| std::env::var(name).ok())
    }

    /// The generator for this credential, with the password settings read
    /// through `lookup` (the environment, or a test's map). A policy or
    /// format that cannot produce a value is an error naming the setting.
    pub fn generator_from_lookup(
        &self,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<ValueGenerator, SettingsError> {
        let kind = match &self.format {
            ValueFormat::Password(defaults) => {
                GeneratorKind::Password(PasswordPolicy::from_lookup(defaults, lookup)?.generator()?)
            }
            ValueFormat::Key(format) => GeneratorKind::Key(format.validated()?),
        };
        Ok(ValueGenerator { kind })
    }
}

/// A key's shape: an optional fixed prefix, then `length` characters drawn
/// uniformly from an alphabet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyFormat {
    prefix: String,
    length: usize,
    alphabet: Cow<'static, str>,
}

const ALPHANUMERIC: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const HEX: &str = "0123456789abcdef";

impl KeyFormat {
    /// `length` characters from `A-Z`, `a-z` and `0-9` (5.95 bits each).
    pub fn alphanumeric(length: usize) -> Self {
        Self::from_alphabet(length, ALPHANUMERIC)
    }

    /// `length` lowercase hexadecimal digits (4 bits each).
    pub fn hex(length: usize) -> Self {
        Self::from_alphabet(length, HEX)
    }

    /// `length` characters from `alphabet` (repeated characters count once).
    pub fn from_alphabet(length: usize, alphabet: impl Into<Cow<'static, str>>) -> Self {
        Self {
            prefix: String::new(),
            length,
            alphabet: alphabet.into(),
        }
    }

    /// The same format with a fixed prefix (not counted in the length).
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// The random part's length.
    pub fn length(&self) -> usize {
        self.length
    }

    /// The prefix, empty when there is none.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Whether `value` is a key of this format: the prefix, then `length`
    /// characters of the alphabet. A rotator whose keys no backend checks
    /// (the consumers read the secret) proves a pending key with it.
    pub fn matches(&self, value: &str) -> bool {
        value
            .strip_prefix(self.prefix.as_str())
            .is_some_and(|rest| {
                rest.chars().count() == self.length
                    && rest.chars().all(|c| self.alphabet.contains(c))
            })
    }

    fn validated(&self) -> Result<KeyGenerator, SettingsError> {
        let refuse = |reason: String| SettingsError {
            name: "key format",
            reason,
        };
        if self.length == 0 || self.length > MAX_LENGTH {
            return Err(refuse(format!(
                "length {} is out of range; it must be 1 to {MAX_LENGTH}",
                self.length
            )));
        }
        let alphabet: Vec<char> = self
            .alphabet
            .chars()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        if alphabet.len() < 2 {
            return Err(refuse(
                "the alphabet needs at least two distinct characters".into(),
            ));
        }
        // A key travels in headers and JSON; a control character or space in
        // it is a bug in the format, not entropy.
        if let Some(c) = alphabet
            .iter()
            .chain(self.prefix.chars().collect::<Vec<_>>().iter())
            .find(|c| c.is_control() || c.is_whitespace())
        {
            return Err(refuse(format!(
                "the alphabet or prefix holds the control or space character U+{:04X}",
                *c as u32
            )));
        }
        Ok(KeyGenerator {
            format: self.clone(),
            alphabet,
        })
    }
}

/// Makes new values of one [`Credential`], from the OS CSPRNG.
#[derive(Debug, Clone)]
pub struct ValueGenerator {
    kind: GeneratorKind,
}

#[derive(Debug, Clone)]
enum GeneratorKind {
    Password(PasswordGenerator),
    Key(KeyGenerator),
}

#[derive(Debug, Clone)]
struct KeyGenerator {
    format: KeyFormat,
    /// The format's alphabet, each character once, to draw from.
    alphabet: Vec<char>,
}

impl ValueGenerator {
    /// Whether `value` has the shape this generator's values have (a
    /// password of its policy, a key of its format): what a conformance
    /// check asks of a rotator's new value.
    pub fn admits(&self, value: &str) -> bool {
        match &self.kind {
            GeneratorKind::Password(passwords) => passwords.admits(value),
            GeneratorKind::Key(key) => key.format.matches(value),
        }
    }

    /// A new value.
    pub fn generate(&self) -> SecretString {
        match &self.kind {
            GeneratorKind::Password(passwords) => passwords.generate(),
            GeneratorKind::Key(key) => {
                let mut value = key.format.prefix.clone();
                value.extend(
                    (0..key.format.length).map(|_| key.alphabet[random_below(key.alphabet.len())]),
                );
                SecretString::new(value)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_have_the_prefix_length_and_alphabet() {
        let generator = Credential::key("k", KeyFormat::hex(64).with_prefix("ak_"))
            .generator_from_lookup(|_| Some("ignored".into()))
            .unwrap();
        let a = generator.generate();
        let b = generator.generate();
        assert_ne!(a, b);
        let rest = a.expose().strip_prefix("ak_").expect("prefix");
        assert_eq!(rest.len(), 64);
        assert!(rest.chars().all(|c| HEX.contains(c)));
    }

    #[test]
    fn a_key_matches_its_format_and_nothing_else() {
        let format = KeyFormat::alphanumeric(20).with_prefix("sk_");
        let generator = Credential::key("k", format.clone())
            .generator_from_lookup(|_| None)
            .unwrap();
        assert!(format.matches(generator.generate().expose()));
        let key = generator.generate().expose().to_owned();
        let short = &key[..key.len() - 1];
        let unprefixed = &key[3..];
        let foreign = format!("{short}-");
        for other in [short, unprefixed, foreign.as_str(), "", "sk_"] {
            assert!(!format.matches(other), "{other:?} matched");
            assert!(!generator.admits(other), "{other:?} admitted");
        }
        assert!(generator.admits(&key));
    }

    #[test]
    fn a_password_generator_admits_its_own_passwords_and_no_other_shape() {
        let policy = PasswordPolicy::default().excluding("'\\").with_length(12);
        let generator = Credential::with_policy("password", policy)
            .generator_from_lookup(|_| None)
            .unwrap();
        for _ in 0..200 {
            let password = generator.generate();
            assert!(generator.admits(password.expose()));
        }
        let fine = "aB3!aB3!aB3!";
        assert!(generator.admits(fine));
        // Too short, too long, an excluded character, a class missing.
        for other in [
            "aB3!aB3!aB3",
            "aB3!aB3!aB3!a",
            "aB3!aB3!aB3'",
            "abc!abc!abc!",
        ] {
            assert!(!generator.admits(other), "{other:?} admitted");
        }
    }

    #[test]
    fn password_settings_do_not_reach_keys() {
        let generator = Credential::key("k", KeyFormat::alphanumeric(20))
            .generator_from_lookup(|name| (name == "PASSWORD_LENGTH").then(|| "0".into()))
            .unwrap();
        assert_eq!(generator.generate().expose().len(), 20);
    }

    #[test]
    fn password_settings_override_the_rotators_defaults() {
        let defaults = PasswordPolicy::default().excluding("abc");
        let credential = Credential::with_policy("password", defaults);
        let short = credential
            .generator_from_lookup(|name| (name == "PASSWORD_LENGTH").then(|| "12".into()))
            .unwrap()
            .generate();
        assert_eq!(short.expose().chars().count(), 12);
        // 4096 draws over 83 characters all miss `a`, `b`, `c` only if the
        // rotator's exclusions hold.
        let long = credential
            .generator_from_lookup(|name| (name == "PASSWORD_LENGTH").then(|| "4096".into()))
            .unwrap()
            .generate();
        assert!(!long.expose().contains(['a', 'b', 'c']));
    }

    #[test]
    fn unusable_key_formats_are_refused() {
        for format in [
            KeyFormat::alphanumeric(0),
            KeyFormat::hex(MAX_LENGTH + 1),
            KeyFormat::from_alphabet(10, "aaaa"),
            KeyFormat::from_alphabet(10, "ab\n"),
            KeyFormat::hex(10).with_prefix("a b"),
        ] {
            let err = Credential::key("k", format.clone())
                .generator_from_lookup(|_| None)
                .unwrap_err();
            assert_eq!(err.name, "key format", "{format:?}");
        }
    }
}
