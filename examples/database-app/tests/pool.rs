//! A deadpool pool over `secret-cache` through a single-user rotation, on
//! a real PostgreSQL: its new connections keep logging in when the
//! password changes under them, where a pool built from a fixed
//! configuration fails every new one.

use std::sync::Arc;

use postgres_rotator_testing::{PostgresRotatorHarness, PostgresServer};
use rotation_core::event::Step;
use rotation_core::store::InMemorySecretStore;
use rotation_core::testkit::{Rotations, RotatorHarness, SecretAdmin};
use secret_cache::pool::deadpool::managed::Object;
use secret_cache::pool::{PostgresManager, PostgresPool};
use secret_cache::postgres::PostgresLogin;
use secret_cache::{CacheConfig, SecretCache};
use tokio_postgres::NoTls;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "services tier: cargo test --tests -- --include-ignored (CONTRIBUTING.md)"]
async fn a_pool_opens_new_connections_through_a_single_user_rotation() {
    let server = PostgresServer::start();
    let harness = PostgresRotatorHarness::single_user(&server).await;
    let store = Arc::new(InMemorySecretStore::new());
    let admin: Arc<dyn SecretAdmin> = store.clone();
    let rotations = Rotations::new(admin, harness.rotator());
    let secret = harness.new_user(rotations.store(), "pooled").await;
    let arn = rotations.create("pooled", &secret).await;
    let cache = SecretCache::new(Arc::clone(&store), CacheConfig::default()).unwrap();
    let fixed = PostgresLogin::from_secret(&cache.get(&arn).await.unwrap())
        .unwrap()
        .config();
    let pool = PostgresPool::builder(PostgresManager::new(cache, arn.clone(), NoTls))
        .max_size(4)
        .build()
        .unwrap();
    let before = pool.get().await.expect("a connection before the rotation");
    before.simple_query("SELECT 1").await.unwrap();

    let token = rotations.start(&arn).await;
    for step in [Step::CreateSecret, Step::SetSecret] {
        rotations.step(&arn, &token, step).await.unwrap();
    }
    // The database has the pending password; AWSCURRENT is the old one.
    assert!(
        fixed.connect(NoTls).await.is_err(),
        "the old password still logs in: this test would prove nothing"
    );
    let during = pool
        .get()
        .await
        .expect("a new connection during the rotation");
    during.simple_query("SELECT 1").await.unwrap();
    before
        .simple_query("SELECT 1")
        .await
        .expect("an open connection outlives the change");

    for step in [Step::TestSecret, Step::FinishSecret] {
        rotations.step(&arn, &token, step).await.unwrap();
    }
    // Out of the pool, so the next are new connections, not recycled ones.
    let _ = (Object::take(before), Object::take(during));
    let after = pool
        .get()
        .await
        .expect("a new connection after the rotation");
    after.simple_query("SELECT 1").await.unwrap();
    assert_eq!(pool.status().size, 1);
}
