//! Request templates: `METHOD /path` lines and JSON bodies with `{{name}}`
//! placeholders, parsed at start-up (an unknown name stops the function)
//! and filled per request. Values reach a path percent-encoded and a body
//! as JSON string contents, so a field of the rotated secret can fill in a
//! segment or a string but never change the host, the path's shape or the
//! body's structure.

use std::fmt::Write as _;

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use rotation_core::{RotatorError, SecretFormatError, SecretJson, SettingsError};
use serde_json::Value;

/// A value a template may name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Var {
    /// The rotation's token (`{{token}}`).
    Token,
    /// The key's tag (`{{tag}}`): names the rotated secret and the token,
    /// so a key can be traced to the rotation that issued it.
    Tag,
    /// The id of the key a request is about (`{{key_id}}`).
    KeyId,
    /// A string or number field of the rotated secret (`{{secret.NAME}}`).
    Field(String),
}

/// Values to fill a template with.
pub struct Values<'a> {
    /// The rotation's token.
    pub token: &'a str,
    /// The key's tag.
    pub tag: &'a str,
    /// The key a request is about, if any.
    pub key_id: Option<&'a str>,
    /// The rotated secret (AWSCURRENT).
    pub secret: &'a SecretJson,
}

impl Values<'_> {
    fn get(&self, var: &Var) -> Result<String, RotatorError> {
        match var {
            Var::Token => Ok(self.token.to_owned()),
            Var::Tag => Ok(self.tag.to_owned()),
            Var::KeyId => self
                .key_id
                .map(str::to_owned)
                .ok_or_else(|| RotatorError::Refused("no key id to fill {{key_id}} with".into())),
            Var::Field(name) => match self.secret.get(name) {
                Some(Value::String(s)) => Ok(s.clone()),
                Some(Value::Number(n)) => Ok(n.to_string()),
                Some(other) => {
                    Err(SecretFormatError::wrong_type(name, "a string or number", other).into())
                }
                None => Err(SecretFormatError::MissingField {
                    field: name.clone(),
                }
                .into()),
            },
        }
    }
}

/// Text with placeholders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Text {
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(String),
    Var(Var),
}

impl Text {
    /// Parses `text`, refusing names other than the known ones and any
    /// field in `forbidden` (the key fields: a key must not travel in a
    /// URL or a body). `setting` names the variable in errors.
    pub fn parse(
        text: &str,
        setting: &'static str,
        forbidden: &[&str],
    ) -> Result<Self, SettingsError> {
        let refuse = |reason: String| SettingsError {
            name: setting,
            reason,
        };
        let mut parts = Vec::new();
        let mut rest = text;
        while let Some(open) = rest.find("{{") {
            if open > 0 {
                parts.push(Part::Literal(rest[..open].to_owned()));
            }
            let after = &rest[open + 2..];
            let close = after
                .find("}}")
                .ok_or_else(|| refuse("a `{{` is never closed".into()))?;
            let name = after[..close].trim();
            let var = match name {
                "token" => Var::Token,
                "tag" => Var::Tag,
                "key_id" => Var::KeyId,
                _ => match name.strip_prefix("secret.") {
                    Some(field) if forbidden.contains(&field) => {
                        return Err(refuse(format!(
                            "`{{{{{name}}}}}` would put a key into a request; keys travel only in the authentication header"
                        )))
                    }
                    Some(field) if !field.is_empty() => Var::Field(field.to_owned()),
                    _ => {
                        return Err(refuse(format!(
                            "`{{{{{name}}}}}` names no value; known: token, tag, key_id, secret.FIELD"
                        )))
                    }
                },
            };
            parts.push(Part::Var(var));
            rest = &after[close + 2..];
        }
        if !rest.is_empty() {
            parts.push(Part::Literal(rest.to_owned()));
        }
        Ok(Self { parts })
    }

    /// The placeholders used.
    pub fn vars(&self) -> impl Iterator<Item = &Var> {
        self.parts.iter().filter_map(|p| match p {
            Part::Var(v) => Some(v),
            Part::Literal(_) => None,
        })
    }

    /// Fills the template, passing each value through `encode`.
    fn render(
        &self,
        values: &Values<'_>,
        encode: impl Fn(&str) -> Result<String, RotatorError>,
    ) -> Result<String, RotatorError> {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Literal(text) => out.push_str(text),
                Part::Var(var) => out.push_str(&encode(&values.get(var)?)?),
            }
        }
        Ok(out)
    }
}

fn fields_of(text: &Text) -> Vec<String> {
    text.vars()
        .filter_map(|v| match v {
            Var::Field(field) => Some(field.clone()),
            _ => None,
        })
        .collect()
}

/// Everything but RFC 3986's unreserved characters is encoded in a path
/// segment, `/` included.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// A request line: a method and a path (with an optional query) below the
/// provider's base URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestLine {
    /// The HTTP method.
    pub method: http::Method,
    path: Text,
}

