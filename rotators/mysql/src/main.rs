//! The MySQL and MariaDB rotation Lambda function.

// One vCPU at most for a rotation function's usual memory size: a
// single-threaded runtime starts faster and uses less memory.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), rotation_core::lambda::Error> {
    rotation_core::lambda::run_with(mysql_rotator::rotator_from_env).await
}
