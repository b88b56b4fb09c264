//! AWS IAM access keys: the secret holds an IAM user's `UserName`,
//! `AccessKeyId` and `SecretAccessKey`.
//!
//! IAM issues the key, so createSecret creates it and stores it in one
//! step, and IAM allows a user two keys: a key a failed earlier try created
//! but never stored (its secret half was shown once, to a process that
//! died) would block every later rotation. createSecret therefore clears
//! such keys first. The key consumers hold (AWSCURRENT) is never touched;
//! the one before it (AWSPREVIOUS) stays valid until the next rotation
//! starts, its grace window, and is deactivated and deleted then to make
//! room for the new key, unless `IAM_PREVIOUS_KEY` retires it at
//! finishSecret instead.
//!
//! Trust boundary: whoever edits the secret chooses `UserName`, and the
//! function's role may create keys for every user in `IAM_USERS`. So
//! createSecret proves the stored key is that user's (STS
//! `GetCallerIdentity` signed with it must return the user's ARN) before it
//! mints a key and stores it where the editor can read it: editing the
//! secret can rotate only a user whose key the editor already holds.
//!
//! Keys this rotation may delete are recorded on the IAM user, a tag
//! `secrets-rotation:<key id>` naming the secret (a digest of its ARN):
//! each key createSecret makes, tagged at once, and AWSCURRENT's key once
//! STS proved it. A key without that record (an operator's break-glass
//! key, or one an editor names in AWSPREVIOUS) is never deleted: the step
//! is refused, naming it.

use std::fmt;
use std::time::Duration;

use aws_config::SdkConfig;
use aws_sdk_sts::config::Credentials;
use aws_sdk_sts::error::{ProvideErrorMetadata, SdkError};
use rotation_core::aws_query::QueryError;
use rotation_core::error::BoxError;
use rotation_core::{async_trait, Credential, KeyFormat, RotationContext, Rotator, RotatorError};
use rotation_core::{SecretFormatError, SecretJson, SettingsError, VersionLabel};
use sha2::{Digest, Sha256};
use tokio::sync::OnceCell;

use rotation_core::settings;

mod api;

pub use api::{AccessKey, IamApi, NewKey};

/// The provider's name in `API_KEY_PROVIDER` and a secret's `engine`.
pub const ENGINE: &str = crate::IAM_ENGINE;
/// The secret's field naming the IAM user.
pub const USER_FIELD: &str = "UserName";
/// The secret's field holding the access key id.
pub const KEY_ID_FIELD: &str = "AccessKeyId";
/// The secret's field holding the secret access key.
pub const SECRET_FIELD: &str = "SecretAccessKey";
/// The characters of a secret access key.
const SECRET_KEY_ALPHABET: &str =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
/// The prefix of the IAM user tags that record a key as a secret's.
const RECORD_PREFIX: &str = "secrets-rotation:";

/// The tag recording `key_id`.
fn record_tag(key_id: &str) -> String {
    format!("{RECORD_PREFIX}{key_id}")
}

/// What a record says: the secret, as a digest of its ARN (tag values are
/// short, and the ARN need not be shown on the user).
fn secret_mark(secret_arn: &str) -> String {
    let digest = Sha256::digest(secret_arn.as_bytes());
    digest[..12].iter().map(|b| format!("{b:02x}")).collect()
}

/// IAM's limit of access keys per user.
const KEYS_PER_USER: usize = 2;

/// When the key replaced by a rotation stops working.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PreviousKey {
    /// It stays active until the next rotation's createSecret (the
    /// default): consumers have a whole rotation interval to move over.
    KeptUntilNextRotation,
    /// It is deactivated and deleted as soon as finishSecret has moved
    /// AWSCURRENT: for consumers that re-read the secret on every use, or
    /// a rotation made because the key leaked.
    RetiredAtFinish,
}

/// The IAM access key provider.
pub struct IamAccessKeys {
    users: Vec<String>,
    previous: PreviousKey,
    propagation: Duration,
    aws: OnceCell<Aws>,
}

