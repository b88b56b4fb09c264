//! Alternating users as an attacker who may edit one rotated secret would
//! try them, on MariaDB: each attack must be refused before anything
//! changes, the master must never log in anywhere the rotated secret
//! chose, and no user may gain rights. A second throwaway server plays the
//! server such an editor runs.

use mysql_rotator::sql::account;
use mysql_rotator_testing::harness::APP_SCHEMA;
use mysql_rotator_testing::{MariaDbServer, MysqlRotatorHarness};
use rotation_core::testkit::{unique_name, Rotations, RotatorHarness};
use rotation_database::testkit::attacks::{self, refused};
use rotation_testing::moto::MotoServer;

/// A server whose general log records every connection attempt.
fn logged_server() -> MariaDbServer {
    MariaDbServer::start_with_general_log()
}

// The attacks every engine runs (`rotation_database::testkit::attacks`),
// with a second server as the editor's.
rotation_testing::database_attack_tests!(logged_server(), MysqlRotatorHarness);

/// What `user@'%'` may do, as the alternating strategy would copy it to a
/// clone: its grants (roles included, the password's hash cut off) and
/// its connection limit and default role. A refused rotation must leave
/// an attacker's login exactly as it was.
async fn rights_of(server: &MariaDbServer, user: &str) -> Vec<String> {
    let acct = account(user, "%");
    let mut rights: Vec<String> = server
        .rows(&format!("SHOW GRANTS FOR {acct}"))
        .await
        .into_iter()
        .map(|row| {
            row[0]
                .split(" IDENTIFIED BY")
                .next()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    rights.extend(
        server
            .rows(&format!(
                "SELECT max_user_connections, default_role FROM mysql.user \
                 WHERE User = '{}' AND Host = '%'",
                user.replace('\'', "''")
            ))
            .await
            .into_iter()
            .map(|row| row.join(" ")),
    );
    rights.sort();
    assert!(!rights.is_empty(), "{user} exists");
    rights
}

#[tokio::test]
#[ignore = "services tier: cargo test --tests -- --include-ignored (CONTRIBUTING.md)"]
async fn the_pair_is_proved_not_guessed_from_a_name() {
    let moto = MotoServer::shared();
    let server = MariaDbServer::shared();
    let harness = MysqlRotatorHarness::alternating_users(server).await;
    let rotations = Rotations::new(moto.admin_store(), harness.rotator());
    let master_arn = harness.master_secret(rotations.store()).await;
    let lure = "the attacker's password";

    // A login named <master>_clone takes the master for its pair.
    let named_after_master = format!("{}_clone", harness.master_user());
    harness.create_user(&named_after_master, lure).await;
    let rights_before = rights_of(server, &named_after_master).await;
    let secret = attacks::secret_naming(&harness, &named_after_master, lure, &master_arn);
    let arn = rotations.create("my-master-clone", &secret).await;
    let message = refused(&rotations, &arn).await;
    assert!(
        message.contains(harness.master_user()) && message.contains("master secret's user"),
        "{message}"
    );
    attacks::master_still_logs_in(&harness).await;
    assert_eq!(
        rights_of(server, &named_after_master).await,
        rights_before,
        "the login named after the master gained none of the master's rights"
    );

    // Any user x for which the attacker holds a login x_clone that is not
    // x's clone: x's password is not reset.
    let victim = unique_name("victim");
    harness
        .create_user(&victim, "the victim's own password")
        .await;
    // Rights the victim has and a synced clone would get.
    let privileged = unique_name("privileged").replace('-', "_");
    server
        .execute(&format!(
            "CREATE ROLE `{privileged}`; GRANT `{privileged}` TO {v}; \
             GRANT INSERT ON `{APP_SCHEMA}`.* TO {v}; ALTER USER {v} WITH MAX_USER_CONNECTIONS 7",
            v = account(&victim, "%")
        ))
        .await;
    harness.create_user(&format!("{victim}_clone"), lure).await;
    let rights_before = rights_of(server, &format!("{victim}_clone")).await;
    let secret = attacks::secret_naming(&harness, &format!("{victim}_clone"), lure, &master_arn);
    let arn = rotations.create("my-victim-clone", &secret).await;
    let message = refused(&rotations, &arn).await;
    assert!(message.contains("is not the clone of"), "{message}");
    assert!(
        server
            .can_log_in(&victim, "the victim's own password")
            .await
    );
    assert_eq!(
        rights_of(server, &format!("{victim}_clone")).await,
        rights_before,
        "the attacker's x_clone gained none of x's rights"
    );

    // Going from x to x_clone, an x_clone that is someone else's is not
    // taken over.
    let app = unique_name("app");
    harness.create_user(&app, lure).await;
    server
        .execute(&format!(
            "GRANT `{privileged}` TO {a}; GRANT INSERT ON `{APP_SCHEMA}`.* TO {a}",
            a = account(&app, "%")
        ))
        .await;
    let squatter = format!("{app}_clone");
    harness
        .create_user(&squatter, "the squatter's password")
        .await;
    let squatter_rights = rights_of(server, &squatter).await;
    let secret = attacks::secret_naming(&harness, &app, lure, &master_arn);
    let arn = rotations.create("my-squatted", &secret).await;
    let message = refused(&rotations, &arn).await;
    assert!(
        message.contains(&squatter) && message.contains("not taken over"),
        "{message}"
    );
    assert!(
        server
            .can_log_in(&squatter, "the squatter's password")
            .await
    );
    assert_eq!(
        rights_of(server, &squatter).await,
        squatter_rights,
        "the squatter gained none of the app's rights"
    );
    // The comparisons above can fail: each right a sync would copy, given
    // by hand, shows in `rights_of`.
    for (right, grant) in [
        ("a role", format!("GRANT `{privileged}` TO {{u}}")),
        (
            "INSERT",
            format!("GRANT INSERT ON `{APP_SCHEMA}`.* TO {{u}}"),
        ),
        (
            "a connection limit",
            "ALTER USER {u} WITH MAX_USER_CONNECTIONS 7".to_owned(),
        ),
    ] {
        let control = unique_name("control");
        harness.create_user(&control, lure).await;
        let before = rights_of(server, &control).await;
        server
            .execute(&grant.replace("{u}", &account(&control, "%")))
            .await;
        assert_ne!(
            rights_of(server, &control).await,
            before,
            "{right} must show"
        );
    }

    // A user that administers users (directly, or through a role) is
    // never rotated by the master, nor cloned with its rights.
    for (how, grant) in [
        ("CREATE USER on *.*", "GRANT CREATE USER ON *.* TO {u}".to_owned()),
        ("UPDATE on `mysql`.*", "GRANT UPDATE ON `mysql`.* TO {u}".to_owned()),
        ("via a role", "CREATE ROLE IF NOT EXISTS `admins`; GRANT CREATE USER ON *.* TO `admins`; GRANT `admins` TO {u}".to_owned()),
    ] {
        let boss = unique_name("boss");
        harness.create_user(&boss, lure).await;
        server.execute(&grant.replace("{u}", &account(&boss, "%"))).await;
        let secret = attacks::secret_naming(&harness, &boss, lure, &master_arn);
        let arn = rotations.create("my-boss", &secret).await;
        let message = refused(&rotations, &arn).await;
        assert!(message.contains("CREATE USER") || message.contains("UPDATE on `mysql`"), "{how}: {message}");
        assert!(server.hosts_of(&format!("{boss}_clone")).await.is_empty(), "{how}");
    }
    rotations
        .assert_no_leaks(&harness.other_secret_values())
        .await;
}

mod function {
    use super::*;
    use rotation_testing::database_attacks::{refused_by_the_function, shared_cases};

    /// A deployment without `MASTER_SECRET_ARNS` rotates no alternating
    /// users: the allow-list never depends on a setting being present.
    #[tokio::test]
    #[ignore = "function tier: cargo test --tests -- --include-ignored function:: (CONTRIBUTING.md)"]
    async fn the_built_function_without_an_allow_list_uses_no_master() {
        let moto = MotoServer::shared();
        let server = logged_server();
        let harness = MysqlRotatorHarness::alternating_users(&server).await;
        rotation_testing::database_attacks::refused_without_an_allow_list(
            "mysql-rotator",
            moto,
            &harness,
        )
        .await;
    }

    /// The attacks every engine shares, through the built function as
    /// Lambda runs it.
    #[tokio::test]
    #[ignore = "function tier: cargo test --tests -- --include-ignored function:: (CONTRIBUTING.md)"]
    async fn the_built_function_refuses_each_attack() {
        let moto = MotoServer::shared();
        let (server, attackers) = (logged_server(), logged_server());
        let harness = MysqlRotatorHarness::alternating_users(&server).await;
        let attacker = MysqlRotatorHarness::single_user(&attackers).await;
        let store = moto.admin_store();
        let (allowed, cases) = shared_cases(store.as_ref(), &harness, &attacker).await;
        refused_by_the_function("mysql-rotator", moto, &harness, &attacker, &allowed, cases).await;
    }
}
