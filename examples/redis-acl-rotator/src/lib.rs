//! Rotates a Redis ACL user's password with Redis's several passwords per
//! user: setSecret leaves the user the current and the pending password, so
//! both log in while applications move over, and after finishSecret only the
//! new current one. The secret owns its user's passwords. An admin makes the
//! changes; its secret and the users it may change are the function's
//! settings, never the rotated secret's, so editing that secret cannot aim
//! the admin at another user or server.

use redis::{acl::Rule, aio::MultiplexedConnection, AsyncTypedCommands, Client, RedisResult};
use rotation_core::{async_trait, BackendContext, RotationContext, Rotator, RotatorError};
use rotation_core::{SecretFormatError, SecretJson, SettingsError, VersionLabel};
use sha2::{Digest, Sha256};

/// The rotator's settings.
pub struct RedisAclRotator {
    /// The admin's secret (`host`, `port`, `username`, `password`).
    pub admin_secret: String,
    /// The users it may rotate.
    pub users: Vec<String>,
}

impl RedisAclRotator {
    /// From `REDIS_ADMIN_SECRET_ARN` and `REDIS_USERS` (comma-separated).
    pub fn from_env() -> Result<Self, SettingsError> {
        let users = SettingsError::required_env("REDIS_USERS")?;
        let users = users.split(',').map(|u| u.trim().to_owned()).collect();
        let admin_secret = SettingsError::required_env("REDIS_ADMIN_SECRET_ARN")?;
        Ok(Self {
            admin_secret,
            users,
        })
    }

    /// As the admin, leaves the user of `logins` exactly their passwords, in
    /// one idempotent `ACL SETUSER`; by SHA-256, so no error can echo one.
    async fn keep_only(&self, ctx: &RotationContext<'_>, logins: &[&SecretJson]) -> Done {
        let user = logins[0].required_str("username")?;
        let admin = ctx.other_secret(&self.admin_secret).await?;
        let session = &mut connect(&admin).await?;
        // ACL SETUSER would create a missing user.
        let known = session.acl_getuser(user).await;
        let exists = known.backend_context("ACL GETUSER")?.is_some();
        if !exists || !self.users.iter().any(|u| u == user) || user == login(&admin)?.2 {
            let refusal = format!("{user} is not a Redis user in REDIS_USERS other than the admin");
            return Err(RotatorError::Refused(refusal));
        }
        let mut rules = vec![Rule::ResetPass];
        for secret in logins {
            let hash = Sha256::digest(secret.required_secret("password")?.expose());
            rules.push(Rule::AddHashedPass(format!("{hash:x}")));
        }
        let set = session.acl_setuser_rules(user, &rules).await;
        set.backend_context("ACL SETUSER")
    }
}

type Done = Result<(), RotatorError>;

/// A secret's address and user: the fields `validate` requires.
fn login(secret: &SecretJson) -> Result<(&str, u16, &str), SecretFormatError> {
    let (host, user) = (
        secret.required_str("host")?,
        secret.required_str("username")?,
    );
    let port = secret.optional_port("port")?.unwrap_or(6379);
    secret
        .required_credential("password")
        .map(|_| (host, port, user))
}

async fn connect(secret: &SecretJson) -> Result<MultiplexedConnection, RotatorError> {
    let ((host, port, user), password) = (login(secret)?, secret.required_secret("password")?);
    let session: RedisResult<_> = async {
        let info = redis::IntoConnectionInfo::into_connection_info((host, port))?;
        let redis = info.redis_settings().clone().set_username(user);
        let info = info.set_redis_settings(redis.set_password(password.expose()));
        Client::open(info)?.get_multiplexed_async_connection().await
    }
    .await;
    session.backend_context(format!("log in to {host}:{port} as {user}"))
}

#[async_trait]
impl Rotator for RedisAclRotator {
    fn validate(&self, secret: &SecretJson) -> Result<(), SecretFormatError> {
        login(secret).map(drop)
    }

    async fn set_secret(
        &self,
        ctx: &RotationContext<'_>,
        current: &SecretJson,
        pending: &SecretJson,
    ) -> Done {
        self.keep_only(ctx, &[current, pending]).await
    }

    async fn test_secret(&self, _: &RotationContext<'_>, pending: &SecretJson) -> Done {
        let pong = connect(pending).await?.ping().await;
        pong.map(drop)
            .backend_context("PING with the pending password")
    }

    async fn after_finish(&self, ctx: &RotationContext<'_>) -> Done {
        match ctx.secret(VersionLabel::Current).await? {
            Some(current) => self.keep_only(ctx, &[&current]).await,
            None => Ok(()),
        }
    }
}
