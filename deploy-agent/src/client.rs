//! The HTTPS client of the node API, with member failover.
//!
//! One [`NodeClient`] holds every member URL the agent knows (`--members`
//! first, then the URLs `deploycfg` lists) and the index of the member that
//! answered last, so a healthy member keeps serving and a dead one costs
//! one connection attempt per call, not one per call per dead member
//! before it. A connection error, a timeout or a 5xx moves on to the next
//! member: those say nothing about the request. A 4xx is the collective's
//! answer and final: asking another member would get the same refusal.
//!
//! The only trust is `--ca-bundle` (the members' CAs): no system or
//! Mozilla roots, since a node being deployed must talk to its own
//! collective and nothing else. ureq is blocking, so no async runtime goes
//! into the initramfs; its rustls uses the ring provider we hand it.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use cohort_api::nodeapi::{self, ApiError};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use tracing::{debug, warn};

/// Connecting to one member gives up after this long.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// A whole request to one member gives up after this long.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Why a call failed. `Refused` is the collective's considered answer (fix
/// the request or the node's state); `AllFailed` means no member could be
/// reached or answered sanely (fix the network, `--members` or the CA
/// bundle).
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot read the CA bundle {}", path.display())]
    ReadCaBundle {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "the CA bundle {} holds no usable certificate: pass the members' PEM bundle \
         (public/site/tls/ca-bundle.pem) with --ca-bundle ({detail})",
        path.display()
    )]
    BadCaBundle { path: PathBuf, detail: String },
    #[error(
        "member URL {url:?} is not https://HOST[:PORT]: the node API is served only over HTTPS"
    )]
    BadUrl { url: String },
    #[error("no member URL given: pass --members https://HOST:PORT[,...]")]
    NoMembers,
    #[error("{url} refused {route} with HTTP {status}: {message}")]
    Refused {
        url: String,
        route: String,
        status: u16,
        message: String,
    },
    #[error("every member failed {route}: {}", list(failures))]
    AllFailed {
        route: String,
        failures: Vec<(String, String)>,
    },
}

fn list(failures: &[(String, String)]) -> String {
    failures
        .iter()
        .map(|(url, err)| format!("{url}: {err}"))
        .collect::<Vec<_>>()
        .join("; ")
}

