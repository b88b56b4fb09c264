//! [`PostgresBackend`]: logins and the statements that change roles.
//!
//! Statements go in one round trip each: catalog reads with
//! `query_typed` (the parameters' types given, so no separate prepare),
//! fixed statements with the simple protocol.

use std::sync::OnceLock;

use async_trait::async_trait;
use rotation_core::error::{BoxError, SettingsError};
use rotation_core::SecretString;
use rotation_database::{
    CertificateRejected, ConnectSettings, DatabaseBackend, DatabaseSecret, EngineSpec, LoginError,
    PairStanding, ServerWithoutTls, SslMode, TimedOut, UserStanding,
};
use rustls::pki_types::CertificateDer;
use tokio::net::TcpStream;
use tokio_postgres::config::SslMode as DriverSslMode;
use tokio_postgres::error::SqlState;
use tokio_postgres::tls::MakeTlsConnect;
use tokio_postgres::types::Type;
use tokio_postgres::{Client, Config, NoTls, SimpleQueryMessage};
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::auth_guard::{AuthGuard, GuardedTls};
use crate::clone_sync;
use crate::sql::{alter_password, alter_password_to, quote_identifier, PasswordFormat};
use crate::tls;
use crate::verifier_ahead::VerifierAhead;

/// Roles whose members act as the server's OS user (files, programs) or,
/// on RDS and Aurora, as its superuser: a member is an administrator.
const POWERFUL_ROLES: [&str; 4] = [
    "pg_write_server_files",
    "pg_read_server_files",
    "pg_execute_server_program",
    "rds_superuser",
];

/// Shown in `pg_stat_activity` and the server's connection log.
const APPLICATION_NAME: &str = "secrets-manager-rotation";

/// PostgreSQL and Aurora PostgreSQL, through `tokio-postgres`.
pub struct PostgresBackend {
    settings: ConnectSettings,
    extra_roots: Vec<CertificateDer<'static>>,
    /// The TLS connectors of `verify-full` and `verify-ca`, each built on
    /// its first login.
    verify_full: OnceLock<Result<MakeRustlsConnect, String>>,
    verify_ca: OnceLock<Result<MakeRustlsConnect, String>>,
    /// The new password's verifier, computed during setSecret's logins.
    verifier_ahead: VerifierAhead,
}

/// An open session. Dropping it closes the connection.
pub struct Session {
    client: Client,
    /// The server's `password_encryption`, once asked.
    password_format: Option<PasswordFormat>,
    /// What `pair_standing` read for the clone sync, kept for the
    /// `match_clone` that follows it.
    pair_reading: Option<PairReading>,
}

/// The clone sync's reading of a pair, taken in the pair check's round trip.
struct PairReading {
    original: String,
    clone: String,
    clone_exists: bool,
    /// `None` when the clone is missing or the reading failed (then
    /// `match_clone` reads again).
    pair: Option<clone_sync::Pair>,
}

impl Session {
    /// How the server stores passwords, asked once per session.
    async fn password_format(&mut self) -> Result<PasswordFormat, BoxError> {
        if let Some(format) = self.password_format {
            return Ok(format);
        }
        let messages = self.client.simple_query("SHOW password_encryption").await?;
        let setting = first_value(&messages).ok_or("SHOW password_encryption returned no value")?;
        let format = PasswordFormat::from_setting(setting);
        self.password_format = Some(format);
        Ok(format)
    }
}

/// A role the statements need does not exist.
#[derive(Debug, thiserror::Error)]
#[error("role {0} does not exist")]
pub struct RoleMissing(pub(crate) String);

impl PostgresBackend {
    /// A backend with `settings`; reads the CA bundle now, so a bad one
    /// is a settings error naming `DB_CA_BUNDLE`.
    pub fn new(settings: ConnectSettings) -> Result<Self, SettingsError> {
        let extra_roots = match &settings.ca_bundle {
            Some(path) => rotation_database::read_ca_bundle(path)?,
            None => Vec::new(),
        };
        Ok(Self {
            settings,
            extra_roots,
            verify_full: OnceLock::new(),
            verify_ca: OnceLock::new(),
            verifier_ahead: VerifierAhead::default(),
        })
    }

    /// A backend with the settings from the environment.
    pub fn from_env() -> Result<Self, SettingsError> {
        Self::new(ConnectSettings::from_env()?)
    }

