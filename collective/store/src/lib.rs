//! cohort's Raft storage: the openraft 0.9 (storage-v2) log store and state
//! machine store of one member, kept on local disk.
//!
//! # Shape
//!
//! [`open`] takes a directory (the binary passes `<data>/member/raft/`) and
//! returns the two halves openraft wants:
//!
//! - [`LogStore`] (`RaftLogStorage` + `RaftLogReader`, with the cloneable
//!   [`LogReader`] for replication tasks): the Raft log, the vote, the
//!   committed and last-purged log ids. Kept in a key-value store under
//!   `<dir>/log/`.
//! - [`StateMachineStore`] (`RaftStateMachine`, with [`SnapshotBuilder`]):
//!   the applied [`cohort_state::State`], in memory, plus its snapshots in
//!   `<dir>/snapshots/`. [`StateHandle`] lets the binary read the state for
//!   queries.
//!
//! [`TypeConfig`] and the aliases below ([`Raft`], [`LogId`], ...) fix
//! openraft's generic types for the whole collective.
//!
//! # Key layout (one sled tree, `raft`, in `<dir>/log/`)
//!
//! Typed key spaces share one tree, each behind a one-byte prefix (the
//! databend meta-service habit), so that one atomic batch can touch several
//! of them (a purge deletes entries and records `last_purged` together):
//!
//! | key                             | value                                  |
//! |---------------------------------|----------------------------------------|
//! | `0x00 "layout"`                 | `[1]`: version of this layout          |
//! | `0x01` + big-endian u64 index   | `[1]` + bincode stored entry (below)   |
//! | `0x02 "vote"`                   | `[1]` + bincode `Vote`                 |
//! | `0x02 "committed"`              | `[1]` + bincode `Option<LogId>`        |
//! | `0x02 "last_purged"`            | `[1]` + bincode `LogId`                |
//!
//! Big-endian indices make key order log order, so range scans and "last
//! entry" are plain ordered-tree operations. A stored entry is openraft's
//! log id, then a payload tag (blank, normal, membership); a normal payload
//! holds the request as [`cohort_state::encode_request`] bytes, so the log
//! carries exactly the request format cohort-state defines and its decoder
//! tells "written by a newer cohort" from damage. Every value starts with a
//! format version byte: a later openraft whose types encode differently
//! gets version 2 and a decoder for version 1 beside it, never a silent
//! reinterpretation. bincode is 1.3.3 with fixed-width integers, decoded with
//! a byte limit equal to the input length so a corrupt length prefix is an
//! error, not an allocation of gigabytes.
//!
//! # Durability
//!
//! openraft treats a log entry as stored once `append`'s callback fires, and
//! a leader counts its own copy toward the quorum at that moment; so the
//! callback fires only after the entry is on disk, not when `append`
//! returns. sled 0.34 "flushes" with `sync_file_range`, which neither flushes
//! the drive's volatile cache nor the file size metadata: data acknowledged
//! that way survives `kill -9` but not a power cut. So after sled's flush
//! this crate calls `fdatasync` (`File::sync_data`) on sled's data file
//! `db`, on every blob file in `blobs/` it has not synced before (sled
//! writes large values there without any sync), and `fsync` on the
//! directories whose listings changed (new blob or `snap.*` files).
//!
//! One thread (`flusher.rs`) does that work for all writers:
//! appends enqueue their callback and return at once (entries are readable
//! immediately), and each flush+sync round covers every write made before
//! it started and completes every callback queued meanwhile. Concurrent
//! appends thus share one fsync (group commit), and openraft's core keeps
//! replicating while the local disk syncs. `save_vote`, `truncate` and
//! `purge` wait for their round before returning. `save_committed` does not
//! wait: it is a hint (a member that loses it re-applies up to an older
//! commit and learns the rest from the leader), and openraft's core awaits
//! it before every apply, so syncing there would add one fsync to every
//! write's latency. It does not even ask for a round: its value rides along
//! with the next append's round (or sled's own periodic flush when the log
//! goes quiet), since a round of its own per commit doubled the rounds.
//!
//! # Snapshots
//!
//! The state machine lives in memory and is rebuilt on start from the last
//! snapshot plus a replay of later log entries (openraft re-applies them up
//! to the saved committed id). A snapshot is taken under the state lock
//! (point in time: state bytes, last applied id and membership together),
//! written to `snapshots/current.tmp`, `fdatasync`ed, renamed over
//! `snapshots/current`, and the directory is `fsync`ed: only then does
//! openraft learn of it and may purge the log below it. Snapshot data (what
//! followers receive, chunked by openraft itself) is `[1]` +
//! [`State::snapshot`](cohort_state::State::snapshot) bytes: the state
//! versions its own contents, the leading byte versions the framing around
//! them (so compression, say, can come later without touching
//! cohort-state). Incoming data is
//! validated (version byte, `State::restore`) before anything changes;
//! [`validate_snapshot_data`] lets the network layer refuse bad bytes before
//! openraft sees them, because openraft treats a failing `install_snapshot`
//! as fatal.
//!
//! # The swap point
//!
//! The log store is written against [`KvBackend`], a narrow ordered
//! key-value trait (get, range, atomic batch, persist). [`SledBackend`] in
//! `sled_backend.rs` is its only implementation and the only code that names
//! sled. If sled fails us (space amplification, open bugs of 0.34), another
//! backend (redb, fjall) implements the trait and must pass the same
//! conformance suite (`tests/t10_suite.rs`, openraft's `testing::Suite`).
//! Swapping does not migrate data: a member wipes and rejoins.
//!
//! # Architecture invariant
//!
//! This crate knows storage only: no network, no tonic, no CLI, no member
//! identity beyond [`MemberNode`]. It does not decide when to snapshot or
//! purge (openraft's config does) and does not interpret commands (that is
//! `cohort_state`).

