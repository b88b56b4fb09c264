//! The embedded (SQLite) store: the store contract and the conformance kit
//! on it, values surviving a reopen, two handles on one file racing, the
//! file's mode, and files that are not a store.

use std::sync::Arc;

use rotation_core::secret::SecretPayload;
use rotation_core::store::embedded::{EmbeddedSecretStore, OpenError};
use rotation_core::store::{SecretStore, VersionSelector, AWSCURRENT, AWSPENDING};
use rotation_core::testkit::conformance::{self, run_all};
use rotation_core::testkit::reference::TableHarness;
use rotation_core::testkit::{store_contract, KnownGaps, SecretAdmin};
use rotation_core::SecretString;

fn temporary_store() -> (tempdir::Dir, EmbeddedSecretStore) {
    let dir = tempdir::Dir::new();
    let store = EmbeddedSecretStore::open(dir.path().join("secrets.db")).expect("open a new store");
    (dir, store)
}

fn text(value: &str) -> SecretPayload {
    SecretPayload::String(SecretString::new(value))
}

/// A directory removed when dropped.
mod tempdir {
    use std::path::{Path, PathBuf};

    pub struct Dir(PathBuf);

    impl Dir {
        pub fn new() -> Self {
            let path = std::env::temp_dir().join(rotation_core::testkit::unique_name("store"));
            std::fs::create_dir_all(&path).expect("create a temporary directory");
            Self(path)
        }

