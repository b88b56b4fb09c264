//! `api-key-rotator`'s release bootstrap, run as Lambda runs it, for each
//! provider: moto as Secrets Manager, and as IAM and STS for access keys.

use api_key_rotator::iam::PreviousKey;
use rotation_tests::lambda_e2e;
use rotation_tests::moto::MotoServer;

use crate::generated::{GeneratedHarness, SETTINGS};
use crate::iam_harness::IamHarness;

#[tokio::test]
async fn iam_access_keys_rotate_through_the_runtime_api() {
    let moto = MotoServer::start();
    let harness = IamHarness::new(&moto, PreviousKey::KeptUntilNextRotation);
    let env = [
        ("API_KEY_PROVIDER", "iam-access-key".to_owned()),
        ("IAM_USERS", harness.users.join(",")),
        ("IAM_PROPAGATION_SECONDS", "2".to_owned()),
        ("AWS_ENDPOINT_URL_IAM", moto.endpoint()),
        ("AWS_ENDPOINT_URL_STS", moto.endpoint()),
    ];
    let report = lambda_e2e::run("api-key-rotator", &harness, &moto, &env).await;
    println!("api-key-rotator (IAM): {report:#?}");
    assert_eq!(report.rotations, 3);
    assert_eq!(report.errors.len(), 3);
}

#[tokio::test]
async fn generated_keys_rotate_through_the_runtime_api() {
    let moto = MotoServer::start();
    let env: Vec<(&str, String)> = SETTINGS.iter().map(|(k, v)| (*k, v.to_string())).collect();
    let report = lambda_e2e::run("api-key-rotator", &GeneratedHarness, &moto, &env).await;
    println!("api-key-rotator (generated): {report:#?}");
    assert_eq!(report.rotations, 3);
    assert_eq!(report.errors.len(), 3);
}
