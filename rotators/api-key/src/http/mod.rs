//! Keys a provider issues over HTTP, described by the function's settings:
//! where the provider is, how to issue, list, verify and revoke a key. The
//! rotated secret holds the key and its id, and may fill fields into the
//! requests' paths and bodies.
//!
//! - createSecret revokes the key two generations older than the one it is
//!   about to issue (AWSPREVIOUS's; its grace window ends as this rotation
//!   starts), issues a key with an `Idempotency-Key` derived from the
//!   token and tagged with the secret and the token, then revokes any other
//!   key carrying that tag: a provider that honours the idempotency key
//!   answers a retried createSecret with the same key, one that does not
//!   leaves a second key, which this clears.
//! - setSecret has nothing to do; testSecret makes the verify request with
//!   the new key.
//! - After finishSecret, with `HTTP_REVOKE_AT=finish`, the replaced key is
//!   revoked at once.
//!
//! Trust boundary: requests go to `HTTP_BASE_URL` only; fields of the
//! secret fill in encoded path segments and JSON strings, never the host.
//! The admin credential comes from `HTTP_ADMIN_SECRET_ARN`, a setting (a
//! secret's `adminarn`, if present, must name the same secret). A key the
//! admin revokes must be listed by the provider with this secret's tag, so
//! an edited `key_id` cannot aim the admin at another secret's key.

mod client;
pub mod template;

use std::time::Duration;

use rotation_core::{async_trait, Credential, KeyFormat, RotationContext, Rotator, RotatorError};
use rotation_core::{SecretFormatError, SecretJson, SecretString, SettingsError, VersionLabel};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::settings;
pub use client::BaseUrl;
use client::{status_error, Call, ProviderClient};
use template::{AuthHeader, Body, RequestLine, Values};

/// The provider's name in `API_KEY_PROVIDER` and a secret's `engine`.
pub const ENGINE: &str = "http";

/// What authenticates the issue, list and revoke requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Auth {
    /// An admin key from another secret (its ARN and the field).
    Admin {
        /// The admin secret's ARN (`HTTP_ADMIN_SECRET_ARN`).
        secret_arn: String,
        /// The field holding the admin key (`HTTP_ADMIN_KEY_FIELD`).
        field: String,
    },
    /// The current key itself: it issues its successor and revokes its
    /// predecessor.
    CurrentKey,
}

/// When a replaced key is revoked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevokeAt {
    /// At the next rotation's createSecret: consumers have a rotation
    /// interval to move over (the default).
    NextRotation,
    /// As soon as finishSecret has moved AWSCURRENT.
    Finish,
}

/// How to find keys by tag (`HTTP_LIST`).
#[derive(Debug, Clone)]
struct Listing {
    line: RequestLine,
    items: String,
    id: String,
    tag: String,
}