struct Aws {
    config: SdkConfig,
    iam: Result<IamApi, QueryError>,
}

impl Aws {
    fn new(config: SdkConfig) -> Self {
        let iam = IamApi::new(&config);
        Self { config, iam }
    }
}

impl fmt::Debug for IamAccessKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IamAccessKeys")
            .field("users", &self.users)
            .field("previous", &self.previous)
            .field("propagation", &self.propagation)
            .finish_non_exhaustive()
    }
}

impl IamAccessKeys {
    /// Keys of `users` only, through the SDK's environment (credentials,
    /// region, `AWS_ENDPOINT_URL_IAM` / `AWS_ENDPOINT_URL_STS`), built on
    /// first use.
    pub fn new(users: Vec<String>, previous: PreviousKey) -> Self {
        Self {
            users,
            previous,
            propagation: Duration::from_secs(20),
            aws: OnceCell::new(),
        }
    }

    /// The same provider over an SDK configuration of the caller's (a
    /// test's endpoint and credentials).
    pub fn with_sdk_config(mut self, config: SdkConfig) -> Self {
        self.aws = OnceCell::new_with(Some(Aws::new(config)));
        self
    }

    /// How long testSecret waits for a new key to work: IAM makes a key
    /// usable everywhere within seconds, not at once.
    pub fn with_propagation_wait(mut self, wait: Duration) -> Self {
        self.propagation = wait;
        self
    }

    /// From the settings: `IAM_USERS` (the users this function may rotate,
    /// comma-separated; required, and the template scopes the role to the
    /// same list), `IAM_PREVIOUS_KEY` (`next-rotation`, the default, or
    /// `finish`) and `IAM_PROPAGATION_SECONDS` (default 20).
    pub fn from_lookup(lookup: &impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let users: Vec<String> = settings::required(lookup, "IAM_USERS")?
            .split(',')
            .map(|u| u.trim().to_owned())
            .filter(|u| !u.is_empty())
            .collect();
        if users.iter().any(|u| u.contains('*')) {
            return Err(SettingsError {
                name: "IAM_USERS",
                reason: "it must name users; wildcards are not accepted".into(),
            });
        }
        let previous = match settings::optional(lookup, "IAM_PREVIOUS_KEY")?.as_deref() {
            None | Some("next-rotation") => PreviousKey::KeptUntilNextRotation,
            Some("finish") => PreviousKey::RetiredAtFinish,
            Some(other) => {
                return Err(SettingsError {
                    name: "IAM_PREVIOUS_KEY",
                    reason: format!("`{other}` is not `next-rotation` or `finish`"),
                })
            }
        };
        let wait = settings::number(lookup, "IAM_PROPAGATION_SECONDS", 0..=600, 20)?;
        Ok(Self::new(users, previous).with_propagation_wait(Duration::from_secs(wait)))
    }

    async fn aws(&self) -> &Aws {
        self.aws
            .get_or_init(|| async {
                Aws::new(rotation_core::store::sdk_config_loader().load().await)
            })
            .await
    }

    /// IAM, or why there is no client (no region, a bad endpoint URL).
    async fn iam(&self) -> Result<&IamApi, RotatorError> {
        self.aws()
            .await
            .iam
            .as_ref()
            .map_err(|e| RotatorError::backend("IAM", e.clone()))
    }

