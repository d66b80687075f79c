//! Background tasks that keep local and Raft state in step with the
//! replicated member table (docs/design/0003-membership.md):
//!
//! - [`trust_refresher`]: the TLS trust table is the member table's CAs, so
//!   a removed member is refused at its next handshake or RPC;
//! - [`register_self`]: this member's own record (addresses, CA, SSH CA) is
//!   in the table, and the collective's data key fingerprint is recorded;
//! - [`membership_reconciler`]: on the leader, Raft membership follows the
//!   table (add learners, promote caught-up voters, drop removed members).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use cohort_state::{Command, MemberRecord, MemberRole};
use cohort_store::MemberNode;
use openraft::ChangeMembers;
use tokio::sync::watch;
use tracing::{info, warn};

use super::TICK;
use super::member::Member;

/// Entries a learner may trail the leader by and still be promoted.
const CAUGHT_UP: u64 = 100;

async fn tick_or_stop(stop: &mut watch::Receiver<bool>) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(TICK) => false,
        _ = stop.wait_for(|s| *s) => true,
    }
}

/// Keeps the TLS trust table equal to the member table (plus ourselves).
pub async fn trust_refresher(member: Arc<Member>, mut stop: watch::Receiver<bool>) {
    loop {
        let core = member.core();
        let records = core.state.read(|s| s.members().clone());
        // A member that just joined has no replicated table yet: keep the
        // trust it was handed at the join until the table arrives.
        if !records.is_empty() {
            let mut table: BTreeMap<String, Vec<u8>> = records
                .values()
                .map(|r| (r.name.clone(), r.ca_cert_der.clone()))
                .collect();
            table
                .entry(member.name.clone())
                .or_insert_with(|| member.identity.ca_cert_der().to_vec());
            // Only if no join swapped the core meanwhile: a table from the
            // old collective must not replace the one the join set.
            member.if_current(&core, || {
                for gone in member
                    .trust
                    .names()
                    .into_iter()
                    .filter(|n| !table.contains_key(n))
                {
                    member.dialer.forget(&gone);
                }
                member.trust.set(table);
            });
        }
        if tick_or_stop(&mut stop).await {
            return;
        }
    }
}

/// This member's record as it should be in the table.
fn own_record(member: &Member, role: MemberRole) -> MemberRecord {
    MemberRecord {
        name: member.name.clone(),
        raft_id: member.raft_id,
        addresses: member.config.advertise.clone(),
        https_addresses: vec![member.config.https_listen.to_string()],
        role,
        ca_cert_der: member.identity.ca_cert_der().to_vec(),
        ssh_ca_public: member.identity.ssh_ca_public_openssh(),
    }
}

/// Puts this member's record (and the data key fingerprint) into the
/// replicated state, retrying until the collective accepts it.
///
/// Only a member that founded its collective creates its own record; a
/// member that joined got its record (with the role its invite granted)
/// from the `Join` command, and one whose state has not caught up yet waits.
/// An existing record is updated in place (addresses, keys), keeping its role.
pub async fn register_self(member: Arc<Member>, mut stop: watch::Receiver<bool>) {
    let client = super::random_u128();
    let mut seq = 0;
    loop {
        let core = member.core();
        let (current, fingerprint) = core.state.read(|s| {
            (
                s.members().get(&member.name).cloned(),
                s.data_key_fingerprint(),
            )
        });
        let founder = {
            let metrics = core.raft.metrics().borrow().clone();
            let membership = metrics.membership_config.membership();
            membership.nodes().map(|(id, _)| *id).eq([member.raft_id])
        };
        let command = match &current {
            Some(record) => {
                let wanted = own_record(&member, record.role);
                if *record != wanted {
                    Some(Command::PutMember { member: wanted })
                } else if fingerprint.is_none() {
                    let key = member.collective().data_key.fingerprint();
                    Some(Command::SetDataKeyFingerprint { fingerprint: key })
                } else {
                    return;
                }
            }
            None if founder => Some(Command::PutMember {
                member: own_record(&member, MemberRole::Voter),
            }),
            None => None,
        };
        if let Some(command) = command {
            seq += 1;
            if let Err(e) = member.submit(client, seq, command).await {
                warn!(error = %e, "cannot register this member yet; retrying");
            }
        }
        if tick_or_stop(&mut stop).await {
            return;
        }
    }
}

/// On the leader: make Raft membership follow the member table, one change
/// at a time.
pub async fn membership_reconciler(member: Arc<Member>, mut stop: watch::Receiver<bool>) {
    loop {
        if let Err(e) = reconcile_once(&member).await {
            warn!(error = %e, "membership change failed; retrying");
        }
        tokio::select! {
            _ = tokio::time::sleep(TICK) => {}
            // A join committed on this member: its learner is added at once
            // (the tick alone made a join wait up to half a second).
            _ = member.membership_changed.notified() => {}
            _ = stop.wait_for(|s| *s) => return,
        }
    }
}

