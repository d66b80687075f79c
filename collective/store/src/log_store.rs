//! The Raft log, vote, committed and last-purged ids on a [`KvBackend`]
//! (layout and durability: see the crate essay).

#![allow(
    clippy::result_large_err,
    reason = "openraft's trait methods return its 224-byte StorageError; the helpers \
              feeding them share it, and only on cold failure paths"
)]

use std::fmt::Debug;
use std::ops::{Bound, RangeBounds};
use std::sync::Arc;

use openraft::storage::{LogFlushed, LogState, RaftLogStorage};
use openraft::{AnyError, ErrorSubject, ErrorVerb, OptionalSend, RaftLogReader, StorageIOError};

use crate::backend::{BackendError, KvBackend, WriteOp};
use crate::codec::{self, CodecError};
use crate::flusher::Flusher;
use crate::{Entry, LogId, StorageError, StoreError, TypeConfig, Vote};

/// Key spaces are the first byte of every key: 0x00 layout, 0x01 log,
/// 0x02 metadata (vote, committed, last purged).
const SPACE_LOG: u8 = 0x01;
/// One past the log space: the exclusive end of "every log key".
const LOG_END: [u8; 1] = [SPACE_LOG + 1];

const KEY_LAYOUT: &[u8] = b"\x00layout";
const KEY_VOTE: &[u8] = b"\x02vote";
const KEY_COMMITTED: &[u8] = b"\x02committed";
const KEY_LAST_PURGED: &[u8] = b"\x02last_purged";
/// Version of the key layout above; stored under `KEY_LAYOUT`.
const LAYOUT_V1: u8 = 1;

fn log_key(index: u64) -> [u8; 9] {
    let mut key = [SPACE_LOG; 9];
    key[1..].copy_from_slice(&index.to_be_bytes());
    key
}

fn io_err(subject: ErrorSubject<u64>, verb: ErrorVerb, e: &BackendError) -> StorageError {
    StorageIOError::new(subject, verb, AnyError::new(e)).into()
}

fn codec_err(subject: ErrorSubject<u64>, verb: ErrorVerb, e: &CodecError) -> StorageError {
    StorageIOError::new(subject, verb, AnyError::new(e)).into()
}

fn flush_err(subject: ErrorSubject<u64>, e: &std::io::Error) -> StorageError {
    StorageIOError::new(subject, ErrorVerb::Write, AnyError::new(e)).into()
}

/// Reads log entries; cheap to clone, one per replication task.
#[derive(Clone)]
pub struct LogReader {
    backend: Arc<dyn KvBackend>,
}

impl LogReader {
    fn entries(&self, start: Bound<&u64>, end: Bound<&u64>) -> Result<Vec<Entry>, StorageError> {
        let start = match start {
            Bound::Included(&i) => Some(i),
            Bound::Excluded(&i) => i.checked_add(1),
            Bound::Unbounded => Some(0),
        };
        let Some(start) = start else {
            return Ok(Vec::new());
        };
        let end_key = match end {
            Bound::Included(&i) => i.checked_add(1).map(log_key).map(|k| k.to_vec()),
            Bound::Excluded(&i) => Some(log_key(i).to_vec()),
            Bound::Unbounded => None,
        }
        .unwrap_or_else(|| LOG_END.to_vec());
        let pairs = self
            .backend
            .range(&log_key(start), &end_key)
            .map_err(|e| io_err(ErrorSubject::Logs, ErrorVerb::Read, &e))?;
        pairs
            .iter()
            .map(|(key, value)| {
                codec::decode_entry(value).map_err(|e| {
                    let index = key.get(1..).and_then(|b| <[u8; 8]>::try_from(b).ok());
                    let index = index.map(u64::from_be_bytes).unwrap_or(0);
                    codec_err(ErrorSubject::LogIndex(index), ErrorVerb::Read, &e)
                })
            })
            .collect()
    }

    fn last_entry(&self) -> Result<Option<Entry>, StorageError> {
        let last = self
            .backend
            .last_in(&log_key(0), &LOG_END)
            .map_err(|e| io_err(ErrorSubject::Logs, ErrorVerb::Read, &e))?;
        match last {
            None => Ok(None),
            Some((_, value)) => codec::decode_entry(&value)
                .map(Some)
                .map_err(|e| codec_err(ErrorSubject::Logs, ErrorVerb::Read, &e)),
        }
    }

    fn meta<T: serde::de::DeserializeOwned>(
        &self,
        key: &[u8],
        subject: ErrorSubject<u64>,
    ) -> Result<Option<T>, StorageError> {
        let value = self
            .backend
            .get(key)
            .map_err(|e| io_err(subject.clone(), ErrorVerb::Read, &e))?;
        value
            .map(|v| codec::decode(&v))
            .transpose()
            .map_err(|e| codec_err(subject, ErrorVerb::Read, &e))
    }
}

impl RaftLogReader<TypeConfig> for LogReader {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry>, StorageError> {
        self.entries(range.start_bound(), range.end_bound())
    }
}

/// The log store of one member. openraft owns it (`&mut self`): it is the
/// only writer of its backend.
pub struct LogStore {
    reader: LogReader,
    // Dropping it joins the sync thread, so the backend closes with the
    // store once the readers handed to openraft are gone too.
    flusher: Flusher,
}

