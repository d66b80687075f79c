//! `collective show`: the member table joined with what Raft and a live
//! probe of each member say right now.

use std::collections::BTreeMap;

use cohort_proto::{CollectiveStatus, MemberState, PeerStatus};
use cohort_state::{MemberRecord, MemberRole};
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
    let raft_ids: Vec<u64> = membership.nodes().map(|(id, _)| *id).collect();
    let members = with_raft_only(members, membership.nodes(), &voter_ids);
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
        let in_raft = raft_ids.contains(&record.raft_id);
        let joining = match record.role {
            MemberRole::Voter => !voter,
            MemberRole::NonVoter => !in_raft,
        };
        out.voters += u64::from(voter);
        out.voters_reachable += u64::from(voter && reachable);
        out.members.push(MemberState {
            name: record.name.clone(),
            raft_id: record.raft_id,
            role: role_word(if voter {
                MemberRole::Voter
            } else {
                MemberRole::NonVoter
            })
            .to_owned(),
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
            joining,
            intended_role: role_word(record.role).to_owned(),
        });
    }
    Ok(out)
}

fn role_word(role: MemberRole) -> &'static str {
    match role {
        MemberRole::Voter => "voter",
        MemberRole::NonVoter => "nonvoter",
    }
}

/// Adds the members Raft has that the member table does not list yet: a
/// fresh collective's founder, or a joiner, between Raft taking it in and
/// its own record committing (a few hundred milliseconds). Without them,
/// `collective show` right after `cohort serve` printed an empty table and
/// "0 of 0 voters", while Raft counted one. Their row carries Raft's own
/// address for them; a name the table already holds is left alone.
fn with_raft_only<'a>(
    mut members: BTreeMap<String, MemberRecord>,
    raft_nodes: impl Iterator<Item = (&'a u64, &'a MemberNode)>,
    voter_ids: &[u64],
) -> BTreeMap<String, MemberRecord> {
    for (id, node) in raft_nodes {
        let listed = members.values().any(|r| r.raft_id == *id);
        if listed || members.contains_key(&node.name) {
            continue;
        }
        let role = if voter_ids.contains(id) {
            MemberRole::Voter
        } else {
            MemberRole::NonVoter
        };
        members.insert(
            node.name.clone(),
            MemberRecord {
                name: node.name.clone(),
                raft_id: *id,
                addresses: vec![node.addr.clone()],
                https_addresses: Vec::new(),
                role,
                ca_cert_der: Vec::new(),
                ssh_ca_public: String::new(),
            },
        );
    }
    members
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(name: &str) -> MemberNode {
        MemberNode {
            name: name.to_owned(),
            addr: format!("{name}.example:4001"),
        }
    }

    fn record(name: &str, raft_id: u64) -> MemberRecord {
        MemberRecord {
            name: name.to_owned(),
            raft_id,
            addresses: vec!["listed:4001".to_owned()],
            https_addresses: vec!["listed:4443".to_owned()],
            role: MemberRole::Voter,
            ca_cert_der: vec![1],
            ssh_ca_public: "ssh-ed25519 AAAA".to_owned(),
        }
    }

    #[test]
    fn raft_members_missing_from_the_table_are_shown_with_raft_roles() {
        let raft = [(1, node("m1")), (2, node("m2")), (3, node("m3"))];
        let table = BTreeMap::from([("m1".to_owned(), record("m1", 1))]);
        let shown = with_raft_only(table, raft.iter().map(|(i, n)| (i, n)), &[1, 2]);
        let names: Vec<&str> = shown.keys().map(String::as_str).collect();
        assert_eq!(names, ["m1", "m2", "m3"]);
        // The table's own record is untouched.
        assert_eq!(shown["m1"], record("m1", 1));
        assert_eq!(shown["m2"].role, MemberRole::Voter);
        assert_eq!(shown["m2"].addresses, ["m2.example:4001"]);
        assert_eq!(shown["m3"].role, MemberRole::NonVoter);
    }

    #[test]
    fn a_name_the_table_holds_under_another_raft_id_is_left_alone() {
        // m2 rejoined under a new Raft id: Raft still lists the old one
        // until the reconciler removes it.
        let raft = [(2, node("m2")), (5, node("m2"))];
        let table = BTreeMap::from([("m2".to_owned(), record("m2", 5))]);
        let shown = with_raft_only(table, raft.iter().map(|(i, n)| (i, n)), &[2, 5]);
        assert_eq!(shown.len(), 1);
        assert_eq!(shown["m2"].raft_id, 5);
    }
}
