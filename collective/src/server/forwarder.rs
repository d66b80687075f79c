//! Groups the writes a follower forwards to the leader into one RPC.
//!
//! Followers take two thirds of the writes when clients spread over three
//! members, and each forwarded write used to be a `Forward` RPC of its own:
//! an HTTP/2 stream, TLS records and the tonic stack on both ends, per
//! write. With 64 writers that made a spread load a third slower than the
//! same load sent to the leader (bench/collective.sh, `COHORT_BENCH_TARGET`).
//! So forwarding has the proposer's shape ([`super::proposer`]): at most
//! [`IN_FLIGHT`] RPCs at once; writes that arrive meanwhile queue and leave
//! together as one `Request::Batch`, which the leader proposes as one
//! entry and answers with one `Response::Batch`. A lone write goes out at
//! once from its caller's task, as a plain `Request::V1`.
//!
//! A failed RPC fails every write in it, and each caller's own loop
//! ([`super::member::Member::submit`]) retries. Writes of the batch that
//! did commit are then answered from the state's dedupe record of their
//! `(client, seq)`, so a retry never applies a write twice.

use std::sync::Arc;

use cohort_proto::RAFT_WIRE_VERSION;
use cohort_proto::RaftMessage;
use cohort_proto::peer_client::PeerClient;
use cohort_state::{Request, RequestV1, Response};
use cohort_store::MemberNode;
use tokio::sync::{Semaphore, mpsc, oneshot};

use super::dial::Dialer;
use super::member::LEADER_DEADLINE;
use super::proposer::{next_batch, slot_if_idle};
use super::wire;

/// Forward RPCs in flight. Each waits for a whole commit on the leader;
/// with only two, 16 writers spread over three members lost a fifth of
/// their rate waiting for a free RPC (A/B on bench/collective.sh), while
/// eight let batches form only under real load.
const IN_FLIGHT: usize = 8;
/// Largest number of writes in one RPC; the leader's entries hold as many,
/// and the leader refuses more.
pub const MAX_BATCH: usize = 256;
/// Queued writes before callers wait to queue.
const QUEUE: usize = 4096;

/// How an RPC failed, in a form every write of it can get a copy of. The
/// caller turns it into its `ServeError` (see `member::leader_error`).
pub type Failure = tonic::Status;

struct Job {
    leader: MemberNode,
    request: RequestV1,
    reply: oneshot::Sender<Result<Response, Failure>>,
}

/// Handle to this member's forwarding queue; the task behind it ends when
/// the handle is dropped.
pub struct Forwarder {
    tx: mpsc::Sender<Job>,
    slots: Arc<Semaphore>,
    dialer: Dialer,
}

impl Forwarder {
    pub fn start(dialer: Dialer) -> Forwarder {
        let (tx, rx) = mpsc::channel(QUEUE);
        let slots = Arc::new(Semaphore::new(IN_FLIGHT));
        tokio::spawn(run(dialer.clone(), rx, Arc::clone(&slots)));
        Forwarder { tx, slots, dialer }
    }

    /// Sends `request` to `leader` and returns the state's answer.
    pub async fn forward(
        &self,
        leader: &MemberNode,
        request: RequestV1,
    ) -> Result<Response, Failure> {
        // Nothing queued and a slot free: go now, from the caller's task.
        if let Some(slot) = slot_if_idle(&self.tx, &self.slots) {
            let answer = send(&self.dialer, leader, vec![request]).await;
            drop(slot);
            return answer.and_then(|mut answers| {
                answers
                    .pop()
                    .ok_or_else(|| tonic::Status::internal("the leader's answer is empty"))
            });
        }
        let (reply, answer) = oneshot::channel();
        let job = Job {
            leader: leader.clone(),
            request,
            reply,
        };
        if self.tx.send(job).await.is_err() {
            return Err(stopped());
        }
        answer.await.unwrap_or_else(|_| Err(stopped()))
    }
}

fn stopped() -> Failure {
    tonic::Status::unavailable("this member's forwarding queue has stopped")
}

async fn run(dialer: Dialer, mut rx: mpsc::Receiver<Job>, slots: Arc<Semaphore>) {
    while let Some((slot, mut jobs)) = next_batch(&mut rx, &slots, MAX_BATCH).await {
        let dialer = dialer.clone();
        tokio::spawn(async move {
            // Callers may name different leaders around an election; each
            // leader gets its own RPC.
            while let Some(leader) = jobs.first().map(|j| j.leader.clone()) {
                let (mine, rest): (Vec<Job>, Vec<Job>) =
                    jobs.into_iter().partition(|j| j.leader == leader);
                jobs = rest;
                send_jobs(&dialer, &leader, mine).await;
            }
            drop(slot);
        });
    }
}

async fn send_jobs(dialer: &Dialer, leader: &MemberNode, jobs: Vec<Job>) {
    let (requests, replies): (Vec<_>, Vec<_>) =
        jobs.into_iter().map(|j| (j.request, j.reply)).unzip();
    match send(dialer, leader, requests).await {
        Ok(answers) => {
            for (reply, answer) in replies.into_iter().zip(answers) {
                // The caller may have given up waiting; nothing to tell then.
                let _ = reply.send(Ok(answer));
            }
        }
        Err(status) => {
            for reply in replies {
                let _ = reply.send(Err(status.clone()));
            }
        }
    }
}

/// One `Forward` RPC carrying `requests`; answers in the same order.
async fn send(
    dialer: &Dialer,
    leader: &MemberNode,
    mut requests: Vec<RequestV1>,
) -> Result<Vec<Response>, Failure> {
    let count = requests.len();
    let request = match requests.pop() {
        Some(one) if requests.is_empty() => Request::V1(one),
        Some(last) => {
            requests.push(last);
            Request::Batch(requests)
        }
        None => return Ok(Vec::new()),
    };
    let channel = dialer
        .channel(&leader.name, &leader.addr)
        .map_err(tonic::Status::unavailable)?;
    let payload = wire::encode(&request).map_err(|e| tonic::Status::internal(e.to_string()))?;
    let mut msg = tonic::Request::new(RaftMessage {
        wire_version: RAFT_WIRE_VERSION,
        payload: payload.into(),
    });
    // The leader answers within LEADER_DEADLINE; give it that plus slack.
    msg.set_timeout(LEADER_DEADLINE + std::time::Duration::from_millis(400));
    let reply = PeerClient::new(channel)
        .max_decoding_message_size(wire::MAX_MESSAGE)
        .forward(msg)
        .await?;
    let answer: Response = wire::decode(&reply.into_inner().payload)
        .map_err(|e| tonic::Status::internal(e.to_string()))?;
    match answer {
        Response::Batch(answers) if count > 1 && answers.len() == count => Ok(answers),
        one if count == 1 => Ok(vec![one]),
        _ => Err(tonic::Status::internal(
            "the leader answered a batch of forwarded writes with the wrong shape",
        )),
    }
}
