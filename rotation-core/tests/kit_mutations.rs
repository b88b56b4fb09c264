//! The conformance kit must catch broken rotators: each mutant below breaks
//! the reference rotator in one way a real rotator could be broken, and
//! the kit must fail on it, for the right reason. A kit that passed any of
//! them would prove nothing about the rotators that pass it.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use rotation_core::store::InMemorySecretStore;
use rotation_core::testkit::conformance::{run_all, RotatorHarness};
use rotation_core::testkit::reference::{TableHarness, TableRotator};
use rotation_core::testkit::SecretAdmin;
use rotation_core::{
    secret::SecretPayload, RotationContext, Rotator, RotatorError, SecretFormatError, SecretJson,
    SecretString, VersionLabel,
};

#[derive(Debug, Clone, Copy)]
enum Mutation {
    /// testSecret succeeds whatever the backend says.
    TestAlwaysPasses,
    /// setSecret changes nothing and reports success.
    SetDoesNothing,
    /// createSecret stores the current password again.
    ReusesThePassword,
    /// after_finish fails when it already ran for the token.
    AfterFinishOnlyOnce,
    /// setSecret logs the new password.
    LogsThePassword,
    /// setSecret logs the new password, at TRACE only.
    LogsThePasswordAtTrace,
    /// testSecret logs in with AWSCURRENT instead of the pending value.
    TestsTheCurrentValue,
    /// after_finish changes the new credential (retiring the wrong one).
    AfterFinishBreaksTheNew,
    /// createSecret changes one character of the current password.
    NearCopy,
    /// createSecret brings back AWSPREVIOUS's password when there is one:
    /// two values in turn.
    TwoValueCycle,
}

struct Mutant {
    inner: TableRotator,
    mutation: Mutation,
    finished: Mutex<HashSet<String>>,
}

#[async_trait]
impl Rotator for Mutant {
    fn validate(&self, secret: &SecretJson) -> Result<(), SecretFormatError> {
        self.inner.validate(secret)
    }

    async fn create_pending(
        &self,
        ctx: &RotationContext<'_>,
        current: &SecretJson,
    ) -> Result<SecretJson, RotatorError> {
        let mut pending = current.clone();
        let old = current.required_secret("password")?;
        let new = match self.mutation {
            Mutation::ReusesThePassword => return Ok(current.clone()),
            Mutation::NearCopy => {
                let mut chars: Vec<char> = old.expose().chars().collect();
                let last = chars.last_mut().expect("a password");
                *last = if *last == 'x' { 'y' } else { 'x' };
                chars.into_iter().collect()
            }
            Mutation::TwoValueCycle => match ctx.secret(VersionLabel::Previous).await? {
                Some(previous) => previous.required_secret("password")?.expose().to_owned(),
                None => return self.inner.create_pending(ctx, current).await,
            },
            _ => return self.inner.create_pending(ctx, current).await,
        };
        pending.set_secret("password", &SecretString::new(new));
        Ok(pending)
    }

    async fn set_secret(
        &self,
        ctx: &RotationContext<'_>,
        current: &SecretJson,
        pending: &SecretJson,
    ) -> Result<(), RotatorError> {
        match self.mutation {
            Mutation::SetDoesNothing => Ok(()),
            Mutation::LogsThePassword => {
                let password = pending.required_secret("password")?;
                tracing::info!(password = password.expose(), "setting the new password");
                self.inner.set_secret(ctx, current, pending).await
            }
            Mutation::LogsThePasswordAtTrace => {
                let password = pending.required_secret("password")?;
                tracing::trace!(password = password.expose(), "setting the new password");
                self.inner.set_secret(ctx, current, pending).await
            }
            _ => self.inner.set_secret(ctx, current, pending).await,
        }
    }

    async fn test_secret(
        &self,
        ctx: &RotationContext<'_>,
        pending: &SecretJson,
    ) -> Result<(), RotatorError> {
        match self.mutation {
            Mutation::TestAlwaysPasses => Ok(()),
            Mutation::TestsTheCurrentValue => {
                let current = ctx.secret(VersionLabel::Current).await?;
                let current =
                    current.ok_or_else(|| RotatorError::Refused("no AWSCURRENT".into()))?;
                self.inner.test_secret(ctx, &current).await
            }
            _ => self.inner.test_secret(ctx, pending).await,
        }
    }

