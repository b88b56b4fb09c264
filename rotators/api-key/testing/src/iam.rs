//! The conformance kit's view of IAM: fresh users with one access key each,
//! in moto's IAM, and whether a key authenticates as its user.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use api_key_rotator::iam::{
    IamAccessKeys, IamApi, PreviousKey, KEY_ID_FIELD, SECRET_FIELD, USER_FIELD,
};
use api_key_rotator::ApiKeyRotator;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use rotation_core::secret::SecretPayload;
use rotation_core::testkit::{conformance::RotatorHarness, unique_name, SecretAdmin};
use rotation_core::{async_trait, SecretJson};
use rotation_testing::function_checks::{FunctionHarness, NamedCase};
use rotation_testing::moto::MotoServer;

/// Users the rotator may change: its allow-list is configuration, fixed
/// before any secret exists.
const USERS: usize = 200;

/// IAM users in moto, each with a key, for a rotator allowed to rotate
/// them.
pub struct IamHarness {
    /// moto's endpoint, serving IAM and STS.
    pub endpoint: String,
    /// The SDK configuration for moto.
    pub config: SdkConfig,
    /// IAM at moto, to make users and keys and to look at them.
    pub iam: IamApi,
    /// The users the rotator may rotate (`IAM_USERS`).
    pub users: Vec<String>,
    next_user: AtomicUsize,
    previous: PreviousKey,
}

/// An SDK configuration for moto: region us-east-1, moto's own
/// credentials (moto does not check signatures).
pub fn moto_config(endpoint: &str) -> SdkConfig {
    let credentials = aws_sdk_sts::config::Credentials::new("test", "test", None, None, "moto");
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(aws_sdk_sts::config::SharedCredentialsProvider::new(
            credentials,
        ))
        .endpoint_url(endpoint)
        .build()
}

impl IamHarness {
    /// A harness over `moto`'s IAM, for a rotator that retires replaced
    /// keys as `previous` says.
    pub fn new(moto: &MotoServer, previous: PreviousKey) -> Self {
        let config = moto_config(&moto.endpoint());
        Self {
            endpoint: moto.endpoint(),
            iam: IamApi::new(&config).expect("IAM at moto"),
            config,
            users: (0..USERS)
                .map(|i| unique_name(&format!("app{i}-")))
                .collect(),
            next_user: AtomicUsize::new(0),
            previous,
        }
    }

    /// The built function's settings for this harness's users, with IAM
    /// and STS at moto.
    pub fn function_env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("API_KEY_PROVIDER", "iam-access-key".to_owned()),
            ("IAM_USERS", self.users.join(",")),
            ("IAM_PROPAGATION_SECONDS", "2".to_owned()),
            ("AWS_ENDPOINT_URL_IAM", self.endpoint.clone()),
            ("AWS_ENDPOINT_URL_STS", self.endpoint.clone()),
        ]
    }

    /// The provider, configured for this harness's users and moto.
    pub fn iam_rotator(&self) -> IamAccessKeys {
        IamAccessKeys::new(self.users.clone(), self.previous)
            .with_sdk_config(self.config.clone())
            .with_propagation_wait(Duration::from_secs(1))
    }

    /// A new allow-listed IAM user (created in IAM), without keys.
    pub async fn fresh_user(&self) -> String {
        let user = self.users[self.next_user.fetch_add(1, Ordering::Relaxed)].clone();
        self.create_user(&user).await;
        user
    }

    /// Creates `user` in IAM (allow-listed or not).
    pub async fn create_user(&self, user: &str) {
        self.iam
            .client()
            .call("CreateUser", &[("UserName", user)])
            .await
            .expect("create the IAM user");
    }

    /// A new access key of `user`, as the secret an operator would store.
    pub async fn new_key(&self, user: &str) -> SecretJson {
        let key = self
            .iam
            .create_access_key(user)
            .await
            .expect("create an access key");
        let mut secret = SecretJson::from_map(Default::default());
        secret.set("engine", "iam-access-key");
        secret.set(USER_FIELD, user);
        secret.set(KEY_ID_FIELD, key.id.as_str());
        secret.set_secret(SECRET_FIELD, &key.secret);
        secret
    }

    /// The user's access key ids, sorted.
    pub async fn key_ids(&self, user: &str) -> Vec<String> {
        let keys = self
            .iam
            .access_keys(user)
            .await
            .expect("list the access keys");
        let mut ids: Vec<String> = keys.into_iter().map(|k| k.id).collect();
        ids.sort();
        ids
    }

    /// Whether the key in `secret` is an active key of its user that STS
    /// accepts as that user.
    pub async fn works(&self, secret: &SecretJson) -> bool {
        let (Ok(user), Ok(id), Ok(key)) = (
            secret.required_str(USER_FIELD),
            secret.required_str(KEY_ID_FIELD),
            secret.required_secret(SECRET_FIELD),
        ) else {
            return false;
        };
        let Ok(listed) = self.iam.access_keys(user).await else {
            return false;
        };
        // moto lets an inactive key through STS; IAM's listing says.
        let active = listed.iter().any(|k| k.id == id && k.active);
        let arn = self.iam.user_arn(user).await.ok().filter(|a| !a.is_empty());
        let credentials = aws_sdk_sts::config::Credentials::new(id, key.expose(), None, None, "t");
        let sts = aws_sdk_sts::Client::from_conf(
            aws_sdk_sts::config::Builder::from(&self.config)
                .credentials_provider(credentials)
                .build(),
        );
        let caller = sts.get_caller_identity().send().await.ok();
        active && arn.is_some() && caller.and_then(|c| c.arn().map(str::to_owned)) == arn
    }
}

