//! The non-voter never leads, through two leader failovers under load,
//! and does not count toward quorum.

use std::time::Duration;

use cohort_integration::admin::{connect, set_nodes, show, write_id};
use cohort_integration::checks::{
    LeaderWatch, assert_roles, define_keys, keep_on_error, one_at_a_time, read_finals,
    verify_history, wait_caught_up, wait_new_leader,
};
use cohort_integration::workload::Workload;
use cohort_integration::{Cluster, wait_for};
use cohort_proto::WriteRequest;
use tokio::time::Instant;

const NONVOTER: usize = 3;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t40_nonvoter_never_leads_across_two_failovers() -> anyhow::Result<()> {
    let _serial = one_at_a_time().await;
    eprintln!("--- forming 3 voters + 1 non-voter");
    let mut cluster = Cluster::form("t40-lead", 3, 1).await?;
    let result = two_failovers(&mut cluster).await;
    keep_on_error(&mut cluster, result)
}

async fn two_failovers(cluster: &mut Cluster) -> anyhow::Result<()> {
    assert_roles(cluster, 0, 3, 1).await?;
    let keys = define_keys(cluster, 0, 4).await?;
    eprintln!("--- watching `collective show` on every member; load through every member");
    let watch = LeaderWatch::start(cluster, 3, 1);
    let load = Workload::start(cluster, &[0, 1, 2, 3], &keys);
    let recorder = load.recorder().clone();
    let start = Instant::now();
    wait_for(
        "20 acknowledged writes",
        Duration::from_secs(30),
        || async { (load.acked_since(start) >= 20).then_some(()) },
    )
    .await?;

    for round in 1..=2 {
        let leader = cluster.leader(0).await?;
        let name = cluster.members[leader].name.clone();
        assert_ne!(leader, NONVOTER, "the non-voter leads");
        eprintln!("--- round {round}: SIGKILL the leader {name}");
        let killed = Instant::now();
        cluster.members[leader].kill()?;
        let witness = (0..3).find(|&i| i != leader).expect("another voter");
        let next = wait_new_leader(cluster, witness, leader, Duration::from_secs(15)).await?;
        eprintln!(
            "    {} leads {:?} after the kill",
            cluster.members[next].name,
            killed.elapsed()
        );
        wait_for(
            "20 writes acknowledged after the kill",
            Duration::from_secs(30),
            || async { (load.acked_since(killed) >= 20).then_some(()) },
        )
        .await?;
        eprintln!("--- round {round}: restart {name}");
        cluster.members[leader].restart()?;
        cluster.wait_ready(leader).await?;
        wait_for(
            &format!("{name} to follow {}", cluster.members[next].name),
            Duration::from_secs(30),
            || async { (cluster.leader(leader).await.ok()? == next).then_some(()) },
        )
        .await?;
    }

    let reports = load.stop().await?;
    for r in &reports {
        eprintln!("    {r}");
    }
    let seen = watch.stop().await?;
    let finals = read_finals(cluster, 0, &keys, &recorder).await?;
    let entries = recorder.entries();
    eprintln!(
        "    history is linearizable: {}",
        verify_history(cluster, &entries, &finals)?
    );
    for i in 0..cluster.members.len() {
        wait_caught_up(cluster, i, &finals, Duration::from_secs(30)).await?;
    }

    let mut leaders: Vec<&str> = seen.leaders.iter().map(|(_, l)| l.as_str()).collect();
    leaders.sort();
    leaders.dedup();
    eprintln!(
        "    {} answers to `collective show`; leaders reported: {leaders:?}",
        seen.polls
    );
    assert!(seen.polls >= 20, "the watch barely ran: {seen:?}");
    let nonvoter_led: Vec<_> = seen.leaders.iter().filter(|(_, l)| l == "m4").collect();
    assert!(
        nonvoter_led.is_empty(),
        "the non-voter m4 was reported leader by {nonvoter_led:?}"
    );
    assert!(
        seen.wrong_roles.is_empty(),
        "PRODUCT BUG: roles changed during the run (reporter, member, role): {:?}",
        seen.wrong_roles.iter().take(5).collect::<Vec<_>>()
    );
    assert!(
        leaders.len() >= 2,
        "two failovers should show at least two leaders: {leaders:?}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t40_nonvoter_does_not_count_toward_quorum() -> anyhow::Result<()> {
    let _serial = one_at_a_time().await;
    eprintln!("--- forming 3 voters + 1 non-voter");
    let mut cluster = Cluster::form("t40-quorum", 3, 1).await?;
    let result = quorum(&mut cluster).await;
    keep_on_error(&mut cluster, result)
}

async fn quorum(cluster: &mut Cluster) -> anyhow::Result<()> {
    assert_roles(cluster, 0, 3, 1).await?;
    define_keys(cluster, 0, 1).await?;
    let leader = cluster.leader(0).await?;
    // Keep the leader: two of four members then remain, which would be a
    // majority of members if the non-voter counted.
    let killed: Vec<usize> = (0..3).filter(|&i| i != leader).collect();
    for &i in &killed {
        eprintln!("--- SIGKILL voter {}", cluster.members[i].name);
        cluster.members[i].kill()?;
    }
    eprintln!(
        "--- {} and m4 remain: 2 of 4 members, 1 of 3 voters",
        cluster.members[leader].name
    );
    for from in [leader, NONVOTER] {
        let s = show(&cluster.members[from].socket()).await?;
        eprintln!(
            "    {} reports {} of {} voters reachable",
            cluster.members[from].name, s.voters_reachable, s.voters
        );
        assert_eq!(
            (s.voters_reachable, s.voters),
            (1, 3),
            "as {} reports it",
            cluster.members[from].name
        );
        let m4 = s
            .members
            .iter()
            .find(|m| m.name == "m4")
            .expect("m4 listed");
        assert!(
            m4.reachable && !m4.leader && m4.role == "nonvoter",
            "{m4:?}"
        );
    }
    // The voter names the count; the non-voter must refuse too (how it
    // words the refusal is t30's business).
    for (from, seq) in [(leader, 1), (NONVOTER, 2)] {
        let name = cluster.members[from].name.clone();
        let mut c = connect(&cluster.members[from].socket()).await?;
        let started = Instant::now();
        let refused = c
            .write(WriteRequest {
                id: write_id(0x40, seq),
                action: Some(set_nodes("k1", &["info.note=two-of-four"])),
            })
            .await
            .expect_err("a write without a quorum of voters succeeded");
        eprintln!(
            "    write through {name}: {:?} {:?} after {:?}",
            refused.code(),
            refused.message(),
            started.elapsed()
        );
        if from == leader {
            assert!(
                refused
                    .message()
                    .contains("collective has no quorum (1 of 3 voters reachable)"),
                "{refused:?}"
            );
        }
    }
    Ok(())
}