    fn tls(&self, mode: SslMode) -> Result<MakeRustlsConnect, LoginError> {
        let connector = match mode {
            SslMode::VerifyCa => &self.verify_ca,
            _ => &self.verify_full,
        };
        connector
            .get_or_init(|| {
                tls::client_config(&self.extra_roots, mode)
                    .map(MakeRustlsConnect::new)
                    .map_err(|e| format!("cannot set up TLS: {e}"))
            })
            .clone()
            .map_err(|e| LoginError::Connection(e.into()))
    }

    fn config(&self, login: &DatabaseSecret) -> Config {
        let mut config = Config::new();
        config
            .host(&login.host)
            .port(login.port)
            .user(&login.username)
            .password(login.password.expose())
            .application_name(APPLICATION_NAME)
            .connect_timeout(self.settings.connect_timeout)
            .ssl_mode(if login.uses_tls() {
                // With a verifying connector (tls::client_config), Require
                // means the secret's verify mode and never a plaintext
                // fallback.
                DriverSslMode::Require
            } else {
                DriverSslMode::Disable
            });
        if let Some(dbname) = &login.dbname {
            config.dbname(dbname);
        }
        config
    }

    /// A session whose authentication may not disclose the password: the
    /// TCP connection is ours, so the guard can sit under the driver
    /// (inside TLS).
    async fn open_guarded(
        &self,
        config: Config,
        login: &DatabaseSecret,
    ) -> Result<Client, LoginError> {
        let limit = self.settings.connect_timeout;
        let connecting = async {
            let tcp = TcpStream::connect((login.host.as_str(), login.port))
                .await
                .map_err(|e| LoginError::Connection(e.into()))?;
            let _ = tcp.set_nodelay(true);
            if login.uses_tls() {
                let mut tls = self.tls(login.ssl_mode())?;
                let connector =
                    MakeTlsConnect::<TcpStream>::make_tls_connect(&mut tls, &login.host)
                        .map_err(|e| LoginError::Connection(e.into()))?;
                let guarded = GuardedTls {
                    tls: connector,
                    verified_name: login.ssl_mode() == SslMode::VerifyFull,
                };
                let (client, connection) =
                    config.connect_raw(tcp, guarded).await.map_err(classify)?;
                tokio::spawn(connection);
                Ok(client)
            } else {
                let (client, connection) = config
                    .connect_raw(AuthGuard::new(tcp), NoTls)
                    .await
                    .map_err(classify)?;
                tokio::spawn(connection);
                Ok(client)
            }
        };
        tokio::time::timeout(limit, connecting)
            .await
            .unwrap_or_else(|_| Err(LoginError::Connection(TimedOut(limit).into())))
    }

    async fn open(&self, config: Config, ssl: SslMode) -> Result<Client, LoginError> {
        let limit = self.settings.connect_timeout;
        let connecting = async {
            if ssl != SslMode::Disable {
                let (client, connection) =
                    config.connect(self.tls(ssl)?).await.map_err(classify)?;
                tokio::spawn(connection);
                Ok(client)
            } else {
                let (client, connection) = config.connect(NoTls).await.map_err(classify)?;
                tokio::spawn(connection);
                Ok(client)
            }
        };
        tokio::time::timeout(limit, connecting)
            .await
            .unwrap_or_else(|_| Err(LoginError::Connection(TimedOut(limit).into())))
    }
}

/// Rejected credentials are told apart so the strategies can fall back to
/// an older password; everything else ends the step.
fn classify(error: tokio_postgres::Error) -> LoginError {
    let rejected = error.code().is_some_and(|code| {
        *code == SqlState::INVALID_PASSWORD
            || *code == SqlState::INVALID_AUTHORIZATION_SPECIFICATION
    });
    if rejected {
        LoginError::Rejected(error.into())
    } else if rotation_core::error::error_chain(&error).contains("server does not support TLS") {
        LoginError::Connection(ServerWithoutTls(error.into()).into())
    } else if rotation_database::is_certificate_error(&error) {
        LoginError::Connection(CertificateRejected(error.into()).into())
    } else {
        LoginError::Connection(error.into())
    }
}

#[async_trait]
impl DatabaseBackend for PostgresBackend {
    type Connection = Session;

    const SPEC: EngineSpec = EngineSpec::POSTGRES;

    async fn connect(&self, login: &DatabaseSecret) -> Result<Session, LoginError> {
        let client = self.open(self.config(login), login.ssl_mode()).await?;
        Ok(Session {
            client,
            password_format: None,
            pair_reading: None,
        })
    }

