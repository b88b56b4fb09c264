//! Alternating users as an attacker who may edit one rotated secret would
//! try them: each attack must be refused before anything changes, the
//! master must never log in anywhere the rotated secret chose, and no
//! user may gain rights. A second throwaway server plays the server such
//! an editor runs.

use std::sync::Arc;
use std::time::Duration;

use postgres_rotator::sql::{quote_identifier, quote_literal};
use postgres_rotator_testing::PostgresRotatorHarness;
use postgres_rotator_testing::PostgresServer;
use rotation_core::store::VersionSelector;
use rotation_core::store::AWSCURRENT;
use rotation_core::testkit::Rotations;
use rotation_core::testkit::{unique_name, RotatorHarness};
use rotation_database::rds::{RdsApi, RdsDirectory, PRIMARY_CLUSTER_TAG, PRIMARY_INSTANCE_TAG};
use rotation_database::testkit::attacks::{self, refused};
use rotation_database::{ConnectSettings, MasterPolicy};
use rotation_testing::fault_proxy::FaultProxy;
use rotation_testing::moto::MotoServer;

/// Every line of `server`'s log that names the master user: a login
/// attempt as the master shows up as a connection or an authentication
/// failure.
fn master_traces(server: &PostgresServer, master: &str) -> Vec<String> {
    std::fs::read_to_string(server.log_path())
        .expect("read the server log")
        .lines()
        .filter(|l| l.contains(master))
        .map(str::to_owned)
        .collect()
}

const LOGGED: &[&str] = &["log_connections = on"];

/// A login `<master>_clone` with `password`, as an attacker who may create
/// logins would make it.
async fn login_named_after_the_master(
    harness: &PostgresRotatorHarness<'_>,
    server: &PostgresServer,
    password: &str,
) -> String {
    let name = format!("{}_clone", harness.master_user());
    server
        .execute(&format!(
            "DROP ROLE IF EXISTS {0}; CREATE ROLE {0} LOGIN PASSWORD {1}",
            quote_identifier(&name),
            quote_literal(password)
        ))
        .await;
    name
}

/// What `role` may do, as the alternating strategy would copy it to a
/// clone: its attributes, settings and the roles it is a member of. A
/// refused rotation must leave an attacker's login exactly as it was.
async fn rights_of(server: &PostgresServer, role: &str) -> Vec<String> {
    let rows = server
        .superuser()
        .await
        .query(
            "SELECT format('%s %s %s %s %s %s %s', r.rolsuper, r.rolcreaterole, r.rolcreatedb, \
                    r.rolreplication, r.rolbypassrls, r.rolconnlimit, r.rolconfig) \
             FROM pg_roles r WHERE r.rolname = $1 \
             UNION ALL \
             SELECT 'member of ' || g.rolname FROM pg_auth_members m \
             JOIN pg_roles g ON g.oid = m.roleid JOIN pg_roles u ON u.oid = m.member \
             WHERE u.rolname = $1",
            &[&role],
        )
        .await
        .expect("read the role's rights");
    let mut rights: Vec<String> = rows.iter().map(|row| row.get(0)).collect();
    rights.sort();
    assert!(!rights.is_empty(), "{role} exists");
    rights
}

/// A fresh `CREATEROLE` login with `password`.
async fn administrator(
    harness: &PostgresRotatorHarness<'_>,
    server: &PostgresServer,
    password: &str,
) -> String {
    let boss = unique_name("boss");
    harness.create_user(&boss, password).await;
    server
        .execute(&format!(
            "ALTER ROLE {} CREATEROLE",
            quote_identifier(&boss)
        ))
        .await;
    boss
}

// The attacks every engine runs (`rotation_database::testkit::attacks`),
// with a second server as the editor's.
rotation_testing::database_attack_tests!(
    PostgresServer::start_with(LOGGED),
    PostgresRotatorHarness
);

