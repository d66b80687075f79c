//! A collective of 3 voters and 1 non-voter forms from invites, and every
//! member accepts writes and serves what the others wrote.

use cohort_integration::Cluster;
use cohort_integration::admin::{connect, define_nodes, node_value, set_nodes, write_id};
use cohort_proto::WriteRequest;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t10_three_voters_and_a_nonvoter_accept_writes_everywhere() -> anyhow::Result<()> {
    let cluster = Cluster::form("t10", 3, 1).await?;
    let status = cohort_integration::admin::show(&cluster.members[0].socket()).await?;
    let roles: Vec<(&str, &str)> = status
        .members
        .iter()
        .map(|m| (m.name.as_str(), m.role.as_str()))
        .collect();
    assert_eq!(
        roles,
        [
            ("m1", "voter"),
            ("m2", "voter"),
            ("m3", "voter"),
            ("m4", "nonvoter")
        ]
    );
    // Formed: Raft holds every member in the role it was invited for.
    for m in &status.members {
        assert!(!m.joining, "{} still joining: {m:?}", m.name);
        assert_eq!(m.intended_role, m.role, "{}", m.name);
    }

    let mut c = connect(&cluster.members[0].socket()).await?;
    c.write(WriteRequest {
        id: write_id(1, 1),
        action: Some(define_nodes("n[1-4]", &[])),
    })
    .await?;
    for (i, m) in cluster.members.iter().enumerate() {
        let mut c = connect(&m.socket()).await?;
        let node = format!("n{}", i + 1);
        let assignment = format!("info.note=written-through-{}", m.name);
        c.write(WriteRequest {
            id: write_id(100 + i as u128, 1),
            action: Some(set_nodes(&node, &[&assignment])),
        })
        .await?;
    }
    for m in &cluster.members {
        let mut c = connect(&m.socket()).await?;
        for (i, writer) in cluster.members.iter().enumerate() {
            let got = node_value(&mut c, &format!("n{}", i + 1), "info.note", false).await?;
            assert_eq!(
                got.as_deref(),
                Some(format!("written-through-{}", writer.name).as_str()),
                "read on {}",
                m.name
            );
        }
    }
    Ok(())
}

/// A follower queues the writes it forwards and sends them to the leader
/// in batches (`server/forwarder.rs`): a hundred concurrent writers through
/// one follower, far more than it has RPCs in flight, all get their own
/// answer (every third one names an undefined node and must be the one
/// refused) and all accepted values land, each on its own node.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t10_concurrent_writes_through_a_follower_all_land() -> anyhow::Result<()> {
    const WRITERS: usize = 100;
    let cluster = Cluster::form("t10b", 3, 0).await?;
    let leader = cluster.leader(0).await?;
    let follower = (leader + 1) % 3;
    let mut c = connect(&cluster.members[follower].socket()).await?;
    c.write(WriteRequest {
        id: write_id(1, 1),
        action: Some(define_nodes(&format!("n[1-{WRITERS}]"), &[])),
    })
    .await?;
    let writers: Vec<_> = (1..=WRITERS)
        .map(|i| {
            let mut c = c.clone();
            let node = if i % 3 == 0 {
                format!("undefined{i}")
            } else {
                format!("n{i}")
            };
            tokio::spawn(async move {
                c.write(WriteRequest {
                    id: write_id(1000 + i as u128, 1),
                    action: Some(set_nodes(&node, &[&format!("info.note=w{i}")])),
                })
                .await
                .map(|reply| reply.into_inner().changed)
            })
        })
        .collect();
    for (i, writer) in (1..).zip(writers) {
        match writer.await? {
            Ok(changed) if i % 3 != 0 => assert_eq!(changed, 1, "writer {i}"),
            Ok(changed) => panic!("writer {i} named an undefined node and changed {changed}"),
            Err(status) if i % 3 == 0 => assert!(
                status.message().contains(&format!("undefined{i}")),
                "writer {i}: {status:?}"
            ),
            Err(status) => panic!("writer {i} was refused: {status:?}"),
        }
    }
    let mut c = connect(&cluster.members[leader].socket()).await?;
    for i in 1..=WRITERS {
        let got = node_value(&mut c, &format!("n{i}"), "info.note", false).await?;
        let want = (i % 3 != 0).then(|| format!("w{i}"));
        assert_eq!(got, want, "n{i} on the leader");
    }
    Ok(())
}
