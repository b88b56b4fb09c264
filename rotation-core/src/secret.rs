//! Types that hold secret material and refuse to print it.
//!
//! Every secret value the crate touches lives in one of these types, so a
//! stray `{:?}`, a `tracing` field or an error chain cannot leak it: their
//! `Debug` and `Display` print a fixed placeholder.

use std::fmt;

use serde_json::{Map, Value};

use crate::error::SecretFormatError;

const REDACTED: &str = "<redacted>";

/// A secret string: a password, an API key, a whole `SecretString`.
///
/// `Debug` and `Display` print `<redacted>`; the value is reachable only
/// through [`SecretString::expose`], which makes every use greppable.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct SecretString(String);

impl SecretString {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret value. Call only where the value must leave the process
    /// (a database login, a store write), never to log or format it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The length in bytes, which is safe to report.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the value is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<String> for SecretString {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl fmt::Display for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

/// Secret bytes (a `SecretBinary` value). Prints only its length.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct SecretBytes(Vec<u8>);

impl SecretBytes {
    /// Wraps secret bytes.
    pub fn new(value: impl Into<Vec<u8>>) -> Self {
        Self(value.into())
    }

    /// The secret bytes; see [`SecretString::expose`].
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<redacted {} bytes>", self.0.len())
    }
}

/// The value stored in one version of a secret.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum SecretPayload {
    /// A `SecretString` value.
    String(SecretString),
    /// A `SecretBinary` value.
    Binary(SecretBytes),
}

/// A secret's JSON object, as rotators see it.
///
/// Keys the rotator does not know survive rotation verbatim (and in their
/// original order), because the whole object is carried from the current
/// version to the pending one and only the fields a rotator sets change.
/// `Debug` lists the keys, never the values.
#[derive(Clone, PartialEq)]
pub struct SecretJson(Map<String, Value>);

impl SecretJson {
    /// Parses a `SecretString`. The error names what is wrong (not JSON, not
    /// an object) but quotes nothing of the value.
    pub fn parse(value: &SecretString) -> Result<Self, SecretFormatError> {
        match serde_json::from_str::<Value>(value.expose()) {
            Ok(Value::Object(map)) => Ok(Self(map)),
            Ok(other) => Err(SecretFormatError::NotAnObject {
                found: json_type_name(&other),
            }),
            // serde_json's messages give a line and column, never the input.
            Err(e) => Err(SecretFormatError::NotJson {
                line: e.line(),
                column: e.column(),
            }),
        }
    }

    /// Parses a stored payload; a binary secret is an error.
    pub fn from_payload(payload: &SecretPayload) -> Result<Self, SecretFormatError> {
        match payload {
            SecretPayload::String(s) => Self::parse(s),
            SecretPayload::Binary(_) => Err(SecretFormatError::Binary),
        }
    }

    /// Wraps an already parsed object.
    pub fn from_map(map: Map<String, Value>) -> Self {
        Self(map)
    }

    /// Serialises the object back to a `SecretString`.
    pub fn to_secret_string(&self) -> SecretString {
        SecretString(Value::Object(self.0.clone()).to_string())
    }

    /// The raw object, for rotators that need fields of other types.
    pub fn as_map(&self) -> &Map<String, Value> {
        &self.0
    }

    /// A field's raw value, if present.
    pub fn get(&self, field: &str) -> Option<&Value> {
        self.0.get(field)
    }

    /// Sets a field (a non-secret value such as a username).
    pub fn set(&mut self, field: &str, value: impl Into<Value>) {
        self.0.insert(field.to_owned(), value.into());
    }

    /// Sets a field to a secret string (such as the new password).
    pub fn set_secret(&mut self, field: &str, value: &SecretString) {
        self.0
            .insert(field.to_owned(), Value::String(value.expose().to_owned()));
    }