impl ClientError {
    /// The HTTP status of a refusal, if this is one.
    pub fn refused_status(&self) -> Option<u16> {
        match self {
            ClientError::Refused { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// A request body and its content type.
#[derive(Debug, Clone, Copy)]
pub enum Body<'a> {
    Text(&'a str),
    Json(&'a str),
}

/// One attempt at one member did not give an answer.
enum Attempt {
    /// Try the next member.
    Retry(String),
    /// Final: a 3xx or 4xx with the server's message.
    Refused(u16, String),
}

/// The node API client: member URLs, which one answered last, and the
/// node's credentials once it has them.
pub struct NodeClient {
    agent: ureq::Agent,
    members: Vec<String>,
    current: usize,
    node: Option<String>,
    apikey: Option<String>,
}

impl std::fmt::Debug for NodeClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key.
        f.debug_struct("NodeClient")
            .field("members", &self.members)
            .field("current", &self.current)
            .field("node", &self.node)
            .finish_non_exhaustive()
    }
}

/// Reads a PEM bundle of CA certificates, each checked to be a usable
/// trust anchor: rustls would silently skip a broken one.
pub fn load_ca_bundle(path: &Path) -> Result<Vec<ureq::tls::Certificate<'static>>, ClientError> {
    let bad = |detail: String| ClientError::BadCaBundle {
        path: path.to_path_buf(),
        detail,
    };
    let pem = std::fs::read(path).map_err(|source| ClientError::ReadCaBundle {
        path: path.to_path_buf(),
        source,
    })?;
    let mut store = rustls::RootCertStore::empty();
    let mut certs = Vec::new();
    for item in CertificateDer::pem_slice_iter(&pem) {
        let der = item.map_err(|e| bad(format!("PEM: {e}")))?;
        store
            .add(der.clone())
            .map_err(|e| bad(format!("certificate {}: {e}", certs.len() + 1)))?;
        certs.push(ureq::tls::Certificate::from_der(der.as_ref()).to_owned());
    }
    if certs.is_empty() {
        return Err(bad("no CERTIFICATE block".to_owned()));
    }
    Ok(certs)
}

impl NodeClient {
    /// A client trusting exactly `roots`, trying `members` in order.
    pub fn new(
        members: &[String],
        roots: Vec<ureq::tls::Certificate<'static>>,
    ) -> Result<Self, ClientError> {
        let tls = ureq::tls::TlsConfig::builder()
            .provider(ureq::tls::TlsProvider::Rustls)
            .root_certs(ureq::tls::RootCerts::Specific(Arc::new(roots)))
            .unversioned_rustls_crypto_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .build();
        let agent = ureq::Agent::config_builder()
            .tls_config(tls)
            .https_only(true)
            // Members are reached directly; a proxy from the environment
            // would only add a party that sees the API key's TLS session.
            .proxy(None)
            // A redirect would carry cohort-apikey to wherever it points.
            .max_redirects(0)
            .max_redirects_will_error(false)
            .http_status_as_error(false)
            .timeout_connect(Some(CONNECT_TIMEOUT))
            .timeout_global(Some(REQUEST_TIMEOUT))
            .build()
            .new_agent();
        let mut client = NodeClient {
            agent,
            members: Vec::new(),
            current: 0,
            node: None,
            apikey: None,
        };
        for url in members {
            client.add_member(url)?;
        }
        if client.members.is_empty() {
            return Err(ClientError::NoMembers);
        }
        Ok(client)
    }

    /// Appends a member URL unless already known.
    pub fn add_member(&mut self, url: &str) -> Result<(), ClientError> {
        let url = url.trim().trim_end_matches('/');
        let host = url.strip_prefix("https://").unwrap_or_default();
        if host.is_empty() || host.contains(['/', '?', '#', ' ']) {
            return Err(ClientError::BadUrl {
                url: url.to_owned(),
            });
        }
        if !self.members.iter().any(|m| m == url) {
            self.members.push(url.to_owned());
        }
        Ok(())
    }

    pub fn members(&self) -> &[String] {
        &self.members
    }

    /// From now on, send `cohort-node` and (when given) `cohort-apikey`.
    pub fn set_credentials(&mut self, node: &str, apikey: Option<&str>) {
        self.node = Some(node.to_owned());
        self.apikey = apikey.map(str::to_owned);
    }

    pub fn get(&mut self, route: &str, extra: &[(&str, &str)]) -> Result<Vec<u8>, ClientError> {
        self.call(route, None, extra)
    }

    pub fn post(&mut self, route: &str, body: Body<'_>) -> Result<Vec<u8>, ClientError> {
        self.call(route, Some(body), &[])
    }

    /// Sends one request, starting with the member that answered last.
    fn call(
        &mut self,
        route: &str,
        body: Option<Body<'_>>,
        extra: &[(&str, &str)],
    ) -> Result<Vec<u8>, ClientError> {
        let mut failures = Vec::new();
        let count = self.members.len();
        for step in 0..count {
            let index = (self.current + step) % count;
            let url = format!("{}{}{route}", self.members[index], nodeapi::PREFIX);
            match self.attempt(&url, body, extra) {
                Ok(answer) => {
                    self.current = index;
                    return Ok(answer);
                }
                Err(Attempt::Refused(status, message)) => {
                    return Err(ClientError::Refused {
                        url: self.members[index].clone(),
                        route: route.to_owned(),
                        status,
                        message,
                    });
                }
                Err(Attempt::Retry(why)) => {
                    warn!(member = %self.members[index], route, error = %why, "member failed, trying the next");
                    failures.push((self.members[index].clone(), why));
                }
            }
        }
        Err(ClientError::AllFailed {
            route: route.to_owned(),
            failures,
        })
    }

    fn attempt(
        &self,
        url: &str,
        body: Option<Body<'_>>,
        extra: &[(&str, &str)],
    ) -> Result<Vec<u8>, Attempt> {
        debug!(url, "request");
        let mut headers: Vec<(&str, &str)> = vec![("accept", "application/json")];
        if let Some(node) = &self.node {
            headers.push((nodeapi::NODE_HEADER, node));
        }
        if let Some(key) = &self.apikey {
            headers.push((nodeapi::APIKEY_HEADER, key));
        }
        headers.extend_from_slice(extra);
        let result = match body {
            None => {
                let mut req = self.agent.get(url);
                for (k, v) in &headers {
                    req = req.header(*k, *v);
                }
                req.call()
            }
            Some(body) => {
                let (ctype, text) = match body {
                    Body::Text(t) => ("text/plain", t),
                    Body::Json(t) => ("application/json", t),
                };
                let mut req = self.agent.post(url).header("content-type", ctype);
                for (k, v) in &headers {
                    req = req.header(*k, *v);
                }
                req.send(text)
            }
        };
        let mut response = result.map_err(|e| Attempt::Retry(e.to_string()))?;
        let status = response.status().as_u16();
        let bytes = response
            .body_mut()
            .read_to_vec()
            .map_err(|e| Attempt::Retry(format!("reading the answer: {e}")))?;
        match status {
            200..=299 => Ok(bytes),
            500..=599 => Err(Attempt::Retry(format!(
                "HTTP {status}: {}",
                message(&bytes)
            ))),
            _ => Err(Attempt::Refused(status, message(&bytes))),
        }
    }
}

/// The server's `ApiError.message`, else the start of the body as text.
fn message(body: &[u8]) -> String {
    if let Ok(err) = serde_json::from_slice::<ApiError>(body) {
        return format!("{} ({})", err.message, err.code);
    }
    let text = String::from_utf8_lossy(body);
    let text: String = text.trim().chars().take(300).collect();
    if text.is_empty() {
        "(empty answer)".to_owned()
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_urls_are_checked_and_deduplicated() {
        let mut c = NodeClient::new(&["https://a:1/".to_owned()], Vec::new()).unwrap();
        c.add_member("https://a:1").unwrap();
        c.add_member("https://b").unwrap();
        assert_eq!(c.members(), ["https://a:1", "https://b"]);
        assert!(c.add_member("http://c").is_err());
        assert!(c.add_member("https://c/x").is_err());
        assert!(NodeClient::new(&[], Vec::new()).is_err());
    }

    #[test]
    fn refusal_messages_prefer_api_error() {
        assert_eq!(
            message(br#"{"code":"not_armed","message":"run cohort nodedeploy n1"}"#),
            "run cohort nodedeploy n1 (not_armed)"
        );
        assert_eq!(message(b" oops \n"), "oops");
        assert_eq!(message(b""), "(empty answer)");
    }
}
