//! `collective show`: the member table joined with what Raft and a live
//! probe of each member say right now.

use std::collections::BTreeMap;

use cohort_proto::{CollectiveStatus, MemberState, PeerStatus};
use cohort_state::MemberRecord;
use cohort_store::MemberNode;
use tonic::Status;

use super::member::{Member, probe};

pub async fn collective_status(
    member: &Member,
    members: BTreeMap<String, MemberRecord>,
) -> Result<CollectiveStatus, Status> {
    let metrics = member.core().raft.metrics().borrow().clone();
    let membership = metrics.membership_config.membership().clone();
    let voter_ids: Vec<u64> = membership.voter_ids().collect();
    let leader_last = if metrics.current_leader == Some(member.raft_id) {
        metrics.last_log_index.unwrap_or(0)
    } else {
        0
    };
    let mut probes = tokio::task::JoinSet::new();
    for record in members.values() {
        if record.raft_id == member.raft_id {
            continue;
        }
        let node = MemberNode {
            name: record.name.clone(),
            addr: record.addresses.first().cloned().unwrap_or_default(),
        };
        let dialer = member.dialer.clone();
        probes.spawn(async move { (node.name.clone(), probe(dialer, node).await) });
    }
    let mut answers: BTreeMap<String, Option<PeerStatus>> = BTreeMap::new();
    while let Some(Ok((name, status))) = probes.join_next().await {
        answers.insert(name, status);
    }
    let own_applied = metrics.last_applied.map_or(0, |l| l.index);
    let mut out = CollectiveStatus {
        term: metrics.current_term,
        ..CollectiveStatus::default()
    };
    for record in members.values() {
        let own = record.raft_id == member.raft_id;
        let probe = answers.get(&record.name).cloned().flatten();
        let reachable = own || probe.is_some();
        let applied = if own {
            own_applied
        } else {
            probe.as_ref().map_or(0, |p| p.applied_index)
        };
        let voter = voter_ids.contains(&record.raft_id);
        out.voters += u64::from(voter);
        out.voters_reachable += u64::from(voter && reachable);
        out.members.push(MemberState {
            name: record.name.clone(),
            raft_id: record.raft_id,
            role: if voter { "voter" } else { "nonvoter" }.to_owned(),
            leader: metrics.current_leader == Some(record.raft_id),
            reachable,
            last_contact_ms: if own {
                Some(0)
            } else {
                member
                    .dialer
                    .last_contact(&record.name)
                    .map(|d| d.as_millis() as u64)
            },
            applied_index: applied,
            lag: if reachable && leader_last > 0 {
                leader_last.saturating_sub(applied)
            } else {
                0
            },
            addresses: record.addresses.clone(),
            https_addresses: record.https_addresses.clone(),
        });
    }
    Ok(out)
}
