//! The running member: one composition root that every service holds an
//! `Arc` of, and the two paths everything goes through — writes (to the
//! leader, forwarded once if we are not it) and reads (linearizable through
//! the leader's read index, or local).
//!
//! Quorum loss must never hang a caller: every write and linearizable read
//! has a deadline ([`QUORUM_DEADLINE`]), after which the caller gets
//! `collective has no quorum (N of M voters reachable)` with N counted by
//! asking each voter directly.

use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use cohort_proto::peer_client::PeerClient;
use cohort_proto::{PeerStatus, PeerStatusRequest, ReadIndexRequest};
use cohort_state::{ClientId, Command, RequestV1, Response, State};
use cohort_store::{MemberNode, NodeId, Raft, RaftError, StateHandle};
use openraft::error::CheckIsLeaderError;
use tokio::time::{Instant, sleep, timeout, timeout_at};
use tonic::transport::Channel;

use super::dial::Dialer;
use super::forwarder::Forwarder;
use super::proposer::Proposer;
use crate::config::ServeConfig;
use crate::identity::{DataKey, MemberIdentity, TrustTable};

/// How long a write or linearizable read may wait for a quorum.
pub const QUORUM_DEADLINE: Duration = Duration::from_secs(4);
/// How long the leader works on a forwarded request: less than the
/// forwarder's own deadline, so the leader's answer (including "no quorum")
/// arrives before the forwarder gives up on it.
pub const LEADER_DEADLINE: Duration = Duration::from_millis(3500);
/// How long a voter has to answer a reachability probe.
const PROBE_TIMEOUT: Duration = Duration::from_millis(800);

/// What a member is that never changes while it runs.
pub struct Base {
    pub name: String,
    pub raft_id: NodeId,
    pub config: ServeConfig,
    pub identity: Arc<MemberIdentity>,
    pub trust: TrustTable,
    pub dialer: Dialer,
    pub tree: Arc<crate::tree::Tree>,
}

/// Everything a running member is made of.
pub struct Member {
    pub name: String,
    pub raft_id: NodeId,
    pub config: ServeConfig,
    pub identity: Arc<MemberIdentity>,
    pub trust: TrustTable,
    pub dialer: Dialer,
    /// The synchronized tree's blob store, status and placed files.
    pub tree: Arc<crate::tree::Tree>,
    /// Raft and the state it drives. Swapped as a whole when this member
    /// joins another collective (its own single-member state is discarded).
    core: RwLock<Arc<Core>>,
    /// Collective identity and data key; replaced by a join.
    collective: RwLock<Arc<Collective>>,
    /// Set once this member has seen its own record in the member table:
    /// only then does its absence mean a removal. (A fresh or joining
    /// member's table may name others before it names this member.)
    seen_self: std::sync::atomic::AtomicBool,
    /// Groups the writes this member forwards to the leader.
    forwarder: Forwarder,
    /// Woken when the member table changed here (a join was committed), so
    /// the membership reconciler adds the new member now rather than at its
    /// next tick.
    pub membership_changed: tokio::sync::Notify,
}

/// The Raft member and the state machine it applies to.
pub struct Core {
    pub raft: Raft,
    pub state: StateHandle,
    /// Groups writes into Raft entries while this member leads.
    pub proposer: Proposer,
}

/// What a member learns from the collective it belongs to.
pub struct Collective {
    pub id: [u8; 16],
    pub data_key: DataKey,
}

/// Why a write or read could not be served. `Refused` is the state's own
/// answer (bad input); the others are about the collective.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// Nothing committed within the deadline. With a minority reachable
    /// that is a lost quorum; with a majority reachable it is an election
    /// or a leader too loaded to commit in time, and the message says so
    /// rather than sending the admin after a network fault.
    #[error(
        "collective has no quorum ({reachable} of {voters} voters reachable){}",
        if reachable * 2 > *voters {
            ": a majority answers, so a leader election is under way or the leader is \
             overloaded; retry"
        } else {
            ""
        }
    )]
    NoQuorum { reachable: usize, voters: usize },
    /// The leader's own no-quorum answer, passed on as it was worded.
    #[error("{0}")]
    LeaderNoQuorum(String),
    #[error("raft: {0}")]
    Raft(String),
    #[error("leader {leader}: {message}")]
    Forward { leader: String, message: String },
    /// This member learnt that it is no longer in the member table: from
    /// its own state, or from the leader refusing it.
    #[error(
        "this member ({name}) was removed from the collective: it takes no writes or \
         linearizable reads (--local still reads its last copy); to bring it back, wipe its \
         data directory and join it again with a new invite"
    )]
    Removed { name: String },
}

