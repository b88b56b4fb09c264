//! A reference rotator over an in-process credential table.
//!
//! It is the "small in-test rotator" the state machine and the stores are
//! tested with: a backend with real password semantics (a login succeeds
//! only with the user's current password) and core's login order
//! for a credential that changes itself ([`ChangesItself`]), but no network. Database rotators test against their real
//! servers instead.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;

use crate::error::{RotatorError, SecretFormatError};
use crate::secret::{SecretJson, SecretString};
use crate::self_changing::{ChangesItself, SelfChanging};
use crate::Rotator;

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

/// The reference rotator: a user that changes its own password in a
/// [`CredentialTable`].
pub type TableRotator = SelfChanging<CredentialTable>;

fn credentials(secret: &SecretJson) -> Result<(&str, SecretString), RotatorError> {
    Ok((
        secret.required_str("username")?,
        secret.required_secret("password")?,
    ))
}

#[async_trait]
impl ChangesItself for CredentialTable {
    /// The user logged in.
    type Session = String;

    fn validate(&self, secret: &SecretJson) -> Result<(), SecretFormatError> {
        secret.required_str("username")?;
        secret.required_secret("password").map(drop)
    }

    async fn log_in(&self, login: &SecretJson) -> Result<Option<String>, RotatorError> {
        let (user, password) = credentials(login)?;
        Ok(CredentialTable::log_in(self, user, &password).then(|| user.to_owned()))
    }

    async fn change(&self, user: String, pending: &SecretJson) -> Result<(), RotatorError> {
        self.set_password(&user, &pending.required_secret("password")?);
        Ok(())
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
        SelfChanging(self.table.clone())
    }

    async fn fresh_secret(&self, _store: &dyn SecretAdmin) -> SecretJson {
        let user = unique_name("user");
        // Of the declared format, as a rotation's would be, so that a
        // rotator bringing it back is caught as a cycle, not as a shape.
        let password = self
            .rotator()
            .credential()
            .generator_from_lookup(|_| None)
            .expect("the reference rotator's format")
            .generate();
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

    fn malformed_secrets(&self, valid: &SecretJson) -> Vec<(String, crate::secret::SecretPayload)> {
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
                crate::secret::SecretPayload::String(s.to_secret_string()),
            )
        })
        .collect()
    }
}
