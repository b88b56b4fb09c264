//! [`MysqlBackend`]: logins through `mysql_async`, and the statements that
//! change accounts.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use async_trait::async_trait;
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, OptsBuilder, SslOpts};
use rotation_core::error::{BoxError, SettingsError};
use rotation_core::SecretString;
use rotation_database::{
    CertificateRejected, ConnectSettings, DatabaseBackend, DatabaseSecret, EngineSpec, LoginError,
    ServerWithoutTls, SslMode, TimedOut, UserStanding,
};
use rustls::pki_types::CertificateDer;

use crate::accounts;
use crate::clone_sync;
use crate::grants::GrantSet;
use crate::server::{ServerVersion, SqlMode};
use crate::settings::MysqlSettings;
use crate::sql::{self, Plugin};

/// MySQL, Aurora MySQL and MariaDB, through `mysql_async`.
pub struct MysqlBackend {
    settings: MysqlSettings,
    extra_roots: Vec<CertificateDer<'static>>,
    verify_full: OnceLock<SslOpts>,
    verify_ca: OnceLock<SslOpts>,
    /// For `verify-ca`: by `host:port`, a name the server's certificate
    /// holds (see [`verify_ca_name`]).
    verify_ca_names: Mutex<HashMap<String, String>>,
}

/// An open session, with what the server said about itself at login.
pub struct Session {
    pub(crate) conn: Conn,
    pub(crate) server: ServerVersion,
    pub(crate) mode: SqlMode,
}

impl Session {
    /// The server's family and version.
    pub fn server(&self) -> &ServerVersion {
        &self.server
    }
}

/// A statement that carried a password or a hash failed. The server's
/// message is left out: a syntax error quotes the statement.
#[derive(Debug, thiserror::Error)]
#[error("{what} failed: server error {code} (SQLSTATE {state})")]
pub struct SecretStatementFailed {
    /// What the statement did.
    pub what: String,
    /// The server's error code.
    pub code: u16,
    /// The SQLSTATE.
    pub state: String,
}

/// A clone name longer than the server accepts.
#[derive(Debug, thiserror::Error)]
#[error("the clone user `{clone}` is {length} characters long and {server} accepts at most {limit} (USERNAME_CHARACTER_LIMIT overrides the limit); shorten `username`")]
pub struct CloneNameTooLong {
    /// The clone's name.
    pub clone: String,
    /// Its length in characters.
    pub length: usize,
    /// The limit in force.
    pub limit: usize,
    /// The server, for the message.
    pub server: String,
}

/// The ER_ACCESS_DENIED_ERROR family: the server refused the user or the
/// password (1045), or the account has none set (1698).
const ACCESS_DENIED: [u16; 2] = [1045, 1698];

impl MysqlBackend {
    /// A backend with `settings`; reads the CA bundle now, so a bad one
    /// is a settings error naming `DB_CA_BUNDLE`.
    pub fn new(settings: MysqlSettings) -> Result<Self, SettingsError> {
        let extra_roots = match &settings.connect.ca_bundle {
            Some(path) => rotation_database::read_ca_bundle(path)?,
            None => Vec::new(),
        };
        Ok(Self {
            settings,
            extra_roots,
            verify_full: OnceLock::new(),
            verify_ca: OnceLock::new(),
            verify_ca_names: Mutex::default(),
        })
    }

    /// A backend with the settings from the environment.
    pub fn from_env() -> Result<Self, SettingsError> {
        Self::new(MysqlSettings::from_env()?)
    }

    /// A backend with `connect` settings and the server's own username
    /// limit.
    pub fn with_connect_settings(connect: ConnectSettings) -> Result<Self, SettingsError> {
        Self::new(MysqlSettings {
            connect,
            username_limit: None,
        })
    }

    /// The TLS options, built on the first TLS login: reading the system
    /// store and parsing the RDS roots cost start-up time that `ssl: false`
    /// rotations never need.
    /// Under `verify-ca`, only RDS's authorities and the bundle.
    fn ssl_opts(&self, mode: SslMode) -> SslOpts {
        let (opts, roots): (_, fn() -> Vec<CertificateDer<'static>>) = match mode {
            SslMode::VerifyCa => (&self.verify_ca, rotation_database::rds_roots),
            _ => (&self.verify_full, rotation_database::system_and_rds_roots),
        };
        opts.get_or_init(|| {
            // mysql_async builds its TLS client with rustls's
            // process-wide provider; the function has one, aws-lc-rs.
            let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
            let mut roots = roots();
            roots.extend(self.extra_roots.iter().cloned());
            SslOpts::default()
                .with_disable_built_in_roots(true)
                .with_root_certs(roots.iter().map(|c| c.to_vec().into()).collect())
        })
        .clone()
    }

