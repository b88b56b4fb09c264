//! Checks that concern every rotator at once, as one binary: endpoint
//! settings and the AWS-SDK store against moto (the deployment files are
//! the release tier's, `tests/release`). The checks each rotator's built function runs (bad input,
//! deadlines, Secrets Manager faults) are `rotation_testing::function_checks`,
//! called from each rotator's own tests (`rotators/<name>/tests/`).

mod endpoint_env;
mod invoke_permissions;
mod moto_store;
mod terraform_settings;
