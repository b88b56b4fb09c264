//! A [`SecretStore`] in one SQLite file, with Secrets Manager's semantics,
//! for rotating without an AWS account (the `rotate` tool's local store).
//!
//! Every operation is one transaction; writes take SQLite's write lock at
//! their start (`BEGIN IMMEDIATE`), so two processes sharing a file see
//! each other's changes whole and never interleave inside one. The file is
//! created readable by its owner only (mode 0600), and its values are
//! stored as they are, not encrypted: the file's permissions are what
//! protects them. A file that is not SQLite, an SQLite database of
//! something else, or a damaged store is refused when opened, by path.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use rusqlite::{
    params, Connection, ErrorCode, OptionalExtension, Transaction, TransactionBehavior,
};

use super::{
    MoveStage, PutValue, SecretDescription, SecretStore, SecretVersion, VersionSelector,
    VersionSnapshot, AWSCURRENT, AWSPENDING, AWSPREVIOUS,
};
use crate::error::{BoxError, StoreError};
use crate::secret::{SecretBytes, SecretPayload, SecretString};

/// What the `store_format` table says of a file this module made.
const FORMAT: &str = "rotation-core embedded secret store";
const FORMAT_VERSION: i64 = 1;

/// How long an operation waits for another process's write to finish.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

const SCHEMA: &str = "
CREATE TABLE store_format (format TEXT NOT NULL, version INTEGER NOT NULL);
CREATE TABLE secrets (
    arn TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    rotation_enabled INTEGER NOT NULL DEFAULT 0,
    rotation_days INTEGER,
    last_rotated_at INTEGER,
    created_at INTEGER NOT NULL
);
CREATE TABLE versions (
    arn TEXT NOT NULL REFERENCES secrets(arn) ON DELETE CASCADE,
    version_id TEXT NOT NULL,
    kind TEXT CHECK (kind IN ('string', 'binary')),
    value BLOB,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (arn, version_id)
);
CREATE TABLE stages (
    arn TEXT NOT NULL,
    stage TEXT NOT NULL,
    version_id TEXT NOT NULL,
    PRIMARY KEY (arn, stage),
    FOREIGN KEY (arn, version_id) REFERENCES versions(arn, version_id) ON DELETE CASCADE
);
CREATE TABLE tags (
    arn TEXT NOT NULL REFERENCES secrets(arn) ON DELETE CASCADE,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (arn, key)
);
";

/// Why a store file could not be opened. Names the path, never a value.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The file could not be created or read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The system's error.
        #[source]
        source: std::io::Error,
    },
    /// The file, or its write-ahead log, could be read by someone else: it
    /// is another user's, or its mode lets its group or others in.
    #[error("{path} is refused: {reason}; a store's files must be its user's alone (mode 0600)")]
    NotPrivate {
        /// The file.
        path: PathBuf,
        /// Who else could read it.
        reason: String,
    },
    /// The file is not an SQLite database.
    #[error("{path} is not a secret store (not an SQLite database)")]
    NotADatabase {
        /// The file.
        path: PathBuf,
    },
    /// The file is an SQLite database of something else.
    #[error("{path} is an SQLite database, but not a secret store made by this tool")]
    NotOurs {
        /// The file.
        path: PathBuf,
    },
    /// The store was written by a newer version of this tool.
    #[error("{path} is a secret store of format {found}; this tool reads format {FORMAT_VERSION}")]
    NewerFormat {
        /// The file.
        path: PathBuf,
        /// The file's format version.
        found: i64,
    },
    /// SQLite found the file damaged.
    #[error("{path} is damaged: {detail}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// SQLite's integrity check's first finding.
        detail: String,
    },
    /// Any other SQLite failure.
    #[error("{path}: {source}")]
    Sqlite {
        /// The file.
        path: PathBuf,
        /// SQLite's error.
        #[source]
        source: rusqlite::Error,
    },
}

/// One secret as [`EmbeddedSecretStore::list`] shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretSummary {
    /// Its ARN (local to the file).
    pub arn: String,
    /// Its name.
    pub name: String,
    /// Whether rotation is enabled.
    pub rotation_enabled: bool,
    /// The rotation interval, in days, when one is set.
    pub rotation_days: Option<u32>,
    /// When AWSCURRENT last moved to another version (a rotation's
    /// finishSecret, or a value put by hand).
    pub last_rotated: Option<SystemTime>,
    /// When the secret was created.
    pub created: SystemTime,
}

