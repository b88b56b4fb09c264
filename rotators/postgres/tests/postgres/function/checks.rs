//! The checks every rotator's built function runs
//! (`rotation_testing::function_checks`), for `postgres-rotator` with
//! single-user secrets on the test binary's shared cluster.

use postgres_rotator_testing::{PostgresRotatorHarness, PostgresServer};

rotation_testing::function_check_tests! { harness =>
    let server = PostgresServer::shared();
    let harness = PostgresRotatorHarness::single_user(server).await;
}
