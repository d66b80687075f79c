//! Groups concurrent writes into one Raft entry on the leader.
//!
//! Every Raft entry costs the same fixed work whatever it carries: an append
//! and a flush hand-off on each member, a replication message per follower,
//! an apply hand-off and a reply. Measured on 2 cores with 64 concurrent
//! writers, that per-entry work (thread wake-ups, mostly) capped the
//! collective at about 2,000 entries/s with the CPUs half idle and the disk
//! syncs switched off, so it was not the disk. Writes that arrive while
//! earlier entries are in flight therefore wait in a queue and go out
//! together as one [`Request::Batch`] (etcd groups its proposals the same
//! way).
//!
//! The shape: at most [`IN_FLIGHT`] entries are proposed at once. A lone
//! writer never waits (its write goes out as a plain `Request::V1` the
//! moment it arrives, from its own task); under load the queue fills while entries are in
//! flight, so batches grow with the load and latency stays a few rounds.
//! Each request in a batch keeps its own client id and sequence, so
//! deduplication and answers are per request exactly as without batching.

use std::sync::Arc;

use cohort_state::{Request, RequestV1, Response};
use cohort_store::{ClientWriteError, MemberNode, Raft, RaftError};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, oneshot};

/// Entries proposed and not yet answered. Two keeps the pipeline busy
/// while one entry waits on a quorum's flush; more only splits the queue
/// into smaller batches.
const IN_FLIGHT: usize = 2;
/// Largest number of requests in one entry: bounds the entry's size (each
/// request is one admin action, usually well under a kilobyte) and the
/// time the state machine holds its lock applying it.
const MAX_BATCH: usize = 256;
/// Queued requests before callers wait to queue.
const QUEUE: usize = 4096;

/// What a proposal's caller gets: the state's answer, or why there is none.
pub type Proposed = Result<Response, ProposeError>;

#[derive(Debug, Clone, thiserror::Error)]
pub enum ProposeError {
    #[error("raft: {0}")]
    /// Raft's own error (`ForwardToLeader` included, which the caller acts on).
    Raft(Box<RaftError<ClientWriteError>>),
    /// The state machine answered a batch with the wrong number of answers:
    /// a bug, reported to every caller rather than guessed at.
    #[error("internal error: a batched write got an answer of the wrong shape")]
    BatchShape,
}

impl ProposeError {
    /// Where the leader is, when this member is not it (`None` inside means
    /// no leader is known right now).
    pub fn forward_to_leader(&self) -> Option<Option<MemberNode>> {
        match self {
            ProposeError::Raft(e) => match e.as_ref() {
                RaftError::APIError(ClientWriteError::ForwardToLeader(f)) => {
                    Some(f.leader_node.clone())
                }
                _ => None,
            },
            ProposeError::BatchShape => None,
        }
    }
}

struct Pending {
    request: RequestV1,
    reply: oneshot::Sender<Proposed>,
}

/// Handle to one Raft member's proposal queue. The task behind it ends
/// when the handle is dropped (with the core it belongs to).
pub struct Proposer {
    tx: mpsc::Sender<Pending>,
    raft: Raft,
    slots: Arc<Semaphore>,
}

impl Proposer {
    pub fn start(raft: Raft) -> Proposer {
        let (tx, rx) = mpsc::channel(QUEUE);
        let slots = Arc::new(Semaphore::new(IN_FLIGHT));
        tokio::spawn(run(raft.clone(), rx, Arc::clone(&slots)));
        Proposer { tx, raft, slots }
    }

    /// Proposes one request and waits for its answer. `None` means the
    /// proposer has stopped (the member is shutting down or switching
    /// cores); the caller treats it like an unreachable leader.
    pub async fn propose(&self, request: RequestV1) -> Option<Proposed> {
        // Nothing queued and a slot free: propose from the caller's own
        // task, sparing a lone writer two task hand-offs.
        if let Some(slot) = slot_if_idle(&self.tx, &self.slots) {
            let answer = self.raft.client_write(Request::V1(request)).await;
            drop(slot);
            return Some(
                answer
                    .map(|r| r.data)
                    .map_err(|e| ProposeError::Raft(Box::new(e))),
            );
        }
        let (reply, answer) = oneshot::channel();
        self.tx.send(Pending { request, reply }).await.ok()?;
        answer.await.ok()
    }