/// The HTTP provider.
#[derive(Debug)]
pub struct HttpKeys {
    client: ProviderClient,
    auth: Auth,
    auth_header: AuthHeader,
    key_field: String,
    id_field: String,
    issue: RequestLine,
    issue_body: Option<Body>,
    issue_key: String,
    issue_id: String,
    list: Option<Listing>,
    verify: RequestLine,
    revoke: RequestLine,
    revoke_at: RevokeAt,
    /// (JSON pointer in the verify answer, field of the secret) pairs that
    /// must agree before the admin acts for the secret.
    binds: Vec<(String, String)>,
}

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

    /// The tag of the keys this secret's rotations issue: a digest of the
    /// secret's ARN (short, and the same for every version), then the
    /// token. `prefix` alone identifies the secret.
    fn tag(secret_arn: &str, token: &str) -> (String, String) {
        let digest = Sha256::digest(secret_arn.as_bytes());
        let prefix: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
        let prefix = format!("rot-{prefix}-");
        (format!("{prefix}{token}"), prefix)
    }

    /// The key that authenticates issue, list and revoke requests.
    async fn credential(
        &self,
        ctx: &RotationContext<'_>,
        current: &SecretJson,
    ) -> Result<SecretString, RotatorError> {
        match &self.auth {
            Auth::CurrentKey => Ok(current.required_credential(&self.key_field)?),
            Auth::Admin { secret_arn, field } => {
                if let Some(named) = current.optional_str("adminarn")? {
                    if named != secret_arn {
                        return Err(RotatorError::Refused(format!(
                            "the secret's adminarn is not HTTP_ADMIN_SECRET_ARN ({secret_arn}), the only \
                             admin credential this function uses"
                        )));
                    }
                }
                let admin = ctx.other_secret(secret_arn).await?;
                admin.required_credential(field).map_err(|e| {
                    RotatorError::Refused(format!("the admin secret {secret_arn} is unusable: {e}"))
                })
            }
        }
    }

    /// Makes the request `line` describes, authenticated with `key`; the
    /// answer of any final status. `issue` adds the idempotency key and
    /// body of an issue request.
    async fn request(
        &self,
        line: &RequestLine,
        values: &Values<'_>,
        key: &SecretString,
        issue: Option<(&str, Option<Value>)>,
        purpose: &str,
    ) -> Result<client::Answer, RotatorError> {
        let (idempotency_key, body) = match issue {
            Some((idempotency_key, body)) => (Some(idempotency_key), body),
            None => (None, None),
        };
        let header = (
            self.auth_header.name.clone(),
            self.auth_header.value(key.expose())?,
        );
        self.client
            .send(&Call {
                method: line.method.clone(),
                path: line.path(values)?,
                auth: Some(header),
                idempotency_key,
                body,
                redact: &[key.expose()],
                purpose,
            })
            .await
    }

    /// [`request`](Self::request), where only a 2xx answer will do.
    async fn request_ok(
        &self,
        line: &RequestLine,
        values: &Values<'_>,
        key: &SecretString,
        issue: Option<(&str, Option<Value>)>,
        purpose: &str,
    ) -> Result<client::Answer, RotatorError> {
        let answer = self.request(line, values, key, issue, purpose).await?;
        if answer.status.is_success() {
            Ok(answer)
        } else {
            Err(status_error(
                purpose,
                answer.status,
                &answer.body,
                &[key.expose()],
            ))
        }
    }

    /// The ids of the keys the provider lists with a tag starting with
    /// `prefix`, and their tags.
    async fn tagged(
        &self,
        values: &Values<'_>,
        auth: &SecretString,
        prefix: &str,
    ) -> Result<Vec<(String, String)>, RotatorError> {
        let Some(list) = &self.list else {
            return Ok(Vec::new());
        };
        let purpose = "list keys";
        let answer = self
            .request_ok(&list.line, values, auth, None, purpose)
            .await?;
        let json = answer.json(purpose)?;
        let items = json
            .pointer(&list.items)
            .and_then(Value::as_array)
            .ok_or_else(|| {
                RotatorError::Refused(format!(
                    "{purpose}: no array at HTTP_LIST_ITEMS_POINTER `{}`",
                    list.items
                ))
            })?;
        Ok(items
            .iter()
            .filter_map(|item| {
                let id = text_at(item, &list.id)?;
                let tag = text_at(item, &list.tag)?;
                tag.starts_with(prefix).then_some((id, tag))
            })
            .collect())
    }

    /// Revokes `key_id`; a key already gone (404, 410) is success.
    async fn revoke(
        &self,
        values: &Values<'_>,
        auth: &SecretString,
        why: &str,
    ) -> Result<(), RotatorError> {
        let purpose = "revoke a key";
        tracing::info!(key_id = values.key_id, why, "revoking a key");
        let answer = self
            .request(&self.revoke, values, auth, None, purpose)
            .await?;
        match answer.status {
            s if s.is_success() => Ok(()),
            http::StatusCode::NOT_FOUND | http::StatusCode::GONE => Ok(()),
            s => Err(status_error(purpose, s, &answer.body, &[auth.expose()])),
        }
    }

    /// Before the admin acts for the secret: the key it holds works, and the
    /// verify answer for that key agrees with every bound field. Whoever
    /// edits the secret chooses those fields; without this, naming another
    /// account would have the admin issue that account a key and store it
    /// where the editor reads it.
    async fn prove(
        &self,
        ctx: &RotationContext<'_>,
        current: &SecretJson,
    ) -> Result<(), RotatorError> {
        let key = current.required_credential(&self.key_field)?;
        let (tag, _) = Self::tag(ctx.secret_id(), ctx.token());
        let values = Values {
            token: ctx.token(),
            tag: &tag,
            key_id: current.optional_str(&self.id_field)?,
            secret: current,
        };
        let purpose = "prove AWSCURRENT's key";
        let answer = self
            .request_ok(&self.verify, &values, &key, None, purpose)
            .await?;
        let json = answer.json(purpose)?;
        for (pointer, field) in &self.binds {
            let stored = current.get(field).and_then(text_of);
            if stored.is_none() || text_at(&json, pointer) != stored {
                return Err(RotatorError::Refused(format!(
                    "the provider does not answer AWSCURRENT's key with the secret's `{field}` at `{pointer}`; \
                     the admin acts only for a {field} whose key the secret holds"
                )));
            }
        }
        Ok(())
    }

    /// Revokes the key `old` holds, the admin only when the provider lists
    /// it with this secret's tag.
    async fn retire(
        &self,
        ctx: &RotationContext<'_>,
        (current, auth): (&SecretJson, &SecretString),
        old: &SecretJson,
        why: &str,
    ) -> Result<(), RotatorError> {
        let Some(old_id) = old.optional_str(&self.id_field)? else {
            return Ok(());
        };
        if Some(old_id) == current.optional_str(&self.id_field)? {
            return Ok(());
        }
        let (tag, prefix) = Self::tag(ctx.secret_id(), ctx.token());
        let values = Values {
            token: ctx.token(),
            tag: &tag,
            key_id: Some(old_id),
            secret: current,
        };
        if matches!(self.auth, Auth::Admin { .. }) {
            let ours = self.tagged(&values, auth, &prefix).await?;
            if !ours.iter().any(|(id, _)| id == old_id) {
                tracing::warn!(
                    key_id = old_id,
                    "not revoking: the provider does not list this key with this secret's tag \
                     (a key made outside the rotation, or already gone); revoke it by hand if it is live"
                );
                return Ok(());
            }
        }
        self.revoke(&values, auth, why).await
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

/// A string (or number) at `pointer` in `json`.
fn text_at(json: &Value, pointer: &str) -> Option<String> {
    json.pointer(pointer).and_then(text_of)
}

/// A string, or a number as text.
fn text_of(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

#[async_trait]
impl Rotator for HttpKeys {
    /// The key field. The provider makes the values (`create_pending`); the
    /// format only keeps the password settings away from this function.
    fn credential(&self) -> Credential {
        Credential::key(self.key_field.clone(), KeyFormat::alphanumeric(40))
    }

    fn validate(&self, secret: &SecretJson) -> Result<(), SecretFormatError> {
        secret.required_credential(&self.key_field)?;
        secret.required_str(&self.id_field).map(drop)
    }

    async fn create_pending(
        &self,
        ctx: &RotationContext<'_>,
        current: &SecretJson,
    ) -> Result<SecretJson, RotatorError> {
        {
            // A secret the issue request cannot be made from (a missing
            // field, a `..`) fails before any request.
            let (tag, _) = Self::tag(ctx.secret_id(), ctx.token());
            let values = Values {
                token: ctx.token(),
                tag: &tag,
                key_id: None,
                secret: current,
            };
            self.issue.path(&values)?;
            if let Some(body) = &self.issue_body {
                body.render(&values)?;
            }
        }
        if matches!(self.auth, Auth::Admin { .. }) {
            self.prove(ctx, current).await?;
        }
        // One read of the admin's secret serves the retirement and the issue.
        let auth = self.credential(ctx, current).await?;
        if self.revoke_at == RevokeAt::NextRotation {
            if let Some(previous) = ctx.secret(VersionLabel::Previous).await? {
                let why = "AWSPREVIOUS, two generations older than the key about to be issued: its grace window \
                           ends as this rotation starts";
                self.retire(ctx, (current, &auth), &previous, why).await?;
            }
        }
        let (tag, prefix) = Self::tag(ctx.secret_id(), ctx.token());
        let values = Values {
            token: ctx.token(),
            tag: &tag,
            key_id: None,
            secret: current,
        };
        let purpose = "issue a key";
        let body = self
            .issue_body
            .as_ref()
            .map(|b| b.render(&values))
            .transpose()?;
        let answer = self
            .request_ok(&self.issue, &values, &auth, Some((&tag, body)), purpose)
            .await?;
        let json = answer.json(purpose)?;
        let key = json
            .pointer(&self.issue_key)
            .and_then(Value::as_str)
            .ok_or_else(|| {
                RotatorError::Refused(format!(
                    "{purpose}: no string at HTTP_ISSUE_KEY_POINTER `{}`",
                    self.issue_key
                ))
            })?;
        let key = SecretString::new(key);
        let id = text_at(&json, &self.issue_id).ok_or_else(|| {
            RotatorError::Refused(format!(
                "{purpose}: no string at HTTP_ISSUE_ID_POINTER `{}`",
                self.issue_id
            ))
        })?;
        tracing::info!(key_id = %id, tag = %tag, "issued a key");
        // A key of this rotation's tag other than the one just issued was
        // issued by an earlier try that never stored it.
        for (orphan, _) in self
            .tagged(&values, &auth, &prefix)
            .await?
            .into_iter()
            .filter(|(other, other_tag)| *other != id && *other_tag == tag)
        {
            let values = Values {
                key_id: Some(&orphan),
                ..values
            };
            self.revoke(
                &values,
                &auth,
                "an earlier createSecret issued it and never stored it",
            )
            .await?;
        }
        let mut pending = current.clone();
        pending.set_secret(&self.key_field, &key);
        pending.set(&self.id_field, id);
        Ok(pending)
    }

    async fn set_secret(
        &self,
        _: &RotationContext<'_>,
        _: &SecretJson,
        _: &SecretJson,
    ) -> Result<(), RotatorError> {
        Ok(())
    }

    async fn test_secret(
        &self,
        ctx: &RotationContext<'_>,
        pending: &SecretJson,
    ) -> Result<(), RotatorError> {
        let key = pending.required_credential(&self.key_field)?;
        let (tag, _) = Self::tag(ctx.secret_id(), ctx.token());
        let values = Values {
            token: ctx.token(),
            tag: &tag,
            key_id: pending.optional_str(&self.id_field)?,
            secret: pending,
        };
        self.request_ok(&self.verify, &values, &key, None, "verify the new key")
            .await
            .map(drop)
    }

    async fn after_finish(&self, ctx: &RotationContext<'_>) -> Result<(), RotatorError> {
        if self.revoke_at != RevokeAt::Finish {
            return Ok(());
        }
        let Some((previous, current)) = ctx.previous_and_current().await? else {
            return Ok(());
        };
        let auth = self.credential(ctx, &current).await?;
        self.retire(ctx, (&current, &auth), &previous, "HTTP_REVOKE_AT=finish")
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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

    #[test]
    fn the_tag_names_the_secret_by_digest_then_the_token() {
        let (tag, prefix) = HttpKeys::tag("arn:aws:secretsmanager:eu-west-1:1:secret:a", "tok");
        assert!(tag.starts_with(&prefix) && tag.ends_with("-tok"), "{tag}");
        assert_eq!(prefix.len(), "rot-".len() + 16 + 1);
        let (_, other) = HttpKeys::tag("arn:aws:secretsmanager:eu-west-1:1:secret:b", "tok");
        assert_ne!(prefix, other);
    }
}