    async fn connect_admin(&self, login: &DatabaseSecret) -> Result<Session, LoginError> {
        let client = self.open_guarded(self.config(login), login).await?;
        // A statement waiting on a lock (a role another session is
        // altering) fails with a lock timeout, naming the statement, well
        // before the step's deadline. In the same round trip: how the
        // server stores passwords, for set_password.
        let settings = format!(
            "SET lock_timeout = {}; SHOW password_encryption",
            self.settings.connect_timeout.as_millis().max(1)
        );
        let messages = client
            .simple_query(&settings)
            .await
            .map_err(|e| LoginError::Connection(e.into()))?;
        let password_format = first_value(&messages).map(PasswordFormat::from_setting);
        Ok(Session {
            client,
            password_format,
            pair_reading: None,
        })
    }

    async fn check(&self, session: &mut Session) -> Result<(), BoxError> {
        // The simple protocol: one round trip, where a prepared statement
        // takes two.
        let messages = session.client.simple_query("SELECT 1").await?;
        match first_value(&messages) {
            Some("1") => Ok(()),
            other => Err(format!("SELECT 1 returned {other:?}").into()),
        }
    }

    fn prepare_password(&self, username: &str, password: &SecretString) {
        self.verifier_ahead.start(username, password);
    }

    async fn set_password(
        &self,
        admin: &mut Session,
        username: &str,
        password: &SecretString,
    ) -> Result<(), BoxError> {
        let statement = match admin.password_format().await? {
            PasswordFormat::ScramSha256 => match self.verifier_ahead.take(username, password).await
            {
                Some(verifier) => alter_password_to(username, &verifier),
                None => alter_password(username, password, PasswordFormat::ScramSha256),
            },
            // No wait on a SCRAM verifier an MD5 server will not store.
            PasswordFormat::Md5 => {
                self.verifier_ahead.forget();
                alter_password(username, password, PasswordFormat::Md5)
            }
        };
        admin.client.batch_execute(&statement).await?;
        Ok(())
    }

    async fn match_clone(
        &self,
        admin: &mut Session,
        original: &str,
        clone: &str,
    ) -> Result<(), BoxError> {
        let reading = admin
            .pair_reading
            .take()
            .filter(|r| r.original == original && r.clone == clone);
        let client = &admin.client;
        let (exists, pair) = match reading {
            Some(reading) => (reading.clone_exists, reading.pair),
            None => {
                // Whether the clone exists, and both roles as the sync
                // compares them, in one round trip: queries sent together
                // are pipelined.
                let (exists, pair) = tokio::join!(
                    role_exists(client, clone),
                    clone_sync::Pair::read(client, original, clone)
                );
                (exists?, pair.ok())
            }
        };
        if !exists {
            create_clone(client, original, clone).await?;
            return clone_sync::sync(client, original, clone).await;
        }
        match pair {
            Some(pair) => clone_sync::sync_from(client, &pair).await,
            // The reading failed: read again, and fail with that error.
            None => clone_sync::sync(client, original, clone).await,
        }
    }

    async fn user_standing(
        &self,
        admin: &mut Session,
        username: &str,
    ) -> Result<UserStanding, BoxError> {
        standing(&admin.client, username).await
    }

    async fn is_clone_of(
        &self,
        admin: &mut Session,
        original: &str,
        clone: &str,
    ) -> Result<bool, BoxError> {
        clone_mark(&admin.client, original, clone).await
    }

    async fn pair_standing(
        &self,
        admin: &mut Session,
        original: &str,
        clone: &str,
    ) -> Result<PairStanding, BoxError> {
        let client = &admin.client;
        // The pair check's reads and the clone sync's, sent together: one
        // round trip. The sync's reading waits in the session for the
        // match_clone that follows a proved pair.
        let (original_standing, clone_standing, marked, pair) = tokio::join!(
            standing(client, original),
            standing(client, clone),
            clone_mark(client, original, clone),
            clone_sync::Pair::read(client, original, clone),
        );
        admin.pair_reading = clone_standing.as_ref().ok().map(|standing| PairReading {
            original: original.to_owned(),
            clone: clone.to_owned(),
            clone_exists: *standing != UserStanding::Missing,
            pair: pair.ok(),
        });
        Ok(PairStanding {
            original: original_standing?,
            clone: clone_standing?,
            clone_is_marked: marked?,
        })
    }
}