async fn reconcile_once(member: &Member) -> Result<(), String> {
    // Asked on every member each tick, so each learns it is listed (and so
    // can tell a later removal from a table that does not name it yet).
    let removed = member.removed();
    let core = member.core();
    let metrics = core.raft.metrics().borrow().clone();
    if metrics.current_leader != Some(member.raft_id) {
        return Ok(());
    }
    let records = core.state.read(|s| s.members().clone());
    let membership = metrics.membership_config.membership().clone();
    let in_raft: BTreeSet<u64> = membership.nodes().map(|(id, _)| *id).collect();
    let voters: BTreeSet<u64> = membership.voter_ids().collect();
    let wanted: BTreeMap<u64, &MemberRecord> = records.values().map(|r| (r.raft_id, r)).collect();
    // Until our own record is in the table, the table is not yet the truth
    // (a fresh collective registers itself first): touch nothing. A table
    // that once named us and no longer does (`Member::removed`) means
    // `collective remove` of this member, the leader: it leaves the voters
    // itself (openraft lets a
    // leader commit a configuration without it, then it steps down), and
    // the next leader removes the node entry as for any other member.
    if !wanted.contains_key(&member.raft_id) {
        if !removed || !voters.contains(&member.raft_id) {
            return Ok(());
        }
        if voters.len() == 1 {
            warn!(
                "this member leads alone and was removed from the member table; nothing to hand over to"
            );
            return Ok(());
        }
        info!("this member, the leader, was removed from the member table: leaving the voters");
        let change = ChangeMembers::RemoveVoters(BTreeSet::from([member.raft_id]));
        core.raft
            .change_membership(change, false)
            .await
            .map_err(|e| e.to_string())?;
        return Ok(());
    }

    // 1. New members become learners.
    if let Some(r) = wanted.values().find(|r| !in_raft.contains(&r.raft_id)) {
        let node = MemberNode {
            name: r.name.clone(),
            addr: r.addresses.first().cloned().unwrap_or_default(),
        };
        info!(member = %r.name, "adding member as a learner");
        core.raft
            .add_learner(r.raft_id, node, false)
            .await
            .map_err(|e| e.to_string())?;
        return Ok(());
    }
    // 2. Caught-up learners that should vote are promoted.
    let last = metrics.last_log_index.unwrap_or(0);
    let matched = |id: u64| {
        metrics
            .replication
            .as_ref()
            .and_then(|m| m.get(&id).cloned().flatten())
            .map_or(0, |l| l.index)
    };
    // Voters stay odd: an even count tolerates no more failures than the
    // odd count below it and needs a larger quorum. A lone candidate waits
    // for a second one; two are promoted together.
    let mut ready: Vec<&MemberRecord> = wanted
        .values()
        .copied()
        .filter(|r| r.role == MemberRole::Voter && !voters.contains(&r.raft_id))
        .filter(|r| matched(r.raft_id) + CAUGHT_UP >= last)
        .collect();
    if (voters.len() + ready.len()).is_multiple_of(2) {
        ready.pop();
    }
    if !ready.is_empty() {
        let ids: BTreeSet<u64> = ready.iter().map(|r| r.raft_id).collect();
        let names: Vec<&str> = ready.iter().map(|r| r.name.as_str()).collect();
        info!(?names, "promoting caught-up members to voters");
        let change = ChangeMembers::AddVoterIds(ids);
        core.raft
            .change_membership(change, true)
            .await
            .map_err(|e| e.to_string())?;
        return Ok(());
    }
    // 3. Members gone from the table leave Raft (voters first, then nodes).
    // This member, the leader, is handled above.
    let gone: BTreeSet<u64> = in_raft
        .iter()
        .copied()
        .filter(|id| !wanted.contains_key(id) && *id != member.raft_id)
        .collect();
    let gone_voters: BTreeSet<u64> = gone.intersection(&voters).copied().collect();
    if !gone_voters.is_empty() {
        info!(?gone_voters, "removing voters that left the member table");
        let change = ChangeMembers::RemoveVoters(gone_voters);
        core.raft
            .change_membership(change, false)
            .await
            .map_err(|e| e.to_string())?;
    } else if !gone.is_empty() {
        info!(?gone, "removing members that left the member table");
        let change = ChangeMembers::RemoveNodes(gone);
        core.raft
            .change_membership(change, false)
            .await
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}
