//! The cohort side: three voters formed by the test harness, written to
//! through their admin sockets exactly as the CLI does.
//!
//! Each write is one `Write` RPC setting `info.note` on one node, with a
//! fresh write id: a load client numbers its writes 1, 2, 3... under its own
//! client id, as the CLI does. The failover probe has several writes in
//! flight at once, which may commit out of order, and the state machine
//! refuses a sequence number below one it already applied; so each probe
//! write gets a client id of its own instead.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use cohort_integration::admin::{connect, set_nodes, show, write_id};
use cohort_integration::{Cluster, wait_for};
use cohort_proto::WriteRequest;
use cohort_proto::admin_client::AdminClient;
use tonic::transport::Channel;

use crate::failover::Trio;
use crate::load::{Writer, value};

/// One cohort client: its own connection to one member's admin socket.
#[derive(Clone)]
pub struct CohortWriter {
    client: AdminClient<Channel>,
    id: u128,
    node: String,
    /// A client id per write (the failover probe), else one per writer.
    id_per_write: bool,
}

impl Writer for CohortWriter {
    async fn write(&mut self, seq: u64) -> anyhow::Result<()> {
        let assignment = format!("info.note={}", value(seq));
        self.client
            .write(WriteRequest {
                id: if self.id_per_write {
                    write_id(self.id ^ u128::from(seq), 1)
                } else {
                    write_id(self.id, seq)
                },
                action: Some(set_nodes(&self.node, &[&assignment])),
            })
            .await?;
        Ok(())
    }
}

/// A write-id client part unique to this run and `n`: the clock makes
/// repeated runs differ, `n` the clients of one run.
fn client_id(n: usize) -> u128 {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    (now << 32) ^ n as u128
}

/// The harness cluster plus what the failover rounds need.
pub struct Cohort {
    pub cluster: Cluster,
}

impl Cohort {
    /// Writer number `n` (1-based), on member `member`, setting
    /// `info.note` of node `bN` (defined beforehand).
    pub async fn writer(&self, n: usize, member: usize) -> anyhow::Result<CohortWriter> {
        Ok(CohortWriter {
            client: connect(&self.cluster.members[member].socket()).await?,
            id: client_id(n),
            node: format!("b{n}"),
            id_per_write: false,
        })
    }

    /// Until the restarted member sees a leader and every member reachable,
    /// and the leader sees every member reachable and caught up.
    async fn wait_healthy(&self) -> anyhow::Result<()> {
        let sockets: Vec<_> = self.cluster.members.iter().map(|m| m.socket()).collect();
        wait_for("cohort to be healthy", Duration::from_secs(60), || {
            let sockets = sockets.clone();
            async move {
                let mut leaders = Vec::new();
                for s in &sockets {
                    let st = show(s).await.ok()?;
                    if !st.members.iter().all(|m| m.reachable) {
                        return None;
                    }
                    leaders.push(st.members.iter().position(|m| m.leader)?);
                }
                let leader = leaders[0];
                if leaders.iter().any(|l| *l != leader) {
                    return None;
                }
                let st = show(&sockets[leader]).await.ok()?;
                st.members
                    .iter()
                    .all(|m| m.reachable && m.lag == 0)
                    .then_some(())
            }
        })
        .await
    }
}

impl Trio for Cohort {
    type W = CohortWriter;

    async fn leader(&mut self) -> anyhow::Result<usize> {
        self.cluster.leader(0).await
    }

    async fn probe(&mut self, member: usize) -> anyhow::Result<CohortWriter> {
        let mut w = Cohort::writer(self, 1000 + member, member).await?;
        w.id_per_write = true;
        Ok(w)
    }

    fn pids(&self) -> Vec<u32> {
        self.cluster
            .members
            .iter()
            .filter_map(|m| m.pid())
            .collect()
    }

    fn kill(&mut self, member: usize) -> anyhow::Result<()> {
        self.cluster.members[member].kill()
    }

    async fn restart(&mut self, member: usize) -> anyhow::Result<()> {
        self.cluster.members[member].restart()?;
        self.cluster
            .wait_ready(member)
            .await
            .with_context(|| format!("m{} after restart", member + 1))?;
        self.wait_healthy().await
    }
}
