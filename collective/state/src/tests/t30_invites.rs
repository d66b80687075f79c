//! Invites: single use, bound to a name, expiring against the log's time.

use super::*;
use crate::ErrorCode::{FailedPrecondition, InvalidArgument, PermissionDenied};

const HOUR: u64 = 3_600_000;

fn timed(steps: &[(u64, Command, Want)]) -> State {
    check_at(&mut State::default(), steps)
}

#[test]
fn create_then_consume_once() {
    let s = timed(&[
        (T0, invite("m2", 7, T0 + HOUR), Done),
        (T0 + 1, consume("m2", 7), Done),
        (
            T0 + 2,
            consume("m2", 7),
            Refused(FailedPrecondition, "no pending invite for member \"m2\""),
        ),
    ]);
    assert!(s.invites().is_empty());
}

#[test]
fn invite_is_recorded_with_role_hash_and_expiry() {
    let mut s = State::default();
    let create = Command::CreateInvite {
        name: "m4".to_owned(),
        role: InviteRole::NonVoter,
        secret_sha256: [9; 32],
        expires_ms: T0 + HOUR,
    };
    check_at(&mut s, &[(T0, create, Done)]);
    let i = &s.invites()["m4"];
    assert_eq!(
        (i.role, i.secret_sha256, i.expires_ms),
        (InviteRole::NonVoter, [9; 32], T0 + HOUR)
    );
    assert_eq!(s.pending_invite("m4", T0 + HOUR - 1), Some(i));
    assert_eq!(s.pending_invite("m4", T0 + HOUR), None);
}

#[test]
fn consume_refusals_name_their_cause() {
    timed(&[
        (
            T0,
            consume("m2", 7),
            Refused(FailedPrecondition, "it was never issued, was already used"),
        ),
        (T0, invite("m2", 7, T0 + HOUR), Done),
        (
            T0,
            consume("m3", 7),
            Refused(FailedPrecondition, "no pending invite for member \"m3\""),
        ),
        (
            T0,
            consume("m2", 8),
            Refused(PermissionDenied, "invite secret does not match"),
        ),
        // 2026-11-05T01:00:00Z: the expiry, printed without a clock.
        (
            T0 + HOUR,
            consume("m2", 7),
            Refused(
                FailedPrecondition,
                "invite for \"m2\" expired at 2026-11-05T01:00:00Z",
            ),
        ),
        // A refused consume keeps the expired invite, so the answer stays "expired".
        (
            T0 + 2 * HOUR,
            consume("m2", 7),
            Refused(FailedPrecondition, "expired at"),
        ),
    ]);
}

#[test]
fn create_refusals() {
    timed(&[
        (
            T0,
            invite("m2", 7, T0),
            Refused(InvalidArgument, "not after now (2026-11-05T00:00:00Z)"),
        ),
        (
            T0,
            invite("m2", 7, T0 - 1),
            Refused(InvalidArgument, "would expire at 2026-11-04T23:59:59.999Z"),
        ),
        (
            T0,
            invite("bad_name", 7, T0 + HOUR),
            Refused(InvalidArgument, "not a valid member name"),
        ),
        (
            T0,
            invite("", 7, T0 + HOUR),
            Refused(InvalidArgument, "member name is empty"),
        ),
    ]);
}

#[test]
fn reinvite_replaces_the_pending_invite() {
    let s = timed(&[
        (T0, invite("m2", 1, T0 + HOUR), Done),
        (
            T0,
            invite("m2", 2, T0 + 2 * HOUR),
            Warns("earlier invite for \"m2\" is no longer valid"),
        ),
        (
            T0,
            consume("m2", 1),
            Refused(PermissionDenied, "does not match"),
        ),
        (T0 + HOUR + 1, consume("m2", 2), Done),
    ]);
    assert!(s.invites().is_empty());
}

#[test]
fn inviting_an_existing_member_recovers_it() {
    let s = timed(&[
        (T0, put_member(member("m2", 2)), Done),
        (T0, invite("m2", 5, T0 + HOUR), Warns("already a member")),
        (T0, consume("m2", 5), Done),
        (T0, put_member(member("m2", 12)), Done),
    ]);
    assert_eq!(s.members()["m2"].raft_id, 12);
}

