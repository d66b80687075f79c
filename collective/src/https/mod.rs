//! The HTTPS server for nodes: the synchronized tree's `public/` files with
//! byte ranges and validators, a health page, and the node API
//! (`/api/self/...`, behind the [`NodeApi`] trait).
//!
//! Shape: [`conn::serve`] accepts TCP, runs the TLS handshake under a
//! deadline and hands each connection to hyper (HTTP/1.1, or HTTP/2 when
//! ALPN picks it); every request lands in [`Service::handle`], a router on
//! the first path segment, so `/api/self/...` becomes one more arm. What a
//! tree path means is behind [`TreeView`]: [`FsTree`] reads the file system
//! alone (so a member serves files before any manifest exists); the
//! synchronized tree supplies a manifest-backed view whose ETag is the
//! content hash and which can say a file is listed but not fetched yet.
//! Every refusal is mapped to a status in one place, [`Refusal::response`].
//!
//! Alternatives rejected: axum or tower-http's `ServeDir` would hide the
//! parts that matter here (how the file is opened and checked against
//! path escapes, the chunk size, the 503 for files not yet synchronized)
//! behind layers we would have to work around; hyper's connection
//! builders give keep-alive, HTTP/2 and header limits directly. sendfile
//! cannot help: the bytes must pass through rustls to be encrypted (kTLS
//! is not available through rustls here). The plain-HTTP listener for
//! firmware without TLS (DESIGN.md section 7, off by default) is not
//! written yet; it is where a safe sendfile (rustix) would pay.

mod body;
mod conn;
mod files;
mod range;

use std::fs::File;
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::SystemTime;

use hyper::header::{ALLOW, CONTENT_TYPE, HeaderValue, RETRY_AFTER};
use hyper::{HeaderMap, Method, Request, Response, StatusCode};
use tracing::debug;

pub use body::Body;
pub use conn::{Limits, serve};

/// What a tree path currently names, as a [`TreeView`] sees it.
#[derive(Debug)]
pub enum Lookup {
    /// A regular file, ready to serve.
    Present(Found),
    /// Listed in the manifest, but its content has not reached this member
    /// yet: answered with 503 and `Retry-After`, never a stale or partial
    /// file.
    Pending,
    /// No such file (or a directory, or a path that escapes the tree).
    Absent,
}

/// A file a [`TreeView`] found, with its validators.
#[derive(Debug, Clone)]
pub struct Found {
    /// Where the bytes are on this member's disk.
    pub path: PathBuf,
    /// A strong entity tag, quoted (`"..."`), that changes whenever the
    /// content may have changed.
    pub etag: String,
    /// Length in bytes.
    pub len: u64,
    /// Modification time, for `Last-Modified`.
    pub modified: SystemTime,
}

/// The seam between the HTTPS server and the synchronized tree.
///
/// Both methods block (file system calls); the server runs them on the
/// blocking pool.
pub trait TreeView: Send + Sync + 'static {
    /// What `tree_path` (`public/boot/vmlinuz`: relative to the tree, no
    /// `.`/`..` or empty segments, already checked by the server) names.
    fn lookup(&self, tree_path: &str) -> Lookup;

    /// Opens what [`TreeView::lookup`] found. `Ok(None)` when the file on
    /// disk is no longer the one looked up (replaced, or a path component
    /// swapped for a symlink in between): the server must not send it under
    /// validators that describe another file. The default compares length
    /// and modification time of the opened file.
    fn open(&self, found: &Found) -> io::Result<Option<File>> {
        let file = File::open(&found.path)?;
        let meta = file.metadata()?;
        let same = meta.is_file() && meta.len() == found.len && meta.modified()? == found.modified;
        Ok(same.then_some(file))
    }
}

/// A [`TreeView`] of the file system alone: `<tree>/<tree_path>`, as long
/// as it resolves (symlinks included) to a regular file inside its own
/// area (`<tree>/public` for `public/...`).
///
/// Only the unit tests use it now: members serve the synchronized tree's
/// manifest (`tree::ManifestView`), never files merely lying in `<data>/tree`.
#[cfg(test)]
#[derive(Debug, Clone)]
pub struct FsTree {
    root: PathBuf,
}

#[cfg(test)]
impl FsTree {
    /// A view of the tree directory (`<data>/tree`).
    pub fn new(root: impl Into<PathBuf>) -> FsTree {
        FsTree { root: root.into() }
    }
}

/// `"len-mtime_ns-inode"` in hex: changes whenever a write, a replacement
/// or a touch could have changed the content.
#[cfg(test)]
fn fs_etag(meta: &std::fs::Metadata) -> String {
    use std::os::unix::fs::MetadataExt;
    let mtime_ns = i128::from(meta.mtime()) * 1_000_000_000 + i128::from(meta.mtime_nsec());
    format!("\"{:x}-{:x}-{:x}\"", meta.len(), mtime_ns, meta.ino())
}

