//! Invite tokens and join proofs (DESIGN.md section 4).
//!
//! # Token layout (version 1)
//!
//! The token is base64url without padding of this byte string; every
//! integer is big-endian, and nothing may follow the last address:
//!
//! | offset | size  | field                                                        |
//! |--------|-------|--------------------------------------------------------------|
//! | 0      | 1     | format version, `1`                                          |
//! | 1      | 16    | collective id                                                |
//! | 17     | 32    | SHA-256 of the inviter's member-CA certificate (DER)         |
//! | 49     | 32    | secret (random)                                              |
//! | 81     | 8     | expiry, milliseconds since the Unix epoch (u64)              |
//! | 89     | 1     | flags: bit 0 = non-voting; other bits must be 0              |
//! | 90     | 1     | name length N, 1..=253                                       |
//! | 91     | N     | name (a valid node name)                                     |
//! | 91+N   | 1     | address count K, 1..=16                                      |
//! | ...    | K × … | per address: length L (1 byte, 1..=254), L bytes UTF-8       |
//!
//! Lengths are one byte and the limits sit below 255, so a field too long
//! to encode (saturated to 255 by [`InviteToken::encode`]) can never decode
//! as something else. A valid token is at most 4,425 bytes (5,900
//! characters); longer input is refused before decoding, so hostile input
//! cannot cause large allocations.
//!
//! # Join proofs
//!
//! Members keep only SHA-256 of the secret (replicated, so any member can
//! accept the join), so the proofs are keyed with that hash: the joiner
//! derives it from the token, the member reads it from state. The proof
//! covers both TLS leaves as each side saw them, so a machine in the middle
//! that re-terminates TLS (and must present other certificates) is caught.
//! The lookup of the invite must go by name, never by sending the hash.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cohort_api::names::{MAX_NAME_LEN, NameKind, validate_name};
use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};

/// The token format this code writes and reads.
pub const TOKEN_VERSION: u8 = 1;
const MAX_ADDRESSES: usize = 16;
const MAX_ADDRESS_LEN: usize = 254;
const FIXED_LEN: usize = 1 + 16 + 32 + 32 + 8 + 1;
const MAX_DECODED_LEN: usize =
    FIXED_LEN + 1 + MAX_NAME_LEN + 1 + MAX_ADDRESSES * (1 + MAX_ADDRESS_LEN);
/// Longest token text (base64 of [`MAX_DECODED_LEN`] bytes).
const MAX_TOKEN_CHARS: usize = MAX_DECODED_LEN.div_ceil(3) * 4;
const FLAG_NONVOTING: u8 = 0x01;

const PROOF_LABEL: &[u8] = b"cohort join proof v1";
const APPROVAL_LABEL: &[u8] = b"cohort join approval v1";

/// An invitation for one named member to join a collective.
#[derive(Clone, PartialEq, Eq)]
pub struct InviteToken {
    pub version: u8,
    pub collective_id: [u8; 16],
    /// Where the joiner dials the inviter (host:port).
    pub inviter_addresses: Vec<String>,
    /// SHA-256 of the inviter's member-CA certificate: the joiner pins it.
    pub ca_fingerprint: [u8; 32],
    /// The only name that may join with this token.
    pub name: String,
    pub nonvoting: bool,
    pub secret: [u8; 32],
    /// Milliseconds since the Unix epoch, judged by the leader's clock.
    pub expires_ms: u64,
}

impl fmt::Debug for InviteToken {
    // The secret is a credential: never in logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InviteToken")
            .field("version", &self.version)
            .field("name", &self.name)
            .field("nonvoting", &self.nonvoting)
            .field("inviter_addresses", &self.inviter_addresses)
            .field("expires_ms", &self.expires_ms)
            .finish_non_exhaustive()
    }
}

/// Why an invite token cannot be made or read. Each message says what to
/// do; none of them is worth retrying with the same token text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error(
        "invite token is not valid base64url; copy the whole token printed by \
         `cohort collective invite`"
    )]
    NotBase64,
    #[error(
        "invite token is {len} characters long, longer than any valid token; copy only the \
         token printed by `cohort collective invite`"
    )]
    TooLong { len: usize },
    #[error(
        "invite token has format version {0}, but this cohort reads version {TOKEN_VERSION}; \
         make the invite with a cohort of the same version"
    )]
    UnknownVersion(u8),
    #[error(
        "invite token is truncated (it ends inside the {field}); copy the whole token printed \
         by `cohort collective invite`"
    )]
    Truncated { field: &'static str },
    #[error("invite token is corrupt: {reason}; make a new invite")]
    Corrupt { reason: String },
    #[error(
        "invite token has {count} unexpected byte(s) after its end; copy exactly the token \
         printed by `cohort collective invite`"
    )]
    TrailingBytes { count: usize },
    #[error("cannot make the invite: {reason}")]
    Invalid { reason: String },
    #[error("cannot make the invite: the system random number generator failed")]
    Rng,
}

