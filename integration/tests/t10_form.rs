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
