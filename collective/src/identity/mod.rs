//! Member identity and peer trust: who this member is, how it proves it, and
//! how it decides whom to believe.
//!
//! # What is generated, and where it lives
//!
//! At first start [`MemberIdentity::load_or_create`] makes, in
//! `<data>/member/` (mode 0700):
//!
//! | file            | mode | content                                                  |
//! |-----------------|------|----------------------------------------------------------|
//! | `member-ca.key` | 0600 | ECDSA P-256 key of the member CA (PKCS#8 PEM)            |
//! | `member-ca.crt` | 0644 | self-signed member CA, `CN=cohort member CA <name>`, 20 y |
//! | `member.key`    | 0600 | ECDSA P-256 key of the TLS leaf                          |
//! | `member.crt`    | 0644 | leaf: SANs `member-<name>.cohort` + every listen address |
//! | `ssh-ca`        | 0600 | ed25519 SSH CA key (OpenSSH format)                      |
//! | `ssh-ca.pub`    | 0644 | its public half, for `@cert-authority` lines             |
//!
//! No private key ever leaves the host (DESIGN.md section 3): the member
//! table replicates each member's CA *certificate*, never a key. The CA
//! never changes for the life of a member, because its certificate is the
//! member's identity; the leaf is reissued from it whenever the listen
//! addresses grow or the leaf nears expiry. `member-ca.crt` is written last
//! and marks a complete identity: a directory without it is (re)generated,
//! one with it but missing other files is refused. Every damaged file is
//! refused with its name and the way out: move the directory away to get a
//! new identity, after which the member must rejoin. We never silently
//! replace an identity, since peers would then refuse the member anyway.
//!
//! # Why TLS accepts any self-consistent chain
//!
//! One gRPC listener serves members, the joiner (which already has its own
//! identity but is not in the member table yet) and remote admins (which
//! authenticate with a user token and may have no certificate). So the TLS
//! layer ([`peer_server_config`]) only checks that a presented chain is
//! internally consistent (the leaf verifies against the CA sent with it),
//! and the decision "is this a member, and which one" is made per RPC by
//! [`authorize_peer`] against the [`TrustTable`], which mirrors the
//! replicated member table and is refreshed whenever it changes. A removed
//! member is refused at its next RPC, without restarting listeners. The
//! alternative, rebuilding a root store into the TLS config on every
//! membership change, would still need a second path for joiners and
//! admins, and a stale config would keep a removed member in.
//!
//! Outbound, the client always knows whom it dials: [`peer_client_config`]
//! requires the server leaf to verify against the recorded CA of that one
//! member, and [`pinned_client_config`] (joining) requires the CA whose
//! SHA-256 the invite carries.
//!
//! # Why invite tokens are hand-encoded
//!
//! An [`InviteToken`] is pasted by humans and parsed from untrusted input,
//! so it is a short, fixed binary layout (documented in `token.rs`) with a
//! version byte first, bounded lengths and distinct errors. A serde format
//! would make the layout depend on a library's encoding choices and would
//! hide allocation bounds; the layout is small enough to write and read by
//! hand and to freeze in tests.
//!
//! The collective [`DataKey`] (AES-256-GCM for `secret.*` attributes) lives
//! here too: it is key material with the same handling rules (mode 0600,
//! never printed; its `Debug` shows only a fingerprint prefix).

// Used by the server, being written.
#![allow(dead_code, unused_imports)]

mod certs;
mod datakey;
mod files;
mod member;
mod tls;
mod token;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tls_tests;

pub use datakey::{DataKey, DataKeyError, SealError};
pub use files::FileError;
pub(crate) use files::write_atomic;
pub use member::{IdentityError, MemberIdentity, ca_fingerprint_of, fingerprint_hex};
pub use tls::{
    CertRefusal, PeerAuthError, TlsConfigError, TrustTable, authorize_peer, peer_client_config,
    peer_server_config, pinned_client_config,
};
pub use token::{
    InviteToken, JoinProofError, TOKEN_VERSION, TokenError, join_approval, join_proof,
    verify_join_approval, verify_join_proof,
};
