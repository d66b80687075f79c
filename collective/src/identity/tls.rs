//! Mutual TLS between members: the trust table, the rustls configs, the
//! custom certificate verifiers and per-RPC peer authorization.
//!
//! Shape (see the module essay for why): the server accepts any
//! self-consistent client chain `[leaf, CA]` or none at all, and
//! [`authorize_peer`] names the member per RPC from the leaf's
//! `member-<name>.cohort` SAN, checking the leaf against the CA recorded for
//! that name. Clients always know whom they dial and verify the server
//! against exactly one CA: the recorded one ([`peer_client_config`]) or the
//! one pinned by an invite ([`pinned_client_config`]).
//!
//! Configs are built on an explicit ring provider, so they work whether or
//! not a process-wide default provider is installed. tonic's own TLS
//! settings cannot take custom verifiers, so the server feeds a tokio-rustls
//! acceptor into `serve_with_incoming` and the client dials through
//! `connect_with_connector`; both speak HTTP/2, hence ALPN `h2`.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, PoisonError, RwLock};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::sign::SingleCertAndKey;
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, DistinguishedName, OtherError,
    ServerConfig, SignatureScheme,
};
use webpki::KeyUsage;

use super::certs;
use super::member::{MemberIdentity, ca_fingerprint_of};

/// Member name -> member CA certificate (DER), mirroring the replicated
/// member table. Cheap to clone; all clones share one table, so the server
/// refreshes it in place and every verifier sees the change at once.
#[derive(Clone, Default)]
pub struct TrustTable {
    inner: Arc<RwLock<BTreeMap<String, Vec<u8>>>>,
}

impl fmt::Debug for TrustTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TrustTable")
            .field("members", &self.names())
            .finish()
    }
}

impl TrustTable {
    pub fn new() -> TrustTable {
        TrustTable::default()
    }

    /// Replaces the whole table (called whenever the member table changes,
    /// so a removed member disappears here too).
    pub fn set(&self, members: impl IntoIterator<Item = (String, Vec<u8>)>) {
        let fresh: BTreeMap<String, Vec<u8>> = members.into_iter().collect();
        // A panic elsewhere while holding the lock cannot leave the map half
        // written (writes are a single assignment), so poisoning is ignored.
        *self.inner.write().unwrap_or_else(PoisonError::into_inner) = fresh;
    }

    /// The recorded CA certificate of member `name`.
    pub fn get(&self, name: &str) -> Option<Vec<u8>> {
        self.inner
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(name)
            .cloned()
    }

    /// The member names, in map order.
    pub fn names(&self) -> Vec<String> {
        self.inner
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .keys()
            .cloned()
            .collect()
    }
}

/// Why a peer is refused for a member-only RPC. Not retryable: the caller
/// must become a member (join) or present the right certificate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PeerAuthError {
    #[error("the caller presented no certificate; peer calls need a member certificate")]
    NoCertificate,
    #[error(
        "the caller claims to be member {0:?}, which is not in the member table \
         (removed, or not joined yet)"
    )]
    NotAMember(String),
    #[error(
        "the caller claims to be member {0:?}, but its certificate does not chain to the CA \
         recorded for that member"
    )]
    WrongCa(String),
    #[error(
        "the certificate of the caller claiming to be member {name:?} is not valid now: {reason}"
    )]
    NotValidNow { name: String, reason: String },
    #[error("the caller's certificate is malformed: {0}")]
    Malformed(String),
}

/// A TLS configuration could not be built (a bug or an unusable key, not
/// a network condition).
#[derive(Debug, thiserror::Error)]
#[error("cannot build the TLS configuration")]
pub struct TlsConfigError(#[source] rustls::Error);

/// Why a custom verifier refused a handshake. Carried inside
/// `rustls::Error::Other`; callers may downcast to it to explain a failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertRefusal {
    #[error("fingerprint mismatch: the member at {addr} is not the one that made this invite")]
    FingerprintMismatch { addr: String },
    #[error("member {0:?} is not in the member table, so its certificate cannot be checked")]
    UnknownMember(String),
    #[error("the server at {addr} is not member {expected:?}: its certificate {reason}")]
    NotExpectedMember {
        addr: String,
        expected: String,
        reason: String,
    },
    #[error("a member presents the chain [leaf, member CA]; got {0} certificate(s)")]
    ChainShape(usize),
}

fn refusal(r: CertRefusal) -> rustls::Error {
    rustls::Error::Other(OtherError(Arc::new(r)))
}

