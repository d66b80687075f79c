//! SIGKILL of the leader while four clients write and read back through
//! every member: no acknowledged write is lost, the recorded history is
//! linearizable, and the killed member restarts and catches up.

use std::time::Duration;

use cohort_integration::checks::{
    assert_roles, define_keys, keep_on_error, one_at_a_time, read_all, read_finals, verify_history,
    wait_caught_up, wait_new_leader,
};
use cohort_integration::workload::Workload;
use cohort_integration::{Cluster, wait_for};
use tokio::time::Instant;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t20_leader_sigkill_under_load_loses_no_acknowledged_write() -> anyhow::Result<()> {
    let _serial = one_at_a_time().await;
    eprintln!("--- forming 3 voters + 1 non-voter");
    let mut cluster = Cluster::form("t20", 3, 1).await?;
    let result = failover(&mut cluster).await;
    keep_on_error(&mut cluster, result)
}

async fn failover(cluster: &mut Cluster) -> anyhow::Result<()> {
    assert_roles(cluster, 0, 3, 1).await?;
    let keys = define_keys(cluster, 0, 8).await?;

    eprintln!("--- 4 clients, one per member, write unique values to k1..k8 and read them back");
    let start = Instant::now();
    let load = Workload::start(cluster, &[0, 1, 2, 3], &keys);
    let recorder = load.recorder().clone();
    wait_for(
        "1 s of load and 30 acknowledged writes",
        Duration::from_secs(30),
        || async {
            (start.elapsed() >= Duration::from_secs(1) && load.acked_since(start) >= 30)
                .then_some(())
        },
    )
    .await?;

    let leader = cluster.leader(0).await?;
    let leader_name = cluster.members[leader].name.clone();
    eprintln!(
        "--- SIGKILL the leader {leader_name} after {} acknowledged writes",
        load.acked_since(start)
    );
    let killed = Instant::now();
    cluster.members[leader].kill()?;
    // A surviving voter reports the new leader.
    let witness = (leader + 1) % 3;
    let new_leader = wait_new_leader(cluster, witness, leader, Duration::from_secs(15)).await?;
    eprintln!(
        "--- {} leads {:?} after the kill",
        cluster.members[new_leader].name,
        killed.elapsed()
    );
    wait_for(
        "2 s more of load and 30 writes acknowledged after the kill",
        Duration::from_secs(30),
        || async {
            (killed.elapsed() >= Duration::from_secs(2) && load.acked_since(killed) >= 30)
                .then_some(())
        },
    )
    .await?;
    let failover = load.first_ack_after(killed);
    let reports = load.stop().await?;
    for r in &reports {
        eprintln!("    {r}");
    }
    eprintln!("    first write acknowledged {failover:?} after the kill");

    eprintln!(
        "--- final linearizable reads through {}",
        cluster.members[witness].name
    );
    let finals = read_finals(cluster, witness, &keys, &recorder).await?;
    let entries = recorder.entries();
    let summary = verify_history(cluster, &entries, &finals)?;
    eprintln!("    history is linearizable: {summary}");
    assert!(
        summary.acked_writes >= 60,
        "too little load to mean anything: {summary}"
    );
    // Every surviving member agrees on the final state.
    for (i, m) in cluster.members.iter().enumerate() {
        if i != leader {
            assert_eq!(
                read_all(cluster, i, &keys, false).await?,
                finals,
                "linearizable reads through {}",
                m.name
            );
        }
    }

    eprintln!("--- restart {leader_name}; it must catch up");
    let restarted = Instant::now();
    cluster.members[leader].restart()?;
    cluster.wait_ready(leader).await?;
    wait_caught_up(cluster, leader, &finals, Duration::from_secs(30)).await?;
    eprintln!(
        "    {leader_name} serves every final value locally {:?} after its restart",
        restarted.elapsed()
    );
    Ok(())
}
