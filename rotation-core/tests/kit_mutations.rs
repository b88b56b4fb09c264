//! The conformance kit must catch broken rotators: each mutant below breaks
//! the reference rotator in one way a real rotator could be broken, and
//! the kit must fail on it, for the right reason. A kit that passed any of
//! them would prove nothing about the rotators that pass it.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use rotation_core::store::InMemorySecretStore;
use rotation_core::testkit::conformance::{run_all, ConformanceReport, RotatorHarness};
use rotation_core::testkit::reference::{TableHarness, TableRotator};
use rotation_core::testkit::SecretAdmin;
use rotation_core::{
    secret::SecretPayload, Credential, KeyFormat, RotationContext, Rotator, RotatorError,
    SecretFormatError, SecretJson, SecretString, VersionLabel,
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
    /// The rotator declares hexadecimal keys and stores passwords.
    WrongFormat,
    /// setSecret logs in with AWSCURRENT only, never AWSPREVIOUS.
    NoPreviousFallback,
    /// setSecret logs the new password from a task it spawns.
    LogsFromASpawnedTask,
    /// setSecret reads AWSCURRENT again, though the step was given it.
    ReadsCurrentAgain,
}

struct Mutant {
    inner: TableRotator,
    mutation: Mutation,
    finished: Mutex<HashSet<String>>,
}

#[async_trait]
impl Rotator for Mutant {
    fn credential(&self) -> Credential {
        match self.mutation {
            Mutation::WrongFormat => Credential::key("password", KeyFormat::hex(40)),
            _ => self.inner.credential(),
        }
    }

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
            Mutation::WrongFormat => Credential::password("password")
                .generator_from_lookup(|_| None)
                .expect("the default password policy")
                .generate()
                .expose()
                .to_owned(),
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
            Mutation::LogsFromASpawnedTask => {
                let password = pending.required_secret("password")?;
                tokio::spawn(async move {
                    tracing::info!(password = password.expose(), "setting the new password");
                })
                .await
                .expect("the logging task");
                self.inner.set_secret(ctx, current, pending).await
            }
            Mutation::NoPreviousFallback => {
                let table = &self.inner.0;
                let logs_in = |secret: &SecretJson| -> Result<bool, RotatorError> {
                    Ok(table.log_in(
                        secret.required_str("username")?,
                        &secret.required_secret("password")?,
                    ))
                };
                if logs_in(pending)? {
                    return Ok(());
                }
                if !logs_in(current)? {
                    return Err(RotatorError::Refused("AWSCURRENT does not log in".into()));
                }
                self.inner.set_secret(ctx, current, pending).await
            }
            Mutation::ReadsCurrentAgain => {
                ctx.secret(VersionLabel::Current).await?;
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

    fn recovers_through_previous(&self) -> bool {
        self.inner.recovers_through_previous()
    }
}

/// Runs the whole kit on `mutation`; returns the kit's failure message.
async fn kit_failure(mutation: Mutation) -> String {
    kit_failure_over(MutantHarness {
        inner: TableHarness::default(),
        mutation,
    })
    .await
}

/// Runs the whole kit on `harness`, which must fail it; returns the kit's
/// failure message.
async fn kit_failure_over<H: RotatorHarness + Send + Sync + 'static>(harness: H) -> String {
    rotation_core::testkit::panic_message(async move {
        let store: Arc<dyn SecretAdmin> = Arc::new(InMemorySecretStore::new());
        run_all(&harness, store).await
    })
    .await
}

/// Runs the whole kit on `mutation`, which passes it; returns the report.
async fn kit_report(mutation: Option<Mutation>) -> ConformanceReport {
    let store: Arc<dyn SecretAdmin> = Arc::new(InMemorySecretStore::new());
    match mutation {
        Some(mutation) => {
            let harness = MutantHarness {
                inner: TableHarness::default(),
                mutation,
            };
            run_all(&harness, store).await
        }
        None => run_all(&TableHarness::default(), store).await,
    }
}

/// What the kit's failure must say for each mutant, or `None` for the one
/// it must pass (an extra store read, which only exact counts show). The
/// match has no catch-all: a new mutant needs its reason here.
fn killed_by(mutation: Mutation) -> Option<&'static str> {
    Some(match mutation {
        Mutation::TestAlwaysPasses => "testSecret must fail",
        Mutation::SetDoesNothing => "testSecret",
        Mutation::ReusesThePassword => "must change the credential's field `password`",
        Mutation::AfterFinishOnlyOnce => "already finished",
        Mutation::LogsThePassword
        | Mutation::LogsThePasswordAtTrace
        | Mutation::LogsFromASpawnedTask => "contains a secret value",
        Mutation::NearCopy => "near copy of the old one",
        Mutation::TwoValueCycle => "must not cycle",
        // The reference backend keeps one password per user: after
        // setSecret AWSCURRENT's no longer logs in, and the kit's first
        // rotation fails at testSecret.
        Mutation::TestsTheCurrentValue => "testSecret",
        Mutation::AfterFinishBreaksTheNew => "lockout after finishSecret",
        Mutation::WrongFormat => "is not of the format the rotator declares",
        Mutation::NoPreviousFallback => "AWSCURRENT does not log in",
        Mutation::ReadsCurrentAgain => return None,
    })
}