#[tokio::test]
#[ignore = "services tier: cargo test --tests -- --include-ignored (CONTRIBUTING.md)"]
async fn a_copy_of_the_masters_cluster_is_not_taken_for_it() {
    let moto = MotoServer::shared();
    let server = PostgresServer::start_with(LOGGED);
    let harness = PostgresRotatorHarness::alternating_users(&server).await;
    let rotations = Rotations::new(moto.admin_store(), harness.rotator());
    let master_arn = harness.master_secret(rotations.store()).await;
    let victim = unique_name("victim");
    harness
        .create_user(&victim, "the victim's own password")
        .await;

    // Attack 2: the attacker runs a copy of the cluster (same
    // system_identifier, same roles), where they set the victim's password
    // to one they know, and point the rotated secret at it.
    let copy = server.start_copy_of();
    copy.execute(&format!(
        "ALTER ROLE {} PASSWORD {}",
        quote_identifier(&victim),
        quote_literal("the attacker's password")
    ))
    .await;
    let mut secret =
        attacks::secret_naming(&harness, &victim, "the attacker's password", &master_arn);
    secret.set("port", copy.port());
    let arn = rotations.create("pg-copy", &secret).await;
    let message = refused(&rotations, &arn).await;
    assert!(
        message.contains("not shown to be one database"),
        "{message}"
    );
    assert!(!server.role_exists(&format!("{victim}_clone")).await);
    assert!(
        server
            .can_log_in(&victim, "the victim's own password")
            .await
    );
    assert!(master_traces(&copy, harness.master_user()).is_empty());
    attacks::master_still_logs_in(&harness).await;
    // The positive control: a login as the master on the copy does show
    // in its log, so the empty trace above means no attempt.
    let master_password = attacks::AlternatingServer::master_password(&harness);
    assert!(
        copy.can_log_in(harness.master_user(), master_password.expose())
            .await
    );
    assert!(!master_traces(&copy, harness.master_user()).is_empty());
}

#[tokio::test]
#[ignore = "services tier: cargo test --tests -- --include-ignored (CONTRIBUTING.md)"]
async fn the_pair_is_proved_not_guessed_from_a_name() {
    let moto = MotoServer::shared();
    let server = PostgresServer::start_with(LOGGED);
    let harness = PostgresRotatorHarness::alternating_users(&server).await;
    let rotations = Rotations::new(moto.admin_store(), harness.rotator());
    let master_arn = harness.master_secret(rotations.store()).await;
    let lure = "the attacker's password";

    // Attack 3: a login named <master>_clone takes the master for its pair.
    let named_after_master = login_named_after_the_master(&harness, &server, lure).await;
    let rights_before = rights_of(&server, &named_after_master).await;
    let secret = attacks::secret_naming(&harness, &named_after_master, lure, &master_arn);
    let arn = rotations.create("pg-master-clone", &secret).await;
    let message = refused(&rotations, &arn).await;
    assert!(
        message.contains(harness.master_user()) && message.contains("master secret's user"),
        "{message}"
    );
    attacks::master_still_logs_in(&harness).await;
    assert_eq!(
        rights_of(&server, &named_after_master).await,
        rights_before,
        "the login named after the master gained no right (the master may CREATEROLE)"
    );

    // The same with any user x for which the attacker holds a login x_clone
    // that is not x's clone: x's password is not reset.
    let victim = unique_name("victim");
    harness
        .create_user(&victim, "the victim's own password")
        .await;
    // Rights the victim has and a synced clone would get.
    let privileged = unique_name("privileged");
    server
        .execute(&format!(
            "CREATE ROLE {p}; GRANT {p} TO {v}; ALTER ROLE {v} CREATEDB",
            p = quote_identifier(&privileged),
            v = quote_identifier(&victim)
        ))
        .await;
    harness.create_user(&format!("{victim}_clone"), lure).await;
    let rights_before = rights_of(&server, &format!("{victim}_clone")).await;
    let secret = attacks::secret_naming(&harness, &format!("{victim}_clone"), lure, &master_arn);
    let arn = rotations.create("pg-victim-clone", &secret).await;
    let message = refused(&rotations, &arn).await;
    assert!(message.contains("is not the clone of"), "{message}");
    assert!(
        server
            .can_log_in(&victim, "the victim's own password")
            .await
    );
    assert_eq!(
        rights_of(&server, &format!("{victim}_clone")).await,
        rights_before,
        "the attacker's x_clone gained none of x's rights"
    );

    // Going from x to x_clone, an x_clone that is someone else's is not
    // taken over.
    let app = unique_name("app");
    harness.create_user(&app, lure).await;
    server
        .execute(&format!(
            "GRANT {} TO {}",
            quote_identifier(&privileged),
            quote_identifier(&app)
        ))
        .await;
    let squatter = format!("{app}_clone");
    harness
        .create_user(&squatter, "the squatter's password")
        .await;
    let squatter_rights = rights_of(&server, &squatter).await;
    let secret = attacks::secret_naming(&harness, &app, lure, &master_arn);
    let arn = rotations.create("pg-squatted", &secret).await;
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
        rights_of(&server, &squatter).await,
        squatter_rights,
        "the squatter gained none of the app's rights"
    );
    // The comparisons above can fail: each right a sync would copy, given
    // by hand, shows in `rights_of`.
    for (right, grant) in [
        (
            "a membership",
            format!("GRANT {} TO {{u}}", quote_identifier(&privileged)),
        ),
        ("CREATEDB", "ALTER ROLE {u} CREATEDB".to_owned()),
        (
            "a setting",
            "ALTER ROLE {u} SET work_mem = '7MB'".to_owned(),
        ),
    ] {
        let control = unique_name("control");
        harness.create_user(&control, lure).await;
        let before = rights_of(&server, &control).await;
        server
            .execute(&grant.replace("{u}", &quote_identifier(&control)))
            .await;
        assert_ne!(
            rights_of(&server, &control).await,
            before,
            "{right} must show"
        );
    }

    // A user that administers roles is never rotated by the master, nor
    // cloned with its rights.
    let boss = administrator(&harness, &server, lure).await;
    let secret = attacks::secret_naming(&harness, &boss, lure, &master_arn);
    let arn = rotations.create("pg-boss", &secret).await;
    let message = refused(&rotations, &arn).await;
    assert!(message.contains("CREATEROLE"), "{message}");
    assert!(!server.role_exists(&format!("{boss}_clone")).await);
    rotations
        .assert_no_leaks(&harness.other_secret_values())
        .await;
}