/// What `username` is: missing, an ordinary user, or one that administers
/// users.
async fn standing(client: &Client, username: &str) -> Result<UserStanding, BoxError> {
    // Whether the user exists, and the most powerful role among its
    // own attributes and every role it is a member of, directly or not:
    // SET ROLE gives a member the role's attributes, and some predefined
    // roles (and RDS's) act as the server's OS user or as a superuser.
    // One round trip: pg_has_role is strict, so for a missing user the
    // lateral part finds nothing instead of failing.
    let row = client
        .query_typed_one(
            "SELECT u.oid IS NOT NULL, p.rolname::text, p.own, p.rolsuper, p.rolcreaterole \
             FROM (VALUES ($1::name)) AS wanted(name) \
             LEFT JOIN pg_catalog.pg_roles u ON u.rolname = wanted.name \
             LEFT JOIN LATERAL ( \
               SELECT r.rolname, r.oid = u.oid AS own, r.rolsuper, r.rolcreaterole \
               FROM pg_catalog.pg_roles r \
               WHERE pg_catalog.pg_has_role(u.oid, r.oid, 'MEMBER') \
                 AND (r.rolsuper OR r.rolcreaterole OR r.rolname = ANY($2)) \
               ORDER BY r.oid = u.oid DESC, r.rolname LIMIT 1) p ON true",
            &[
                (&username, Type::NAME),
                (&POWERFUL_ROLES.as_slice(), Type::NAME_ARRAY),
            ],
        )
        .await?;
    if !row.try_get::<_, bool>(0)? {
        return Ok(UserStanding::Missing);
    }
    let Some(role) = row.try_get::<_, Option<String>>(1)? else {
        return Ok(UserStanding::Ordinary);
    };
    let own: bool = row.try_get(2)?;
    let attribute = match (row.try_get::<_, bool>(3)?, row.try_get::<_, bool>(4)?) {
        (true, _) => "SUPERUSER",
        (false, true) => "CREATEROLE",
        (false, false) => "",
    };
    Ok(UserStanding::Administrator(match (own, attribute) {
        (true, attribute) => attribute.to_owned(),
        (false, "") => format!("membership of {role}"),
        (false, attribute) => format!("{attribute} through membership of {role}"),
    }))
}

/// Whether `clone` carries `original`'s clone mark: membership in it.
async fn clone_mark(client: &Client, original: &str, clone: &str) -> Result<bool, BoxError> {
    // EXISTS: PostgreSQL 16 keeps one row per grantor of a membership.
    let row = client
        .query_typed_one(
            "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_auth_members m \
             JOIN pg_catalog.pg_roles g ON g.oid = m.roleid \
             JOIN pg_catalog.pg_roles u ON u.oid = m.member \
             WHERE g.rolname = $1 AND u.rolname = $2)",
            &[(&original, Type::NAME), (&clone, Type::NAME)],
        )
        .await?;
    Ok(row.try_get(0)?)
}

/// Creates `clone`, found missing (a concurrent retry may create it
/// first). Membership in the original is the clone's mark (`is_clone_of`),
/// and how it inherits the original's object privileges; one statement
/// gives both, so a crash cannot leave an unmarked clone.
async fn create_clone(client: &Client, original: &str, clone: &str) -> Result<(), BoxError> {
    let create = format!(
        "CREATE ROLE {} WITH LOGIN IN ROLE {}",
        quote_identifier(clone),
        quote_identifier(original)
    );
    match client.batch_execute(&create).await {
        // A concurrent retry created it first.
        Err(e) if e.code() == Some(&SqlState::DUPLICATE_OBJECT) => Ok(()),
        Err(e) => Err(e.into()),
        Ok(()) => {
            tracing::info!(clone, "setSecret: created the clone user");
            Ok(())
        }
    }
}

async fn role_exists(client: &Client, name: &str) -> Result<bool, tokio_postgres::Error> {
    client
        .query_typed_one(
            "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = $1)",
            &[(&name, Type::NAME)],
        )
        .await?
        .try_get(0)
}

/// The first column of the first row of a simple query's answer.
fn first_value(messages: &[SimpleQueryMessage]) -> Option<&str> {
    messages.iter().find_map(|m| match m {
        SimpleQueryMessage::Row(row) => row.get(0),
        _ => None,
    })
}