/// Writes `value` into a copy of `secret`.
fn with(secret: &SecretJson, field: &str, value: serde_json::Value) -> SecretPayload {
    let mut changed = secret.clone();
    changed.set(field, value);
    SecretPayload::String(changed.to_secret_string())
}

#[async_trait]
impl RotatorHarness for IamHarness {
    type Rotator = ApiKeyRotator;

    fn rotator(&self) -> ApiKeyRotator {
        Box::new(self.iam_rotator())
    }

    async fn fresh_secret(&self, _: &dyn SecretAdmin) -> SecretJson {
        let user = self.fresh_user().await;
        self.new_key(&user).await
    }

    async fn can_log_in(&self, secret: &SecretJson) -> bool {
        self.works(secret).await
    }

    fn malformed_secrets(&self, valid: &SecretJson) -> Vec<(String, SecretPayload)> {
        let without = |field: &str| {
            let mut map = valid.as_map().clone();
            map.remove(field);
            SecretPayload::String(SecretJson::from_map(map).to_secret_string())
        };
        vec![
            ("no UserName".into(), without(USER_FIELD)),
            ("no AccessKeyId".into(), without(KEY_ID_FIELD)),
            (
                "AccessKeyId a number".into(),
                with(valid, KEY_ID_FIELD, 7.into()),
            ),
            (
                "engine postgres".into(),
                with(valid, "engine", "postgres".into()),
            ),
        ]
    }

    /// IAM makes the key live when createSecret creates it.
    fn pending_works_before_set_secret(&self) -> bool {
        true
    }

    /// moto checks no request signature: STS answers a wrong secret key as
    /// it answers the right one. (IAM's own testSecret tests refuse an
    /// inactive or unknown key id.)
    fn backend_checks_the_value(&self) -> bool {
        false
    }
}

impl FunctionHarness for IamHarness {
    fn binary(&self) -> &'static str {
        "api-key-rotator"
    }

    fn function_env(&self) -> Vec<(&'static str, String)> {
        IamHarness::function_env(self)
    }

    /// IAM's address is the function's setting, never the secret's.
    fn pointed_at(&self, _: &SecretJson, _: u16) -> Option<SecretJson> {
        None
    }

    fn invalid_secrets(&self, valid: &SecretJson) -> Vec<NamedCase<SecretPayload>> {
        RotatorHarness::malformed_secrets(self, valid)
            .into_iter()
            .map(|(what, payload)| {
                let names = match what.as_str() {
                    "no UserName" => USER_FIELD,
                    "engine postgres" => "engine",
                    _ => KEY_ID_FIELD,
                };
                (what, payload, names.to_owned())
            })
            .collect()
    }

    fn invalid_settings(&self) -> Vec<NamedCase<Vec<(&'static str, &'static str)>>> {
        [
            ("no provider", ("API_KEY_PROVIDER", ""), "API_KEY_PROVIDER"),
            (
                "an unknown provider",
                ("API_KEY_PROVIDER", "ldap"),
                "API_KEY_PROVIDER",
            ),
            ("no users", ("IAM_USERS", ""), "IAM_USERS"),
            ("a wildcard user", ("IAM_USERS", "*"), "IAM_USERS"),
            (
                "an unknown grace",
                ("IAM_PREVIOUS_KEY", "never"),
                "IAM_PREVIOUS_KEY",
            ),
            (
                "a wait that is no number",
                ("IAM_PROPAGATION_SECONDS", "soon"),
                "IAM_PROPAGATION_SECONDS",
            ),
        ]
        .into_iter()
        .map(|(what, setting, names)| (what.to_owned(), vec![setting], names.to_owned()))
        .collect()
    }
}
