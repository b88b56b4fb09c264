//! A reference rotator over an in-process credential table.
//!
//! It is the "small in-test rotator" the state machine and the stores are
//! tested with: a backend with real password semantics (a login succeeds
//! only with the user's current password) and core's login order
//! ([`find_working_login`]), but no network. Database rotators test against their real
//! servers instead.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use crate::error::RotatorError;
use crate::rotator::{RotationContext, Rotator};
use crate::secret::{SecretJson, SecretString};
use crate::working_login::{find_working_login, Attempt, WorkingLogin};
use crate::VersionLabel;

use super::admin::SecretAdmin;
use super::conformance::RotatorHarness;
use super::unique_name;

/// Users and their passwords.
#[derive(Debug, Default, Clone)]
pub struct CredentialTable {
    users: Arc<Mutex<HashMap<String, SecretString>>>,
}

impl CredentialTable {
    /// Whether `username` logs in with `password`.
    pub fn log_in(&self, username: &str, password: &SecretString) -> bool {
        self.users.lock().unwrap().get(username) == Some(password)
    }

    /// Sets a user's password, creating the user if needed.
    pub fn set_password(&self, username: &str, password: &SecretString) {
        self.users
            .lock()
            .unwrap()
            .insert(username.to_owned(), password.clone());
    }
}

/// The reference rotator: changes a user's password in a [`CredentialTable`].
#[derive(Debug, Clone, Default)]
pub struct TableRotator {
    /// The backend.
    pub table: CredentialTable,
}

fn credentials(secret: &SecretJson) -> Result<(&str, SecretString), RotatorError> {
    Ok((
        secret.required_str("username")?,
        secret.required_secret("password")?,
    ))
}

#[async_trait]
impl Rotator for TableRotator {
    fn validate(&self, secret: &SecretJson) -> Result<(), crate::SecretFormatError> {
        secret.required_str("username")?;
        secret.required_secret("password").map(drop)
    }

    async fn set_secret(
        &self,
        ctx: &RotationContext<'_>,
        current: &SecretJson,
        pending: &SecretJson,
    ) -> Result<(), RotatorError> {
        let user = current.required_str("username")?;
        let (pending_user, new_password) = credentials(pending)?;
        if user != pending_user {
            return Err(RotatorError::Refused(format!(
                "the pending secret names user {pending_user}, the current one {user}"
            )));
        }
        let try_login = |_: VersionLabel, value: SecretJson| async move {
            let password = value.required_secret("password")?;
            Ok(if self.table.log_in(user, &password) {
                Attempt::LoggedIn(())
            } else {
                Attempt::Rejected
            })
        };
        match find_working_login(ctx, current, pending, try_login).await? {
            WorkingLogin::Current(()) | WorkingLogin::Previous(()) => {
                self.table.set_password(user, &new_password);
                Ok(())
            }
            WorkingLogin::PendingAlreadyApplied => Ok(()),
            WorkingLogin::NoneWorks(_) => Err(RotatorError::Refused(format!(
                "no stored password of user {user} logs in"
            ))),
        }
    }

    async fn test_secret(
        &self,
        _ctx: &RotationContext<'_>,
        pending: &SecretJson,
    ) -> Result<(), RotatorError> {
        let (user, password) = credentials(pending)?;
        if self.table.log_in(user, &password) {
            Ok(())
        } else {
            Err(RotatorError::Refused(format!(
                "user {user} cannot log in with the pending password"
            )))
        }
    }
}

/// The conformance harness for [`TableRotator`].
#[derive(Debug, Clone, Default)]
pub struct TableHarness {
    /// The backend shared by the rotators this harness makes.
    pub table: CredentialTable,
}

#[async_trait]
impl RotatorHarness for TableHarness {
    type Rotator = TableRotator;

    fn rotator(&self) -> TableRotator {
        TableRotator {
            table: self.table.clone(),
        }
    }

    async fn fresh_secret(&self, _store: &dyn SecretAdmin) -> SecretJson {
        let user = unique_name("user");
        let password = SecretString::new(format!("initial-{}", unique_name("pw")));
        self.table.set_password(&user, &password);
        let mut secret = SecretJson::from_map(serde_json::Map::new());
        secret.set("engine", "table");
        secret.set("username", user.as_str());
        secret.set_secret("password", &password);
        secret
    }

    fn recovers_through_previous(&self) -> bool {
        true
    }

    async fn can_log_in(&self, secret: &SecretJson) -> bool {
        match credentials(secret) {
            Ok((user, password)) => self.table.log_in(user, &password),
            Err(_) => false,
        }
    }

    fn malformed_secrets(&self, valid: &SecretJson) -> Vec<(String, crate::SecretPayload)> {
        let mut no_password = valid.clone();
        no_password.set("password", serde_json::Value::Null);
        let mut numeric_user = valid.clone();
        numeric_user.set("username", 42);
        [
            ("no password", no_password),
            ("a numeric username", numeric_user),
        ]
        .into_iter()
        .map(|(what, s)| {
            (
                what.to_owned(),
                crate::SecretPayload::String(s.to_secret_string()),
            )
        })
        .collect()
    }
}