    /// The secret's user, if this function may rotate it.
    fn user<'s>(&self, secret: &'s SecretJson) -> Result<&'s str, RotatorError> {
        let user = secret.required_str(USER_FIELD)?;
        if self.users.iter().any(|u| u == user) {
            Ok(user)
        } else {
            Err(RotatorError::Refused(format!(
                "IAM user {user} is not in IAM_USERS, the users this function may rotate"
            )))
        }
    }

    /// The user's ARN, from IAM with the function's own credentials.
    async fn user_arn(&self, user: &str) -> Result<String, RotatorError> {
        let arn = self
            .iam()
            .await?
            .user_arn(user)
            .await
            .map_err(|e| RotatorError::backend(format!("IAM GetUser {user}"), e))?;
        // An empty ARN must not compare equal to an empty answer from STS.
        Some(arn)
            .filter(|arn| !arn.is_empty())
            .ok_or_else(|| RotatorError::Refused(format!("IAM GetUser {user} answered no ARN")))
    }

    /// Whom the key in `secret` authenticates as: STS `GetCallerIdentity`
    /// signed with it. `None` when STS does not accept the key.
    async fn caller_arn(&self, secret: &SecretJson) -> Result<Option<String>, RotatorError> {
        let key_id = secret.required_str(KEY_ID_FIELD)?;
        let key = secret.required_secret(SECRET_FIELD)?;
        let credentials = Credentials::new(key_id, key.expose(), None, None, "rotated-key");
        let config = aws_sdk_sts::config::Builder::from(&self.aws().await.config)
            .credentials_provider(credentials)
            .build();
        let sts = aws_sdk_sts::Client::from_conf(config);
        match sts.get_caller_identity().send().await {
            Ok(out) => Ok(Some(out.arn().unwrap_or_default().to_owned())),
            Err(e) if key_refused(e.code()) => Ok(None),
            Err(e) => Err(RotatorError::backend(
                format!("STS GetCallerIdentity with access key {key_id}"),
                aws_error(e),
            )),
        }
    }

    /// Refuses unless the key in `secret` authenticates as `user`.
    async fn prove(
        &self,
        user: &str,
        secret: &SecretJson,
        which: &str,
    ) -> Result<(), RotatorError> {
        let expected = self.user_arn(user).await?;
        match self.caller_arn(secret).await? {
            Some(arn) if arn == expected => Ok(()),
            found => Err(RotatorError::Refused(format!(
                "{which}'s {KEY_ID_FIELD} does not authenticate as IAM user {user} ({}); \
                 a rotation starts only from a working key of its user, so that editing \
                 the secret cannot mint keys for another user: store a working key of \
                 {user} as AWSCURRENT",
                match found {
                    Some(arn) => format!("STS answered {arn}"),
                    None => "STS refused it".to_owned(),
                }
            ))),
        }
    }

    /// Records `key_id` on `user` as a key of the secret `mark` names: one
    /// its rotations may retire.
    async fn record(&self, user: &str, key_id: &str, mark: &str) -> Result<(), RotatorError> {
        self.iam()
            .await?
            .tag_user(user, &record_tag(key_id), mark)
            .await
            .map_err(|e| RotatorError::backend(format!("IAM TagUser {user} ({key_id})"), e))
    }

    /// The keys of `user` recorded as the secret `mark` names.
    async fn recorded(&self, user: &str, mark: &str) -> Result<Vec<String>, RotatorError> {
        let tags = self
            .iam()
            .await?
            .user_tags(user)
            .await
            .map_err(|e| RotatorError::backend(format!("IAM ListUserTags {user}"), e))?;
        Ok(tags
            .into_iter()
            .filter(|(_, value)| value == mark)
            .filter_map(|(key, _)| key.strip_prefix(RECORD_PREFIX).map(str::to_owned))
            .collect())
    }

    /// The user's access keys (a user has at most two: one page).
    async fn keys(&self, user: &str) -> Result<Vec<AccessKey>, RotatorError> {
        self.iam()
            .await?
            .access_keys(user)
            .await
            .map_err(|e| RotatorError::backend(format!("IAM ListAccessKeys {user}"), e))
    }

    /// Deactivates, then deletes, one key of `user`. A key already gone is
    /// success: a retried step finds its own earlier work done.
    async fn retire(&self, user: &str, key_id: &str, why: &str) -> Result<(), RotatorError> {
        tracing::info!(user, key_id, why, "retiring an access key");
        let iam = self.iam().await?;
        match iam.deactivate(user, key_id).await {
            Ok(()) => {}
            Err(e) if e.code() == Some("NoSuchEntity") => return self.forget(user, key_id).await,
            Err(e) => {
                let action = format!("IAM UpdateAccessKey {key_id} of {user} to Inactive");
                return Err(RotatorError::backend(action, e));
            }
        }
        match iam.delete_access_key(user, key_id).await {
            Ok(()) => self.forget(user, key_id).await,
            Err(e) if e.code() == Some("NoSuchEntity") => self.forget(user, key_id).await,
            Err(e) => Err(RotatorError::backend(
                format!("IAM DeleteAccessKey {key_id} of {user}"),
                e,
            )),
        }
    }

    /// Drops the record of a deleted key. A record already gone is success.
    async fn forget(&self, user: &str, key_id: &str) -> Result<(), RotatorError> {
        match self
            .iam()
            .await?
            .untag_user(user, &record_tag(key_id))
            .await
        {
            Ok(()) => Ok(()),
            Err(e) if e.code() == Some("NoSuchEntity") => Ok(()),
            Err(e) => Err(RotatorError::backend(
                format!("IAM UntagUser {user} ({key_id})"),
                e,
            )),
        }
    }

    /// Leaves `user` room for one more key: clears keys no stored version
    /// holds that are newer than the current one (made by a createSecret
    /// that never stored them), then, at IAM's limit, the previous key;
    /// each only when recorded as this secret's (`recorded`).
    async fn make_room(
        &self,
        user: &str,
        current_id: &str,
        previous_id: Option<&str>,
        recorded: &[String],
    ) -> Result<(), RotatorError> {
        let keys = self.keys(user).await?;
        let Some(current) = keys.iter().find(|k| k.id == current_id) else {
            return Err(RotatorError::Refused(format!(
                "AWSCURRENT's {KEY_ID_FIELD} {current_id} is not an access key of IAM user {user}"
            )));
        };
        let ours = |id: &str| recorded.iter().any(|r| r == id);
        let held = |id: &str| id == current_id || Some(id) == previous_id;
        let mut kept = Vec::new();
        for key in &keys {
            let id = key.id.as_str();
            // Strictly newer: a key from the same instant as the current
            // one may be an operator's, and is refused below, not deleted.
            if !held(id) && key.created > current.created && ours(id) {
                self.retire(
                    user,
                    id,
                    "an earlier createSecret made it and never stored it",
                )
                .await?;
            } else {
                kept.push(id);
            }
        }
        if kept.len() < KEYS_PER_USER {
            return Ok(());
        }
        match previous_id.filter(|p| *p != current_id && kept.contains(p) && ours(p)) {
            Some(previous) => {
                let why = "AWSPREVIOUS, two generations older than the new key: \
                           its grace window ends as this rotation starts";
                self.retire(user, previous, why).await
            }
            None => {
                let foreign: Vec<&str> = kept.into_iter().filter(|id| *id != current_id).collect();
                Err(RotatorError::Refused(format!(
                    "IAM user {user} already has {KEYS_PER_USER} access keys, IAM's limit, and \
                     {} is not one this secret's rotations made or proved (the secret holds \
                     {current_id}), so something outside this rotation may use it: delete it \
                     (aws iam delete-access-key --user-name {user} --access-key-id ID) once \
                     nothing does, then retry",
                    foreign.join(", ")
                )))
            }
        }
    }
}

