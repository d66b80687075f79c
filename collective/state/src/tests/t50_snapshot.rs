//! Snapshots and request decoding: round trips and damaged input.

use super::*;
use crate::{DecodeError, SnapshotError, decode_request, encode_request};

/// A state with something of every kind in it.
pub(crate) fn full_state() -> State {
    let mut s = check(&[
        (
            gdefine(
                "compute",
                &["location.rack={(n1-1)/2+1}", "console.method=ipmi"],
            ),
            Done,
        ),
        (
            define(
                "n[1-4]",
                &["groups=compute", "hardwaremanagement.manager={node}-bmc"],
            ),
            Done,
        ),
        (gdefine("odd", &["noderange=n1,n3"]), Done),
        (
            set(
                "n2",
                &["location.rack=", "secret.hardwaremanagementpassword=opaque"],
            ),
            Done,
        ),
        (put_member(member("m1", 1)), Done),
        (invite("m2", 7, T0 + 3_600_000), Done),
        (put_user("alice", UserRole::Admin, 3), Done),
        (data_key(0x5A), Done),
        (
            remove_user("nobody"),
            Refused(ErrorCode::NotFound, "nobody"),
        ),
    ]);
    s.apply(&Request::v1(99, 1, T0 + 1, Command::Noop));
    s
}

#[test]
fn restore_gives_back_the_same_state_byte_for_byte() {
    let s = full_state();
    let bytes = s.snapshot();
    assert_eq!(bytes[0], crate::snapshot::CURRENT_VERSION);
    let back = State::restore(&bytes).unwrap();
    assert_eq!(back.snapshot(), bytes);
    assert!(back.restore_warnings().is_empty());
    assert_eq!(back.members(), s.members());
    assert_eq!(back.invites(), s.invites());
    assert_eq!(back.users(), s.users());
    assert_eq!(back.data_key_fingerprint(), s.data_key_fingerprint());
    assert_eq!(back.inventory().dump(), s.inventory().dump());
    assert_eq!(attr(&back, "n3", "location.rack").as_deref(), Some("2"));
    assert_eq!(
        attr(&back, "n4", "hardwaremanagement.manager").as_deref(),
        Some("n4-bmc")
    );
    assert_eq!(back.inventory().group_members("odd").unwrap(), ["n1", "n3"]);
    assert_eq!(back.last_request(99), s.last_request(99));
}

#[test]
fn an_empty_state_round_trips() {
    let bytes = State::default().snapshot();
    assert_eq!(State::restore(&bytes).unwrap().snapshot(), bytes);
}

#[test]
fn damaged_snapshots_are_refused_with_the_cause() {
    let good = full_state().snapshot();
    assert_eq!(
        State::restore(&[]).unwrap_err(),
        SnapshotError::Corrupt("snapshot is empty".to_owned())
    );
    let mut future = good.clone();
    future[0] = 3;
    assert_eq!(
        State::restore(&future).unwrap_err(),
        SnapshotError::UnknownVersion(3)
    );
    assert!(
        State::restore(&future)
            .unwrap_err()
            .to_string()
            .contains("version 3 is not supported")
    );
    assert_eq!(
        State::restore(&[0]).unwrap_err(),
        SnapshotError::UnknownVersion(0)
    );
    let truncated = &good[..good.len() - 3];
    assert!(matches!(
        State::restore(truncated),
        Err(SnapshotError::Corrupt(_))
    ));
    let mut trailing = good.clone();
    trailing.push(0);
    assert!(matches!(
        State::restore(&trailing),
        Err(SnapshotError::Corrupt(_))
    ));
    // A huge length prefix right after the version byte (the group count).
    let mut huge = good;
    huge[1..9].copy_from_slice(&u64::MAX.to_le_bytes());
    assert!(matches!(
        State::restore(&huge),
        Err(SnapshotError::Corrupt(_))
    ));
}

