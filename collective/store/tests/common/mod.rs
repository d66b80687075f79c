//! Builders shared by the store tests.
#![allow(dead_code)] // each test file uses a different subset

use std::collections::{BTreeMap, BTreeSet};

use cohort_state::{Command, Request, RequestV1};
use cohort_store::{Entry, LogId, MemberNode, Membership};
use openraft::{CommittedLeaderId, EntryPayload};

pub fn log_id(term: u64, index: u64) -> LogId {
    LogId::new(CommittedLeaderId::new(term, 1), index)
}

pub fn blank(term: u64, index: u64) -> Entry {
    Entry {
        log_id: log_id(term, index),
        payload: EntryPayload::Blank,
    }
}

pub fn request(seq: u64, command: Command) -> Request {
    Request::V1(RequestV1 {
        client: 7,
        seq,
        now_ms: 1_700_000_000_000,
        command,
    })
}

pub fn normal(term: u64, index: u64, command: Command) -> Entry {
    Entry {
        log_id: log_id(term, index),
        payload: EntryPayload::Normal(request(index, command)),
    }
}

pub fn define_nodes(term: u64, index: u64, noderange: &str) -> Entry {
    normal(
        term,
        index,
        Command::DefineNodes {
            noderange: noderange.into(),
            assignments: vec![],
        },
    )
}

pub fn membership(voters: &[u64]) -> Membership {
    let nodes: BTreeMap<u64, MemberNode> = voters
        .iter()
        .map(|&id| {
            (
                id,
                MemberNode {
                    name: format!("m{id}"),
                    addr: format!("10.0.0.{id}:13001"),
                },
            )
        })
        .collect();
    Membership::new(vec![voters.iter().copied().collect::<BTreeSet<_>>()], nodes)
}

pub fn membership_entry(term: u64, index: u64, voters: &[u64]) -> Entry {
    Entry {
        log_id: log_id(term, index),
        payload: EntryPayload::Membership(membership(voters)),
    }
}