/// One version as [`EmbeddedSecretStore::versions`] shows it: no value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionInfo {
    /// The version id.
    pub version_id: String,
    /// Its stages, in the order they were attached.
    pub stages: Vec<String>,
    /// When it was created.
    pub created: SystemTime,
    /// Whether it holds a value (a rotation's placeholder does not, until
    /// createSecret).
    pub has_value: bool,
}

/// A secret store in an SQLite file.
#[derive(Clone)]
pub struct EmbeddedSecretStore {
    path: PathBuf,
    connection: Arc<Mutex<Connection>>,
}

impl std::fmt::Debug for EmbeddedSecretStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedSecretStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

fn now_seconds() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

fn from_seconds(seconds: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(seconds.max(0) as u64)
}

fn new_id() -> String {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).expect("the OS random source is available");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn service(operation: &'static str, secret_id: &str, source: rusqlite::Error) -> StoreError {
    // Another process holding the file past the busy timeout, or the disk
    // failing for a moment; not a corrupt or unreadable file.
    let transient = matches!(
        source.sqlite_error_code(),
        Some(
            rusqlite::ErrorCode::DatabaseBusy
                | rusqlite::ErrorCode::DatabaseLocked
                | rusqlite::ErrorCode::SystemIoFailure
        )
    );
    StoreError::Service {
        operation,
        secret_id: secret_id.to_owned(),
        transient,
        source: Box::new(source) as BoxError,
    }
}

fn refused(operation: &'static str, secret_id: &str, message: impl Into<String>) -> StoreError {
    StoreError::Refused {
        operation,
        secret_id: secret_id.to_owned(),
        message: message.into(),
    }
}