impl RequestLine {
    /// Parses `METHOD /path`.
    pub fn parse(
        text: &str,
        setting: &'static str,
        forbidden: &[&str],
    ) -> Result<Self, SettingsError> {
        let refuse = |reason: &str| SettingsError {
            name: setting,
            reason: reason.to_owned(),
        };
        let (method, path) = text
            .trim()
            .split_once(' ')
            .ok_or_else(|| refuse("it must be `METHOD /path`, e.g. `POST /keys`"))?;
        let method = http::Method::from_bytes(method.as_bytes())
            .map_err(|_| refuse("the method is not an HTTP method"))?;
        let path = path.trim();
        if !path.starts_with('/') || path.contains(char::is_whitespace) || path.contains('#') {
            return Err(refuse(
                "the path must start with `/` and hold no spaces or `#`",
            ));
        }
        Ok(Self {
            method,
            path: Text::parse(path, setting, forbidden)?,
        })
    }

    /// The path filled in. A value is one encoded segment: `.` and `..`,
    /// which would move up the path, and empty values are refused.
    pub fn path(&self, values: &Values<'_>) -> Result<String, RotatorError> {
        self.path.render(values, |value| {
            if value.is_empty() || value == "." || value == ".." {
                return Err(RotatorError::Refused(format!(
                    "a path value is `{value}`, which would change the request's path"
                )));
            }
            Ok(utf8_percent_encode(value, SEGMENT).to_string())
        })
    }

    /// The secret's fields the path names.
    pub fn fields(&self) -> Vec<String> {
        fields_of(&self.path)
    }

    /// Whether the path names `var`.
    pub fn uses(&self, var: &Var) -> bool {
        self.path.vars().any(|v| v == var)
    }
}

/// A JSON body template: placeholders only inside strings, so the
/// structure is fixed at start-up.
#[derive(Debug, Clone, PartialEq)]
pub struct Body {
    template: Value,
}

impl Body {
    /// Parses a JSON template, checking every placeholder in its strings.
    pub fn parse(
        text: &str,
        setting: &'static str,
        forbidden: &[&str],
    ) -> Result<Self, SettingsError> {
        let template: Value = serde_json::from_str(text).map_err(|e| SettingsError {
            name: setting,
            reason: format!("it is not JSON ({e})"),
        })?;
        fn check(
            value: &Value,
            setting: &'static str,
            forbidden: &[&str],
        ) -> Result<(), SettingsError> {
            match value {
                Value::String(s) => Text::parse(s, setting, forbidden).map(drop),
                Value::Array(items) => items.iter().try_for_each(|v| check(v, setting, forbidden)),
                Value::Object(map) => map.values().try_for_each(|v| check(v, setting, forbidden)),
                _ => Ok(()),
            }
        }
        check(&template, setting, forbidden)?;
        Ok(Self { template })
    }

    /// The secret's fields the body names.
    pub fn fields(&self) -> Vec<String> {
        fn walk(value: &Value, out: &mut Vec<String>) {
            match value {
                Value::String(s) => {
                    if let Ok(text) = Text::parse(s, "body", &[]) {
                        out.extend(fields_of(&text));
                    }
                }
                Value::Array(items) => items.iter().for_each(|v| walk(v, out)),
                Value::Object(map) => map.values().for_each(|v| walk(v, out)),
                _ => {}
            }
        }
        let mut out = Vec::new();
        walk(&self.template, &mut out);
        out
    }

    /// The body filled in.
    pub fn render(&self, values: &Values<'_>) -> Result<Value, RotatorError> {
        fn fill(value: &Value, values: &Values<'_>) -> Result<Value, RotatorError> {
            Ok(match value {
                Value::String(s) => {
                    // Parsed at start-up; cannot fail here.
                    let text = Text::parse(s, "body", &[])
                        .map_err(|e| RotatorError::Refused(e.to_string()))?;
                    Value::String(text.render(values, |v| Ok(v.to_owned()))?)
                }
                Value::Array(items) => Value::Array(
                    items
                        .iter()
                        .map(|v| fill(v, values))
                        .collect::<Result<_, _>>()?,
                ),
                Value::Object(map) => Value::Object(
                    map.iter()
                        .map(|(k, v)| Ok((k.clone(), fill(v, values)?)))
                        .collect::<Result<_, RotatorError>>()?,
                ),
                other => other.clone(),
            })
        }
        fill(&self.template, values)
    }
}

/// A header line `Name: value` whose value may hold `{{auth}}`, the
/// credential a request authenticates with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthHeader {
    /// The header's name.
    pub name: http::HeaderName,
    before: String,
    after: String,
}

impl AuthHeader {
    /// Parses `Name: prefix{{auth}}suffix`.
    pub fn parse(text: &str, setting: &'static str) -> Result<Self, SettingsError> {
        let refuse = |reason: &str| SettingsError {
            name: setting,
            reason: reason.to_owned(),
        };
        let (name, value) = text.split_once(':').ok_or_else(|| {
            refuse("it must be `Name: value`, e.g. `Authorization: Bearer {{auth}}`")
        })?;
        let name = http::HeaderName::from_bytes(name.trim().as_bytes())
            .map_err(|_| refuse("the header name is not valid"))?;
        let value = value.trim();
        let (before, after) = value
            .split_once("{{auth}}")
            .ok_or_else(|| refuse("the value must hold `{{auth}}`, where the key goes"))?;
        if after.contains("{{") || before.contains("{{") {
            return Err(refuse("only `{{auth}}` may appear in it, once"));
        }
        Ok(Self {
            name,
            before: before.to_owned(),
            after: after.to_owned(),
        })
    }

