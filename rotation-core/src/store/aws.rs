//! A [`SecretStore`] over `aws-sdk-secretsmanager`.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_secretsmanager::config::retry::RetryConfig;
use aws_sdk_secretsmanager::config::timeout::TimeoutConfig;
use aws_sdk_secretsmanager::config::ConfigBag;
use aws_sdk_secretsmanager::config::{HttpClient, Region, SharedAsyncSleep, SharedHttpClient};
use aws_sdk_secretsmanager::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_secretsmanager::Client;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::connector_metadata::ConnectorMetadata;
use aws_smithy_runtime_api::client::http::{HttpConnectorSettings, SharedHttpConnector};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;

use super::{MoveStage, PutValue, SecretDescription, SecretStore, SecretVersion, VersionSelector};
use crate::error::{error_chain, ServiceFailure, StoreError};
use crate::secret::{SecretBytes, SecretPayload, SecretString};

/// The environment variable AWS's rotation templates read for the endpoint.
pub const SECRETS_MANAGER_ENDPOINT: &str = "SECRETS_MANAGER_ENDPOINT";

/// Secrets Manager through the AWS SDK.
#[derive(Debug, Clone)]
pub struct AwsSecretStore {
    client: Client,
}

impl AwsSecretStore {
    /// A store configured from the environment: the SDK's credential and
    /// region chain, and its endpoint settings (`AWS_ENDPOINT_URL`,
    /// `AWS_ENDPOINT_URL_SECRETS_MANAGER`). `SECRETS_MANAGER_ENDPOINT`, which
    /// AWS's templates use, wins over both when set, because it is set for
    /// this function alone.
    pub async fn from_env() -> Self {
        let mut loader = sdk_config_loader();
        if let Some(endpoint) = std::env::var(SECRETS_MANAGER_ENDPOINT)
            .ok()
            .filter(|e| !e.trim().is_empty())
        {
            loader = loader.endpoint_url(endpoint);
        }
        Self::from_client(Client::new(&loader.load().await))
    }

    /// A store over an already configured client.
    pub fn from_client(client: Client) -> Self {
        Self { client }
    }

    /// The SDK client, for operations outside the rotation protocol.
    pub fn client(&self) -> &Client {
        &self.client
    }
}

/// The SDK configuration every AWS client of a rotation shares: the
/// environment's credentials and region, an HTTPS client that trusts the
/// roots AWS's endpoints chain to, and the timeouts and retries below.
pub fn sdk_config_loader() -> aws_config::ConfigLoader {
    let loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(aws_endpoint_client());
    // Lambda puts the function role's credentials in the environment, the
    // first place the default chain looks. The chain would also build its
    // other providers at start-up, an STS client among them, for nothing;
    // elsewhere (a laptop, a container) the whole chain applies.
    let loader = if std::env::var_os("AWS_ACCESS_KEY_ID").is_some()
        && std::env::var_os("AWS_SECRET_ACCESS_KEY").is_some()
    {
        loader.credentials_provider(
            aws_config::environment::EnvironmentVariableCredentialsProvider::new(),
        )
    } else {
        loader
    };
    // The default region chain is the environment, then a profile, then
    // IMDS, whose client it builds up front; Lambda sets AWS_REGION.
    let loader = match std::env::var("AWS_REGION") {
        Ok(region) if !region.is_empty() => loader.region(Region::new(region)),
        _ => loader,
    };
    loader
        // A rotation step has a Lambda deadline; a hung connection must
        // fail fast enough for the SDK to retry within it.
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(3))
                .operation_attempt_timeout(Duration::from_secs(10))
                .build(),
        )
        .retry_config(retry_config())
}

/// The certificate authorities AWS's service endpoints chain to (Amazon
/// Trust Services' four roots and the Starfield root that cross-signs
/// them), compiled in: `scripts/refresh-aws-roots.sh` writes the file.
const AWS_ENDPOINT_ROOTS: &str = include_str!("../../certs/aws-endpoint-roots.pem");

/// The SDK's own HTTPS client (rustls with aws-lc, the proxy settings from
/// the environment), trusting only [`AWS_ENDPOINT_ROOTS`]. The SDK's
/// default trusts the system store, which it reads and parses, every
/// file, when the first client is built: four fifths of a function's
/// start-up, for roots no AWS endpoint uses.
fn aws_endpoint_client() -> SharedHttpClient {
    let client =
        aws_smithy_http_client::Builder::new().build_with_connector_fn(|settings, components| {
            aws_endpoint_connector(settings.cloned(), components.and_then(|c| c.sleep_impl()))
        });
    SharedHttpClient::new(WithoutStartupCheck(client))
}

