//! The checks every rotator's built function runs
//! (`rotation_tests::function_checks`), for `postgres-rotator` with
//! single-user secrets on a throwaway cluster.

use postgres_rotator_testing::PostgresRotatorHarness;
use postgres_rotator_testing::PostgresServer;
use rotation_tests::function_checks as checks;

#[tokio::test]
async fn malformed_events_are_refused_naming_the_field() {
    let server = PostgresServer::start();
    let harness = PostgresRotatorHarness::single_user(&server).await;
    checks::malformed_events_are_refused_naming_the_field(&harness).await;
}

#[tokio::test]
async fn malformed_secrets_are_refused_naming_the_field() {
    let server = PostgresServer::start();
    let harness = PostgresRotatorHarness::single_user(&server).await;
    checks::malformed_secrets_are_refused_naming_the_field(&harness).await;
}

#[tokio::test]
async fn bad_settings_stop_the_function_naming_the_variable() {
    let server = PostgresServer::start();
    let harness = PostgresRotatorHarness::single_user(&server).await;
    checks::bad_settings_stop_the_function_naming_the_variable(&harness).await;
}

#[tokio::test]
async fn a_silent_database_fails_the_step_before_the_deadline() {
    let server = PostgresServer::start();
    let harness = PostgresRotatorHarness::single_user(&server).await;
    checks::a_silent_backend_fails_the_step_before_the_deadline(&harness).await;
}

#[tokio::test]
async fn a_slow_secrets_manager_fails_the_step_before_the_deadline() {
    let server = PostgresServer::start();
    let harness = PostgresRotatorHarness::single_user(&server).await;
    checks::a_slow_secrets_manager_fails_the_step_before_the_deadline(&harness).await;
}

#[tokio::test]
async fn one_secrets_manager_failure_per_call_is_absorbed_by_retries() {
    let server = PostgresServer::start();
    let harness = PostgresRotatorHarness::single_user(&server).await;
    checks::one_failure_per_call_is_absorbed_by_retries(&harness).await;
}

#[tokio::test]
async fn a_secrets_manager_call_that_keeps_failing_fails_the_step_and_a_rerun_completes() {
    let server = PostgresServer::start();
    let harness = PostgresRotatorHarness::single_user(&server).await;
    checks::a_call_that_keeps_failing_fails_the_step_cleanly_and_a_rerun_completes(&harness).await;
}

#[tokio::test]
async fn the_configuration_test_runs_test_secret_alone() {
    let server = PostgresServer::start();
    let harness = PostgresRotatorHarness::single_user(&server).await;
    checks::the_configuration_test_runs_test_secret_alone(&harness).await;
}