/// STS's answers for a key it does not accept (unknown, deleted, or
/// signed with the wrong secret; inactive keys also fail this way on AWS).
fn key_refused(code: Option<&str>) -> bool {
    matches!(
        code,
        Some("InvalidClientTokenId" | "SignatureDoesNotMatch" | "AccessDenied")
    )
}

/// STS's error code and message only: the SDK error's Debug carries the
/// raw HTTP exchange.
fn aws_error<E: ProvideErrorMetadata, R>(error: SdkError<E, R>) -> BoxError {
    match error.code() {
        Some(code) => format!("{code}: {}", error.message().unwrap_or("no message")).into(),
        None => match error {
            SdkError::TimeoutError(_) => "timed out".into(),
            SdkError::DispatchFailure(_) => "could not reach the endpoint".into(),
            _ => "failed without an error code".into(),
        },
    }
}

fn validate_fields(secret: &SecretJson) -> Result<(), SecretFormatError> {
    secret.required_str(USER_FIELD)?;
    secret.required_str(KEY_ID_FIELD)?;
    secret.required_credential(SECRET_FIELD).map(drop)
}

#[async_trait]
impl Rotator for IamAccessKeys {
    /// The rotated field, in the shape IAM issues (40 characters of
    /// base64). IAM makes the values (`create_pending`), so the format only
    /// keeps the password settings away from this function.
    fn credential(&self) -> Credential {
        Credential::key(
            SECRET_FIELD,
            KeyFormat::from_alphabet(40, SECRET_KEY_ALPHABET),
        )
    }