impl LogStore {
    /// A log store on `backend` (use [`crate::open`] for the usual sled one).
    /// Writes the layout version into an empty backend; refuses a backend
    /// with another layout version.
    pub fn with_backend(backend: Arc<dyn KvBackend>) -> Result<LogStore, StoreError> {
        let layout = backend.get(KEY_LAYOUT).map_err(StoreError::Log)?;
        match layout.as_deref() {
            Some([LAYOUT_V1]) => {}
            Some(other) => {
                let found = other.first().copied().unwrap_or(0);
                return Err(StoreError::UnsupportedLayout {
                    found,
                    supported: LAYOUT_V1,
                });
            }
            None => {
                let put = WriteOp::Put {
                    key: KEY_LAYOUT.to_vec(),
                    value: vec![LAYOUT_V1],
                };
                backend.write(vec![put]).map_err(StoreError::Log)?;
                backend.persist().map_err(StoreError::Log)?;
            }
        }
        let flusher = Flusher::start(Arc::clone(&backend)).map_err(StoreError::Thread)?;
        Ok(LogStore {
            reader: LogReader { backend },
            flusher,
        })
    }

    fn write(&self, ops: Vec<WriteOp>, subject: ErrorSubject<u64>) -> Result<(), StorageError> {
        self.reader
            .backend
            .write(ops)
            .map_err(|e| io_err(subject, ErrorVerb::Write, &e))
    }

    async fn sync(&self, subject: ErrorSubject<u64>) -> Result<(), StorageError> {
        self.flusher
            .sync()
            .await
            .map_err(|e| flush_err(subject, &e))
    }

    fn put_meta<T: serde::Serialize>(
        &self,
        key: &[u8],
        value: &T,
        subject: ErrorSubject<u64>,
    ) -> Result<(), StorageError> {
        let value =
            codec::encode(value).map_err(|e| codec_err(subject.clone(), ErrorVerb::Write, &e))?;
        self.write(
            vec![WriteOp::Put {
                key: key.to_vec(),
                value,
            }],
            subject,
        )
    }
}

impl RaftLogReader<TypeConfig> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry>, StorageError> {
        self.reader.entries(range.start_bound(), range.end_bound())
    }
}

impl RaftLogStorage<TypeConfig> for LogStore {
    type LogReader = LogReader;

    async fn get_log_state(&mut self) -> Result<LogState<TypeConfig>, StorageError> {
        let last_purged_log_id: Option<LogId> =
            self.reader.meta(KEY_LAST_PURGED, ErrorSubject::Logs)?;
        let last = self.reader.last_entry()?.map(|e| e.log_id);
        Ok(LogState {
            last_log_id: last.or(last_purged_log_id),
            last_purged_log_id,
        })
    }

    async fn get_log_reader(&mut self) -> LogReader {
        self.reader.clone()
    }

    async fn save_vote(&mut self, vote: &Vote) -> Result<(), StorageError> {
        self.put_meta(KEY_VOTE, vote, ErrorSubject::Vote)?;
        self.sync(ErrorSubject::Vote).await
    }

    async fn read_vote(&mut self) -> Result<Option<Vote>, StorageError> {
        self.reader.meta(KEY_VOTE, ErrorSubject::Vote)
    }

    async fn save_committed(&mut self, committed: Option<LogId>) -> Result<(), StorageError> {
        // A hint, not a promise: see the crate essay, "Durability". No
        // round of its own: it rides along with the next append's round.
        self.put_meta(KEY_COMMITTED, &committed, ErrorSubject::Store)
    }

    async fn read_committed(&mut self) -> Result<Option<LogId>, StorageError> {
        let committed: Option<Option<LogId>> =
            self.reader.meta(KEY_COMMITTED, ErrorSubject::Store)?;
        Ok(committed.flatten())
    }

    async fn append<I>(
        &mut self,
        entries: I,
        callback: LogFlushed<TypeConfig>,
    ) -> Result<(), StorageError>
    where
        I: IntoIterator<Item = Entry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let mut ops = Vec::new();
        for entry in entries {
            let log_id = entry.log_id;
            let value = codec::encode_entry(entry)
                .map_err(|e| codec_err(ErrorSubject::Log(log_id), ErrorVerb::Write, &e))?;
            ops.push(WriteOp::Put {
                key: log_key(log_id.index).to_vec(),
                value,
            });
        }
        // One batch, one sync round for the whole append (group commit).
        self.write(ops, ErrorSubject::Logs)?;
        self.flusher.complete_after_sync(callback);
        Ok(())
    }

    async fn truncate(&mut self, log_id: LogId) -> Result<(), StorageError> {
        let op = WriteOp::DeleteRange {
            start: log_key(log_id.index).to_vec(),
            end: LOG_END.to_vec(),
        };
        self.write(vec![op], ErrorSubject::Logs)?;
        self.sync(ErrorSubject::Logs).await
    }

    async fn purge(&mut self, log_id: LogId) -> Result<(), StorageError> {
        let subject = ErrorSubject::Log(log_id);
        let value = codec::encode(&log_id)
            .map_err(|e| codec_err(subject.clone(), ErrorVerb::Delete, &e))?;
        // The purged id and the deletion land together or not at all.
        let ops = vec![
            WriteOp::Put {
                key: KEY_LAST_PURGED.to_vec(),
                value,
            },
            WriteOp::DeleteRange {
                start: log_key(0).to_vec(),
                end: log_id
                    .index
                    .checked_add(1)
                    .map(log_key)
                    .map_or(LOG_END.to_vec(), |k| k.to_vec()),
            },
        ];
        self.write(ops, subject.clone())?;
        self.sync(subject).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_spaces_do_not_overlap() {
        assert_eq!(KEY_LAYOUT[0], 0x00);
        for key in [KEY_VOTE, KEY_COMMITTED, KEY_LAST_PURGED] {
            assert_eq!(key[0], 0x02);
        }
        assert!(log_key(u64::MAX).as_slice() < LOG_END.as_slice());
        assert!(log_key(0).as_slice() > KEY_LAYOUT);
        // Frozen: big-endian index after the prefix.
        assert_eq!(log_key(258), [1, 0, 0, 0, 0, 0, 0, 1, 2]);
    }
}