mod backend;
mod codec;
mod error;
mod flusher;
mod log_store;
mod sled_backend;
mod snapshot_file;
mod state_machine;

use std::io::Cursor;
use std::path::Path;

use serde::{Deserialize, Serialize};

pub use backend::{BackendError, KvBackend, KvPair, WriteOp};
pub use codec::CodecError;
pub use error::{SnapshotDataError, StoreError};
pub use log_store::{LogReader, LogStore};
pub use sled_backend::SledBackend;
pub use state_machine::{SnapshotBuilder, StateHandle, StateMachineStore, validate_snapshot_data};

/// Raft node id of a member. Assigned once per incarnation of a member:
/// a wiped member rejoins under a new id (openraft FAQ, reference §1.8).
pub type NodeId = u64;

/// What every member knows about another member's Raft endpoint. Stored in
/// Raft membership entries and snapshots: changing it is a format change.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberNode {
    /// The member's name (as in the member table), used to check the peer's
    /// certificate when dialling it.
    pub name: String,
    /// The member's peer gRPC address, `host:port`.
    pub addr: String,
}

openraft::declare_raft_types!(
    /// openraft's type configuration for the collective.
    pub TypeConfig:
        D = cohort_state::Request,
        R = cohort_state::Response,
        NodeId = NodeId,
        Node = MemberNode,
        Entry = openraft::Entry<TypeConfig>,
        SnapshotData = Cursor<Vec<u8>>,
        AsyncRuntime = openraft::TokioRuntime,
);

/// A running Raft member.
pub type Raft = openraft::Raft<TypeConfig>;
/// A log entry.
pub type Entry = openraft::Entry<TypeConfig>;
/// Position of a log entry (leader term + index).
pub type LogId = openraft::LogId<NodeId>;
/// A vote (term, candidate, committed flag).
pub type Vote = openraft::Vote<NodeId>;
/// A membership configuration (voter sets + nodes).
pub type Membership = openraft::Membership<NodeId, MemberNode>;
/// A membership configuration with the log id that introduced it.
pub type StoredMembership = openraft::StoredMembership<NodeId, MemberNode>;
/// Snapshot metadata.
pub type SnapshotMeta = openraft::SnapshotMeta<NodeId, MemberNode>;
/// A snapshot: metadata plus its bytes.
pub type Snapshot = openraft::Snapshot<TypeConfig>;
/// What openraft reports about the member (watch with `Raft::metrics`).
pub type RaftMetrics = openraft::RaftMetrics<NodeId, MemberNode>;
/// openraft's storage error: fatal to the Raft member that returns it.
pub type StorageError = openraft::StorageError<NodeId>;
/// Errors of the `Raft` API.
pub type RaftError<E = openraft::error::Infallible> = openraft::error::RaftError<NodeId, E>;
/// Why `Raft::client_write` failed (`ForwardToLeader` carries the leader).
pub type ClientWriteError = openraft::error::ClientWriteError<NodeId, MemberNode>;
/// Result of a committed and applied write.
pub type ClientWriteResponse = openraft::raft::ClientWriteResponse<TypeConfig>;
/// Peer RPC: append entries (also heartbeat).
pub type AppendEntriesRequest = openraft::raft::AppendEntriesRequest<TypeConfig>;
/// Peer RPC reply to [`AppendEntriesRequest`].
pub type AppendEntriesResponse = openraft::raft::AppendEntriesResponse<NodeId>;
/// Peer RPC: request a vote.
pub type VoteRequest = openraft::raft::VoteRequest<NodeId>;
/// Peer RPC reply to [`VoteRequest`].
pub type VoteResponse = openraft::raft::VoteResponse<NodeId>;
/// Peer RPC: one chunk of a snapshot.
pub type InstallSnapshotRequest = openraft::raft::InstallSnapshotRequest<TypeConfig>;
/// Peer RPC reply to [`InstallSnapshotRequest`].
pub type InstallSnapshotResponse = openraft::raft::InstallSnapshotResponse<NodeId>;

/// Opens (creating if needed) the Raft storage of this member in `dir`:
/// the log store in `dir/log/`, snapshots in `dir/snapshots/`. The state
/// machine is loaded from the last snapshot; openraft replays the log after
/// it. Only one process may open a directory at a time (sled locks it).
pub async fn open(dir: &Path) -> Result<(LogStore, StateMachineStore), StoreError> {
    let dir_owned = dir.to_path_buf();
    let backend = tokio::task::spawn_blocking(move || {
        // `dir` may be new: make its own directory entry durable too.
        let created = std::fs::create_dir_all(&dir_owned).and_then(|()| match dir_owned.parent() {
            Some(parent) => std::fs::File::open(parent)?.sync_all(),
            None => Ok(()),
        });
        created.map_err(|source| StoreError::Dir {
            path: dir_owned.clone(),
            source,
        })?;
        let log_dir = dir_owned.join("log");
        SledBackend::open(&log_dir).map_err(|source| StoreError::Backend {
            path: log_dir,
            source,
        })
    })
    .await
    .map_err(|_| StoreError::Cancelled)??;
    let log_store = LogStore::with_backend(std::sync::Arc::new(backend))?;
    let state_machine = StateMachineStore::open(&dir.join("snapshots")).await?;
    Ok((log_store, state_machine))
}
