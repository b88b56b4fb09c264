//! The API key rotator's tests, as one binary: IAM access keys against
//! moto's IAM and STS, keys over HTTP from a key service on a free port,
//! generated keys, and the Lambda binary run
//! through a Lambda Runtime API, with moto as Secrets Manager.

mod function;
mod generated;
mod http;
mod iam;
