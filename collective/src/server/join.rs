//! Joining a collective (docs/design/0003-membership.md), both sides.
//!
//! The joiner ([`join`]) dials the address from the admin's command with TLS
//! pinned to the CA fingerprint in the invite, reads the inviter's leaf from
//! that session, and sends a proof keyed with the invite's secret hash over
//! both leaves. The member answering ([`answer`]) checks the proof against
//! the hash in the replicated state and commits one `Join` command, which
//! consumes the invite and records the member atomically. The joiner then
//! discards its own single-member state and starts Raft afresh; the leader's
//! reconciler adds it as a learner.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use cohort_proto::peer_client::PeerClient;
use cohort_proto::{
    JOIN_WIRE_VERSION, JoinCollectiveReply, JoinCollectiveRequest, JoinReply, JoinRequest,
    MemberInfo,
};
use cohort_state::{Command, MemberRecord, Response as StateResponse};
use hyper_util::rt::TokioIo;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tonic::transport::Endpoint;
use tonic::{Request, Response, Status};
use tracing::info;

use super::admin_service::status_of;
use super::member::{Member, now_ms};
use crate::identity::{self, DataKey, InviteToken, TrustTable};

/// `collective join ADDR --token T`, run on the member that joins.
pub async fn join(
    member: &Member,
    req: JoinCollectiveRequest,
) -> Result<JoinCollectiveReply, Status> {
    let token =
        InviteToken::decode(&req.token).map_err(|e| Status::invalid_argument(e.to_string()))?;
    check_token(member, &token, req.force)?;
    let (reply, inviter_leaf) = call_join(member, &req.address, &token).await?;
    let hash = token.secret_sha256();
    identity::verify_join_approval(
        &hash,
        member.identity.leaf_cert_der(),
        &inviter_leaf,
        &reply.approval,
    )
    .map_err(|_| {
        Status::permission_denied(
            "the member at the join address could not prove it made this invite",
        )
    })?;
    let leader = reply.leader_address.clone();
    switch_collective(member, reply).await?;
    info!(%leader, "joined the collective; waiting for the leader to add this member");
    Ok(JoinCollectiveReply {
        collective_leader: leader,
    })
}

fn check_token(member: &Member, token: &InviteToken, force: bool) -> Result<(), Status> {
    if token.name != member.name {
        return Err(Status::invalid_argument(format!(
            "this invite is for member {:?}, but this member is named {:?} \
             (start it with --name {} or ask for an invite for {:?})",
            token.name, member.name, token.name, member.name
        )));
    }
    if token.is_expired(now_ms()) {
        return Err(Status::failed_precondition(format!(
            "invite expired at {}; ask for a new one with `cohort collective invite {}`",
            cohort_state::iso8601_utc(token.expires_ms),
            token.name
        )));
    }
    let nodes = member.core().state.read(|s| s.inventory().node_count());
    if nodes > 0 && !force {
        return Err(Status::failed_precondition(format!(
            "this member holds {nodes} nodes of its own; joining discards them (use --force to join anyway)"
        )));
    }
    Ok(())
}

/// Dials the inviter with the pinned config and calls `Peer.Join`,
/// returning the reply and the inviter's leaf as seen in the TLS session.
async fn call_join(
    member: &Member,
    address: &str,
    token: &InviteToken,
) -> Result<(JoinReply, Vec<u8>), Status> {
    let config = identity::pinned_client_config(&member.identity, token.ca_fingerprint)
        .map_err(|e| Status::internal(e.to_string()))?;
    let seen: Arc<Mutex<Option<Vec<u8>>>> = Arc::default();
    let slot = seen.clone();
    let addr = address.to_owned();
    let connector = tower::service_fn(move |_: tonic::codegen::http::Uri| {
        let (addr, config, slot) = (addr.clone(), config.clone(), slot.clone());
        async move {
            let tcp = TcpStream::connect(&addr).await?;
            let name = ServerName::try_from("cohort-join").map_err(std::io::Error::other)?;
            let tls = TlsConnector::from(config).connect(name, tcp).await?;
            let leaf = tls
                .get_ref()
                .1
                .peer_certificates()
                .and_then(|c| c.first())
                .map(|c| c.to_vec());
            *slot.lock().unwrap_or_else(PoisonError::into_inner) = leaf;
            Ok::<_, std::io::Error>(TokioIo::new(tls))
        }
    });
    let channel = Endpoint::from_shared(format!("http://{address}"))
        .map_err(|e| Status::invalid_argument(format!("bad join address {address:?}: {e}")))?
        .connect_timeout(std::time::Duration::from_secs(5))
        .connect_with_connector(connector)
        .await
        .map_err(|e| connect_error(address, &e))?;
    let inviter_leaf = seen
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .take()
        .ok_or_else(|| Status::unavailable(format!("{address} presented no certificate")))?;
    let hash = token.secret_sha256();
    let request = JoinRequest {
        wire_version: JOIN_WIRE_VERSION,
        name: member.name.clone(),
        ca_cert_der: member.identity.ca_cert_der().to_vec(),
        proof: identity::join_proof(&hash, &inviter_leaf, member.identity.leaf_cert_der()).to_vec(),
        addresses: member.config.advertise.clone(),
        https_addresses: vec![member.config.https_listen.to_string()],
        ssh_ca_public: member.identity.ssh_ca_public_openssh(),
        raft_id: member.raft_id,
    };
    let reply = PeerClient::new(channel).join(request).await.map_err(|s| {
        Status::new(
            s.code(),
            format!("the member at {address} refused the join: {}", s.message()),
        )
    })?;
    Ok((reply.into_inner(), inviter_leaf))
}

