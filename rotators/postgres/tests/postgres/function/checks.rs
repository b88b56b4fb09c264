//! The checks every rotator's built function runs
//! (`rotation_tests::function_checks`), for `postgres-rotator` with
//! single-user secrets on a throwaway cluster.

use postgres_rotator_testing::{PostgresRotatorHarness, PostgresServer};

rotation_tests::function_check_tests! { harness =>
    let server = PostgresServer::start();
    let harness = PostgresRotatorHarness::single_user(&server).await;
}
