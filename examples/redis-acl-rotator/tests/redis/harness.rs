//! The conformance kit's view of Redis: fresh ACL users, and the admin's
//! secret created once in the store under test.

use std::sync::atomic::{AtomicUsize, Ordering};

use redis_acl_rotator::RedisAclRotator;
use rotation_core::secret::SecretPayload;
use rotation_core::testkit::{unique_name, RotatorHarness, SecretAdmin};
use rotation_core::{async_trait, SecretJson, SecretString};
use serde_json::Value;

use crate::server::{RedisServer, ADMIN};

/// Users the rotator may change: made up front, because the rotator's
/// allow-list is its configuration, fixed before any secret exists.
const USERS: usize = 200;

pub struct RedisHarness<'a> {
    pub server: &'a RedisServer,
    pub admin_secret: String,
    pub users: Vec<String>,
    next_user: AtomicUsize,
}

impl<'a> RedisHarness<'a> {
    pub fn new(server: &'a RedisServer) -> Self {
        Self {
            server,
            admin_secret: unique_name("redis-admin"),
            users: (0..USERS)
                .map(|i| unique_name(&format!("app{i}")))
                .collect(),
            next_user: AtomicUsize::new(0),
        }
    }

    /// A login secret for `user` on the test server.
    pub fn secret_for(&self, user: &str, password: &SecretString) -> SecretJson {
        let mut secret = SecretJson::from_map(Default::default());
        secret.set("engine", "redis");
        secret.set("host", "127.0.0.1");
        secret.set("port", self.server.port);
        secret.set("username", user);
        secret.set_secret("password", password);
        secret
    }

    /// Stores the admin's secret in `store`, unless it is there.
    pub async fn ensure_admin_secret(&self, store: &dyn SecretAdmin) {
        if store.describe(&self.admin_secret).await.is_ok() {
            return;
        }
        let admin = self.secret_for(ADMIN, &self.server.admin_password);
        store
            .create_secret(
                &self.admin_secret,
                SecretPayload::String(admin.to_secret_string()),
            )
            .await
            .expect("store the admin's secret");
    }

    /// A new ACL user from the allow-list, with one password.
    pub async fn fresh_user(&self) -> (String, SecretString) {
        let user = self.users[self.next_user.fetch_add(1, Ordering::Relaxed)].clone();
        let password = SecretString::new(format!("in'itial {}", unique_name("pw")));
        self.server
            .acl(&[
                "SETUSER",
                &user,
                "on",
                &format!(">{}", password.expose()),
                "+ping",
            ])
            .await;
        (user, password)
    }
}

#[async_trait]
impl RotatorHarness for RedisHarness<'_> {
    type Rotator = RedisAclRotator;

    fn rotator(&self) -> RedisAclRotator {
        RedisAclRotator {
            admin_secret: self.admin_secret.clone(),
            users: self.users.clone(),
        }
    }

    async fn fresh_secret(&self, store: &dyn SecretAdmin) -> SecretJson {
        self.ensure_admin_secret(store).await;
        let (user, password) = self.fresh_user().await;
        self.secret_for(&user, &password)
    }

    async fn can_log_in(&self, secret: &SecretJson) -> bool {
        match (
            secret.required_str("username"),
            secret.required_secret("password"),
        ) {
            (Ok(user), Ok(password)) => self.server.can_log_in(user, &password).await,
            _ => false,
        }
    }

    fn malformed_secrets(&self, valid: &SecretJson) -> Vec<(String, SecretPayload)> {
        let broken = |field: &str, value: Value| {
            let what = format!("{field} = {value}");
            let mut secret = valid.clone();
            secret.set(field, value);
            (what, SecretPayload::String(secret.to_secret_string()))
        };
        vec![
            broken("username", Value::Null),
            broken("host", 42.into()),
            broken("port", "eighty".into()),
            broken("port", 70000.into()),
        ]
    }

    fn other_secret_values(&self) -> Vec<SecretString> {
        vec![self.server.admin_password.clone()]
    }
}
