//! `cohort-agent deploy`: the whole flow, one narrated function.
//!
//! identify -> API key -> deploycfg -> write the target's files -> report.
//! Each phase logs one `info!` line. Files are written in an order where
//! a failure half-way leaves a bootable system: identity and network
//! first, SSH trust last, and the `staged`/`completed` report only after
//! every file is in place, so a member never moves the node's profile on
//! for a deploy that did not finish.

use std::path::{Path, PathBuf};

use cohort_api::nodeapi::{
    DEPLOY_CONFIG_VERSION, DeployConfig, DeployStatus, NodeList, SshCertReply, SshCertRequest,
    StatusUpdate, WhoAmI,
};
use ring::rand::SystemRandom;
use tracing::{info, warn};

use crate::apikey::{self, ApiKey, KeyError};
use crate::client::{self, Body, ClientError, NodeClient};
use crate::fsutil::Target;
use crate::identity::Ids;
use crate::names::BadName;
use crate::network::{self, Family, NetError};
use crate::ssh::{self, HostKey, SshError};
use crate::system::{self, SystemError};

/// What `deploy` was asked to do (the CLI's flags, checked).
#[derive(Debug, Clone)]
pub struct Options {
    pub members: Vec<String>,
    pub ca_bundle: PathBuf,
    pub mac: Option<String>,
    pub uuid: Option<String>,
    pub node: Option<String>,
    pub root: PathBuf,
    pub complete: bool,
    /// The sysfs tree to read identifiers from (`/sys`; tests point it
    /// elsewhere).
    pub sys: PathBuf,
}