    fn opts(&self, login: &DatabaseSecret) -> OptsBuilder {
        let builder = OptsBuilder::default()
            .ip_or_hostname(login.host.clone())
            .tcp_port(login.port)
            .user(Some(login.username.clone()))
            .pass(Some(login.password.expose().to_owned()))
            .db_name(login.dbname.clone())
            .prefer_socket(false)
            // Known up front, so the driver does not ask the server.
            .max_allowed_packet(Some(16 * 1024 * 1024))
            .wait_timeout(Some(60));
        match login.ssl_mode() {
            SslMode::Disable => builder,
            SslMode::VerifyFull => builder.ssl_opts(self.ssl_opts(SslMode::VerifyFull)),
            SslMode::VerifyCa => {
                let known = self
                    .verify_ca_names
                    .lock()
                    .unwrap()
                    .get(&login.address())
                    .cloned();
                builder.ssl_opts(
                    self.ssl_opts(SslMode::VerifyCa)
                        .with_danger_tls_hostname_override(known),
                )
            }
        }
    }

    /// `Conn::new`, and under `verify-ca`, once more with a name the
    /// certificate holds when the first refused it for its names only.
    /// mysql_async can only check a certificate against a name (its own
    /// way to skip the name no longer recognises rustls's error), so the
    /// retry checks the whole chain again against a name the server
    /// showed: the chain is what `verify-ca` promises.
    async fn conn(&self, login: &DatabaseSecret) -> Result<Conn, mysql_async::Error> {
        match Conn::new(self.opts(login)).await {
            Err(error) if login.ssl_mode() == SslMode::VerifyCa => {
                let Some(name) = verify_ca_name(&error) else {
                    return Err(error);
                };
                tracing::debug!(host = %login.host, certificate_name = %name, "verify-ca: the certificate does not name the host; checking its chain with a name it holds");
                self.verify_ca_names
                    .lock()
                    .unwrap()
                    .insert(login.address(), name);
                Conn::new(self.opts(login)).await
            }
            other => other,
        }
    }

    async fn open(&self, login: &DatabaseSecret) -> Result<Session, LoginError> {
        let limit = self.settings.connect.connect_timeout;
        let connecting = async {
            let mut conn = match self.conn(login).await.map_err(classify) {
                // mysql_async drops a trailing zero byte from the nonce of
                // an authentication switch, and MariaDB's ed25519 nonce is
                // 32 random bytes with no terminator: one login in 256 to
                // an ed25519 account signs the wrong message and is
                // refused. A second try gets a new nonce. A password that
                // is really wrong costs one more refused login.
                Err(LoginError::Rejected(_)) => self.conn(login).await.map_err(classify)?,
                other => other?,
            };
            let (version, mode): (String, String) = conn
                .query_first("SELECT VERSION(), @@SESSION.sql_mode")
                .await
                .map_err(|e| LoginError::Connection(e.into()))?
                .ok_or_else(|| LoginError::Connection("SELECT VERSION() returned no row".into()))?;
            let server =
                ServerVersion::parse(&version).map_err(|e| LoginError::Connection(e.into()))?;
            server
                .check_supported()
                .map_err(|e| LoginError::Connection(e.into()))?;
            Ok(Session {
                conn,
                server,
                mode: SqlMode::parse(&mode),
            })
        };
        tokio::time::timeout(limit, connecting)
            .await
            .unwrap_or_else(|_| Err(LoginError::Connection(TimedOut(limit).into())))
    }

    /// The clone-name limit in force: `USERNAME_CHARACTER_LIMIT`, else the
    /// server's.
    pub(crate) fn check_clone_name(
        &self,
        server: &ServerVersion,
        clone: &str,
    ) -> Result<(), CloneNameTooLong> {
        let limit = self
            .settings
            .username_limit
            .unwrap_or_else(|| server.username_limit());
        let length = clone.chars().count();
        if length > limit {
            return Err(CloneNameTooLong {
                clone: clone.to_owned(),
                length,
                limit,
                server: server.to_string(),
            });
        }
        Ok(())
    }
}

/// When `error` is rustls refusing a certificate for its names only (so
/// after its chain was verified), a name the certificate holds, usable as
/// the name to check: its first DNS name (a wildcard's first label made
/// concrete) or IP address. rustls reports the names as webpki prints
/// them (`DnsName("…")`, `IpAddress(…)`); a form not understood gives
/// `None`, and the login fails with the certificate error.
fn verify_ca_name(error: &mysql_async::Error) -> Option<String> {
    match rotation_database::rustls_error(error)? {
        rustls::Error::InvalidCertificate(rustls::CertificateError::NotValidForNameContext {
            presented,
            ..
        }) => presented.iter().find_map(|name| usable_name(name)),
        _ => None,
    }
}

