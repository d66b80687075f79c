//! Outgoing connections to other members: one lazily connected gRPC channel
//! per peer, over TLS that proves the peer is the member it should be.
//!
//! The TLS client config checks the server's certificate against the member
//! CA recorded for the member we meant to reach (and its `member-<name>.cohort`
//! name), so a stale or wrong address can never deliver Raft traffic to the
//! wrong member (openraft pitfall: a misdirected node can split the
//! collective). Channels are shared by openraft's replication streams, the
//! write forwarder and status probes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tonic::transport::{Channel, Endpoint};

use crate::identity::{self, MemberIdentity, TrustTable};

/// Time allowed for TCP + TLS to a peer before it counts as unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_millis(1000);

/// Shared, cloneable connection cache.
#[derive(Clone)]
pub struct Dialer {
    inner: Arc<Inner>,
}

struct Inner {
    identity: Arc<MemberIdentity>,
    trust: TrustTable,
    channels: Mutex<HashMap<(String, String), Channel>>,
    contacts: Mutex<HashMap<String, Instant>>,
}

impl Dialer {
    pub fn new(identity: Arc<MemberIdentity>, trust: TrustTable) -> Self {
        Dialer {
            inner: Arc::new(Inner {
                identity,
                trust,
                channels: Mutex::new(HashMap::new()),
                contacts: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// A channel to member `name` at `addr` (`host:port`), connecting on
    /// first use and reconnecting after failures by itself.
    pub fn channel(&self, name: &str, addr: &str) -> Result<Channel, String> {
        let key = (name.to_owned(), addr.to_owned());
        let mut channels = self
            .inner
            .channels
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(c) = channels.get(&key) {
            return Ok(c.clone());
        }
        let config = identity::peer_client_config(&self.inner.identity, &self.inner.trust, name)
            .map_err(|e| e.to_string())?;
        let server_name = ServerName::try_from(format!("member-{name}.cohort"))
            .map_err(|e| format!("member name {name:?} is not usable as a TLS name: {e}"))?;
        let channel = tls_channel(addr, config, server_name)?;
        channels.insert(key, channel.clone());
        Ok(channel)
    }

    /// Notes a successful exchange with a member (for `collective show`).
    pub fn record_contact(&self, name: &str) {
        let mut contacts = self
            .inner
            .contacts
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        contacts.insert(name.to_owned(), Instant::now());
    }

    /// Time since the last successful exchange with a member.
    pub fn last_contact(&self, name: &str) -> Option<Duration> {
        let contacts = self
            .inner
            .contacts
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        contacts.get(name).map(Instant::elapsed)
    }

    /// Drops cached channels to a member (it was removed or moved).
    pub fn forget(&self, name: &str) {
        let mut channels = self
            .inner
            .channels
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        channels.retain(|(n, _), _| n != name);
    }
}

/// A lazily connecting channel that speaks TLS with `config` to `addr`.
pub fn tls_channel(
    addr: &str,
    config: Arc<rustls::ClientConfig>,
    server_name: ServerName<'static>,
) -> Result<Channel, String> {
    let endpoint = Endpoint::from_shared(format!("http://{addr}"))
        .map_err(|e| format!("bad peer address {addr:?}: {e}"))?
        .connect_timeout(CONNECT_TIMEOUT)
        .tcp_nodelay(true)
        .http2_keep_alive_interval(Duration::from_secs(10))
        .keep_alive_timeout(Duration::from_secs(5));
    let addr = addr.to_owned();
    let connector = tower::service_fn(move |_: tonic::codegen::http::Uri| {
        let (addr, config, server_name) = (addr.clone(), config.clone(), server_name.clone());
        async move {
            let tcp = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(&addr))
                .await
                .map_err(|_| {
                    std::io::Error::new(std::io::ErrorKind::TimedOut, "connect timed out")
                })??;
            tcp.set_nodelay(true)?;
            let tls = TlsConnector::from(config).connect(server_name, tcp).await?;
            Ok::<_, std::io::Error>(TokioIo::new(tls))
        }
    });
    Ok(endpoint.connect_with_connector_lazy(connector))
}
