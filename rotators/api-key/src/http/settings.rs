//! Reading [`HttpKeys`] from the function's settings: each variable, or
//! the bundle `HTTP_SETTINGS` carries.

use std::time::Duration;

use rotation_core::{settings, SettingsError};
use serde_json::Value;

use super::client::{self, BaseUrl, ProviderClient};
use super::template::{self, AuthHeader, Body, RequestLine};
use super::{Auth, HttpKeys, Listing, RevokeAt};

/// The settings `HTTP_SETTINGS` may carry: the requests' shape, not where
/// they go or with whose credential (`HTTP_BASE_URL`, `HTTP_AUTH` and
/// `HTTP_ADMIN_SECRET_ARN` stay variables of their own).
const BUNDLED: [&str; 18] = [
    "HTTP_VERIFY_BINDS",
    "HTTP_ISSUE",
    "HTTP_ISSUE_BODY",
    "HTTP_ISSUE_KEY_POINTER",
    "HTTP_ISSUE_ID_POINTER",
    "HTTP_LIST",
    "HTTP_LIST_ITEMS_POINTER",
    "HTTP_LIST_ID_POINTER",
    "HTTP_LIST_TAG_POINTER",
    "HTTP_VERIFY",
    "HTTP_REVOKE",
    "HTTP_REVOKE_AT",
    "HTTP_AUTH_HEADER",
    "HTTP_KEY_ID_FIELD",
    "HTTP_ADMIN_KEY_FIELD",
    "HTTP_TIMEOUT_SECONDS",
    "HTTP_ATTEMPTS",
    "HTTP_CA_BUNDLE",
];

/// `HTTP_SETTINGS`, a JSON object of [`BUNDLED`] settings (one template
/// parameter instead of seventeen); a variable set on its own wins.
fn bundled(
    lookup: &impl Fn(&str) -> Option<String>,
) -> Result<Vec<(String, String)>, SettingsError> {
    let Some(text) = settings::optional(lookup, "HTTP_SETTINGS")? else {
        return Ok(Vec::new());
    };
    let refuse = |reason: String| SettingsError {
        name: "HTTP_SETTINGS",
        reason,
    };
    let Ok(Value::Object(map)) = serde_json::from_str::<Value>(&text) else {
        return Err(refuse("it must be a JSON object of HTTP_* settings".into()));
    };
    map.into_iter()
        .map(|(name, value)| {
            if !BUNDLED.contains(&name.as_str()) {
                return Err(refuse(format!("`{name}` is not a setting it may carry")));
            }
            match value {
                Value::String(text) => Ok((name, text)),
                Value::Number(n) => Ok((name, n.to_string())),
                _ => Err(refuse(format!("`{name}` must be a string"))),
            }
        })
        .collect()
}

