//! A peer that is not what it claims: a gRPC client of a member's `Peer`
//! service over TLS with a certificate chain of the test's choosing.
//!
//! A member's peer listener accepts any self-consistent chain
//! `[leaf, CA]` at the TLS layer and decides per RPC whether the leaf
//! names a member and chains to the CA recorded for it (DESIGN.md
//! section 3), so a forged chain completes the handshake and must then be
//! refused with `UNAUTHENTICATED`. The same client loaded with a real
//! member's files is the control: it shows the refusals are about the
//! certificate, not about this client.
//!
//! The rogue does not verify the member's server certificate (it accepts
//! anything): a test tool only, never a pattern for the product.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use cohort_proto::peer_client::PeerClient;
use hyper_util::rt::TokioIo;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose, SanType,
};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, SignatureScheme};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tonic::transport::{Channel, Endpoint};

/// The certificates a rogue presents (none, or a chain and its key).
pub struct RogueIdentity {
    chain: Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>,
}

impl RogueIdentity {
    /// No client certificate at all.
    pub fn anonymous() -> RogueIdentity {
        RogueIdentity { chain: None }
    }

    /// A fresh self-signed CA and a leaf claiming to be member `name`
    /// (SAN `member-<name>.cohort`), shaped like a real member's: same
    /// CA common name, key usages and extended key usages. Only the keys
    /// differ, which is the whole point.
    pub fn forged(name: &str) -> anyhow::Result<RogueIdentity> {
        let ca_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
        let mut ca = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, format!("cohort member CA {name}"));
        ca.distinguished_name = dn;
        ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        ca.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca = CertifiedIssuer::self_signed(ca, ca_key)?;

        let leaf_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
        let mut leaf = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, format!("cohort member {name}"));
        leaf.distinguished_name = dn;
        leaf.subject_alt_names = vec![SanType::DnsName(
            format!("member-{name}.cohort").try_into()?,
        )];
        leaf.is_ca = IsCa::ExplicitNoCa;
        leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        leaf.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        leaf.use_authority_key_identifier_extension = true;
        let leaf = leaf.signed_by(&leaf_key, &ca)?;

        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
        Ok(RogueIdentity {
            chain: Some((vec![leaf.der().clone(), ca.der().clone()], key)),
        })
    }

    /// The real identity of a member, read from its data directory
    /// (`<data>/member/{member.crt,member-ca.crt,member.key}`).
    pub fn of_member(data_dir: &Path) -> anyhow::Result<RogueIdentity> {
        let dir = data_dir.join("member");
        let leaf = CertificateDer::from_pem_file(dir.join("member.crt"))
            .with_context(|| format!("cannot read the leaf in {}", dir.display()))?;
        let ca = CertificateDer::from_pem_file(dir.join("member-ca.crt"))
            .with_context(|| format!("cannot read the CA in {}", dir.display()))?;
        let key = PrivateKeyDer::from_pem_file(dir.join("member.key"))
            .with_context(|| format!("cannot read the key in {}", dir.display()))?;
        Ok(RogueIdentity {
            chain: Some((vec![leaf, ca], key)),
        })
    }

    /// A `Peer` client of the member listening at `addr`, presenting this
    /// identity. Connects eagerly, so a refused handshake shows here.
    pub async fn peer_client(
        self,
        addr: std::net::SocketAddr,
    ) -> anyhow::Result<PeerClient<Channel>> {
        Ok(PeerClient::new(self.channel(addr).await?))
    }

    /// A TLS gRPC channel to the member's TCP port (which also serves the
    /// remote admin API), presenting this identity.
    pub async fn channel(self, addr: std::net::SocketAddr) -> anyhow::Result<Channel> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let verifier = Arc::new(AcceptAnyServer {
            algs: provider.signature_verification_algorithms,
        });
        let builder = ClientConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
            .dangerous()
            .with_custom_certificate_verifier(verifier);
        let mut config = match self.chain {
            Some((chain, key)) => builder.with_client_auth_cert(chain, key)?,
            None => builder.with_no_client_auth(),
        };
        config.alpn_protocols = vec![b"h2".to_vec()];
        let config = Arc::new(config);
        let connector = tower::service_fn(move |_: tonic::codegen::http::Uri| {
            let config = config.clone();
            async move {
                let tcp = TcpStream::connect(addr).await?;
                // Any name: the rogue does not check the server anyway.
                let name =
                    ServerName::try_from("member-m1.cohort").map_err(std::io::Error::other)?;
                let tls = TlsConnector::from(config).connect(name, tcp).await?;
                Ok::<_, std::io::Error>(TokioIo::new(tls))
            }
        });
        let channel = Endpoint::from_shared(format!("http://{addr}"))?
            .connect_timeout(Duration::from_secs(5))
            .connect_with_connector(connector)
            .await
            .with_context(|| format!("rogue cannot connect to {addr}"))?;
        Ok(channel)
    }
}

/// Accepts any server certificate; checks only that the handshake is
/// signed with the key of the certificate presented.
#[derive(Debug)]
struct AcceptAnyServer {
    algs: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for AcceptAnyServer {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

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
}
