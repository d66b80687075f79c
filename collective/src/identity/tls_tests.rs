//! Real mutual-TLS handshakes over 127.0.0.1 between members, non-members,
//! an impostor and a joiner, and the per-RPC authorization that follows.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use rcgen::KeyPair;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, ServerConfig, SignatureScheme};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::{TlsAcceptor, TlsConnector};

use super::certs::{self, San};
use super::tests::{make, member_dir, temp};
use super::*;

type Chain = Vec<CertificateDer<'static>>;

/// What each side saw: the peer's chain and the negotiated ALPN, or the
/// error text.
struct Outcome {
    server: Result<(Chain, Option<Vec<u8>>), String>,
    client: Result<(Chain, Option<Vec<u8>>), String>,
}

fn seen(conn: &rustls::CommonState) -> (Chain, Option<Vec<u8>>) {
    let chain = conn
        .peer_certificates()
        .map(|c| c.iter().map(|c| c.clone().into_owned()).collect())
        .unwrap_or_default();
    (chain, conn.alpn_protocol().map(<[u8]>::to_vec))
}

/// One handshake plus a one-byte exchange each way. The exchange matters:
/// in TLS 1.3 the server judges the client certificate after the client
/// has finished, so only a completed round trip proves both sides agreed.
async fn handshake(
    server: Arc<ServerConfig>,
    client: Arc<ClientConfig>,
    name: ServerName<'static>,
) -> Outcome {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server_side = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.map_err(|e| e.to_string())?;
        let mut tls = TlsAcceptor::from(server)
            .accept(tcp)
            .await
            .map_err(|e| e.to_string())?;
        let mut byte = [0u8; 1];
        tls.read_exact(&mut byte).await.map_err(|e| e.to_string())?;
        tls.write_all(b"k").await.map_err(|e| e.to_string())?;
        tls.flush().await.map_err(|e| e.to_string())?;
        Ok(seen(tls.get_ref().1))
    });
    let client_side = async {
        let tcp = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
        let mut tls = TlsConnector::from(client)
            .connect(name, tcp)
            .await
            .map_err(|e| e.to_string())?;
        tls.write_all(b"p").await.map_err(|e| e.to_string())?;
        tls.flush().await.map_err(|e| e.to_string())?;
        let mut byte = [0u8; 1];
        tls.read_exact(&mut byte).await.map_err(|e| e.to_string())?;
        Ok(seen(tls.get_ref().1))
    };
    let limit = Duration::from_secs(20);
    let client = tokio::time::timeout(limit, client_side).await.unwrap();
    let server = tokio::time::timeout(limit, server_side)
        .await
        .unwrap()
        .unwrap();
    Outcome { server, client }
}

fn dns(member: &str) -> ServerName<'static> {
    ServerName::try_from(format!("member-{member}.cohort")).unwrap()
}

fn localhost() -> ServerName<'static> {
    ServerName::try_from("127.0.0.1").unwrap()
}

fn table(members: &[&MemberIdentity]) -> TrustTable {
    let trust = TrustTable::new();
    trust.set(
        members
            .iter()
            .map(|m| (m.name().to_owned(), m.ca_cert_der().to_vec())),
    );
    trust
}

fn chain_of(id: &MemberIdentity) -> Chain {
    vec![id.leaf_cert_der().clone(), id.ca_cert_der().clone()]
}

/// Trusts any server: for test clients whose server check is not the point.
#[derive(Debug)]
struct AcceptAnyServer;

impl ServerCertVerifier for AcceptAnyServer {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(m, c, d, &certs::signature_algorithms())
    }

    fn verify_tls13_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(m, c, d, &certs::signature_algorithms())
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        certs::signature_algorithms().supported_schemes()
    }
}

/// A hand-made client presenting `chain` with `key` (or no certificate).
fn raw_client(chain_and_key: Option<(Chain, &KeyPair)>) -> Arc<ClientConfig> {
    let builder =
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyServer));
    let mut config = match chain_and_key {
        Some((chain, key)) => {
            let der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
            builder.with_client_auth_cert(chain, der).unwrap()
        }
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"h2".to_vec()];
    Arc::new(config)
}

