//! `cohort serve`: turns flags and environment into a [`ServeConfig`] and
//! hands over to the daemon. No flag is needed on a fresh host.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;

use crate::config::{DEFAULT_DATA_DIR, DEFAULT_HTTPS_LISTEN, DEFAULT_LISTEN, ServeConfig};

const SERVE_ABOUT: &str = "\
Run this host's cohort member until SIGINT or SIGTERM.

On first start the member creates its identity in the data directory and, with no \
state yet, forms a collective of one, so admin commands work at once; invite more \
members with `cohort collective invite`. The admin socket for the CLI is \
DIR/cohort.sock. The defaults need no flags.";

const SERVE_EXAMPLES: &str = "\
Examples:
  cohort serve
  cohort serve --data-dir /srv/cohort --name mgt1
  cohort serve --listen 10.0.0.1:13001 --advertise 10.0.0.1:13001
  COHORT_DATA_DIR=/tmp/c1 cohort serve --listen 127.0.0.1:0 --https-listen 127.0.0.1:0";

/// Run the member daemon.
#[derive(Debug, Args)]
#[command(long_about = SERVE_ABOUT, after_long_help = SERVE_EXAMPLES)]
pub struct ServeArgs {
    /// Where the member keeps its identity, Raft log, state and tree.
    #[arg(long, env = "COHORT_DATA_DIR", default_value = DEFAULT_DATA_DIR, value_name = "DIR")]
    pub data_dir: PathBuf,
    /// Member name (default: the short host name).
    #[arg(long)]
    pub name: Option<String>,
    /// gRPC listener for other members and remote admins.
    #[arg(long, default_value = DEFAULT_LISTEN, value_name = "IP:PORT")]
    pub listen: SocketAddr,
    /// HTTPS listener for nodes (deployment files and the node API).
    #[arg(long, default_value = DEFAULT_HTTPS_LISTEN, value_name = "IP:PORT")]
    pub https_listen: SocketAddr,
    /// Address other members use to reach --listen (repeatable; default: the
    /// listen address, or every local address when it is 0.0.0.0).
    #[arg(long, value_name = "ADDR")]
    pub advertise: Vec<String>,
    /// Plain-HTTP listener for firmware that cannot do TLS (off unless
    /// given): serves the tree's public files (boot scripts, kernels,
    /// initramfs) and nothing else; the node API stays on HTTPS.
    #[arg(long, value_name = "IP:PORT")]
    pub http_listen: Option<SocketAddr>,
    /// Bytes per file read when serving HTTPS (tuning; bench/https.sh).
    #[arg(long, env = "COHORT_HTTPS_CHUNK", hide = true, value_name = "BYTES")]
    pub https_chunk: Option<usize>,
}

impl ServeArgs {
    /// The daemon's configuration; `hostname` supplies the default name.
    pub fn into_config(self, hostname: Option<String>) -> ServeConfig {
        ServeConfig {
            data_dir: self.data_dir,
            name: self.name.or(hostname),
            listen: self.listen,
            advertise: self.advertise,
            https_listen: self.https_listen,
            https_chunk: self.https_chunk,
            http_listen: self.http_listen,
        }
    }
}

/// This host's short name: the kernel's, else `HOSTNAME`; `None` if
/// neither gives one (the daemon then applies its own default).
pub fn hostname() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .and_then(|h| short_hostname(&h))
        .or_else(|| {
            std::env::var("HOSTNAME")
                .ok()
                .and_then(|h| short_hostname(&h))
        })
}

/// `mgt1.example.com\n` -> `mgt1`.
pub fn short_hostname(raw: &str) -> Option<String> {
    let short = raw.trim().split('.').next().unwrap_or_default();
    (!short.is_empty() && short != "(none)").then(|| short.to_owned())
}

/// Runs the daemon with the configuration from the command line.
pub fn run(args: ServeArgs) -> anyhow::Result<()> {
    crate::server::serve(args.into_config(hostname()))
}
