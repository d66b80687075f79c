//! The applied state of one member: [`cohort_state::State`] in memory, with
//! persisted snapshots (see the crate essay, "Snapshots").
//!
//! State, last applied log id and membership sit under one lock, so a
//! snapshot taken under it is a consistent point in time and a reader never
//! sees a state that disagrees with its last applied id. Applying is pure
//! memory work; nothing is written per entry: a restart rebuilds from the
//! snapshot and openraft replays the committed log after it.

use std::io::Cursor;
use std::path::Path;
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use cohort_state::{Response, State};
use openraft::storage::RaftStateMachine;
use openraft::{AnyError, EntryPayload, OptionalSend, RaftSnapshotBuilder, StorageIOError};

use crate::snapshot_file::{Replace, SnapshotDir};
use crate::{Entry, LogId, Snapshot, SnapshotDataError, SnapshotMeta, StorageError, StoreError};
use crate::{StoredMembership, TypeConfig};

/// Version byte in front of the state bytes in snapshot data.
const DATA_V1: u8 = 1;

/// Checks snapshot data as members exchange it, and loads it. The network
/// layer may call this on a fully received snapshot before handing it to
/// openraft, which treats a failing install as fatal.
pub fn validate_snapshot_data(data: &[u8]) -> Result<State, SnapshotDataError> {
    let (&version, body) = data.split_first().ok_or(SnapshotDataError::Empty)?;
    if version != DATA_V1 {
        return Err(SnapshotDataError::UnknownVersion(version));
    }
    State::restore(body).map_err(SnapshotDataError::State)
}

fn encode_data(state: &State) -> Vec<u8> {
    let mut data = vec![DATA_V1];
    data.extend_from_slice(&state.snapshot());
    data
}

/// Everything applied so far, changed only together.
#[derive(Default)]
struct Applied {
    state: State,
    last_applied: Option<LogId>,
    membership: StoredMembership,
}

struct Shared {
    applied: RwLock<Applied>,
    snapshots: SnapshotDir,
}

impl Shared {
    // A poisoned lock means `State::apply` panicked, which openraft turns
    // into a stopped member; reads may go on serving what is there.
    fn read(&self) -> RwLockReadGuard<'_, Applied> {
        self.applied.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, Applied> {
        self.applied.write().unwrap_or_else(PoisonError::into_inner)
    }
}

/// openraft's state machine of one member. openraft owns it; the binary
/// keeps a [`StateHandle`] (from [`StateMachineStore::handle`]) for reads.
pub struct StateMachineStore {
    shared: Arc<Shared>,
}

/// Read access to the applied state, for queries. Cheap to clone.
#[derive(Clone)]
pub struct StateHandle {
    shared: Arc<Shared>,
}

impl StateHandle {
    /// Runs `f` on the applied state, under the state lock: keep `f` short,
    /// applies wait for it.
    pub fn read<T>(&self, f: impl FnOnce(&State) -> T) -> T {
        f(&self.shared.read().state)
    }

    /// The id of the last entry reflected in the state.
    pub fn last_applied(&self) -> Option<LogId> {
        self.shared.read().last_applied
    }

    /// The last membership applied.
    pub fn membership(&self) -> StoredMembership {
        self.shared.read().membership.clone()
    }
}

/// Storage-error helpers: snapshot I/O fails the member (openraft decides).
fn snapshot_err(meta: Option<&SnapshotMeta>, write: bool, source: AnyError) -> StorageError {
    let signature = meta.map(SnapshotMeta::signature);
    if write {
        StorageIOError::write_snapshot(signature, source).into()
    } else {
        StorageIOError::read_snapshot(signature, source).into()
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|_| StoreError::Cancelled)?
}

impl StateMachineStore {
    /// Opens the snapshot directory and loads the state from the snapshot
    /// there (empty state without one).
    pub async fn open(snapshot_dir: &Path) -> Result<StateMachineStore, StoreError> {
        let dir = snapshot_dir.to_path_buf();
        let (snapshots, applied) = blocking(move || {
            let (snapshots, current) = SnapshotDir::open(&dir)?;
            let applied = match current {
                None => Applied::default(),
                Some((meta, data)) => {
                    let state = validate_snapshot_data(&data).map_err(|source| {
                        StoreError::SnapshotData {
                            path: dir.clone(),
                            source,
                        }
                    })?;
                    Applied {
                        state,
                        last_applied: meta.last_log_id,
                        membership: meta.last_membership,
                    }
                }
            };
            Ok((snapshots, applied))
        })
        .await?;
        let shared = Arc::new(Shared {
            applied: RwLock::new(applied),
            snapshots,
        });
        Ok(StateMachineStore { shared })
    }

