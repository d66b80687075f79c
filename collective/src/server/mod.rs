//! The member daemon: `cohort serve`.
//!
//! [`run`] is the whole life of a member, narrated one phase at a time:
//! data directory, identity, storage, Raft, listeners, background tasks,
//! then the wait for a shutdown signal and an ordered teardown (stop
//! accepting, stop Raft, let storage close). Everything the services need
//! hangs off one [`member::Member`]; there is no global state.
//!
//! A fresh member with no Raft state initialises a collective of itself
//! (one voter), so the first command a new admin types works. Joining
//! another collective later replaces that state (see `join`).

mod admin_read;
mod admin_service;
mod admin_tree;
pub(crate) mod dial;
mod forwarder;
mod join;
mod listeners;
pub(crate) mod member;
mod peer_service;
mod proposer;
mod raft_net;
mod reconcile;
mod status;
mod wire;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use cohort_store::{MemberNode, NodeId, Raft};
use tokio::sync::watch;
use tracing::info;

use crate::config::ServeConfig;
use crate::identity::{DataKey, MemberIdentity, TrustTable};
use member::{Collective, Core, Member};

/// Runs a member until SIGINT or SIGTERM.
pub fn serve(config: ServeConfig) -> anyhow::Result<()> {
    init_logging();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(run(config, shutdown_signal()))
}

/// Logs to stderr; `COHORT_LOG` takes an env-filter (default `info`).
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("COHORT_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,openraft=error,sled=warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

/// Resolves on the first SIGINT or SIGTERM.
async fn shutdown_signal() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term => {}
    }
}

/// The life of a member, from start to `shutdown`.
pub async fn run(
    config: ServeConfig,
    shutdown: impl std::future::Future<Output = ()>,
) -> anyhow::Result<()> {
    // One crypto provider for the whole process (DESIGN.md section 2).
    let _ = rustls::crypto::ring::default_provider().install_default();

    let member_dir = config.data_dir.join("member");
    info!(dir = %config.data_dir.display(), "opening data directory");
    prepare_dirs(&config.data_dir, &member_dir)?;
    let name = config.name.clone().unwrap_or_else(default_name);

    let peer_listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| {
            format!(
                "cannot listen on {} for peers (is another member running?)",
                config.listen
            )
        })?;
    let peer_addr = peer_listener.local_addr()?;
    let mut config = config;
    if config.advertise.is_empty() {
        config.advertise = vec![advertised(peer_addr)];
    }

    info!(%name, "loading member identity");
    let hosts: Vec<String> = config.advertise.iter().map(|a| host_of(a)).collect();
    let identity = Arc::new(MemberIdentity::load_or_create(&member_dir, &name, &hosts)?);
    let raft_id = load_or_create_raft_id(&member_dir.join("raft_id"))?;
    let collective = load_or_create_collective(&member_dir)?;

    info!(raft_id, "opening Raft storage");
    let trust = TrustTable::new();
    trust.set(BTreeMap::from([(
        name.clone(),
        identity.ca_cert_der().to_vec(),
    )]));
    let dialer = dial::Dialer::new(identity.clone(), trust.clone());
    let core = start_core(raft_id, &member_dir, &dialer).await?;
    let tree = Arc::new(
        crate::tree::Tree::open(&config.data_dir).context("cannot open the tree's blob store")?,
    );
    let member = Arc::new(Member::new(
        member::Base {
            name: name.clone(),
            raft_id,
            config: config.clone(),
            identity,
            trust,
            dialer,
            tree,
        },
        core,
        collective,
    ));
    bootstrap_if_fresh(&member).await?;

    let (stop_tx, stop_rx) = watch::channel(false);
    info!(peer = %peer_addr, socket = %config.socket_path().display(), https = %config.https_listen, "serving");
    let servers = listeners::start(member.clone(), peer_listener, stop_rx.clone()).await?;
    let tasks = vec![
        tokio::spawn(reconcile::trust_refresher(member.clone(), stop_rx.clone())),
        tokio::spawn(reconcile::membership_reconciler(
            member.clone(),
            stop_rx.clone(),
        )),
        tokio::spawn(reconcile::register_self(member.clone(), stop_rx.clone())),
        // The synchronized tree: fetch, place, collect, scrub.
        tokio::spawn(crate::tree::sync::run(member.clone(), stop_rx.clone())),
    ];

    shutdown.await;
    info!("shutting down: closing listeners");
    let _ = stop_tx.send(true);
    for s in servers {
        let _ = s.await;
    }
    for t in tasks {
        t.abort();
    }
    info!("shutting down: stopping Raft");
    let _ = member.core().raft.shutdown().await;
    let _ = std::fs::remove_file(config.socket_path());
    info!("stopped");
    Ok(())
}

/// Opens storage and starts Raft on it.
async fn start_core(
    raft_id: NodeId,
    member_dir: &Path,
    dialer: &dial::Dialer,
) -> anyhow::Result<Core> {
    let (log, sm) = cohort_store::open(&member_dir.join("raft"))
        .await
        .context("cannot open Raft storage")?;
    let state = sm.handle();
    let raft_config = openraft::Config {
        cluster_name: "cohort".to_owned(),
        // Failover is detection (an election timeout) plus one vote round:
        // 100-200 ms keeps the median under half a second. A heartbeat every
        // 30 ms leaves three chances per timeout, which the benchmark checks
        // under full write load on 2 shared cores (no elections seen).
        heartbeat_interval: 30,
        election_timeout_min: 100,
        election_timeout_max: 200,
        // Snapshot chunks travel over TLS between busy members; openraft's
        // 200 ms default made large snapshots resend forever elsewhere.
        install_snapshot_timeout: 3000,
        ..Default::default()
    };
    let raft_config = Arc::new(raft_config.validate().context("Raft timing")?);
    let network = raft_net::PeerNetworkFactory::new(dialer.clone());
    let raft = Raft::new(raft_id, raft_config, network, log, sm)
        .await
        .context("cannot start Raft")?;
    let proposer = proposer::Proposer::start(raft.clone());
    Ok(Core {
        raft,
        state,
        proposer,
    })
}