impl Member {
    pub fn new(base: Base, core: Core, collective: Collective) -> Member {
        Member {
            forwarder: Forwarder::start(base.dialer.clone()),
            membership_changed: tokio::sync::Notify::new(),
            name: base.name,
            raft_id: base.raft_id,
            config: base.config,
            identity: base.identity,
            trust: base.trust,
            dialer: base.dialer,
            tree: base.tree,
            core: RwLock::new(Arc::new(core)),
            collective: RwLock::new(Arc::new(collective)),
            seen_self: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// The current Raft member and state.
    pub fn core(&self) -> Arc<Core> {
        self.core
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Runs `f` only if `core` is still the current core, holding the core
    /// slot so a concurrent swap waits: work derived from a replaced core's
    /// state must not land after the swap.
    pub fn if_current<T>(&self, core: &Arc<Core>, f: impl FnOnce() -> T) -> Option<T> {
        let slot = self.core.read().unwrap_or_else(PoisonError::into_inner);
        Arc::ptr_eq(&slot, core).then(f)
    }

    /// Replaces Raft and state (after a join), returning the old core so the
    /// caller can shut it down.
    pub fn replace_core(&self, core: Core) -> Arc<Core> {
        let mut slot = self.core.write().unwrap_or_else(PoisonError::into_inner);
        std::mem::replace(&mut *slot, Arc::new(core))
    }

    /// The collective's id and data key.
    pub fn collective(&self) -> Arc<Collective> {
        self.collective
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub fn replace_collective(&self, collective: Collective) {
        *self
            .collective
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Arc::new(collective);
    }

    /// Commits one command and returns the state's answer. Forwarded once
    /// to the leader when this member is not it.
    pub async fn submit(
        &self,
        client: ClientId,
        seq: u64,
        command: Command,
    ) -> Result<Response, ServeError> {
        self.refuse_if_removed()?;
        let deadline = Instant::now() + QUORUM_DEADLINE;
        loop {
            let request = RequestV1 {
                client,
                seq,
                now_ms: now_ms(),
                command: command.clone(),
            };
            let core = self.core();
            // A follower that knows the leader forwards straight away: asking
            // its own Raft core first only to hear "forward to the leader"
            // costs a hand-off to the core and back on every write.
            if let Some(node) = self.leader_elsewhere(&core) {
                match self.forward(&node, client, seq, &command).await {
                    Ok(r) => return Ok(r),
                    Err(e @ (ServeError::LeaderNoQuorum(_) | ServeError::Removed { .. })) => {
                        return Err(e);
                    }
                    // The leader moved: ask our own core below, which knows
                    // as much as there is to know.
                    Err(_) if Instant::now() < deadline => {}
                    Err(_) => return Err(self.no_quorum().await),
                }
            }
            let leader = match timeout_at(deadline, core.proposer.propose(request)).await {
                Err(_) => return Err(self.no_quorum().await),
                Ok(Some(Ok(reply))) => return Ok(reply),
                Ok(Some(Err(e))) => match e.forward_to_leader() {
                    Some(leader) => leader,
                    None => return Err(ServeError::Raft(e.to_string())),
                },
                // The core is being replaced (a join): ask the new one.
                Ok(None) => None,
            };
            match leader {
                Some(node) => match self.forward(&node, client, seq, &command).await {
                    Ok(r) => return Ok(r),
                    // The leader moved or is unreachable: try again, and
                    // past the deadline say why no leader took the write
                    // (not the last hop's connection error).
                    Err(ServeError::Forward { .. }) if Instant::now() < deadline => {}
                    Err(ServeError::Forward { .. }) => return Err(self.no_quorum().await),
                    Err(e) => return Err(e),
                },
                None if Instant::now() >= deadline => return Err(self.no_quorum().await),
                None => {}
            }
            sleep(Duration::from_millis(50)).await;
        }
    }

    /// The leader, when this member knows it and is not it.
    fn leader_elsewhere(&self, core: &Core) -> Option<MemberNode> {
        let metrics = core.raft.metrics();
        let metrics = metrics.borrow();
        let leader = metrics.current_leader.filter(|&id| id != self.raft_id)?;
        metrics
            .membership_config
            .membership()
            .get_node(&leader)
            .cloned()
    }

    /// Sends a request to the leader's `Forward` (grouped with other
    /// forwarded writes); the leader re-stamps the time.
    async fn forward(
        &self,
        leader: &MemberNode,
        client: ClientId,
        seq: u64,
        command: &Command,
    ) -> Result<Response, ServeError> {
        let request = RequestV1 {
            client,
            seq,
            now_ms: 0,
            command: command.clone(),
        };
        self.forwarder
            .forward(leader, request)
            .await
            .map_err(|s| leader_error(&self.name, &leader.name, s))
    }

    /// Waits until this member may serve a linearizable read, then reads.
    pub async fn read_linearizable<T>(&self, f: impl FnOnce(&State) -> T) -> Result<T, ServeError> {
        self.refuse_if_removed()?;
        let deadline = Instant::now() + QUORUM_DEADLINE;
        let index = match timeout_at(deadline, self.read_index()).await {
            Ok(Ok(index)) => index,
            Ok(Err(e)) => return Err(e),
            Err(_) => return Err(self.no_quorum().await),
        };
        let core = self.core();
        let wait = core
            .raft
            .wait(Some(deadline.saturating_duration_since(Instant::now())));
        if wait
            .applied_index_at_least(Some(index), "linearizable read")
            .await
            .is_err()
        {
            return Err(self.no_quorum().await);
        }
        Ok(core.state.read(f))
    }

    /// The log index a read must see: ours if we lead (after confirming
    /// leadership with a quorum), else the leader's. Retries until it
    /// succeeds: callers bound it with their deadline.
    pub async fn read_index(&self) -> Result<u64, ServeError> {
        loop {
            match self.core().raft.ensure_linearizable().await {
                Ok(id) => return Ok(id.map_or(0, |l| l.index)),
                Err(e) => match e.forward_to_leader() {
                    Some(f) => match &f.leader_node {
                        Some(node) => match self.remote_read_index(node).await {
                            Ok(index) => return Ok(index),
                            Err(
                                e @ (ServeError::LeaderNoQuorum(_) | ServeError::Removed { .. }),
                            ) => return Err(e),
                            // The leader is gone or moving: ask again until
                            // the caller's deadline decides.
                            Err(_) => sleep(Duration::from_millis(50)).await,
                        },
                        None => sleep(Duration::from_millis(50)).await,
                    },
                    // Leading, but a quorum did not confirm it this round:
                    // under load one heartbeat round can miss. Ask again
                    // until the caller's deadline decides (then: no quorum).
                    None if matches!(
                        e,
                        RaftError::APIError(CheckIsLeaderError::QuorumNotEnough(_))
                    ) =>
                    {
                        sleep(Duration::from_millis(50)).await
                    }
                    None => return Err(ServeError::Raft(e.to_string())),
                },
            }
        }
    }

    /// A channel to the leader; failing to make one means "try again".
    fn leader_channel(&self, leader: &MemberNode) -> Result<Channel, ServeError> {
        self.dialer
            .channel(&leader.name, &leader.addr)
            .map_err(|message| forward_error(&leader.name, message))
    }

    async fn remote_read_index(&self, leader: &MemberNode) -> Result<u64, ServeError> {
        let channel = self.leader_channel(leader)?;
        let mut request = tonic::Request::new(ReadIndexRequest {});
        request.set_timeout(LEADER_DEADLINE + Duration::from_millis(400));
        let reply = PeerClient::new(channel)
            .read_index(request)
            .await
            .map_err(|s| leader_error(&self.name, &leader.name, s))?;
        Ok(reply.into_inner().read_index)
    }

    /// Counts voters that answer a status probe right now (this member
    /// counts itself), for the no-quorum message. Probes run concurrently,
    /// so the answer comes within one probe timeout.
    pub async fn no_quorum(&self) -> ServeError {
        if let Err(removed) = self.refuse_if_removed() {
            return removed;
        }
        let voters = self.voters();
        let mut reachable = 0;
        let mut probes = tokio::task::JoinSet::new();
        for (id, node) in &voters {
            if *id == self.raft_id {
                reachable += 1;
            } else {
                probes.spawn(probe(self.dialer.clone(), node.clone()));
            }
        }
        while let Some(ok) = probes.join_next().await {
            reachable += usize::from(matches!(ok, Ok(Some(_))));
        }
        ServeError::NoQuorum {
            reachable,
            voters: voters.len(),
        }
    }

    /// `Removed` when this member knows it was removed (see [`Self::removed`]).
    fn refuse_if_removed(&self) -> Result<(), ServeError> {
        if self.removed() {
            return Err(ServeError::Removed {
                name: self.name.clone(),
            });
        }
        Ok(())
    }

    /// Whether the replicated member table, as this member last applied
    /// it, no longer names this member although it once did.
    pub fn removed(&self) -> bool {
        use std::sync::atomic::Ordering;
        let listed = self
            .core()
            .state
            .read(|s| s.members().get(&self.name).map(|r| r.raft_id));
        match listed {
            // A record of another incarnation (same name, new Raft id) is
            // not this process's.
            Some(id) if id == self.raft_id => {
                self.seen_self.store(true, Ordering::Relaxed);
                false
            }
            _ => self.seen_self.load(Ordering::Relaxed),
        }
    }

    /// Voters of the current Raft membership.
    pub fn voters(&self) -> Vec<(NodeId, MemberNode)> {
        let metrics = self.core().raft.metrics().borrow().clone();
        let membership = metrics.membership_config.membership();
        membership
            .voter_ids()
            .filter_map(|id| membership.get_node(&id).map(|n| (id, n.clone())))
            .collect()
    }
}

/// A leader's failure: its no-quorum answer is passed on as such, and so is
/// its refusal of this member (`me`) as unknown; anything else means "try
/// again" to the caller's loop.
fn leader_error(me: &str, leader: &str, s: tonic::Status) -> ServeError {
    if s.code() == tonic::Code::DeadlineExceeded
        && s.message().starts_with("collective has no quorum")
    {
        ServeError::LeaderNoQuorum(s.message().to_owned())
    } else if s.code() == tonic::Code::PermissionDenied
        && s.message().contains("not in the member table")
    {
        ServeError::Removed {
            name: me.to_owned(),
        }
    } else {
        forward_error(leader, s.message().to_owned())
    }
}

fn forward_error(leader: &str, message: String) -> ServeError {
    ServeError::Forward {
        leader: leader.to_owned(),
        message,
    }
}

/// The member's status if it answers within the probe timeout; an answer
/// counts as contact for `collective show`.
pub async fn probe(dialer: Dialer, node: MemberNode) -> Option<PeerStatus> {
    let channel = dialer.channel(&node.name, &node.addr).ok()?;
    let mut client = PeerClient::new(channel);
    let reply = timeout(PROBE_TIMEOUT, client.status(PeerStatusRequest {})).await;
    let status = reply.ok()?.ok()?.into_inner();
    dialer.record_contact(&node.name);
    Some(status)
}

/// Wall-clock milliseconds; only the leader's value reaches the state.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

#[cfg(test)]
mod tests {
    use super::ServeError;

    #[test]
    fn no_quorum_says_whether_a_majority_answers() {
        let minority = ServeError::NoQuorum {
            reachable: 1,
            voters: 3,
        };
        assert_eq!(
            minority.to_string(),
            "collective has no quorum (1 of 3 voters reachable)"
        );
        let majority = ServeError::NoQuorum {
            reachable: 3,
            voters: 3,
        }
        .to_string();
        assert!(
            majority.starts_with(
                "collective has no quorum (3 of 3 voters reachable): a majority answers"
            )
        );
    }
}