/// Maps a webpki chain error to the rustls error (and TLS alert) for it.
fn chain_error(e: webpki::Error) -> rustls::Error {
    let cert_error = match e {
        webpki::Error::CertExpired { .. } => CertificateError::Expired,
        webpki::Error::CertNotValidYet { .. } => CertificateError::NotValidYet,
        webpki::Error::UnknownIssuer => CertificateError::UnknownIssuer,
        webpki::Error::InvalidSignatureForPublicKey => CertificateError::BadSignature,
        webpki::Error::BadDer | webpki::Error::BadDerTime => CertificateError::BadEncoding,
        other => CertificateError::Other(OtherError(Arc::new(other))),
    };
    rustls::Error::InvalidCertificate(cert_error)
}

/// Completes "its certificate ..." for an operator.
fn chain_reason(e: &webpki::Error) -> String {
    match e {
        webpki::Error::UnknownIssuer | webpki::Error::InvalidSignatureForPublicKey => {
            "does not chain to the CA recorded for that member".to_owned()
        }
        webpki::Error::CertExpired { .. } => "has expired".to_owned(),
        webpki::Error::CertNotValidYet { .. } => {
            "is not valid yet (are the clocks of both hosts right?)".to_owned()
        }
        other => format!("is invalid ({other})"),
    }
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

const VERSIONS: &[&rustls::SupportedProtocolVersion] =
    &[&rustls::version::TLS13, &rustls::version::TLS12];

fn h2() -> Vec<Vec<u8>> {
    vec![b"h2".to_vec()]
}

/// The peer listener's config: our leaf chain, any self-consistent client
/// chain (or none), ALPN h2. Membership is checked per RPC by
/// [`authorize_peer`], which is why the trust table is not consulted here.
pub fn peer_server_config(
    identity: &MemberIdentity,
    _trust: &TrustTable,
) -> Result<Arc<ServerConfig>, TlsConfigError> {
    let verifier = SelfConsistentClientVerifier {
        algs: certs::signature_algorithms(),
    };
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(VERSIONS)
        .map_err(TlsConfigError)?
        .with_client_cert_verifier(Arc::new(verifier))
        .with_cert_resolver(Arc::new(SingleCertAndKey::from(identity.certified_key())));
    config.alpn_protocols = h2();
    Ok(Arc::new(config))
}

/// A client config for dialing member `expected_member`: the server leaf
/// must verify against that member's recorded CA and carry the SAN
/// `member-<expected>.cohort`. We present our own leaf chain.
pub fn peer_client_config(
    identity: &MemberIdentity,
    trust: &TrustTable,
    expected_member: &str,
) -> Result<Arc<ClientConfig>, TlsConfigError> {
    let verifier = MemberServerVerifier {
        trust: trust.clone(),
        expected: expected_member.to_owned(),
        algs: certs::signature_algorithms(),
    };
    client_config(identity, Arc::new(verifier))
}

/// A client config for joining: the server chain must contain the CA whose
/// SHA-256 the invite carries, and the server leaf must verify against it.
/// No name check: the joiner does not know the inviter's name, and the pin
/// is stronger than a name.
pub fn pinned_client_config(
    identity: &MemberIdentity,
    ca_fingerprint: [u8; 32],
) -> Result<Arc<ClientConfig>, TlsConfigError> {
    let verifier = PinnedServerVerifier {
        fingerprint: ca_fingerprint,
        algs: certs::signature_algorithms(),
    };
    client_config(identity, Arc::new(verifier))
}

fn client_config(
    identity: &MemberIdentity,
    verifier: Arc<dyn ServerCertVerifier>,
) -> Result<Arc<ClientConfig>, TlsConfigError> {
    let mut config = ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(VERSIONS)
        .map_err(TlsConfigError)?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_client_cert_resolver(Arc::new(SingleCertAndKey::from(identity.certified_key())));
    config.alpn_protocols = h2();
    Ok(Arc::new(config))
}

/// Names the member behind a TLS connection, from the chain it presented
/// (`peer_certificates()` of the connection). The leaf's
/// `member-<name>.cohort` SAN names the member; the table must hold that
/// name, and the leaf must verify against the CA recorded for it (a check
/// of the signature, not a comparison with the CA the peer sent).
pub fn authorize_peer(
    trust: &TrustTable,
    peer_chain: &[CertificateDer<'_>],
) -> Result<String, PeerAuthError> {
    let leaf = peer_chain.first().ok_or(PeerAuthError::NoCertificate)?;
    let info = certs::inspect(leaf).map_err(PeerAuthError::Malformed)?;
    let name = match info.member_names().as_slice() {
        [one] => (*one).to_owned(),
        [] => {
            return Err(PeerAuthError::Malformed(
                "no member-<name>.cohort name in the certificate".to_owned(),
            ));
        }
        _ => {
            return Err(PeerAuthError::Malformed(
                "several member-<name>.cohort names in one certificate".to_owned(),
            ));
        }
    };
    let recorded = trust
        .get(&name)
        .ok_or_else(|| PeerAuthError::NotAMember(name.clone()))?;
    // Member leaves carry both EKUs; client auth is what an RPC caller uses.
    match certs::verify_leaf(
        leaf,
        &CertificateDer::from(recorded),
        UnixTime::now(),
        KeyUsage::client_auth(),
    ) {
        Ok(()) => Ok(name),
        Err(e @ (webpki::Error::CertExpired { .. } | webpki::Error::CertNotValidYet { .. })) => {
            Err(PeerAuthError::NotValidNow {
                name,
                reason: e.to_string(),
            })
        }
        Err(_) => Err(PeerAuthError::WrongCa(name)),
    }
}

/// Accepts a client chain `[leaf, CA]` whose leaf verifies against the CA
/// sent with it, or no certificate at all (remote admins use tokens).
/// The handshake-signature half of every verifier here, identical for all:
/// signatures are checked with the ring provider's algorithms (`self.algs`),
/// whatever policy the verifier applies to the certificates themselves.
macro_rules! signature_checks {
    () => {
        fn verify_tls12_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algs)
        }

        fn verify_tls13_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algs)
        }

        fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
            self.algs.supported_schemes()
        }
    };
}

