//! The command line: `cohort-agent deploy ...`.
//!
//! clap's derive, so `--help` is generated from these doc comments; each
//! says what the flag is for and its default. Only the `deploy` command
//! exists today; the enum leaves room for others (script runners, a
//! status-only report) without a flag soup.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::deploy::Options;

/// cohort's node-side deploy agent.
///
/// Runs on a node being installed or booted: asks the collective who the
/// node is, registers an API key, fetches the node's deploy configuration
/// and writes it into the target OS (host name, network, root password,
/// SSH host key and certificate, SSH trust, time and name services), then
/// reports the deployment as staged or completed.
#[derive(Debug, Parser)]
#[command(name = "cohort-agent", version, about, long_about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    Deploy(DeployArgs),
}

/// Configure the target OS from the node's deploy configuration.
///
/// Every request tries the members in order, starting with the one that
/// answered last: a connection error, a timeout (10 s to connect, 30 s per
/// request) or a 5xx answer moves to the next member; a 4xx answer is
/// final and its message printed. Members listed by the collective itself
/// are added to --members once the configuration is fetched.
///
/// Files written under --root: etc/hostname, etc/hosts; network
/// configuration (NetworkManager keyfiles when etc/NetworkManager exists,
/// else netplan when etc/netplan exists, else ifupdown); etc/shadow (root's
/// hash only); a new ed25519 SSH host key, its certificate, sshd and ssh
/// client settings, etc/ssh/ssh_known_hosts, etc/ssh/shosts.equiv,
/// root/.shosts, root/.ssh/authorized_keys; chrony sources;
/// etc/resolv.conf; etc/localtime and etc/timezone. The API key is kept in
/// etc/cohort/apikey (mode 0600) and reused while the collective accepts
/// it.
#[derive(Debug, clap::Args)]
#[command(long_about)]
pub struct DeployArgs {
    /// Member URLs to try, in order (https://HOST:PORT, comma-separated or
    /// repeated).
    #[arg(long, value_delimiter = ',', required = true, value_name = "URL")]
    pub members: Vec<String>,
    /// PEM file of the members' CA certificates
    /// (public/site/tls/ca-bundle.pem); the only certificates trusted.
    #[arg(long, value_name = "FILE")]
    pub ca_bundle: PathBuf,
    /// Identify the node by this MAC address instead of the system's
    /// network interfaces.
    #[arg(long, value_name = "MAC", conflicts_with = "uuid")]
    pub mac: Option<String>,
    /// Identify the node by this SMBIOS UUID instead of the system's.
    #[arg(long, value_name = "UUID")]
    pub uuid: Option<String>,
    /// The node's name; skips identification (whoami).
    #[arg(long, value_name = "NAME")]
    pub node: Option<String>,
    /// Root of the target OS tree to write into.
    #[arg(long, value_name = "DIR", default_value = "/")]
    pub root: PathBuf,
    /// Report the deployment completed (first boot done) instead of staged
    /// (OS installed).
    #[arg(long)]
    pub complete: bool,
}

impl DeployArgs {
    pub fn options(&self) -> Options {
        Options {
            members: self.members.clone(),
            ca_bundle: self.ca_bundle.clone(),
            mac: self.mac.clone(),
            uuid: self.uuid.clone(),
            node: self.node.clone(),
            root: self.root.clone(),
            complete: self.complete,
            sys: PathBuf::from("/sys"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
        let cli = Cli::try_parse_from([
            "cohort-agent",
            "deploy",
            "--members",
            "https://a:1,https://b:2",
            "--ca-bundle",
            "ca.pem",
            "--mac",
            "aa:bb:cc:dd:ee:ff",
        ])
        .unwrap();
        let Command::Deploy(args) = cli.command;
        let opts = args.options();
        assert_eq!(opts.members, ["https://a:1", "https://b:2"]);
        assert_eq!(opts.root, PathBuf::from("/"));
        assert!(!opts.complete);
        assert!(
            Cli::try_parse_from([
                "cohort-agent",
                "deploy",
                "--members",
                "https://a",
                "--ca-bundle",
                "c",
                "--mac",
                "aa:bb:cc:dd:ee:ff",
                "--uuid",
                "x",
            ])
            .is_err()
        );
    }
}
