//! Tests of the state machine, by category (openraft's habit):
//! - `t10_inventory`: inventory commands through `apply`.
//! - `t20_members`: members, the data key, users, `Noop`.
//! - `t30_invites`: invite creation, consumption, expiry.
//! - `t40_dedupe`: exactly-once by `(client, seq)`.
//! - `t50_snapshot`: snapshot/restore, corruption, request decoding.
//! - `t60_frozen`: frozen bytes of every log and snapshot format.
//! - `t70_props`: determinism and restore-equivalence properties.
//!
//! Most tests go through [`check`]: a table of commands with the answer
//! each must get. It also asserts, for every refused command, that the
//! state apart from the dedupe table is byte-for-byte unchanged.

mod t10_inventory;
mod t20_members;
mod t30_invites;
mod t40_dedupe;
mod t50_snapshot;
mod t60_frozen;
mod t70_props;
mod t80_tree;
mod t90_deploy;

use crate::dedupe::Dedupe;
use crate::{
    ClientId, Command, ErrorCode, InviteRole, MemberRecord, MemberRole, Request, RequestV1,
    Response, State, TreeEntry, UserRole,
};

/// 2026-11-05T00:00:00Z, the default `now_ms` of a step.
pub(crate) const T0: u64 = 1_793_836_800_000;
pub(crate) const CLIENT: ClientId = 0xC11E;