impl EmbeddedSecretStore {
    /// Opens the store at `path`, creating it (mode 0600) if the file does
    /// not exist. Refuses a file that is not a store, or is damaged.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, OpenError> {
        let path = path.as_ref().to_path_buf();
        let io = |source| OpenError::Io {
            path: path.clone(),
            source,
        };
        create_owner_only(&path).map_err(io)?;
        // Someone may have prepared the file or its log where the operator
        // would open a store, to read what is written to it.
        for suffix in ["", "-wal", "-shm"] {
            let mut file = path.clone().into_os_string();
            file.push(suffix);
            check_private(Path::new(&file))?;
        }
        let sqlite = |source: rusqlite::Error| classify_open_error(&path, source);
        let connection = Connection::open(&path).map_err(sqlite)?;
        connection.busy_timeout(BUSY_TIMEOUT).map_err(sqlite)?;
        // WAL lets readers of one process go on while another writes.
        connection
            .pragma_update(None, "journal_mode", "WAL")
            .map_err(sqlite)?;
        connection
            .pragma_update(None, "foreign_keys", true)
            .map_err(sqlite)?;
        let store = Self {
            path: path.clone(),
            connection: Arc::new(Mutex::new(connection)),
        };
        store.initialise_or_check()?;
        Ok(store)
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn initialise_or_check(&self) -> Result<(), OpenError> {
        let sqlite = |source: rusqlite::Error| classify_open_error(&self.path, source);
        let mut connection = self.lock();
        let transaction = connection
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sqlite)?;
        let tables: i64 = transaction
            .query_row("SELECT count(*) FROM sqlite_master", [], |row| row.get(0))
            .map_err(sqlite)?;
        if tables == 0 {
            // A new file, or an empty one another process is creating
            // right now (the write lock orders the two).
            transaction.execute_batch(SCHEMA).map_err(sqlite)?;
            transaction
                .execute(
                    "INSERT INTO store_format (format, version) VALUES (?1, ?2)",
                    params![FORMAT, FORMAT_VERSION],
                )
                .map_err(sqlite)?;
            transaction.commit().map_err(sqlite)?;
            return Ok(());
        }
        let marked: i64 = transaction
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'store_format'",
                [],
                |row| row.get(0),
            )
            .map_err(sqlite)?;
        if marked == 0 {
            return Err(OpenError::NotOurs {
                path: self.path.clone(),
            });
        }
        let format: Option<(String, i64)> = transaction
            .query_row("SELECT format, version FROM store_format", [], |row| {
                Ok((row.get(0)?, row.get(1)?))
            })
            .optional()
            .map_err(sqlite)?;
        match format {
            Some((format, version)) if format == FORMAT => {
                if version > FORMAT_VERSION {
                    return Err(OpenError::NewerFormat {
                        path: self.path.clone(),
                        found: version,
                    });
                }
            }
            _ => {
                return Err(OpenError::NotOurs {
                    path: self.path.clone(),
                })
            }
        }
        let check: String = transaction
            .query_row("PRAGMA quick_check", [], |row| row.get(0))
            .map_err(sqlite)?;
        if check != "ok" {
            return Err(OpenError::Corrupt {
                path: self.path.clone(),
                detail: check,
            });
        }
        Ok(())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Connection> {
        // A panic mid-transaction rolled it back; the connection is fine.
        self.connection.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `work` in one transaction on a blocking thread: a write
    /// transaction when `write`.
    async fn transaction<T: Send + 'static>(
        &self,
        operation: &'static str,
        secret_id: &str,
        write: bool,
        work: impl FnOnce(&Transaction<'_>) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let connection = Arc::clone(&self.connection);
        let id = secret_id.to_owned();
        let joined = tokio::task::spawn_blocking(move || {
            let mut connection = connection.lock().unwrap_or_else(|e| e.into_inner());
            let behavior = if write {
                TransactionBehavior::Immediate
            } else {
                TransactionBehavior::Deferred
            };
            let transaction = connection
                .transaction_with_behavior(behavior)
                .map_err(|e| service(operation, &id, e))?;
            let result = work(&transaction)?;
            transaction
                .commit()
                .map_err(|e| service(operation, &id, e))?;
            Ok(result)
        })
        .await;
        joined.unwrap_or_else(|e| {
            Err(StoreError::Service {
                operation,
                secret_id: secret_id.to_owned(),
                transient: false,
                source: Box::new(e),
            })
        })
    }

    /// `CreateSecret`: a new secret whose first version is AWSCURRENT.
    /// Returns its ARN.
    pub async fn create_secret(
        &self,
        name: &str,
        payload: SecretPayload,
    ) -> Result<String, StoreError> {
        const OP: &str = "CreateSecret";
        let name = name.to_owned();
        self.transaction(OP, &name.clone(), true, move |tx| {
            let taken: bool = tx
                .query_row(
                    "SELECT count(*) FROM secrets WHERE name = ?1",
                    [&name],
                    |row| row.get::<_, i64>(0),
                )
                .map_err(|e| service(OP, &name, e))?
                > 0;
            if taken {
                return Err(refused(OP, &name, "a secret with this name already exists"));
            }
            let arn = format!(
                "arn:aws:secretsmanager:local:000000000000:secret:{name}-{}",
                &new_id()[..6]
            );
            let now = now_seconds();
            tx.execute(
                "INSERT INTO secrets (arn, name, created_at) VALUES (?1, ?2, ?3)",
                params![arn, name, now],
            )
            .map_err(|e| service(OP, &name, e))?;
            let version = new_id();
            insert_version(tx, OP, &arn, &version, Some(&payload))?;
            attach_stage(tx, OP, &arn, AWSCURRENT, &version)?;
            Ok(arn)
        })
        .await
    }

    /// The part of `RotateSecret` that happens before the function runs:
    /// enables rotation and stages a value-less version `token`
    /// AWSPENDING. Refused while another rotation is incomplete, unless
    /// restarted with the same token, as the service does.
    pub async fn start_rotation(&self, secret_id: &str, token: &str) -> Result<(), StoreError> {
        const OP: &str = "RotateSecret";
        let (id, token) = (secret_id.to_owned(), token.to_owned());
        self.transaction(OP, secret_id, true, move |tx| {
            let arn = find(tx, OP, &id)?;
            tx.execute(
                "UPDATE secrets SET rotation_enabled = 1 WHERE arn = ?1",
                [&arn],
            )
            .map_err(|e| service(OP, &id, e))?;
            let pending = holder_of(tx, OP, &arn, AWSPENDING)?;
            let current = holder_of(tx, OP, &arn, AWSCURRENT)?;
            if version_exists(tx, OP, &arn, &token)? {
                if pending.as_deref() == Some(&token) || current.as_deref() == Some(&token) {
                    return Ok(());
                }
                return Err(refused(
                    OP,
                    &id,
                    "the token names an existing version that is not being rotated",
                ));
            }
            if pending.is_some() && pending != current {
                return Err(refused(OP, &id, "a previous rotation isn't complete"));
            }
            insert_version(tx, OP, &arn, &token, None)?;
            attach_stage(tx, OP, &arn, AWSPENDING, &token)
        })
        .await
    }

    /// `PutSecretValue` without a token, as an operator does by hand: a new
    /// AWSCURRENT version. Like the service, it abandons any rotation in
    /// progress by removing AWSPENDING. Returns the new version's id.
    pub async fn put_by_hand(
        &self,
        secret_id: &str,
        payload: SecretPayload,
    ) -> Result<String, StoreError> {
        const OP: &str = "PutSecretValue";
        let id = secret_id.to_owned();
        self.transaction(OP, secret_id, true, move |tx| {
            let arn = find(tx, OP, &id)?;
            let version = new_id();
            insert_version(tx, OP, &arn, &version, Some(&payload))?;
            tx.execute(
                "DELETE FROM stages WHERE arn = ?1 AND stage = ?2",
                params![arn, AWSPENDING],
            )
            .map_err(|e| service(OP, &id, e))?;
            attach_stage(tx, OP, &arn, AWSCURRENT, &version)?;
            Ok(version)
        })
        .await
    }

    /// Sets a tag on the secret (`TagResource`).
    pub async fn tag_secret(
        &self,
        secret_id: &str,
        key: &str,
        value: &str,
    ) -> Result<(), StoreError> {
        const OP: &str = "TagResource";
        let (id, key, value) = (secret_id.to_owned(), key.to_owned(), value.to_owned());
        self.transaction(OP, secret_id, true, move |tx| {
            let arn = find(tx, OP, &id)?;
            tx.execute(
                "INSERT INTO tags (arn, key, value) VALUES (?1, ?2, ?3)
                 ON CONFLICT (arn, key) DO UPDATE SET value = excluded.value",
                params![arn, key, value],
            )
            .map_err(|e| service(OP, &id, e))?;
            Ok(())
        })
        .await
    }

    /// Turns rotation on (with an interval in days, if given) or off.
    pub async fn set_rotation(
        &self,
        secret_id: &str,
        enabled: bool,
        days: Option<u32>,
    ) -> Result<(), StoreError> {
        const OP: &str = "RotateSecret";
        let id = secret_id.to_owned();
        self.transaction(OP, secret_id, true, move |tx| {
            let arn = find(tx, OP, &id)?;
            tx.execute(
                "UPDATE secrets SET rotation_enabled = ?2,
                     rotation_days = coalesce(?3, rotation_days) WHERE arn = ?1",
                params![arn, enabled, days],
            )
            .map_err(|e| service(OP, &id, e))?;
            Ok(())
        })
        .await
    }

    /// `DeleteSecret` without a recovery window: the secret and every
    /// version are gone.
    pub async fn delete_secret(&self, secret_id: &str) -> Result<(), StoreError> {
        const OP: &str = "DeleteSecret";
        let id = secret_id.to_owned();
        self.transaction(OP, secret_id, true, move |tx| {
            let arn = find(tx, OP, &id)?;
            tx.execute("DELETE FROM secrets WHERE arn = ?1", [&arn])
                .map_err(|e| service(OP, &id, e))?;
            Ok(())
        })
        .await
    }

    /// Every secret, by name.
    pub async fn list(&self) -> Result<Vec<SecretSummary>, StoreError> {
        const OP: &str = "ListSecrets";
        self.transaction(OP, "*", false, move |tx| {
            let mut statement = tx
                .prepare(
                    "SELECT arn, name, rotation_enabled, rotation_days, last_rotated_at, created_at
                     FROM secrets ORDER BY name",
                )
                .map_err(|e| service(OP, "*", e))?;
            let rows = statement
                .query_map([], |row| {
                    Ok(SecretSummary {
                        arn: row.get(0)?,
                        name: row.get(1)?,
                        rotation_enabled: row.get(2)?,
                        rotation_days: row.get(3)?,
                        last_rotated: row.get::<_, Option<i64>>(4)?.map(from_seconds),
                        created: from_seconds(row.get(5)?),
                    })
                })
                .map_err(|e| service(OP, "*", e))?;
            rows.collect::<Result<Vec<_>, _>>()
                .map_err(|e| service(OP, "*", e))
        })
        .await
    }

    /// One secret's summary.
    pub async fn summary(&self, secret_id: &str) -> Result<SecretSummary, StoreError> {
        let arn = self.describe(secret_id).await?.arn;
        self.list()
            .await?
            .into_iter()
            .find(|s| s.arn == arn)
            .ok_or_else(|| StoreError::SecretNotFound {
                operation: "DescribeSecret",
                secret_id: secret_id.to_owned(),
            })
    }

    /// Every version, oldest first, with its stages and creation time but
    /// not its value.
    pub async fn versions(&self, secret_id: &str) -> Result<Vec<VersionInfo>, StoreError> {
        const OP: &str = "ListSecretVersionIds";
        let id = secret_id.to_owned();
        self.transaction(OP, secret_id, false, move |tx| {
            let arn = find(tx, OP, &id)?;
            let mut statement = tx
                .prepare(
                    "SELECT version_id, created_at, kind IS NOT NULL FROM versions
                     WHERE arn = ?1 ORDER BY created_at, rowid",
                )
                .map_err(|e| service(OP, &id, e))?;
            let rows = statement
                .query_map([&arn], |row| {
                    Ok((
                        row.get::<_, String>(0)?,
                        row.get::<_, i64>(1)?,
                        row.get::<_, bool>(2)?,
                    ))
                })
                .map_err(|e| service(OP, &id, e))?
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| service(OP, &id, e))?;
            rows.into_iter()
                .map(|(version_id, created, has_value)| {
                    Ok(VersionInfo {
                        stages: stages_of(tx, OP, &arn, &version_id)?,
                        version_id,
                        created: from_seconds(created),
                        has_value,
                    })
                })
                .collect()
        })
        .await
    }

    /// Every version with its stages (sorted) and value, including
    /// unlabelled ones.
    pub async fn snapshot(
        &self,
        secret_id: &str,
    ) -> Result<BTreeMap<String, VersionSnapshot>, StoreError> {
        const OP: &str = "ListSecretVersionIds";
        let id = secret_id.to_owned();
        self.transaction(OP, secret_id, false, move |tx| {
            let arn = find(tx, OP, &id)?;
            let mut statement = tx
                .prepare("SELECT version_id, kind, value FROM versions WHERE arn = ?1")
                .map_err(|e| service(OP, &id, e))?;
            let versions = statement
                .query_map([&arn], |row| {
                    Ok((
                        row.get::<_, String>(0)?,
                        payload_of(row.get(1)?, row.get(2)?),
                    ))
                })
                .map_err(|e| service(OP, &id, e))?
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| service(OP, &id, e))?;
            let mut snapshot = BTreeMap::new();
            for (version, payload) in versions {
                let mut stages = stages_of(tx, OP, &arn, &version)?;
                stages.sort();
                snapshot.insert(version, VersionSnapshot { stages, payload });
            }
            Ok(snapshot)
        })
        .await
    }
}

