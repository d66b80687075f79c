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
    let raft_nodes: Vec<(u64, MemberNode)> = membership
        .nodes()
        .map(|(id, node)| (*id, node.clone()))
        .collect();
    let rows = rows(members, &raft_nodes, &voter_ids);
    let leader_last = if metrics.current_leader == Some(member.raft_id) {
        metrics.last_log_index.unwrap_or(0)
    } else {
        0
    };
    let mut probes = tokio::task::JoinSet::new();
    for (record, _) in rows.values() {
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
    for (record, change) in rows.values() {
        let own = record.raft_id == member.raft_id;
        let probe = answers.get(&record.name).cloned().flatten();
        let reachable = own || probe.is_some();
        let applied = if own {
            own_applied
        } else {
            probe.as_ref().map_or(0, |p| p.applied_index)
        };
        let voter = voter_ids.contains(&record.raft_id);
        let raft_role = if voter {
            MemberRole::Voter
        } else {
            MemberRole::NonVoter
        };
        out.voters += u64::from(voter);
        out.voters_reachable += u64::from(voter && reachable);
        out.members.push(MemberState {
            name: record.name.clone(),
            raft_id: record.raft_id,
            role: role_word(raft_role).to_owned(),
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
            joining: *change == Change::Joining,
            leaving: *change == Change::Leaving,
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

/// Where a member stands between the member table and Raft.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Change {
    /// Raft holds it in the role the table gives it.
    Settled,
    /// The table lists it, Raft does not hold it in that role yet (a new
    /// voter catching up, the even voter waiting for a partner); or a fresh
    /// collective's founder, before its own record commits.
    Joining,
    /// Raft still holds it, the table no longer lists it: removed, until
    /// the reconciler takes it out of Raft.
    Leaving,
}

/// Every member of the table, plus the members Raft holds that the table
/// does not list, each with where it stands. Without the latter,
/// `collective show` right after `cohort serve` printed an empty table and
/// "0 of 0 voters" while Raft counted one (the founder's record commits a
/// few hundred milliseconds after start). A Raft member missing from a
/// non-empty table was removed: a joiner is always recorded before Raft
/// takes it in. Its row carries Raft's own address for it; a name the
/// table already holds (a rejoin under a new Raft id) is left alone.
fn rows(
    members: BTreeMap<String, MemberRecord>,
    raft_nodes: &[(u64, MemberNode)],
    voter_ids: &[u64],
) -> BTreeMap<String, (MemberRecord, Change)> {
    let founding = members.is_empty();
    let mut rows: BTreeMap<String, (MemberRecord, Change)> = members
        .into_iter()
        .map(|(name, record)| {
            let in_raft = raft_nodes.iter().any(|(id, _)| *id == record.raft_id);
            let settled = match record.role {
                MemberRole::Voter => voter_ids.contains(&record.raft_id),
                MemberRole::NonVoter => in_raft,
            };
            let change = if settled {
                Change::Settled
            } else {
                Change::Joining
            };
            (name, (record, change))
        })
        .collect();
    for (id, node) in raft_nodes {
        let listed = rows.values().any(|(r, _)| r.raft_id == *id);
        if listed || rows.contains_key(&node.name) {
            continue;
        }
        let role = if voter_ids.contains(id) {
            MemberRole::Voter
        } else {
            MemberRole::NonVoter
        };
        let record = MemberRecord {
            name: node.name.clone(),
            raft_id: *id,
            addresses: vec![node.addr.clone()],
            https_addresses: Vec::new(),
            role,
            ca_cert_der: Vec::new(),
            ssh_ca_public: String::new(),
        };
        let change = if founding {
            Change::Joining
        } else {
            Change::Leaving
        };
        rows.insert(node.name.clone(), (record, change));
    }
    rows
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

    fn raft(nodes: &[(u64, &str)]) -> Vec<(u64, MemberNode)> {
        nodes.iter().map(|(id, name)| (*id, node(name))).collect()
    }

    #[test]
    fn a_founder_not_yet_in_its_table_is_shown_joining() {
        let shown = rows(BTreeMap::new(), &raft(&[(1, "m1")]), &[1]);
        let (record, change) = &shown["m1"];
        assert_eq!(*change, Change::Joining);
        assert_eq!(record.role, MemberRole::Voter);
        assert_eq!(record.addresses, ["m1.example:4001"]);
    }

    #[test]
    fn table_roles_against_raft_roles() {
        let mut m3 = record("m3", 3);
        m3.role = MemberRole::NonVoter;
        let mut m4 = record("m4", 4);
        m4.role = MemberRole::NonVoter;
        let table = BTreeMap::from([
            ("m1".to_owned(), record("m1", 1)),
            // Invited as a voter, still a learner in Raft.
            ("m2".to_owned(), record("m2", 2)),
            // A non-voter Raft holds as a learner: settled.
            ("m3".to_owned(), m3),
            // A non-voter Raft has not taken in yet.
            ("m4".to_owned(), m4),
        ]);
        let shown = rows(
            table.clone(),
            &raft(&[(1, "m1"), (2, "m2"), (3, "m3")]),
            &[1],
        );
        let changes: Vec<(&str, Change)> =
            shown.iter().map(|(n, (_, c))| (n.as_str(), *c)).collect();
        assert_eq!(
            changes,
            [
                ("m1", Change::Settled),
                ("m2", Change::Joining),
                ("m3", Change::Settled),
                ("m4", Change::Joining)
            ]
        );
        // The table's records are shown as they are.
        assert_eq!(shown["m2"].0, table["m2"]);
    }

    #[test]
    fn a_removed_member_raft_still_holds_is_shown_leaving() {
        let table = BTreeMap::from([("m1".to_owned(), record("m1", 1))]);
        let shown = rows(table, &raft(&[(1, "m1"), (2, "m2")]), &[1, 2]);
        assert_eq!(shown["m2"].1, Change::Leaving);
        assert_eq!(shown["m2"].0.role, MemberRole::Voter);
    }

    #[test]
    fn a_name_the_table_holds_under_another_raft_id_is_left_alone() {
        // m2 rejoined under a new Raft id: Raft still lists the old one
        // until the reconciler removes it.
        let table = BTreeMap::from([("m2".to_owned(), record("m2", 5))]);
        let shown = rows(table, &raft(&[(2, "m2"), (5, "m2")]), &[2, 5]);
        assert_eq!(shown.len(), 1);
        assert_eq!(shown["m2"].0.raft_id, 5);
        assert_eq!(shown["m2"].1, Change::Settled);
    }
}
