//! Failure injection: a store wrapper that counts calls and fails a chosen
//! one, and a rotator wrapper that dies right after its backend change.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

use async_trait::async_trait;

use crate::credential::Credential;
use crate::error::{RotatorError, StoreError};
use crate::rotator::{RotationContext, Rotator};
use crate::secret::SecretJson;
use crate::store::{
    MoveStage, PutValue, SecretDescription, SecretStore, SecretVersion, VersionSelector,
};
use crate::{SecretFormatError, VersionLabel};

/// When an injected failure strikes, relative to the call it replaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultTiming {
    /// The call never reaches the store (a network error, a throttle).
    Before,
    /// The call takes effect, then the answer is lost (the function died, or
    /// the connection dropped, after the store acted).
    After,
    /// The call takes effect, its answer is lost, and the SDK sends it
    /// again: the caller sees the second call's answer.
    Retried,
}

/// A store that records the operations made through it and fails the call
/// numbered `at` (counting from 0 since [`FaultyStore::arm`]).
pub struct FaultyStore<S> {
    inner: S,
    calls: AtomicUsize,
    armed: Mutex<Option<(usize, FaultTiming)>>,
    log: Mutex<Vec<&'static str>>,
}

impl<S: SecretStore> FaultyStore<S> {
    /// Wraps a store, unarmed.
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            calls: AtomicUsize::new(0),
            armed: Mutex::new(None),
            log: Mutex::new(Vec::new()),
        }
    }

    /// The wrapped store.
    pub fn inner(&self) -> &S {
        &self.inner
    }

    /// Fails call `at` from now on, once, at `timing`; resets the counter.
    pub fn arm(&self, at: usize, timing: FaultTiming) {
        self.calls.store(0, Ordering::SeqCst);
        *self.armed.lock().unwrap() = Some((at, timing));
    }

    /// Removes any armed fault and resets the counter and the log.
    pub fn disarm(&self) {
        self.calls.store(0, Ordering::SeqCst);
        *self.armed.lock().unwrap() = None;
        self.log.lock().unwrap().clear();
    }

    /// The operations made since the last [`disarm`](Self::disarm) or
    /// [`take_log`](Self::take_log).
    pub fn take_log(&self) -> Vec<&'static str> {
        std::mem::take(&mut *self.log.lock().unwrap())
    }

    /// Whether the armed fault has fired.
    pub fn fired(&self) -> bool {
        self.armed.lock().unwrap().is_none()
    }

    /// Which timing, if any, applies to this call.
    fn next_call(&self, operation: &'static str) -> Option<FaultTiming> {
        self.log.lock().unwrap().push(operation);
        let n = self.calls.fetch_add(1, Ordering::SeqCst);
        let mut armed = self.armed.lock().unwrap();
        match *armed {
            Some((at, timing)) if at == n => {
                *armed = None;
                Some(timing)
            }
            _ => None,
        }
    }
}

fn injected(operation: &'static str, secret_id: &str, timing: FaultTiming) -> StoreError {
    StoreError::Service {
        operation,
        secret_id: secret_id.to_owned(),
        transient: true,
        source: format!("injected fault ({timing:?} the call)").into(),
    }
}

macro_rules! faulty_call {
    ($self:ident, $op:literal, $secret_id:expr, $call:expr) => {{
        match $self.next_call($op) {
            Some(FaultTiming::Before) => Err(injected($op, $secret_id, FaultTiming::Before)),
            Some(FaultTiming::After) => {
                let _ = $call.await;
                Err(injected($op, $secret_id, FaultTiming::After))
            }
            Some(FaultTiming::Retried) => {
                let _ = $call.await;
                $call.await
            }
            None => $call.await,
        }
    }};
}

#[async_trait]
impl<S: SecretStore> SecretStore for FaultyStore<S> {
    async fn describe(&self, secret_id: &str) -> Result<SecretDescription, StoreError> {
        faulty_call!(
            self,
            "DescribeSecret",
            secret_id,
            self.inner.describe(secret_id)
        )
    }

    async fn get_value(
        &self,
        secret_id: &str,
        version: VersionSelector<'_>,
    ) -> Result<Option<SecretVersion>, StoreError> {
        faulty_call!(
            self,
            "GetSecretValue",
            secret_id,
            self.inner.get_value(secret_id, version)
        )
    }

    async fn put_value(&self, secret_id: &str, put: PutValue<'_>) -> Result<(), StoreError> {
        faulty_call!(
            self,
            "PutSecretValue",
            secret_id,
            self.inner.put_value(secret_id, put)
        )
    }

    async fn move_stage(&self, secret_id: &str, change: MoveStage<'_>) -> Result<(), StoreError> {
        faulty_call!(
            self,
            "UpdateSecretVersionStage",
            secret_id,
            self.inner.move_stage(secret_id, change)
        )
    }
}

/// A rotator wrapper for crash and hook tests: armed, its `set_secret`
/// does its work and then reports a failure (the backend changed but the
/// step "died"); and it records every `after_finish` call with whether the
/// old value was readable as AWSPREVIOUS at that moment.
pub struct InstrumentedRotator<R> {
    inner: R,
    die_after_set_secret: AtomicBool,
    after_finish_calls: Mutex<Vec<bool>>,
}

impl<R> InstrumentedRotator<R> {
    /// Wraps a rotator, unarmed.
    pub fn new(inner: R) -> Self {
        Self {
            inner,
            die_after_set_secret: AtomicBool::new(false),
            after_finish_calls: Mutex::new(Vec::new()),
        }
    }

    /// Wraps a rotator whose next `set_secret` dies after changing the
    /// backend.
    pub fn dying_after_set_secret(inner: R) -> Self {
        let rotator = Self::new(inner);
        rotator.die_after_set_secret.store(true, Ordering::SeqCst);
        rotator
    }

    /// One entry per `after_finish` call: whether AWSPREVIOUS had a value.
    pub fn after_finish_calls(&self) -> Vec<bool> {
        self.after_finish_calls.lock().unwrap().clone()
    }
}

#[async_trait]
impl<R: Rotator> Rotator for InstrumentedRotator<R> {
    fn credential(&self) -> Credential {
        self.inner.credential()
    }

    fn validate(&self, secret: &SecretJson) -> Result<(), SecretFormatError> {
        self.inner.validate(secret)
    }

    async fn create_pending(
        &self,
        ctx: &RotationContext<'_>,
        current: &SecretJson,
    ) -> Result<SecretJson, RotatorError> {
        self.inner.create_pending(ctx, current).await
    }

    async fn set_secret(
        &self,
        ctx: &RotationContext<'_>,
        current: &SecretJson,
        pending: &SecretJson,
    ) -> Result<(), RotatorError> {
        self.inner.set_secret(ctx, current, pending).await?;
        if self.die_after_set_secret.swap(false, Ordering::SeqCst) {
            return Err(RotatorError::Refused(
                "injected fault after the backend accepted the pending secret".into(),
            ));
        }
        Ok(())
    }

    async fn test_secret(
        &self,
        ctx: &RotationContext<'_>,
        pending: &SecretJson,
    ) -> Result<(), RotatorError> {
        self.inner.test_secret(ctx, pending).await
    }

    async fn after_finish(&self, ctx: &RotationContext<'_>) -> Result<(), RotatorError> {
        let saw_previous = ctx.secret(VersionLabel::Previous).await?.is_some();
        self.after_finish_calls.lock().unwrap().push(saw_previous);
        self.inner.after_finish(ctx).await
    }
}
