//! The SCRAM-SHA-256 verifier of a new password, computed ahead: its 4096
//! rounds run on a blocking thread while setSecret's logins and checks
//! wait on the network, and `set_password` takes the result for the same
//! user and password. The same computation done inline costs setSecret
//! that much more, and more on a CPU without SHA instructions or a
//! fraction of one (a small Lambda function).

use std::sync::Mutex;

use rotation_core::SecretString;
use tokio::task::JoinHandle;

/// At most one verifier, for the password setSecret is about to set.
#[derive(Default)]
pub(crate) struct VerifierAhead {
    slot: Mutex<Option<Computing>>,
}

struct Computing {
    username: String,
    password: SecretString,
    verifier: JoinHandle<String>,
}

impl VerifierAhead {
    /// Starts computing `password`'s verifier, replacing any other.
    pub(crate) fn start(&self, username: &str, password: &SecretString) {
        let secret = password.clone();
        let verifier = tokio::task::spawn_blocking(move || {
            postgres_protocol::password::scram_sha_256(secret.expose().as_bytes())
        });
        let replaced = self.lock().replace(Computing {
            username: username.to_owned(),
            password: password.clone(),
            verifier,
        });
        if let Some(old) = replaced {
            old.verifier.abort();
        }
    }

    /// The verifier started for this user and password, if any; whatever
    /// was started is taken either way.
    pub(crate) async fn take(&self, username: &str, password: &SecretString) -> Option<String> {
        let computing = self.lock().take()?;
        if computing.username != username || computing.password != *password {
            computing.verifier.abort();
            return None;
        }
        computing.verifier.await.ok()
    }

    /// Drops whatever was started, unfinished or not.
    pub(crate) fn forget(&self) {
        if let Some(computing) = self.lock().take() {
            computing.verifier.abort();
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Computing>> {
        self.slot.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A verifier is handed over only for the user and password it was
    /// started for, and once. (That it lets the user log in is what every
    /// rotation test against PostgreSQL shows.)
    #[tokio::test]
    async fn a_verifier_serves_its_own_user_and_password_once() {
        let ahead = VerifierAhead::default();
        let password = SecretString::new("correct horse battery staple");
        ahead.start("app", &password);
        let verifier = ahead.take("app", &password).await.expect("started for app");
        assert!(verifier.starts_with("SCRAM-SHA-256$4096:"), "{verifier}");
        assert!(ahead.take("app", &password).await.is_none(), "taken once");

        ahead.start("app", &password);
        assert!(ahead.take("other", &password).await.is_none());
        ahead.start("app", &password);
        assert!(ahead
            .take("app", &SecretString::new("another password"))
            .await
            .is_none());
        assert!(
            ahead.take("app", &password).await.is_none(),
            "a mismatch takes it"
        );

        ahead.start("app", &password);
        ahead.forget();
        assert!(ahead.take("app", &password).await.is_none(), "forgotten");
    }
}
