//! openraft's network over the `Peer` gRPC service.
//!
//! Every Raft RPC is an opaque envelope (`RaftMessage`): bincode of
//! openraft's own request, and of its `Result` in the reply, so no mapping
//! code follows openraft's types. Channels are cached per peer and connect
//! lazily: openraft asks for a client for every replication stream and vote
//! round, and must not pay a TLS handshake each time (the upstream example
//! dials per RPC; we don't).
//!
//! Errors are sorted the way openraft reacts to them: a peer that cannot be
//! reached is `Unreachable` (openraft backs off instead of retrying hot), a
//! failure in transit is `Network`, and a Raft error the peer returned is
//! `RemoteError`.

use std::time::Duration;

use cohort_proto::peer_client::PeerClient;
use cohort_proto::{RAFT_WIRE_VERSION, RaftMessage};
use cohort_store::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    MemberNode, NodeId, RaftError, TypeConfig, VoteRequest, VoteResponse,
};
use openraft::error::{InstallSnapshotError, NetworkError, RPCError, RemoteError, Unreachable};
use openraft::network::{Backoff, RPCOption, RaftNetwork, RaftNetworkFactory};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tonic::transport::Channel;

use super::dial::Dialer;
use super::wire;

/// Hands openraft a client per peer, sharing cached channels.
#[derive(Clone)]
pub struct PeerNetworkFactory {
    dialer: Dialer,
}

impl PeerNetworkFactory {
    pub fn new(dialer: Dialer) -> Self {
        PeerNetworkFactory { dialer }
    }
}

impl RaftNetworkFactory<TypeConfig> for PeerNetworkFactory {
    type Network = PeerConnection;

    async fn new_client(&mut self, target: NodeId, node: &MemberNode) -> PeerConnection {
        PeerConnection {
            target,
            node: node.clone(),
            client: self.dialer.channel(&node.name, &node.addr),
            dialer: self.dialer.clone(),
        }
    }
}

/// openraft's handle on one peer.
pub struct PeerConnection {
    target: NodeId,
    node: MemberNode,
    /// `Err` when the peer's address could not even be parsed.
    client: Result<Channel, String>,
    dialer: Dialer,
}

type RpcResult<T, E = openraft::error::Infallible> =
    Result<T, RPCError<NodeId, MemberNode, RaftError<E>>>;

impl PeerConnection {
    /// Sends one envelope and decodes the peer's `Result<T, RaftError<E>>`.
    async fn call<Req, T, E, F, Fut>(&self, req: &Req, ttl: Duration, send: F) -> RpcResult<T, E>
    where
        Req: Serialize,
        T: DeserializeOwned,
        E: DeserializeOwned + std::error::Error,
        F: FnOnce(PeerClient<Channel>, tonic::Request<RaftMessage>) -> Fut,
        Fut: std::future::Future<Output = Result<tonic::Response<RaftMessage>, tonic::Status>>,
    {
        let channel = self
            .client
            .clone()
            .map_err(|e| RPCError::Unreachable(Unreachable::new(&wire::WireError::Address(e))))?;
        let payload = wire::encode(req).map_err(|e| RPCError::Network(NetworkError::new(&e)))?;
        let mut request = tonic::Request::new(RaftMessage {
            wire_version: RAFT_WIRE_VERSION,
            payload: payload.into(),
        });
        request.set_timeout(ttl);
        let client = PeerClient::new(channel)
            .max_decoding_message_size(wire::MAX_MESSAGE)
            .max_encoding_message_size(wire::MAX_MESSAGE);
        let reply = send(client, request).await.map_err(status_to_rpc)?;
        self.dialer.record_contact(&self.node.name);
        let reply = reply.into_inner();
        if reply.wire_version != RAFT_WIRE_VERSION {
            let e = wire::WireError::Version(reply.wire_version);
            return Err(RPCError::Network(NetworkError::new(&e)));
        }
        let result: Result<T, RaftError<E>> =
            wire::decode(&reply.payload).map_err(|e| RPCError::Network(NetworkError::new(&e)))?;
        result.map_err(|e| {
            RPCError::RemoteError(RemoteError::new_with_node(
                self.target,
                self.node.clone(),
                e,
            ))
        })
    }
}

/// Connection failures and deadlines mean "unreachable" (back off);
/// anything else happened in transit.
fn status_to_rpc<E: std::error::Error>(
    s: tonic::Status,
) -> RPCError<NodeId, MemberNode, RaftError<E>> {
    let e = wire::WireError::Status(s.code(), s.message().to_owned());
    match s.code() {
        tonic::Code::Unavailable | tonic::Code::DeadlineExceeded | tonic::Code::Unknown => {
            RPCError::Unreachable(Unreachable::new(&e))
        }
        _ => RPCError::Network(NetworkError::new(&e)),
    }
}

impl RaftNetwork<TypeConfig> for PeerConnection {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest,
        option: RPCOption,
    ) -> RpcResult<AppendEntriesResponse> {
        self.call(&rpc, option.hard_ttl(), |mut c, r| async move {
            c.append_entries(r).await
        })
        .await
    }

    async fn install_snapshot(
        &mut self,
        rpc: InstallSnapshotRequest,
        option: RPCOption,
    ) -> RpcResult<InstallSnapshotResponse, InstallSnapshotError> {
        self.call(&rpc, option.hard_ttl(), |mut c, r| async move {
            c.install_snapshot(r).await
        })
        .await
    }

    async fn vote(&mut self, rpc: VoteRequest, option: RPCOption) -> RpcResult<VoteResponse> {
        self.call(&rpc, option.hard_ttl(), |mut c, r| async move {
            c.vote(r).await
        })
        .await
    }

    /// Waits after an `Unreachable` peer: 25 ms, doubling to openraft's
    /// default of 500 ms. A peer is most often unreachable for a moment
    /// (a member that just joined swaps its Raft core right after the
    /// leader adds it; a restarted member is coming up), and the flat
    /// 500 ms cost every join half a second before replication began.
    fn backoff(&self) -> Backoff {
        let ramp = (0..5).map(|i| Duration::from_millis(25 << i));
        Backoff::new(ramp.chain(std::iter::repeat(Duration::from_millis(500))))
    }
}
