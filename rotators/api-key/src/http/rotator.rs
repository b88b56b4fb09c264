//! The four steps for keys issued over HTTP.

use rotation_core::{async_trait, Credential, KeyFormat, RotationContext, Rotator, RotatorError};
use rotation_core::{SecretFormatError, SecretJson, SecretString, VersionLabel};
use serde_json::Value;

use super::requests::text_at;
use super::template::Values;
use super::{Auth, HttpKeys, RevokeAt, ENGINE};

#[async_trait]
impl Rotator for HttpKeys {
    /// The key field. The provider makes the values (`create_pending`); the
    /// format only keeps the password settings away from this function.
    fn credential(&self) -> Credential {
        Credential::key(self.key_field.clone(), KeyFormat::alphanumeric(40))
    }

    fn validate(&self, secret: &SecretJson) -> Result<(), SecretFormatError> {
        crate::check_engine(secret, ENGINE)?;
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