/// A deploy failed. Each variant says which phase; the message says what
/// to fix.
#[derive(Debug, thiserror::Error)]
pub enum DeployError {
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error(transparent)]
    Name(#[from] BadName),
    #[error(
        "no MAC or UUID found under {}: pass --mac, --uuid or --node",
        sys.display()
    )]
    NoIds { sys: PathBuf },
    #[error("the member's {route} answer is not valid JSON for this agent (a version mismatch?)")]
    Decode {
        route: &'static str,
        #[source]
        source: serde_json::Error,
    },
    #[error("the API key")]
    Key(#[from] KeyError),
    #[error("network configuration")]
    Net(#[from] NetError),
    #[error("system files")]
    System(#[from] SystemError),
    #[error("SSH configuration")]
    Ssh(#[from] SshError),
}

/// What a successful deploy did.
#[derive(Debug, Clone)]
pub struct Report {
    pub node: String,
    pub status: DeployStatus,
    pub written: Vec<PathBuf>,
    pub registered_key: bool,
}

fn decode<T: serde::de::DeserializeOwned>(
    route: &'static str,
    bytes: &[u8],
) -> Result<T, DeployError> {
    serde_json::from_slice(bytes).map_err(|source| DeployError::Decode { route, source })
}

/// Runs the whole deploy.
pub fn run(opts: &Options) -> Result<Report, DeployError> {
    let rng = SystemRandom::new();
    let target = Target::new(&opts.root);
    let roots = client::load_ca_bundle(&opts.ca_bundle)?;
    let mut client = NodeClient::new(&opts.members, roots)?;

    let node = identify(&mut client, opts)?;
    info!(%node, "identified");

    let (mut cfg, registered_key) = api_key_and_config(&mut client, &target, &node, &rng)?;
    if cfg.hostname.is_empty() {
        cfg.hostname = node.clone();
    }
    info!(%node, registered_key, profile = cfg.profile.as_deref().unwrap_or("-"), "got deploy configuration");
    if cfg.version != DEPLOY_CONFIG_VERSION {
        warn!(
            version = cfg.version,
            "deploycfg version differs from this agent's; reading what it knows"
        );
    }
    for member in &cfg.members {
        for url in &member.urls {
            if let Err(e) = client.add_member(url) {
                warn!(member = %member.name, error = %e, "skipping a member URL");
            }
        }
    }

    let mut written = write_os(&target, &cfg, opts)?;
    info!(files = written.len(), root = %opts.root.display(), "wrote network and system files");

    written.extend(write_ssh(&mut client, &target, &cfg, &rng)?);
    info!("wrote SSH host key, certificate and trust");

    let status = if opts.complete {
        DeployStatus::Completed
    } else {
        DeployStatus::Staged
    };
    let update = StatusUpdate {
        status: Some(status),
        ..StatusUpdate::default()
    };
    let body = serde_json::to_string(&update).unwrap_or_default();
    client.post("updatestatus", Body::Json(&body))?;
    info!(%node, ?status, "reported");
    Ok(Report {
        node,
        status,
        written,
        registered_key,
    })
}

/// `--node`, else `whoami` with the identifiers from the flags or sysfs.
fn identify(client: &mut NodeClient, opts: &Options) -> Result<String, DeployError> {
    if let Some(node) = &opts.node {
        crate::names::dns_name("--node", node)?;
        return Ok(node.clone());
    }
    let ids = match Ids::from_args(opts.mac.as_deref(), opts.uuid.as_deref())? {
        Some(ids) => ids,
        None => Ids::from_sysfs(&opts.sys),
    };
    if ids.is_empty() {
        return Err(DeployError::NoIds {
            sys: opts.sys.clone(),
        });
    }
    let header = ids.header();
    let bytes = client.get("whoami", &[(cohort_api::nodeapi::IDS_HEADER, &header)])?;
    let who: WhoAmI = decode("whoami", &bytes)?;
    crate::names::dns_name("the node name from whoami", &who.node)?;
    Ok(who.node)
}

/// Reuses the saved key when the collective still accepts it, else
/// registers a new one; returns the configuration and whether a key was
/// registered.
fn api_key_and_config(
    client: &mut NodeClient,
    target: &Target,
    node: &str,
    rng: &SystemRandom,
) -> Result<(DeployConfig, bool), DeployError> {
    let path = target.path(apikey::APIKEY_PATH);
    if let Some(key) = ApiKey::load(&path)? {
        client.set_credentials(node, Some(key.expose()));
        match client.get("deploycfg", &[]) {
            Ok(bytes) => return Ok((decode("deploycfg", &bytes)?, false)),
            Err(e) if matches!(e.refused_status(), Some(401 | 403)) => {
                info!(error = %e, "saved API key refused, registering a new one");
            }
            Err(e) => return Err(e.into()),
        }
    }
    let key = ApiKey::draw(rng)?;
    let hash = key.crypt(rng)?;
    client.set_credentials(node, None);
    client.post("registerapikey", Body::Text(&hash))?;
    // Saved before first use: if the next call fails, a rerun reuses the
    // registered key instead of needing a new `nodedeploy`.
    key.save(&path)?;
    client.set_credentials(node, Some(key.expose()));
    let bytes = client.get("deploycfg", &[])?;
    Ok((decode("deploycfg", &bytes)?, true))
}

/// Network and system files.
fn write_os(
    target: &Target,
    cfg: &DeployConfig,
    opts: &Options,
) -> Result<Vec<PathBuf>, DeployError> {
    let sys_net = target.is_live().then_some(opts.sys.as_path());
    let ifaces = network::resolve(cfg, sys_net)?;
    let dns = network::dns(cfg)?;
    let format = network::Format::detect(target);
    info!(?format, interfaces = ifaces.len(), "network format");
    let mut written = network::write(target, format, &cfg.hostname, &ifaces, &dns)?;
    let addr = ifaces.iter().find_map(|i| match i.v4 {
        Family::Static { addr, .. } => Some(addr.into()),
        _ => None,
    });
    written.extend(system::write_all(target, cfg, addr, &dns)?);
    Ok(written)
}

/// New host key, its certificate, and the trust files.
fn write_ssh(
    client: &mut NodeClient,
    target: &Target,
    cfg: &DeployConfig,
    rng: &SystemRandom,
) -> Result<Vec<PathBuf>, DeployError> {
    let key = HostKey::generate(rng, &cfg.hostname)?;
    let mut written = key.write(target)?;
    let request = SshCertRequest {
        pubkey: key.public_line()?,
    };
    let body = serde_json::to_string(&request).unwrap_or_default();
    let reply: SshCertReply = decode("sshcert", &client.post("sshcert", Body::Json(&body))?)?;
    written.push(key.write_cert(target, &reply.certificate)?);
    info!(member = %reply.member, principals = ?reply.principals, "host certificate signed");

    let nodes: NodeList = decode("nodelist", &client.get("nodelist", &[])?)?;
    written.extend(ssh::write_trust(
        target,
        &cfg.ssh_cas,
        &cfg.root_authorized_keys,
        &nodes.nodes,
    )?);
    Ok(written)
}

/// Where `--root` puts the API key (for messages and tests).
pub fn apikey_path(root: &Path) -> PathBuf {
    Target::new(root).path(apikey::APIKEY_PATH)
}
