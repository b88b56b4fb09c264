//! The HTTP provider's harness: accounts in a [`KeyService`], each with an
//! operator's first key, an admin secret in the store under test, and the
//! settings that describe the service to the provider.

use api_key_rotator::{rotator_from_lookup, ApiKeyRotator};
use rotation_core::secret::SecretPayload;
use rotation_core::testkit::conformance::RotatorHarness;
use rotation_core::testkit::{unique_name, SecretAdmin};
use rotation_core::{async_trait, SecretJson, SecretString};
use rotation_testing::function_checks::{FunctionHarness, NamedCase};

use crate::key_service::KeyService;

/// Accounts of a key service, rotated with an admin key or by themselves.
pub struct HttpHarness {
    /// The service.
    pub service: KeyService,
    /// The admin secret's name (`HTTP_ADMIN_SECRET_ARN`).
    pub admin_secret: String,
    /// Whether keys rotate themselves (`HTTP_AUTH=self`).
    pub self_rotation: bool,
    /// Settings on top of the harness's own (a test's variant).
    pub extra_settings: Vec<(&'static str, String)>,
}

impl HttpHarness {
    /// A harness over a new service, rotating with the admin's key.
    pub async fn admin(honours_idempotency: bool) -> Self {
        Self {
            service: KeyService::start(honours_idempotency).await,
            admin_secret: unique_name("key-service-admin"),
            self_rotation: false,
            extra_settings: Vec::new(),
        }
    }

    /// A harness over a new service, each key issuing its successor.
    pub async fn self_rotating() -> Self {
        Self {
            self_rotation: true,
            ..Self::admin(true).await
        }
    }

    /// The function's settings for this service.
    pub fn settings(&self) -> Vec<(&'static str, String)> {
        let mut settings = vec![
            ("API_KEY_PROVIDER", "http".to_owned()),
            ("HTTP_BASE_URL", self.service.base_url()),
            (
                "HTTP_ISSUE",
                "POST /accounts/{{secret.account}}/keys".into(),
            ),
            ("HTTP_ISSUE_BODY", r#"{"tag": "{{tag}}"}"#.into()),
            ("HTTP_LIST", "GET /accounts/{{secret.account}}/keys".into()),
            ("HTTP_VERIFY", "GET /whoami".into()),
            // The account the paths name is the one the key belongs to.
            ("HTTP_VERIFY_BINDS", "/account=account".into()),
            (
                "HTTP_REVOKE",
                "DELETE /accounts/{{secret.account}}/keys/{{key_id}}".into(),
            ),
        ];
        if self.self_rotation {
            settings.push(("HTTP_AUTH", "self".into()));
        } else {
            settings.push(("HTTP_ADMIN_SECRET_ARN", self.admin_secret.clone()));
        }
        for (name, value) in &self.extra_settings {
            settings.retain(|(n, _)| n != name);
            settings.push((name, value.clone()));
        }
        settings
    }

    /// The provider these settings describe.
    pub fn http_rotator(&self) -> ApiKeyRotator {
        let settings = self.settings();
        rotator_from_lookup(|name| {
            settings
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.clone())
        })
        .expect("valid settings")
    }

    /// Stores the admin's secret in `store`, unless it is there.
    pub async fn ensure_admin_secret(&self, store: &dyn SecretAdmin) {
        if self.self_rotation || store.describe(&self.admin_secret).await.is_ok() {
            return;
        }
        let mut admin = SecretJson::from_map(Default::default());
        admin.set_secret(
            "api_key",
            &SecretString::new(self.service.admin_token.clone()),
        );
        store
            .create_secret(
                &self.admin_secret,
                SecretPayload::String(admin.to_secret_string()),
            )
            .await
            .expect("store the admin's secret");
    }