/// Refuses `path`, if it exists, when another user owns it or its mode
/// lets its group or others read or write it.
#[cfg(unix)]
fn check_private(path: &Path) -> Result<(), OpenError> {
    use std::os::unix::fs::MetadataExt;
    let metadata = match std::fs::metadata(path) {
        Ok(metadata) => metadata,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(source) => {
            return Err(OpenError::Io {
                path: path.to_path_buf(),
                source,
            })
        }
    };
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    let reason = if metadata.uid() != me {
        format!(
            "it is owned by user {}, not by this user ({me})",
            metadata.uid()
        )
    } else if metadata.mode() & 0o077 != 0 {
        format!(
            "its mode {:o} lets others (its group or everyone) in",
            metadata.mode() & 0o777
        )
    } else {
        return Ok(());
    };
    Err(OpenError::NotPrivate {
        path: path.to_path_buf(),
        reason,
    })
}

#[cfg(not(unix))]
fn check_private(_: &Path) -> Result<(), OpenError> {
    Ok(())
}

/// Creates the file readable and writable by its owner only, if missing.
fn create_owner_only(path: &Path) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

fn classify_open_error(path: &Path, source: rusqlite::Error) -> OpenError {
    match source.sqlite_error_code() {
        Some(ErrorCode::NotADatabase) => OpenError::NotADatabase {
            path: path.to_path_buf(),
        },
        Some(ErrorCode::DatabaseCorrupt) => OpenError::Corrupt {
            path: path.to_path_buf(),
            detail: source.to_string(),
        },
        _ => OpenError::Sqlite {
            path: path.to_path_buf(),
            source,
        },
    }
}

