//! Snapshots: the whole state as bytes, and back.
//!
//! # Format
//!
//! One version byte, then the bincode encoding (see `codec`) of that
//! version's snapshot struct. Version 1 is `v1::SnapshotV1`; version 2
//! (`v2::SnapshotV2`, written now) is version 1 followed by the tree
//! manifest.
//!
//! The snapshot structs are private *mirrors* of the state, not the state's
//! own types: the inventory's types carry no serde derives on purpose
//! (cohort-api owns no format), and invites, users and the dedupe table are
//! mirrored too, so changing a public type cannot silently change a format
//! already on disk. Two wire types are used as they are: [`MemberRecord`]
//! and [`Response`] (with the role enums), which the Raft log already
//! freezes; the frozen-bytes tests hold both.
//!
//! Only what was *set* is stored (the inventory's `Dump`): effective values,
//! indexes and interned ids are rebuilt on load, so a snapshot does not
//! depend on how the inventory happens to number things, and
//! `restore(snapshot(s)).snapshot() == snapshot(s)` byte for byte.
//!
//! # Versions and migration
//!
//! A format is never changed once released. A new one is a new module:
//! `mod v2` with `SnapshotV2`, `impl From<SnapshotV1> for SnapshotV2`, a new
//! arm in `decode` (`2 => v2::decode(body)`, and `1 => v1` then
//! `.into()`), `encode` switched to v2, and only the newest version knows
//! how to become a [`State`]. Each step of the chain is one small `From`, as
//! in Garage's `migrate.rs`; old snapshots stay loadable forever, and old
//! frozen-bytes tests keep passing untouched. Rejected: a self-describing
//! format (JSON, CBOR) — larger and slower for 100,000 nodes, and it would
//! still need explicit migrations for meaning changes.
//!
//! [`MemberRecord`]: crate::MemberRecord
//! [`Response`]: crate::Response

mod v1;
mod v2;

use crate::{SnapshotError, State};

/// The version `encode` writes.
pub const CURRENT_VERSION: u8 = 2;

pub(crate) fn encode(state: &State) -> Vec<u8> {
    let mut out = vec![CURRENT_VERSION];
    crate::codec::encode_into(&v2::SnapshotV2::from_state(state), &mut out);
    out
}

pub(crate) fn decode(bytes: &[u8]) -> Result<State, SnapshotError> {
    let Some((&version, body)) = bytes.split_first() else {
        return Err(SnapshotError::Corrupt("snapshot is empty".to_owned()));
    };
    match version {
        1 => v2::SnapshotV2::from(v1::SnapshotV1::decode(body)?).into_state(),
        2 => v2::SnapshotV2::decode(body)?.into_state(),
        other => Err(SnapshotError::UnknownVersion(other)),
    }
}
