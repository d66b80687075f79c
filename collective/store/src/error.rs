//! Errors of opening the store and of refused snapshot data.
//!
//! Inside openraft's trait methods every failure becomes openraft's
//! `StorageError`, which stops the Raft member; the types here are for the
//! binary, which opens the store and can check snapshot bytes itself.

use std::path::PathBuf;

use crate::backend::BackendError;
use crate::codec::CodecError;

/// The store cannot be opened. All variants are fatal for start-up: log the
/// whole source chain and exit; none is cured by retrying in-process.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The Raft data directory cannot be created or synced: fix its
    /// permissions or the disk.
    #[error("cannot use the Raft data directory {path}")]
    Dir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The log store at `path` would not open: another cohort holds the
    /// directory (stop it), the disk fails, or sled's files are corrupt
    /// (remove this member from the collective, wipe `raft/`, rejoin).
    #[error("cannot open the Raft log store in {path}")]
    Backend {
        path: PathBuf,
        #[source]
        source: BackendError,
    },
    /// Reading or writing the opened log store failed (disk failing or
    /// store corrupt; same remedy as `Backend`).
    #[error("the Raft log store failed")]
    Log(#[source] BackendError),
    /// The log store was written by a cohort with another key layout: run
    /// that cohort version (or newer), or wipe and rejoin.
    #[error(
        "the Raft log store has layout version {found}; this cohort reads only version {supported}"
    )]
    UnsupportedLayout { found: u8, supported: u8 },
    /// The snapshot directory cannot be created, read or written.
    #[error("cannot use the snapshot file or directory {path}")]
    SnapshotIo {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The stored snapshot file does not decode: corrupt, or written by a
    /// newer cohort. The log before it may be purged, so it cannot be
    /// rebuilt locally: remove this member, wipe `raft/`, rejoin.
    #[error("the snapshot file {path} is unreadable")]
    SnapshotFile {
        path: PathBuf,
        #[source]
        source: CodecError,
    },
    /// The stored snapshot's data is refused (see [`SnapshotDataError`]);
    /// same remedy as `SnapshotFile`.
    #[error("the snapshot in {path} is refused")]
    SnapshotData {
        path: PathBuf,
        #[source]
        source: SnapshotDataError,
    },
    /// The sync thread could not be started (out of threads or memory).
    #[error("cannot start the storage sync thread")]
    Thread(#[source] std::io::Error),
    /// The runtime shut down while the store was opening.
    #[error("the runtime shut down while opening the store")]
    Cancelled,
}

/// Snapshot data (as sent between members) that cannot become the state.
/// From a peer: not fatal for this member; drop the transfer and let the
/// leader resend (and look at the sender: it may run another version).
#[derive(Debug, thiserror::Error)]
pub enum SnapshotDataError {
    #[error("the snapshot data is empty")]
    Empty,
    #[error("snapshot data format {0} is not known to this cohort (newest known: 1)")]
    UnknownVersion(u8),
    #[error("the snapshot data does not load into a state")]
    State(#[source] cohort_state::SnapshotError),
}