fn find(
    tx: &Transaction<'_>,
    operation: &'static str,
    secret_id: &str,
) -> Result<String, StoreError> {
    tx.query_row(
        "SELECT arn FROM secrets WHERE arn = ?1 OR name = ?1",
        [secret_id],
        |row| row.get(0),
    )
    .optional()
    .map_err(|e| service(operation, secret_id, e))?
    .ok_or_else(|| StoreError::SecretNotFound {
        operation,
        secret_id: secret_id.to_owned(),
    })
}

fn holder_of(
    tx: &Transaction<'_>,
    operation: &'static str,
    arn: &str,
    stage: &str,
) -> Result<Option<String>, StoreError> {
    tx.query_row(
        "SELECT version_id FROM stages WHERE arn = ?1 AND stage = ?2",
        [arn, stage],
        |row| row.get(0),
    )
    .optional()
    .map_err(|e| service(operation, arn, e))
}

fn version_exists(
    tx: &Transaction<'_>,
    operation: &'static str,
    arn: &str,
    version: &str,
) -> Result<bool, StoreError> {
    tx.query_row(
        "SELECT count(*) FROM versions WHERE arn = ?1 AND version_id = ?2",
        [arn, version],
        |row| row.get::<_, i64>(0),
    )
    .map(|n| n > 0)
    .map_err(|e| service(operation, arn, e))
}

