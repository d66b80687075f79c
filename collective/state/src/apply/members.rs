//! The member table and the collective data key fingerprint.
//!
//! The table is what peers authenticate against (DESIGN.md §3), and Raft's
//! own membership is derived from it by the leader (docs/design/0003).
//! `PutMember` both adds and replaces (new addresses, a new CA); a member
//! normally enters through `Join` (see `invites.rs`), which shares the
//! checks here.

use super::{Applied, done};
use crate::names::{validate_address, validate_member_name};
use crate::{ApplyError, MemberRecord, State};

impl State {
    pub(super) fn put_member(&mut self, member: &MemberRecord) -> Applied {
        self.check_member(member)?;
        self.members.insert(member.name.clone(), member.clone());
        done(Vec::new())
    }

    /// Everything `PutMember` requires, without changing anything.
    pub(super) fn check_member(&self, member: &MemberRecord) -> Result<(), ApplyError> {
        let name = &member.name;
        validate_member_name(name)?;
        if member.addresses.is_empty() {
            return Err(ApplyError::invalid(format!(
                "member \"{name}\" needs at least one peer address (host:port)"
            )));
        }
        for address in member.addresses.iter().chain(&member.https_addresses) {
            validate_address(name, address)?;
        }
        let clash = self
            .members
            .values()
            .find(|m| m.raft_id == member.raft_id && m.name != *name);
        if let Some(other) = clash {
            return Err(ApplyError::already_exists(format!(
                "raft id {} is already used by member \"{}\"; member \"{name}\" needs another",
                member.raft_id, other.name
            )));
        }
        Ok(())
    }

    pub(super) fn remove_member(&mut self, name: &str) -> Applied {
        if self.members.remove(name).is_none() {
            return Err(ApplyError::not_found(format!(
                "member \"{name}\" is not in the collective"
            )));
        }
        done(Vec::new())
    }

    /// Set once. Rotation (re-encrypting every secret) is a later feature
    /// with its own command; until then a different key is refused, since
    /// accepting it would make every stored secret unreadable.
    pub(super) fn set_data_key_fingerprint(&mut self, fingerprint: &[u8; 32]) -> Applied {
        match &self.data_key_fingerprint {
            None => {
                self.data_key_fingerprint = Some(*fingerprint);
                done(Vec::new())
            }
            Some(current) if current == fingerprint => done(Vec::new()),
            Some(current) => Err(ApplyError::precondition(format!(
                "the collective data key is already set (fingerprint {}...); \
                 changing it is not supported yet",
                hex_prefix(current)
            ))),
        }
    }
}

/// The first 8 bytes as hex: enough to tell keys apart in a message.
fn hex_prefix(bytes: &[u8; 32]) -> String {
    bytes[..8].iter().map(|b| format!("{b:02x}")).collect()
}
