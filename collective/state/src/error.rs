//! Errors of applying a command, of loading a snapshot, and of decoding a
//! log entry.
//!
//! They are three types because callers react to them differently:
//! - [`ApplyError`] is an *answer*: the collective agreed to refuse the
//!   command, every member refused it the same way, nothing changed. Show it
//!   to the admin; retrying the same command against the same state cannot
//!   succeed.
//! - [`SnapshotError`] means this member cannot load a snapshot (too new, or
//!   damaged): fatal for the load; fetch another snapshot or upgrade.
//! - [`DecodeError`] means a log entry cannot be read: fatal for the member
//!   (its log is damaged or written by a newer cohort); never skip the entry,
//!   that would fork the state.

use cohort_api::inventory::InventoryError;
use cohort_api::noderange::NoderangeError;
use serde::{Deserialize, Serialize};

/// Stable error codes, for the gRPC/HTTP layers and scripts.
///
/// Part of the replicated state (responses are kept for deduplication) and
/// of snapshots: append new codes at the end, never reorder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ErrorCode {
    /// Bad input (noderange, attribute, value, name).
    InvalidArgument,
    /// The thing named does not exist.
    NotFound,
    /// The thing already exists.
    AlreadyExists,
    /// Refused by the state (e.g. an invite already used or expired).
    FailedPrecondition,
    /// A secret (invite, token) does not match.
    PermissionDenied,
}

impl ErrorCode {
    /// The code as a stable snake_case word, for scripts and JSON output.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidArgument => "invalid_argument",
            ErrorCode::NotFound => "not_found",
            ErrorCode::AlreadyExists => "already_exists",
            ErrorCode::FailedPrecondition => "failed_precondition",
            ErrorCode::PermissionDenied => "permission_denied",
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a command was refused. Applying it changed nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{message}")]
pub struct ApplyError {
    pub code: ErrorCode,
    pub message: String,
}

impl ApplyError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApplyError {
            code,
            message: message.into(),
        }
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        ApplyError::new(ErrorCode::InvalidArgument, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        ApplyError::new(ErrorCode::NotFound, message)
    }

    pub fn already_exists(message: impl Into<String>) -> Self {
        ApplyError::new(ErrorCode::AlreadyExists, message)
    }

    pub fn precondition(message: impl Into<String>) -> Self {
        ApplyError::new(ErrorCode::FailedPrecondition, message)
    }

    pub fn denied(message: impl Into<String>) -> Self {
        ApplyError::new(ErrorCode::PermissionDenied, message)
    }
}

/// The inventory's message names the bad input already; only the code is
/// chosen here. Missing things are `NotFound` (including a noderange naming
/// an unknown node or group), duplicates `AlreadyExists`, and edits the
/// current state forbids but a prior edit would allow (a dynamic group given
/// members) `FailedPrecondition`.
impl From<InventoryError> for ApplyError {
    fn from(e: InventoryError) -> Self {
        let code = match &e {
            InventoryError::NoSuchNode(_)
            | InventoryError::NoSuchGroup(_)
            | InventoryError::Noderange(
                NoderangeError::UnknownNode { .. } | NoderangeError::NotRecognized { .. },
            ) => ErrorCode::NotFound,
            InventoryError::NodeExists(_) | InventoryError::GroupExists(_) => {
                ErrorCode::AlreadyExists
            }
            InventoryError::DynamicGroup { .. }
            | InventoryError::NotEmptyForDynamic(_)
            | InventoryError::AlreadyMember { .. }
            | InventoryError::NotMember { .. } => ErrorCode::FailedPrecondition,
            _ => ErrorCode::InvalidArgument,
        };
        ApplyError::new(code, e.to_string())
    }
}

/// A snapshot that cannot be loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SnapshotError {
    #[error("snapshot format version {0} is not supported by this cohort (newest known: 1)")]
    UnknownVersion(u8),
    #[error("snapshot is corrupt: {0}")]
    Corrupt(String),
}

/// A Raft log entry that cannot be decoded into a [`crate::Request`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Written by a newer cohort: upgrade this member before it applies the
    /// entry.
    #[error(
        "log entry has request version {0}, newer than this cohort understands \
         (newest known: {known}); upgrade this member",
        known = crate::codec::REQUEST_VERSIONS
    )]
    UnknownVersion(u32),
    /// Damaged bytes; the text is the decoder's.
    #[error("log entry is corrupt: {0}")]
    Corrupt(String),
}