    /// A read handle on the applied state.
    pub fn handle(&self) -> StateHandle {
        StateHandle {
            shared: Arc::clone(&self.shared),
        }
    }

    /// Runs `f` on the applied state (see [`StateHandle::read`]).
    pub fn read<T>(&self, f: impl FnOnce(&State) -> T) -> T {
        self.handle().read(f)
    }
}

/// Builds a snapshot of the state as it is when `build_snapshot` runs.
pub struct SnapshotBuilder {
    shared: Arc<Shared>,
}

impl RaftSnapshotBuilder<TypeConfig> for SnapshotBuilder {
    async fn build_snapshot(&mut self) -> Result<Snapshot, StorageError> {
        let (meta, data) = {
            let applied = self.shared.read();
            let data = encode_data(&applied.state);
            // Unique per build even at the same log id: openraft matches
            // snapshot chunks by id.
            let built_at = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0);
            let last = applied.last_applied;
            let snapshot_id = match last {
                Some(id) => format!("{}-{}-{built_at}", id.leader_id, id.index),
                None => format!("none-{built_at}"),
            };
            let meta = SnapshotMeta {
                last_log_id: last,
                last_membership: applied.membership.clone(),
                snapshot_id,
            };
            (meta, data)
        };
        let shared = Arc::clone(&self.shared);
        let m = meta.clone();
        // The bytes go to the blocking task and come back: no copy.
        let data = blocking(move || {
            shared.snapshots.save(&m, &data, Replace::IfNotOlder)?;
            Ok(data)
        })
        .await
        .map_err(|e| snapshot_err(Some(&meta), true, AnyError::new(&e)))?;
        Ok(Snapshot {
            meta,
            snapshot: Box::new(Cursor::new(data)),
        })
    }
}

impl RaftStateMachine<TypeConfig> for StateMachineStore {
    type SnapshotBuilder = SnapshotBuilder;

    async fn applied_state(&mut self) -> Result<(Option<LogId>, StoredMembership), StorageError> {
        let applied = self.shared.read();
        Ok((applied.last_applied, applied.membership.clone()))
    }

    async fn apply<I>(&mut self, entries: I) -> Result<Vec<Response>, StorageError>
    where
        I: IntoIterator<Item = Entry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let mut applied = self.shared.write();
        let mut responses = Vec::new();
        for entry in entries {
            applied.last_applied = Some(entry.log_id);
            let response = match entry.payload {
                EntryPayload::Blank => Response::Empty,
                EntryPayload::Normal(request) => applied.state.apply(&request),
                EntryPayload::Membership(membership) => {
                    applied.membership = StoredMembership::new(Some(entry.log_id), membership);
                    Response::Empty
                }
            };
            responses.push(response);
        }
        Ok(responses)
    }

    async fn get_snapshot_builder(&mut self) -> SnapshotBuilder {
        SnapshotBuilder {
            shared: Arc::clone(&self.shared),
        }
    }

    async fn begin_receiving_snapshot(&mut self) -> Result<Box<Cursor<Vec<u8>>>, StorageError> {
        Ok(Box::new(Cursor::new(Vec::new())))
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta,
        snapshot: Box<Cursor<Vec<u8>>>,
    ) -> Result<(), StorageError> {
        let data = snapshot.into_inner();
        // Refuse before anything changes: the state stays as it was.
        let state = validate_snapshot_data(&data)
            .map_err(|e| snapshot_err(Some(meta), false, AnyError::new(&e)))?;
        let shared = Arc::clone(&self.shared);
        let m = meta.clone();
        blocking(move || shared.snapshots.save(&m, &data, Replace::Always))
            .await
            .map_err(|e| snapshot_err(Some(meta), true, AnyError::new(&e)))?;
        let mut applied = self.shared.write();
        *applied = Applied {
            state,
            last_applied: meta.last_log_id,
            membership: meta.last_membership.clone(),
        };
        Ok(())
    }

    async fn get_current_snapshot(&mut self) -> Result<Option<Snapshot>, StorageError> {
        let shared = Arc::clone(&self.shared);
        let current = blocking(move || shared.snapshots.load())
            .await
            .map_err(|e| snapshot_err(None, false, AnyError::new(&e)))?;
        Ok(current.map(|(meta, data)| Snapshot {
            meta,
            snapshot: Box::new(Cursor::new(data)),
        }))
    }
}
