//! Encoding of peer envelopes: the same bincode options as the Raft log
//! (cohort-state's codec), so nothing on the wire is encoded two ways.

use serde::Serialize;
use serde::de::DeserializeOwned;

/// Largest gRPC message between members: openraft sends at most 300 entries
/// per AppendEntries and snapshot chunks of 3 MiB; a `nodeattrib` over
/// 100,000 nodes is one small entry, so 64 MiB leaves ample room while still
/// bounding what a peer can make us buffer.
pub const MAX_MESSAGE: usize = 64 << 20;

/// Why an envelope could not be used.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    #[error("bad peer address: {0}")]
    Address(String),
    #[error("peer speaks wire version {0}; this member speaks {ours}", ours = cohort_proto::RAFT_WIRE_VERSION)]
    Version(u32),
    #[error("undecodable message from peer: {0}")]
    Decode(String),
    #[error("cannot encode message: {0}")]
    Encode(String),
    #[error("peer RPC failed ({0:?}): {1}")]
    Status(tonic::Code, String),
}

pub fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, WireError> {
    cohort_state::encode_value(value).map_err(WireError::Encode)
}

pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, WireError> {
    cohort_state::decode_value(bytes).map_err(WireError::Decode)
}

/// Maps a decode failure of an incoming request to a gRPC status.
pub fn bad_request(e: WireError) -> tonic::Status {
    tonic::Status::invalid_argument(e.to_string())
}
