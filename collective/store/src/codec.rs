//! Versioned bincode encoding of every value this crate persists.
//!
//! Each value is one format-version byte followed by bincode 1.3.3 with
//! fixed-width integers (the same bytes as `bincode::serialize`). Decoding
//! limits reads to the input length, so a corrupt length prefix fails
//! instead of allocating, and rejects trailing bytes, so a truncated or
//! spliced value is noticed rather than half-read.

use bincode::Options;
use openraft::EntryPayload;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::{Entry, LogId, Membership};

/// The only format version written today, for every kind of value.
pub(crate) const V1: u8 = 1;

/// A stored value that cannot be decoded. Always means corruption or a
/// value written by a newer cohort: never retry, treat the store as broken.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    #[error("the value is empty (no format version byte)")]
    Empty,
    #[error("format version {0} is not known to this cohort (newest known: 1)")]
    UnknownVersion(u8),
    #[error("the value does not decode")]
    Malformed(#[source] bincode::Error),
    #[error("the value does not encode")]
    Unencodable(#[source] bincode::Error),
    /// The request inside a log entry: `UnknownVersion` means "upgrade this
    /// member", anything else corruption.
    #[error("the request inside a log entry does not decode")]
    Request(#[source] cohort_state::DecodeError),
}

/// A log entry as stored. The request goes through cohort-state's own
/// `encode_request`, so the log holds exactly the bytes that crate defines
/// (and its decoder tells a newer request version from damage); the rest is
/// openraft's log id and membership.
#[derive(Serialize, Deserialize)]
struct StoredEntry {
    log_id: LogId,
    payload: StoredPayload,
}

#[derive(Serialize, Deserialize)]
enum StoredPayload {
    Blank,
    Normal(Vec<u8>),
    Membership(Membership),
}

/// `[V1]` + bincode of the stored form of `entry`.
pub(crate) fn encode_entry(entry: Entry) -> Result<Vec<u8>, CodecError> {
    let payload = match entry.payload {
        EntryPayload::Blank => StoredPayload::Blank,
        EntryPayload::Normal(request) => {
            StoredPayload::Normal(cohort_state::encode_request(&request))
        }
        EntryPayload::Membership(m) => StoredPayload::Membership(m),
    };
    encode(&StoredEntry {
        log_id: entry.log_id,
        payload,
    })
}

/// Decodes what [`encode_entry`] wrote.
pub(crate) fn decode_entry(bytes: &[u8]) -> Result<Entry, CodecError> {
    let stored: StoredEntry = decode(bytes)?;
    let payload = match stored.payload {
        StoredPayload::Blank => EntryPayload::Blank,
        StoredPayload::Normal(request) => EntryPayload::Normal(
            cohort_state::decode_request(&request).map_err(CodecError::Request)?,
        ),
        StoredPayload::Membership(m) => EntryPayload::Membership(m),
    };
    Ok(Entry {
        log_id: stored.log_id,
        payload,
    })
}

fn options() -> impl Options {
    bincode::DefaultOptions::new()
        .with_fixint_encoding()
        .reject_trailing_bytes()
}

/// `[V1]` followed by the bincode of `value`.
pub(crate) fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, CodecError> {
    let mut out = vec![V1];
    options()
        .serialize_into(&mut out, value)
        .map_err(CodecError::Unencodable)?;
    Ok(out)
}

/// Decodes what [`encode`] wrote.
pub(crate) fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, CodecError> {
    let (&version, body) = bytes.split_first().ok_or(CodecError::Empty)?;
    if version != V1 {
        return Err(CodecError::UnknownVersion(version));
    }
    let limit = u64::try_from(body.len()).unwrap_or(u64::MAX);
    options()
        .with_limit(limit)
        .deserialize(body)
        .map_err(CodecError::Malformed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_frozen_bytes() {
        let bytes = encode(&(7u64, Some(3u32))).unwrap();
        // Frozen: fixint little-endian, Option tag byte. Never edit, only add.
        assert_eq!(bytes, [1, 7, 0, 0, 0, 0, 0, 0, 0, 1, 3, 0, 0, 0]);
        assert_eq!(decode::<(u64, Option<u32>)>(&bytes).unwrap(), (7, Some(3)));
    }

    fn blank_entry() -> Entry {
        let log_id = LogId::new(openraft::CommittedLeaderId::new(3, 1), 258);
        Entry {
            log_id,
            payload: EntryPayload::Blank,
        }
    }

    #[test]
    fn entry_frozen_bytes() {
        // Frozen: [1], term, node, index (u64 LE each), payload tag (u32 LE).
        let bytes = encode_entry(blank_entry()).unwrap();
        let mut want = vec![
            1, 3, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2, 1, 0, 0, 0, 0, 0, 0,
        ];
        want.extend([0, 0, 0, 0]);
        assert_eq!(bytes, want);
        assert_eq!(decode_entry(&bytes).unwrap(), blank_entry());

        // A Normal entry holds cohort-state's request bytes, length-prefixed.
        let request = cohort_state::Request::V1(cohort_state::RequestV1 {
            client: 1,
            seq: 2,
            now_ms: 3,
            command: cohort_state::Command::Noop,
        });
        let inner = cohort_state::encode_request(&request);
        let entry = Entry {
            payload: EntryPayload::Normal(request),
            ..blank_entry()
        };
        let bytes = encode_entry(entry.clone()).unwrap();
        let mut want = bytes[..25].to_vec();
        want.extend([1, 0, 0, 0]);
        want.extend((inner.len() as u64).to_le_bytes());
        want.extend(&inner);
        assert_eq!(bytes, want);
        assert_eq!(decode_entry(&bytes).unwrap(), entry);
    }

    #[test]
    fn newer_request_version_is_told_apart() {
        let mut bytes = encode_entry(blank_entry()).unwrap();
        bytes.truncate(25);
        bytes.extend([1, 0, 0, 0]); // Normal
        bytes.extend(4u64.to_le_bytes());
        // Variant 2: the request version after V1 and Batch.
        bytes.extend([2, 0, 0, 0]);
        assert!(matches!(
            decode_entry(&bytes),
            Err(CodecError::Request(
                cohort_state::DecodeError::UnknownVersion(3)
            ))
        ));
    }

    #[test]
    fn corrupt_values_are_errors() {
        assert!(matches!(decode::<u64>(&[]), Err(CodecError::Empty)));
        assert!(matches!(
            decode::<u64>(&[9, 0]),
            Err(CodecError::UnknownVersion(9))
        ));
        assert!(matches!(
            decode::<u64>(&[1, 0, 0]),
            Err(CodecError::Malformed(_))
        ));
        // A string claiming 2^63 bytes must fail without allocating them.
        let huge = [1, 0, 0, 0, 0, 0, 0, 0, 0x80];
        assert!(matches!(
            decode::<String>(&huge),
            Err(CodecError::Malformed(_))
        ));
        // Trailing garbage.
        assert!(matches!(
            decode::<u8>(&[1, 5, 5]),
            Err(CodecError::Malformed(_))
        ));
    }
}
