//! [`KvBackend`] on sled 0.34.7: the only code in cohort that names sled.
//!
//! sled keeps everything of a `Db` in one directory:
//!
//! - `db`: the log-structured data file (all trees share it);
//! - `conf`: written once at creation;
//! - `blobs/<lsn>`: values too large to inline, written with no sync at all;
//! - `snap.<lsn>`: sled's own recovery snapshots (synced by sled, renamed
//!   into place without syncing the directory).
//!
//! `Db::flush` writes sled's buffers and calls `sync_file_range` on `db`:
//! survives a process crash, not a power cut (spacejam/sled#1452). So
//! [`SledBackend::persist`] follows it with `fdatasync` on each blob it has
//! not synced yet (blobs are immutable once written), then on `db`, and
//! `fsync` on a directory whose listing changed since the last round. At
//! open, everything present is synced once, so the sets start complete.
//!
//! What this cannot fix: sled writes a blob without syncing it and then a
//! pointer to it into `db`, and the kernel may write `db` back first; a
//! power cut in that window (before our round) can leave `db` pointing at
//! a torn blob, which sled reports as corruption at open. Blobs are only
//! used for pages over ~128 KiB (segment size / 4), which log entries of
//! admin commands do not reach.
//!
//! Settings: `Mode::LowSpace` (sled's default; the high-throughput mode
//! trades space, which sled already wastes) and a 64 MiB cache instead of
//! the 1 GiB default: the log is read mostly near its tail.

use std::collections::BTreeSet;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use crate::backend::{BackendError, KvBackend, KvPair, WriteOp};

/// Name of the one tree holding every key space.
const TREE: &str = "raft";
const CACHE_BYTES: u64 = 64 << 20;

/// A sled database in one directory, made power-loss durable by
/// [`KvBackend::persist`].
pub struct SledBackend {
    dir: PathBuf,
    // Held so that the `db` handle outlives every tree handle use.
    _db: sled::Db,
    tree: sled::Tree,
    /// A second descriptor on sled's data file, only for `fdatasync` (which
    /// acts on the file, whatever descriptor it comes through).
    data_file: File,
    synced: Mutex<Synced>,
}

/// Which directory entries are known to be durable.
#[derive(Default)]
struct Synced {
    root: BTreeSet<String>,
    blobs: BTreeSet<String>,
}

fn store_err(op: &'static str) -> impl FnOnce(sled::Error) -> BackendError {
    move |e| BackendError::Store {
        op,
        source: Box::new(e),
    }
}

fn sync_err(path: &Path) -> impl FnOnce(std::io::Error) -> BackendError + '_ {
    move |source| BackendError::Sync {
        path: path.to_path_buf(),
        source,
    }
}

impl SledBackend {
    /// Opens or creates the database in `dir`. Blocking (sled recovers its
    /// log here). Fails if another process holds the directory.
    pub fn open(dir: &Path) -> Result<SledBackend, BackendError> {
        std::fs::create_dir_all(dir).map_err(sync_err(dir))?;
        let db = sled::Config::new()
            .path(dir)
            .mode(sled::Mode::LowSpace)
            .cache_capacity(CACHE_BYTES)
            .open()
            .map_err(store_err("open the database"))?;
        let tree = db.open_tree(TREE).map_err(store_err("open the tree"))?;
        let data_path = dir.join("db");
        let data_file = File::open(&data_path).map_err(sync_err(&data_path))?;
        let backend = SledBackend {
            dir: dir.to_path_buf(),
            _db: db,
            tree,
            data_file,
            synced: Mutex::new(Synced::default()),
        };
        // The directory itself was just created (or not): sync its parent
        // entry too, then everything inside once.
        if let Some(parent) = dir.parent() {
            sync_dir(parent)?;
        }
        backend.persist()?;
        Ok(backend)
    }