/// Every mutant, once.
const MUTANTS: [Mutation; 14] = [
    Mutation::TestAlwaysPasses,
    Mutation::SetDoesNothing,
    Mutation::ReusesThePassword,
    Mutation::AfterFinishOnlyOnce,
    Mutation::LogsThePassword,
    Mutation::LogsThePasswordAtTrace,
    Mutation::TestsTheCurrentValue,
    Mutation::AfterFinishBreaksTheNew,
    Mutation::NearCopy,
    Mutation::TwoValueCycle,
    Mutation::WrongFormat,
    Mutation::NoPreviousFallback,
    Mutation::LogsFromASpawnedTask,
    Mutation::ReadsCurrentAgain,
];

/// The kit fails `mutation`, saying why.
async fn assert_killed(mutation: Mutation) {
    let reason = killed_by(mutation).expect("a mutant the kit must fail");
    let message = kit_failure(mutation).await;
    assert!(message.contains(reason), "{mutation:?}: {message}");
}

/// The mutants are counted: 13 the kit must fail over the reference
/// backend (each has its test below), one it must pass, and one more over
/// issued keys (at the end of this file).
#[test]
fn every_mutant_is_listed_once_with_its_reason() {
    let names: HashSet<String> = MUTANTS.iter().map(|m| format!("{m:?}")).collect();
    assert_eq!(names.len(), MUTANTS.len(), "a mutant listed twice");
    let killed = MUTANTS.iter().filter(|m| killed_by(**m).is_some()).count();
    assert_eq!(killed, 13);
}

#[tokio::test]
async fn the_kit_fails_a_test_secret_that_always_passes() {
    assert_killed(Mutation::TestAlwaysPasses).await;
}

#[tokio::test]
async fn the_kit_fails_a_set_secret_that_does_nothing() {
    assert_killed(Mutation::SetDoesNothing).await;
}

#[tokio::test]
async fn the_kit_fails_a_pending_value_that_reuses_the_password() {
    assert_killed(Mutation::ReusesThePassword).await;
}

#[tokio::test]
async fn the_kit_fails_an_after_finish_that_is_not_idempotent() {
    assert_killed(Mutation::AfterFinishOnlyOnce).await;
}

#[tokio::test]
async fn the_kit_fails_a_rotator_that_logs_the_new_password() {
    assert_killed(Mutation::LogsThePassword).await;
}

#[tokio::test]
async fn the_kit_fails_a_new_password_derived_from_the_old() {
    assert_killed(Mutation::NearCopy).await;
}

#[tokio::test]
async fn the_kit_fails_passwords_that_cycle() {
    assert_killed(Mutation::TwoValueCycle).await;
}

#[tokio::test]
async fn the_kit_fails_a_rotator_that_logs_the_new_password_at_trace() {
    assert_killed(Mutation::LogsThePasswordAtTrace).await;
}

#[tokio::test]
async fn the_kit_fails_a_test_secret_that_checks_the_current_value() {
    assert_killed(Mutation::TestsTheCurrentValue).await;
}

#[tokio::test]
async fn the_kit_fails_an_after_finish_that_breaks_the_new_credential() {
    assert_killed(Mutation::AfterFinishBreaksTheNew).await;
}

#[tokio::test]
async fn the_kit_fails_a_new_value_not_of_the_declared_format() {
    assert_killed(Mutation::WrongFormat).await;
}

#[tokio::test]
async fn the_kit_fails_a_set_secret_without_the_awsprevious_fallback() {
    assert_killed(Mutation::NoPreviousFallback).await;
}

#[tokio::test]
async fn the_kit_fails_a_rotator_that_logs_the_new_password_from_a_spawned_task() {
    assert_killed(Mutation::LogsFromASpawnedTask).await;
}