/// Unreachable and "not the member that made this invite" read differently.
fn connect_error(address: &str, e: &tonic::transport::Error) -> Status {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text = format!("{text}: {s}");
        source = s.source();
    }
    if text.contains("fingerprint mismatch") {
        Status::permission_denied(format!(
            "fingerprint mismatch: the member at {address} is not the one that made this invite"
        ))
    } else {
        Status::unavailable(format!("cannot reach {address} to join: {text}"))
    }
}

/// Leaves this member's own collective for the one it joined.
async fn switch_collective(member: &Member, reply: JoinReply) -> Result<(), Status> {
    let internal = |e: String| Status::internal(format!("joined, but cannot switch over: {e}"));
    let data_key = DataKey::from_bytes(&reply.data_key).map_err(|e| internal(e.to_string()))?;
    let id: [u8; 16] = reply
        .collective_id
        .as_slice()
        .try_into()
        .map_err(|_| internal("malformed collective id".to_owned()))?;
    super::switch_core(member, id, data_key)
        .await
        .map_err(|e| internal(format!("{e:#}")))?;
    // The leader's first AppendEntries arrives before the replicated member
    // table does: trust the members the reply named until then. Set after
    // the swap, so nothing derived from the old collective overwrites it.
    let mut trusted: BTreeMap<String, Vec<u8>> = reply
        .members
        .iter()
        .map(|m| (m.name.clone(), m.ca_cert_der.clone()))
        .collect();
    trusted.insert(member.name.clone(), member.identity.ca_cert_der().to_vec());
    member.trust.set(trusted);
    Ok(())
}

/// `Peer.Join`, on the member the joiner dialled.
pub async fn answer(
    member: &Member,
    request: Request<JoinRequest>,
) -> Result<Response<JoinReply>, Status> {
    let chain: Vec<CertificateDer<'static>> = request
        .peer_certs()
        .map(|c| c.iter().cloned().collect())
        .unwrap_or_default();
    let req = request.into_inner();
    if req.wire_version != JOIN_WIRE_VERSION {
        return Err(Status::failed_precondition(format!(
            "join protocol version {} is not spoken here (this member speaks {JOIN_WIRE_VERSION})",
            req.wire_version
        )));
    }
    // The joiner's leaf must name it and chain to the CA it hands us.
    let own = TrustTable::new();
    own.set([(req.name.clone(), req.ca_cert_der.clone())]);
    let named = identity::authorize_peer(&own, &chain)
        .map_err(|e| Status::permission_denied(e.to_string()))?;
    if named != req.name {
        return Err(Status::permission_denied(
            "the joiner's certificate names another member",
        ));
    }
    let joiner_leaf = chain.first().map(|c| c.to_vec()).unwrap_or_default();
    let invite = member
        .read_linearizable(|s| s.pending_invite(&req.name, now_ms()).cloned())
        .await
        .map_err(|e| status_of(&e))?
        .ok_or_else(|| {
            Status::failed_precondition(format!(
                "no pending invite for member {:?} (never issued, already used, or expired)",
                req.name
            ))
        })?;
    let inviter_leaf = member.identity.leaf_cert_der().to_vec();
    identity::verify_join_proof(
        &invite.secret_sha256,
        &inviter_leaf,
        &joiner_leaf,
        &req.proof,
    )
    .map_err(|_| Status::permission_denied("invite secret does not match"))?;
    let record = MemberRecord {
        name: req.name.clone(),
        raft_id: req.raft_id,
        addresses: req.addresses,
        https_addresses: req.https_addresses,
        role: invite.role,
        ca_cert_der: req.ca_cert_der,
        ssh_ca_public: req.ssh_ca_public,
    };
    let command = Command::Join {
        member: record,
        secret_sha256: invite.secret_sha256,
    };
    match member
        .submit(super::random_u128(), 1, command)
        .await
        .map_err(|e| status_of(&e))?
    {
        StateResponse::Refused(e) => return Err(Status::failed_precondition(e.message)),
        StateResponse::Done { .. } | StateResponse::Empty => {}
        StateResponse::Batch(_) => {
            return Err(Status::internal(
                "internal error: a batched answer reached a single write",
            ));
        }
    }
    info!(member = %req.name, "member joined");
    member.membership_changed.notify_one();
    let mut members: Vec<MemberInfo> = member
        .read_linearizable(|s| s.members().values().map(member_info).collect())
        .await
        .map_err(|e| status_of(&e))?;
    // A member that founded the collective moments ago may not have its own
    // record in the table yet; the joiner must trust it regardless, or the
    // first AppendEntries (which would bring the table) is refused.
    if !members.iter().any(|m| m.name == member.name) {
        members.push(MemberInfo {
            name: member.name.clone(),
            raft_id: member.raft_id,
            addresses: member.config.advertise.clone(),
            ca_cert_der: member.identity.ca_cert_der().to_vec(),
        });
    }
    let collective = member.collective();
    Ok(Response::new(JoinReply {
        approval: identity::join_approval(&invite.secret_sha256, &joiner_leaf, &inviter_leaf)
            .to_vec(),
        collective_id: collective.id.to_vec(),
        raft_id: req.raft_id,
        data_key: collective.data_key.expose_bytes().to_vec(),
        leader_address: leader_address(member),
        members,
    }))
}

fn member_info(r: &MemberRecord) -> MemberInfo {
    MemberInfo {
        name: r.name.clone(),
        raft_id: r.raft_id,
        addresses: r.addresses.clone(),
        ca_cert_der: r.ca_cert_der.clone(),
    }
}

fn leader_address(member: &Member) -> String {
    let metrics = member.core().raft.metrics().borrow().clone();
    let leader = metrics.current_leader;
    let membership = metrics.membership_config.membership().clone();
    leader
        .and_then(|id| membership.get_node(&id).map(|n| n.addr.clone()))
        .unwrap_or_default()
}
