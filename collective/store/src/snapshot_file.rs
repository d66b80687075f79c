//! The one persisted snapshot of a member: `<dir>/current`, replaced
//! atomically through `<dir>/current.tmp` (write, `fdatasync`, rename,
//! `fsync` the directory), so a crash leaves either the old or the new one.
//!
//! File format: `[1]` + bincode of [`SnapshotFile`] (metadata and the
//! snapshot data exactly as members exchange it). Blocking functions: call
//! them from `spawn_blocking`.
//!
//! Only one snapshot is kept: openraft never needs an older one, and the
//! log after it is kept by openraft's purge policy.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use serde::{Deserialize, Serialize};

use crate::codec;
use crate::{SnapshotMeta, StoreError};

const CURRENT: &str = "current";
const TEMP: &str = "current.tmp";

#[derive(Deserialize)]
struct SnapshotFile {
    meta: SnapshotMeta,
    data: Vec<u8>,
}

/// What [`SnapshotFile`] decodes, borrowed (same bytes: bincode writes a
/// slice and a `Vec` alike).
#[derive(Serialize)]
struct SnapshotFileRef<'a> {
    meta: &'a SnapshotMeta,
    data: &'a [u8],
}

/// A snapshot as stored: its metadata and its data.
pub(crate) type Stored = (SnapshotMeta, Vec<u8>);

/// Whether a save may replace a snapshot that covers more of the log.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Replace {
    /// A locally built snapshot: never replaces a newer one (an install may
    /// have overtaken a slow build).
    IfNotOlder,
    /// An installed snapshot: it now is the state, so it is the snapshot.
    Always,
}

pub(crate) struct SnapshotDir {
    dir: PathBuf,
    /// Metadata of `current`; the lock also serializes writers.
    current: Mutex<Option<SnapshotMeta>>,
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::SnapshotIo {
        path: path.to_path_buf(),
        source,
    }
}

fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err(dir))
}

impl SnapshotDir {
    /// Opens (creating) the directory and reads the current snapshot, if any.
    pub(crate) fn open(dir: &Path) -> Result<(SnapshotDir, Option<Stored>), StoreError> {
        std::fs::create_dir_all(dir).map_err(io_err(dir))?;
        if let Some(parent) = dir.parent() {
            sync_dir(parent)?;
        }
        // A crash between write and rename leaves this; it was never current.
        let temp = dir.join(TEMP);
        match std::fs::remove_file(&temp) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_err(&temp)(e)),
        }
        let snapshots = SnapshotDir {
            dir: dir.to_path_buf(),
            current: Mutex::new(None),
        };
        let loaded = snapshots.load()?;
        *snapshots.lock() = loaded.as_ref().map(|(meta, _)| meta.clone());
        Ok((snapshots, loaded))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<SnapshotMeta>> {
        self.current.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Reads the current snapshot file.
    pub(crate) fn load(&self) -> Result<Option<Stored>, StoreError> {
        let path = self.dir.join(CURRENT);
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_err(&path)(e)),
        };
        let file: SnapshotFile =
            codec::decode(&bytes).map_err(|source| StoreError::SnapshotFile { path, source })?;
        Ok(Some((file.meta, file.data)))
    }

    /// Makes `(meta, data)` the current snapshot, durably. Returns false if
    /// `replace` forbade it (a newer snapshot is current).
    pub(crate) fn save(
        &self,
        meta: &SnapshotMeta,
        data: &[u8],
        replace: Replace,
    ) -> Result<bool, StoreError> {
        let mut current = self.lock();
        if replace == Replace::IfNotOlder
            && let Some(cur) = current.as_ref()
            && cur.last_log_id > meta.last_log_id
        {
            return Ok(false);
        }
        let file = SnapshotFileRef { meta, data };
        let temp = self.dir.join(TEMP);
        let bytes = codec::encode(&file).map_err(|source| StoreError::SnapshotFile {
            path: temp.clone(),
            source,
        })?;
        let mut f = File::create(&temp).map_err(io_err(&temp))?;
        f.write_all(&bytes)
            .and_then(|()| f.sync_data())
            .map_err(io_err(&temp))?;
        drop(f);
        let path = self.dir.join(CURRENT);
        std::fs::rename(&temp, &path).map_err(io_err(&path))?;
        sync_dir(&self.dir)?;
        *current = Some(meta.clone());
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::LogId;

    fn meta(index: u64) -> SnapshotMeta {
        let last_log_id = Some(LogId::new(openraft::CommittedLeaderId::new(1, 1), index));
        SnapshotMeta {
            last_log_id,
            snapshot_id: format!("s{index}"),
            ..Default::default()
        }
    }

    #[test]
    fn an_older_build_never_replaces_a_newer_snapshot() {
        let dir = tempfile::tempdir().unwrap();
        let (snapshots, loaded) = SnapshotDir::open(dir.path()).unwrap();
        assert!(loaded.is_none());
        assert!(
            snapshots
                .save(&meta(10), b"ten", Replace::IfNotOlder)
                .unwrap()
        );
        // A build that started before an install of index 10 finishes late.
        assert!(
            !snapshots
                .save(&meta(5), b"five", Replace::IfNotOlder)
                .unwrap()
        );
        assert_eq!(snapshots.load().unwrap(), Some((meta(10), b"ten".to_vec())));
        // An install is the state: it always becomes the snapshot.
        assert!(snapshots.save(&meta(3), b"three", Replace::Always).unwrap());
        drop(snapshots);
        let (_, loaded) = SnapshotDir::open(dir.path()).unwrap();
        assert_eq!(loaded, Some((meta(3), b"three".to_vec())));
        assert!(!dir.path().join(TEMP).exists());
    }
}