fn stages_of(
    tx: &Transaction<'_>,
    operation: &'static str,
    arn: &str,
    version: &str,
) -> Result<Vec<String>, StoreError> {
    let mut statement = tx
        .prepare("SELECT stage FROM stages WHERE arn = ?1 AND version_id = ?2 ORDER BY rowid")
        .map_err(|e| service(operation, arn, e))?;
    let stages = statement
        .query_map([arn, version], |row| row.get(0))
        .map_err(|e| service(operation, arn, e))?
        .collect::<Result<Vec<String>, _>>()
        .map_err(|e| service(operation, arn, e));
    stages
}

fn insert_version(
    tx: &Transaction<'_>,
    operation: &'static str,
    arn: &str,
    version: &str,
    payload: Option<&SecretPayload>,
) -> Result<(), StoreError> {
    let (kind, value): (Option<&str>, Option<&[u8]>) = match payload {
        None => (None, None),
        Some(SecretPayload::String(s)) => (Some("string"), Some(s.expose().as_bytes())),
        Some(SecretPayload::Binary(b)) => (Some("binary"), Some(b.expose())),
    };
    tx.execute(
        "INSERT INTO versions (arn, version_id, kind, value, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![arn, version, kind, value, now_seconds()],
    )
    .map_err(|e| service(operation, arn, e))?;
    Ok(())
}

fn payload_of(kind: Option<String>, value: Option<Vec<u8>>) -> Option<SecretPayload> {
    match (kind.as_deref(), value) {
        (Some("string"), Some(bytes)) => String::from_utf8(bytes)
            .ok()
            .map(|s| SecretPayload::String(SecretString::new(s))),
        (Some("binary"), Some(bytes)) => Some(SecretPayload::Binary(SecretBytes::new(bytes))),
        _ => None,
    }
}

