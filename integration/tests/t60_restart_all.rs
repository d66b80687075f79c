//! Every member SIGKILLed at once, under load, and restarted: every
//! acknowledged write is still there, on every member, and the history
//! across the crash is linearizable.

use std::time::Duration;

use cohort_integration::checks::{
    assert_roles, define_keys, keep_on_error, one_at_a_time, read_all, read_finals, verify_history,
    wait_caught_up,
};
use cohort_integration::workload::Workload;
use cohort_integration::{Cluster, wait_for};
use tokio::time::Instant;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t60_all_members_killed_and_restarted_keep_every_acknowledged_write() -> anyhow::Result<()>
{
    let _serial = one_at_a_time().await;
    eprintln!("--- forming 3 voters + 1 non-voter");
    let mut cluster = Cluster::form("t60", 3, 1).await?;
    let result = restart_all(&mut cluster).await;
    keep_on_error(&mut cluster, result)
}

async fn restart_all(cluster: &mut Cluster) -> anyhow::Result<()> {
    assert_roles(cluster, 0, 3, 1).await?;
    let keys = define_keys(cluster, 0, 8).await?;

    eprintln!("--- 4 clients write and read back through every member");
    let start = Instant::now();
    let load = Workload::start(cluster, &[0, 1, 2, 3], &keys);
    let recorder = load.recorder().clone();
    wait_for(
        "80 acknowledged writes",
        Duration::from_secs(30),
        || async { (load.acked_since(start) >= 80).then_some(()) },
    )
    .await?;

    // Writes in flight at the crash get no answer (unknown outcome);
    // every acknowledged one must survive it.
    eprintln!("--- SIGKILL every member while the clients write");
    for m in &mut cluster.members {
        m.kill()?;
    }
    let reports = load.stop().await?;
    for r in &reports {
        eprintln!("    {r}");
    }
    eprintln!("--- restart every member");
    let restarted = Instant::now();
    for i in 0..cluster.members.len() {
        cluster.members[i].restart()?;
    }
    for i in 0..cluster.members.len() {
        cluster.wait_ready(i).await?;
    }
    let leader = wait_for(
        "a leader after the restart",
        Duration::from_secs(30),
        || async { cluster.leader(0).await.ok() },
    )
    .await?;
    eprintln!(
        "    {} leads {:?} after the restart",
        cluster.members[leader].name,
        restarted.elapsed()
    );

    let after = wait_for(
        "a linearizable read of every key",
        Duration::from_secs(30),
        || async { read_finals(cluster, 1, &keys, &recorder).await.ok() },
    )
    .await?;
    let entries = recorder.entries();
    let summary = verify_history(cluster, &entries, &after)?;
    eprintln!("    history across the crash is linearizable: {summary}");
    for (i, m) in cluster.members.iter().enumerate() {
        assert_eq!(
            read_all(cluster, i, &keys, false).await?,
            after,
            "linearizable reads through {}",
            m.name
        );
        wait_caught_up(cluster, i, &after, Duration::from_secs(30)).await?;
    }
    eprintln!("    every member serves every acknowledged write");
    Ok(())
}
