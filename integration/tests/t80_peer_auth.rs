//! Peer authentication: a peer whose certificate is not in the member
//! table is refused on every member-only RPC, and a removed member is
//! refused at once.

use std::time::Duration;

use cohort_integration::admin::{connect, node_value, set_nodes, show, write_id};
use cohort_integration::checks::{assert_roles, define_keys, keep_on_error, one_at_a_time};
use cohort_integration::rogue::RogueIdentity;
use cohort_integration::{Cluster, wait_for};
use cohort_proto::peer_client::PeerClient;
use cohort_proto::{
    PeerStatusRequest, RAFT_WIRE_VERSION, RaftMessage, ReadIndexRequest, RemoveMemberRequest,
    WriteRequest,
};
use tokio::time::Instant;
use tonic::Code;
use tonic::transport::Channel;

/// A Raft envelope whose payload is not even bincode: a member that got
/// as far as decoding it would say INVALID_ARGUMENT, not UNAUTHENTICATED.
fn junk() -> RaftMessage {
    RaftMessage {
        wire_version: RAFT_WIRE_VERSION,
        payload: vec![0xff; 16].into(),
    }
}

/// Calls every member-only RPC and returns `(rpc, outcome)` for each:
/// `Ok` or the status code and message.
async fn call_everything(
    client: &mut PeerClient<Channel>,
) -> Vec<(&'static str, Result<(), (Code, String)>)> {
    let err = |s: tonic::Status| (s.code(), s.message().to_owned());
    vec![
        (
            "Status",
            client
                .status(PeerStatusRequest {})
                .await
                .map(|_| ())
                .map_err(err),
        ),
        (
            "AppendEntries",
            client.append_entries(junk()).await.map(|_| ()).map_err(err),
        ),
        ("Vote", client.vote(junk()).await.map(|_| ()).map_err(err)),
        (
            "InstallSnapshot",
            client
                .install_snapshot(junk())
                .await
                .map(|_| ())
                .map_err(err),
        ),
        (
            "Forward",
            client.forward(junk()).await.map(|_| ()).map_err(err),
        ),
        (
            "ReadIndex",
            client
                .read_index(ReadIndexRequest {})
                .await
                .map(|_| ())
                .map_err(err),
        ),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t80_peer_with_a_certificate_not_in_the_member_table_is_refused() -> anyhow::Result<()> {
    let _serial = one_at_a_time().await;
    // Voters are kept odd, so three (a pair would leave one a learner).
    eprintln!("--- forming 3 voters");
    let mut cluster = Cluster::form("t80-rogue", 3, 0).await?;
    let result = rogue(&cluster).await;
    keep_on_error(&mut cluster, result)
}

async fn rogue(cluster: &Cluster) -> anyhow::Result<()> {
    let target = cluster.members[0].peer;

    eprintln!("--- control: m2's own certificate and key get through to m1");
    let mut real = RogueIdentity::of_member(&cluster.members[1].data_dir)?
        .peer_client(target)
        .await?;
    let status = real.status(PeerStatusRequest {}).await?.into_inner();
    assert_eq!(status.name, "m1");
    for (rpc, outcome) in call_everything(&mut real).await {
        eprintln!("    {rpc}: {outcome:?}");
        if let Err((code, message)) = outcome {
            assert_ne!(
                code,
                Code::Unauthenticated,
                "{rpc} refused the real m2: {message}"
            );
        }
    }

    let cases = [
        (
            "a forged chain claiming to be m2 (in the table, another CA)",
            RogueIdentity::forged("m2")?,
            "does not chain to the CA recorded for that member",
        ),
        (
            "a forged chain claiming to be rogue (not in the table)",
            RogueIdentity::forged("rogue")?,
            "which is not in the member table",
        ),
        (
            "no certificate at all",
            RogueIdentity::anonymous(),
            "presented no certificate",
        ),
    ];
    for (what, identity, needle) in cases {
        eprintln!("--- {what}");
        let mut client = identity.peer_client(target).await?;
        for (rpc, outcome) in call_everything(&mut client).await {
            eprintln!("    {rpc}: {outcome:?}");
            match outcome {
                Err((Code::Unauthenticated, message)) if message.contains(needle) => {}
                other => anyhow::bail!(
                    "{what}: {rpc} answered {other:?}, expected UNAUTHENTICATED with {needle:?}"
                ),
            }
        }
    }
    eprintln!("--- the collective is untouched");
    let s = show(&cluster.members[0].socket()).await?;
    let names: Vec<(&str, &str)> = s
        .members
        .iter()
        .map(|m| (m.name.as_str(), m.role.as_str()))
        .collect();
    assert_eq!(names, [("m1", "voter"), ("m2", "voter"), ("m3", "voter")]);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t80_removed_member_is_refused_at_once() -> anyhow::Result<()> {
    let _serial = one_at_a_time().await;
    eprintln!("--- forming 3 voters");
    let mut cluster = Cluster::form("t80-removed", 3, 0).await?;
    let result = removed(&cluster).await;
    keep_on_error(&mut cluster, result)
}

async fn removed(cluster: &Cluster) -> anyhow::Result<()> {
    assert_roles(cluster, 0, 3, 0).await?;
    define_keys(cluster, 0, 1).await?;
    let leader = cluster.leader(0).await?;
    // Remove a follower: the leader never removes itself (it waits until
    // another member leads), which is another test.
    let gone = (0..3).rev().find(|&i| i != leader).expect("a follower");
    let admin = (0..3).find(|&i| i != gone).expect("another member");
    let name = cluster.members[gone].name.clone();
    eprintln!("--- {name} still holds a working certificate");
    let mut before = RogueIdentity::of_member(&cluster.members[gone].data_dir)?
        .peer_client(cluster.members[admin].peer)
        .await?;
    before.status(PeerStatusRequest {}).await?;

    eprintln!(
        "--- collective remove {name}, through {}",
        cluster.members[admin].name
    );
    let removed_at = Instant::now();
    connect(&cluster.members[admin].socket())
        .await?
        .remove_member(RemoveMemberRequest { name: name.clone() })
        .await?;
    for other in (0..3).filter(|&i| i != gone) {
        let m = &cluster.members[other];
        let lists = wait_for(
            &format!("{} to stop listing {name}", m.name),
            Duration::from_secs(10),
            || async {
                let s = show(&m.socket()).await.ok()?;
                (!s.members.iter().any(|x| x.name == name)).then_some(())
            },
        )
        .await;
        lists?;
        eprintln!(
            "    {} no longer lists {name} ({:?})",
            m.name,
            removed_at.elapsed()
        );
        // Its real certificate is refused by this member within a trust
        // refresh.
        let refused = wait_for(
            &format!("{} to refuse {name}'s certificate", m.name),
            Duration::from_secs(5),
            || async {
                let mut c = RogueIdentity::of_member(&cluster.members[gone].data_dir)
                    .ok()?
                    .peer_client(m.peer)
                    .await
                    .ok()?;
                match c.status(PeerStatusRequest {}).await {
                    Err(s) if s.code() == Code::Unauthenticated => Some(s.message().to_owned()),
                    _ => None,
                }
            },
        )
        .await?;
        eprintln!(
            "    {} refuses {name} {:?} after the removal: {refused}",
            m.name,
            removed_at.elapsed()
        );
        assert!(refused.contains("not in the member table"), "{refused}");
    }

    eprintln!("--- a write through {name}'s own, still running, process fails");
    let mut c = connect(&cluster.members[gone].socket()).await?;
    let started = Instant::now();
    let write = c.write(WriteRequest {
        id: write_id(0x80, 1),
        action: Some(set_nodes("k1", &["info.note=from-a-removed-member"])),
    });
    match tokio::time::timeout(Duration::from_secs(15), write).await {
        Err(_) => anyhow::bail!("the write through the removed {name} hangs"),
        Ok(Ok(r)) => anyhow::bail!("the write through the removed {name} was acknowledged: {r:?}"),
        Ok(Err(s)) => {
            eprintln!(
                "    refused after {:?}: {:?} {:?}",
                started.elapsed(),
                s.code(),
                s.message()
            );
            assert!(
                s.message()
                    .contains(&format!("this member ({name}) was removed")),
                "the removed member should say so, not: {:?}",
                s.message()
            );
        }
    }
    let mut c = connect(&cluster.members[admin].socket()).await?;
    let value = node_value(&mut c, "k1", "info.note", false).await?;
    assert_eq!(value, None, "the removed member's write landed");
    Ok(())
}
