//! A [`DatabaseBackend`] that fails one chosen call, for the database
//! strategies' fault matrix: a failure between the database calls (after
//! the clone is made to match its original, at the master login)
//! must leave a working login and a rotation that resumes.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;

use crate::{DatabaseBackend, DatabaseSecret, EngineSpec, LoginError, UserStanding};
use rotation_core::error::BoxError;
use rotation_core::SecretString;

/// When the armed call fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendFault {
    /// The call never reaches the database.
    Before,
    /// The call takes effect, then the answer is lost.
    After,
    /// The database does not answer for this long, then the call runs.
    Hang(Duration),
}

/// Arms and reads a [`FaultyBackend`] that a rotator owns.
#[derive(Clone, Default)]
pub struct FaultSwitch {
    state: Arc<SwitchState>,
}

#[derive(Default)]
struct SwitchState {
    calls: AtomicUsize,
    armed: Mutex<Option<(usize, BackendFault)>>,
    log: Mutex<Vec<&'static str>>,
}

impl FaultSwitch {
    /// Fails call `at` from now on, once; resets the counter and the log.
    pub fn arm(&self, at: usize, fault: BackendFault) {
        self.state.calls.store(0, Ordering::SeqCst);
        self.state.log.lock().unwrap().clear();
        *self.state.armed.lock().unwrap() = Some((at, fault));
    }

    /// Removes any armed fault; resets the counter and the log.
    pub fn disarm(&self) {
        self.state.calls.store(0, Ordering::SeqCst);
        self.state.log.lock().unwrap().clear();
        *self.state.armed.lock().unwrap() = None;
    }

    /// Whether the armed fault has fired.
    pub fn fired(&self) -> bool {
        self.state.armed.lock().unwrap().is_none()
    }

    /// The calls made since the last arm, disarm or take.
    pub fn take_log(&self) -> Vec<&'static str> {
        std::mem::take(&mut *self.state.log.lock().unwrap())
    }

    fn next_call(&self, operation: &'static str) -> Option<BackendFault> {
        self.state.log.lock().unwrap().push(operation);
        let n = self.state.calls.fetch_add(1, Ordering::SeqCst);
        let mut armed = self.state.armed.lock().unwrap();
        match *armed {
            Some((at, fault)) if at == n => {
                *armed = None;
                Some(fault)
            }
            _ => None,
        }
    }
}

/// Wraps a backend; records the calls made through it and fails the call
/// its [`FaultSwitch`] armed.
pub struct FaultyBackend<B> {
    inner: B,
    switch: FaultSwitch,
}

impl<B> FaultyBackend<B> {
    /// Wraps `inner`, unarmed; the switch arms it after the rotator took
    /// ownership.
    pub fn new(inner: B) -> (Self, FaultSwitch) {
        let switch = FaultSwitch::default();
        (
            Self {
                inner,
                switch: switch.clone(),
            },
            switch,
        )
    }
}

fn injected(operation: &str, fault: BackendFault) -> BoxError {
    format!("injected database fault ({fault:?} {operation})").into()
}

macro_rules! faulty {
    ($self:ident, $op:literal, $call:expr, $wrap:expr) => {{
        match $self.switch.next_call($op) {
            Some(BackendFault::Before) => Err($wrap(injected($op, BackendFault::Before))),
            Some(BackendFault::After) => {
                let _ = $call.await;
                Err($wrap(injected($op, BackendFault::After)))
            }
            Some(BackendFault::Hang(pause)) => {
                tokio::time::sleep(pause).await;
                $call.await
            }
            None => $call.await,
        }
    }};
}

#[async_trait]
impl<B: DatabaseBackend> DatabaseBackend for FaultyBackend<B> {
    type Connection = B::Connection;

    const SPEC: EngineSpec = B::SPEC;

    async fn connect(&self, login: &DatabaseSecret) -> Result<B::Connection, LoginError> {
        faulty!(
            self,
            "connect",
            self.inner.connect(login),
            LoginError::Connection
        )
    }

    async fn connect_admin(&self, login: &DatabaseSecret) -> Result<B::Connection, LoginError> {
        faulty!(
            self,
            "connect_admin",
            self.inner.connect_admin(login),
            LoginError::Connection
        )
    }

    async fn check(&self, connection: &mut B::Connection) -> Result<(), BoxError> {
        faulty!(
            self,
            "check",
            self.inner.check(connection),
            std::convert::identity
        )
    }

    async fn set_own_password(
        &self,
        connection: &mut B::Connection,
        login: &DatabaseSecret,
        password: &SecretString,
    ) -> Result<(), BoxError> {
        faulty!(
            self,
            "set_own_password",
            self.inner.set_own_password(connection, login, password),
            std::convert::identity
        )
    }

    async fn set_password(
        &self,
        admin: &mut B::Connection,
        username: &str,
        password: &SecretString,
    ) -> Result<(), BoxError> {
        faulty!(
            self,
            "set_password",
            self.inner.set_password(admin, username, password),
            std::convert::identity
        )
    }

    async fn match_clone(
        &self,
        admin: &mut B::Connection,
        original: &str,
        clone: &str,
    ) -> Result<(), BoxError> {
        faulty!(
            self,
            "match_clone",
            self.inner.match_clone(admin, original, clone),
            std::convert::identity
        )
    }

    async fn user_standing(
        &self,
        admin: &mut B::Connection,
        username: &str,
    ) -> Result<UserStanding, BoxError> {
        faulty!(
            self,
            "user_standing",
            self.inner.user_standing(admin, username),
            std::convert::identity
        )
    }

    async fn is_clone_of(
        &self,
        admin: &mut B::Connection,
        original: &str,
        clone: &str,
    ) -> Result<bool, BoxError> {
        faulty!(
            self,
            "is_clone_of",
            self.inner.is_clone_of(admin, original, clone),
            std::convert::identity
        )
    }
}