/// Attaches `stage` to `version`, taking it off any other version;
/// AWSCURRENT leaving a version puts AWSPREVIOUS there, and a rotation
/// finishing is recorded.
fn attach_stage(
    tx: &Transaction<'_>,
    operation: &'static str,
    arn: &str,
    stage: &str,
    version: &str,
) -> Result<(), StoreError> {
    let sql = |e| service(operation, arn, e);
    let old = holder_of(tx, operation, arn, stage)?;
    if old.as_deref() == Some(version) {
        return Ok(());
    }
    tx.execute(
        "DELETE FROM stages WHERE arn = ?1 AND stage = ?2",
        [arn, stage],
    )
    .map_err(sql)?;
    if stage == AWSCURRENT {
        tx.execute(
            "DELETE FROM stages WHERE arn = ?1 AND stage = ?2",
            [arn, AWSPREVIOUS],
        )
        .map_err(sql)?;
        if let Some(old) = &old {
            tx.execute(
                "INSERT INTO stages (arn, stage, version_id) VALUES (?1, ?2, ?3)",
                [arn, AWSPREVIOUS, old],
            )
            .map_err(sql)?;
            tx.execute(
                "UPDATE secrets SET last_rotated_at = ?2 WHERE arn = ?1",
                params![arn, now_seconds()],
            )
            .map_err(sql)?;
        }
    }
    tx.execute(
        "INSERT INTO stages (arn, stage, version_id) VALUES (?1, ?2, ?3)",
        [arn, stage, version],
    )
    .map_err(sql)?;
    Ok(())
}

#[async_trait]
impl SecretStore for EmbeddedSecretStore {
    async fn describe(&self, secret_id: &str) -> Result<SecretDescription, StoreError> {
        const OP: &str = "DescribeSecret";
        let id = secret_id.to_owned();
        self.transaction(OP, secret_id, false, move |tx| {
            let arn = find(tx, OP, &id)?;
            let rotation_enabled: bool = tx
                .query_row(
                    "SELECT rotation_enabled FROM secrets WHERE arn = ?1",
                    [&arn],
                    |row| row.get(0),
                )
                .map_err(|e| service(OP, &id, e))?;
            let mut versions: BTreeMap<String, Vec<String>> = BTreeMap::new();
            let mut statement = tx
                .prepare("SELECT version_id, stage FROM stages WHERE arn = ?1 ORDER BY rowid")
                .map_err(|e| service(OP, &id, e))?;
            let rows = statement
                .query_map([&arn], |row| Ok((row.get::<_, String>(0)?, row.get(1)?)))
                .map_err(|e| service(OP, &id, e))?;
            for row in rows {
                let (version, stage) = row.map_err(|e| service(OP, &id, e))?;
                versions.entry(version).or_default().push(stage);
            }
            let mut statement = tx
                .prepare("SELECT key, value FROM tags WHERE arn = ?1")
                .map_err(|e| service(OP, &id, e))?;
            let tags = statement
                .query_map([&arn], |row| Ok((row.get(0)?, row.get(1)?)))
                .map_err(|e| service(OP, &id, e))?
                .collect::<Result<BTreeMap<String, String>, _>>()
                .map_err(|e| service(OP, &id, e))?;
            Ok(SecretDescription {
                arn,
                rotation_enabled,
                versions,
                tags,
            })
        })
        .await
    }

