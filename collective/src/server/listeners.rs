//! The member's listeners: peer gRPC over mutual TLS, the admin API on the
//! local unix socket, and the HTTPS listener for nodes.
//!
//! Servers take an already-bound listener and a stop signal, so tests can
//! bind port 0 and every listener closes in order at shutdown. TLS
//! handshakes run in their own tasks with a deadline: a client that opens a
//! connection and says nothing cannot stall the accept loop.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use cohort_proto::admin_server::AdminServer;
use cohort_proto::peer_server::PeerServer;
use tokio::net::{TcpListener, UnixListener};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tokio_stream::wrappers::ReceiverStream;
use tracing::{debug, warn};

use super::admin_service::AdminService;
use super::member::Member;
use super::peer_service::PeerService;
use super::wire::MAX_MESSAGE;
use crate::{https, identity};

/// Longest a TLS handshake may take.
const HANDSHAKE: Duration = Duration::from_secs(5);

/// Starts every listener; each task ends when `stop` turns true.
pub async fn start(
    member: Arc<Member>,
    peer_listener: TcpListener,
    stop: watch::Receiver<bool>,
) -> anyhow::Result<Vec<JoinHandle<()>>> {
    let mut tasks = Vec::new();
    tasks.push(peer_grpc(member.clone(), peer_listener, stop.clone())?);
    tasks.push(admin_socket(member.clone(), stop.clone())?);
    let https_listener = TcpListener::bind(member.config.https_listen)
        .await
        .with_context(|| format!("cannot listen on {} for HTTPS", member.config.https_listen))?;
    if let Some(addr) = member.config.http_listen {
        let plain = TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot listen on {addr} for plain HTTP (--http-listen)"))?;
        tasks.push(serve_plain_http(member.clone(), plain, stop.clone()));
    }
    tasks.push(serve_https(member, https_listener, stop)?);
    Ok(tasks)
}

async fn stopped(mut stop: watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

/// Peer gRPC: TLS accepted here, then handed to tonic.
fn peer_grpc(
    member: Arc<Member>,
    listener: TcpListener,
    stop: watch::Receiver<bool>,
) -> anyhow::Result<JoinHandle<()>> {
    let acceptor = TlsAcceptor::from(identity::peer_server_config(
        &member.identity,
        &member.trust,
    )?);
    let (tx, rx) = mpsc::channel(64);
    tokio::spawn(accept_tls(listener, acceptor, tx, stop.clone()));
    let service = PeerServer::new(PeerService::new(member.clone()))
        .max_decoding_message_size(MAX_MESSAGE)
        .max_encoding_message_size(MAX_MESSAGE);
    // Remote admins share the TLS port; every call carries a user token.
    let admin =
        AdminServer::new(AdminService::remote(member)).max_encoding_message_size(MAX_MESSAGE);
    Ok(tokio::spawn(async move {
        let server = tonic::transport::Server::builder()
            .add_service(service)
            .add_service(admin)
            .serve_with_incoming_shutdown(ReceiverStream::new(rx), stopped(stop));
        if let Err(e) = server.await {
            warn!(error = %e, "peer gRPC server stopped");
        }
    }))
}

type TlsStream = tokio_rustls::server::TlsStream<tokio::net::TcpStream>;

async fn accept_tls(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    tx: mpsc::Sender<Result<TlsStream, std::io::Error>>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = stop.wait_for(|s| *s) => return,
        };
        let Ok((tcp, peer)) = accepted else { continue };
        let _ = tcp.set_nodelay(true);
        let (acceptor, tx) = (acceptor.clone(), tx.clone());
        tokio::spawn(async move {
            match tokio::time::timeout(HANDSHAKE, acceptor.accept(tcp)).await {
                Ok(Ok(tls)) => {
                    let _ = tx.send(Ok(tls)).await;
                }
                Ok(Err(e)) => debug!(%peer, error = %e, "peer TLS handshake failed"),
                Err(_) => debug!(%peer, "peer TLS handshake timed out"),
            }
        });
    }
}

