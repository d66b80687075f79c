//! The daemon's configuration: every field documented, defaults named. No
//! config file is needed; flags and environment variables override.

use std::net::SocketAddr;
use std::path::PathBuf;

/// Default data directory (DESIGN.md section 6).
pub const DEFAULT_DATA_DIR: &str = "/var/lib/cohort";
/// Default peer and admin gRPC listener.
pub const DEFAULT_LISTEN: &str = "0.0.0.0:13001";
/// Default HTTPS deployment listener.
pub const DEFAULT_HTTPS_LISTEN: &str = "0.0.0.0:8443";

/// How `cohort serve` runs.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// Where this member keeps everything (`member/`, `tree/`, `cohort.sock`).
    pub data_dir: PathBuf,
    /// Member name; default: the short host name.
    pub name: Option<String>,
    /// gRPC listener for peers and remote admins.
    pub listen: SocketAddr,
    /// Addresses other members and the CLI should use to reach `listen`
    /// (default: `listen`, or every local address when it is unspecified).
    pub advertise: Vec<String>,
    /// HTTPS listener for nodes.
    pub https_listen: SocketAddr,
    /// Bytes per file read when serving HTTPS (default
    /// `crate::https::DEFAULT_CHUNK`); a benchmark knob.
    pub https_chunk: Option<usize>,
    /// Plain-HTTP listener for boot files only; off unless given.
    pub http_listen: Option<SocketAddr>,
}

impl ServeConfig {
    /// The admin socket inside the data directory.
    pub fn socket_path(&self) -> PathBuf {
        self.data_dir.join("cohort.sock")
    }
}