    /// A new account with an operator's first key, as its secret.
    pub fn fresh_account(&self) -> SecretJson {
        let account = unique_name("acct");
        let key = self.service.issue_directly(&account);
        let mut secret = SecretJson::from_map(Default::default());
        secret.set("engine", "http");
        secret.set("account", account.as_str());
        secret.set("key_id", key.id.as_str());
        secret.set_secret("api_key", &SecretString::new(key.key));
        secret
    }
}

#[async_trait]
impl RotatorHarness for HttpHarness {
    type Rotator = ApiKeyRotator;

    fn rotator(&self) -> ApiKeyRotator {
        self.http_rotator()
    }

    async fn fresh_secret(&self, store: &dyn SecretAdmin) -> SecretJson {
        self.ensure_admin_secret(store).await;
        self.fresh_account()
    }

    async fn can_log_in(&self, secret: &SecretJson) -> bool {
        secret
            .required_secret("api_key")
            .is_ok_and(|key| self.service.accepts(key.expose()))
    }

    fn malformed_secrets(&self, valid: &SecretJson) -> Vec<(String, SecretPayload)> {
        let mut without_id = valid.as_map().clone();
        without_id.remove("key_id");
        let mut other_engine = valid.clone();
        other_engine.set("engine", "generated");
        vec![
            (
                "no key_id".into(),
                SecretPayload::String(SecretJson::from_map(without_id).to_secret_string()),
            ),
            (
                "engine of another provider".into(),
                SecretPayload::String(other_engine.to_secret_string()),
            ),
        ]
    }

    /// The provider makes a key live when it issues it.
    fn pending_works_before_set_secret(&self) -> bool {
        true
    }

    /// The provider's keys have its shape (`sk_live_` and hex here), not
    /// the nominal format the rotator declares to keep the password
    /// settings away.
    fn values_have_the_declared_format(&self) -> bool {
        false
    }

    fn other_secret_values(&self) -> Vec<SecretString> {
        vec![SecretString::new(self.service.admin_token.clone())]
    }
}

impl FunctionHarness for HttpHarness {
    fn binary(&self) -> &'static str {
        "api-key-rotator"
    }

    fn function_env(&self) -> Vec<(&'static str, String)> {
        self.settings()
    }

    /// The provider's address is the function's setting, never the
    /// secret's.
    fn pointed_at(&self, _: &SecretJson, _: u16) -> Option<SecretJson> {
        None
    }

    fn invalid_secrets(&self, valid: &SecretJson) -> Vec<NamedCase<SecretPayload>> {
        RotatorHarness::malformed_secrets(self, valid)
            .into_iter()
            .map(|(what, payload)| {
                let names = if what == "no key_id" {
                    "key_id"
                } else {
                    "engine"
                };
                (what, payload, names.to_owned())
            })
            .collect()
    }

    fn invalid_settings(&self) -> Vec<NamedCase<Vec<(&'static str, &'static str)>>> {
        [
            (
                "a base URL in the clear",
                ("HTTP_BASE_URL", "http://keys.example.com"),
                "HTTP_BASE_URL",
            ),
            (
                "a template naming nothing",
                ("HTTP_ISSUE", "POST /keys/{{owner}}"),
                "HTTP_ISSUE",
            ),
            (
                "a key in a URL",
                ("HTTP_VERIFY", "GET /check/{{secret.api_key}}"),
                "HTTP_VERIFY",
            ),
            (
                "a body that is not JSON",
                ("HTTP_ISSUE_BODY", "{tag"),
                "HTTP_ISSUE_BODY",
            ),
            (
                "a revoke without the key",
                ("HTTP_REVOKE", "DELETE /keys"),
                "HTTP_REVOKE",
            ),
            ("an unknown auth", ("HTTP_AUTH", "oauth"), "HTTP_AUTH"),
            ("an admin without a list", ("HTTP_LIST", ""), "HTTP_LIST"),
            (
                "an admin path field left unbound",
                ("HTTP_VERIFY_BINDS", ""),
                "HTTP_VERIFY_BINDS",
            ),
        ]
        .into_iter()
        .map(|(what, setting, names)| (what.to_owned(), vec![setting], names.to_owned()))
        .collect()
    }
}