fn read_key(id: &MemberIdentity, file: &str) -> KeyPair {
    KeyPair::from_pem(&std::fs::read_to_string(id.member_dir().join(file)).unwrap()).unwrap()
}

#[tokio::test]
async fn members_authenticate_each_other_in_both_directions() {
    let (ta, tb) = (temp(), temp());
    let a = make(&member_dir(&ta), "a");
    let b = make(&member_dir(&tb), "b");
    let trust = table(&[&a, &b]);
    for (server, client) in [(&a, &b), (&b, &a)] {
        let out = handshake(
            peer_server_config(server, &trust).unwrap(),
            peer_client_config(client, &trust, server.name()).unwrap(),
            dns(server.name()),
        )
        .await;
        let (client_chain, alpn) = out.server.unwrap();
        assert_eq!(alpn.as_deref(), Some(b"h2".as_slice()));
        assert_eq!(client_chain.len(), 2);
        assert_eq!(
            authorize_peer(&trust, &client_chain).unwrap(),
            client.name()
        );
        let (server_chain, alpn) = out.client.unwrap();
        assert_eq!(alpn.as_deref(), Some(b"h2".as_slice()));
        assert_eq!(
            authorize_peer(&trust, &server_chain).unwrap(),
            server.name()
        );
    }
}

#[tokio::test]
async fn a_non_member_completes_tls_but_is_not_authorized() {
    let (ta, tc) = (temp(), temp());
    let a = make(&member_dir(&ta), "a");
    let c = make(&member_dir(&tc), "c");
    let trust = table(&[&a]);
    let out = handshake(
        peer_server_config(&a, &trust).unwrap(),
        peer_client_config(&c, &table(&[&a]), "a").unwrap(),
        dns("a"),
    )
    .await;
    out.client.unwrap();
    let (chain, _) = out.server.unwrap();
    assert_eq!(
        authorize_peer(&trust, &chain),
        Err(PeerAuthError::NotAMember("c".to_owned()))
    );

    // A client without any certificate (a remote admin) is let through TLS
    // too, and refused for member calls.
    let out = handshake(
        peer_server_config(&a, &trust).unwrap(),
        raw_client(None),
        dns("a"),
    )
    .await;
    let (chain, _) = out.server.unwrap();
    assert!(chain.is_empty());
    assert_eq!(
        authorize_peer(&trust, &chain),
        Err(PeerAuthError::NoCertificate)
    );
}

#[tokio::test]
async fn an_impostor_using_a_member_name_gets_wrong_ca() {
    let (ta, tb, tc) = (temp(), temp(), temp());
    let a = make(&member_dir(&ta), "a");
    let b = make(&member_dir(&tb), "b");
    let c = make(&member_dir(&tc), "c");
    let trust = table(&[&a, &b]);
    // C's own CA issues C's key a leaf that claims to be member b.
    let c_ca_key = read_key(&c, "member-ca.key");
    let c_leaf_key = read_key(&c, "member.key");
    let sans = [San::Dns("member-b.cohort".to_owned())];
    let forged = certs::issue_leaf("c", &sans, &c_leaf_key, &c_ca_key, SystemTime::now()).unwrap();
    let forged = forged.der().clone();

    let client = raw_client(Some((
        vec![forged.clone(), c.ca_cert_der().clone()],
        &c_leaf_key,
    )));
    let out = handshake(peer_server_config(&a, &trust).unwrap(), client, dns("a")).await;
    let (chain, _) = out.server.unwrap();
    assert_eq!(
        authorize_peer(&trust, &chain),
        Err(PeerAuthError::WrongCa("b".to_owned()))
    );

    // Sending b's real CA along does not help: the chain is then not even
    // self-consistent, and TLS refuses it.
    let client = raw_client(Some((vec![forged, b.ca_cert_der().clone()], &c_leaf_key)));
    let out = handshake(peer_server_config(&a, &trust).unwrap(), client, dns("a")).await;
    assert!(out.server.is_err());
    assert!(out.client.is_err());
}

