//! Rotates a Redis ACL user's password with Redis's several passwords per
//! user: setSecret adds the new password, testSecret logs in with it, and
//! after finishSecret the previous one is removed, so both work while
//! applications move to the new one. An admin user makes the changes; its
//! secret and the users it may change are the function's settings, never
//! the rotated secret's, so editing that secret cannot aim the admin at
//! another user.

use redis::{aio::MultiplexedConnection, cmd, Client, ConnectionAddr, IntoConnectionInfo, Value};
use rotation_core::{async_trait, BackendContext, RotationContext, Rotator, RotatorError};
use rotation_core::{SecretFormatError, SecretJson, SecretString, SettingsError};
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
        let admin_secret = SettingsError::required_env("REDIS_ADMIN_SECRET_ARN")?;
        let users = SettingsError::required_env("REDIS_USERS")?;
        let users = users.split(',').map(|u| u.trim().to_owned()).collect();
        Ok(Self {
            admin_secret,
            users,
        })
    }

    /// Adds (`#`) or removes (`!`) a password of `secret`'s user, as the
    /// admin. By SHA-256, so no error can echo the password.
    async fn change(
        &self,
        ctx: &RotationContext<'_>,
        secret: &SecretJson,
        rule: char,
        password: &SecretString,
    ) -> Result<(), RotatorError> {
        let (user, admin) = (
            secret.required_str("username")?,
            ctx.other_secret(&self.admin_secret).await?,
        );
        if !self.users.iter().any(|u| u == user) || user == admin.required_str("username")? {
            return Err(RotatorError::Refused(format!(
                "user {user} is not in REDIS_USERS, or is the admin"
            )));
        }
        let (admin, hash) = (
            &mut connect(&admin).await?,
            format!("{:x}", Sha256::digest(password.expose())),
        );
        let info: Option<Vec<Value>> = cmd("ACL")
            .arg("GETUSER")
            .arg(user)
            .query_async(admin)
            .await
            .backend_context("ACL GETUSER")?;
        let has = |v: &Value| matches!(v, Value::Array(a) if a.contains(&Value::BulkString(hash.clone().into())));
        match info {
            None => Err(RotatorError::Refused(format!("Redis has no user {user}"))),
            Some(info) if info.iter().any(has) == (rule == '#') => Ok(()), // done by an earlier try
            Some(_) => cmd("ACL")
                .arg("SETUSER")
                .arg(user)
                .arg(format!("{rule}{hash}"))
                .query_async(admin)
                .await
                .backend_context("ACL SETUSER"),
        }
    }
}

async fn connect(login: &SecretJson) -> Result<MultiplexedConnection, RotatorError> {
    let (host, port, user) = (
        login.required_str("host")?,
        login.optional_port("port")?.unwrap_or(6379),
        login.required_str("username")?,
    );
    let password = login.required_secret("password")?;
    let info = ConnectionAddr::Tcp(host.into(), port)
        .into_connection_info()
        .map(|info| {
            let redis = info.redis_settings().clone().set_username(user);
            info.set_redis_settings(redis.set_password(password.expose()))
        });
    let session = async {
        Client::open(info?)?
            .get_multiplexed_async_connection()
            .await
    };
    session
        .await
        .backend_context(format!("log in to {host}:{port} as {user}"))
}

#[async_trait]
impl Rotator for RedisAclRotator {
    fn validate(&self, secret: &SecretJson) -> Result<(), SecretFormatError> {
        secret.required_str("host")?;
        secret.required_str("username")?;
        secret.optional_port("port")?;
        secret.required_secret("password").map(drop)
    }

    async fn set_secret(
        &self,
        ctx: &RotationContext<'_>,
        _: &SecretJson,
        pending: &SecretJson,
    ) -> Result<(), RotatorError> {
        self.change(ctx, pending, '#', &pending.required_secret("password")?)
            .await
    }

    async fn test_secret(
        &self,
        _: &RotationContext<'_>,
        pending: &SecretJson,
    ) -> Result<(), RotatorError> {
        let pong = cmd("PING")
            .query_async::<String>(&mut connect(pending).await?)
            .await;
        pong.map(drop)
            .backend_context("PING with the pending password")
    }

    async fn after_finish(&self, ctx: &RotationContext<'_>) -> Result<(), RotatorError> {
        match ctx.previous_and_current().await? {
            Some((old, new))
                if old.get("username") == new.get("username")
                    && old.get("password") != new.get("password") =>
            {
                self.change(ctx, &new, '!', &old.required_secret("password")?)
                    .await
            }
            _ => Ok(()),
        }
    }
}
