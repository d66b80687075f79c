//! The `Peer` gRPC service: Raft RPCs, forwarded writes, read index and
//! status, for members only.
//!
//! Thin by design: authorize the caller (its certificate must chain to the
//! member CA recorded for the name it claims), decode the envelope, call
//! Raft, encode the result. A forwarded write is handled here exactly once:
//! if this member is no longer the leader it says so (`unavailable`) and the
//! follower that forwarded retries, so a write never bounces around.

use std::sync::Arc;

use cohort_proto::peer_server::Peer;
use cohort_proto::{
    JoinReply, JoinRequest, PeerStatus, PeerStatusRequest, RAFT_WIRE_VERSION, RaftMessage,
    ReadIndexReply, ReadIndexRequest,
};
use cohort_state::Request as StateRequest;
use cohort_store::{
    AppendEntriesRequest, ClientWriteError, InstallSnapshotRequest, RaftError, VoteRequest,
};
use openraft::error::CheckIsLeaderError;
use tonic::{Request, Response, Status};
use tracing::debug;

use super::member::{LEADER_DEADLINE, Member, now_ms};
use super::wire;
use crate::identity;

/// Serves the `Peer` service of one member.
pub struct PeerService {
    member: Arc<Member>,
}

impl PeerService {
    pub fn new(member: Arc<Member>) -> Self {
        PeerService { member }
    }

    /// The calling member's name, or `unauthenticated`.
    fn authorize<T>(&self, request: &Request<T>) -> Result<String, Status> {
        let certs = request.peer_certs().unwrap_or_default();
        identity::authorize_peer(&self.member.trust, &certs)
            .map_err(|e| Status::unauthenticated(e.to_string()))
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
        let StateRequest::V1(mut v1) = self.decode(request.get_ref())?;
        debug!(%from, client = v1.client, seq = v1.seq, "forwarded write");
        // The leader's clock is the one the state sees.
        v1.now_ms = now_ms();
        let core = self.member.core();
        let write = core.raft.client_write(StateRequest::V1(v1));
        // Answer before the forwarder's own deadline, so "no quorum" reaches
        // it as such (deadline_exceeded, which clients do not retry).
        match tokio::time::timeout(LEADER_DEADLINE, write).await {
            Ok(Ok(reply)) => envelope(&reply.data),
            Ok(Err(RaftError::APIError(ClientWriteError::ForwardToLeader(_)))) => {
                Err(Status::unavailable("this member is no longer the leader"))
            }
            Ok(Err(e)) => Err(Status::internal(e.to_string())),
            Err(_) => Err(Status::deadline_exceeded(
                self.member.no_quorum().await.to_string(),
            )),
        }
    }

    async fn read_index(
        &self,
        request: Request<ReadIndexRequest>,
    ) -> Result<Response<ReadIndexReply>, Status> {
        self.authorize(&request)?;
        let core = self.member.core();
        let check = core.raft.ensure_linearizable();
        match tokio::time::timeout(LEADER_DEADLINE, check).await {
            Ok(Ok(id)) => Ok(Response::new(ReadIndexReply {
                read_index: id.map_or(0, |l| l.index),
            })),
            Ok(Err(RaftError::APIError(CheckIsLeaderError::QuorumNotEnough(_)))) | Err(_) => Err(
                Status::deadline_exceeded(self.member.no_quorum().await.to_string()),
            ),
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
        Ok(Response::new(PeerStatus {
            name: self.member.name.clone(),
            raft_id: self.member.raft_id,
            applied_index: m.last_applied.map_or(0, |l| l.index),
            current_term: m.current_term,
            leader_id: m.current_leader.unwrap_or(0),
        }))
    }
}
