//! The `Peer` gRPC service: Raft RPCs, forwarded writes, read index and
//! status, for members only.
//!
//! Thin by design: authorize the caller (its certificate must chain to the
//! member CA recorded for the name it claims), decode the envelope, call
//! Raft, encode the result. A forwarded write is handled here exactly once:
//! if this member is no longer the leader it says so (`unavailable`) and the
//! follower that forwarded retries, so a write never bounces around.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use cohort_proto::peer_server::Peer;
use cohort_proto::{
    FetchBlobRequest, FetchBlobsRequest, JoinReply, JoinRequest, PeerStatus, PeerStatusRequest,
    RAFT_WIRE_VERSION, RaftMessage, ReadIndexReply, ReadIndexRequest,
};
use cohort_state::Request as StateRequest;
use cohort_state::Response as StateResponse;
use cohort_store::{AppendEntriesRequest, InstallSnapshotRequest, RaftError, VoteRequest};
use openraft::error::CheckIsLeaderError;
use tonic::{Request, Response, Status};
use tracing::debug;

use super::forwarder::MAX_BATCH;
use super::member::{LEADER_DEADLINE, Member, now_ms};
use super::proposer::Proposed;
use super::wire;
use crate::identity;

/// Serves the `Peer` service of one member.
pub struct PeerService {
    member: Arc<Member>,
    verified: Mutex<HashMap<Vec<u8>, Verified>>,
}

/// A peer leaf certificate that passed [`identity::authorize_peer`].
struct Verified {
    name: String,
    /// The member CA it was checked against: if the trust table records
    /// another one now (the member was removed, or removed and rejoined),
    /// the entry is void.
    ca: Vec<u8>,
    /// Checked again after this, so expiry is noticed within [`RECHECK`].
    until: Instant,
}

/// How long a verified certificate is taken on trust. Verifying the chain
/// is an ECDSA check per RPC (heartbeats included), 7% of a member's CPU
/// under write load; the trust table is still consulted on every call.
const RECHECK: Duration = Duration::from_secs(60);
/// Bound on remembered certificates (members are few; beyond that is churn,
/// and the cache simply starts over).
const MAX_VERIFIED: usize = 256;

impl PeerService {
    /// A forwarded write not committed within the leader's deadline.
    async fn forward_timed_out(&self) -> Status {
        Status::deadline_exceeded(self.member.no_quorum().await.to_string())
    }

    pub fn new(member: Arc<Member>) -> Self {
        PeerService {
            member,
            verified: Mutex::new(HashMap::new()),
        }
    }

    /// The calling member's name, or `unauthenticated`.
    fn authorize<T>(&self, request: &Request<T>) -> Result<String, Status> {
        let certs = request.peer_certs().unwrap_or_default();
        let leaf = certs.first().map(|c| c.as_ref());
        if let Some(leaf) = leaf {
            let verified = self.verified.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(v) = verified.get(leaf)
                && Instant::now() < v.until
                && self.member.trust.get(&v.name).as_deref() == Some(v.ca.as_slice())
            {
                return Ok(v.name.clone());
            }
        }
        let name = identity::authorize_peer(&self.member.trust, &certs)
            .map_err(|e| Status::unauthenticated(e.to_string()))?;
        if let (Some(leaf), Some(ca)) = (leaf, self.member.trust.get(&name)) {
            let mut verified = self.verified.lock().unwrap_or_else(PoisonError::into_inner);
            if verified.len() >= MAX_VERIFIED {
                verified.clear();
            }
            let entry = Verified {
                name: name.clone(),
                ca,
                until: Instant::now() + RECHECK,
            };
            verified.insert(leaf.to_vec(), entry);
        }
        Ok(name)
    }

    fn decode<T: serde::de::DeserializeOwned>(&self, msg: &RaftMessage) -> Result<T, Status> {
        if msg.wire_version != RAFT_WIRE_VERSION {
            return Err(wire::bad_request(wire::WireError::Version(
                msg.wire_version,
            )));
        }
        wire::decode(&msg.payload).map_err(wire::bad_request)
    }
}

/// The Raft core is being replaced (a join): the caller retries.
fn restarting() -> Status {
    Status::unavailable("this member is restarting its Raft core")
}

/// The leader's answer to one forwarded write, or why it has none.
fn forwarded_answer(answer: Option<Proposed>) -> Result<StateResponse, Status> {
    match answer {
        Some(Ok(reply)) => Ok(reply),
        Some(Err(e)) if e.forward_to_leader().is_some() => {
            Err(Status::unavailable("this member is no longer the leader"))
        }
        None => Err(restarting()),
        Some(Err(e)) => Err(Status::internal(e.to_string())),
    }
}

fn envelope<T: serde::Serialize>(value: &T) -> Result<Response<RaftMessage>, Status> {
    let payload = wire::encode(value).map_err(|e| Status::internal(e.to_string()))?;
    Ok(Response::new(RaftMessage {
        wire_version: RAFT_WIRE_VERSION,
        payload: payload.into(),
    }))
}

#[tonic::async_trait]
impl Peer for PeerService {
    async fn append_entries(
        &self,
        request: Request<RaftMessage>,
    ) -> Result<Response<RaftMessage>, Status> {
        self.authorize(&request)?;
        let rpc: AppendEntriesRequest = self.decode(request.get_ref())?;
        envelope(&self.member.core().raft.append_entries(rpc).await)
    }

    async fn vote(&self, request: Request<RaftMessage>) -> Result<Response<RaftMessage>, Status> {
        self.authorize(&request)?;
        let rpc: VoteRequest = self.decode(request.get_ref())?;
        envelope(&self.member.core().raft.vote(rpc).await)
    }