    /// `fdatasync`s what sled's flush left in the page cache or the drive's
    /// cache. See the module comment.
    fn sync_files(&self) -> Result<(), BackendError> {
        let mut synced = self.synced.lock().unwrap_or_else(PoisonError::into_inner);
        // Blobs before `db`, which points at them: when the `db` sync ends,
        // every blob written before this round is durable too.
        let blob_dir = self.dir.join("blobs");
        if sync_new_files(&blob_dir, &mut synced.blobs)? {
            sync_dir(&blob_dir)?;
        }
        self.data_file
            .sync_data()
            .map_err(sync_err(&self.dir.join("db")))?;
        if sync_new_files(&self.dir, &mut synced.root)? {
            sync_dir(&self.dir)?;
        }
        Ok(())
    }
}

/// `fdatasync`s every regular file in `dir` not in `known`, then makes
/// `known` the current listing. Returns whether the listing changed (then
/// the directory itself needs an `fsync`).
fn sync_new_files(dir: &Path, known: &mut BTreeSet<String>) -> Result<bool, BackendError> {
    let mut now = BTreeSet::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(sync_err(dir)(e)),
    };
    for entry in entries {
        let entry = entry.map_err(sync_err(dir))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let is_file = entry.file_type().map(|t| t.is_file()).unwrap_or(false);
        if is_file && !known.contains(&name) {
            let path = entry.path();
            match File::open(&path) {
                Ok(f) => f.sync_data().map_err(sync_err(&path))?,
                // sled garbage-collected it meanwhile: nothing to keep.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(sync_err(&path)(e)),
            }
        }
        now.insert(name);
    }
    let changed = now != *known;
    *known = now;
    Ok(changed)
}

fn sync_dir(dir: &Path) -> Result<(), BackendError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(sync_err(dir))
}

fn to_pairs(iter: sled::Iter) -> Result<Vec<KvPair>, BackendError> {
    iter.map(|kv| kv.map(|(k, v)| (k.to_vec(), v.to_vec())))
        .collect::<Result<_, _>>()
        .map_err(store_err("read a range"))
}

impl KvBackend for SledBackend {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, BackendError> {
        let value = self.tree.get(key).map_err(store_err("read a key"))?;
        Ok(value.map(|v| v.to_vec()))
    }

    fn range(&self, start: &[u8], end: &[u8]) -> Result<Vec<KvPair>, BackendError> {
        if start >= end {
            return Ok(Vec::new());
        }
        to_pairs(self.tree.range(start..end))
    }

    fn last_in(&self, start: &[u8], end: &[u8]) -> Result<Option<KvPair>, BackendError> {
        if start >= end {
            return Ok(None);
        }
        let last = self.tree.range(start..end).next_back().transpose();
        let last = last.map_err(store_err("read the last key"))?;
        Ok(last.map(|(k, v)| (k.to_vec(), v.to_vec())))
    }

    fn write(&self, mut ops: Vec<WriteOp>) -> Result<(), BackendError> {
        // One put or delete is atomic by itself. sled's batches are not
        // free: `apply_batch` seals the current log buffer before and after
        // the batch, each seal a write handed to one of sled's I/O threads,
        // and a lone write per Raft entry is the common case (profiles at 1
        // and 64 writers put a quarter of the member's CPU in those
        // threads).
        if ops.len() == 1 {
            match ops.pop() {
                Some(WriteOp::Put { key, value }) => {
                    self.tree
                        .insert(key, value)
                        .map_err(store_err("write a key"))?;
                    return Ok(());
                }
                Some(WriteOp::Delete { key }) => {
                    self.tree.remove(key).map_err(store_err("remove a key"))?;
                    return Ok(());
                }
                Some(range) => ops.push(range),
                None => {}
            }
        }
        let mut batch = sled::Batch::default();
        for op in ops {
            match op {
                WriteOp::Put { key, value } => batch.insert(key, value),
                WriteOp::Delete { key } => batch.remove(key),
                // The log store is the only writer, so the keys read here
                // are still the keys when the batch applies.
                WriteOp::DeleteRange { start, end } => {
                    if start < end {
                        for key in self.tree.range(start..end).keys() {
                            batch.remove(key.map_err(store_err("list keys to delete"))?);
                        }
                    }
                }
            }
        }
        self.tree
            .apply_batch(batch)
            .map_err(store_err("write a batch"))
    }

    fn persist(&self) -> Result<(), BackendError> {
        // Flushing one tree flushes the whole Db: all trees share one log.
        self.tree.flush().map_err(store_err("flush"))?;
        self.sync_files()
    }
}