    async fn get_value(
        &self,
        secret_id: &str,
        version: VersionSelector<'_>,
    ) -> Result<Option<SecretVersion>, StoreError> {
        const OP: &str = "GetSecretValue";
        let id = secret_id.to_owned();
        let (by_id, by_stage) = match version {
            VersionSelector::Id(v) => (Some(v.to_owned()), None),
            VersionSelector::Stage(s) => (None, Some(s.to_owned())),
            VersionSelector::IdAndStage(v, s) => (Some(v.to_owned()), Some(s.to_owned())),
        };
        self.transaction(OP, secret_id, false, move |tx| {
            let arn = find(tx, OP, &id)?;
            let version = match (&by_id, &by_stage) {
                (Some(v), None) => Some(v.clone()),
                (_, Some(stage)) => holder_of(tx, OP, &arn, stage)?
                    .filter(|holder| by_id.as_ref().is_none_or(|v| v == holder)),
                (None, None) => None,
            };
            let Some(version) = version else {
                return Ok(None);
            };
            type Stored = (Option<String>, Option<Vec<u8>>, i64, String);
            let stored: Option<Stored> = tx
                .query_row(
                    "SELECT v.kind, v.value, v.created_at, s.name
                     FROM versions v JOIN secrets s ON s.arn = v.arn
                     WHERE v.arn = ?1 AND v.version_id = ?2",
                    [&arn, &version],
                    |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)),
                )
                .optional()
                .map_err(|e| service(OP, &id, e))?;
            let Some((kind, value, created, name)) = stored else {
                return Ok(None);
            };
            let Some(payload) = payload_of(kind, value) else {
                return Ok(None);
            };
            let stages = stages_of(tx, OP, &arn, &version)?;
            Ok(Some(SecretVersion {
                arn,
                name,
                created: Some(from_seconds(created)),
                version_id: version,
                stages,
                payload,
            }))
        })
        .await
    }

    async fn put_value(&self, secret_id: &str, put: PutValue<'_>) -> Result<(), StoreError> {
        const OP: &str = "PutSecretValue";
        let id = secret_id.to_owned();
        let version = put.version_id.to_owned();
        let value = put.value.clone();
        let stages: Vec<String> = if put.stages.is_empty() {
            vec![AWSCURRENT.to_owned()]
        } else {
            put.stages.iter().map(|s| (*s).to_owned()).collect()
        };
        self.transaction(OP, secret_id, true, move |tx| {
            let arn = find(tx, OP, &id)?;
            let payload = SecretPayload::String(value);
            let stored: Option<(Option<String>, Option<Vec<u8>>)> = tx
                .query_row(
                    "SELECT kind, value FROM versions WHERE arn = ?1 AND version_id = ?2",
                    [&arn, &version],
                    |row| Ok((row.get(0)?, row.get(1)?)),
                )
                .optional()
                .map_err(|e| service(OP, &id, e))?;
            match stored {
                Some((kind, value)) => match payload_of(kind, value) {
                    Some(existing) if existing == payload => return Ok(()),
                    Some(_) => {
                        return Err(StoreError::VersionExists {
                            operation: OP,
                            secret_id: id.clone(),
                            version_id: version.clone(),
                        })
                    }
                    None => {
                        let SecretPayload::String(text) = &payload else {
                            unreachable!("put_value stores strings")
                        };
                        tx.execute(
                            "UPDATE versions SET kind = 'string', value = ?3
                             WHERE arn = ?1 AND version_id = ?2",
                            params![arn, version, text.expose().as_bytes()],
                        )
                        .map_err(|e| service(OP, &id, e))?;
                    }
                },
                None => insert_version(tx, OP, &arn, &version, Some(&payload))?,
            }
            for stage in &stages {
                attach_stage(tx, OP, &arn, stage, &version)?;
            }
            Ok(())
        })
        .await
    }

    async fn move_stage(&self, secret_id: &str, change: MoveStage<'_>) -> Result<(), StoreError> {
        const OP: &str = "UpdateSecretVersionStage";
        let id = secret_id.to_owned();
        let stage = change.stage.to_owned();
        let to = change.to_version.to_owned();
        let from = change.from_version.map(str::to_owned);
        self.transaction(OP, secret_id, true, move |tx| {
            let arn = find(tx, OP, &id)?;
            if !version_exists(tx, OP, &arn, &to)? {
                return Err(refused(OP, &id, format!("version {to} does not exist")));
            }
            let holder = holder_of(tx, OP, &arn, &stage)?;
            // As the service: RemoveFromVersionId is checked first.
            if let Some(from) = &from {
                if holder.as_deref() != Some(from) {
                    return Err(refused(
                        OP,
                        &id,
                        format!("version {from} does not hold stage {stage}"),
                    ));
                }
            }
            if holder.as_deref() == Some(&to) {
                return Ok(());
            }
            if let Some(holder) = holder.filter(|h| Some(h) != from.as_ref()) {
                return Err(refused(
                    OP,
                    &id,
                    format!(
                        "stage {stage} is attached to version {holder}; name it as the version to remove it from"
                    ),
                ));
            }
            attach_stage(tx, OP, &arn, &stage, &to)
        })
        .await
    }
}
