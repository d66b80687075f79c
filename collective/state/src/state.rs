//! The state every member holds, and its read-only queries.
//!
//! [`State::apply`] is the only way in: it deduplicates by client request id
//! (`dedupe`), then hands the command to one function per command family
//! (`apply/`). Queries hand out references; the CLI layer formats them.

use std::collections::BTreeMap;
use std::sync::Arc;

use cohort_api::inventory::{Inventory, Outcome};
use serde::{Deserialize, Serialize};

use crate::dedupe::{Dedupe, Verdict};
use crate::{
    ApplyError, ClientId, InviteRole, MemberRecord, MemberRole, Request, TreeEntry, UserRole,
};

/// What applying one request answered. Kept in the dedupe table, so a
/// retried request gets the same answer without being applied twice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Response {
    /// Applied; warnings for the admin, number of nodes changed.
    Done { warnings: Vec<String>, changed: u64 },
    /// Refused; nothing changed.
    Refused(ApplyError),
    /// Not a command (blank or membership entry).
    Empty,
    /// The answers to a [`Request::Batch`], in its order. Never recorded
    /// for dedupe itself: each member request's answer is.
    Batch(Vec<Response>),
}

impl From<Outcome> for Response {
    fn from(o: Outcome) -> Self {
        Response::Done {
            warnings: o.warnings,
            changed: o.changed as u64,
        }
    }
}

/// A pending invite: only the hash of its secret is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InviteRecord {
    pub name: String,
    pub role: InviteRole,
    pub secret_sha256: [u8; 32],
    pub expires_ms: u64,
}

/// An admin user: only the hash of its token is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    pub name: String,
    pub role: UserRole,
    pub token_sha256: [u8; 32],
}

/// The replicated state.
#[derive(Debug, Clone, Default)]
pub struct State {
    pub(crate) inventory: Inventory,
    pub(crate) members: BTreeMap<String, MemberRecord>,
    pub(crate) invites: BTreeMap<String, InviteRecord>,
    pub(crate) users: BTreeMap<String, UserRecord>,
    pub(crate) data_key_fingerprint: Option<[u8; 32]>,
    pub(crate) dedupe: Dedupe,
    /// The synchronized tree's manifest: path → entry, in path order.
    /// Shared, so that a reader can keep the manifest it last saw and tell
    /// by pointer whether it changed since (`tree_shared`); a change clones
    /// the map only while such a copy is held.
    pub(crate) tree: Arc<BTreeMap<String, TreeEntry>>,
    /// What loading the last snapshot reported; not part of the state.
    pub(crate) restore_warnings: Vec<String>,
}

impl State {
    /// Applies one request; deterministic: the same requests in the same
    /// order give the same responses and the same state on every member.
    pub fn apply(&mut self, request: &Request) -> Response {
        match request {
            Request::V1(r) => self.apply_deduped(r.client, r.seq, r.now_ms, &r.command),
            Request::Batch(rs) => Response::Batch(
                rs.iter()
                    .map(|r| self.apply_deduped(r.client, r.seq, r.now_ms, &r.command))
                    .collect(),
            ),
        }
    }

    fn apply_deduped(
        &mut self,
        client: ClientId,
        seq: u64,
        now_ms: u64,
        command: &crate::Command,
    ) -> Response {
        self.dedupe.expire(now_ms);
        match self.dedupe.check(client, seq) {
            Verdict::Repeat(response) => response,
            Verdict::Stale { last } => Response::Refused(ApplyError::precondition(format!(
                "stale request: sequence {seq} already superseded (this client's last is {last})"
            ))),
            Verdict::Fresh => {
                let response = self.execute(command, now_ms);
                self.dedupe.record(client, seq, now_ms, response.clone());
                response
            }
        }
    }

    /// The whole state as bytes, with a version marker.
    pub fn snapshot(&self) -> Vec<u8> {
        crate::snapshot::encode(self)
    }

    /// Loads a snapshot made by [`State::snapshot`] (this or an older version).
    pub fn restore(bytes: &[u8]) -> Result<State, crate::SnapshotError> {
        crate::snapshot::decode(bytes)
    }

    /// What loading the snapshot this state came from reported (expressions
    /// a newer parser no longer accepts, kept as text); empty otherwise.
    pub fn restore_warnings(&self) -> &[String] {
        &self.restore_warnings
    }

    pub fn inventory(&self) -> &Inventory {
        &self.inventory
    }

    pub fn members(&self) -> &BTreeMap<String, MemberRecord> {
        &self.members
    }

    pub fn invites(&self) -> &BTreeMap<String, InviteRecord> {
        &self.invites
    }

    pub fn users(&self) -> &BTreeMap<String, UserRecord> {
        &self.users
    }

    /// The synchronized tree's manifest.
    pub fn tree(&self) -> &BTreeMap<String, TreeEntry> {
        &self.tree
    }

    /// The manifest as a shared handle: the same pointer (`Arc::ptr_eq`)
    /// as long as no tree command changed it, whatever else was applied.
    pub fn tree_shared(&self) -> Arc<BTreeMap<String, TreeEntry>> {
        Arc::clone(&self.tree)
    }

    pub fn data_key_fingerprint(&self) -> Option<[u8; 32]> {
        self.data_key_fingerprint
    }

    /// The member with this Raft node id.
    pub fn member_by_raft_id(&self, raft_id: u64) -> Option<&MemberRecord> {
        self.members.values().find(|m| m.raft_id == raft_id)
    }

    /// Voting members, by name.
    pub fn voters(&self) -> impl Iterator<Item = &MemberRecord> + '_ {
        self.members_with_role(MemberRole::Voter)
    }

    /// Non-voting members (Raft learners), by name.
    pub fn non_voters(&self) -> impl Iterator<Item = &MemberRecord> + '_ {
        self.members_with_role(MemberRole::NonVoter)
    }

    fn members_with_role(&self, role: MemberRole) -> impl Iterator<Item = &MemberRecord> + '_ {
        self.members.values().filter(move |m| m.role == role)
    }

    /// The pending invite for a member name, if it has not expired by
    /// `now_ms` (expired invites linger until the next invite command).
    pub fn pending_invite(&self, name: &str, now_ms: u64) -> Option<&InviteRecord> {
        self.invites.get(name).filter(|i| now_ms < i.expires_ms)
    }

    /// The user whose token hashes to `token_sha256`.
    pub fn user_by_token_hash(&self, token_sha256: &[u8; 32]) -> Option<&UserRecord> {
        self.users
            .values()
            .find(|u| crate::apply::hashes_equal(&u.token_sha256, token_sha256))
    }

    /// The last sequence number applied for a client and its response, if
    /// the client is still remembered.
    pub fn last_request(&self, client: ClientId) -> Option<(u64, &Response)> {
        self.dedupe.get(client).map(|e| (e.seq, &e.response))
    }

    /// Number of clients in the dedupe table.
    pub fn dedupe_clients(&self) -> usize {
        self.dedupe.len()
    }
}
