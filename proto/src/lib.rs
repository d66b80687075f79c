//! cohort's gRPC contracts, generated from `proto/cohort/v1/*.proto`.
//!
//! Two services with different callers and trust:
//! - `Peer`: member to member, over mutual TLS. Raft messages travel as an
//!   opaque, versioned envelope ([`RAFT_WIRE_VERSION`]) of openraft's serde
//!   types; `Join` is the one call a not-yet-member makes.
//! - `Admin`: the CLI over the local socket and remote admin tools over TLS.
//!   Typed messages; `Write` carries one admin action, mirroring the
//!   replicated `Command`, so a follower can forward it unchanged.
//!
//! The package name `cohort.v1` is the wire version marker: a breaking change
//! is a new package (`cohort.v2`) served beside the old one.
//!
//! Architecture invariant: only this crate and the binary's RPC layer name
//! tonic or prost; no other crate sees generated types.

#[allow(clippy::all, missing_docs, unused_qualifications)]
mod generated {
    tonic::include_proto!("cohort.v1");
}

pub use generated::*;

/// Encoding version of [`RaftMessage::payload`]: 1 = bincode 1.3.3 of
/// openraft 0.9 serde types (and of cohort-state `Request`/`Response` for
/// `Forward`).
pub const RAFT_WIRE_VERSION: u32 = 1;

/// Version of [`JoinRequest`] handling.
pub const JOIN_WIRE_VERSION: u32 = 1;

#[cfg(test)]
mod tests {
    use prost::Message;

    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    // Frozen bytes: never edit these; a new encoding gets a new test.
    #[test]
    fn raft_envelope_bytes_are_frozen() {
        let m = RaftMessage {
            wire_version: RAFT_WIRE_VERSION,
            payload: vec![1, 2, 3].into(),
        };
        assert_eq!(hex(&m.encode_to_vec()), "08011203010203");
        let back = RaftMessage::decode(&[0x08, 0x01, 0x12, 0x03, 1, 2, 3][..]).expect("decode");
        assert_eq!(back, m);
    }

    #[test]
    fn write_request_bytes_are_frozen() {
        let w = WriteRequest {
            id: Some(WriteId {
                client: vec![0xab; 2],
                seq: 7,
            }),
            action: Some(write_request::Action::DefineNodes(Assign {
                target: "n[1-2]".into(),
                assignments: vec!["groups=compute".into()],
            })),
        };
        assert_eq!(
            hex(&w.encode_to_vec()),
            "0a060a02abab100752180a066e5b312d325d120e67726f7570733d636f6d70757465"
        );
    }

    #[test]
    fn garbage_does_not_decode_as_a_write() {
        assert!(WriteRequest::decode(&[0xff, 0xff, 0xff][..]).is_err());
    }
}
