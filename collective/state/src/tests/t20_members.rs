//! Members, the data key fingerprint, users and `Noop`.

use super::*;
use crate::ErrorCode::{AlreadyExists, FailedPrecondition, InvalidArgument, NotFound};

#[test]
fn noop_changes_nothing_and_answers_done() {
    let before = content(&State::default());
    let s = check(&[(Command::Noop, Done), (Command::Noop, Done)]);
    assert_eq!(content(&s), before);
}

#[test]
fn put_member_adds_and_replaces() {
    let mut replaced = member("m1", 1);
    replaced.addresses = vec!["[fd00::1]:13001".to_owned()];
    replaced.role = MemberRole::NonVoter;
    let s = check(&[
        (put_member(member("m1", 1)), Done),
        (put_member(member("m2", 2)), Done),
        (put_member(member("m3", 3)), Done),
        (put_member(replaced.clone()), Done),
    ]);
    assert_eq!(s.members().len(), 3);
    assert_eq!(s.members()["m1"], replaced);
    assert_eq!(s.member_by_raft_id(2).map(|m| m.name.as_str()), Some("m2"));
    assert_eq!(s.member_by_raft_id(9), None);
    let voters: Vec<_> = s.voters().map(|m| m.name.as_str()).collect();
    assert_eq!(voters, ["m2", "m3"]);
    let learners: Vec<_> = s.non_voters().map(|m| m.name.as_str()).collect();
    assert_eq!(learners, ["m1"]);
}

#[test]
fn put_member_may_change_its_own_raft_id() {
    let s = check(&[
        (put_member(member("m1", 1)), Done),
        (put_member(member("m1", 7)), Done),
    ]);
    assert_eq!(s.members()["m1"].raft_id, 7);
}

#[test]
fn put_member_refusals() {
    let mut no_address = member("m3", 3);
    no_address.addresses.clear();
    let mut bad_address = member("m3", 3);
    bad_address.addresses.push("10.0.0.3".to_owned());
    let mut bad_https = member("m3", 3);
    bad_https.https_addresses = vec!["host:https".to_owned()];
    check(&[
        (put_member(member("m1", 1)), Done),
        (
            put_member(member("m2", 1)),
            Refused(AlreadyExists, "raft id 1 is already used by member \"m1\""),
        ),
        (
            put_member(member("", 3)),
            Refused(InvalidArgument, "member name is empty"),
        ),
        (
            put_member(member("m_3", 3)),
            Refused(InvalidArgument, "'_'"),
        ),
        (
            put_member(member("m.3", 3)),
            Refused(InvalidArgument, "'.'"),
        ),
        (
            put_member(member("-m3", 3)),
            Refused(InvalidArgument, "start and end"),
        ),
        (
            put_member(member(&"m".repeat(57), 3)),
            Refused(InvalidArgument, "longer than 56"),
        ),
        (
            put_member(no_address),
            Refused(InvalidArgument, "at least one peer address"),
        ),
        (
            put_member(bad_address),
            Refused(InvalidArgument, "\"10.0.0.3\" is not host:port"),
        ),
        (
            put_member(bad_https),
            Refused(InvalidArgument, "host:https"),
        ),
    ]);
}

#[test]
fn remove_member_and_refusal() {
    let s = check(&[
        (put_member(member("m1", 1)), Done),
        (put_member(member("m2", 2)), Done),
        (remove_member("m1"), Done),
        (
            remove_member("m1"),
            Refused(NotFound, "member \"m1\" is not in the collective"),
        ),
    ]);
    assert_eq!(s.members().keys().collect::<Vec<_>>(), ["m2"]);
}

#[test]
fn data_key_fingerprint_is_set_once() {
    let s = check(&[
        (data_key(0xAB), Done),
        (data_key(0xAB), Done),
        (
            data_key(0xCD),
            Refused(
                FailedPrecondition,
                "already set (fingerprint abababababababab...)",
            ),
        ),
    ]);
    assert_eq!(s.data_key_fingerprint(), Some([0xAB; 32]));
    assert_eq!(State::default().data_key_fingerprint(), None);
}

#[test]
fn users_put_replace_remove() {
    let s = check(&[
        (put_user("alice", UserRole::Admin, 1), Done),
        (put_user("bob.ops", UserRole::Monitor, 2), Done),
        (put_user("bob.ops", UserRole::Operator, 3), Done),
        (remove_user("alice"), Done),
    ]);
    assert_eq!(s.users().len(), 1);
    let bob = &s.users()["bob.ops"];
    assert_eq!((bob.role, bob.token_sha256), (UserRole::Operator, [3; 32]));
    assert_eq!(
        s.user_by_token_hash(&[3; 32]).map(|u| u.name.as_str()),
        Some("bob.ops")
    );
    assert_eq!(s.user_by_token_hash(&[2; 32]), None);
}

#[test]
fn user_refusals() {
    check(&[
        (
            put_user("", UserRole::Admin, 1),
            Refused(InvalidArgument, "user name is empty"),
        ),
        (
            put_user("a b", UserRole::Admin, 1),
            Refused(InvalidArgument, "\"a b\" is not a valid user name"),
        ),
        (
            put_user(&"u".repeat(300), UserRole::Admin, 1),
            Refused(InvalidArgument, "longer than 253"),
        ),
        (
            remove_user("nobody"),
            Refused(NotFound, "user \"nobody\" does not exist"),
        ),
    ]);
}

#[test]
fn error_codes_have_stable_words() {
    let words: Vec<_> = [
        ErrorCode::InvalidArgument,
        ErrorCode::NotFound,
        ErrorCode::AlreadyExists,
        ErrorCode::FailedPrecondition,
        ErrorCode::PermissionDenied,
    ]
    .iter()
    .map(|c| c.to_string())
    .collect();
    assert_eq!(
        words,
        [
            "invalid_argument",
            "not_found",
            "already_exists",
            "failed_precondition",
            "permission_denied"
        ]
    );
}
