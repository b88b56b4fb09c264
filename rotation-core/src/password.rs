//! Password generation with AWS's policy knobs, from the OS CSPRNG.
//!
//! AWS's templates call `GetRandomPassword`; we generate locally, which
//! saves a Secrets Manager call per rotation and an IAM permission on
//! `Resource: "*"`, with the same settings and the same character classes.

use std::collections::BTreeSet;

use crate::error::SettingsError;
use crate::secret::SecretString;
use crate::settings;

const LOWERCASE: &str = "abcdefghijklmnopqrstuvwxyz";
const UPPERCASE: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const NUMBERS: &str = "0123456789";
/// `GetRandomPassword`'s punctuation set.
const PUNCTUATION: &str = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";

/// The longest password the policy accepts (`GetRandomPassword`'s limit).
pub const MAX_LENGTH: usize = 4096;

/// The password settings, named as AWS's templates name their environment
/// variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordPolicy {
    /// `PASSWORD_LENGTH`, default 32.
    pub length: usize,
    /// `EXCLUDE_CHARACTERS`: characters never used.
    pub exclude_characters: String,
    /// `EXCLUDE_NUMBERS`.
    pub exclude_numbers: bool,
    /// `EXCLUDE_PUNCTUATION`.
    pub exclude_punctuation: bool,
    /// `EXCLUDE_UPPERCASE`.
    pub exclude_uppercase: bool,
    /// `EXCLUDE_LOWERCASE`.
    pub exclude_lowercase: bool,
    /// `REQUIRE_EACH_INCLUDED_TYPE`, default true: at least one character of
    /// every class that is not excluded.
    pub require_each_included_type: bool,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        Self {
            length: 32,
            exclude_characters: String::new(),
            exclude_numbers: false,
            exclude_punctuation: false,
            exclude_uppercase: false,
            exclude_lowercase: false,
            require_each_included_type: true,
        }
    }
}

/// A validated policy, ready to generate passwords.
#[derive(Debug, Clone)]
pub struct PasswordGenerator {
    length: usize,
    /// The non-empty classes in use, each without the excluded characters.
    classes: Vec<Vec<char>>,
    alphabet: Vec<char>,
    require_each: bool,
}

impl PasswordPolicy {
    /// The same policy that also never uses `characters` (a rotator's
    /// default for `EXCLUDE_CHARACTERS`, such as the characters its
    /// connection strings treat specially).
    pub fn excluding(mut self, characters: &str) -> Self {
        self.exclude_characters.push_str(characters);
        self
    }

    /// The same policy with another default length.
    pub fn with_length(mut self, length: usize) -> Self {
        self.length = length;
        self
    }

    /// Reads the policy from the environment: each of AWS's variables that
    /// is set replaces the matching field of `defaults`.
    pub fn from_env(defaults: &PasswordPolicy) -> Result<Self, SettingsError> {
        Self::from_lookup(defaults, |name| std::env::var(name).ok())
    }