/// Powers a user holds through roles are an administrator's too: members
/// (direct or through another role) of a SUPERUSER or CREATEROLE role, of
/// `pg_write_server_files`, `pg_read_server_files` or
/// `pg_execute_server_program` (files and programs as the server's OS
/// user), or of `rds_superuser`. A clone of such a user would hand those
/// powers to whoever reads the rotated secret: each is refused, naming
/// the role, and no clone is made.
#[tokio::test]
#[ignore = "services tier: cargo test --tests -- --include-ignored (CONTRIBUTING.md)"]
async fn members_of_powerful_roles_are_administrators() {
    let moto = MotoServer::shared();
    let server = PostgresServer::shared();
    let harness = PostgresRotatorHarness::alternating_users(server).await;
    let rotations = Rotations::new(moto.admin_store(), harness.rotator());
    let master_arn = harness.master_secret(rotations.store()).await;
    let powerful = unique_name("powerful").replace('-', "_");
    let rds_superuser = unique_name("rds_superuser").replace('-', "_");
    server
        .execute(&format!(
            "CREATE ROLE {powerful} NOLOGIN CREATEROLE; \
             DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'rds_superuser') \
             THEN CREATE ROLE rds_superuser NOLOGIN; END IF; END $$; \
             CREATE ROLE {rds_superuser} NOLOGIN IN ROLE rds_superuser"
        ))
        .await;
    for (via, says) in [
        ("pg_write_server_files", "pg_write_server_files"),
        ("pg_read_server_files", "pg_read_server_files"),
        ("pg_execute_server_program", "pg_execute_server_program"),
        ("rds_superuser", "rds_superuser"),
        (rds_superuser.as_str(), "rds_superuser"),
        (powerful.as_str(), "CREATEROLE"),
    ] {
        let user = unique_name("member").replace('-', "_");
        harness.create_user(&user, "the member's password").await;
        server
            .execute(&format!(
                "GRANT {} TO {}",
                quote_identifier(via),
                quote_identifier(&user)
            ))
            .await;
        let secret = attacks::secret_naming(&harness, &user, "the member's password", &master_arn);
        let arn = rotations.create("pg-member", &secret).await;
        let message = refused(&rotations, &arn).await;
        assert!(
            message.contains(says) && message.contains("administrator"),
            "{via}: {message}"
        );
        assert!(!server.role_exists(&format!("{user}_clone")).await, "{via}");
    }
    rotations
        .assert_no_leaks(&harness.other_secret_values())
        .await;
}

