#[tokio::main]
async fn main() -> Result<(), rotation_core::lambda::Error> {
    rotation_core::lambda::run_with(redis_acl_rotator::RedisAclRotator::from_env).await
}
