//! cohort's shared vocabulary: everything the collective, the CLI and the
//! node agent must agree on about nodes, groups and attributes, and nothing
//! that does I/O.
//!
//! Map of the crate, bottom-up:
//! - [`names`]: node/group name rules and the natural order (`n2` < `n10`).
//! - [`glob`]: `*`/`?` matching for attribute names and enumerations.
//! - [`nodeset`]: bitsets of node ids, the currency of noderange evaluation.
//! - [`catalog`]: the declarative table of every attribute cohort knows.
//! - [`expr`]: `{n1+1}`-style attribute expressions.
//! - [`noderange`]: the noderange language, against the [`noderange::Universe`]
//!   trait.
//! - [`inventory`]: nodes, groups and inheritance; implements `Universe`.
//! - [`nodeapi`]: the node self-service API's wire types (the one serde
//!   boundary of this crate), shared with `cohort-agent`.
//!
//! Architecture invariant: no I/O, no async, no clock, no randomness. Every
//! function here is deterministic, so the replicated state machine can call
//! it while applying Raft log entries. Errors are values with messages that
//! name the bad input; nothing here panics on input.

pub mod catalog;
pub mod expr;
pub mod glob;
pub mod inventory;
pub mod names;
pub mod nodeapi;
pub mod noderange;
pub mod nodeset;