fn usable_name(presented: &str) -> Option<String> {
    let name = if let Some(dns) = presented
        .strip_prefix("DnsName(\"")
        .and_then(|n| n.strip_suffix("\")"))
    {
        match dns.strip_prefix("*.") {
            Some(parent) => format!("verify-ca.{parent}"),
            None => dns.to_owned(),
        }
    } else {
        presented
            .strip_prefix("IpAddress(")
            .and_then(|n| n.strip_suffix(')'))?
            .to_owned()
    };
    rustls::pki_types::ServerName::try_from(name.as_str())
        .is_ok()
        .then_some(name)
}

/// Rejected credentials are told apart so the strategies can fall back to
/// an older password; everything else ends the step.
fn classify(error: mysql_async::Error) -> LoginError {
    match &error {
        mysql_async::Error::Server(server) if ACCESS_DENIED.contains(&server.code) => {
            LoginError::Rejected(error.into())
        }
        mysql_async::Error::Driver(mysql_async::DriverError::NoClientSslFlagFromServer) => {
            LoginError::Connection(ServerWithoutTls(error.into()).into())
        }
        _ if rotation_database::is_certificate_error(&error) => {
            LoginError::Connection(CertificateRejected(error.into()).into())
        }
        _ => LoginError::Connection(error.into()),
    }
}

