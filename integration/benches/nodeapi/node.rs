//! One simulated node: its own key, hash and host key (drawn before the
//! clock starts), and the six calls `cohort-agent deploy` makes, each
//! answer checked as far as the agent relies on it.
//!
//! A node is one `ureq` agent built the agent's way (only the members' CA
//! bundle, the ring provider, no proxy, no redirects), so it opens one TLS
//! session of its own and keeps it for its six calls. Nodes run on a pool
//! of OS threads, one node at a time per thread: blocking clients keep the
//! bench free of a second async runtime competing with the harness's.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::ensure;
use cohort_api::nodeapi::{
    self, DeployConfig, NodeList, SshCertReply, SshCertRequest, StatusUpdate, WhoAmI,
};
use ring::rand::{SecureRandom, SystemRandom};
use sha_crypt::{PasswordHasher, ShaCrypt};
use ssh_key::PrivateKey;
use ssh_key::private::Ed25519Keypair;

use crate::report::{ms, percentile};
use crate::{PROFILE, mac_of};

/// The calls of one node, in the agent's order.
pub const STEPS: [&str; 6] = [
    "whoami",
    "registerapikey",
    "deploycfg",
    "sshcert",
    "nodelist",
    "updatestatus",
];
/// One request gives up after this long (the agent uses 30 s).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// One simulated node's own material, drawn and hashed before the clock.
pub struct Prepared {
    name: String,
    mac: String,
    key: String,
    hash: String,
    pubkey: String,
}

pub fn prepare(n: usize) -> anyhow::Result<Vec<Prepared>> {
    let rng = SystemRandom::new();
    let (mut hashing, mut keygen) = (Vec::with_capacity(n), Vec::with_capacity(n));
    let mut nodes = Vec::with_capacity(n);
    for i in 1..=n {
        let mut bytes = [0u8; 32];
        let mut salt = [0u8; 12];
        let mut seed = [0u8; 32];
        for buf in [&mut bytes[..], &mut salt[..], &mut seed[..]] {
            rng.fill(buf)
                .map_err(|_| anyhow::anyhow!("the RNG failed"))?;
        }
        let key: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let t = Instant::now();
        let hash = ShaCrypt::SHA512
            .hash_password_with_salt(key.as_bytes(), &salt)
            .map_err(|e| anyhow::anyhow!("cannot crypt the key: {e}"))?
            .to_string();
        hashing.push(t.elapsed());
        let t = Instant::now();
        let mut private = PrivateKey::from(Ed25519Keypair::from_seed(&seed));
        private.set_comment(format!("root@n{i}"));
        let pubkey = private.public_key().to_openssh()?;
        keygen.push(t.elapsed());
        nodes.push(Prepared {
            name: format!("n{i}"),
            mac: mac_of(i),
            key,
            hash,
            pubkey,
        });
    }
    let total: Duration = hashing.iter().sum();
    println!(
        "  $6$ API key hash (5000 rounds): {:.2} s for {n} nodes, p50 {:.2} ms per node (one CPU)",
        total.as_secs_f64(),
        ms(percentile(&mut hashing, 50))
    );
    let total: Duration = keygen.iter().sum();
    println!(
        "  ed25519 host key: {:.3} s for {n} nodes, p50 {:.3} ms per node",
        total.as_secs_f64(),
        ms(percentile(&mut keygen, 50))
    );
    Ok(nodes)
}

