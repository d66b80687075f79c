//! The narrow key-value interface the log store is written against: the
//! point where sled can be swapped for another store.
//!
//! Requirements an implementation must meet (the conformance suite in
//! `tests/t10_suite.rs` checks them through openraft's `testing::Suite`):
//! keys are ordered bytewise; a [`KvBackend::write`] batch is atomic (all or
//! nothing, also across a crash) and visible to reads as soon as it returns;
//! [`KvBackend::persist`] returns only when every write that returned before
//! it was called is on stable storage, power-loss durable.

use std::path::PathBuf;

/// One change in an atomic batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteOp {
    /// Sets `key` to `value`.
    Put { key: Vec<u8>, value: Vec<u8> },
    /// Removes `key` (absent is fine).
    Delete { key: Vec<u8> },
    /// Removes every key in `start..end` that existed before the batch.
    DeleteRange { start: Vec<u8>, end: Vec<u8> },
}

/// A key and its value.
pub type KvPair = (Vec<u8>, Vec<u8>);

/// An ordered, durable key-value store.
pub trait KvBackend: Send + Sync + 'static {
    /// The value of `key`.
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, BackendError>;
    /// Every pair with `start <= key < end`, ascending.
    fn range(&self, start: &[u8], end: &[u8]) -> Result<Vec<KvPair>, BackendError>;
    /// The pair with the greatest key in `start..end`.
    fn last_in(&self, start: &[u8], end: &[u8]) -> Result<Option<KvPair>, BackendError>;
    /// Applies `ops` in order, atomically.
    fn write(&self, ops: Vec<WriteOp>) -> Result<(), BackendError>;
    /// Blocks until every write that returned before this call is durable.
    fn persist(&self) -> Result<(), BackendError>;
}

/// The backend failed. Inside openraft this becomes a `StorageError`, which
/// stops the Raft member: the disk is failing or the store is corrupt. Log
/// the whole source chain; recover by fixing the disk, or by removing the
/// member from the collective, wiping its `raft/` directory and rejoining.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    /// The key-value store itself reported an error.
    #[error("the key-value store failed while trying to {op}")]
    Store {
        op: &'static str,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A file or directory could not be synced to disk.
    #[error("cannot sync {path} to disk")]
    Sync {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}