/// A store read more per rotation passes every case, as it should: only
/// the exact counts a rotator's tests assert (`tests/conformance.rs` for
/// this one) show it, where a lower bound would not.
#[tokio::test]
async fn exact_counts_show_a_store_call_that_a_lower_bound_lets_through() {
    let reference = kit_report(None).await;
    let mutant = kit_report(Some(Mutation::ReadsCurrentAgain)).await;
    let calls = |report: &ConformanceReport| -> usize {
        report.calls_per_step.iter().map(|(_, ops)| ops.len()).sum()
    };
    assert_eq!((calls(&reference), reference.fault_points.len()), (11, 22));
    assert_eq!((calls(&mutant), mutant.fault_points.len()), (12, 24));
    // The bound the audit found (`>= 8` fault points) accepts both.
    assert!(reference.fault_points.len() >= 8 && mutant.fault_points.len() >= 8);
}

/// A key service: a key works from the moment it is issued (createSecret),
/// before setSecret, as a provider's API key does.
#[derive(Clone, Default)]
struct KeyService(Arc<Mutex<HashSet<(String, String)>>>);

impl KeyService {
    fn issue(&self, user: &str, key: &SecretString) {
        let issued = (user.to_owned(), key.expose().to_owned());
        self.0.lock().unwrap().insert(issued);
    }

    fn accepts(&self, secret: &SecretJson) -> bool {
        let (Ok(user), Ok(key)) = (
            secret.required_str("username"),
            secret.required_secret("api_key"),
        ) else {
            return false;
        };
        let issued = (user.to_owned(), key.expose().to_owned());
        self.0.lock().unwrap().contains(&issued)
    }
}

/// Keys the service issues; `tests_current` is the mutant whose testSecret
/// checks AWSCURRENT instead of the pending key.
struct IssuedKeys {
    service: KeyService,
    tests_current: bool,
}

#[async_trait]
impl Rotator for IssuedKeys {
    fn credential(&self) -> Credential {
        Credential::key("api_key", KeyFormat::alphanumeric(40))
    }

    fn validate(&self, secret: &SecretJson) -> Result<(), SecretFormatError> {
        secret.required_str("username")?;
        secret.required_secret("api_key").map(drop)
    }

    async fn create_pending(
        &self,
        ctx: &RotationContext<'_>,
        current: &SecretJson,
    ) -> Result<SecretJson, RotatorError> {
        let key = ctx.new_value();
        self.service.issue(current.required_str("username")?, &key);
        let mut pending = current.clone();
        pending.set_secret("api_key", &key);
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
        let tested = if self.tests_current {
            ctx.secret(VersionLabel::Current)
                .await?
                .ok_or_else(|| RotatorError::Refused("no AWSCURRENT".into()))?
        } else {
            pending.clone()
        };
        if self.service.accepts(&tested) {
            Ok(())
        } else {
            Err(RotatorError::Refused(
                "the key service refuses the key".into(),
            ))
        }
    }
}

struct IssuedKeysHarness {
    service: KeyService,
    tests_current: bool,
}

#[async_trait]
impl RotatorHarness for IssuedKeysHarness {
    type Rotator = IssuedKeys;

    fn rotator(&self) -> IssuedKeys {
        IssuedKeys {
            service: self.service.clone(),
            tests_current: self.tests_current,
        }
    }

    async fn fresh_secret(&self, _: &dyn SecretAdmin) -> SecretJson {
        let user = rotation_core::testkit::unique_name("client");
        let key = Credential::key("api_key", KeyFormat::alphanumeric(40))
            .generator_from_lookup(|_| None)
            .expect("a key format")
            .generate();
        self.service.issue(&user, &key);
        let mut secret = SecretJson::from_map(serde_json::Map::new());
        secret.set("username", user.as_str());
        secret.set_secret("api_key", &key);
        secret
    }

    async fn can_log_in(&self, secret: &SecretJson) -> bool {
        self.service.accepts(secret)
    }

    fn pending_works_before_set_secret(&self) -> bool {
        true
    }
}

#[tokio::test]
async fn issued_keys_pass_the_kit_when_test_secret_checks_the_pending_key() {
    let store: Arc<dyn SecretAdmin> = Arc::new(InMemorySecretStore::new());
    let harness = IssuedKeysHarness {
        service: KeyService::default(),
        tests_current: false,
    };
    let report = run_all(&harness, store).await;
    rotation_core::testkit::conformance::assert_covered(
        &report,
        &[
            "test_secret_refuses_an_unapplied_value",
            "fault_during_recovery_through_previous",
        ],
    );
}

#[tokio::test]
async fn the_kit_fails_a_test_secret_that_checks_the_current_value_of_issued_keys() {
    let message = kit_failure_over(IssuedKeysHarness {
        service: KeyService::default(),
        tests_current: true,
    })
    .await;
    assert!(
        message.contains("testSecret must fail on a pending value the rotator never made"),
        "{message}"
    );
}