    /// A required string field that is not secret (host, username, engine).
    pub fn required_str(&self, field: &str) -> Result<&str, SecretFormatError> {
        match self.0.get(field) {
            None | Some(Value::Null) => Err(SecretFormatError::MissingField {
                field: field.to_owned(),
            }),
            Some(Value::String(s)) => Ok(s),
            Some(other) => Err(SecretFormatError::WrongType {
                field: field.to_owned(),
                expected: "a string",
                found: json_type_name(other),
            }),
        }
    }

    /// An optional string field that is not secret.
    pub fn optional_str(&self, field: &str) -> Result<Option<&str>, SecretFormatError> {
        match self.0.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(_) => self.required_str(field).map(Some),
        }
    }

    /// An optional flag, such as AWS's `ssl`: a JSON boolean, or `"true"` /
    /// `"false"` in any case, as AWS's templates accept it.
    pub fn optional_bool(&self, field: &str) -> Result<Option<bool>, SecretFormatError> {
        match self.0.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(Value::String(s)) if s.trim().eq_ignore_ascii_case("true") => Ok(Some(true)),
            Some(Value::String(s)) if s.trim().eq_ignore_ascii_case("false") => Ok(Some(false)),
            Some(Value::String(_)) => Err(SecretFormatError::InvalidValue {
                field: field.to_owned(),
                reason: "it must be true or false".into(),
            }),
            Some(other) => Err(SecretFormatError::wrong_type(field, "a boolean", other)),
        }
    }

    /// An optional port number: a JSON number or a numeric string, 1 to
    /// 65535.
    pub fn optional_port(&self, field: &str) -> Result<Option<u16>, SecretFormatError> {
        let port = match self.0.get(field) {
            None | Some(Value::Null) => return Ok(None),
            Some(Value::Number(n)) => n.as_u64(),
            Some(Value::String(s)) => s.trim().parse::<u64>().ok(),
            Some(other) => {
                return Err(SecretFormatError::wrong_type(field, "a port number", other))
            }
        };
        match port {
            Some(p @ 1..=65535) => Ok(Some(p as u16)),
            _ => Err(SecretFormatError::InvalidValue {
                field: field.to_owned(),
                reason: "it must be a whole number from 1 to 65535".into(),
            }),
        }
    }

    /// A required secret string field (a password, a key), wrapped.
    pub fn required_secret(&self, field: &str) -> Result<SecretString, SecretFormatError> {
        self.required_str(field)
            .map(|s| SecretString::new(s.to_owned()))
    }

    /// [`required_secret`](Self::required_secret) for a credential a
    /// backend will be sent: a NUL character, which no protocol carries
    /// (C strings end at it, HTTP headers refuse it), is refused naming the
    /// field.
    pub fn required_credential(&self, field: &str) -> Result<SecretString, SecretFormatError> {
        let value = self.required_secret(field)?;
        if value.expose().contains('\0') {
            return Err(SecretFormatError::InvalidValue {
                field: field.to_owned(),
                reason: "it contains a NUL character".into(),
            });
        }
        Ok(value)
    }
}

