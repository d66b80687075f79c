//! The connection to a member: tonic over the local admin unix socket, or
//! over TLS to a member's admin port with a user token (`--server`).
//!
//! Every call goes through [`retrying`]: a member answers `UNAVAILABLE`
//! while the collective elects a leader or while it cannot reach the leader
//! it would forward to, and such a moment lasts well under a second. A
//! write is safe to resend because it carries the same [`WriteId`] each time
//! and the state machine applies a given id once; reads are idempotent. So
//! the CLI retries for a few seconds before reporting the member's message,
//! instead of making admins rerun commands by hand.

use std::future::Future;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, anyhow};
use cohort_proto::admin_client::AdminClient;
use cohort_proto::{WriteId, WriteReply, WriteRequest, write_request};
use hyper_util::rt::TokioIo;
use tokio::net::UnixStream;
use tokio::time::{Instant, sleep};
use tonic::metadata::AsciiMetadataValue;
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint, Uri};
use tonic::{Code, Status};

/// How long to keep retrying `UNAVAILABLE` before giving up: longer than an
/// election (well under a second), shorter than an admin's patience.
const RETRY_FOR: Duration = Duration::from_secs(5);
const FIRST_DELAY: Duration = Duration::from_millis(50);
const MAX_DELAY: Duration = Duration::from_millis(800);

/// Listings of 100,000 nodes are large; tonic's 4 MiB default is not.
const MAX_MESSAGE: usize = 256 << 20;

/// Where the admin API is.
pub enum Target {
    /// The member's local admin socket.
    Socket(PathBuf),
    /// A member's TLS port, as a remote admin.
    Remote(Remote),
}

/// `--server` and what goes with it.
pub struct Remote {
    pub address: String,
    pub token: Option<String>,
    pub ca_bundle: Option<PathBuf>,
    pub server_name: Option<String>,
}

/// Adds `authorization: Bearer <token>` to every call (remote mode only).
#[derive(Clone)]
pub struct Auth(Option<AsciiMetadataValue>);

impl Interceptor for Auth {
    fn call(&mut self, mut request: tonic::Request<()>) -> Result<tonic::Request<()>, Status> {
        if let Some(v) = &self.0 {
            request.metadata_mut().insert("authorization", v.clone());
        }
        Ok(request)
    }
}

/// An admin API client with this invocation's write identity.
pub struct Client {
    pub admin: AdminClient<InterceptedService<Channel, Auth>>,
    /// 16 random bytes: a fresh client per invocation, so two CLI runs never
    /// collide in the state machine's dedup table.
    client_id: Vec<u8>,
    seq: u64,
}

impl Client {
    /// Connects to the member behind `socket`.
    pub async fn connect(socket: &Path) -> anyhow::Result<Client> {
        let path = socket.to_path_buf();
        // The URI is required by tonic but unused: the connector ignores it.
        let endpoint = Endpoint::try_from("http://localhost")?;
        let channel = endpoint
            .connect_with_connector(tower::service_fn(move |_: Uri| {
                let path = path.clone();
                async move { Ok::<_, io::Error>(TokioIo::new(UnixStream::connect(path).await?)) }
            }))
            .await
            .map_err(|e| unreachable(socket, &e))?;
        Client::over(channel, Auth(None))
    }

    fn over(channel: Channel, auth: Auth) -> anyhow::Result<Client> {
        let admin = AdminClient::with_interceptor(channel, auth)
            .max_decoding_message_size(MAX_MESSAGE)
            .max_encoding_message_size(MAX_MESSAGE);
        Ok(Client {
            admin,
            client_id: random_id()?,
            seq: 0,
        })
    }