#[derive(Debug)]
struct SelfConsistentClientVerifier {
    algs: WebPkiSupportedAlgorithms,
}

impl ClientCertVerifier for SelfConsistentClientVerifier {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        false
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        // No hints: members send their only chain whatever we list.
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        let [ca] = intermediates else {
            return Err(refusal(CertRefusal::ChainShape(intermediates.len() + 1)));
        };
        certs::verify_leaf(end_entity, ca, now, KeyUsage::client_auth()).map_err(chain_error)?;
        Ok(ClientCertVerified::assertion())
    }

    signature_checks!();
}

/// Requires the server to be member `expected`, by its recorded CA.
#[derive(Debug)]
struct MemberServerVerifier {
    trust: TrustTable,
    expected: String,
    algs: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for MemberServerVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        // Dialing the wrong address is an operator-visible mistake, so the
        // refusal says whom we expected and why this is not them.
        let not_expected = |reason: String| {
            refusal(CertRefusal::NotExpectedMember {
                addr: server_name.to_str().into_owned(),
                expected: self.expected.clone(),
                reason,
            })
        };
        let recorded = self
            .trust
            .get(&self.expected)
            .ok_or_else(|| refusal(CertRefusal::UnknownMember(self.expected.clone())))?;
        let ca = CertificateDer::from(recorded);
        certs::verify_leaf(end_entity, &ca, now, KeyUsage::server_auth())
            .map_err(|e| not_expected(chain_reason(&e)))?;
        // The name checked is derived from `expected`, not taken from the
        // dialed server name, so a wrong ServerName cannot weaken the check.
        let dns_name = certs::member_dns_name(&self.expected);
        let name_ok = ServerName::try_from(dns_name.as_str())
            .ok()
            .zip(webpki::EndEntityCert::try_from(end_entity).ok())
            .is_some_and(|(dns, ee)| ee.verify_is_valid_for_subject_name(&dns).is_ok());
        if !name_ok {
            return Err(not_expected(format!("does not name {dns_name}")));
        }
        Ok(ServerCertVerified::assertion())
    }

    signature_checks!();
}

/// Requires the server chain to contain the pinned CA and the leaf to
/// verify against it.
#[derive(Debug)]
struct PinnedServerVerifier {
    fingerprint: [u8; 32],
    algs: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for PinnedServerVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let Some(ca) = intermediates
            .iter()
            .find(|c| ca_fingerprint_of(c) == self.fingerprint)
        else {
            return Err(refusal(CertRefusal::FingerprintMismatch {
                addr: server_name.to_str().into_owned(),
            }));
        };
        certs::verify_leaf(end_entity, ca, now, KeyUsage::server_auth()).map_err(chain_error)?;
        Ok(ServerCertVerified::assertion())
    }

    signature_checks!();
}
