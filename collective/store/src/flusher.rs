//! Group commit: one thread makes writes durable for every waiter at once.
//!
//! A writer first writes to the backend, then queues a [`Waiter`]. The
//! thread takes every queued waiter, runs one [`KvBackend::persist`] (which
//! covers all writes made before it started, so all of theirs), then
//! completes them. While one round syncs, later waiters pile up and share
//! the next round. A plain thread rather than a tokio task: `persist` blocks
//! in `fsync`, and openraft's `LogFlushed` callback and tokio's oneshot
//! sender are both callable from any thread.
//!
//! openraft 0.9.25 itself waits for the callback of an append before its
//! core does anything else (`RaftCore::append_to_log` awaits it), replication
//! of that entry included, so this thread does not let the core run on
//! during a sync; what it spares is a tokio worker thread blocked in
//! `fsync`, with every task queued on it. Rejected after measuring (bench
//! /collective.sh, two alternating runs, 2026-12-06): syncing inside
//! `append` under `block_in_place`, which was as fast at best and up to a
//! fifth slower.

use std::io;
use std::sync::Arc;
use std::sync::mpsc;
use std::thread::JoinHandle;

use openraft::storage::LogFlushed;
use tokio::sync::oneshot;

use crate::TypeConfig;
use crate::backend::{BackendError, KvBackend};

/// Someone waiting for the next durable point.
enum Waiter {
    /// openraft's append callback.
    Log(LogFlushed<TypeConfig>),
    /// An async caller awaiting the result.
    Wait(oneshot::Sender<Result<(), io::Error>>),
}

/// Handle to the sync thread. Dropping it lets the thread finish the queued
/// waiters and joins it, so the backend is closed when the store is.
pub(crate) struct Flusher {
    tx: Option<mpsc::Sender<Waiter>>,
    thread: Option<JoinHandle<()>>,
}

fn gone() -> io::Error {
    io::Error::other("the storage sync thread has stopped")
}

impl Flusher {
    pub(crate) fn start(backend: Arc<dyn KvBackend>) -> io::Result<Flusher> {
        let (tx, rx) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("cohort-store-sync".into())
            .spawn(move || run(backend.as_ref(), &rx))?;
        Ok(Flusher {
            tx: Some(tx),
            thread: Some(thread),
        })
    }

    fn send(&self, waiter: Waiter) -> Result<(), Waiter> {
        match &self.tx {
            Some(tx) => tx.send(waiter).map_err(|e| e.0),
            None => Err(waiter),
        }
    }

    /// Calls `callback` once every write made so far is durable.
    pub(crate) fn complete_after_sync(&self, callback: LogFlushed<TypeConfig>) {
        if let Err(waiter) = self.send(Waiter::Log(callback)) {
            complete(waiter, Err(gone()));
        }
    }

    /// Returns once every write made so far is durable.
    pub(crate) async fn sync(&self) -> Result<(), io::Error> {
        let (tx, rx) = oneshot::channel();
        if self.send(Waiter::Wait(tx)).is_err() {
            return Err(gone());
        }
        rx.await.map_err(|_| gone())?
    }
}

impl Drop for Flusher {
    fn drop(&mut self) {
        drop(self.tx.take());
        if let Some(thread) = self.thread.take() {
            // A panic in the thread has already failed its waiters (their
            // senders dropped); nothing more to report here.
            let _ = thread.join();
        }
    }
}

fn run(backend: &dyn KvBackend, rx: &mpsc::Receiver<Waiter>) {
    while let Ok(first) = rx.recv() {
        let mut round = vec![first];
        round.extend(rx.try_iter());
        let result = backend.persist().map_err(Arc::new);
        for waiter in round {
            complete(waiter, result.as_ref().map(|_| ()).map_err(to_io));
        }
    }
}

/// Each waiter gets its own `io::Error` sharing the one cause, with its
/// source chain intact.
fn to_io(e: &Arc<BackendError>) -> io::Error {
    io::Error::other(Arc::clone(e))
}

fn complete(waiter: Waiter, result: Result<(), io::Error>) {
    match waiter {
        Waiter::Log(callback) => callback.log_io_completed(result),
        // The caller gave up waiting: nothing to tell.
        Waiter::Wait(tx) => {
            let _ = tx.send(result);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;
    use crate::{KvPair, WriteOp};

    /// Counts rounds; each takes a while, like an fsync on a slow disk.
    #[derive(Default)]
    struct SlowDisk {
        rounds: AtomicUsize,
    }

    impl KvBackend for SlowDisk {
        fn get(&self, _: &[u8]) -> Result<Option<Vec<u8>>, BackendError> {
            Ok(None)
        }
        fn range(&self, _: &[u8], _: &[u8]) -> Result<Vec<KvPair>, BackendError> {
            Ok(Vec::new())
        }
        fn last_in(&self, _: &[u8], _: &[u8]) -> Result<Option<KvPair>, BackendError> {
            Ok(None)
        }
        fn write(&self, _: Vec<WriteOp>) -> Result<(), BackendError> {
            Ok(())
        }
        fn persist(&self) -> Result<(), BackendError> {
            std::thread::sleep(Duration::from_millis(200));
            self.rounds.fetch_add(1, Ordering::SeqCst);
            Ok(())
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_waiters_share_rounds() {
        let disk = Arc::new(SlowDisk::default());
        let flusher = Arc::new(Flusher::start(disk.clone()).unwrap());
        let waiters: Vec<_> = (0..20)
            .map(|_| {
                let flusher = Arc::clone(&flusher);
                tokio::spawn(async move { flusher.sync().await })
            })
            .collect();
        for waiter in waiters {
            waiter.await.unwrap().unwrap();
        }
        // The first round takes whoever is queued; everyone arriving during
        // its 200 ms shares the second.
        let rounds = disk.rounds.load(Ordering::SeqCst);
        assert!((1..=3).contains(&rounds), "20 waiters took {rounds} rounds");
    }

    #[tokio::test]
    async fn dropping_the_flusher_finishes_queued_waiters() {
        let disk = Arc::new(SlowDisk::default());
        let flusher = Flusher::start(disk.clone()).unwrap();
        let (tx, rx) = oneshot::channel();
        assert!(flusher.send(Waiter::Wait(tx)).is_ok());
        drop(flusher);
        assert_eq!(disk.rounds.load(Ordering::SeqCst), 1);
        rx.await.unwrap().unwrap();
    }
}