/// Runs a statement that holds a password or a hash; a failure keeps the
/// server's code and SQLSTATE and drops its message.
/// The server refused for want of a privilege: on a table (1142), a
/// database (1044), or a global one such as CREATE USER (1227).
fn access_denied(error: &(dyn std::error::Error + Send + Sync + 'static)) -> bool {
    const CODES: [u16; 3] = [1044, 1142, 1227];
    if let Some(failed) = error.downcast_ref::<SecretStatementFailed>() {
        return CODES.contains(&failed.code);
    }
    matches!(
        error.downcast_ref::<mysql_async::Error>(),
        Some(mysql_async::Error::Server(e)) if CODES.contains(&e.code)
    )
}

pub(crate) async fn execute_secret(
    session: &mut Session,
    what: &str,
    statement: String,
) -> Result<(), BoxError> {
    match session.conn.query_drop(statement).await {
        Ok(()) => Ok(()),
        Err(mysql_async::Error::Server(e)) => Err(SecretStatementFailed {
            what: what.to_owned(),
            code: e.code,
            state: e.state,
        }
        .into()),
        // Driver and I/O errors do not quote the statement.
        Err(e) => Err(e.into()),
    }
}

#[async_trait]
impl DatabaseBackend for MysqlBackend {
    type Connection = Session;

    const SPEC: EngineSpec = EngineSpec::MYSQL;

    async fn connect(&self, login: &DatabaseSecret) -> Result<Session, LoginError> {
        self.open(login).await
    }

    async fn connect_admin(&self, login: &DatabaseSecret) -> Result<Session, LoginError> {
        let mut session = self.open(login).await?;
        // An account statement waiting on a lock another session holds
        // fails, naming the statement, well before the step's deadline;
        // MariaDB also bounds every statement's time.
        let seconds = self
            .settings
            .connect
            .connect_timeout
            .as_secs_f64()
            .ceil()
            .max(1.0);
        let limits = match session.server.flavor {
            crate::server::Flavor::MariaDb => {
                format!("SET SESSION lock_wait_timeout = {seconds}, max_statement_time = {seconds}")
            }
            crate::server::Flavor::MySql => format!(
                "SET SESSION lock_wait_timeout = {seconds}, max_execution_time = {}",
                seconds * 1000.0
            ),
        };
        session
            .conn
            .query_drop(limits)
            .await
            .map_err(|e| LoginError::Connection(e.into()))?;
        Ok(session)
    }

    async fn check(&self, session: &mut Session) -> Result<(), BoxError> {
        let one: Option<i64> = session.conn.query_first("SELECT 1").await?;
        match one {
            Some(1) => Ok(()),
            other => Err(format!("SELECT 1 returned {other:?}").into()),
        }
    }

    /// The user's own password. A user may have accounts for several hosts
    /// (`app@'10.0.%'` for the function's subnet, `app@'%'` for the
    /// application servers), and its own statement changes only the one
    /// this connection matched, while AWSCURRENT moves for every client.
    /// So when the user can read its accounts and has others, all of them
    /// change in one statement, or the step is refused naming them; when
    /// it cannot read them (no `SELECT` on `mysql.user`, the usual), only
    /// its own changes, and the log says which.
    async fn set_own_password(
        &self,
        session: &mut Session,
        login: &DatabaseSecret,
        password: &SecretString,
    ) -> Result<(), BoxError> {
        let own = accounts::own_account(session).await?;
        match accounts::accounts(session, &login.username).await {
            Ok(all) if all.iter().any(|a| a.host != own.1) => {
                let others: Vec<String> = all
                    .iter()
                    .filter(|a| a.host != own.1)
                    .map(|a| sql::account(&login.username, &a.host))
                    .collect();
                return match self.set_password(session, &login.username, password).await {
                    Ok(()) => {
                        tracing::info!(
                            accounts = all.len(),
                            "setSecret: changed the password of every host's account of the user in one statement"
                        );
                        Ok(())
                    }
                    Err(e) if access_denied(e.as_ref()) => Err(format!(
                        "user {} also has the accounts {}, whose passwords its own login may not change (it lacks CREATE USER), so single user would leave them on the old password while AWSCURRENT moves for every client: use alternating users (the master changes every host's account), or drop the other accounts",
                        login.username,
                        others.join(", ")
                    )
                    .into()),
                    Err(e) => Err(e),
                };
            }
            Ok(_) => {}
            Err(e) if access_denied(e.as_ref()) => tracing::info!(
                account = %sql::account(&own.0, &own.1),
                "setSecret: changing the password of the account this connection matched; the user cannot read mysql.user, so any account of it for another host keeps its password (alternating users changes every host's account)"
            ),
            Err(e) => return Err(e),
        }
        let plugin = match session.server.flavor {
            crate::server::Flavor::MariaDb => accounts::own_plugin(session).await?,
            // MySQL's statement keeps the account's plugin.
            crate::server::Flavor::MySql => Plugin::CachingSha2,
        };
        let statement = sql::set_own_password(&session.server, &plugin, password, session.mode)?;
        execute_secret(
            session,
            &format!("setting the password of {}", login.username),
            statement,
        )
        .await
    }

    async fn set_password(
        &self,
        admin: &mut Session,
        username: &str,
        password: &SecretString,
    ) -> Result<(), BoxError> {
        let accounts = accounts::accounts(admin, username).await?;
        if accounts.is_empty() {
            return Err(format!("user {username} does not exist").into());
        }
        // One statement for every host, so the hosts never disagree.
        let mut clauses = Vec::with_capacity(accounts.len());
        for account in &accounts {
            clauses.push(format!(
                "{} {}",
                sql::account(username, &account.host),
                sql::identified(&admin.server, &account.plugin, password, admin.mode)?
            ));
        }
        let statement = format!("ALTER USER {}", clauses.join(", "));
        execute_secret(
            admin,
            &format!("setting the password of {username}"),
            statement,
        )
        .await
    }

    async fn match_clone(
        &self,
        admin: &mut Session,
        original: &str,
        clone: &str,
    ) -> Result<(), BoxError> {
        self.check_clone_name(&admin.server, clone)?;
        clone_sync::match_clone(admin, original, clone).await
    }

    async fn user_standing(
        &self,
        admin: &mut Session,
        username: &str,
    ) -> Result<UserStanding, BoxError> {
        let accounts = accounts::accounts(admin, username).await?;
        if accounts.is_empty() {
            return Ok(UserStanding::Missing);
        }
        for account in &accounts {
            let grants: GrantSet =
                accounts::effective_grants(admin, username, &account.host).await?;
            if let Some(right) = grants.administers_users() {
                return Ok(UserStanding::Administrator(format!(
                    "{right} (as {})",
                    sql::account(username, &account.host)
                )));
            }
        }
        Ok(UserStanding::Ordinary)
    }

    async fn is_clone_of(
        &self,
        admin: &mut Session,
        original: &str,
        clone: &str,
    ) -> Result<bool, BoxError> {
        clone_sync::is_clone_of(admin, original, clone).await
    }
}

#[cfg(test)]
mod tests {
    use super::usable_name;

    /// The names rustls reports, as webpki prints them, become names to
    /// check the certificate against; anything else gives none, and the
    /// login fails with the certificate error.
    #[test]
    fn verify_ca_takes_a_name_the_certificate_holds() {
        for (presented, name) in [
            (
                r#"DnsName("db.internal.example")"#,
                Some("db.internal.example"),
            ),
            (
                r#"DnsName("*.cluster-abc.eu-west-1.rds.amazonaws.com")"#,
                Some("verify-ca.cluster-abc.eu-west-1.rds.amazonaws.com"),
            ),
            ("IpAddress(10.0.3.7)", Some("10.0.3.7")),
            ("DirectoryName", None),
            (r#"DnsName("not a name")"#, None),
            ("IpAddress(10.0.3)", None),
            ("db.internal.example", None),
        ] {
            assert_eq!(usable_name(presented).as_deref(), name, "{presented}");
        }
    }
}