    /// Connects to a member's TLS port as a remote admin: the member's
    /// certificate must chain to one of the bundle's CAs and carry the
    /// host (or --server-name); every call carries the token.
    pub async fn connect_remote(remote: &Remote) -> anyhow::Result<Client> {
        let token = remote.token.as_deref().context(
            "--server needs --token (or COHORT_TOKEN): make one with `cohort user add NAME` on a member",
        )?;
        let bundle = remote.ca_bundle.as_deref().context(
            "--server needs --ca-bundle FILE (or COHORT_CA_BUNDLE): the tree's \
             public/site/tls/ca-bundle.pem, served by every member at https://MEMBER:8443/public/site/tls/ca-bundle.pem",
        )?;
        let address = if remote.address.contains(':') {
            remote.address.clone()
        } else {
            format!("{}:13001", remote.address)
        };
        let host = address
            .rsplit_once(':')
            .map(|(h, _)| h.trim_matches(['[', ']']).to_owned())
            .unwrap_or_default();
        let name = remote.server_name.clone().unwrap_or(host);
        let config = tls_config(bundle)?;
        let server_name = rustls::pki_types::ServerName::try_from(name.clone())
            .map_err(|_| anyhow!("{name:?} is not a host name or address (--server-name)"))?;
        let target = address.clone();
        let connector = tower::service_fn(move |_: Uri| {
            let (config, server_name, target) =
                (config.clone(), server_name.clone(), target.clone());
            async move {
                let tcp = tokio::net::TcpStream::connect(&target).await?;
                let tls = tokio_rustls::TlsConnector::from(config)
                    .connect(server_name, tcp)
                    .await?;
                Ok::<_, io::Error>(TokioIo::new(tls))
            }
        });
        let channel = Endpoint::from_shared(format!("http://{address}"))?
            .connect_timeout(Duration::from_secs(10))
            .connect_with_connector(connector)
            .await
            .map_err(|e| {
                let reason = find_io_error(&e).map_or_else(|| e.to_string(), os_reason);
                anyhow!(
                    "cannot reach the cohort member at {address} as {name}: {reason} \
                     (a certificate error may need --server-name member-NAME.cohort)"
                )
            })?;
        let value = AsciiMetadataValue::try_from(format!("Bearer {}", token.trim()))
            .map_err(|_| anyhow!("the token has characters a header cannot carry"))?;
        Client::over(channel, Auth(Some(value)))
    }

    /// Sends one write, retrying `UNAVAILABLE` with the same id.
    pub async fn write(&mut self, action: write_request::Action) -> anyhow::Result<WriteReply> {
        self.seq += 1;
        let request = WriteRequest {
            id: Some(WriteId {
                client: self.client_id.clone(),
                seq: self.seq,
            }),
            action: Some(action),
        };
        let admin = self.admin.clone();
        retrying(|| {
            let mut admin = admin.clone();
            let request = request.clone();
            async move { admin.write(request).await.map(tonic::Response::into_inner) }
        })
        .await
        .map_err(status_error)
    }
}

/// Lazily connected client plus where output goes. Commands validate their
/// arguments before asking for the client, so a typo is reported even when
/// no member runs.
pub struct Ctx<'a> {
    target: Target,
    client: Option<Client>,
    pub out: &'a mut dyn Write,
    pub err: &'a mut dyn Write,
}

impl<'a> Ctx<'a> {
    pub fn new(target: Target, out: &'a mut dyn Write, err: &'a mut dyn Write) -> Self {
        Ctx {
            target,
            client: None,
            out,
            err,
        }
    }

    /// The client, connecting on first use.
    pub async fn client(&mut self) -> anyhow::Result<&mut Client> {
        let client = match self.client.take() {
            Some(c) => c,
            None => match &self.target {
                Target::Socket(socket) => Client::connect(socket).await?,
                Target::Remote(remote) => Client::connect_remote(remote).await?,
            },
        };
        Ok(self.client.insert(client))
    }

    /// Sends a write and prints its warnings to stderr.
    pub async fn write(&mut self, action: write_request::Action) -> anyhow::Result<WriteReply> {
        let reply = self.client().await?.write(action).await?;
        for warning in &reply.warnings {
            writeln!(self.err, "Warning: {warning}")?;
        }
        Ok(reply)
    }
}

/// Runs `call` until it returns something other than `UNAVAILABLE`, or
/// until [`RETRY_FOR`] has passed; then the last answer stands.
pub async fn retrying<T, F, Fut>(mut call: F) -> Result<T, Status>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Status>>,
{
    let deadline = Instant::now() + RETRY_FOR;
    let mut delay = FIRST_DELAY;
    loop {
        match call().await {
            Err(s) if s.code() == Code::Unavailable && Instant::now() + delay < deadline => {
                sleep(delay).await;
                delay = (delay * 2).min(MAX_DELAY);
            }
            answer => return answer,
        }
    }
}

/// A refused call as the admin sees it: the member's message, which names
/// the bad input. Only messages that would be empty or misleading get help.
pub fn status_error(status: Status) -> anyhow::Error {
    let message = status.message().trim();
    let message = if message.is_empty() {
        status.code().description()
    } else {
        message
    };
    match status.code() {
        Code::Unimplemented => {
            anyhow!(
                "the cohort member does not support this request ({message}); is it an older version?"
            )
        }
        _ => anyhow!("{message}"),
    }
}

