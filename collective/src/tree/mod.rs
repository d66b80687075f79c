//! The synchronized tree (DESIGN.md §6, docs/design/0005): `<data>/tree/`
//! identical on every member.
//!
//! Shape: the *manifest* (path → hash, size, mode, or symlink target) is
//! replicated state, changed by `TreePut`/`TreeRemove` through Raft; the
//! *bytes* are content-addressed blobs ([`blobs`]) that each member fetches
//! from its peers by hash ([`fetch`]) and then *materializes* as files
//! ([`materialize`]). A per-member task ([`sync`]) closes the gap between
//! the manifest and the disk whenever either changes, collects blobs no
//! longer referenced, and scrubs what is on disk at start. [`view`] answers
//! the HTTPS server from the manifest and what is in place; [`bundle`]
//! derives the trust bundle from the member table.
//!
//! Alternatives rejected: putting file contents in the Raft log (a 4 GiB
//! ISO through every follower's log and snapshots, and the log would be
//! the bottleneck for boot files); rsync between members (no atomic
//! all-or-nothing change, no single source of truth for "what should be
//! here"); a shared file system (one more service to run, and the tree
//! must be served when a member is cut off).
//!
//! This module holds [`Tree`], the handle the services share: the blob
//! store, the per-member status, and what the sync last placed.

pub mod blobs;
pub mod bundle;
pub mod fetch;
pub mod materialize;
pub mod sync;
pub mod view;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use blobs::{BlobError, BlobStore};
use materialize::{Placed, Want};

pub use view::ManifestView;

/// This member's side of the synchronized tree.
pub struct Tree {
    /// `<data>/tree`.
    root: PathBuf,
    /// `<data>/member/tree-paths.json`: the paths this member put in the
    /// tree, so it removes what the manifest drops and nothing else.
    record: PathBuf,
    blobs: BlobStore,
    shared: Mutex<Shared>,
    /// Wakes the sync task (a blob arrived by upload, the scrubber removed
    /// a corrupt one).
    wake: tokio::sync::Notify,
}

/// What the services read while the sync task writes it.
#[derive(Default)]
struct Shared {
    status: Status,
    /// Files in place, by tree path, as last checked.
    placed: HashMap<String, Placed>,
    /// Files this member derives itself (the trust bundle).
    derived: Arc<BTreeMap<String, Want>>,
}

/// This member's progress, as `cohort tree status` shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Status {
    /// Files of the manifest not in place.
    pub files_missing: u64,
    /// Bytes of blobs this member still lacks.
    pub bytes_to_fetch: u64,
    /// The last error and when (Unix ms).
    pub last_error: Option<(String, u64)>,
}

impl Tree {
    /// Opens the tree of the data directory `data_dir` (blob store under
    /// `member/blobs`, files under `tree/`).
    pub fn open(data_dir: &Path) -> Result<Tree, BlobError> {
        Ok(Tree {
            root: data_dir.join("tree"),
            record: data_dir.join("member").join("tree-paths.json"),
            blobs: BlobStore::open(data_dir.join("member").join("blobs"))?,
            shared: Mutex::new(Shared::default()),
            wake: tokio::sync::Notify::new(),
        })
    }

    fn shared(&self) -> std::sync::MutexGuard<'_, Shared> {
        self.shared.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn blobs(&self) -> &BlobStore {
        &self.blobs
    }

    /// This member's status.
    pub fn status(&self) -> Status {
        self.shared().status.clone()
    }

    /// Records an error for `cohort tree status` (and the log).
    fn error(&self, message: String) {
        tracing::warn!(error = %message, "tree sync");
        self.shared().status.last_error = Some((message, unix_ms()));
    }

    /// Asks the sync task to look again now.
    pub fn wake(&self) {
        self.wake.notify_one();
    }
}

/// Wall-clock milliseconds, for error times.
fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}
