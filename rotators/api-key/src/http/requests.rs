//! The requests [`HttpKeys`] makes: the admin credential, and issuing,
//! listing, verifying and revoking keys.

use rotation_core::{RotationContext, RotatorError, SecretJson, SecretString};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::client::{self, status_error, Call};
use super::template::{RequestLine, Values};
use super::{Auth, HttpKeys};

impl HttpKeys {
    /// The tag of the keys this secret's rotations issue: a digest of the
    /// secret's ARN (short, and the same for every version), then the
    /// token. `prefix` alone identifies the secret.
    pub(super) fn tag(secret_arn: &str, token: &str) -> (String, String) {
        let digest = Sha256::digest(secret_arn.as_bytes());
        let prefix: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
        let prefix = format!("rot-{prefix}-");
        (format!("{prefix}{token}"), prefix)
    }

    /// The key that authenticates issue, list and revoke requests.
    pub(super) async fn credential(
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
    pub(super) async fn request(
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
                purpose,
            })
            .await
    }

    /// [`request`](Self::request), where only a 2xx answer will do.
    pub(super) async fn request_ok(
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
            Err(status_error(purpose, answer.status, &answer.body))
        }
    }

    /// The ids of the keys the provider lists with a tag starting with
    /// `prefix`, and their tags.
    pub(super) async fn tagged(
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
    pub(super) async fn revoke(
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
            s => Err(status_error(purpose, s, &answer.body)),
        }
    }

    /// Before the admin acts for the secret: the key it holds works, and the
    /// verify answer for that key agrees with every bound field. Whoever
    /// edits the secret chooses those fields; without this, naming another
    /// account would have the admin issue that account a key and store it
    /// where the editor reads it.
    pub(super) async fn prove(
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
    pub(super) async fn retire(
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

/// A string (or number) at `pointer` in `json`.
pub(super) fn text_at(json: &Value, pointer: &str) -> Option<String> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tag_names_the_secret_by_digest_then_the_token() {
        let (tag, prefix) = HttpKeys::tag("arn:aws:secretsmanager:eu-west-1:1:secret:a", "tok");
        assert!(tag.starts_with(&prefix) && tag.ends_with("-tok"), "{tag}");
        assert_eq!(prefix.len(), "rot-".len() + 16 + 1);
        let (_, other) = HttpKeys::tag("arn:aws:secretsmanager:eu-west-1:1:secret:b", "tok");
        assert_ne!(prefix, other);
    }
}
