//! The append callback fires only after the backend's persist round has
//! finished, and one append batch costs one round (group commit).

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use cohort_store::{BackendError, KvBackend, KvPair, LogStore, SledBackend, WriteOp};
use common::*;
use openraft::RaftLogReader;
use openraft::storage::{RaftLogStorage, RaftLogStorageExt};

/// Sled, with slow persist rounds that are counted when they finish.
struct Instrumented {
    inner: SledBackend,
    finished_rounds: AtomicUsize,
    delay: Duration,
    fail: AtomicBool,
}

impl KvBackend for Instrumented {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, BackendError> {
        self.inner.get(key)
    }
    fn range(&self, start: &[u8], end: &[u8]) -> Result<Vec<KvPair>, BackendError> {
        self.inner.range(start, end)
    }
    fn last_in(&self, start: &[u8], end: &[u8]) -> Result<Option<KvPair>, BackendError> {
        self.inner.last_in(start, end)
    }
    fn write(&self, ops: Vec<WriteOp>) -> Result<(), BackendError> {
        self.inner.write(ops)
    }
    fn persist(&self) -> Result<(), BackendError> {
        std::thread::sleep(self.delay);
        if self.fail.load(Ordering::SeqCst) {
            let source = std::io::Error::other("injected fsync failure");
            return Err(BackendError::Sync {
                path: "db".into(),
                source,
            });
        }
        self.inner.persist()?;
        self.finished_rounds.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

fn instrumented(dir: &std::path::Path, delay: Duration) -> Arc<Instrumented> {
    let inner = SledBackend::open(dir).expect("open sled");
    Arc::new(Instrumented {
        inner,
        finished_rounds: AtomicUsize::new(0),
        delay,
        fail: AtomicBool::new(false),
    })
}

#[tokio::test]
async fn callback_waits_for_the_sync_round() {
    let dir = tempfile::tempdir().expect("temp dir");
    let backend = instrumented(dir.path(), Duration::from_millis(200));
    let mut log = LogStore::with_backend(backend.clone()).unwrap();
    let rounds_before = backend.finished_rounds.load(Ordering::SeqCst);

    let start = Instant::now();
    log.blocking_append((1..=100).map(|i| blank(1, i)))
        .await
        .unwrap();
    // The callback came after a whole round: the delay has passed and the
    // round is counted; and a batch of 100 took exactly one round.
    assert!(start.elapsed() >= Duration::from_millis(200));
    assert_eq!(
        backend.finished_rounds.load(Ordering::SeqCst),
        rounds_before + 1
    );

    // Votes wait for their round before returning, too.
    log.save_vote(&openraft::Vote::new(2, 1)).await.unwrap();
    assert_eq!(
        backend.finished_rounds.load(Ordering::SeqCst),
        rounds_before + 2
    );
}

#[tokio::test]
async fn a_failed_round_fails_the_append() {
    let dir = tempfile::tempdir().expect("temp dir");
    let backend = instrumented(dir.path(), Duration::ZERO);
    let mut log = LogStore::with_backend(backend.clone()).unwrap();
    backend.fail.store(true, Ordering::SeqCst);
    let err = log.blocking_append([blank(1, 1)]).await.unwrap_err();
    assert!(err.to_string().contains("cannot sync db"), "{err}");
    assert!(log.save_vote(&openraft::Vote::new(1, 1)).await.is_err());
}

#[tokio::test]
async fn acknowledged_entries_are_in_a_freshly_opened_db() {
    let dir = tempfile::tempdir().expect("temp dir");
    {
        let mut log =
            LogStore::with_backend(Arc::new(SledBackend::open(dir.path()).unwrap())).unwrap();
        log.blocking_append((1..=3).map(|i| define_nodes(1, i, &format!("n{i}"))))
            .await
            .unwrap();
    }
    let mut log = LogStore::with_backend(Arc::new(SledBackend::open(dir.path()).unwrap())).unwrap();
    let entries = log.try_get_log_entries(..).await.unwrap();
    assert_eq!(
        entries,
        (1..=3)
            .map(|i| define_nodes(1, i, &format!("n{i}")))
            .collect::<Vec<_>>()
    );
    assert_eq!(
        log.get_log_state().await.unwrap().last_log_id,
        Some(log_id(1, 3))
    );
}