#[cfg(test)]
impl TreeView for FsTree {
    fn lookup(&self, tree_path: &str) -> Lookup {
        let area = tree_path.split('/').next().unwrap_or_default();
        // Resolved per request: the area may be created, or be a symlink
        // to another disk, after the member started.
        let (Ok(area_dir), Ok(path)) = (
            self.root.join(area).canonicalize(),
            self.root.join(tree_path).canonicalize(),
        ) else {
            return Lookup::Absent;
        };
        // Component-wise prefix: `public2/x` is not inside `public`.
        if path == area_dir || !path.starts_with(&area_dir) {
            debug!(tree_path, resolved = %path.display(), "refused: resolves outside its area");
            return Lookup::Absent;
        }
        match std::fs::metadata(&path) {
            // Directories, fifos and devices are never served.
            Ok(meta) if meta.is_file() => Lookup::Present(Found {
                etag: fs_etag(&meta),
                len: meta.len(),
                modified: meta.modified().unwrap_or(std::time::UNIX_EPOCH),
                path,
            }),
            _ => Lookup::Absent,
        }
    }

    /// The opened file must be the very inode that was checked to lie
    /// inside the area: a directory on the way swapped for a symlink after
    /// the check would lead `open` elsewhere, to a file with another inode
    /// (or device, length or time), hence another ETag.
    ///
    /// A fifo swapped in at the last moment would block the open on the
    /// blocking pool; O_NONBLOCK would need libc or unsafe, and only a
    /// writer of the tree (trusted with its content anyway) can do it.
    fn open(&self, found: &Found) -> io::Result<Option<File>> {
        let file = File::open(&found.path)?;
        let meta = file.metadata()?;
        Ok((meta.is_file() && fs_etag(&meta) == found.etag).then_some(file))
    }
}

/// What the connection layer knows of a request besides its head, put in
/// the request's extensions.
#[derive(Debug, Clone)]
pub struct Client {
    /// The TCP peer.
    pub addr: SocketAddr,
    /// The body when it had at most 64 KiB (`None`: larger, or too slow).
    pub body: Option<Vec<u8>>,
}

/// One node API request, as the server hands it over.
#[derive(Debug)]
pub struct ApiRequest {
    pub method: Method,
    /// The path after `/api/self/`, still percent-encoded.
    pub route: String,
    /// The query string, if any.
    pub query: Option<String>,
    pub headers: HeaderMap,
    pub client: Option<Client>,
}

/// A boxed future, for the one async method of [`NodeApi`].
pub type ApiFuture<'a> = Pin<Box<dyn std::future::Future<Output = Response<Body>> + Send + 'a>>;

/// The seam between the HTTPS server and the node self-service API: the
/// server routes `/api/self/...` here and knows nothing of what it means.
pub trait NodeApi: Send + Sync + 'static {
    /// Answers one request; every refusal is a response.
    fn handle(&self, request: ApiRequest) -> ApiFuture<'_>;
}

/// Everything a request is answered from; shared by all connections.
pub struct Service {
    /// The member's name, for the health page.
    name: String,
    tree: Arc<dyn TreeView>,
    /// Bytes per file read (see [`DEFAULT_CHUNK`]).
    chunk: usize,
    buffers: Arc<crate::chunks::BufferPool>,
    /// Serves only `/public/...` and `/health` (the plain-HTTP listener):
    /// the node API is refused there.
    boot_files_only: bool,
    /// `/api/self/...`, when this server has it.
    node_api: Option<Arc<dyn NodeApi>>,
}

/// Bytes per file read. Large enough that the per-chunk costs (a trip to
/// the blocking pool, a syscall, hyper's bookkeeping) vanish against
/// encrypting the chunk; small enough that two chunks per response (one
/// sent, one read ahead) keep memory modest at the connection limit. In
/// bench/https.sh, 256 KiB and 512 KiB served alike, 128 KiB and 1 MiB
/// a little slower.
pub const DEFAULT_CHUNK: usize = 256 * 1024;

/// Idle chunk buffers kept for reuse (16 MiB at the default chunk size).
const POOLED_BUFFERS: usize = 64;

impl Service {
    pub fn new(name: impl Into<String>, tree: Arc<dyn TreeView>) -> Service {
        Service {
            name: name.into(),
            tree,
            chunk: DEFAULT_CHUNK,
            buffers: Arc::new(crate::chunks::BufferPool::new(POOLED_BUFFERS)),
            boot_files_only: false,
            node_api: None,
        }
    }

    /// Serves the node API under `/api/self/`.
    pub fn with_node_api(mut self, api: Arc<dyn NodeApi>) -> Service {
        self.node_api = Some(api);
        self
    }