/// A connector of [`aws_endpoint_client`]'s kind: rustls with aws-lc,
/// [`AWS_ENDPOINT_ROOTS`] only (parsed once per process), the proxy
/// settings of the environment. Also for the clients that send their
/// requests themselves (`aws_query`).
pub(crate) fn aws_endpoint_connector(
    settings: Option<HttpConnectorSettings>,
    sleep: Option<SharedAsyncSleep>,
) -> aws_smithy_http_client::Connector {
    use aws_smithy_http_client::tls::rustls_provider::CryptoMode;
    use aws_smithy_http_client::tls::{Provider, TlsContext, TrustStore};
    use aws_smithy_http_client::{proxy::ProxyConfig, ConnectorBuilder};
    static CONTEXT: std::sync::LazyLock<TlsContext> = std::sync::LazyLock::new(|| {
        TlsContext::builder()
            .with_trust_store(TrustStore::empty().with_pem_certificate(AWS_ENDPOINT_ROOTS))
            .build()
            .expect("the compiled-in roots form a TLS context")
    });
    let mut connector = ConnectorBuilder::default()
        .tls_provider(Provider::Rustls(CryptoMode::AwsLc))
        .tls_context(CONTEXT.clone());
    connector.set_connector_settings(settings);
    connector.set_sleep_impl(sleep);
    connector.set_proxy_config(Some(ProxyConfig::from_env()));
    connector.build()
}

/// The SDK's HTTPS client without the check it runs when each SDK client
/// is built: the check makes a connector (parsing the roots into a TLS
/// configuration) and throws it away, so that a broken system store fails
/// at construction; the first request then makes its own. Our roots are
/// compiled in and checked by a unit test, so the check only did the first
/// request's work twice, once at start-up.
#[derive(Debug)]
struct WithoutStartupCheck(SharedHttpClient);

impl HttpClient for WithoutStartupCheck {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        self.0.http_connector(settings, components)
    }

    fn validate_final_config(
        &self,
        components: &RuntimeComponents,
        cfg: &ConfigBag,
    ) -> Result<(), BoxError> {
        self.0.validate_final_config(components, cfg)
    }

    fn connector_metadata(&self) -> Option<ConnectorMetadata> {
        self.0.connector_metadata()
    }
}

/// Retries, chosen rather than inherited: the SDK's standard mode (it
/// retries throttling, 5xx answers, timeouts and dropped connections, with
/// jittered exponential backoff and a client-wide retry quota), 3 attempts
/// per call, backoff from 100 ms capped at 1 s. A step makes 2 to 4 calls
/// and must finish within the Lambda deadline; two quick retries absorb a
/// throttled or failed call, and anything longer is better left to Secrets
/// Manager, which retries the whole rotation.
fn retry_config() -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(3)
        .with_initial_backoff(Duration::from_millis(100))
        .with_max_backoff(Duration::from_secs(1))
}

/// Maps an SDK error to the store's error kinds by the service's error
/// code, so the mapping holds for every operation alike, including those
/// outside [`SecretStore`] that tools call on [`AwsSecretStore::client`].
/// The SDK error itself is not kept (see [`StoreError::Service`]).
pub fn map_error<E, R>(
    operation: &'static str,
    secret_id: &str,
    version_id: Option<&str>,
    error: SdkError<E, R>,
) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    let code = error.code().unwrap_or_default();
    match code {
        "ResourceNotFoundException" => StoreError::SecretNotFound {
            operation,
            secret_id: secret_id.to_owned(),
        },
        "ResourceExistsException" => StoreError::VersionExists {
            operation,
            secret_id: secret_id.to_owned(),
            version_id: version_id.unwrap_or_default().to_owned(),
        },
        "InvalidRequestException" | "InvalidParameterException" => StoreError::Refused {
            operation,
            message: format!("{code}: {}", error.message().unwrap_or("no message")),
            secret_id: secret_id.to_owned(),
        },
        _ => {
            let transient = match &error {
                SdkError::TimeoutError(_)
                | SdkError::DispatchFailure(_)
                | SdkError::ResponseError(_) => true,
                SdkError::ServiceError(_) => TRANSIENT_CODES.contains(&code),
                _ => false,
            };
            service_error(operation, secret_id, transient, code, &error)
        }
    }
}

/// Error codes after which asking again later may succeed: throttling and
/// the service's own failures. Everything else the service answers
/// (`AccessDeniedException`, `DecryptionFailure`, `ExpiredTokenException`,
/// `UnrecognizedClientException`...) stays refused until someone acts.
const TRANSIENT_CODES: [&str; 7] = [
    "ThrottlingException",
    "Throttling",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "InternalServiceError",
    "InternalFailure",
    "ServiceUnavailable",
];