/// What one node's flow came to: the time of each step, or the node, the
/// step that failed and why.
pub type Outcome = Result<[Duration; 6], (String, &'static str, String)>;

/// Runs every node's flow on `concurrency` threads, each taking the next
/// node when its previous one is done.
pub fn drive(
    nodes: &[Prepared],
    urls: &[String],
    tls: &ureq::tls::TlsConfig,
    concurrency: usize,
) -> Vec<Outcome> {
    let next = AtomicUsize::new(0);
    std::thread::scope(|s| {
        let workers: Vec<_> = (0..concurrency)
            .map(|_| {
                s.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(node) = nodes.get(i) else { break };
                        // Node n(i+1) talks to member (i+1) mod 3.
                        let url = &urls[(i + 1) % urls.len()];
                        done.push(
                            flow(node, url, tls)
                                .map_err(|(step, why)| (node.name.clone(), STEPS[step], why)),
                        );
                    }
                    done
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| {
                w.join().unwrap_or_else(|_| {
                    vec![Err(("?".into(), "-", "a worker thread panicked".into()))]
                })
            })
            .collect()
    })
}

/// A step that failed (its index in [`STEPS`]) and why.
type Failure = (usize, String);

/// The agent's six calls for one node, each answer checked as the agent
/// relies on it.
fn flow(node: &Prepared, base: &str, tls: &ureq::tls::TlsConfig) -> Result<[Duration; 6], Failure> {
    let mut s = Session {
        agent: new_agent(tls),
        base,
        times: [Duration::ZERO; 6],
    };
    let ids = nodeapi::format_ids(std::slice::from_ref(&node.mac), None);
    let who: WhoAmI = s.json(0, Method::Get, &[(nodeapi::IDS_HEADER, &ids)])?;
    expect(0, who.node == node.name, || {
        format!("answered {:?}", who.node)
    })?;
    let named = [(nodeapi::NODE_HEADER, node.name.as_str())];
    s.call(1, Method::Post("text/plain", &node.hash), &named)?;
    let auth = [named[0], (nodeapi::APIKEY_HEADER, node.key.as_str())];
    let cfg: DeployConfig = s.json(2, Method::Get, &auth)?;
    expect(
        2,
        cfg.hostname == node.name && cfg.profile.as_deref() == Some(PROFILE),
        || format!("hostname {:?}, profile {:?}", cfg.hostname, cfg.profile),
    )?;
    let req = SshCertRequest {
        pubkey: node.pubkey.clone(),
    };
    let req = serde_json::to_string(&req).map_err(|e| (3, e.to_string()))?;
    let cert: SshCertReply = s.json(3, Method::Post("application/json", &req), &auth)?;
    expect(
        3,
        cert.certificate
            .starts_with("ssh-ed25519-cert-v01@openssh.com "),
        || format!("certificate {:?}", cert.certificate),
    )?;
    let list: NodeList = s.json(4, Method::Get, &auth)?;
    expect(4, list.nodes.contains(&node.name), || {
        format!("{} names, {} not among them", list.nodes.len(), node.name)
    })?;
    let status = StatusUpdate {
        status: Some(nodeapi::DeployStatus::Completed),
        ..StatusUpdate::default()
    };
    let status = serde_json::to_string(&status).map_err(|e| (5, e.to_string()))?;
    s.call(5, Method::Post("application/json", &status), &auth)?;
    Ok(s.times)
}

fn expect(step: usize, ok: bool, why: impl FnOnce() -> String) -> Result<(), Failure> {
    if ok { Ok(()) } else { Err((step, why())) }
}

enum Method<'a> {
    Get,
    /// Content type and body.
    Post(&'a str, &'a str),
}

/// One node's TLS session to its member, and how long each call took.
struct Session<'a> {
    agent: ureq::Agent,
    base: &'a str,
    times: [Duration; 6],
}

impl Session<'_> {
    /// Step `step`'s request; the body of a 2xx answer, else the status
    /// and body as the failure.
    fn call(
        &mut self,
        step: usize,
        method: Method<'_>,
        headers: &[(&str, &str)],
    ) -> Result<String, Failure> {
        let url = format!("{}{}", self.base, STEPS[step]);
        let started = Instant::now();
        let answer = match method {
            Method::Get => {
                let mut req = self.agent.get(&url).header("accept", "application/json");
                for (k, v) in headers {
                    req = req.header(*k, *v);
                }
                req.call()
            }
            Method::Post(ctype, body) => {
                let mut req = self
                    .agent
                    .post(&url)
                    .header("accept", "application/json")
                    .header("content-type", ctype);
                for (k, v) in headers {
                    req = req.header(*k, *v);
                }
                req.send(body)
            }
        };
        let result = answer.map_err(|e| e.to_string()).and_then(|mut r| {
            let status = r.status().as_u16();
            let text = r.body_mut().read_to_string().map_err(|e| e.to_string())?;
            if (200..300).contains(&status) {
                Ok(text)
            } else {
                // Refusal bodies are pretty-printed: one line per failure.
                let text: Vec<&str> = text.split_whitespace().collect();
                Err(format!("HTTP {status}: {}", text.join(" ")))
            }
        });
        self.times[step] = started.elapsed();
        result.map_err(|e| (step, e))
    }

    fn json<T: serde::de::DeserializeOwned>(
        &mut self,
        step: usize,
        method: Method<'_>,
        headers: &[(&str, &str)],
    ) -> Result<T, Failure> {
        let text = self.call(step, method, headers)?;
        serde_json::from_str(&text).map_err(|e| (step, format!("cannot decode {text:?}: {e}")))
    }
}

/// The agent's TLS setup: trust only the members' CA bundle, ring.
pub fn tls_config(bundle_pem: &[u8]) -> anyhow::Result<ureq::tls::TlsConfig> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let mut roots = Vec::new();
    for der in CertificateDer::pem_slice_iter(bundle_pem) {
        roots.push(ureq::tls::Certificate::from_der(der?.as_ref()).to_owned());
    }
    ensure!(!roots.is_empty(), "the CA bundle holds no certificate");
    Ok(ureq::tls::TlsConfig::builder()
        .provider(ureq::tls::TlsProvider::Rustls)
        .root_certs(ureq::tls::RootCerts::Specific(Arc::new(roots)))
        .unversioned_rustls_crypto_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .build())
}

/// A fresh client per node: its own connection pool, so its own TLS
/// session, kept across its six calls.
fn new_agent(tls: &ureq::tls::TlsConfig) -> ureq::Agent {
    ureq::Agent::config_builder()
        .tls_config(tls.clone())
        .https_only(true)
        .proxy(None)
        .max_redirects(0)
        .http_status_as_error(false)
        .timeout_global(Some(REQUEST_TIMEOUT))
        .build()
        .new_agent()
}