    fn validate(&self, secret: &SecretJson) -> Result<(), SecretFormatError> {
        crate::check_engine(secret, ENGINE)?;
        validate_fields(secret)
    }

    async fn create_pending(
        &self,
        ctx: &RotationContext<'_>,
        current: &SecretJson,
    ) -> Result<SecretJson, RotatorError> {
        let user = self.user(current)?;
        self.prove(user, current, "AWSCURRENT").await?;
        let mark = secret_mark(ctx.secret_id());
        let current_id = current.required_str(KEY_ID_FIELD)?;
        // Proved: AWSCURRENT's key is this secret's, and a later rotation
        // may retire it when it is AWSPREVIOUS. Its own createSecret
        // recorded it already, but for the first rotation.
        let mut recorded = self.recorded(user, &mark).await?;
        if !recorded.iter().any(|r| r == current_id) {
            self.record(user, current_id, &mark).await?;
            recorded.push(current_id.to_owned());
        }
        let previous = ctx.secret(VersionLabel::Previous).await?;
        let previous_id = previous
            .as_ref()
            .filter(|p| p.optional_str(USER_FIELD).ok().flatten() == Some(user))
            .and_then(|p| p.optional_str(KEY_ID_FIELD).ok().flatten());
        self.make_room(user, current_id, previous_id, &recorded)
            .await?;
        let key = self
            .iam()
            .await?
            .create_access_key(user)
            .await
            .map_err(|e| RotatorError::backend(format!("IAM CreateAccessKey for {user}"), e))?;
        tracing::info!(user, key_id = key.id, "created an access key");
        // Recorded at once, so a retry after a crash may clear it; a crash
        // before this line leaves a key the next try refuses by name.
        self.record(user, &key.id, &mark).await?;
        let mut pending = current.clone();
        pending.set(KEY_ID_FIELD, key.id.as_str());
        pending.set_secret(SECRET_FIELD, &key.secret);
        Ok(pending)
    }

    /// IAM made the key live when createSecret created it.
    async fn set_secret(
        &self,
        _: &RotationContext<'_>,
        _: &SecretJson,
        pending: &SecretJson,
    ) -> Result<(), RotatorError> {
        self.user(pending).map(drop)
    }

