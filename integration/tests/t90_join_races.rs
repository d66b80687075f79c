//! Joins that happen right after a member starts, as `Cluster::form` (and
//! an admin with a script) does them. Two races in the product show here
//! (see the report of the change that added this file):
//!
//! - a non-voter joined less than about a second after its start is
//!   re-recorded as a voter by its own start-up registration
//!   (`register_self` defaults the role to voter while the freshly joined
//!   state has no record of it yet), and the leader then promotes it;
//! - a joiner can end up not trusting the leader (its trust table holds
//!   only itself), so it refuses every AppendEntries and never catches up:
//!   the trust refresher, ticking while the join swaps Raft cores, reads
//!   the old single-member state and overwrites the trust the join set.

use std::time::Duration;

use cohort_integration::admin::{connect, show};
use cohort_integration::checks::{keep_on_error, one_at_a_time};
use cohort_integration::{Cluster, wait_for};
use cohort_proto::{CreateInviteRequest, JoinCollectiveRequest};
use tokio::time::Instant;

/// Invites `name` on m1 and joins member `index` with the token at once.
async fn join_now(cluster: &Cluster, index: usize, nonvoting: bool) -> anyhow::Result<()> {
    let name = cluster.members[index].name.clone();
    let token = connect(&cluster.members[0].socket())
        .await?
        .create_invite(CreateInviteRequest {
            name,
            nonvoting,
            ttl_seconds: 600,
        })
        .await?
        .into_inner()
        .token;
    connect(&cluster.members[index].socket())
        .await?
        .join_collective(JoinCollectiveRequest {
            address: cluster.members[0].peer.to_string(),
            token,
            force: false,
        })
        .await?;
    Ok(())
}

/// Waits until m1 reaches member `index` (its status probe is answered,
/// which the joiner does only once it trusts m1).
async fn wait_reachable(cluster: &Cluster, index: usize) -> anyhow::Result<()> {
    let name = cluster.members[index].name.clone();
    let first = cluster.members[0].socket();
    let reached = wait_for(
        &format!("m1 to reach {name}"),
        Duration::from_secs(20),
        || async {
            let s = show(&first).await.ok()?;
            s.members
                .iter()
                .any(|m| m.name == name && m.reachable)
                .then_some(())
        },
    )
    .await;
    if reached.is_err() {
        let refused = cluster
            .log(0)
            .lines()
            .filter(|l| l.contains("claims to be member \"m1\", which is not in the member table"))
            .count();
        anyhow::bail!(
            "PRODUCT BUG: {name} joined but m1 cannot reach it after 20 s; m1's log shows {refused} \
             peer calls refused with \"the caller claims to be member \\\"m1\\\", which is not in \
             the member table\" ({name} does not trust the leader, so it never catches up)"
        );
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t90_members_joined_right_after_start_are_reachable() -> anyhow::Result<()> {
    let _serial = one_at_a_time().await;
    let mut cluster = Cluster::new("t90-trust")?;
    let result = async {
        eprintln!("--- start m1..m4, then join m2..m4 to m1 at once (as Cluster::form does)");
        for name in ["m1", "m2", "m3", "m4"] {
            let i = cluster.spawn(name)?;
            cluster.wait_ready(i).await?;
        }
        for i in 1..4 {
            join_now(&cluster, i, i == 3).await?;
        }
        for i in 1..4 {
            wait_reachable(&cluster, i).await?;
            eprintln!("    m1 reaches {}", cluster.members[i].name);
        }
        Ok(())
    }
    .await;
    keep_on_error(&mut cluster, result)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t90_nonvoters_joined_right_after_start_stay_nonvoters() -> anyhow::Result<()> {
    let _serial = one_at_a_time().await;
    eprintln!("--- a collective of m1 alone");
    let mut cluster = Cluster::form("t90-role", 1, 0).await?;
    let result = async {
        for name in ["m2", "m3", "m4"] {
            eprintln!("--- start {name} and join it as a non-voter at once");
            let i = cluster.spawn(name)?;
            cluster.wait_ready(i).await?;
            join_now(&cluster, i, true).await?;
        }
        for i in 1..4 {
            wait_reachable(&cluster, i).await?;
        }
        // A voter-role learner is promoted within a reconciler tick or two
        // (0.5 s each) of catching up; watch for six.
        eprintln!("--- all three reachable; watching their roles for 3 s");
        let first = cluster.members[0].socket();
        let watched = Instant::now();
        let promoted = wait_for(
            "a non-voter to be promoted",
            Duration::from_secs(3),
            || async {
                let s = show(&first).await.ok()?;
                let voters: Vec<String> = s
                    .members
                    .iter()
                    .filter(|m| m.name != "m1" && m.role == "voter")
                    .map(|m| m.name.clone())
                    .collect();
                (!voters.is_empty()).then_some(voters)
            },
        )
        .await;
        if let Ok(voters) = promoted {
            anyhow::bail!(
                "PRODUCT BUG: {voters:?}, invited and joined as non-voters, became voters \
                 ({:?} into the watch)",
                watched.elapsed()
            );
        }
        let s = show(&first).await?;
        let roles: Vec<(&str, &str)> = s
            .members
            .iter()
            .map(|m| (m.name.as_str(), m.role.as_str()))
            .collect();
        assert_eq!(
            roles,
            [
                ("m1", "voter"),
                ("m2", "nonvoter"),
                ("m3", "nonvoter"),
                ("m4", "nonvoter")
            ]
        );
        Ok(())
    }
    .await;
    keep_on_error(&mut cluster, result)
}
