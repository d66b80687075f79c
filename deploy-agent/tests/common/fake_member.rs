//! A tiny fake member serving `/api/self/` over TLS, recording requests.
//!
//! Plain `std::net::TcpListener` + rustls, one thread per connection and
//! one request per connection (`connection: close`), which is all the
//! agent needs. Several fake members share one [`State`], like members of
//! one collective share the replicated state. Auth follows 0006: the
//! registered crypt hash is checked with sha-crypt on every keyed route.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use cohort_api::nodeapi::{ApiError, DeployConfig, SshCertReply, SshCertRequest, StatusUpdate};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use sha_crypt::{PasswordVerifier, ShaCrypt};
use ssh_key::certificate::{Builder, CertType};
use ssh_key::{PrivateKey, PublicKey};

/// One request as the member saw it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub member: String,
    pub method: String,
    /// The path after `/api/self/`.
    pub route: String,
    /// Lower-case names.
    pub headers: HashMap<String, String>,
    pub body: String,
}

/// The collective's state, shared by the fake members.
pub struct State {
    pub requests: Vec<Recorded>,
    /// `deployment.apiarmed`: registerapikey is refused unless set.
    pub armed: bool,
    /// `crypted.selfapikey`.
    pub hash: Option<String>,
    pub config: DeployConfig,
    pub ssh_ca: PrivateKey,
    /// Certificates handed out, in order.
    pub certs: Vec<String>,
    pub statuses: Vec<StatusUpdate>,
}

/// CA bundle (two CAs, as a two-member collective has) and the leaf the
/// fake members serve, issued by the second CA for 127.0.0.1.
pub struct Pki {
    pub bundle_pem: String,
    leaf: CertificateDer<'static>,
    key: Vec<u8>,
}

impl Pki {
    pub fn new() -> Self {
        let ca = |name: &str| {
            let key = KeyPair::generate().unwrap();
            let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
            params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            params.distinguished_name.push(DnType::CommonName, name);
            params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
            let cert = params.self_signed(&key).unwrap();
            (cert, Issuer::new(params, key))
        };
        let (ca1, _) = ca("fake member m0 CA");
        let (ca2, issuer) = ca("fake member m1 CA");
        let leaf_key = KeyPair::generate().unwrap();
        let leaf = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
            .unwrap()
            .signed_by(&leaf_key, &issuer)
            .unwrap();
        Pki {
            bundle_pem: format!("{}{}", ca1.pem(), ca2.pem()),
            leaf: leaf.der().clone(),
            key: leaf_key.serialize_der(),
        }
    }

    fn server_config(&self) -> Arc<rustls::ServerConfig> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key.clone()));
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![self.leaf.clone()], key)
            .unwrap();
        Arc::new(config)
    }
}

/// How one fake member misbehaves.
#[derive(Debug, Clone, Copy, Default)]
pub struct Faults {
    /// Answer 503 to everything once deploycfg has been served once (by
    /// any member): a member that went down mid-deploy.
    pub fail_after_deploycfg: bool,
}

/// A running fake member.
pub struct FakeMember {
    pub url: String,
}

impl FakeMember {
    pub fn start(name: &str, pki: &Pki, state: Arc<Mutex<State>>, faults: Faults) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!(
            "https://127.0.0.1:{}",
            listener.local_addr().unwrap().port()
        );
        let config = pki.server_config();
        let name = name.to_owned();
        // The accept loop lives as long as the test process.
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (config, state, name) = (config.clone(), state.clone(), name.clone());
                std::thread::spawn(move || serve(stream, config, &state, &name, faults));
            }
        });
        FakeMember { url }
    }
}

/// A URL where nothing listens: a port bound and released.
pub fn dead_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    format!(
        "https://127.0.0.1:{}",
        listener.local_addr().unwrap().port()
    )
}