/// Discards this member's own Raft state and starts Raft afresh as a
/// member of the collective it joined (`id`, `data_key`).
pub(crate) async fn switch_core(
    member: &Member,
    id: [u8; 16],
    data_key: DataKey,
) -> anyhow::Result<()> {
    let member_dir = member.config.data_dir.join("member");
    info!("leaving this member's own collective: stopping Raft");
    member
        .core()
        .raft
        .shutdown()
        .await
        .map_err(|e| anyhow::anyhow!("cannot stop Raft: {e}"))?;
    // Raft owned the storage; it is closed now, so the files can go.
    let raft_dir = member_dir.join("raft");
    std::fs::remove_dir_all(&raft_dir)
        .with_context(|| format!("cannot discard {}", raft_dir.display()))?;
    write_private(&member_dir.join("collective_id"), &id)?;
    data_key.store(&member_dir.join("datakey"))?;
    let core = start_core(member.raft_id, &member_dir, &member.dialer).await?;
    member.replace_core(core);
    member.replace_collective(Collective { id, data_key });
    Ok(())
}

/// A member that has never been part of a collective becomes a collective
/// of one voter: itself.
async fn bootstrap_if_fresh(member: &Member) -> anyhow::Result<()> {
    let core = member.core();
    if core.raft.is_initialized().await.context("Raft state")? {
        return Ok(());
    }
    info!("no collective yet: initialising a collective of this member alone");
    let node = MemberNode {
        name: member.name.clone(),
        addr: member.config.advertise.first().cloned().unwrap_or_default(),
    };
    core.raft
        .initialize(BTreeMap::from([(member.raft_id, node)]))
        .await
        .context("cannot initialise the collective")?;
    Ok(())
}

fn prepare_dirs(data_dir: &Path, member_dir: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("cannot create data directory {}", data_dir.display()))?;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(member_dir)
        .with_context(|| format!("cannot create {}", member_dir.display()))?;
    std::fs::set_permissions(member_dir, std::fs::Permissions::from_mode(0o700))?;
    for sub in ["tree/public", "tree/private"] {
        std::fs::create_dir_all(data_dir.join(sub))?;
    }
    Ok(())
}

/// The short host name, as confluent defaults `myname`.
fn default_name() -> String {
    let raw = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    let short = raw.trim().split('.').next().unwrap_or_default().to_owned();
    if short.is_empty() {
        "cohort".to_owned()
    } else {
        short
    }
}

/// The address others should dial: the bound one, with an unspecified IP
/// replaced by loopback (a real deployment passes `--advertise`).
fn advertised(addr: std::net::SocketAddr) -> String {
    if addr.ip().is_unspecified() {
        format!("127.0.0.1:{}", addr.port())
    } else {
        addr.to_string()
    }
}

fn host_of(addr: &str) -> String {
    addr.parse::<std::net::SocketAddr>()
        .map(|a| a.ip().to_string())
        .unwrap_or_else(|_| addr.rsplit_once(':').map_or(addr, |(h, _)| h).to_owned())
}

/// This member's Raft id: random once per data directory (a rebuilt member
/// gets a new one, as openraft requires).
fn load_or_create_raft_id(path: &Path) -> anyhow::Result<NodeId> {
    if let Ok(text) = std::fs::read_to_string(path) {
        return text.trim().parse().with_context(|| {
            format!(
                "{} is damaged: move the data directory away to start afresh",
                path.display()
            )
        });
    }
    let id = u64::from_le_bytes(random_bytes::<8>()) >> 1 | 1;
    write_private(path, id.to_string().as_bytes())?;
    Ok(id)
}

/// The collective id and data key this member holds (its own until it joins
/// another collective).
fn load_or_create_collective(member_dir: &Path) -> anyhow::Result<Collective> {
    let id_path = member_dir.join("collective_id");
    let key_path = member_dir.join("datakey");
    let id = match std::fs::read(&id_path) {
        Ok(bytes) if bytes.len() == 16 => {
            let mut id = [0u8; 16];
            id.copy_from_slice(&bytes);
            id
        }
        Ok(_) => anyhow::bail!("{} is damaged", id_path.display()),
        Err(_) => {
            let id = random_bytes::<16>();
            write_private(&id_path, &id)?;
            id
        }
    };
    let data_key = if key_path.exists() {
        DataKey::load(&key_path)?
    } else {
        let key = DataKey::generate()?;
        key.store(&key_path)?;
        key
    };
    Ok(Collective { id, data_key })
}

/// Writes a file only this user can read, durably (identity's atomic write).
fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    Ok(crate::identity::write_atomic(path, bytes, 0o600)?)
}

/// Cryptographic random bytes.
pub(crate) fn random_bytes<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    // SystemRandom reads the kernel's getrandom; failure means the kernel
    // cannot give randomness at all, which no member can run without.
    if ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut out).is_err() {
        panic!("the kernel's random number generator is unavailable");
    }
    out
}

pub(crate) fn random_u128() -> u128 {
    u128::from_le_bytes(random_bytes::<16>())
}

pub(crate) fn sha256(bytes: &[u8]) -> [u8; 32] {
    let d = ring::digest::digest(&ring::digest::SHA256, bytes);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

/// How often background tasks look at the state when nothing woke them.
pub(crate) const TICK: Duration = Duration::from_millis(500);
