//! Checks that cross every rotator, as one binary: the deployment files,
//! bad input to the built functions, Lambda deadlines, Secrets Manager
//! faults, endpoint settings, and the AWS-SDK store against moto. Each
//! rotator's own tests live beside it (`rotators/<name>/tests/`).

mod bad_input;
mod deployment;
mod endpoint_env;
mod lambda_deadlines;
mod moto_store;
mod secrets_manager_faults;
