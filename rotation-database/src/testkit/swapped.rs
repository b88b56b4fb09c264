//! [`SwapsTheUsers`], the broken engine every database rotator's kit must
//! fail: in alternating users it changes the wrong user's password; and
//! [`SwappedHarness`], an engine's harness with it.

use async_trait::async_trait;

use crate::{
    alternate_name, DatabaseBackend, DatabaseRotator, DatabaseSecret, EngineSpec, LoginError,
    UserStanding,
};
use rotation_core::error::BoxError;
use rotation_core::testkit::{RotatorHarness, SecretAdmin};
use rotation_core::{SecretJson, SecretString};

/// An engine that, given the pending user's name, changes the password of
/// the other user of the pair (the one AWSCURRENT logs in as). Every other
/// call is `B`'s own, so only that swap can make the kit fail.
pub struct SwapsTheUsers<B>(pub B);

#[async_trait]
impl<B: DatabaseBackend> DatabaseBackend for SwapsTheUsers<B> {
    type Connection = B::Connection;
    const SPEC: EngineSpec = B::SPEC;

    async fn connect(&self, login: &DatabaseSecret) -> Result<B::Connection, LoginError> {
        self.0.connect(login).await
    }

    async fn connect_admin(&self, login: &DatabaseSecret) -> Result<B::Connection, LoginError> {
        self.0.connect_admin(login).await
    }

    async fn check(&self, session: &mut B::Connection) -> Result<(), BoxError> {
        self.0.check(session).await
    }

    async fn set_own_password(
        &self,
        session: &mut B::Connection,
        login: &DatabaseSecret,
        password: &SecretString,
    ) -> Result<(), BoxError> {
        self.0.set_own_password(session, login, password).await
    }

    async fn set_password(
        &self,
        admin: &mut B::Connection,
        username: &str,
        password: &SecretString,
    ) -> Result<(), BoxError> {
        self.0
            .set_password(admin, &alternate_name(username), password)
            .await
    }

    async fn match_clone(
        &self,
        admin: &mut B::Connection,
        original: &str,
        clone: &str,
    ) -> Result<(), BoxError> {
        self.0.match_clone(admin, original, clone).await
    }

    async fn user_standing(
        &self,
        admin: &mut B::Connection,
        username: &str,
    ) -> Result<UserStanding, BoxError> {
        self.0.user_standing(admin, username).await
    }

    async fn is_clone_of(
        &self,
        admin: &mut B::Connection,
        original: &str,
        clone: &str,
    ) -> Result<bool, BoxError> {
        self.0.is_clone_of(admin, original, clone).await
    }
}

/// A conformance harness whose rotator runs `inner`'s engine, made by
/// `backend`, inside [`SwapsTheUsers`], with alternating users; the
/// secrets and logins are `inner`'s.
pub struct SwappedHarness<H, B> {
    inner: H,
    backend: Box<dyn Fn() -> B + Send + Sync>,
}

impl<H, B> SwappedHarness<H, B> {
    /// `inner`'s secrets, with the engine `backend` makes, swapped.
    pub fn new(inner: H, backend: impl Fn() -> B + Send + Sync + 'static) -> Self {
        Self {
            inner,
            backend: Box::new(backend),
        }
    }
}

#[async_trait]
impl<H, B> RotatorHarness for SwappedHarness<H, B>
where
    H: RotatorHarness,
    B: DatabaseBackend + 'static,
{
    type Rotator = DatabaseRotator<SwapsTheUsers<B>>;

    fn rotator(&self) -> Self::Rotator {
        DatabaseRotator::new(SwapsTheUsers((self.backend)()), None)
    }

    async fn fresh_secret(&self, store: &dyn SecretAdmin) -> SecretJson {
        self.inner.fresh_secret(store).await
    }

    async fn can_log_in(&self, secret: &SecretJson) -> bool {
        self.inner.can_log_in(secret).await
    }

    fn other_secret_values(&self) -> Vec<SecretString> {
        self.inner.other_secret_values()
    }
}