#[test]
fn duplicate_keys_in_a_snapshot_are_corruption() {
    let mut s = State::default();
    check_at(
        &mut s,
        &[
            (T0, put_member(member("m1", 1)), Done),
            (T0, put_member(member("m2", 2)), Done),
        ],
    );
    let bytes = s.snapshot();
    // The name field of m2 (u64 length 2, then the text) becomes "m1".
    let pattern = [2, 0, 0, 0, 0, 0, 0, 0, b'm', b'2'];
    let at = bytes
        .windows(pattern.len())
        .position(|w| w == pattern)
        .unwrap();
    let mut damaged = bytes.clone();
    damaged[at + 9] = b'1';
    let err = State::restore(&damaged).unwrap_err();
    assert_eq!(
        err,
        SnapshotError::Corrupt("member \"m1\" is listed twice".to_owned())
    );
}

#[test]
fn snapshot_with_unknown_group_reference_is_corruption() {
    let s = check(&[
        (gdefine("gg", &[]), Done),
        (define("n1", &["groups=gg"]), Done),
    ]);
    let bytes = s.snapshot();
    // Rename the group record (natural order: "everything" first, then "gg").
    let pattern = [2, 0, 0, 0, 0, 0, 0, 0, b'g', b'g'];
    let at = bytes
        .windows(pattern.len())
        .position(|w| w == pattern)
        .unwrap();
    let mut damaged = bytes.clone();
    damaged[at + 9] = b'h';
    let err = State::restore(&damaged).unwrap_err();
    assert!(
        matches!(&err, SnapshotError::Corrupt(m) if m.starts_with("inventory:")),
        "{err:?}"
    );
}

#[test]
fn requests_round_trip_and_damage_is_named() {
    let r = Request::v1(CLIENT, 42, T0, set("n[1-3]", &["location.rack=1"]));
    let bytes = encode_request(&r);
    assert_eq!(decode_request(&bytes).unwrap(), r);
    let mut trailing = bytes.clone();
    trailing.push(0);
    assert!(matches!(
        decode_request(&trailing),
        Err(DecodeError::Corrupt(_))
    ));
    assert!(matches!(
        decode_request(&bytes[..bytes.len() - 1]),
        Err(DecodeError::Corrupt(_))
    ));
    assert!(matches!(decode_request(&[]), Err(DecodeError::Corrupt(_))));
    let mut future = bytes.clone();
    future[0] = 2; // variant index 2: the request version after Batch
    let err = decode_request(&future).unwrap_err();
    assert_eq!(err, DecodeError::UnknownVersion(3));
    assert!(err.to_string().contains("upgrade this member"), "{err}");
    let mut garbage = bytes;
    garbage[..4].copy_from_slice(&[0xFF; 4]);
    assert!(matches!(
        decode_request(&garbage),
        Err(DecodeError::Corrupt(_))
    ));
}

#[test]
fn an_unknown_command_variant_is_corruption_not_a_panic() {
    let mut bytes = encode_request(&Request::v1(1, 1, T0, Command::Noop));
    // Command's variant index follows client (16), seq (8), now_ms (8).
    let at = 4 + 16 + 8 + 8;
    bytes[at..at + 4].copy_from_slice(&200u32.to_le_bytes());
    let err = decode_request(&bytes).unwrap_err();
    assert!(
        matches!(&err, DecodeError::Corrupt(m) if m.contains("variant")),
        "{err:?}"
    );
}

#[test]
fn warnings_after_restore_match_warnings_without() {
    // Group ids and attribute keys are numbered differently after a restore
    // (groups are rebuilt in name order); answers must not depend on them.
    let mut s = check(&[
        (gdefine("g2", &["location.rack=2"]), Done),
        (gdefine("g1", &["location.room=1"]), Done),
        (
            define(
                "n[1-2]",
                &["groups=g1,g2", "location.room=own", "location.rack=own"],
            ),
            Done,
        ),
    ]);
    let mut back = State::restore(&s.snapshot()).unwrap();
    for (seq, command) in [
        (10, set("n1", &["groups,=g1,g2"])),
        (11, set("n1", &["groups^=g1,g2", "groups^=g1,g2"])),
        (12, set("n2", &["groups=g2,g1"])),
        (13, clear("n2", &["location.room", "location.rack"])),
    ] {
        let r = Request::v1(CLIENT, seq, T0, command);
        assert_eq!(back.apply(&r), s.apply(&r), "{r:?}");
    }
    assert_eq!(back.snapshot(), s.snapshot());
}
