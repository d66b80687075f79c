//! `collective remove` of the leader itself: the leader leaves the voters,
//! another member leads, the collective goes on with the two left (writes
//! through them succeed, `collective show` lists only them), and the
//! removed process, still running, refuses writes saying it was removed.

use std::time::Duration;

use cohort_integration::admin::{connect, define_nodes, node_value, show, write_id};
use cohort_integration::checks::{assert_roles, keep_on_error, one_at_a_time};
use cohort_integration::{Cluster, wait_for};
use cohort_proto::{RemoveMemberRequest, WriteRequest};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t85_removing_the_leader_hands_over() -> anyhow::Result<()> {
    let _serial = one_at_a_time().await;
    eprintln!("--- forming 3 voters");
    let mut cluster = Cluster::form("t85", 3, 0).await?;
    let result = scenario(&cluster).await;
    keep_on_error(&mut cluster, result)
}

async fn scenario(cluster: &Cluster) -> anyhow::Result<()> {
    assert_roles(cluster, 0, 3, 0).await?;
    let leader = cluster.leader(0).await?;
    let via = (leader + 1) % 3;
    let name = cluster.members[leader].name.clone();
    eprintln!(
        "--- collective remove {name} (the leader), through {}",
        cluster.members[via].name
    );
    connect(&cluster.members[via].socket())
        .await?
        .remove_member(RemoveMemberRequest { name: name.clone() })
        .await?;

    eprintln!("--- another member leads the two that are left");
    let new_leader = wait_for(
        "a new leader with 2 members listed",
        Duration::from_secs(20),
        || async {
            let s = show(&cluster.members[via].socket()).await.ok()?;
            let leader = s.members.iter().find(|m| m.leader)?;
            (s.members.len() == 2
                && leader.name != name
                && s.members.iter().all(|m| m.reachable && m.role == "voter"))
            .then(|| leader.name.clone())
        },
    )
    .await?;
    eprintln!("    {new_leader} leads");

    eprintln!("--- writes through both remaining members");
    for (seq, m) in (0..3).filter(|&i| i != leader).enumerate() {
        let mut c = connect(&cluster.members[m].socket()).await?;
        c.write(WriteRequest {
            id: write_id(0x85, seq as u64 + 1),
            action: Some(define_nodes(&format!("after{seq}"), &["location.rack=9"])),
        })
        .await?;
        let v = node_value(&mut c, &format!("after{seq}"), "location.rack", false).await?;
        anyhow::ensure!(v.as_deref() == Some("9"), "read back {v:?}");
    }

    eprintln!("--- the removed process refuses writes, saying why");
    let mut c = connect(&cluster.members[leader].socket()).await?;
    let write = c.write(WriteRequest {
        id: write_id(0x85, 10),
        action: Some(define_nodes("from-the-removed", &[])),
    });
    match tokio::time::timeout(Duration::from_secs(15), write).await {
        Err(_) => anyhow::bail!("a write through the removed leader hangs"),
        Ok(Ok(r)) => anyhow::bail!("the removed leader acknowledged a write: {r:?}"),
        Ok(Err(s)) => anyhow::ensure!(
            s.message()
                .contains(&format!("this member ({name}) was removed")),
            "the removed leader should say so, not: {:?}",
            s.message()
        ),
    }
    Ok(())
}
