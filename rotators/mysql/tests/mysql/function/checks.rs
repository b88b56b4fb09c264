//! The checks every rotator's built function runs
//! (`rotation_testing::function_checks`), for `mysql-rotator` with
//! single-user secrets on the test binary's shared MariaDB.

use mysql_rotator_testing::{MariaDbServer, MysqlRotatorHarness};

rotation_testing::function_check_tests! { harness =>
    let server = MariaDbServer::shared();
    let harness = MysqlRotatorHarness::single_user(server).await;
}