#[tokio::test]
async fn a_client_expecting_one_member_refuses_another() {
    let (ta, tb, tc) = (temp(), temp(), temp());
    let a = make(&member_dir(&ta), "a");
    let b = make(&member_dir(&tb), "b");
    let c = make(&member_dir(&tc), "c");
    let trust = table(&[&a, &b, &c]);
    // Dialing "b" but reaching a: a's leaf does not chain to b's CA.
    let out = handshake(
        peer_server_config(&a, &trust).unwrap(),
        peer_client_config(&c, &trust, "b").unwrap(),
        dns("b"),
    )
    .await;
    let err = out.client.unwrap_err();
    assert!(
        err.contains(
            "the server at member-b.cohort is not member \"b\": its certificate does not chain \
             to the CA recorded for that member"
        ),
        "{err}"
    );
    assert!(out.server.is_err());

    // A member not in the table cannot be dialed at all.
    let out = handshake(
        peer_server_config(&a, &trust).unwrap(),
        peer_client_config(&c, &trust, "zz").unwrap(),
        dns("zz"),
    )
    .await;
    let err = out.client.unwrap_err();
    assert!(err.contains("\"zz\" is not in the member table"), "{err}");
}

#[tokio::test]
async fn joining_pins_the_inviter_ca_fingerprint() {
    let (ta, tj) = (temp(), temp());
    let a = make(&member_dir(&ta), "a");
    let j = make(&member_dir(&tj), "j");
    let trust = table(&[&a]);
    let out = handshake(
        peer_server_config(&a, &trust).unwrap(),
        pinned_client_config(&j, a.ca_fingerprint()).unwrap(),
        localhost(),
    )
    .await;
    let (server_chain, _) = out.client.unwrap();
    assert_eq!(server_chain[0], *a.leaf_cert_der());
    // The joiner reached the member; it is not a member yet.
    let (chain, _) = out.server.unwrap();
    assert_eq!(
        authorize_peer(&trust, &chain),
        Err(PeerAuthError::NotAMember("j".to_owned()))
    );

    let out = handshake(
        peer_server_config(&a, &trust).unwrap(),
        pinned_client_config(&j, j.ca_fingerprint()).unwrap(),
        localhost(),
    )
    .await;
    let err = out.client.unwrap_err();
    assert!(
        err.contains(
            "fingerprint mismatch: the member at 127.0.0.1 is not the one that made this invite"
        ),
        "{err}"
    );
}

#[test]
fn authorization_follows_the_trust_table_and_refuses_malformed_chains() {
    let (ta, tb) = (temp(), temp());
    let a = make(&member_dir(&ta), "a");
    let b = make(&member_dir(&tb), "b");
    let trust = table(&[&a, &b]);
    let reader = trust.clone();
    assert_eq!(authorize_peer(&reader, &chain_of(&b)).unwrap(), "b");
    // The server refreshes the table when b is removed; clones see it.
    trust.set([("a".to_owned(), a.ca_cert_der().to_vec())]);
    assert_eq!(reader.names(), ["a"]);
    assert_eq!(
        authorize_peer(&reader, &chain_of(&b)),
        Err(PeerAuthError::NotAMember("b".to_owned()))
    );
    // b's name recorded with a's CA: the signature check catches it.
    trust.set([("b".to_owned(), a.ca_cert_der().to_vec())]);
    assert_eq!(
        authorize_peer(&trust, &chain_of(&b)),
        Err(PeerAuthError::WrongCa("b".to_owned()))
    );
    let garbage = CertificateDer::from(vec![0x30, 0x03, 1, 2, 3]);
    assert!(matches!(
        authorize_peer(&trust, &[garbage]),
        Err(PeerAuthError::Malformed(_))
    ));
    // A CA certificate carries no member name.
    let ca_only = [a.ca_cert_der().clone()];
    assert!(matches!(
        authorize_peer(&trust, &ca_only),
        Err(PeerAuthError::Malformed(_))
    ));
    assert_eq!(
        authorize_peer(&trust, &[]),
        Err(PeerAuthError::NoCertificate)
    );
    assert!(format!("{trust:?}").contains("\"b\""));
}
