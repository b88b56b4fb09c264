//! `AwsSecretStore::from_env` finds the endpoint the way AWS's templates
//! configure it. One test per file: it sets process environment variables.

use rotation_core::store::{AwsSecretStore, VersionSelector};
use rotation_core::testkit::SecretAdmin;
use rotation_core::{secret::SecretPayload, store::SecretStore, store::AWSCURRENT, SecretString};
use rotation_testing::moto::MotoServer;

#[tokio::test]
#[ignore = "services tier: cargo test --tests -- --include-ignored (CONTRIBUTING.md)"]
async fn secrets_manager_endpoint_wins_over_the_sdk_endpoint_setting() {
    let moto = MotoServer::shared();
    std::env::set_var("AWS_REGION", "us-east-1");
    std::env::set_var("AWS_ACCESS_KEY_ID", "test");
    std::env::set_var("AWS_SECRET_ACCESS_KEY", "test");
    // Nothing listens on port 9 of 127.0.0.1: using it would fail.
    std::env::set_var("AWS_ENDPOINT_URL", "http://127.0.0.1:9");
    std::env::set_var("SECRETS_MANAGER_ENDPOINT", moto.endpoint());
    let store = AwsSecretStore::from_env().await;
    let arn = store
        .create_secret(
            "endpoint-env",
            SecretPayload::String(SecretString::new("endpoint-env-value")),
        )
        .await
        .expect("SECRETS_MANAGER_ENDPOINT reaches moto");
    let read = store
        .get_value(&arn, VersionSelector::Stage(AWSCURRENT))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        read.payload,
        SecretPayload::String(SecretString::new("endpoint-env-value"))
    );

    // Without it, the SDK's own AWS_ENDPOINT_URL applies.
    std::env::remove_var("SECRETS_MANAGER_ENDPOINT");
    std::env::set_var("AWS_ENDPOINT_URL", moto.endpoint());
    let store = AwsSecretStore::from_env().await;
    assert!(store.describe(&arn).await.is_ok());
}