    /// [`from_env`](Self::from_env) through `lookup` (the environment, or a
    /// test's map).
    pub fn from_lookup(
        defaults: &PasswordPolicy,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, SettingsError> {
        let flag = |name, default| settings::flag(&lookup, name, default);
        let range = 1..=MAX_LENGTH as u64;
        let length = settings::number(&lookup, "PASSWORD_LENGTH", range, defaults.length as u64)?;
        Ok(Self {
            length: length as usize,
            exclude_characters: lookup("EXCLUDE_CHARACTERS")
                .unwrap_or_else(|| defaults.exclude_characters.clone()),
            exclude_numbers: flag("EXCLUDE_NUMBERS", defaults.exclude_numbers)?,
            exclude_punctuation: flag("EXCLUDE_PUNCTUATION", defaults.exclude_punctuation)?,
            exclude_uppercase: flag("EXCLUDE_UPPERCASE", defaults.exclude_uppercase)?,
            exclude_lowercase: flag("EXCLUDE_LOWERCASE", defaults.exclude_lowercase)?,
            require_each_included_type: flag(
                "REQUIRE_EACH_INCLUDED_TYPE",
                defaults.require_each_included_type,
            )?,
        })
    }

    /// Checks the policy can produce a password and prepares the generator.
    pub fn generator(&self) -> Result<PasswordGenerator, SettingsError> {
        if self.length == 0 || self.length > MAX_LENGTH {
            return Err(SettingsError {
                name: "PASSWORD_LENGTH",
                reason: format!(
                    "{} is out of range; it must be 1 to {MAX_LENGTH}",
                    self.length
                ),
            });
        }
        let excluded: BTreeSet<char> = self.exclude_characters.chars().collect();
        let classes: Vec<Vec<char>> = [
            (LOWERCASE, self.exclude_lowercase),
            (UPPERCASE, self.exclude_uppercase),
            (NUMBERS, self.exclude_numbers),
            (PUNCTUATION, self.exclude_punctuation),
        ]
        .into_iter()
        .filter(|(_, exclude)| !exclude)
        .map(|(class, _)| {
            class
                .chars()
                .filter(|c| !excluded.contains(c))
                .collect::<Vec<_>>()
        })
        // A class emptied by EXCLUDE_CHARACTERS cannot be required.
        .filter(|class| !class.is_empty())
        .collect();
        if classes.is_empty() {
            return Err(SettingsError {
                name: "EXCLUDE_CHARACTERS",
                reason:
                    "with the EXCLUDE_* settings, no character is left to build a password from"
                        .to_owned(),
            });
        }
        if self.require_each_included_type && self.length < classes.len() {
            return Err(SettingsError {
                name: "PASSWORD_LENGTH",
                reason: format!(
                    "{} is shorter than the {} character types REQUIRE_EACH_INCLUDED_TYPE asks for",
                    self.length,
                    classes.len()
                ),
            });
        }
        let alphabet = classes.iter().flatten().copied().collect();
        Ok(PasswordGenerator {
            length: self.length,
            classes,
            alphabet,
            require_each: self.require_each_included_type,
        })
    }
}

/// A uniform index below `bound`, by rejection sampling (no modulo bias).
pub(crate) fn random_below(bound: usize) -> usize {
    debug_assert!(bound > 0 && bound <= u32::MAX as usize);
    let bound = bound as u32;
    let zone = u32::MAX - (u32::MAX % bound);
    loop {
        let mut bytes = [0u8; 4];
        // getrandom fails only where the OS has no random source at all;
        // a rotation must not continue with a weak password then.
        getrandom::fill(&mut bytes).expect("the OS random number generator failed");
        let n = u32::from_le_bytes(bytes);
        if n < zone {
            return (n % bound) as usize;
        }
    }
}

impl PasswordGenerator {
    /// A new password.
    pub fn generate(&self) -> SecretString {
        let mut chars: Vec<char> = Vec::with_capacity(self.length);
        if self.require_each {
            for class in &self.classes {
                chars.push(class[random_below(class.len())]);
            }
        }
        while chars.len() < self.length {
            chars.push(self.alphabet[random_below(self.alphabet.len())]);
        }
        // Fisher-Yates, so the required characters sit anywhere.
        for i in (1..chars.len()).rev() {
            chars.swap(i, random_below(i + 1));
        }
        SecretString::new(chars.into_iter().collect::<String>())
    }

    /// The password length.
    pub fn length(&self) -> usize {
        self.length
    }