impl fmt::Debug for SecretJson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretJson")
            .field("keys", &self.0.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

/// The JSON type of a value, for error messages that must not quote it.
pub(crate) fn json_type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_credential_with_nul_is_refused_by_field_without_its_value() {
        let mut secret = SecretJson::from_map(Map::new());
        secret.set("key", "before\u{0}after-secret");
        let err = secret.required_credential("key").unwrap_err();
        assert_eq!(
            err,
            SecretFormatError::InvalidValue {
                field: "key".into(),
                reason: "it contains a NUL character".into()
            }
        );
        assert!(!err.to_string().contains("after-secret"));
        secret.set("key", "fine");
        assert_eq!(secret.required_credential("key").unwrap().expose(), "fine");
    }

    #[test]
    fn secret_types_never_print_their_value() {
        let s = SecretString::new("hunter2-very-secret");
        assert_eq!(format!("{s:?} {s}"), "<redacted> <redacted>");
        let b = SecretBytes::new(b"hunter2".to_vec());
        assert_eq!(format!("{b:?}"), "<redacted 7 bytes>");
        let payload = SecretPayload::String(s.clone());
        assert!(!format!("{payload:?}").contains("hunter2"));
        let json = SecretJson::parse(&SecretString::new(
            r#"{"username":"app","password":"hunter2-very-secret"}"#,
        ))
        .unwrap();
        let debug = format!("{json:?}");
        assert!(debug.contains("username") && debug.contains("password"));
        assert!(!debug.contains("hunter2") && !debug.contains("app\""));
    }

    #[test]
    fn parse_errors_name_the_problem_not_the_value() {
        let err = SecretJson::parse(&SecretString::new("{\"password\": \"hunter2")).unwrap_err();
        assert!(matches!(err, SecretFormatError::NotJson { .. }));
        assert!(!err.to_string().contains("hunter2"));
        let err = SecretJson::parse(&SecretString::new("[\"hunter2\"]")).unwrap_err();
        assert_eq!(err.to_string(), "the secret is an array, not a JSON object");
        let err = SecretJson::from_payload(&SecretPayload::Binary(SecretBytes::new(vec![1])))
            .unwrap_err();
        assert!(matches!(err, SecretFormatError::Binary));
    }

    #[test]
    fn field_errors_name_the_field() {
        let json =
            SecretJson::parse(&SecretString::new(r#"{"host": 5, "password": "x"}"#)).unwrap();
        assert_eq!(
            json.required_str("host").unwrap_err().to_string(),
            "field `host` must be a string, found a number"
        );
        assert_eq!(
            json.required_str("username").unwrap_err().to_string(),
            "field `username` is missing"
        );
        assert_eq!(json.optional_str("dbname").unwrap(), None);
    }

    #[test]
    fn unknown_keys_survive_a_round_trip_in_order() {
        let text = r#"{"zeta":1,"engine":"postgres","nested":{"a":[1,2]},"password":"p"}"#;
        let mut json = SecretJson::parse(&SecretString::new(text)).unwrap();
        json.set_secret("password", &SecretString::new("q"));
        assert_eq!(
            json.to_secret_string().expose(),
            r#"{"zeta":1,"engine":"postgres","nested":{"a":[1,2]},"password":"q"}"#
        );
    }

    #[test]
    fn numbers_survive_exactly_as_written() {
        // Found by fuzzing: without serde_json's arbitrary_precision, big
        // integers and some decimals came back rounded, and a number beyond
        // f64 made the whole secret unreadable. AWS's Python templates keep
        // them all. Values are kept exactly; only an exponent's spelling is
        // normalised (1E3 is written 1e+3).
        let text = r#"{"big":1777777777777777777777777,"tenth":0.1,"sum":0.30000000000000004,"exp":1E3,"huge":1e400,"negzero":-0.0,"password":"p"}"#;
        let mut json = SecretJson::parse(&SecretString::new(text)).unwrap();
        json.set_secret("password", &SecretString::new("q"));
        assert_eq!(
            json.to_secret_string().expose(),
            r#"{"big":1777777777777777777777777,"tenth":0.1,"sum":0.30000000000000004,"exp":1e+3,"huge":1e+400,"negzero":-0.0,"password":"q"}"#
        );
    }

    #[test]
    fn a_flag_is_a_boolean_or_its_name_and_anything_else_names_the_field() {
        let secret = SecretJson::parse(&SecretString::new(
            r#"{"a":true,"b":"FALSE","c":" true ","d":"yes-secret","e":1}"#,
        ))
        .unwrap();
        assert_eq!(secret.optional_bool("a"), Ok(Some(true)));
        assert_eq!(secret.optional_bool("b"), Ok(Some(false)));
        assert_eq!(secret.optional_bool("c"), Ok(Some(true)));
        assert_eq!(secret.optional_bool("missing"), Ok(None));
        for field in ["d", "e"] {
            let err = secret.optional_bool(field).unwrap_err();
            assert!(err.to_string().contains(field), "{err}");
            assert!(!err.to_string().contains("yes-secret"), "{err}");
        }
    }
}