/// moto's RDS gives made-up host names; the proxy in front of it points
/// them at the local server, so the whole rotation runs on an address the
/// rotator learned from the RDS API alone.
#[tokio::test]
#[ignore = "services tier: cargo test --tests -- --include-ignored (CONTRIBUTING.md)"]
async fn rds_managed_master_secrets_rotate_through_the_rds_api() {
    let moto = MotoServer::shared();
    // RDS-managed master secrets have no `ssl`: the master logs in with
    // verified TLS, as it would on RDS.
    let server = PostgresServer::start_with_tls(LOGGED);
    let ca = server.certificates().expect("a TLS server").ca.clone();
    let harness = PostgresRotatorHarness::alternating_users(&server).await;
    let proxy = FaultProxy::start(moto.port()).await;
    let rds = moto.rds_client(&proxy.endpoint());

    // An instance: its endpoint is the master's address.
    let instance = unique_name("db").replace([' ', '_'], "-").to_lowercase();
    let port = server.port().to_string();
    let created = rds
        .call(
            "CreateDBInstance",
            &[
                ("DBInstanceIdentifier", instance.as_str()),
                ("DBInstanceClass", "db.t3.micro"),
                ("Engine", "postgres"),
                ("MasterUsername", harness.master_user()),
                ("MasterUserPassword", "unused-by-moto"),
                ("Port", port.as_str()),
            ],
        )
        .await
        .expect("create the DB instance in moto");
    let created = created
        .at(&["CreateDBInstanceResult", "DBInstance"])
        .expect("the created instance");
    let instance_arn = created.text_at(&["DBInstanceArn"]).unwrap().to_owned();
    let address = created
        .text_at(&["Endpoint", "Address"])
        .unwrap()
        .to_owned();
    proxy.rewrite(address, "127.0.0.1");
    // A cross-region read replica: the instance lists it by its ARN, which
    // only its own region knows. Its address counts among the instance's
    // replicas, and its presence takes nothing from the rotations below
    // (the look-up failed on it, aborting them).
    let replica = rds
        .in_region("us-west-2")
        .unwrap()
        .call(
            "CreateDBInstanceReadReplica",
            &[
                ("DBInstanceIdentifier", format!("{instance}-west").as_str()),
                ("SourceDBInstanceIdentifier", instance_arn.as_str()),
            ],
        )
        .await
        .expect("create the cross-region read replica in moto");
    let replica_address = replica
        .text_at(&[
            "CreateDBInstanceReadReplicaResult",
            "DBInstance",
            "Endpoint",
            "Address",
        ])
        .expect("the replica's address")
        .to_owned();
    let located = RdsApi::from_client(rds.clone())
        .instance(&instance_arn)
        .await
        .expect("the instance with a cross-region replica is located");
    assert!(
        located.replica_hosts.contains(&replica_address),
        "{:?} lacks {replica_address}",
        located.replica_hosts
    );

    // A cluster: its reader endpoint is another name of the same server,
    // which the rotated secret uses.
    let cluster = unique_name("cl").replace([' ', '_'], "-").to_lowercase();
    let created = rds
        .call(
            "CreateDBCluster",
            &[
                ("DBClusterIdentifier", cluster.as_str()),
                ("Engine", "aurora-postgresql"),
                ("MasterUsername", harness.master_user()),
                ("MasterUserPassword", "unused-by-moto"),
                ("Port", port.as_str()),
            ],
        )
        .await
        .expect("create the DB cluster in moto");
    let created = created
        .at(&["CreateDBClusterResult", "DBCluster"])
        .expect("the created cluster");
    let cluster_arn = created.text_at(&["DBClusterArn"]).unwrap().to_owned();
    proxy.rewrite(created.text_at(&["Endpoint"]).unwrap(), "127.0.0.1");
    proxy.rewrite(created.text_at(&["ReaderEndpoint"]).unwrap(), "localhost");

    let rotations = Rotations::new(
        moto.admin_store(),
        harness
            .rotator_with(
                ConnectSettings {
                    connect_timeout: Duration::from_secs(5),
                    ca_bundle: Some(ca),
                },
                None,
            )
            .with_master_policy(MasterPolicy::new(None, Arc::new(RdsApi::from_client(rds)))),
    );
    let cases = [
        (PRIMARY_INSTANCE_TAG, instance_arn.as_str(), "127.0.0.1"),
        (PRIMARY_CLUSTER_TAG, cluster_arn.as_str(), "localhost"),
    ];
    for (tag, database, host) in cases {
        let master_arn = rotations
            .create("pg-rds-master", &attacks::rds_managed(&harness))
            .await;
        rotations
            .store()
            .tag_secret(&master_arn, tag, database)
            .await
            .unwrap();
        let mut secret = harness.new_user(rotations.store(), "rds").await;
        secret.set("masterarn", master_arn.as_str());
        secret.set("host", host);
        let arn = rotations.create("pg-rds", &secret).await;
        let original = secret.required_str("username").unwrap().to_owned();
        for expected in [format!("{original}_clone"), original.clone()] {
            rotations.rotate(&arn).await;
            let new = rotations
                .value(&arn, VersionSelector::Stage(AWSCURRENT))
                .await;
            assert_eq!(new.required_str("username").unwrap(), expected, "{tag}");
            assert_eq!(new.required_str("host").unwrap(), host, "{tag}");
            assert!(harness.logs_in(&new).await, "{tag}: {expected} logs in");
        }
    }
    // The server's side: every session of the master was over TLS (the
    // server also accepts plaintext, so the client's word is not enough).
    let master_sessions: Vec<String> = std::fs::read_to_string(server.log_path())
        .unwrap()
        .lines()
        .filter(|l| l.contains("connection authorized") && l.contains(harness.master_user()))
        .map(str::to_owned)
        .collect();
    assert!(master_sessions.len() >= 4, "{master_sessions:#?}");
    assert!(
        master_sessions.iter().all(|l| l.contains("SSL enabled")),
        "a master session without TLS: {master_sessions:#?}"
    );
    attacks::master_still_logs_in(&harness).await;
    rotations
        .assert_no_leaks(&harness.other_secret_values())
        .await;
}

