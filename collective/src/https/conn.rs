//! Connections: accept, TLS under a deadline, then hyper with limits.
//!
//! The accept loop only accepts: each handshake runs in its own task with
//! a deadline, so a client that connects and says nothing costs one task
//! for a few seconds, never the loop. A semaphore caps open connections;
//! when it is exhausted the loop stops accepting and the kernel's backlog
//! queues newcomers, which bounds memory (each connection holds at most
//! a couple of file chunks and rustls' buffers). Headers are capped in
//! size and count, and an idle HTTP/1.1 connection is closed after
//! [`Limits::idle`] (hyper's header-read timer runs from the moment the
//! connection waits for the next request).

use std::convert::Infallible;
use std::future::Future;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::time::Duration;

use hyper::body::{Body as _, Incoming};
use hyper::server::conn::{http1, http2};
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio_rustls::TlsAcceptor;
use tracing::{debug, info, warn};

use super::body::Body;
use super::{Client, Service};

/// Bounds on what one client can make the server hold.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Longest a TLS handshake may take.
    pub handshake: Duration,
    /// Longest an HTTP/1.1 connection may wait for (the whole head of) its
    /// next request.
    pub idle: Duration,
    /// Open connections at most.
    pub max_connections: usize,
    /// Bytes of request line plus headers at most (431 beyond).
    pub max_header_bytes: usize,
    /// Header fields per request at most.
    pub max_headers: usize,
    /// Concurrent HTTP/2 streams per connection.
    pub max_streams: u32,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            handshake: Duration::from_secs(5),
            idle: Duration::from_secs(30),
            // Each HTTP/1.1 connection holds at most two file chunks (512
            // KiB at the default size) and rustls' 64 KiB of records, so
            // this caps file buffers near 1 GiB; an HTTP/2 connection holds that
            // per stream, hence the low stream limit.
            max_connections: 2048,
            max_header_bytes: 16 * 1024,
            max_headers: 64,
            max_streams: 16,
        }
    }
}

/// Serves HTTPS on `listener` until `stop` turns true; plain HTTP/1.1
/// when `tls` is `None` (the optional listener for firmware without TLS).
pub async fn serve(
    listener: TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    service: Arc<Service>,
    limits: Limits,
    mut stop: watch::Receiver<bool>,
) {
    if let Ok(addr) = listener.local_addr() {
        let scheme = if tls.is_some() { "HTTPS" } else { "plain HTTP" };
        info!(%addr, "serving {scheme}");
    }
    let acceptor = tls.map(TlsAcceptor::from);
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let limits = Arc::new(limits);
    loop {
        let permit = tokio::select! {
            p = slots.clone().acquire_owned() => p,
            _ = stop.wait_for(|s| *s) => return,
        };
        let Ok(permit) = permit else { return };
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = stop.wait_for(|s| *s) => return,
        };
        let (tcp, peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                // EMFILE and friends: back off instead of spinning.
                warn!(error = %e, "cannot accept an HTTPS connection");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let (acceptor, service, limits, stop) = (
            acceptor.clone(),
            service.clone(),
            limits.clone(),
            stop.clone(),
        );
        tokio::spawn(async move {
            let _permit = permit;
            let ended = match acceptor {
                Some(acceptor) => {
                    let Some(tls) = handshake(&acceptor, tcp, &limits).await else {
                        debug!(%peer, "HTTPS handshake failed or timed out");
                        return;
                    };
                    let h2 = tls.get_ref().1.alpn_protocol() == Some(b"h2");
                    connection(tls, h2, service, &limits, stop, peer).await
                }
                None => {
                    let _ = tcp.set_nodelay(true);
                    connection(tcp, false, service, &limits, stop, peer).await
                }
            };
            if let Err(e) = ended {
                debug!(%peer, error = %e, "HTTP connection ended with an error");
            }
        });
    }
}

type TlsStream = tokio_rustls::server::TlsStream<TcpStream>;

async fn handshake(acceptor: &TlsAcceptor, tcp: TcpStream, limits: &Limits) -> Option<TlsStream> {
    let _ = tcp.set_nodelay(true);
    match tokio::time::timeout(limits.handshake, acceptor.accept(tcp)).await {
        Ok(Ok(tls)) => Some(tls),
        _ => None,
    }
}

