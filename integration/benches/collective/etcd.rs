//! The etcd side: a 3-member etcd on 127.0.0.1 (Debian's etcd-server, as
//! in peers.md section 7) with its default timing (heartbeat 100 ms,
//! election 1000 ms) and its default fsync of every WAL write, driven
//! through the `etcd-client` crate over gRPC, like cohort's admin clients.
//!
//! Ports are picked free, data lives in a temporary directory removed on
//! drop, and every process is killed by its PID on drop. The binary is
//! `etcd` on PATH or `$COHORT_BENCH_ETCD`; the variable must not start
//! with `ETCD_`, since etcd reads every such variable as a flag.

use std::net::{Ipv4Addr, TcpListener};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, bail};
use cohort_integration::wait_for;
use etcd_client::{Client, KvClient};

use crate::failover::Trio;
use crate::load::{Writer, value};

fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?
        .local_addr()?
        .port())
}

/// The etcd binary.
pub fn binary() -> PathBuf {
    std::env::var_os("COHORT_BENCH_ETCD").map_or_else(|| PathBuf::from("etcd"), PathBuf::from)
}

/// `etcd --version`'s first line, for the report.
pub fn version() -> String {
    Command::new(binary())
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.lines().next().map(str::to_owned))
        .unwrap_or_else(|| "etcd: not found".to_owned())
}

struct EtcdMember {
    client_port: u16,
    peer_port: u16,
    child: Option<Child>,
}

/// Three etcd members and their temporary directory.
pub struct Etcd {
    dir: tempfile::TempDir,
    members: Vec<EtcdMember>,
}

impl Etcd {
    /// Starts the three members and waits until they elected a leader.
    pub async fn start() -> anyhow::Result<Etcd> {
        let dir = tempfile::Builder::new()
            .prefix("cohort-bench-etcd-")
            .tempdir()?;
        let mut members = Vec::new();
        for _ in 0..3 {
            members.push(EtcdMember {
                client_port: free_port()?,
                peer_port: free_port()?,
                child: None,
            });
        }
        let mut etcd = Etcd { dir, members };
        for i in 0..3 {
            etcd.spawn(i)?;
        }
        etcd.wait_healthy().await?;
        Ok(etcd)
    }

    /// Keeps the data directories and logs after the run (on failure).
    pub fn keep(&mut self) {
        self.dir.disable_cleanup(true);
        println!("etcd data and logs kept in {}", self.dir.path().display());
    }

    /// The client URL of member `i`.
    pub fn endpoint(&self, i: usize) -> String {
        format!("http://127.0.0.1:{}", self.members[i].client_port)
    }

    fn spawn(&mut self, i: usize) -> anyhow::Result<()> {
        let cluster = (0..3)
            .map(|j| format!("m{}=http://127.0.0.1:{}", j + 1, self.members[j].peer_port))
            .collect::<Vec<_>>()
            .join(",");
        let client = self.endpoint(i);
        let peer = format!("http://127.0.0.1:{}", self.members[i].peer_port);
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join(format!("m{}.log", i + 1)))?;
        // Only what peers.md section 7 passes: addresses and the initial
        // cluster. Timing, fsync and snapshots stay at etcd's defaults. On a
        // restart etcd ignores the --initial-* flags and uses its data.
        let child = Command::new(binary())
            .args(["--name", &format!("m{}", i + 1)])
            .arg("--data-dir")
            .arg(self.dir.path().join(format!("m{}.etcd", i + 1)))
            .args([
                "--listen-client-urls",
                &client,
                "--advertise-client-urls",
                &client,
            ])
            .args([
                "--listen-peer-urls",
                &peer,
                "--initial-advertise-peer-urls",
                &peer,
            ])
            .args([
                "--initial-cluster",
                &cluster,
                "--initial-cluster-state",
                "new",
            ])
            .args(["--initial-cluster-token", "cohort-bench"])
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| {
                format!("cannot start {} (install etcd-server)", binary().display())
            })?;
        self.members[i].child = Some(child);
        Ok(())
    }

    /// A client on member `i` alone (its own connection).
    pub async fn client(&self, i: usize) -> anyhow::Result<Client> {
        Client::connect([self.endpoint(i)], None)
            .await
            .with_context(|| format!("cannot reach etcd m{}", i + 1))
    }

    /// (own member id, leader id, applied index) of member `i`.
    async fn status(&self, i: usize) -> anyhow::Result<(u64, u64, u64)> {
        let mut c = self.client(i).await?;
        let s = tokio::time::timeout(Duration::from_secs(1), c.status())
            .await
            .context("status timed out")??;
        let own = s
            .header()
            .map(|h| h.member_id())
            .context("status without a header")?;
        Ok((own, s.leader(), s.raft_applied_index()))
    }

    /// Until every running member answers, all name the same leader, and
    /// all applied the same index (the restarted one caught up).
    async fn wait_healthy(&self) -> anyhow::Result<()> {
        let this = self;
        wait_for(
            "etcd to be healthy",
            Duration::from_secs(60),
            || async move {
                let mut seen = Vec::new();
                for i in 0..3 {
                    seen.push(this.status(i).await.ok()?);
                }
                let (_, leader, applied) = seen[0];
                let same = seen.iter().all(|s| s.1 == leader && s.2 == applied);
                let known = seen.iter().any(|s| s.0 == leader);
                (leader != 0 && same && known).then_some(())
            },
        )
        .await
    }
}

impl Drop for Etcd {
    fn drop(&mut self) {
        for m in &mut self.members {
            if let Some(mut child) = m.child.take() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
        // The TempDir field removes the data directories after this.
    }
}

/// One etcd client: puts to its own key.
#[derive(Clone)]
pub struct EtcdWriter {
    kv: KvClient,
    key: String,
}

impl Writer for EtcdWriter {
    async fn write(&mut self, seq: u64) -> anyhow::Result<()> {
        self.kv.put(self.key.as_bytes(), value(seq), None).await?;
        Ok(())
    }
}

impl Etcd {
    /// Writer number `n` (1-based), on member `member`, putting key `bN`
    /// (the same key cohort's writer `n` sets `info.note` on).
    pub async fn writer(&self, n: usize, member: usize) -> anyhow::Result<EtcdWriter> {
        Ok(EtcdWriter {
            kv: self.client(member).await?.kv_client(),
            key: format!("b{n}"),
        })
    }
}

impl Trio for Etcd {
    type W = EtcdWriter;

    async fn leader(&mut self) -> anyhow::Result<usize> {
        let mut ids = Vec::new();
        let mut leader = 0;
        for i in 0..3 {
            let (own, l, _) = self.status(i).await?;
            ids.push(own);
            leader = l;
        }
        match ids.iter().position(|id| *id == leader) {
            Some(i) => Ok(i),
            None => bail!("no etcd member is the leader ({leader:x})"),
        }
    }

    async fn probe(&mut self, member: usize) -> anyhow::Result<EtcdWriter> {
        Etcd::writer(self, 1000 + member, member).await
    }

    fn pids(&self) -> Vec<u32> {
        self.members
            .iter()
            .filter_map(|m| m.child.as_ref().map(Child::id))
            .collect()
    }

    fn kill(&mut self, member: usize) -> anyhow::Result<()> {
        if let Some(mut child) = self.members[member].child.take() {
            child.kill()?;
            child.wait()?;
        }
        Ok(())
    }

    async fn restart(&mut self, member: usize) -> anyhow::Result<()> {
        self.spawn(member)?;
        self.wait_healthy().await
    }
}
