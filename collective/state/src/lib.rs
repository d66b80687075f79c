//! cohort's replicated state machine: the closed set of [`Command`]s the
//! collective agrees on, the [`State`] they change, and the encodings of
//! both for the Raft log and for snapshots.
//!
//! # Shape
//!
//! Raft orders [`Request`]s; every member calls [`State::apply`] on each one
//! in log order and answers the client with the [`Response`]. A request is
//! one admin action (`nodedefine n[1-100000] groups=compute` is one entry),
//! carrying the admin's own text: the noderange and the `NAME=VALUE`
//! strings, not the expanded node list. A log entry stays as small as the
//! command line, and expansion is deterministic against the state at apply
//! time, so every member reaches the same node set. The consequence is
//! intended and worth knowing: **a noderange is evaluated when the entry is
//! applied, not when it is submitted**. `nodeattrib compute ...` racing a
//! `nodegroupattrib compute nodes,=n5` affects n5 or not depending on which
//! entry the log orders first, exactly as if the admin had typed them one
//! after the other. The rejected alternative (expanding on the leader and
//! logging the node list) makes `nodedefine n[1-100000]` an entry holding
//! 100,000 names, and would tie the log to one member's view of the state.
//!
//! # Architecture invariant: sans-IO and deterministic
//!
//! No tokio, sled, tonic, clock, RNG or hash-order iteration. Raft replicates
//! inputs, not results, so anything that could differ between members
//! (reading the clock during apply, a random id, iterating a `HashMap`)
//! would fork the state silently. Time therefore enters only as `now_ms`,
//! stamped by the leader when it proposes the entry: invite expiry and the
//! dedupe window are judged against the same number on every member, even
//! on one replaying the log a week later. Ids (client ids, invite secrets)
//! are drawn by the caller. Responses are replicated too (the dedupe table
//! keeps them), so they may not depend on anything a member numbers for
//! itself: warnings are sorted before they are answered. The storage and
//! network layers (`cohort-store`, the daemon) are adapters around this
//! crate, and this crate is tested without them.
//!
//! # Versioned encodings
//!
//! [`Request`] is an enum with one variant per format version (`V1` today),
//! and [`Command`] a closed enum applied by `match`: never dispatched by
//! name, as confluent did when it shipped function names to followers. A log
//! written by one cohort is read by the next: new commands are appended as
//! variants, new request shapes become `Request::V2`, and a member meeting a
//! version it does not know stops with [`DecodeError::UnknownVersion`]
//! instead of misreading it. Snapshots carry a version byte and migrate
//! through a chain of `From` steps (see [`snapshot`]'s docs). Both encodings
//! go through [`codec`]'s one set of bincode options, and frozen-bytes
//! tests pin every variant: those tests are only ever added to.
//!
//! # Deduplication
//!
//! A write may be submitted twice (a leader dies after committing, the
//! client retries on the next), so each request carries `(client, seq)`
//! and the state remembers each client's last response (see `dedupe`).
//!
//! # Map
//!
//! - `command.rs`, `error.rs`: the public vocabulary.
//! - `state.rs`: [`State`], `apply` and the queries.
//! - `apply/`: one file per command family (inventory; members and the
//!   data key; invites and joins; users), called from one table-like
//!   `match`. `Join` consumes an invite and records the member as one
//!   entry, so a join never burns an invite without adding its member.
//! - `dedupe.rs`: exactly-once by client request id, bounded by time.
//! - `snapshot/`: the snapshot format, one module per version.
//! - `codec.rs`: the bincode options; [`encode_request`], [`decode_request`].

mod apply;
pub mod codec;
mod command;
pub mod dedupe;
mod error;
mod names;
pub mod snapshot;
mod state;
mod time;
mod tree;

#[cfg(test)]
mod tests;

pub use codec::{decode_request, decode_value, encode_request, encode_value};
pub use command::{
    ClientId, Command, InviteRole, MemberRecord, MemberRole, NodeStatus, Request, RequestV1,
    TreeEntry, UserRole,
};
pub use error::{ApplyError, DecodeError, ErrorCode, SnapshotError};
pub use names::MAX_MEMBER_NAME_LEN;
pub use state::{InviteRecord, Response, State, UserRecord};
pub use time::{iso8601_utc, parse_iso8601_utc};
pub use tree::{MAX_TREE_PATH, validate_tree_path};