/// One connection, HTTP/2 if ALPN chose it (`h2`), else HTTP/1.1 with
/// keep-alive.
async fn connection<S>(
    stream: S,
    h2: bool,
    service: Arc<Service>,
    limits: &Limits,
    stop: watch::Receiver<bool>,
    peer: std::net::SocketAddr,
) -> hyper::Result<()>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let io = TokioIo::new(stream);
    let idle = limits.idle;
    let handler = service_fn(move |req: Request<Incoming>| {
        let service = service.clone();
        async move {
            let (parts, mut body) = req.into_parts();
            let body = read_small(&mut body, idle).await;
            let mut req = Request::from_parts(parts, ());
            req.extensions_mut().insert(Client { addr: peer, body });
            Ok::<Response<Body>, Infallible>(service.handle(req).await)
        }
    });
    if h2 {
        let mut builder = http2::Builder::new(TokioExecutor::new());
        builder
            .timer(TokioTimer::new())
            .max_concurrent_streams(limits.max_streams)
            .max_header_list_size(u32::try_from(limits.max_header_bytes).unwrap_or(u32::MAX))
            // Pings find peers that vanished; HTTP/2 has no idle timer.
            .keep_alive_interval(limits.idle)
            .keep_alive_timeout(limits.handshake);
        let conn = pin!(builder.serve_connection(io, handler));
        until_stopped(conn, |c| c.graceful_shutdown(), stop).await
    } else {
        let mut builder = http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .keep_alive(true)
            .header_read_timeout(limits.idle)
            .max_header_size(limits.max_header_bytes)
            .max_headers(limits.max_headers)
            // Body chunks go to rustls as they are (it takes IoSlices), not
            // copied into hyper's buffer first.
            .writev(true);
        let conn = pin!(builder.serve_connection(io, handler));
        until_stopped(conn, |c| c.graceful_shutdown(), stop).await
    }
}

/// Reads a request body of at most [`BODY_LIMIT`] bytes, for the routes
/// that take one (the node API's POSTs). Reading it before answering also
/// matters for refusals: a 405 sent before a small body is read makes
/// HTTP/2 reset the stream, which some clients report as an error instead
/// of the answer, and makes HTTP/1.1 close the connection. A larger body
/// is left alone (`None`; the connection pays) and so is one that does not
/// arrive within `within`.
async fn read_small(body: &mut Incoming, within: Duration) -> Option<Vec<u8>> {
    if body.is_end_stream() {
        return Some(Vec::new());
    }
    // A declared length over the limit is not read at all; a chunked body
    // (no bound declared) is read until it passes the limit.
    if body.size_hint().lower() > BODY_LIMIT {
        return None;
    }
    let read_all = async {
        let mut bytes = Vec::new();
        while let Some(frame) = std::future::poll_fn(|cx| Pin::new(&mut *body).poll_frame(cx)).await
        {
            let Ok(frame) = frame else { return None };
            if let Ok(data) = frame.into_data() {
                if (bytes.len() + data.len()) as u64 > BODY_LIMIT {
                    return None;
                }
                bytes.extend_from_slice(&data);
            }
        }
        Some(bytes)
    };
    tokio::time::timeout(within, read_all).await.ok().flatten()
}

/// Bytes of a request body read before answering.
const BODY_LIMIT: u64 = 64 * 1024;

/// Drives `conn`; when `stop` turns true, asks it to finish the requests
/// in flight and close.
async fn until_stopped<C>(
    mut conn: Pin<&mut C>,
    shutdown: impl FnOnce(Pin<&mut C>),
    mut stop: watch::Receiver<bool>,
) -> hyper::Result<()>
where
    C: Future<Output = hyper::Result<()>>,
{
    tokio::select! {
        r = conn.as_mut() => return r,
        // A dropped sender (Err) disables this arm rather than stopping.
        Ok(_) = stop.wait_for(|s| *s) => {}
    }
    shutdown(conn.as_mut());
    conn.await
}