/// The answer a step must get.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Want {
    /// Done, without warnings.
    Done,
    /// Done, having changed this many nodes, whatever the warnings.
    Changed(u64),
    /// Done, with a warning containing this text.
    Warns(&'static str),
    /// Refused with this code and a message containing this text.
    Refused(ErrorCode, &'static str),
}

pub(crate) use Want::{Changed, Done, Refused, Warns};

/// Applies `steps` at [`T0`] to a fresh state and checks each answer.
pub(crate) fn check(steps: &[(Command, Want)]) -> State {
    let timed: Vec<(u64, Command, Want)> = steps.iter().map(|(c, w)| (T0, c.clone(), *w)).collect();
    check_at(&mut State::default(), &timed)
}

/// Applies timed steps to `state`, each as the next request of [`CLIENT`].
pub(crate) fn check_at(state: &mut State, steps: &[(u64, Command, Want)]) -> State {
    for (i, (now_ms, command, want)) in steps.iter().enumerate() {
        let seq = next_seq(state);
        let before = content(state);
        let got = state.apply(&Request::v1(CLIENT, seq, *now_ms, command.clone()));
        let what = format!("step {i}: {command:?}");
        assert_answer(&got, *want, &what);
        if matches!(got, Response::Refused(_)) {
            assert_eq!(
                content(state),
                before,
                "{what}: refused but changed the state"
            );
        }
    }
    state.clone()
}

fn next_seq(state: &State) -> u64 {
    state.last_request(CLIENT).map_or(1, |(seq, _)| seq + 1)
}

pub(crate) fn assert_answer(got: &Response, want: Want, what: &str) {
    match (got, want) {
        (Response::Done { warnings, .. }, Done) => {
            assert!(
                warnings.is_empty(),
                "{what}: unexpected warnings {warnings:?}"
            );
        }
        (Response::Done { changed, .. }, Changed(n)) => assert_eq!(*changed, n, "{what}"),
        (Response::Done { warnings, .. }, Warns(text)) => assert!(
            warnings.iter().any(|w| w.contains(text)),
            "{what}: no warning contains {text:?}: {warnings:?}"
        ),
        (Response::Refused(e), Refused(code, text)) => {
            assert_eq!(e.code, code, "{what}: {}", e.message);
            assert!(
                e.message.contains(text),
                "{what}: {:?} lacks {text:?}",
                e.message
            );
        }
        _ => panic!("{what}: got {got:?}, want {want:?}"),
    }
}

/// The state's bytes without the dedupe table: what a command may change.
pub(crate) fn content(state: &State) -> Vec<u8> {
    let mut s = state.clone();
    s.dedupe = Dedupe::default();
    s.snapshot()
}

/// Node names in natural order.
pub(crate) fn nodes(state: &State) -> Vec<String> {
    state.inventory().node_names().map(str::to_owned).collect()
}

/// An effective value, `None` when unset.
pub(crate) fn attr(state: &State, node: &str, name: &str) -> Option<String> {
    let v = state.inventory().node_value(node, name)?;
    Some(v.value.to_owned())
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

pub(crate) fn define(noderange: &str, assignments: &[&str]) -> Command {
    Command::DefineNodes {
        noderange: noderange.to_owned(),
        assignments: strings(assignments),
    }
}

pub(crate) fn set(noderange: &str, assignments: &[&str]) -> Command {
    Command::SetNodeAttributes {
        noderange: noderange.to_owned(),
        assignments: strings(assignments),
    }
}

pub(crate) fn clear(noderange: &str, names: &[&str]) -> Command {
    Command::ClearNodeAttributes {
        noderange: noderange.to_owned(),
        names: strings(names),
    }
}

pub(crate) fn remove(noderange: &str) -> Command {
    Command::RemoveNodes {
        noderange: noderange.to_owned(),
    }
}

pub(crate) fn rename(old: &str, new: &str) -> Command {
    Command::RenameNode {
        old: old.to_owned(),
        new: new.to_owned(),
    }
}

pub(crate) fn gdefine(name: &str, assignments: &[&str]) -> Command {
    Command::DefineGroup {
        name: name.to_owned(),
        assignments: strings(assignments),
    }
}

pub(crate) fn gset(name: &str, assignments: &[&str]) -> Command {
    Command::SetGroupAttributes {
        name: name.to_owned(),
        assignments: strings(assignments),
    }
}

pub(crate) fn gclear(name: &str, names: &[&str]) -> Command {
    Command::ClearGroupAttributes {
        name: name.to_owned(),
        names: strings(names),
    }
}

pub(crate) fn gremove(name: &str) -> Command {
    Command::RemoveGroup {
        name: name.to_owned(),
    }
}

pub(crate) fn grename(old: &str, new: &str) -> Command {
    Command::RenameGroup {
        old: old.to_owned(),
        new: new.to_owned(),
    }
}

pub(crate) fn member(name: &str, raft_id: u64) -> MemberRecord {
    MemberRecord {
        name: name.to_owned(),
        raft_id,
        addresses: vec![format!("10.0.0.{raft_id}:13001")],
        https_addresses: vec![format!("10.0.0.{raft_id}:8443")],
        role: MemberRole::Voter,
        ca_cert_der: vec![0x30, 0x03, 0x02, 0x01, raft_id as u8],
        ssh_ca_public: format!("ssh-ed25519 AAAA{raft_id} {name}"),
    }
}

pub(crate) fn put_member(m: MemberRecord) -> Command {
    Command::PutMember { member: m }
}

pub(crate) fn remove_member(name: &str) -> Command {
    Command::RemoveMember {
        name: name.to_owned(),
    }
}

pub(crate) fn invite(name: &str, secret: u8, expires_ms: u64) -> Command {
    Command::CreateInvite {
        name: name.to_owned(),
        role: InviteRole::Voter,
        secret_sha256: [secret; 32],
        expires_ms,
    }
}

pub(crate) fn consume(name: &str, secret: u8) -> Command {
    Command::ConsumeInvite {
        name: name.to_owned(),
        secret_sha256: [secret; 32],
    }
}

pub(crate) fn put_user(name: &str, role: UserRole, token: u8) -> Command {
    Command::PutUser {
        name: name.to_owned(),
        role,
        token_sha256: [token; 32],
    }
}

pub(crate) fn remove_user(name: &str) -> Command {
    Command::RemoveUser {
        name: name.to_owned(),
    }
}

pub(crate) fn data_key(byte: u8) -> Command {
    Command::SetDataKeyFingerprint {
        fingerprint: [byte; 32],
    }
}
