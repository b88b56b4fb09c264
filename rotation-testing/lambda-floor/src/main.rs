//! An empty Lambda function: the same runtime, logging set-up and tokio
//! flavour as the rotators, and a handler that does nothing. Its start-up
//! time and memory are the floor the benchmark compares rotators against.

use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lambda_runtime::tracing::init_default_subscriber();
    lambda_runtime::run(service_fn(|_: LambdaEvent<Value>| async {
        Ok::<Value, Error>(Value::Null)
    }))
    .await
}