    /// Proposes several requests (a follower's forwarded batch) through
    /// the queue, so that they share entries, and waits for every answer,
    /// in order. `None` as in [`Proposer::propose`].
    pub async fn propose_all(&self, requests: Vec<RequestV1>) -> Vec<Option<Proposed>> {
        let mut answers = Vec::with_capacity(requests.len());
        for request in requests {
            let (reply, answer) = oneshot::channel();
            if self.tx.send(Pending { request, reply }).await.is_err() {
                break;
            }
            answers.push(answer);
        }
        let mut out = Vec::with_capacity(answers.len());
        for answer in answers {
            out.push(answer.await.ok());
        }
        out
    }
}

/// A slot, when nothing is queued and one is free: the caller may then go
/// at once from its own task, sparing a lone item two task hand-offs.
pub(super) fn slot_if_idle<T>(
    tx: &mpsc::Sender<T>,
    slots: &Arc<Semaphore>,
) -> Option<OwnedSemaphorePermit> {
    if tx.capacity() != tx.max_capacity() {
        return None;
    }
    Arc::clone(slots).try_acquire_owned().ok()
}

/// Waits for a free slot, then takes the next queued item and whatever
/// else is queued behind it, up to `max`. Taking the slot first is what
/// makes batches: while every slot is busy, items pile up in the queue and
/// leave together. `None` once the queue or the slots are closed.
pub(super) async fn next_batch<T>(
    rx: &mut mpsc::Receiver<T>,
    slots: &Arc<Semaphore>,
    max: usize,
) -> Option<(OwnedSemaphorePermit, Vec<T>)> {
    let slot = Arc::clone(slots).acquire_owned().await.ok()?;
    let mut batch = vec![rx.recv().await?];
    while batch.len() < max {
        match rx.try_recv() {
            Ok(next) => batch.push(next),
            Err(_) => break,
        }
    }
    Some((slot, batch))
}

async fn run(raft: Raft, mut rx: mpsc::Receiver<Pending>, slots: Arc<Semaphore>) {
    while let Some((slot, batch)) = next_batch(&mut rx, &slots, MAX_BATCH).await {
        let raft = raft.clone();
        tokio::spawn(async move {
            propose_batch(&raft, batch).await;
            drop(slot);
        });
    }
}

async fn propose_batch(raft: &Raft, mut batch: Vec<Pending>) {
    if batch.len() == 1 {
        if let Some(one) = batch.pop() {
            let answer = raft.client_write(Request::V1(one.request)).await;
            // The caller may have given up waiting; nothing to tell then.
            let _ = one.reply.send(
                answer
                    .map(|r| r.data)
                    .map_err(|e| ProposeError::Raft(Box::new(e))),
            );
        }
        return;
    }
    let (requests, replies): (Vec<_>, Vec<_>) =
        batch.into_iter().map(|p| (p.request, p.reply)).unzip();
    match raft.client_write(Request::Batch(requests)).await {
        Ok(reply) => match reply.data {
            Response::Batch(answers) if answers.len() == replies.len() => {
                for (reply, answer) in replies.into_iter().zip(answers) {
                    let _ = reply.send(Ok(answer));
                }
            }
            other => {
                tracing::error!(answer = ?other, "a batch got an answer of the wrong shape");
                for reply in replies {
                    let _ = reply.send(Err(ProposeError::BatchShape));
                }
            }
        },
        Err(e) => {
            for reply in replies {
                let _ = reply.send(Err(ProposeError::Raft(Box::new(e.clone()))));
            }
        }
    }
}