/// A `StoreError::Service` holding only the error's message chain. The SDK
/// error itself must not be kept: its `Debug` prints the raw HTTP response,
/// whose body holds the secret value when a `GetSecretValue` answer fails
/// to parse (and `DisplayErrorContext` appends that `Debug`).
pub(crate) fn service_error(
    operation: &'static str,
    secret_id: &str,
    transient: bool,
    code: &str,
    error: &(dyn std::error::Error + 'static),
) -> StoreError {
    StoreError::Service {
        operation,
        secret_id: secret_id.to_owned(),
        transient,
        source: Box::new(ServiceFailure {
            code: (!code.is_empty()).then(|| code.to_owned()),
            detail: error_chain(error),
        }),
    }
}

#[async_trait]
impl SecretStore for AwsSecretStore {
    async fn describe(&self, secret_id: &str) -> Result<SecretDescription, StoreError> {
        let out = self
            .client
            .describe_secret()
            .secret_id(secret_id)
            .send()
            .await
            .map_err(|e| map_error("DescribeSecret", secret_id, None, e))?;
        Ok(SecretDescription {
            arn: out.arn().unwrap_or(secret_id).to_owned(),
            rotation_enabled: out.rotation_enabled().unwrap_or(false),
            versions: out
                .version_ids_to_stages()
                .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_default(),
            tags: out
                .tags()
                .iter()
                .filter_map(|tag| Some((tag.key()?.to_owned(), tag.value()?.to_owned())))
                .collect(),
        })
    }

    async fn get_value(
        &self,
        secret_id: &str,
        version: VersionSelector<'_>,
    ) -> Result<Option<SecretVersion>, StoreError> {
        let (id, stage) = match version {
            VersionSelector::Id(id) => (Some(id), None),
            VersionSelector::Stage(stage) => (None, Some(stage)),
            VersionSelector::IdAndStage(id, stage) => (Some(id), Some(stage)),
        };
        let result = self
            .client
            .get_secret_value()
            .secret_id(secret_id)
            .set_version_id(id.map(str::to_owned))
            .set_version_stage(stage.map(str::to_owned))
            .send()
            .await;
        let out = match result {
            Ok(out) => out,
            // The service answers ResourceNotFound both for a missing version
            // and for RotateSecret's value-less placeholder.
            Err(e) if e.code() == Some("ResourceNotFoundException") => return Ok(None),
            Err(e) => return Err(map_error("GetSecretValue", secret_id, id, e)),
        };
        let payload = match (out.secret_string(), out.secret_binary()) {
            (Some(s), _) => SecretPayload::String(SecretString::new(s)),
            (None, Some(b)) => SecretPayload::Binary(SecretBytes::new(b.as_ref())),
            (None, None) => return Ok(None),
        };
        Ok(Some(SecretVersion {
            arn: out.arn().unwrap_or_default().to_owned(),
            name: out.name().unwrap_or_default().to_owned(),
            created: out
                .created_date()
                .and_then(|date| std::time::SystemTime::try_from(*date).ok()),
            version_id: out.version_id().unwrap_or_default().to_owned(),
            stages: out.version_stages().to_vec(),
            payload,
        }))
    }

    async fn put_value(&self, secret_id: &str, put: PutValue<'_>) -> Result<(), StoreError> {
        let PutValue {
            version_id,
            value,
            stages,
            rotation_token,
        } = put;
        self.client
            .put_secret_value()
            .secret_id(secret_id)
            .client_request_token(version_id)
            .secret_string(value.expose())
            .set_version_stages(Some(stages.iter().map(|s| (*s).to_owned()).collect()))
            .set_rotation_token(rotation_token.map(str::to_owned))
            .send()
            .await
            .map_err(|e| map_error("PutSecretValue", secret_id, Some(version_id), e))?;
        Ok(())
    }

    async fn move_stage(&self, secret_id: &str, change: MoveStage<'_>) -> Result<(), StoreError> {
        let MoveStage {
            stage,
            to_version,
            from_version,
        } = change;
        self.client
            .update_secret_version_stage()
            .secret_id(secret_id)
            .version_stage(stage)
            .move_to_version_id(to_version)
            .set_remove_from_version_id(from_version.map(str::to_owned))
            .send()
            .await
            .map_err(|e| map_error("UpdateSecretVersionStage", secret_id, Some(to_version), e))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_secretsmanager::error::ErrorMetadata;
    use aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueError;

    use super::*;

    #[test]
    fn the_compiled_in_roots_are_the_ones_aws_endpoints_use() {
        use rustls_pki_types::pem::PemObject;
        use rustls_pki_types::CertificateDer;

        let certificates = CertificateDer::pem_slice_iter(AWS_ENDPOINT_ROOTS.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .expect("the roots file is PEM");
        let mut store = rustls::RootCertStore::empty();
        let (added, unusable) = store.add_parsable_certificates(certificates);
        assert_eq!((added, unusable), (5, 0), "each is a usable trust anchor");
        let subjects: Vec<&[u8]> = store.roots.iter().map(|a| a.subject.as_ref()).collect();
        for name in [
            "Amazon Root CA 1",
            "Amazon Root CA 2",
            "Amazon Root CA 3",
            "Amazon Root CA 4",
            "Starfield Services Root Certificate Authority - G2",
        ] {
            assert!(
                subjects
                    .iter()
                    .any(|s| s.windows(name.len()).any(|w| w == name.as_bytes())),
                "{name} is missing"
            );
        }
    }

    #[tokio::test]
    async fn a_client_builds_with_the_compiled_in_roots() {
        let config = sdk_config_loader()
            .region(aws_config::Region::new("us-east-1"))
            .load()
            .await;
        // Building the client builds its TLS connector from the roots.
        let _ = Client::new(&config);
    }

    /// A raw response whose body holds a secret, as a `GetSecretValue`
    /// answer does.
    #[derive(Debug)]
    #[allow(dead_code)] // read only through Debug, which is the point
    struct RawResponse {
        body: &'static str,
    }

    #[test]
    fn a_store_error_keeps_no_raw_response() {
        let error: SdkError<GetSecretValueError, RawResponse> = SdkError::response_error(
            "failed to parse the response",
            RawResponse {
                body: r#"{"SecretString":"hunter2-raw-body-secret"}"#,
            },
        );
        assert!(
            format!("{error:?}").contains("hunter2"),
            "the SDK error does hold it"
        );
        let mapped = map_error("GetSecretValue", "arn:secret", None, error);
        assert!(matches!(mapped, StoreError::Service { .. }));
        let shown = format!("{mapped:?} {mapped} {}", error_chain(&mapped));
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("failed to parse the response"), "{shown}");

        let service: SdkError<GetSecretValueError, RawResponse> = SdkError::service_error(
            GetSecretValueError::generic(
                ErrorMetadata::builder()
                    .code("ResourceExistsException")
                    .message("exists")
                    .build(),
            ),
            RawResponse { body: "hunter2" },
        );
        assert!(matches!(
            map_error("PutSecretValue", "arn:secret", Some("v1"), service),
            StoreError::VersionExists { .. }
        ));
    }

    /// Throttling, the service's failures, timeouts and lost connections
    /// may pass; a refused permission, a KMS key or expired credentials do
    /// not, and a cache must not ride them out.
    #[test]
    fn only_failures_that_may_pass_are_transient() {
        let answered = |code: &str| -> SdkError<GetSecretValueError, RawResponse> {
            SdkError::service_error(
                GetSecretValueError::generic(ErrorMetadata::builder().code(code).build()),
                RawResponse { body: "" },
            )
        };
        let transient =
            |error| map_error("GetSecretValue", "arn:secret", None, error).is_transient();
        for code in [
            "ThrottlingException",
            "InternalServiceError",
            "ServiceUnavailable",
        ] {
            assert!(transient(answered(code)), "{code}");
        }
        for code in [
            "AccessDeniedException",
            "DecryptionFailure",
            "KMSAccessDeniedException",
            "ExpiredTokenException",
            "UnrecognizedClientException",
        ] {
            assert!(!transient(answered(code)), "{code}");
        }
        assert!(transient(SdkError::timeout_error("no answer")));
        assert!(!transient(SdkError::construction_failure("bad input")));
    }

    /// The secrets agent answers its clients with the service's own code.
    #[test]
    fn a_service_failure_keeps_the_code_the_service_answered() {
        let answered: SdkError<GetSecretValueError, RawResponse> = SdkError::service_error(
            GetSecretValueError::generic(
                ErrorMetadata::builder()
                    .code("AccessDeniedException")
                    .build(),
            ),
            RawResponse { body: "" },
        );
        let mapped = map_error("GetSecretValue", "arn:secret", None, answered);
        assert_eq!(mapped.service_code(), Some("AccessDeniedException"));
        let unanswered = SdkError::<GetSecretValueError, RawResponse>::timeout_error("no answer");
        let mapped = map_error("GetSecretValue", "arn:secret", None, unanswered);
        assert_eq!(mapped.service_code(), None);
    }
}