    /// The header value for `credential`; marked sensitive, so the HTTP
    /// stack never prints it.
    pub fn value(&self, credential: &str) -> Result<http::HeaderValue, RotatorError> {
        let mut text =
            String::with_capacity(self.before.len() + credential.len() + self.after.len());
        let _ = write!(text, "{}{credential}{}", self.before, self.after);
        let mut value = http::HeaderValue::from_str(&text).map_err(|_| {
            RotatorError::Refused("the key holds a character no HTTP header can carry".into())
        })?;
        value.set_sensitive(true);
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret() -> SecretJson {
        let mut secret = SecretJson::from_map(Default::default());
        secret.set("account", "team a/b");
        secret.set("seats", 3);
        secret.set("up", "..");
        secret
    }

    fn values<'a>(secret: &'a SecretJson) -> Values<'a> {
        Values {
            token: "tok-1",
            tag: "rot-abc-tok-1",
            key_id: Some("k/1"),
            secret,
        }
    }

    #[test]
    fn path_values_are_one_encoded_segment() {
        let line = RequestLine::parse(
            "DELETE /accounts/{{secret.account}}/keys/{{key_id}}",
            "X",
            &[],
        )
        .unwrap();
        assert_eq!(line.method, http::Method::DELETE);
        let secret = secret();
        assert_eq!(
            line.path(&values(&secret)).unwrap(),
            "/accounts/team%20a%2Fb/keys/k%2F1"
        );
    }

    #[test]
    fn a_value_that_moves_up_the_path_is_refused() {
        let line = RequestLine::parse("GET /a/{{secret.up}}/b", "X", &[]).unwrap();
        let secret = secret();
        let err = line.path(&values(&secret)).unwrap_err().to_string();
        assert!(err.contains("change the request's path"), "{err}");
    }

    #[test]
    fn unknown_names_and_key_fields_are_refused_at_start_up() {
        for (text, says) in [
            ("POST /keys/{{nope}}", "names no value"),
            ("POST /keys/{{secret.}}", "names no value"),
            ("POST /keys/{{secret.api_key}}", "keys travel only"),
            ("POST /keys/{{token", "never closed"),
            ("POST", "METHOD /path"),
            ("POST keys", "must start with `/`"),
        ] {
            let err = RequestLine::parse(text, "HTTP_ISSUE", &["api_key"]).unwrap_err();
            assert_eq!(err.name, "HTTP_ISSUE");
            assert!(err.reason.contains(says), "{text}: {}", err.reason);
        }
        let err = Body::parse(
            r#"{"k": "{{secret.api_key}}"}"#,
            "HTTP_ISSUE_BODY",
            &["api_key"],
        )
        .unwrap_err();
        assert!(err.reason.contains("keys travel only"), "{}", err.reason);
        assert!(Body::parse("{not json", "HTTP_ISSUE_BODY", &[]).is_err());
    }

    #[test]
    fn body_values_stay_inside_their_strings() {
        let body = Body::parse(
            r#"{"name": "{{secret.account}}-\"{{tag}}\"", "n": 1, "list": ["{{secret.seats}}"]}"#,
            "B",
            &[],
        )
        .unwrap();
        let mut secret = secret();
        secret.set("account", r#"x", "admin": true, "y": ""#);
        let filled = body.render(&values(&secret)).unwrap();
        assert_eq!(
            filled["name"],
            r#"x", "admin": true, "y": "-"rot-abc-tok-1""#
        );
        assert_eq!(filled["list"][0], "3");
        assert_eq!(filled["n"], 1);
        assert!(filled.get("admin").is_none());
    }

    #[test]
    fn a_missing_field_is_named() {
        let body = Body::parse(r#"{"name": "{{secret.owner}}"}"#, "B", &[]).unwrap();
        let secret = secret();
        let err = body.render(&values(&secret)).unwrap_err().to_string();
        assert!(err.contains("`owner`"), "{err}");
    }

    #[test]
    fn the_auth_header_is_sensitive_and_refuses_line_breaks() {
        let header = AuthHeader::parse("Authorization: Bearer {{auth}}", "H").unwrap();
        let value = header.value("k1").unwrap();
        assert_eq!(value.to_str().unwrap(), "Bearer k1");
        assert!(value.is_sensitive());
        assert!(header.value("k1\r\nX-Evil: 1").is_err());
        assert!(AuthHeader::parse("Authorization: Bearer", "H").is_err());
        assert!(AuthHeader::parse("X-Key: {{auth}}{{token}}", "H").is_err());
    }
}
