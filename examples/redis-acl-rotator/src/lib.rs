//! Rotates a Redis ACL user's password with Redis's several passwords per
//! user: setSecret leaves the user the current and the pending password, so
//! both log in while applications move over, and after finishSecret only the
//! new current one. The secret owns its user's passwords.
//!
//! An admin makes the changes. Its secret and the users it may change are
//! the function's settings, never the rotated secret's: editing that secret
//! cannot aim the admin at another server, and before the admin changes a
//! user, the secret's stored password must log in as that user on the
//! admin's server, so naming another allowed user gains nothing. The admin
//! logs in with TLS when its secret says `ssl`.

use redis::acl::Rule;
use redis::aio::MultiplexedConnection;
use redis::{AsyncTypedCommands, Client, ConnectionAddr, ConnectionInfo, IntoConnectionInfo};
use rotation_core::{async_trait, BackendContext, RotationContext, Rotator, RotatorError};
use rotation_core::{SecretFormatError, SecretJson, SecretString, SettingsError, VersionLabel};
use sha2::{Digest, Sha256};

/// The rotator's settings.
pub struct RedisAclRotator {
    /// The admin's secret (`host`, `port`, `username`, `password`, `ssl`).
    pub admin_secret: String,
    /// The users it may rotate.
    pub users: Vec<String>,
}

impl RedisAclRotator {
    /// From `REDIS_ADMIN_SECRET_ARN` and `REDIS_USERS` (comma-separated).
    pub fn from_env() -> Result<Self, SettingsError> {
        let users = SettingsError::required_env("REDIS_USERS")?;
        Ok(Self {
            admin_secret: SettingsError::required_env("REDIS_ADMIN_SECRET_ARN")?,
            users: users.split(',').map(|u| u.trim().to_owned()).collect(),
        })
    }

    /// As the admin, leaves the user of `owner` exactly the passwords of
    /// `keep`, in one `ACL SETUSER` that states the result, so a retry is
    /// safe. Refuses, changing nothing, a user that is not on the list, is
    /// the admin, does not exist (`ACL SETUSER` would create it), or does
    /// not log in with `owner`'s password.
    async fn keep_only(
        &self,
        ctx: &RotationContext<'_>,
        owner: &SecretJson,
        keep: &[&SecretJson],
    ) -> Result<(), RotatorError> {
        let user = Login::from_secret(owner)?.user;
        let admin = Login::from_secret(&ctx.other_secret(&self.admin_secret).await?)?;
        if !self.users.contains(&user) || user == admin.user {
            let refusal = format!("{user} is not a user in REDIS_USERS other than the admin");
            return Err(RotatorError::Refused(refusal));
        }
        let mut session = admin.connect().await?;
        let known = session.acl_getuser(&user).await;
        if known.backend_context("ACL GETUSER")?.is_none() {
            return Err(RotatorError::Refused(format!("Redis has no user {user}")));
        }
        admin.with_login_of(owner)?.prove_ownership().await?;
        let mut rules = vec![Rule::ResetPass];
        for secret in keep {
            // By hash, so no Redis error can echo a password.
            let hash = Sha256::digest(secret.required_credential("password")?.expose());
            rules.push(Rule::AddHashedPass(format!("{hash:x}")));
        }
        let set = session.acl_setuser_rules(&user, &rules).await;
        set.backend_context("ACL SETUSER")
    }
}

/// Where and as whom a secret logs in.
struct Login {
    host: String,
    port: u16,
    tls: bool,
    user: String,
    password: SecretString,
}

impl Login {
    /// The fields `validate` requires: `host`, `username`, `password`, and
    /// optionally `port` (6379) and `ssl` (false).
    fn from_secret(secret: &SecretJson) -> Result<Self, SecretFormatError> {
        Ok(Self {
            host: secret.required_str("host")?.to_owned(),
            port: secret.optional_port("port")?.unwrap_or(6379),
            tls: secret.optional_bool("ssl")?.unwrap_or(false),
            user: secret.required_str("username")?.to_owned(),
            password: secret.required_credential("password")?,
        })
    }

    /// `secret`'s user and password at this login's server.
    fn with_login_of(&self, secret: &SecretJson) -> Result<Self, SecretFormatError> {
        let owner = Login::from_secret(secret)?;
        Ok(Self {
            host: self.host.clone(),
            port: self.port,
            tls: self.tls,
            user: owner.user,
            password: owner.password,
        })
    }

    fn connection_info(&self) -> redis::RedisResult<ConnectionInfo> {
        let address = match self.tls {
            true => ConnectionAddr::TcpTls {
                host: self.host.clone(),
                port: self.port,
                insecure: false,
                tls_params: None,
            },
            false => ConnectionAddr::Tcp(self.host.clone(), self.port),
        };
        let info = address.into_connection_info()?;
        let settings = info.redis_settings().clone().set_username(&self.user);
        Ok(info.set_redis_settings(settings.set_password(self.password.expose())))
    }

    async fn open(&self) -> redis::RedisResult<MultiplexedConnection> {
        let client = Client::open(self.connection_info()?)?;
        client.get_multiplexed_async_connection().await
    }

    async fn connect(&self) -> Result<MultiplexedConnection, RotatorError> {
        let (host, port, user) = (&self.host, self.port, &self.user);
        let session = self.open().await;
        session.backend_context(format!("log in to {host}:{port} as {user}"))
    }

    /// The password logs in as the user. Only a rejected password is a
    /// refusal; an unreachable server fails the step as any other error.
    async fn prove_ownership(&self) -> Result<(), RotatorError> {
        match self.open().await {
            Err(e) if e.kind() == redis::ErrorKind::AuthenticationFailed => {
                let user = &self.user;
                let refusal = format!(
                    "the secret's password does not log in as {user} on the admin's server"
                );
                Err(RotatorError::Refused(refusal))
            }
            session => session
                .map(drop)
                .backend_context("log in as the secret's user"),
        }
    }
}

#[async_trait]
impl Rotator for RedisAclRotator {
    fn validate(&self, secret: &SecretJson) -> Result<(), SecretFormatError> {
        Login::from_secret(secret).map(drop)
    }

    async fn set_secret(
        &self,
        ctx: &RotationContext<'_>,
        current: &SecretJson,
        pending: &SecretJson,
    ) -> Result<(), RotatorError> {
        if Login::from_secret(pending)?.user != Login::from_secret(current)?.user {
            let refusal = "the AWSPENDING secret names another user than AWSCURRENT";
            return Err(RotatorError::Refused(refusal.into()));
        }
        self.keep_only(ctx, current, &[current, pending]).await
    }

    async fn test_secret(
        &self,
        _: &RotationContext<'_>,
        pending: &SecretJson,
    ) -> Result<(), RotatorError> {
        let pong = Login::from_secret(pending)?.connect().await?.ping().await;
        pong.map(drop)
            .backend_context("PING with the pending password")
    }

    async fn after_finish(&self, ctx: &RotationContext<'_>) -> Result<(), RotatorError> {
        match ctx.secret(VersionLabel::Current).await? {
            Some(current) => self.keep_only(ctx, &current, &[&current]).await,
            None => Ok(()),
        }
    }
}