fn corrupt(reason: impl Into<String>) -> TokenError {
    TokenError::Corrupt {
        reason: reason.into(),
    }
}

impl InviteToken {
    /// A new invite with a fresh random secret. Checks every field against
    /// the limits of the format, so the result always decodes again.
    pub fn new(
        collective_id: [u8; 16],
        inviter_addresses: Vec<String>,
        ca_fingerprint: [u8; 32],
        name: &str,
        nonvoting: bool,
        expires_ms: u64,
    ) -> Result<InviteToken, TokenError> {
        let invalid = |reason: String| TokenError::Invalid { reason };
        validate_name(NameKind::Node, name).map_err(|e| invalid(e.to_string()))?;
        check_addresses(&inviter_addresses).map_err(invalid)?;
        let mut secret = [0u8; 32];
        SystemRandom::new()
            .fill(&mut secret)
            .map_err(|_| TokenError::Rng)?;
        Ok(InviteToken {
            version: TOKEN_VERSION,
            collective_id,
            inviter_addresses,
            ca_fingerprint,
            name: name.to_owned(),
            nonvoting,
            secret,
            expires_ms,
        })
    }

    /// The token text (see the layout in the module docs). Fields beyond
    /// the format's limits (only possible by building the struct by hand)
    /// encode to a token that `decode` refuses, never to a different one.
    pub fn encode(&self) -> String {
        let mut out = Vec::with_capacity(FIXED_LEN + 64);
        out.push(self.version);
        out.extend_from_slice(&self.collective_id);
        out.extend_from_slice(&self.ca_fingerprint);
        out.extend_from_slice(&self.secret);
        out.extend_from_slice(&self.expires_ms.to_be_bytes());
        out.push(if self.nonvoting { FLAG_NONVOTING } else { 0 });
        push_field(&mut out, self.name.as_bytes());
        out.push(saturating_u8(self.inviter_addresses.len()));
        for address in self.inviter_addresses.iter().take(usize::from(u8::MAX)) {
            push_field(&mut out, address.as_bytes());
        }
        URL_SAFE_NO_PAD.encode(out)
    }

    /// Parses token text; surrounding whitespace (from copy and paste) is
    /// ignored. Never panics and never allocates more than a valid token.
    pub fn decode(text: &str) -> Result<InviteToken, TokenError> {
        let text = text.trim();
        if text.len() > MAX_TOKEN_CHARS {
            return Err(TokenError::TooLong { len: text.len() });
        }
        let bytes = URL_SAFE_NO_PAD
            .decode(text)
            .map_err(|_| TokenError::NotBase64)?;
        let mut r = Reader { rest: &bytes };
        let version = r.u8("format version")?;
        if version != TOKEN_VERSION {
            return Err(TokenError::UnknownVersion(version));
        }
        let collective_id = r.array("collective id")?;
        let ca_fingerprint = r.array("CA fingerprint")?;
        let secret = r.array("secret")?;
        let expires_ms = u64::from_be_bytes(r.array("expiry")?);
        let flags = r.u8("flags")?;
        if flags & !FLAG_NONVOTING != 0 {
            return Err(corrupt(format!("unknown flags {flags:#04x}")));
        }
        let name = r.text("name", MAX_NAME_LEN)?;
        validate_name(NameKind::Node, &name).map_err(|e| corrupt(e.to_string()))?;
        let count = usize::from(r.u8("address count")?);
        if count == 0 || count > MAX_ADDRESSES {
            return Err(corrupt(format!(
                "{count} inviter addresses (1 to {MAX_ADDRESSES} allowed)"
            )));
        }
        let mut inviter_addresses = Vec::with_capacity(count);
        for _ in 0..count {
            inviter_addresses.push(r.text("inviter address", MAX_ADDRESS_LEN)?);
        }
        if !r.rest.is_empty() {
            return Err(TokenError::TrailingBytes {
                count: r.rest.len(),
            });
        }
        Ok(InviteToken {
            version,
            collective_id,
            inviter_addresses,
            ca_fingerprint,
            name,
            nonvoting: flags & FLAG_NONVOTING != 0,
            secret,
            expires_ms,
        })
    }

    /// SHA-256 of the secret: the only form members store, and the key of
    /// the join proofs.
    pub fn secret_sha256(&self) -> [u8; 32] {
        let digest = ring::digest::digest(&ring::digest::SHA256, &self.secret);
        let mut out = [0u8; 32];
        out.copy_from_slice(digest.as_ref());
        out
    }

    /// Whether the token has expired at `now_ms` (ms since the epoch). The
    /// binding check is done by the collective state with the leader's
    /// clock; this is for early, friendly refusals.
    pub fn is_expired(&self, now_ms: u64) -> bool {
        now_ms >= self.expires_ms
    }
}