fn serve(
    tcp: TcpStream,
    config: Arc<rustls::ServerConfig>,
    state: &Mutex<State>,
    name: &str,
    faults: Faults,
) {
    tcp.set_read_timeout(Some(Duration::from_secs(10))).ok();
    let conn = rustls::ServerConnection::new(config).unwrap();
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    let Some(mut req) = read_request(&mut tls) else {
        return;
    };
    req.member = name.to_owned();
    let (status, body) = {
        let mut state = state.lock().unwrap();
        state.requests.push(req.clone());
        let served_cfg = state
            .requests
            .iter()
            .filter(|r| r.route == "deploycfg")
            .count();
        if faults.fail_after_deploycfg && served_cfg > 0 && req.route != "deploycfg" {
            (503, error("unavailable", "member shutting down"))
        } else {
            handle(&mut state, &req)
        }
    };
    let head = format!(
        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    let _ = tls.write_all(head.as_bytes());
    let _ = tls.write_all(body.as_bytes());
    tls.conn.send_close_notify();
    let _ = tls.flush();
}

fn read_request(stream: &mut impl Read) -> Option<Recorded> {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_owned();
    let route = parts.next()?.strip_prefix("/api/self/")?.to_owned();
    let mut headers = HashMap::new();
    loop {
        let mut h = String::new();
        reader.read_line(&mut h).ok()?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let (k, v) = h.split_once(':')?;
        headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
    }
    let len: usize = headers
        .get("content-length")
        .and_then(|l| l.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    reader.read_exact(&mut body).ok()?;
    Some(Recorded {
        member: String::new(),
        method,
        route,
        headers,
        body: String::from_utf8(body).ok()?,
    })
}

fn error(code: &str, message: &str) -> String {
    serde_json::to_string(&ApiError {
        code: code.to_owned(),
        message: message.to_owned(),
    })
    .unwrap()
}

fn handle(state: &mut State, req: &Recorded) -> (u16, String) {
    let node = req.headers.get("cohort-node").cloned().unwrap_or_default();
    match (req.method.as_str(), req.route.as_str()) {
        ("GET", "whoami") => {
            let ids = req.headers.get("cohort-ids").cloned().unwrap_or_default();
            if ids.split('/').any(|i| i == "mac=aa:bb:cc:dd:ee:01") {
                (200, r#"{"node":"n1"}"#.to_owned())
            } else {
                (404, error("unknown_node", "no node has these ids"))
            }
        }
        ("POST", "registerapikey") => {
            if node != "n1" || !state.armed {
                return (
                    403,
                    error(
                        "not_armed",
                        "n1 may not register an API key: run `cohort nodedeploy n1 -n PROFILE`",
                    ),
                );
            }
            state.armed = false;
            state.hash = Some(req.body.clone());
            (200, String::new())
        }
        (method, route) => {
            let key = req
                .headers
                .get("cohort-apikey")
                .cloned()
                .unwrap_or_default();
            let ok = state
                .hash
                .as_deref()
                .is_some_and(|h| ShaCrypt::SHA512.verify_password(key.as_bytes(), h).is_ok());
            if node != "n1" || !ok {
                return (401, error("bad_key", "missing or wrong API key"));
            }
            keyed(state, method, route, &req.body)
        }
    }
}

fn keyed(state: &mut State, method: &str, route: &str, body: &str) -> (u16, String) {
    match (method, route) {
        ("GET", "deploycfg") => (200, serde_json::to_string(&state.config).unwrap()),
        ("GET", "nodelist") => (200, r#"{"nodes":["n1","n2","n2.example.com"]}"#.to_owned()),
        ("POST", "sshcert") => {
            let Ok(req) = serde_json::from_str::<SshCertRequest>(body) else {
                return (400, error("bad_request", "not an SshCertRequest"));
            };
            let Ok(pubkey) = PublicKey::from_openssh(&req.pubkey) else {
                return (400, error("bad_key", "not an OpenSSH public key"));
            };
            let mut b = Builder::new_with_validity_times(
                [7u8; 16],
                pubkey,
                SystemTime::now() - Duration::from_secs(60),
                SystemTime::now() + Duration::from_secs(86_400),
            )
            .unwrap();
            b.cert_type(CertType::Host).unwrap();
            b.key_id("n1").unwrap();
            b.valid_principal("n1").unwrap();
            let cert = b.sign(&state.ssh_ca).unwrap().to_openssh().unwrap();
            state.certs.push(cert.clone());
            let reply = SshCertReply {
                certificate: cert,
                member: "m1".to_owned(),
                principals: vec!["n1".to_owned()],
            };
            (200, serde_json::to_string(&reply).unwrap())
        }
        ("POST", "updatestatus") => {
            let Ok(update) = serde_json::from_str::<StatusUpdate>(body) else {
                return (400, error("bad_request", "not a StatusUpdate"));
            };
            state.statuses.push(update);
            (200, String::new())
        }
        _ => (404, error("no_route", "no such route")),
    }
}