    async fn after_finish(&self, ctx: &RotationContext<'_>) -> Result<(), RotatorError> {
        if let Mutation::AfterFinishBreaksTheNew = self.mutation {
            if let Some(current) = ctx.secret(VersionLabel::Current).await? {
                let user = current.required_str("username")?;
                self.inner
                    .0
                    .set_password(user, &SecretString::new("retired-by-mistake"));
            }
        }
        if let Mutation::AfterFinishOnlyOnce = self.mutation {
            if !self.finished.lock().unwrap().insert(ctx.token().to_owned()) {
                return Err(RotatorError::Refused("already finished".into()));
            }
        }
        Ok(())
    }
}

struct MutantHarness {
    inner: TableHarness,
    mutation: Mutation,
}

#[async_trait]
impl RotatorHarness for MutantHarness {
    type Rotator = Mutant;

    fn rotator(&self) -> Mutant {
        Mutant {
            inner: self.inner.rotator(),
            mutation: self.mutation,
            finished: Mutex::default(),
        }
    }

    async fn fresh_secret(&self, store: &dyn SecretAdmin) -> SecretJson {
        self.inner.fresh_secret(store).await
    }

    async fn can_log_in(&self, secret: &SecretJson) -> bool {
        self.inner.can_log_in(secret).await
    }

    fn malformed_secrets(&self, valid: &SecretJson) -> Vec<(String, SecretPayload)> {
        self.inner.malformed_secrets(valid)
    }

    fn other_secret_values(&self) -> Vec<SecretString> {
        Vec::new()
    }
}

/// Runs the whole kit on `mutation`; returns the kit's failure message.
async fn kit_failure(mutation: Mutation) -> String {
    let harness = MutantHarness {
        inner: TableHarness::default(),
        mutation,
    };
    let run = tokio::spawn(async move {
        let store: Arc<dyn SecretAdmin> = Arc::new(InMemorySecretStore::new());
        run_all(&harness, store).await
    });
    match run.await {
        Ok(report) => panic!("the kit passed a broken rotator ({mutation:?}): {report:?}"),
        Err(error) => {
            let payload = error.into_panic();
            payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default()
        }
    }
}

#[tokio::test]
async fn the_kit_fails_a_test_secret_that_always_passes() {
    let message = kit_failure(Mutation::TestAlwaysPasses).await;
    assert!(message.contains("testSecret must fail"), "{message}");
}

#[tokio::test]
async fn the_kit_fails_a_set_secret_that_does_nothing() {
    let message = kit_failure(Mutation::SetDoesNothing).await;
    assert!(message.contains("testSecret"), "{message}");
}

#[tokio::test]
async fn the_kit_fails_a_pending_value_that_reuses_the_password() {
    let message = kit_failure(Mutation::ReusesThePassword).await;
    assert!(
        message.contains("must change the credential's field `password`"),
        "{message}"
    );
}

#[tokio::test]
async fn the_kit_fails_an_after_finish_that_is_not_idempotent() {
    let message = kit_failure(Mutation::AfterFinishOnlyOnce).await;
    assert!(message.contains("already finished"), "{message}");
}

#[tokio::test]
async fn the_kit_fails_a_rotator_that_logs_the_new_password() {
    let message = kit_failure(Mutation::LogsThePassword).await;
    assert!(message.contains("contains a secret value"), "{message}");
}

#[tokio::test]
async fn the_kit_fails_a_new_password_derived_from_the_old() {
    let message = kit_failure(Mutation::NearCopy).await;
    assert!(message.contains("near copy of the old one"), "{message}");
}

#[tokio::test]
async fn the_kit_fails_passwords_that_cycle() {
    let message = kit_failure(Mutation::TwoValueCycle).await;
    assert!(message.contains("must not cycle"), "{message}");
}

#[tokio::test]
async fn the_kit_fails_a_rotator_that_logs_the_new_password_at_trace() {
    let message = kit_failure(Mutation::LogsThePasswordAtTrace).await;
    assert!(message.contains("contains a secret value"), "{message}");
}

#[tokio::test]
async fn the_kit_fails_a_test_secret_that_checks_the_current_value() {
    // The reference backend keeps one password per user: after setSecret
    // AWSCURRENT's no longer logs in, and the kit's first rotation fails
    // at testSecret.
    let message = kit_failure(Mutation::TestsTheCurrentValue).await;
    assert!(message.contains("testSecret"), "{message}");
}

#[tokio::test]
async fn the_kit_fails_an_after_finish_that_breaks_the_new_credential() {
    let message = kit_failure(Mutation::AfterFinishBreaksTheNew).await;
    assert!(message.contains("lockout after finishSecret"), "{message}");
}