    async fn install_snapshot(
        &self,
        request: Request<RaftMessage>,
    ) -> Result<Response<RaftMessage>, Status> {
        self.authorize(&request)?;
        let rpc: InstallSnapshotRequest = self.decode(request.get_ref())?;
        envelope(&self.member.core().raft.install_snapshot(rpc).await)
    }

    async fn forward(
        &self,
        request: Request<RaftMessage>,
    ) -> Result<Response<RaftMessage>, Status> {
        let from = self.authorize(&request)?;
        // The leader's clock is the one the state sees.
        let now = now_ms();
        let proposer = &self.member.core().proposer;
        // Answer before the forwarder's own deadline, so "no quorum" reaches
        // it as such (deadline_exceeded, which clients do not retry).
        match self.decode(request.get_ref())? {
            StateRequest::V1(mut v1) => {
                debug!(%from, client = v1.client, seq = v1.seq, "forwarded write");
                v1.now_ms = now;
                match tokio::time::timeout(LEADER_DEADLINE, proposer.propose(v1)).await {
                    Ok(answer) => envelope(&forwarded_answer(answer)?),
                    Err(_) => Err(self.forward_timed_out().await),
                }
            }
            // A follower's queue of forwarded writes (`forwarder.rs`): each
            // keeps its own client and sequence, and they share entries here.
            StateRequest::Batch(mut batch) => {
                debug!(%from, writes = batch.len(), "forwarded writes");
                if batch.is_empty() || batch.len() > MAX_BATCH {
                    return Err(Status::invalid_argument(format!(
                        "a forwarded batch carries 1 to {MAX_BATCH} writes, not {}",
                        batch.len()
                    )));
                }
                for v1 in &mut batch {
                    v1.now_ms = now;
                }
                let count = batch.len();
                let answers = match tokio::time::timeout(
                    LEADER_DEADLINE,
                    proposer.propose_all(batch),
                )
                .await
                {
                    Ok(answers) => answers,
                    Err(_) => return Err(self.forward_timed_out().await),
                };
                // The queue closed part-way (the core is being replaced).
                if answers.len() != count {
                    return Err(restarting());
                }
                // One failure fails the RPC; the follower retries every write
                // of it, and those that did commit answer from dedupe.
                let replies = answers
                    .into_iter()
                    .map(forwarded_answer)
                    .collect::<Result<Vec<_>, Status>>()?;
                envelope(&StateResponse::Batch(replies))
            }
        }
    }

    async fn read_index(
        &self,
        request: Request<ReadIndexRequest>,
    ) -> Result<Response<ReadIndexReply>, Status> {
        self.authorize(&request)?;
        let core = self.member.core();
        // A round that misses the quorum (a loaded machine) is retried
        // until the deadline; only then is it "no quorum".
        let check = async {
            loop {
                match core.raft.ensure_linearizable().await {
                    Err(RaftError::APIError(CheckIsLeaderError::QuorumNotEnough(_))) => {
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    }
                    other => return other,
                }
            }
        };
        match tokio::time::timeout(LEADER_DEADLINE, check).await {
            Ok(Ok(id)) => Ok(Response::new(ReadIndexReply {
                read_index: id.map_or(0, |l| l.index),
            })),
            Err(_) => Err(Status::deadline_exceeded(
                self.member.no_quorum().await.to_string(),
            )),
            Ok(Err(e)) => Err(Status::unavailable(e.to_string())),
        }
    }

    async fn join(&self, request: Request<JoinRequest>) -> Result<Response<JoinReply>, Status> {
        super::join::answer(&self.member, request).await
    }

    async fn status(
        &self,
        request: Request<PeerStatusRequest>,
    ) -> Result<Response<PeerStatus>, Status> {
        self.authorize(&request)?;
        let m = self.member.core().raft.metrics().borrow().clone();
        let tree = self.member.tree.status();
        let (tree_last_error, tree_last_error_unix_ms) = tree.last_error.unwrap_or_default();
        Ok(Response::new(PeerStatus {
            name: self.member.name.clone(),
            raft_id: self.member.raft_id,
            applied_index: m.last_applied.map_or(0, |l| l.index),
            current_term: m.current_term,
            leader_id: m.current_leader.unwrap_or(0),
            tree_files_missing: tree.files_missing,
            tree_bytes_to_fetch: tree.bytes_to_fetch,
            tree_last_error,
            tree_last_error_unix_ms,
        }))
    }

    type FetchBlobStream = crate::tree::fetch::ChunkStream;

    async fn fetch_blob(
        &self,
        request: Request<FetchBlobRequest>,
    ) -> Result<Response<Self::FetchBlobStream>, Status> {
        let from = self.authorize(&request)?;
        let FetchBlobRequest { sha256, offset } = request.into_inner();
        debug!(%from, offset, "blob fetch");
        let stream = crate::tree::fetch::serve(self.member.tree.blobs(), &sha256, offset)?;
        Ok(Response::new(stream))
    }

    type FetchBlobsStream = crate::tree::fetch::SmallBlobStream;

    async fn fetch_blobs(
        &self,
        request: Request<FetchBlobsRequest>,
    ) -> Result<Response<Self::FetchBlobsStream>, Status> {
        let from = self.authorize(&request)?;
        let FetchBlobsRequest { sha256 } = request.into_inner();
        debug!(%from, blobs = sha256.len(), "small blob fetch");
        let stream = crate::tree::fetch::serve_small(self.member.tree.blobs(), sha256)?;
        Ok(Response::new(stream))
    }
}
