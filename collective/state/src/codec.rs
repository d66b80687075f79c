//! The one binary encoding of everything the collective persists or ships:
//! Raft log entries ([`Request`]) and snapshots.
//!
//! bincode 1.3.3 with fixed-width little-endian integers and no trailing
//! bytes allowed. Fixed width rather than varint: a `u64` is always eight
//! bytes, so the frozen-bytes tests read like the structs they encode and a
//! hex dump of a damaged entry can be followed by eye; entries are small and
//! the log is not the bottleneck. Every crate that encodes a `Request` goes
//! through [`encode_request`], so no two crates can drift apart on options
//! (bincode's defaults differ between its `serialize` function and its
//! `Options` builder, a classic trap).
//!
//! A request carries its version as the enum variant index (a `u32` first
//! in the bytes), so no extra marker byte is needed; a snapshot has no
//! enclosing enum and starts with its own version byte (see `snapshot`).

use bincode::Options;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::{DecodeError, Request};

/// Number of `Request` versions this build knows (`V1` = variant index 0,
/// `Batch` = 1).
pub const REQUEST_VERSIONS: u32 = 2;

fn options() -> impl Options {
    bincode::DefaultOptions::new()
        .with_fixint_encoding()
        .with_little_endian()
        .reject_trailing_bytes()
}

/// Appends the encoding of `value` to `out`.
pub(crate) fn encode_into<T: Serialize>(value: &T, out: &mut Vec<u8>) {
    // bincode can only fail here for a size limit (none is set), a sequence
    // of unknown length, or a failing `Serialize` impl: none exists in the
    // types of this crate, whose derives always know their lengths.
    if let Err(e) = options().serialize_into(out, value) {
        unreachable!("bincode cannot fail on derived types without a limit: {e}");
    }
}

/// Decodes exactly `bytes` (trailing bytes are an error). The limit is the
/// input length: no well-formed value consumes more, so a damaged length
/// prefix fails as "limit" instead of asking for a large allocation first.
pub(crate) fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
    options()
        .with_limit(bytes.len() as u64)
        .deserialize(bytes)
        .map_err(|e| e.to_string())
}

/// The bytes of a request as stored in the Raft log.
pub fn encode_request(request: &Request) -> Vec<u8> {
    let mut out = Vec::new();
    encode_into(request, &mut out);
    out
}

/// Variant indexes past this are taken for damage rather than a future
/// version: cohort will not grow 256 request versions.
const PLAUSIBLE_VERSIONS: u32 = 256;

/// A request from its log bytes. A version newer than this build is told
/// apart from damage, so the operator knows to upgrade rather than restore.
pub fn decode_request(bytes: &[u8]) -> Result<Request, DecodeError> {
    if let Some(tag) = bytes.get(..4) {
        let index = u32::from_le_bytes([tag[0], tag[1], tag[2], tag[3]]);
        if (REQUEST_VERSIONS..PLAUSIBLE_VERSIONS).contains(&index) {
            // Versions count from 1; variant indexes from 0.
            return Err(DecodeError::UnknownVersion(index + 1));
        }
    }
    decode(bytes).map_err(DecodeError::Corrupt)
}

/// Encodes any serde value with the log's options. The peer wire uses this
/// for openraft's own messages, so nothing is encoded two ways. Fails only
/// for types whose `Serialize` cannot state a length up front.
pub fn encode_value<T: Serialize>(value: &T) -> Result<Vec<u8>, String> {
    options().serialize(value).map_err(|e| e.to_string())
}

/// Decodes exactly `bytes` into any serde value, bounded by the input length.
pub fn decode_value<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
    decode(bytes)
}
