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

/// Receive windows of a bulk dialer's connections: room for the 1 MiB
/// chunks of sixteen fetches, two chunks each.
const BULK_STREAM_WINDOW: u32 = 4 << 20;
const BULK_CONNECTION_WINDOW: u32 = 32 << 20;
/// Largest HTTP/2 frame the peer may send on a bulk connection: a 1 MiB
/// chunk in one frame instead of 64 of the 16 KiB default, each parsed
/// and accounted for on both sides.
const BULK_MAX_FRAME: u32 = 1 << 20;

/// Connections per peer of a bulk dialer.
const BULK_LANES: usize = 2;

/// Shared, cloneable connection cache.
#[derive(Clone)]
pub struct Dialer {
    inner: Arc<Inner>,
}

struct Inner {
    /// Flow-control windows for bulk transfers (tree blobs), or hyper's
    /// defaults for everything else.
    bulk: bool,
    /// Next lane of a bulk dialer (round robin).
    lane: std::sync::atomic::AtomicUsize,
    identity: Arc<MemberIdentity>,
    trust: TrustTable,
    channels: Mutex<HashMap<(String, String, usize), Channel>>,
    contacts: Mutex<HashMap<String, Instant>>,
}

impl Dialer {
    pub fn new(identity: Arc<MemberIdentity>, trust: TrustTable) -> Self {
        Dialer::with(identity, trust, false)
    }

    /// A dialer for bulk data (the tree's blobs): its connections let the
    /// sender run further ahead of the receiver. With hyper's defaults
    /// (2 MiB per stream, 5 MiB per connection) sixteen fetches of 1 MiB
    /// chunks shared a window smaller than what they had in flight, and
    /// the sender waited on window updates.
    pub fn bulk(identity: Arc<MemberIdentity>, trust: TrustTable) -> Self {
        Dialer::with(identity, trust, true)
    }

    fn with(identity: Arc<MemberIdentity>, trust: TrustTable, bulk: bool) -> Self {
        Dialer {
            inner: Arc::new(Inner {
                bulk,
                lane: std::sync::atomic::AtomicUsize::new(0),
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
        // A bulk dialer spreads its calls over BULK_LANES connections: one
        // HTTP/2 connection is one task on each side, so its TLS work runs
        // on one core at a time.
        let lane = if self.inner.bulk {
            self.inner
                .lane
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
                % BULK_LANES
        } else {
            0
        };
        let key = (name.to_owned(), addr.to_owned(), lane);
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
        let channel = tls_channel(addr, config, server_name, self.inner.bulk)?;
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
        channels.retain(|(n, _, _), _| n != name);
    }
}

/// A lazily connecting channel that speaks TLS with `config` to `addr`.
pub fn tls_channel(
    addr: &str,
    config: Arc<rustls::ClientConfig>,
    server_name: ServerName<'static>,
    bulk: bool,
) -> Result<Channel, String> {
    let mut endpoint = Endpoint::from_shared(format!("http://{addr}"))
        .map_err(|e| format!("bad peer address {addr:?}: {e}"))?
        .connect_timeout(CONNECT_TIMEOUT)
        .tcp_nodelay(true)
        .http2_keep_alive_interval(Duration::from_secs(10))
        .keep_alive_timeout(Duration::from_secs(5));
    if bulk {
        endpoint = endpoint
            .initial_stream_window_size(BULK_STREAM_WINDOW)
            .initial_connection_window_size(BULK_CONNECTION_WINDOW)
            .max_frame_size(BULK_MAX_FRAME);
    }
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