/// The function tier's share of the attacks: the built binary.
mod function {
    use super::*;
    use rotation_testing::database_attacks::{
        refused_by_the_function, secret_naming, shared_cases, AttackCase, LURE_PASSWORD,
    };

    /// A deployment without `MASTER_SECRET_ARNS` rotates no alternating
    /// users: the allow-list never depends on a setting being present.
    #[tokio::test]
    #[ignore = "function tier: cargo test --tests -- --include-ignored function:: (CONTRIBUTING.md)"]
    async fn the_built_function_without_an_allow_list_uses_no_master() {
        let moto = MotoServer::shared();
        let server = PostgresServer::start_with(LOGGED);
        let harness = PostgresRotatorHarness::alternating_users(&server).await;
        rotation_testing::database_attacks::refused_without_an_allow_list(
            "postgres-rotator",
            moto,
            &harness,
        )
        .await;
    }

    /// Every refusal above, through the built function as Lambda runs it:
    /// the attacks every engine shares, and PostgreSQL's own (logins named
    /// after the master or another user, an administrator).
    #[tokio::test]
    #[ignore = "function tier: cargo test --tests -- --include-ignored function:: (CONTRIBUTING.md)"]
    async fn the_built_function_refuses_each_attack() {
        let moto = MotoServer::shared();
        let server = PostgresServer::start_with(LOGGED);
        let attackers = PostgresServer::start_with(LOGGED);
        let harness = PostgresRotatorHarness::alternating_users(&server).await;
        let attacker = PostgresRotatorHarness::single_user(&attackers).await;
        let store = moto.admin_store();
        let (allowed, mut cases) = shared_cases(store.as_ref(), &harness, &attacker).await;
        let master_arn = &allowed[0];
        let lure = LURE_PASSWORD;
        let victim = unique_name("victim");
        harness
            .create_user(&victim, "the victim's own password")
            .await;
        harness.create_user(&format!("{victim}_clone"), lure).await;
        let master_clone = login_named_after_the_master(&harness, &server, lure).await;
        let boss = administrator(&harness, &server, lure).await;
        for (what, user, expected) in [
            (
                "a login named after the master",
                master_clone,
                "master secret's user",
            ),
            (
                "a login named after another user",
                format!("{victim}_clone"),
                "is not the clone of",
            ),
            ("an administrator", boss.clone(), "CREATEROLE"),
        ] {
            cases.push(AttackCase {
                what: what.into(),
                secret: secret_naming(&harness, &user, lure, master_arn),
                expected,
            });
        }
        refused_by_the_function(
            "postgres-rotator",
            moto,
            &harness,
            &attacker,
            &allowed,
            cases,
        )
        .await;
        assert!(
            server
                .can_log_in(&victim, "the victim's own password")
                .await
        );
        assert!(!server.role_exists(&format!("{boss}_clone")).await);
    }
}
