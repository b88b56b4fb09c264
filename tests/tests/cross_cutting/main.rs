//! Checks that concern every rotator at once, as one binary: the
//! deployment files, endpoint settings, and the AWS-SDK store against
//! moto. The checks each rotator's built function runs (bad input,
//! deadlines, Secrets Manager faults) are `rotation_tests::function_checks`,
//! called from each rotator's own tests (`rotators/<name>/tests/`).

mod deployment;
mod endpoint_env;
mod moto_store;