impl HttpKeys {
    /// From the settings (see the README's "Keys over HTTP" for the
    /// layout and a worked example). A template naming an unknown value,
    /// a key field, or an admin set-up without `HTTP_LIST` stops the
    /// function at start-up.
    pub fn from_lookup(lookup: &impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let bundled = bundled(lookup)?;
        let lookup = |name: &str| {
            lookup(name).filter(|v| !v.trim().is_empty()).or_else(|| {
                bundled
                    .iter()
                    .find(|(n, _)| n == name)
                    .map(|(_, v)| v.clone())
            })
        };
        let lookup = &lookup;
        let key_field = settings::optional(lookup, "API_KEY_FIELD")?.unwrap_or("api_key".into());
        let id_field = settings::optional(lookup, "HTTP_KEY_ID_FIELD")?.unwrap_or("key_id".into());
        let forbidden = [key_field.as_str()];
        let line = |name: &'static str| -> Result<RequestLine, SettingsError> {
            RequestLine::parse(&settings::required(lookup, name)?, name, &forbidden)
        };
        let pointer = |name: &'static str, default: &str| -> Result<String, SettingsError> {
            let value = settings::optional(lookup, name)?.unwrap_or(default.into());
            if !value.is_empty() && !value.starts_with('/') {
                return Err(SettingsError {
                    name,
                    reason: format!("`{value}` is not a JSON pointer (it starts with `/`)"),
                });
            }
            Ok(value)
        };
        let base = BaseUrl::parse(
            &settings::required(lookup, "HTTP_BASE_URL")?,
            "HTTP_BASE_URL",
        )?;
        let timeout = settings::number(lookup, "HTTP_TIMEOUT_SECONDS", 1..=60, 10)?;
        let attempts = settings::number(lookup, "HTTP_ATTEMPTS", 1..=10, 3)? as u32;
        let roots = match settings::optional(lookup, "HTTP_CA_BUNDLE")? {
            Some(path) => client::read_ca_bundle(&path)?,
            None => Vec::new(),
        };
        let auth = match settings::optional(lookup, "HTTP_AUTH")?.as_deref() {
            None | Some("admin") => Auth::Admin {
                secret_arn: settings::required(lookup, "HTTP_ADMIN_SECRET_ARN")?,
                field: settings::optional(lookup, "HTTP_ADMIN_KEY_FIELD")?
                    .unwrap_or("api_key".into()),
            },
            Some("self") => Auth::CurrentKey,
            Some(other) => {
                return Err(SettingsError {
                    name: "HTTP_AUTH",
                    reason: format!("`{other}` is not `admin` or `self`"),
                })
            }
        };
        let list = match settings::optional(lookup, "HTTP_LIST")? {
            Some(text) => Some(Listing {
                line: RequestLine::parse(&text, "HTTP_LIST", &forbidden)?,
                items: pointer("HTTP_LIST_ITEMS_POINTER", "/keys")?,
                id: pointer("HTTP_LIST_ID_POINTER", "/id")?,
                tag: pointer("HTTP_LIST_TAG_POINTER", "/tag")?,
            }),
            None => None,
        };
        if list.is_none() && matches!(auth, Auth::Admin { .. }) {
            return Err(SettingsError {
                name: "HTTP_LIST",
                reason: "it is required with an admin credential: the admin revokes only keys the \
                         provider lists with this secret's tag, and clears keys a failed createSecret left"
                    .into(),
            });
        }
        let revoke_at = match settings::optional(lookup, "HTTP_REVOKE_AT")?.as_deref() {
            None | Some("next-rotation") => RevokeAt::NextRotation,
            Some("finish") => RevokeAt::Finish,
            Some(other) => {
                return Err(SettingsError {
                    name: "HTTP_REVOKE_AT",
                    reason: format!("`{other}` is not `next-rotation` or `finish`"),
                })
            }
        };
        let revoke = line("HTTP_REVOKE")?;
        if !revoke.uses(&template::Var::KeyId) {
            return Err(SettingsError {
                name: "HTTP_REVOKE",
                reason: "it must name the key to revoke with `{{key_id}}`".into(),
            });
        }
        let binds = parse_binds(settings::optional(lookup, "HTTP_VERIFY_BINDS")?.as_deref())?;
        let issue = line("HTTP_ISSUE")?;
        let issue_body = settings::optional(lookup, "HTTP_ISSUE_BODY")?
            .map(|text| Body::parse(&text, "HTTP_ISSUE_BODY", &forbidden))
            .transpose()?;
        if matches!(auth, Auth::Admin { .. }) {
            // Every field that shapes an admin request must be proved to
            // belong to the key the secret holds.
            let mut used = issue.fields();
            used.extend(issue_body.iter().flat_map(Body::fields));
            used.extend(revoke.fields());
            used.extend(list.iter().flat_map(|l| l.line.fields()));
            if let Some(field) = used.iter().find(|f| !binds.iter().any(|(_, b)| b == *f)) {
                return Err(SettingsError {
                    name: "HTTP_VERIFY_BINDS",
                    reason: format!(
                        "the admin's requests name `{{{{secret.{field}}}}}`: bind it to the verify answer \
                         (`/POINTER={field}`), so that only a holder of a key for that {field} can have \
                         the admin act on it"
                    ),
                });
            }
        }
        let auth_header = settings::optional(lookup, "HTTP_AUTH_HEADER")?
            .unwrap_or("Authorization: Bearer {{auth}}".into());
        Ok(Self {
            client: ProviderClient::new(base, Duration::from_secs(timeout), attempts, roots),
            auth,
            auth_header: AuthHeader::parse(&auth_header, "HTTP_AUTH_HEADER")?,
            issue,
            issue_body,
            binds,
            issue_key: pointer("HTTP_ISSUE_KEY_POINTER", "/key")?,
            issue_id: pointer("HTTP_ISSUE_ID_POINTER", "/id")?,
            list,
            verify: line("HTTP_VERIFY")?,
            revoke,
            revoke_at,
            key_field,
            id_field,
        })
    }
}