        pub fn path(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

#[tokio::test]
async fn embedded_store_meets_the_store_contract() {
    let (_dir, store) = temporary_store();
    store_contract::run_all(&store, KnownGaps::default()).await;
}

#[tokio::test]
async fn reference_rotator_passes_the_conformance_kit_on_the_embedded_store() {
    let (_dir, store) = temporary_store();
    let store: Arc<dyn SecretAdmin> = Arc::new(store);
    let report = run_all(&TableHarness::default(), store).await;
    conformance::assert_covered(&report, &[]);
}

#[tokio::test]
async fn values_and_labels_survive_reopening_the_file() {
    let (dir, store) = temporary_store();
    let arn = store.create_secret("app", text("v1")).await.unwrap();
    store.start_rotation("app", "token-2").await.unwrap();
    drop(store);
    let store = EmbeddedSecretStore::open(dir.path().join("secrets.db")).unwrap();
    let described = store.describe("app").await.unwrap();
    assert_eq!(described.arn, arn);
    assert!(described.rotation_enabled);
    assert!(described.has_stage("token-2", AWSPENDING));
    let current = store
        .get_value(&arn, VersionSelector::Stage(AWSCURRENT))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(current.payload, text("v1"));
    // The pending placeholder has no value.
    assert!(store
        .get_value("app", VersionSelector::Id("token-2"))
        .await
        .unwrap()
        .is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_handles_racing_to_start_a_rotation_start_exactly_one() {
    let (dir, first) = temporary_store();
    let second = EmbeddedSecretStore::open(dir.path().join("secrets.db")).unwrap();
    first.create_secret("app", text("v1")).await.unwrap();
    let mut racing = Vec::new();
    for n in 0..40 {
        let store = if n % 2 == 0 {
            first.clone()
        } else {
            second.clone()
        };
        racing.push(tokio::spawn(async move {
            store.start_rotation("app", &format!("token-{n}")).await
        }));
    }
    let mut started = 0;
    for race in racing {
        match race.await.unwrap() {
            Ok(()) => started += 1,
            Err(error) => assert!(error.to_string().contains("isn't complete"), "{error}"),
        }
    }
    assert_eq!(started, 1);
    let described = second.describe("app").await.unwrap();
    let pending: Vec<_> = described
        .versions
        .iter()
        .filter(|(_, stages)| stages.iter().any(|s| s == AWSPENDING))
        .collect();
    assert_eq!(pending.len(), 1, "{described:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn values_put_from_two_handles_at_once_all_land() {
    let (dir, first) = temporary_store();
    let second = EmbeddedSecretStore::open(dir.path().join("secrets.db")).unwrap();
    first.create_secret("app", text("v0")).await.unwrap();
    let mut writers = Vec::new();
    for n in 0..40 {
        let store = if n % 2 == 0 {
            first.clone()
        } else {
            second.clone()
        };
        writers.push(tokio::spawn(async move {
            store.put_by_hand("app", text(&format!("v{}", n + 1))).await
        }));
    }
    for writer in writers {
        writer.await.unwrap().unwrap();
    }
    let snapshot = first.snapshot("app").await.unwrap();
    assert_eq!(snapshot.len(), 41);
    let labelled: Vec<_> = snapshot.values().filter(|v| !v.stages.is_empty()).collect();
    // Exactly one AWSCURRENT and one AWSPREVIOUS, whatever the order.
    assert_eq!(labelled.len(), 2, "{snapshot:?}");
}

#[cfg(unix)]
#[tokio::test]
async fn a_new_store_and_its_log_are_readable_by_their_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let (dir, store) = temporary_store();
    // With the store open after a write, SQLite's write-ahead log and
    // shared-memory files exist too, and hold values as well.
    store.create_secret("app", text("v1")).await.unwrap();
    for file in ["secrets.db", "secrets.db-wal", "secrets.db-shm"] {
        let mode = std::fs::metadata(dir.path().join(file))
            .unwrap_or_else(|e| panic!("{file}: {e}"))
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{file}: mode {:o}", mode & 0o777);
    }
}

/// Mode 0600, as the store makes its files, so a test reaches the check
/// it is about.
fn owner_only(path: &std::path::Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    #[cfg(not(unix))]
    let _ = path;
}

#[test]
fn a_file_that_is_not_a_store_is_refused_by_path() {
    let dir = tempdir::Dir::new();
    let text_file = dir.path().join("notes.txt");
    std::fs::write(&text_file, "x".repeat(4096)).unwrap();
    owner_only(&text_file);
    let error = EmbeddedSecretStore::open(&text_file).unwrap_err();
    assert!(matches!(error, OpenError::NotADatabase { .. }), "{error:?}");
    assert!(error.to_string().contains("notes.txt"), "{error}");

    let other = dir.path().join("other.db");
    rusqlite::Connection::open(&other)
        .and_then(|c| c.execute_batch("CREATE TABLE notes (body TEXT)"))
        .expect("make another program's database");
    owner_only(&other);
    let error = EmbeddedSecretStore::open(&other).unwrap_err();
    assert!(matches!(error, OpenError::NotOurs { .. }), "{error:?}");
    assert!(error.to_string().contains("other.db"), "{error}");
    // Neither file was changed.
    assert_eq!(
        std::fs::read(&text_file).unwrap(),
        "x".repeat(4096).as_bytes()
    );
}

#[tokio::test]
async fn a_damaged_store_is_refused() {
    let (dir, store) = temporary_store();
    for n in 0..50 {
        store
            .create_secret(&format!("app-{n}"), text(&"v".repeat(500)))
            .await
            .unwrap();
    }
    drop(store);
    let path = dir.path().join("secrets.db");
    // Fold the write-ahead log into the file, then overwrite its pages
    // after the header.
    let _ = EmbeddedSecretStore::open(&path).unwrap();
    let mut bytes = std::fs::read(&path).unwrap();
    for byte in bytes.iter_mut().skip(4096 + 100).take(8192) {
        *byte = 0xA5;
    }
    std::fs::write(&path, &bytes).unwrap();
    let _ = std::fs::remove_file(dir.path().join("secrets.db-wal"));
    let _ = std::fs::remove_file(dir.path().join("secrets.db-shm"));
    let error = EmbeddedSecretStore::open(&path).unwrap_err();
    assert!(matches!(error, OpenError::Corrupt { .. }), "{error:?}");
    assert!(error.to_string().contains("secrets.db"), "{error}");
}

/// Someone else prepared the file (or its write-ahead log) where the
/// operator will open a store: readable by others, or owned by another
/// user. Opening it would write the operator's secrets where they can read
/// them, so it is refused, naming the file and why, and nothing is written.
#[cfg(unix)]
#[tokio::test]
async fn a_store_file_or_log_others_could_read_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let (dir, store) = temporary_store();
    store.create_secret("app", text("v1")).await.unwrap();
    drop(store);
    let path = dir.path().join("secrets.db");
    let _ = std::fs::remove_file(dir.path().join("secrets.db-wal"));
    let _ = std::fs::remove_file(dir.path().join("secrets.db-shm"));

    for (file, mode) in [
        ("secrets.db", 0o644),
        ("secrets.db", 0o660),
        ("secrets.db-wal", 0o604),
    ] {
        let target = dir.path().join(file);
        if !target.exists() {
            std::fs::write(&target, b"").unwrap();
        }
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(mode)).unwrap();
        let before = std::fs::read(&path).unwrap();
        let error = EmbeddedSecretStore::open(&path).unwrap_err();
        assert!(
            matches!(error, OpenError::NotPrivate { .. }),
            "{file} {mode:o}: {error:?}"
        );
        let message = error.to_string();
        assert!(
            message.contains(file) && message.contains("others"),
            "{message}"
        );
        assert_eq!(
            before,
            std::fs::read(&path).unwrap(),
            "{file} {mode:o}: the store changed"
        );
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let _ = std::fs::remove_file(dir.path().join("secrets.db-wal"));
    EmbeddedSecretStore::open(&path).expect("the same files, private again, open");
}

/// A store file owned by another user is refused even at mode 0600: its
/// owner can read it. Changing a file's owner needs root, so this runs
/// where the tests run as root (CI) and says so where they do not.
#[cfg(unix)]
#[test]
fn a_store_file_owned_by_another_user_is_refused() {
    use std::os::unix::fs::MetadataExt;
    let dir = tempdir::Dir::new();
    let path = dir.path().join("secrets.db");
    drop(EmbeddedSecretStore::open(&path).unwrap());
    let me = std::fs::metadata(&path).unwrap().uid();
    if me != 0 {
        println!("skipped: changing a file's owner needs root (uid {me})");
        return;
    }
    std::os::unix::fs::chown(&path, Some(65534), None).unwrap();
    let error = EmbeddedSecretStore::open(&path).unwrap_err();
    assert!(matches!(error, OpenError::NotPrivate { .. }), "{error:?}");
    assert!(error.to_string().contains("owned by user 65534"), "{error}");
}