#[test]
fn expired_invites_are_dropped_by_successful_invite_commands() {
    let mut s = timed(&[
        (T0, invite("a", 1, T0 + HOUR), Done),
        (T0, invite("b", 2, T0 + 3 * HOUR), Done),
        (T0, invite("c", 3, T0 + 3 * HOUR), Done),
    ]);
    // Not by other commands, nor by a refused invite command.
    check_at(
        &mut s,
        &[
            (T0 + 2 * HOUR, Command::Noop, Done),
            (
                T0 + 2 * HOUR,
                consume("b", 9),
                Refused(PermissionDenied, "does not match"),
            ),
        ],
    );
    assert_eq!(s.invites().len(), 3);
    check_at(&mut s, &[(T0 + 2 * HOUR, consume("b", 2), Done)]);
    assert_eq!(s.invites().keys().collect::<Vec<_>>(), ["c"]);
    check_at(
        &mut s,
        &[(T0 + 4 * HOUR, invite("d", 4, T0 + 5 * HOUR), Done)],
    );
    assert_eq!(s.invites().keys().collect::<Vec<_>>(), ["d"]);
}

fn join(m: MemberRecord, secret: u8) -> Command {
    Command::Join {
        member: m,
        secret_sha256: [secret; 32],
    }
}

#[test]
fn join_consumes_the_invite_and_records_the_member() {
    let s = timed(&[
        (T0, put_member(member("m1", 1)), Done),
        (T0, invite("m2", 7, T0 + HOUR), Done),
        (T0 + 1, join(member("m2", 2), 7), Done),
        (
            T0 + 2,
            join(member("m2", 3), 7),
            Refused(FailedPrecondition, "no pending invite for member \"m2\""),
        ),
    ]);
    assert!(s.invites().is_empty());
    assert_eq!(s.members()["m2"], member("m2", 2));
}

#[test]
fn a_refused_join_keeps_the_invite() {
    let mut learner = member("m2", 2);
    learner.role = MemberRole::NonVoter;
    let mut no_address = member("m2", 2);
    no_address.addresses.clear();
    let s = timed(&[
        (T0, put_member(member("m1", 1)), Done),
        (T0, invite("m2", 7, T0 + HOUR), Done),
        (
            T0,
            join(member("m2", 1), 7),
            Refused(
                ErrorCode::AlreadyExists,
                "raft id 1 is already used by member \"m1\"",
            ),
        ),
        (
            T0,
            join(learner, 7),
            Refused(InvalidArgument, "grants the role Voter, not NonVoter"),
        ),
        (
            T0,
            join(no_address, 7),
            Refused(InvalidArgument, "at least one peer address"),
        ),
        (
            T0,
            join(member("m2", 2), 8),
            Refused(PermissionDenied, "invite secret does not match"),
        ),
        (
            T0,
            join(member("m3", 3), 7),
            Refused(FailedPrecondition, "no pending invite for member \"m3\""),
        ),
        (
            T0 + HOUR,
            join(member("m2", 2), 7),
            Refused(FailedPrecondition, "expired at 2026-11-05T01:00:00Z"),
        ),
    ]);
    assert!(s.invites().contains_key("m2"));
    assert!(!s.members().contains_key("m2"));
}

#[test]
fn a_rejoining_member_is_a_new_incarnation() {
    let s = timed(&[
        (T0, put_member(member("m2", 2)), Done),
        (T0, invite("m2", 7, T0 + HOUR), Warns("already a member")),
        (
            T0,
            join(member("m2", 2), 7),
            Refused(ErrorCode::AlreadyExists, "needs a new raft id"),
        ),
        (
            T0,
            join(member("m2", 12), 7),
            Warns("replaced by a new incarnation"),
        ),
    ]);
    assert_eq!(s.members()["m2"].raft_id, 12);
    assert_eq!(s.member_by_raft_id(2), None);
}
