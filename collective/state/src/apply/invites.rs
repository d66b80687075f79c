//! Invites (DESIGN.md §4): single use, bound to a member name, expiring.
//!
//! Time is the request's `now_ms`, stamped by the leader, so every member
//! judges expiry alike. Expired invites are dropped when an invite command
//! succeeds, never on a refusal (a refused command changes nothing), so an
//! admin retrying an expired join keeps being told "expired" until the next
//! invite is made.

use super::{Applied, done, hashes_equal};
use crate::names::validate_member_name;
use crate::time::iso8601_utc;
use crate::{ApplyError, InviteRecord, InviteRole, MemberRecord, State};

impl State {
    /// Re-inviting a name replaces its pending invite; inviting an existing
    /// member's name is how a rebuilt member is recovered (its join replaces
    /// the record), so it is allowed, with a warning.
    pub(super) fn create_invite(
        &mut self,
        name: &str,
        role: InviteRole,
        secret_sha256: &[u8; 32],
        expires_ms: u64,
        now_ms: u64,
    ) -> Applied {
        validate_member_name(name)?;
        if expires_ms <= now_ms {
            return Err(ApplyError::invalid(format!(
                "invite for \"{name}\" would expire at {}, which is not after now ({}); \
                 give a positive time to live",
                iso8601_utc(expires_ms),
                iso8601_utc(now_ms)
            )));
        }
        self.drop_expired_invites(now_ms);
        let mut warnings = Vec::new();
        if self.members.contains_key(name) {
            warnings.push(format!(
                "\"{name}\" is already a member; joining with this invite replaces its record"
            ));
        }
        let record = InviteRecord {
            name: name.to_owned(),
            role,
            secret_sha256: *secret_sha256,
            expires_ms,
        };
        if self.invites.insert(name.to_owned(), record).is_some() {
            warnings.push(format!(
                "the earlier invite for \"{name}\" is no longer valid"
            ));
        }
        done(warnings)
    }

    pub(super) fn consume_invite(
        &mut self,
        name: &str,
        secret_sha256: &[u8; 32],
        now_ms: u64,
    ) -> Applied {
        self.check_invite(name, secret_sha256, now_ms)?;
        self.invites.remove(name);
        self.drop_expired_invites(now_ms);
        done(Vec::new())
    }

    /// Consumes the invite and records the member in one step, so a join
    /// never burns an invite without adding its member. All checks come
    /// first; nothing changes unless every one passes.
    pub(super) fn join(
        &mut self,
        member: &MemberRecord,
        secret_sha256: &[u8; 32],
        now_ms: u64,
    ) -> Applied {
        let name = &member.name;
        let invite = self.check_invite(name, secret_sha256, now_ms)?;
        if member.role != invite.role {
            return Err(ApplyError::invalid(format!(
                "the invite for \"{name}\" grants the role {:?}, not {:?}",
                invite.role, member.role
            )));
        }
        if let Some(old) = self.members.get(name)
            && old.raft_id == member.raft_id
        {
            return Err(ApplyError::already_exists(format!(
                "raft id {} is the current id of member \"{name}\"; a rejoining member \
                 needs a new raft id",
                member.raft_id
            )));
        }
        self.check_member(member)?;
        let mut warnings = Vec::new();
        if self.members.contains_key(name) {
            warnings.push(format!(
                "member \"{name}\" was replaced by a new incarnation"
            ));
        }
        self.invites.remove(name);
        self.members.insert(name.clone(), member.clone());
        self.drop_expired_invites(now_ms);
        done(warnings)
    }

    /// The invite for `name`, if it exists, is unexpired at `now_ms` and
    /// its secret hashes to `secret_sha256`; else the cause, by name.
    fn check_invite(
        &self,
        name: &str,
        secret_sha256: &[u8; 32],
        now_ms: u64,
    ) -> Result<&InviteRecord, ApplyError> {
        let Some(invite) = self.invites.get(name) else {
            return Err(ApplyError::precondition(format!(
                "no pending invite for member \"{name}\" \
                 (it was never issued, was already used, or expired)"
            )));
        };
        if now_ms >= invite.expires_ms {
            return Err(ApplyError::precondition(format!(
                "invite for \"{name}\" expired at {}; make a new one with \
                 cohort collective invite {name}",
                iso8601_utc(invite.expires_ms)
            )));
        }
        if !hashes_equal(&invite.secret_sha256, secret_sha256) {
            return Err(ApplyError::denied(format!(
                "invite secret does not match the invite for member \"{name}\""
            )));
        }
        Ok(invite)
    }

    fn drop_expired_invites(&mut self, now_ms: u64) {
        self.invites.retain(|_, i| now_ms < i.expires_ms);
    }
}
