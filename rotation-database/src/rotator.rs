//! [`DatabaseRotator`]: a [`Rotator`] for any [`DatabaseBackend`], choosing
//! the strategy per secret.

use async_trait::async_trait;

use rotation_core::{
    Credential, PasswordPolicy, RotationContext, Rotator, RotatorError, SecretFormatError,
    SecretJson, SettingsError, VersionLabel,
};

use crate::backend::DatabaseBackend;
use crate::login_failed;
use crate::secret::DatabaseSecret;
use crate::strategy::master::MasterPolicy;
use crate::strategy::{alternate_name, alternating, single_user, Strategy};

/// Rotates database secrets with the single-user or alternating-users
/// strategy over one engine's [`DatabaseBackend`].
pub struct DatabaseRotator<B> {
    backend: B,
    strategy: Option<Strategy>,
    master: MasterPolicy,
}

impl<B: DatabaseBackend> DatabaseRotator<B> {
    /// A rotator over `backend`. `strategy` forces one strategy for every
    /// secret; `None` picks per
    /// secret (alternating when it has a `masterarn`). Any master secret
    /// is allowed; see [`with_master_policy`](Self::with_master_policy).
    pub fn new(backend: B, strategy: Option<Strategy>) -> Self {
        Self {
            backend,
            strategy,
            master: MasterPolicy::default(),
        }
    }

    /// The same rotator with `policy` for master secrets (an allow-list,
    /// and where RDS-managed master secrets are looked up).
    pub fn with_master_policy(self, policy: MasterPolicy) -> Self {
        Self {
            master: policy,
            ..self
        }
    }

    /// A rotator over `backend` with the strategy from `ROTATION_STRATEGY`
    /// and the master allow-list from `MASTER_SECRET_ARNS`.
    pub fn from_env(backend: B) -> Result<Self, SettingsError> {
        Ok(Self::new(backend, Strategy::from_env()?).with_master_policy(MasterPolicy::from_env()?))
    }

    fn parse(&self, secret: &SecretJson) -> Result<(DatabaseSecret, Strategy), SecretFormatError> {
        let login = DatabaseSecret::parse(secret, &B::SPEC)?;
        let strategy = Strategy::for_secret(self.strategy, &login, &B::SPEC)?;
        Ok((login, strategy))
    }
}

#[async_trait]
impl<B: DatabaseBackend> Rotator for DatabaseRotator<B> {
    fn credential(&self) -> Credential {
        Credential::with_policy(
            "password",
            PasswordPolicy::default().excluding(B::SPEC.excluded_characters),
        )
    }

    fn validate(&self, secret: &SecretJson) -> Result<(), SecretFormatError> {
        self.parse(secret).map(drop)
    }

    async fn create_pending(
        &self,
        ctx: &RotationContext<'_>,
        current: &SecretJson,
    ) -> Result<SecretJson, RotatorError> {
        let (login, strategy) = self.parse(current)?;
        let mut pending = current.clone();
        pending.set_secret("password", &ctx.new_value());
        if strategy == Strategy::AlternatingUsers {
            pending.set("username", alternate_name(&login.username));
        }
        Ok(pending)
    }

    async fn set_secret(
        &self,
        ctx: &RotationContext<'_>,
        current_json: &SecretJson,
        pending_json: &SecretJson,
    ) -> Result<(), RotatorError> {
        let (current, strategy) = self.parse(current_json)?;
        let pending = DatabaseSecret::parse(pending_json, &B::SPEC)?;
        match strategy {
            Strategy::SingleUser => {
                single_user::set_secret(&self.backend, ctx, current_json, pending_json).await
            }
            Strategy::AlternatingUsers => {
                alternating::set_secret(&self.backend, &self.master, ctx, &current, &pending).await
            }
        }
    }

    async fn test_secret(
        &self,
        _ctx: &RotationContext<'_>,
        pending_json: &SecretJson,
    ) -> Result<(), RotatorError> {
        let pending = DatabaseSecret::parse(pending_json, &B::SPEC)?;
        let mut session = self
            .backend
            .connect(&pending)
            .await
            .map_err(|e| login_failed(Some(VersionLabel::Pending), &pending, e))?;
        self.backend.check(&mut session).await.map_err(|e| {
            RotatorError::backend(
                format!(
                    "run a query on {} as {} with the AWSPENDING secret",
                    pending.address(),
                    pending.username
                ),
                e,
            )
        })
    }
}