/// "cannot reach ..." with the OS's reason and what to do about it.
fn unreachable(socket: &Path, error: &tonic::transport::Error) -> anyhow::Error {
    let io = find_io_error(error);
    let reason = io.map_or_else(|| error.to_string(), os_reason);
    let hint = match io.map(io::Error::kind) {
        Some(io::ErrorKind::PermissionDenied) => {
            "the admin socket is for root and the daemon's user (use --socket or COHORT_SOCKET to point elsewhere)"
        }
        _ => "is `cohort serve` running? (use --socket or COHORT_SOCKET to point elsewhere)",
    };
    anyhow!(
        "cannot reach the cohort member at {}: {reason}; {hint}",
        socket.display()
    )
}

/// A rustls client configuration trusting only the CAs in `bundle`.
fn tls_config(bundle: &Path) -> anyhow::Result<Arc<rustls::ClientConfig>> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let pem = std::fs::read(bundle)
        .with_context(|| format!("{}: cannot read the CA bundle", bundle.display()))?;
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(&pem) {
        let cert = cert.map_err(|e| anyhow!("{}: not PEM certificates: {e}", bundle.display()))?;
        roots
            .add(cert)
            .map_err(|e| anyhow!("{}: a certificate rustls refuses: {e}", bundle.display()))?;
    }
    if roots.is_empty() {
        anyhow::bail!("{}: no certificate in the CA bundle", bundle.display());
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| anyhow!("TLS set-up: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec()];
    Ok(Arc::new(config))
}

fn find_io_error<'e>(error: &'e (dyn std::error::Error + 'static)) -> Option<&'e io::Error> {
    let mut next: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = next {
        if let Some(io) = e.downcast_ref::<io::Error>() {
            return Some(io);
        }
        next = e.source();
    }
    None
}

/// `No such file or directory`, without Rust's ` (os error 2)` suffix.
fn os_reason(e: &io::Error) -> String {
    let text = e.to_string();
    match text.find(" (os error ") {
        Some(i) => text[..i].to_owned(),
        None => text,
    }
}

fn random_id() -> anyhow::Result<Vec<u8>> {
    use ring::rand::SecureRandom;
    let mut id = vec![0u8; 16];
    ring::rand::SystemRandom::new()
        .fill(&mut id)
        .map_err(|_| anyhow!("the system random number generator failed"))
        .context("making a client id")?;
    Ok(id)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn unavailable_is_retried_then_the_answer_stands() {
        let calls = AtomicU32::new(0);
        let r = retrying(|| {
            let n = calls.fetch_add(1, Ordering::SeqCst);
            async move {
                if n < 2 {
                    Err(Status::unavailable("electing"))
                } else {
                    Ok(n)
                }
            }
        })
        .await;
        assert_eq!(r.ok(), Some(2));
    }

    #[tokio::test(start_paused = true)]
    async fn unavailable_gives_up_after_a_few_seconds() {
        let start = Instant::now();
        let r: Result<(), Status> = retrying(|| async {
            Err(Status::unavailable(
                "collective has no quorum (1 of 3 voters reachable)",
            ))
        })
        .await;
        let msg = status_error(r.expect_err("must fail")).to_string();
        assert_eq!(msg, "collective has no quorum (1 of 3 voters reachable)");
        let waited = start.elapsed();
        assert!(
            waited <= RETRY_FOR && waited >= Duration::from_secs(3),
            "{waited:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn other_errors_are_not_retried() {
        let calls = AtomicU32::new(0);
        let r: Result<(), Status> = retrying(|| {
            calls.fetch_add(1, Ordering::SeqCst);
            async { Err(Status::invalid_argument("bad")) }
        })
        .await;
        assert!(r.is_err());
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn status_messages_pass_through() {
        let e = status_error(Status::invalid_argument("unknown attribute \"x\""));
        assert_eq!(e.to_string(), "unknown attribute \"x\"");
        let e = status_error(Status::not_found(""));
        assert_eq!(e.to_string(), "Some requested entity was not found");
    }

    #[test]
    fn os_reason_drops_the_errno() {
        let e = io::Error::from_raw_os_error(2);
        assert_eq!(os_reason(&e), "No such file or directory");
    }
}