/// The admin API on `<data>/cohort.sock`, for root and this daemon's user.
fn admin_socket(
    member: Arc<Member>,
    stop: watch::Receiver<bool>,
) -> anyhow::Result<JoinHandle<()>> {
    let path = member.config.socket_path();
    // A socket file left by a killed member would make bind fail.
    let _ = std::fs::remove_file(&path);
    let listener = UnixListener::bind(&path)
        .with_context(|| format!("cannot create admin socket {}", path.display()))?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    let own_uid = std::fs::metadata("/proc/self")
        .map(|m| m.uid())
        .unwrap_or(0);
    let (tx, rx) = mpsc::channel(64);
    let mut accept_stop = stop.clone();
    tokio::spawn(async move {
        loop {
            let accepted = tokio::select! {
                a = listener.accept() => a,
                _ = accept_stop.wait_for(|s| *s) => return,
            };
            let Ok((stream, _)) = accepted else { continue };
            // SO_PEERCRED: who is on the other end, as the kernel says.
            match stream.peer_cred() {
                Ok(cred) if cred.uid() == 0 || cred.uid() == own_uid => {
                    let _ = tx.send(Ok::<_, std::io::Error>(stream)).await;
                }
                Ok(cred) => warn!(
                    uid = cred.uid(),
                    "refused admin socket connection from another user"
                ),
                Err(e) => warn!(error = %e, "cannot identify admin socket peer"),
            }
        }
    });
    let service =
        AdminServer::new(AdminService::new(member)).max_encoding_message_size(MAX_MESSAGE);
    Ok(tokio::spawn(async move {
        let server = tonic::transport::Server::builder()
            .add_service(service)
            .serve_with_incoming_shutdown(ReceiverStream::new(rx), stopped(stop));
        if let Err(e) = server.await {
            warn!(error = %e, "admin server stopped");
        }
    }))
}

/// HTTPS for nodes: the tree's public files, the health page
/// (`crate::https`) and the node API (`crate::nodeapi`).
fn serve_https(
    member: Arc<Member>,
    listener: TcpListener,
    stop: watch::Receiver<bool>,
) -> anyhow::Result<JoinHandle<()>> {
    let tls = https_config(&member)?;
    // What the manifest lists and this member has placed; a file listed but
    // not yet fetched is answered 503, never stale.
    let tree: Arc<dyn https::TreeView> = Arc::new(crate::tree::ManifestView::new(member.clone()));
    let api: Arc<dyn https::NodeApi> =
        Arc::new(crate::nodeapi::NodeApiService::new(member.clone()));
    let mut service = https::Service::new(member.name.clone(), tree).with_node_api(api);
    if let Some(chunk) = member.config.https_chunk {
        service = service.with_chunk(chunk);
    }
    let service = Arc::new(service);
    Ok(tokio::spawn(https::serve(
        listener,
        Some(tls),
        service,
        https::Limits {
            handshake: HANDSHAKE,
            ..https::Limits::default()
        },
        stop,
    )))
}

/// Plain HTTP (off unless `--http-listen` is given), for firmware that
/// cannot do TLS: the same public tree files as HTTPS and nothing else
/// (`Service::boot_files_only`), so the node API never travels in clear.
/// No sendfile: it would need a raw socket write under hyper, i.e. unsafe
/// code or a second HTTP implementation, for a listener meant for the few
/// kilobytes of an iPXE script and the odd kernel.
fn serve_plain_http(
    member: Arc<Member>,
    listener: TcpListener,
    stop: watch::Receiver<bool>,
) -> JoinHandle<()> {
    let tree: Arc<dyn https::TreeView> = Arc::new(crate::tree::ManifestView::new(member.clone()));
    let service = https::Service::new(member.name.clone(), tree).boot_files_only();
    tokio::spawn(https::serve(
        listener,
        None,
        Arc::new(service),
        https::Limits::default(),
        stop,
    ))
}

/// Nodes present no certificate; they are served with the member's leaf.
fn https_config(member: &Member) -> anyhow::Result<Arc<rustls::ServerConfig>> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let resolver = rustls::sign::SingleCertAndKey::from(member.identity.certified_key());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(resolver));
    // h2 first: clients that speak it multiplex boot files on one
    // connection; the rest keep HTTP/1.1 with keep-alive.
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    // Resumption spares a node's repeated short connections (iPXE, curl in
    // scripts) the full handshake: stateless tickets (rotating keys), plus
    // a session cache sized for a boot storm, not rustls' default 256.
    config.ticketer = rustls::crypto::ring::Ticketer::new()?;
    config.session_storage = rustls::server::ServerSessionMemoryCache::new(4096);
    Ok(Arc::new(config))
}
