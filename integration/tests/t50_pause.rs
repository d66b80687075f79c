//! SIGSTOP of the leader for longer than the election timeout while the
//! others keep taking writes, then SIGCONT: nothing acknowledged is lost,
//! the history is linearizable, every member catches up, and the old
//! leader steps down.

use std::collections::BTreeSet;
use std::time::Duration;

use cohort_integration::admin::show;
use cohort_integration::checks::{
    assert_roles, define_keys, keep_on_error, one_at_a_time, read_all, read_finals, verify_history,
    wait_caught_up, wait_new_leader,
};
use cohort_integration::workload::Workload;
use cohort_integration::{Cluster, wait_for};
use tokio::time::Instant;

/// How long the leader stays stopped: well past the 150-300 ms election
/// timeout.
const PAUSE: Duration = Duration::from_millis(1500);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t50_leader_sigstop_then_sigcont_loses_nothing() -> anyhow::Result<()> {
    let _serial = one_at_a_time().await;
    eprintln!("--- forming 3 voters + 1 non-voter");
    let mut cluster = Cluster::form("t50", 3, 1).await?;
    let result = pause(&mut cluster).await;
    keep_on_error(&mut cluster, result)
}

async fn pause(cluster: &mut Cluster) -> anyhow::Result<()> {
    assert_roles(cluster, 0, 3, 1).await?;
    let keys = define_keys(cluster, 0, 8).await?;
    let leader = cluster.leader(0).await?;
    let name = cluster.members[leader].name.clone();

    eprintln!("--- 4 clients, one per member (one on the leader {name})");
    let start = Instant::now();
    let load = Workload::start(cluster, &[0, 1, 2, 3], &keys);
    let recorder = load.recorder().clone();
    wait_for(
        "30 acknowledged writes",
        Duration::from_secs(30),
        || async { (load.acked_since(start) >= 30).then_some(()) },
    )
    .await?;

    eprintln!("--- SIGSTOP the leader {name} for {PAUSE:?}");
    let paused = Instant::now();
    cluster.members[leader].pause()?;
    let witness = (0..3).find(|&i| i != leader).expect("another voter");
    let next = wait_new_leader(cluster, witness, leader, Duration::from_secs(15)).await;
    let next = match next {
        Ok(n) => n,
        Err(e) => {
            cluster.members[leader].resume()?;
            return Err(e);
        }
    };
    eprintln!(
        "    {} leads {:?} into the pause",
        cluster.members[next].name,
        paused.elapsed()
    );
    let during = wait_for(
        "5 writes acknowledged during the pause",
        Duration::from_secs(20),
        || async { (load.acked_since(paused) >= 5).then_some(()) },
    )
    .await;
    if let Some(rest) = PAUSE.checked_sub(paused.elapsed()) {
        // Holds the pause for its stated length.
        tokio::time::sleep(rest).await;
    }
    cluster.members[leader].resume()?;
    let resumed = Instant::now();
    eprintln!(
        "--- SIGCONT {name} after {:?}; {} writes were acknowledged during the pause",
        paused.elapsed(),
        load.acked_since(paused)
    );
    during?;

    eprintln!("--- every member must report one and the same leader");
    let agreed = wait_for(
        "every member to report the same single leader",
        Duration::from_secs(15),
        || async {
            let mut named = BTreeSet::new();
            for m in &cluster.members {
                let s = show(&m.socket()).await.ok()?;
                let leaders: Vec<String> = s
                    .members
                    .iter()
                    .filter(|x| x.leader)
                    .map(|x| x.name.clone())
                    .collect();
                if leaders.len() != 1 {
                    return None;
                }
                named.extend(leaders);
            }
            (named.len() == 1)
                .then(|| named.into_iter().next())
                .flatten()
        },
    )
    .await?;
    eprintln!(
        "    all report {agreed} {:?} after SIGCONT",
        resumed.elapsed()
    );
    assert_ne!(
        agreed, name,
        "the old leader {name} is leading again; it should have stepped down"
    );
    wait_for(
        "10 more acknowledged writes after SIGCONT",
        Duration::from_secs(30),
        || async { (load.acked_since(resumed) >= 10).then_some(()) },
    )
    .await?;

    let reports = load.stop().await?;
    for r in &reports {
        eprintln!("    {r}");
    }
    let finals = read_finals(cluster, witness, &keys, &recorder).await?;
    let entries = recorder.entries();
    eprintln!(
        "    history is linearizable: {}",
        verify_history(cluster, &entries, &finals)?
    );
    for (i, m) in cluster.members.iter().enumerate() {
        assert_eq!(
            read_all(cluster, i, &keys, false).await?,
            finals,
            "linearizable reads through {}",
            m.name
        );
        wait_caught_up(cluster, i, &finals, Duration::from_secs(30)).await?;
    }
    eprintln!("    every member serves the final values, linearizably and locally");
    Ok(())
}