    /// Restricts this service to the tree's public files and the health
    /// page, for the plain-HTTP listener.
    pub fn boot_files_only(mut self) -> Service {
        self.boot_files_only = true;
        self
    }

    /// Overrides [`DEFAULT_CHUNK`] (benchmarks, tests).
    pub fn with_chunk(mut self, chunk: usize) -> Service {
        self.chunk = chunk.max(4096);
        self
    }

    /// Answers one request; never fails, every refusal is a response.
    pub async fn handle<B>(&self, req: Request<B>) -> Response<Body> {
        let path = req.uri().path();
        // "/public/a/b" -> ("public", Some("a/b")); "/health" -> ("health", None).
        let (first, rest) = match path.strip_prefix('/').unwrap_or(path).split_once('/') {
            Some((first, rest)) => (first, Some(rest)),
            None => (path.trim_start_matches('/'), None),
        };
        let answer = match (first, rest) {
            _ if self.boot_files_only && !matches!(first, "public" | "health") => {
                Err(Refusal::NotFound)
            }
            ("health", None) => self.health(req.method()),
            ("public", Some(rest)) => files::get(self, &req, "public", rest).await,
            ("api", Some(rest)) if rest.starts_with("self/") => match &self.node_api {
                Some(api) => {
                    let request = ApiRequest {
                        method: req.method().clone(),
                        route: rest["self/".len()..].to_owned(),
                        query: req.uri().query().map(str::to_owned),
                        headers: req.headers().clone(),
                        client: req.extensions().get::<Client>().cloned(),
                    };
                    Ok(api.handle(request).await)
                }
                None => Err(Refusal::NotFound),
            },
            _ => Err(Refusal::NotFound),
        };
        let response = answer.unwrap_or_else(Refusal::response);
        debug!(method = %req.method(), path, status = response.status().as_u16(), "https request");
        response
    }

    /// `cohort member NAME: ok`, so tests and load balancers can see the
    /// member is up.
    fn health(&self, method: &Method) -> Result<Response<Body>, Refusal> {
        let head = read_only(method)?;
        let text = format!("cohort member {}: ok\n", self.name);
        let len = text.len();
        let mut response = Response::new(if head {
            Body::empty()
        } else {
            Body::bytes(text)
        });
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        headers.insert(hyper::header::CONTENT_LENGTH, HeaderValue::from(len));
        Ok(response)
    }
}

/// GET and HEAD only; `true` for HEAD.
fn read_only(method: &Method) -> Result<bool, Refusal> {
    match *method {
        Method::GET => Ok(false),
        Method::HEAD => Ok(true),
        _ => Err(Refusal::Method),
    }
}

/// Why a request gets no content. Each has a stable code in the body (the
/// first word) and a message naming the cause.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// 404: nothing served at this path.
    NotFound,
    /// 400: the path is malformed or tries to leave the tree.
    BadPath(&'static str),
    /// 405: only GET and HEAD.
    Method,
    /// 503: listed in the tree, not yet synchronized to this member.
    Pending,
    /// 503: the file changed between lookup and open.
    Changed,
    /// 500: this member cannot read a file it has.
    Internal,
}

/// Seconds a client should wait before asking again for a pending file.
const RETRY_AFTER_SECS: &str = "2";

impl Refusal {
    /// The one mapping from refusal to HTTP response.
    pub fn response(self) -> Response<Body> {
        let (status, code, message) = match self {
            Refusal::NotFound => (StatusCode::NOT_FOUND, "not-found", "no such file"),
            Refusal::BadPath(why) => (StatusCode::BAD_REQUEST, "bad-path", why),
            Refusal::Method => (
                StatusCode::METHOD_NOT_ALLOWED,
                "method-not-allowed",
                "only GET and HEAD are served here",
            ),
            Refusal::Pending => (
                StatusCode::SERVICE_UNAVAILABLE,
                "not-synchronized",
                "this file is not yet synchronized to this member; retry shortly",
            ),
            Refusal::Changed => (
                StatusCode::SERVICE_UNAVAILABLE,
                "changed",
                "this file changed while being opened; retry",
            ),
            Refusal::Internal => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "this member cannot read the file; see its log",
            ),
        };
        let text = format!("{code}: {message}\n");
        let len = text.len();
        let mut response = Response::new(Body::bytes(text));
        *response.status_mut() = status;
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        headers.insert(hyper::header::CONTENT_LENGTH, HeaderValue::from(len));
        match self {
            Refusal::Method => {
                headers.insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
            }
            Refusal::Pending | Refusal::Changed => {
                headers.insert(RETRY_AFTER, HeaderValue::from_static(RETRY_AFTER_SECS));
            }
            _ => {}
        }
        response
    }
}

#[cfg(test)]
#[path = "files_tests.rs"]
mod files_tests;