/// `HTTP_VERIFY_BINDS`: `/pointer=field` pairs, comma-separated.
fn parse_binds(text: Option<&str>) -> Result<Vec<(String, String)>, SettingsError> {
    let Some(text) = text else {
        return Ok(Vec::new());
    };
    text.split(',')
        .map(|pair| match pair.trim().split_once('=') {
            Some((pointer, field)) if pointer.starts_with('/') && !field.trim().is_empty() => {
                Ok((pointer.to_owned(), field.trim().to_owned()))
            }
            _ => Err(SettingsError {
                name: "HTTP_VERIFY_BINDS",
                reason: format!("`{}` is not `/POINTER=FIELD`", pair.trim()),
            }),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::template::Values;
    use rotation_core::SecretJson;
    use std::collections::HashMap;

    fn from(pairs: &[(&str, &str)]) -> Result<HttpKeys, SettingsError> {
        let map: HashMap<&str, &str> = pairs.iter().copied().collect();
        HttpKeys::from_lookup(&|name| map.get(name).map(|v| v.to_string()))
    }

    const BASE: [(&str, &str); 5] = [
        ("HTTP_BASE_URL", "https://keys.example.com/v1"),
        ("HTTP_AUTH", "self"),
        ("HTTP_ISSUE", "POST /keys"),
        ("HTTP_VERIFY", "GET /whoami"),
        ("HTTP_REVOKE", "DELETE /keys/{{key_id}}"),
    ];

    #[test]
    fn settings_may_come_bundled_and_a_variable_wins() {
        let bundled = r#"{"HTTP_ISSUE": "POST /keys", "HTTP_VERIFY": "GET /whoami",
            "HTTP_REVOKE": "DELETE /keys/{{key_id}}", "HTTP_ATTEMPTS": 5}"#;
        let keys = from(&[
            ("HTTP_BASE_URL", "https://keys.example.com/v1"),
            ("HTTP_AUTH", "self"),
            ("HTTP_SETTINGS", bundled),
            ("HTTP_VERIFY", "GET /me"),
        ])
        .unwrap();
        assert_eq!(keys.verify.method, http::Method::GET);
        let secret = SecretJson::from_map(Default::default());
        let values = Values {
            token: "t",
            tag: "g",
            key_id: None,
            secret: &secret,
        };
        assert_eq!(keys.verify.path(&values).unwrap(), "/me");
        for (bundle, says) in [
            ("[1]", "JSON object"),
            (
                r#"{"HTTP_BASE_URL": "https://evil.example"}"#,
                "HTTP_BASE_URL",
            ),
            (r#"{"HTTP_ISSUE": ["POST /keys"]}"#, "must be a string"),
        ] {
            let err = from(&[("HTTP_SETTINGS", bundle)]).unwrap_err();
            assert_eq!(err.name, "HTTP_SETTINGS");
            assert!(err.reason.contains(says), "{bundle}: {}", err.reason);
        }
    }

    #[test]
    fn the_admin_needs_a_listing_and_revoke_names_the_key() {
        let mut admin = BASE.to_vec();
        admin.retain(|(n, _)| *n != "HTTP_AUTH");
        admin.push((
            "HTTP_ADMIN_SECRET_ARN",
            "arn:aws:secretsmanager:eu-west-1:1:secret:admin",
        ));
        assert_eq!(from(&admin).unwrap_err().name, "HTTP_LIST");
        admin.push(("HTTP_LIST", "GET /keys"));
        assert!(from(&admin).is_ok());
        let mut revoke = BASE.to_vec();
        revoke.retain(|(n, _)| *n != "HTTP_REVOKE");
        revoke.push(("HTTP_REVOKE", "DELETE /keys"));
        assert_eq!(from(&revoke).unwrap_err().name, "HTTP_REVOKE");
    }
}
