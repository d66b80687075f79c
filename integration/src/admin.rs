//! Talking to members through their admin sockets, as the CLI does.

use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use cohort_proto::admin_client::AdminClient;
use cohort_proto::write_request::Action;
use cohort_proto::*;
use hyper_util::rt::TokioIo;
use tokio::net::UnixStream;
use tonic::transport::{Channel, Endpoint};

use crate::{Cluster, wait_for};

/// An admin client on a member's unix socket.
pub async fn connect(socket: &Path) -> anyhow::Result<AdminClient<Channel>> {
    let path = socket.to_owned();
    let channel = Endpoint::try_from("http://localhost")?
        .connect_with_connector(tower::service_fn(move |_| {
            let path = path.clone();
            async move { Ok::<_, std::io::Error>(TokioIo::new(UnixStream::connect(path).await?)) }
        }))
        .await
        .with_context(|| format!("cannot reach {}", socket.display()))?;
    Ok(AdminClient::new(channel))
}

/// A write id: `client` as 16 bytes, `seq`.
pub fn write_id(client: u128, seq: u64) -> Option<WriteId> {
    Some(WriteId {
        client: client.to_le_bytes().to_vec(),
        seq,
    })
}

/// `nodeattrib TARGET ASSIGNMENTS...` as one write.
pub fn set_nodes(target: &str, assignments: &[&str]) -> Action {
    Action::SetNodeAttributes(Assign {
        target: target.to_owned(),
        assignments: assignments.iter().map(|s| s.to_string()).collect(),
    })
}

/// `nodedefine TARGET ASSIGNMENTS...` as one write.
pub fn define_nodes(target: &str, assignments: &[&str]) -> Action {
    Action::DefineNodes(Assign {
        target: target.to_owned(),
        assignments: assignments.iter().map(|s| s.to_string()).collect(),
    })
}

/// `nodegroupdefine GROUP ASSIGNMENTS...` as one write.
pub fn define_group(group: &str, assignments: &[&str]) -> Action {
    Action::DefineGroup(Assign {
        target: group.to_owned(),
        assignments: assignments.iter().map(|s| s.to_string()).collect(),
    })
}

/// One attribute of one node (linearizable unless `local`).
pub async fn node_value(
    client: &mut AdminClient<Channel>,
    node: &str,
    attribute: &str,
    local: bool,
) -> Result<Option<String>, tonic::Status> {
    let mut stream = client
        .get_node_attributes(GetNodeAttributesRequest {
            read: Some(ReadOptions { local }),
            noderange: node.to_owned(),
            attributes: vec![attribute.to_owned()],
        })
        .await?
        .into_inner();
    while let Some(n) = stream.message().await? {
        if let Some(a) = n.attributes.into_iter().find(|a| a.name == attribute) {
            return Ok((!a.value.is_empty()).then_some(a.value));
        }
    }
    Ok(None)
}

/// `collective show`, read from one member.
pub async fn show(socket: &Path) -> anyhow::Result<CollectiveStatus> {
    let mut c = connect(socket).await?;
    Ok(c.show_collective(ShowCollectiveRequest {
        read: Some(ReadOptions { local: true }),
    })
    .await?
    .into_inner())
}

impl Cluster {
    /// Waits until member `index` answers on its admin socket.
    /// A member that exits meanwhile fails the wait at once, with the end
    /// of its log.
    pub async fn wait_ready(&self, index: usize) -> anyhow::Result<()> {
        let member = &self.members[index];
        let socket = member.socket();
        let exited = std::cell::Cell::new(false);
        let waited = wait_for(
            &format!("{} to serve", member.name),
            Duration::from_secs(30),
            || {
                let socket = socket.clone();
                let exited = &exited;
                async move {
                    if member.has_exited() {
                        exited.set(true);
                        return Some(());
                    }
                    show(&socket).await.ok().map(|_| ())
                }
            },
        )
        .await;
        if exited.get() || waited.is_err() {
            let log = self.log(index);
            let tail: Vec<&str> = log.lines().rev().take(30).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            let what = if exited.get() {
                format!("{} exited before it served", member.name)
            } else {
                format!("{} did not serve within 30 s", member.name)
            };
            anyhow::bail!("{what}; the end of its log:\n{}", tail.join("\n"));
        }
        Ok(())
    }

    /// Starts `voters` + `nonvoters` members (named m1, m2, ...) and joins
    /// them all to m1's collective with invites; waits until every member
    /// is in the collective with its role and reachable.
    pub async fn form(test: &str, voters: usize, nonvoters: usize) -> anyhow::Result<Cluster> {
        let mut cluster = Cluster::new(test)?;
        for i in 0..voters + nonvoters {
            let index = cluster.spawn(&format!("m{}", i + 1))?;
            cluster.wait_ready(index).await?;
        }
        let first = cluster.members[0].socket();
        for i in 1..voters + nonvoters {
            cluster.join(i, 0, i >= voters).await?;
        }
        let want = voters + nonvoters;
        wait_for(
            "every member to be in the collective with its role",
            Duration::from_secs(60),
            || {
                let first = first.clone();
                async move {
                    let s = show(&first).await.ok()?;
                    let voters_ok =
                        s.members.iter().filter(|m| m.role == "voter").count() == voters;
                    // `joining`: Raft does not hold it in its invited role
                    // yet, or its own record has not committed.
                    let all = s.members.len() == want
                        && s.members
                            .iter()
                            .all(|m| m.reachable && !m.joining && !m.leaving);
                    (voters_ok && all && s.members.iter().any(|m| m.leader)).then_some(())
                }
            },
        )
        .await?;
        Ok(cluster)
    }

    /// Invites member `index` through member `via` and joins it to `via`'s
    /// collective (as a voter unless `nonvoting`). Returns when the join
    /// call has answered; catching up is the caller's to wait for.
    pub async fn join(&self, index: usize, via: usize, nonvoting: bool) -> anyhow::Result<()> {
        let name = self.members[index].name.clone();
        let token = connect(&self.members[via].socket())
            .await?
            .create_invite(CreateInviteRequest {
                name: name.clone(),
                nonvoting,
                ttl_seconds: 600,
            })
            .await?
            .into_inner()
            .token;
        connect(&self.members[index].socket())
            .await?
            .join_collective(JoinCollectiveRequest {
                address: self.members[via].peer.to_string(),
                token,
                force: false,
            })
            .await
            .with_context(|| format!("{name} could not join"))?;
        Ok(())
    }

    /// Index of the member that currently leads, as seen by `from`.
    pub async fn leader(&self, from: usize) -> anyhow::Result<usize> {
        let s = show(&self.members[from].socket()).await?;
        let name = s
            .members
            .iter()
            .find(|m| m.leader)
            .map(|m| m.name.clone())
            .context("no leader known")?;
        self.members
            .iter()
            .position(|m| m.name == name)
            .context("leader is not a member of this cluster")
    }
}