fn check_addresses(addresses: &[String]) -> Result<(), String> {
    if addresses.is_empty() || addresses.len() > MAX_ADDRESSES {
        return Err(format!(
            "{} inviter addresses given, 1 to {MAX_ADDRESSES} allowed",
            addresses.len()
        ));
    }
    for a in addresses {
        if a.is_empty() || a.len() > MAX_ADDRESS_LEN {
            return Err(format!(
                "inviter address {a:?} must be 1 to {MAX_ADDRESS_LEN} bytes long"
            ));
        }
    }
    Ok(())
}

fn saturating_u8(n: usize) -> u8 {
    u8::try_from(n).unwrap_or(u8::MAX)
}

/// One length byte (saturated) and the bytes. A saturated length exceeds
/// every limit, so decode refuses it instead of misreading the rest.
fn push_field(out: &mut Vec<u8>, bytes: &[u8]) {
    let len = saturating_u8(bytes.len());
    out.push(len);
    out.extend_from_slice(&bytes[..usize::from(len)]);
}

/// A cursor over the decoded bytes; every read names the field it wanted.
struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], TokenError> {
        if self.rest.len() < n {
            return Err(TokenError::Truncated { field });
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }

    fn u8(&mut self, field: &'static str) -> Result<u8, TokenError> {
        Ok(self.take(1, field)?[0])
    }

    fn array<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], TokenError> {
        let bytes = self.take(N, field)?;
        <[u8; N]>::try_from(bytes).map_err(|_| TokenError::Truncated { field })
    }

    /// A length-prefixed UTF-8 field of 1..=max bytes.
    fn text(&mut self, field: &'static str, max: usize) -> Result<String, TokenError> {
        let len = usize::from(self.u8(field)?);
        if len == 0 || len > max {
            return Err(corrupt(format!(
                "{field} length {len} (1 to {max} allowed)"
            )));
        }
        let bytes = self.take(len, field)?;
        std::str::from_utf8(bytes)
            .map(str::to_owned)
            .map_err(|_| corrupt(format!("{field} is not UTF-8")))
    }
}

/// A join proof or approval did not verify. Not retryable with the same
/// token and peer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JoinProofError {
    #[error(
        "the join proof does not match: the joiner does not hold this invite's secret, or a \
         certificate was altered in transit"
    )]
    ProofMismatch,
    #[error(
        "the join approval does not match: the member that answered does not hold this \
         invite's secret, or a certificate was altered in transit"
    )]
    ApprovalMismatch,
}

/// label, first and second, each prefixed by its length (u64, big-endian),
/// so no two different inputs make the same message.
fn proof_message(label: &[u8], first: &[u8], second: &[u8]) -> Vec<u8> {
    let mut msg = Vec::with_capacity(24 + label.len() + first.len() + second.len());
    for part in [label, first, second] {
        msg.extend_from_slice(&(part.len() as u64).to_be_bytes());
        msg.extend_from_slice(part);
    }
    msg
}

fn sign(secret_hash: &[u8; 32], msg: &[u8]) -> [u8; 32] {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret_hash);
    let tag = hmac::sign(&key, msg);
    let mut out = [0u8; 32];
    out.copy_from_slice(tag.as_ref());
    out
}

/// The joiner's proof: HMAC-SHA256 keyed with the invite's secret hash
/// ([`InviteToken::secret_sha256`]) over the inviter's leaf then the
/// joiner's leaf, as the joiner saw them.
pub fn join_proof(
    secret_hash: &[u8; 32],
    inviter_leaf_der: &[u8],
    joiner_leaf_der: &[u8],
) -> [u8; 32] {
    sign(
        secret_hash,
        &proof_message(PROOF_LABEL, inviter_leaf_der, joiner_leaf_der),
    )
}

/// Checks a join proof in constant time (member side, with the leaves as
/// the member saw them).
pub fn verify_join_proof(
    secret_hash: &[u8; 32],
    inviter_leaf_der: &[u8],
    joiner_leaf_der: &[u8],
    proof: &[u8],
) -> Result<(), JoinProofError> {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret_hash);
    let msg = proof_message(PROOF_LABEL, inviter_leaf_der, joiner_leaf_der);
    hmac::verify(&key, &msg, proof).map_err(|_| JoinProofError::ProofMismatch)
}

/// The member's answer: same key, the leaves in the other order and another
/// label, so a proof can never be replayed as an approval.
pub fn join_approval(
    secret_hash: &[u8; 32],
    joiner_leaf_der: &[u8],
    inviter_leaf_der: &[u8],
) -> [u8; 32] {
    sign(
        secret_hash,
        &proof_message(APPROVAL_LABEL, joiner_leaf_der, inviter_leaf_der),
    )
}

/// Checks a join approval in constant time (joiner side).
pub fn verify_join_approval(
    secret_hash: &[u8; 32],
    joiner_leaf_der: &[u8],
    inviter_leaf_der: &[u8],
    approval: &[u8],
) -> Result<(), JoinProofError> {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret_hash);
    let msg = proof_message(APPROVAL_LABEL, joiner_leaf_der, inviter_leaf_der);
    hmac::verify(&key, &msg, approval).map_err(|_| JoinProofError::ApprovalMismatch)
}