    async fn test_secret(
        &self,
        _: &RotationContext<'_>,
        pending: &SecretJson,
    ) -> Result<(), RotatorError> {
        let user = self.user(pending)?;
        let key_id = pending.required_str(KEY_ID_FIELD)?;
        // STS alone is not enough: an inactive key must fail too, and some
        // implementations let one through.
        let keys = self.keys(user).await?;
        let active = keys.iter().any(|k| k.id == key_id && k.active);
        if !active {
            return Err(RotatorError::Refused(format!(
                "the pending {KEY_ID_FIELD} {key_id} is not an active access key of IAM user {user}"
            )));
        }
        let expected = self.user_arn(user).await?;
        let give_up = tokio::time::Instant::now() + self.propagation;
        let mut pause = Duration::from_millis(250);
        loop {
            match self.caller_arn(pending).await? {
                Some(arn) if arn == expected => return Ok(()),
                Some(arn) => {
                    return Err(RotatorError::Refused(format!(
                        "the pending access key {key_id} authenticates as {arn}, not as IAM user {user}"
                    )))
                }
                None if tokio::time::Instant::now() + pause <= give_up => {
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_secs(4));
                }
                None => {
                    return Err(RotatorError::Refused(format!(
                        "STS still refuses the pending access key {key_id} after {} s \
                         (IAM_PROPAGATION_SECONDS); a retry of the rotation tests it again",
                        self.propagation.as_secs()
                    )))
                }
            }
        }
    }

    async fn after_finish(&self, ctx: &RotationContext<'_>) -> Result<(), RotatorError> {
        if self.previous != PreviousKey::RetiredAtFinish {
            return Ok(());
        }
        let Some((previous, current)) = ctx.previous_and_current().await? else {
            return Ok(());
        };
        let user = self.user(&current)?;
        let current_id = current.required_str(KEY_ID_FIELD)?;
        if previous.optional_str(USER_FIELD)? != Some(user) {
            return Ok(());
        }
        let Some(previous_id) = previous.optional_str(KEY_ID_FIELD)? else {
            return Ok(());
        };
        // Only a key IAM lists under the user and recorded as this
        // secret's: the stored id is the editor's to choose.
        let listed = self.keys(user).await?;
        let recorded = self.recorded(user, &secret_mark(ctx.secret_id())).await?;
        let listed = listed.iter().any(|k| k.id == previous_id);
        if previous_id == current_id || !listed {
            return Ok(());
        }
        if !recorded.iter().any(|r| r == previous_id) {
            tracing::warn!(
                user,
                key_id = previous_id,
                "AWSPREVIOUS's key is not one this secret's rotations made or proved; left active"
            );
            return Ok(());
        }
        self.retire(user, previous_id, "IAM_PREVIOUS_KEY=finish")
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn from(pairs: &[(&str, &str)]) -> Result<IamAccessKeys, SettingsError> {
        let map: HashMap<&str, &str> = pairs.iter().copied().collect();
        IamAccessKeys::from_lookup(&|name| map.get(name).map(|v| v.to_string()))
    }

    #[test]
    fn settings_are_read_and_bad_ones_named() {
        let keys = from(&[
            ("IAM_USERS", " app , batch,"),
            ("IAM_PREVIOUS_KEY", "finish"),
        ])
        .unwrap();
        assert_eq!(keys.users, ["app", "batch"]);
        assert_eq!(keys.previous, PreviousKey::RetiredAtFinish);
        assert_eq!(keys.propagation, Duration::from_secs(20));
        for (pairs, name) in [
            (&[][..], "IAM_USERS"),
            (&[("IAM_USERS", "*")][..], "IAM_USERS"),
            (
                &[("IAM_USERS", "a"), ("IAM_PREVIOUS_KEY", "never")][..],
                "IAM_PREVIOUS_KEY",
            ),
            (
                &[("IAM_USERS", "a"), ("IAM_PROPAGATION_SECONDS", "-1")][..],
                "IAM_PROPAGATION_SECONDS",
            ),
        ] {
            assert_eq!(from(pairs).unwrap_err().name, name, "{pairs:?}");
        }
    }

    #[test]
    fn a_user_outside_the_list_is_refused_by_name() {
        let keys = from(&[("IAM_USERS", "app")]).unwrap();
        let mut secret = SecretJson::from_map(Default::default());
        secret.set(USER_FIELD, "admin");
        let err = keys.user(&secret).unwrap_err().to_string();
        assert!(err.contains("admin") && err.contains("IAM_USERS"), "{err}");
        secret.set(USER_FIELD, "app");
        assert_eq!(keys.user(&secret).unwrap(), "app");
    }

    #[test]
    fn only_refusals_of_the_key_count_as_a_failed_proof() {
        assert!(key_refused(Some("InvalidClientTokenId")));
        assert!(key_refused(Some("SignatureDoesNotMatch")));
        assert!(!key_refused(Some("Throttling")));
        assert!(!key_refused(None));
    }
}