    /// Whether `value` is a password this generator could have made: its
    /// length, only characters of the policy and, when the policy requires
    /// it, one of each class in use.
    pub fn admits(&self, value: &str) -> bool {
        let chars: Vec<char> = value.chars().collect();
        chars.len() == self.length
            && chars.iter().all(|c| self.alphabet.contains(c))
            && (!self.require_each
                || self
                    .classes
                    .iter()
                    .all(|class| chars.iter().any(|c| class.contains(c))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn policy(vars: &[(&str, &str)]) -> Result<PasswordPolicy, SettingsError> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        PasswordPolicy::from_lookup(&PasswordPolicy::default().excluding(":/@\"'\\"), |name| {
            vars.get(name).cloned()
        })
    }

    #[test]
    fn defaults_match_aws_templates() {
        let p = policy(&[]).unwrap();
        assert_eq!(p.length, 32);
        assert!(p.require_each_included_type);
        let password = p.generator().unwrap().generate();
        let text = password.expose();
        assert_eq!(text.chars().count(), 32);
        assert!(text.chars().any(|c| c.is_ascii_lowercase()));
        assert!(text.chars().any(|c| c.is_ascii_uppercase()));
        assert!(text.chars().any(|c| c.is_ascii_digit()));
        assert!(text.chars().any(|c| c.is_ascii_punctuation()));
        assert!(!text.chars().any(|c| ":/@\"'\\".contains(c)));
    }

    #[test]
    fn every_required_class_appears_even_in_short_passwords() {
        let generator = policy(&[("PASSWORD_LENGTH", "4")])
            .unwrap()
            .generator()
            .unwrap();
        for _ in 0..500 {
            let p = generator.generate();
            let t = p.expose();
            assert!(t.chars().any(|c| c.is_ascii_lowercase()), "no lowercase");
            assert!(t.chars().any(|c| c.is_ascii_uppercase()), "no uppercase");
            assert!(t.chars().any(|c| c.is_ascii_digit()), "no digit");
            assert!(
                t.chars().any(|c| c.is_ascii_punctuation()),
                "no punctuation"
            );
        }
    }

    #[test]
    fn exclusions_are_honoured() {
        let generator = policy(&[
            ("EXCLUDE_PUNCTUATION", "yes"),
            ("EXCLUDE_UPPERCASE", "1"),
            ("EXCLUDE_CHARACTERS", "abc0"),
            ("PASSWORD_LENGTH", "200"),
        ])
        .unwrap()
        .generator()
        .unwrap();
        let p = generator.generate();
        assert!(p
            .expose()
            .chars()
            .all(|c| (c.is_ascii_lowercase() || c.is_ascii_digit()) && !"abc0".contains(c)));
    }

    #[test]
    fn passwords_differ_and_use_the_whole_alphabet() {
        let generator = policy(&[("PASSWORD_LENGTH", "4096")])
            .unwrap()
            .generator()
            .unwrap();
        let a = generator.generate();
        let b = generator.generate();
        assert_ne!(a, b);
        let used: BTreeSet<char> = a.expose().chars().collect();
        // 4096 draws over 87 characters miss one with probability ~1e-18.
        assert_eq!(used.len(), generator.alphabet.len());
    }

    #[test]
    fn impossible_policies_are_refused_with_the_setting_named() {
        let cases: &[(&[(&str, &str)], &str)] = &[
            (&[("PASSWORD_LENGTH", "0")], "PASSWORD_LENGTH"),
            (&[("PASSWORD_LENGTH", "4097")], "PASSWORD_LENGTH"),
            (&[("PASSWORD_LENGTH", "-3")], "PASSWORD_LENGTH"),
            (&[("PASSWORD_LENGTH", "3")], "PASSWORD_LENGTH"),
            (
                &[
                    ("EXCLUDE_NUMBERS", "true"),
                    ("EXCLUDE_PUNCTUATION", "true"),
                    ("EXCLUDE_UPPERCASE", "true"),
                    ("EXCLUDE_LOWERCASE", "true"),
                ],
                "EXCLUDE_CHARACTERS",
            ),
            (&[("EXCLUDE_NUMBERS", "maybe")], "EXCLUDE_NUMBERS"),
        ];
        for (vars, name) in cases {
            let err = policy(vars).and_then(|p| p.generator()).unwrap_err();
            assert_eq!(err.name, *name, "{vars:?}");
        }
        // Excluding every letter and digit by hand leaves punctuation only.
        let all: String = [LOWERCASE, UPPERCASE, NUMBERS, PUNCTUATION].concat();
        let err = policy(&[("EXCLUDE_CHARACTERS", &all)])
            .unwrap()
            .generator()
            .unwrap_err();
        assert_eq!(err.name, "EXCLUDE_CHARACTERS");
    }

    #[test]
    fn a_class_emptied_by_exclusions_is_not_required() {
        let generator = policy(&[("EXCLUDE_CHARACTERS", NUMBERS), ("PASSWORD_LENGTH", "3")])
            .unwrap()
            .generator()
            .unwrap();
        assert!(!generator
            .generate()
            .expose()
            .chars()
            .any(|c| c.is_ascii_digit()));
    }
}
