//! cohort against etcd on the same machine in the same run: write rate and
//! latency at 1, 16 and 64 concurrent clients, leader failover (SIGKILL to
//! the next acknowledged write), and cohort's listings at 100,000 nodes.
//! First it measures the machine's floor for one replicated write
//! (`floor.rs`), so that a latency can be read against what the disk and
//! the sockets alone cost.
//!
//! Run it with `bench/collective.sh` (installs etcd, builds the release
//! binary; about 2 minutes on 2 cores once built). It prints figures and
//! ratios and never asserts: the goals (writes >= 2x etcd, failover median
//! <= 0.5 s) are judged by a person reading the output next to the machine
//! it ran on.
//!
//! Both systems run 3 members on loopback, with fsync on and their default
//! timing, one system at a time so neither steals the other's CPU. Both are
//! driven from this one process by the same load loop (`load.rs`) and the
//! same failover probe (`failover.rs`); only the client library differs
//! (cohort's admin gRPC on unix sockets, the `etcd-client` crate's gRPC on
//! TCP).
//!
//! Knobs (environment):
//! - COHORT_BENCH_SECS: measuring window per level (default 10);
//!   COHORT_BENCH_WARMUP_SECS: warm-up before it (2).
//! - COHORT_BENCH_KILLS: failover rounds (10; 0 skips failover).
//! - COHORT_BENCH_NODES: nodes for the listings (100000; 0 skips them).
//! - COHORT_BENCH_TARGET: `spread` (default; client i talks to member
//!   (leader + i) mod 3) or `leader` (every client talks to the leader).
//! - COHORT_BENCH_ONLY: `cohort` or `etcd` to run one side (profiling).
//! - COHORT_BENCH_LEVELS: client counts to measure (`1,16,64`).
//! - COHORT_BENCH_ETCD: the etcd binary; COHORT_BIN: the cohort binary.

#[path = "collective/cohort.rs"]
mod cohort;
#[path = "collective/etcd.rs"]
mod etcd;
#[path = "collective/failover.rs"]
mod failover;
#[path = "collective/floor.rs"]
mod floor;
#[path = "collective/load.rs"]
mod load;
#[path = "collective/nodes.rs"]
mod nodes;
#[path = "collective/report.rs"]
mod report;

use std::time::Duration;

use anyhow::Context;
use cohort_integration::Cluster;
use cohort_integration::admin::{connect, define_nodes, show, write_id};
use cohort_proto::WriteRequest;

use crate::cohort::Cohort;
use crate::etcd::Etcd;
use crate::failover::Trio;
use crate::load::{Stats, closed_loop};
use crate::report::{Failover, Figures, Knobs, Policy};

/// Concurrency levels the issue asks for (COHORT_BENCH_LEVELS may pick
/// others, e.g. one level to profile).
const LEVELS: [usize; 3] = [1, 16, 64];

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let knobs = Knobs::from_env()?;
    report::header(&knobs);
    let mut figures = Figures::default();

    // Before either system starts, so that nothing else runs meanwhile.
    match tokio::task::spawn_blocking(floor::measure).await {
        Ok(Ok(f)) => {
            report::floor(&f);
            figures.floor = Some(f);
        }
        Ok(Err(e)) => println!("floor not measured: {e:#}"),
        Err(e) => println!("floor not measured: {e}"),
    }
    if knobs.runs("cohort") {
        cohort_phase(&knobs, &mut figures).await;
    }
    if knobs.runs("etcd") {
        etcd_phase(&knobs, &mut figures).await;
    }
    report::summary(&knobs, &figures);
    Ok(())
}

/// Forms cohort, measures it, and drops it (which kills its members and
/// removes its data unless a failure kept them).
async fn cohort_phase(knobs: &Knobs, figures: &mut Figures) {
    println!("\n== cohort: forming 3 voters");
    match Cluster::form("bench", 3, 0).await {
        Ok(cluster) => {
            let mut cohort = Cohort { cluster };
            if let Err(e) = run_cohort(&mut cohort, knobs, figures).await {
                println!("cohort phase failed: {e:#}");
                cohort.cluster.keep();
            }
        }
        Err(e) => println!("cohort did not form: {e:#}"),
    }
}

/// Starts etcd, measures it, and drops it (killing its members).
async fn etcd_phase(knobs: &Knobs, figures: &mut Figures) {
    println!("\n== etcd: starting 3 members ({})", etcd::version());
    match Etcd::start().await {
        Ok(mut etcd) => {
            if let Err(e) = run_etcd(&mut etcd, knobs, figures).await {
                println!("etcd phase failed: {e:#}");
                etcd.keep();
            }
        }
        Err(e) => println!("etcd did not start: {e:#}"),
    }
}

/// Which member client `n` (0-based) talks to, given the leader. Spread
/// counts from the leader so that the single client of level 1 talks to the
/// leader on both systems, whichever member that happens to be.
fn target(policy: Policy, leader: usize, n: usize) -> usize {
    match policy {
        Policy::Spread => (leader + n) % 3,
        Policy::Leader => leader,
    }
}

async fn run_cohort(
    cohort: &mut Cohort,
    knobs: &Knobs,
    figures: &mut Figures,
) -> anyhow::Result<()> {
    let mut c = connect(&cohort.cluster.members[0].socket()).await?;
    // The nodes the writers set (b1..b64) and the failover probes set
    // (b1000..b1002), defined up front so every measured write is an update.
    for (seq, range) in [(1, "b[1-64]"), (2, "b[1000-1002]")] {
        c.write(WriteRequest {
            id: write_id(1, seq),
            action: Some(define_nodes(range, &[])),
        })
        .await
        .with_context(|| format!("defining {range}"))?;
    }
    // The Raft term before and after the write levels: any growth is an
    // election under load, which the timing must not cause.
    let term_before = show(&cohort.cluster.members[0].socket()).await?.term;
    for &clients in &knobs.levels {
        let leader = cohort.leader().await?;
        let mut writers = Vec::new();
        for n in 0..clients {
            let member = target(knobs.policy, leader, n);
            writers.push(cohort.writer(n + 1, member).await?);
        }
        let stats = closed_loop(writers, cohort.pids(), knobs.warmup, knobs.window).await;
        report::level("cohort", clients, &stats);
        figures.cohort_writes.push((clients, stats));
    }
    let term_after = show(&cohort.cluster.members[0].socket()).await?.term;
    println!(
        "  raft term {term_before} -> {term_after} over the write levels ({} elections under load)",
        term_after.saturating_sub(term_before)
    );
    if knobs.kills > 0 {
        println!("\n-- cohort failover ({} kills)", knobs.kills);
        let outages = failover::rounds("cohort", cohort, knobs.kills).await?;
        figures.cohort_failover = Some(Failover(outages));
    }
    if knobs.nodes == 0 {
        return Ok(());
    }

    println!("\n-- cohort listings at {} nodes", knobs.nodes);
    let define = nodes::define(&cohort.cluster.members[0], knobs.nodes).await?;
    println!(
        "  nodedefine n[1-{}] groups=racked: {} ms",
        knobs.nodes,
        define.as_millis()
    );
    let leader = cohort.cluster.leader(0).await?;
    // Read through a follower: the usual case for an admin on some member,
    // and it includes the read-index round trip to the leader.
    let via = (leader + 1) % 3;
    println!(
        "  reads through m{} (a follower; linearizable, the default)",
        via + 1
    );
    let listings = nodes::listings(&cohort.cluster.members[via]).await?;
    figures.nodes = Some((define, listings));
    Ok(())
}

async fn run_etcd(etcd: &mut Etcd, knobs: &Knobs, figures: &mut Figures) -> anyhow::Result<()> {
    for &clients in &knobs.levels {
        let leader = etcd.leader().await?;
        let mut writers = Vec::new();
        for n in 0..clients {
            let member = target(knobs.policy, leader, n);
            writers.push(etcd.writer(n + 1, member).await?);
        }
        let stats: Stats = closed_loop(writers, etcd.pids(), knobs.warmup, knobs.window).await;
        report::level("etcd", clients, &stats);
        figures.etcd_writes.push((clients, stats));
    }
    if knobs.kills > 0 {
        println!("\n-- etcd failover ({} kills)", knobs.kills);
        figures.etcd_failover = Some(Failover(failover::rounds("etcd", etcd, knobs.kills).await?));
    }
    Ok(())
}

/// Parses a number from the environment, or the default.
fn env_num(name: &str, default: u64) -> anyhow::Result<u64> {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .with_context(|| format!("{name}={v}: not a whole number")),
        Err(_) => Ok(default),
    }
}

/// COHORT_BENCH_LEVELS: comma-separated client counts, or the issue's.
fn env_levels() -> anyhow::Result<Vec<usize>> {
    let Ok(v) = std::env::var("COHORT_BENCH_LEVELS") else {
        return Ok(LEVELS.to_vec());
    };
    v.split(',')
        .map(|n| match n.trim().parse::<usize>() {
            Ok(n) if n > 0 => Ok(n),
            _ => anyhow::bail!("COHORT_BENCH_LEVELS={v}: use client counts like `1,16,64`"),
        })
        .collect()
}

impl Knobs {
    fn from_env() -> anyhow::Result<Knobs> {
        let policy = match std::env::var("COHORT_BENCH_TARGET").as_deref() {
            Ok("leader") => Policy::Leader,
            Ok("spread") | Err(_) => Policy::Spread,
            Ok(other) => anyhow::bail!("COHORT_BENCH_TARGET={other}: use `spread` or `leader`"),
        };
        Ok(Knobs {
            window: Duration::from_secs(env_num("COHORT_BENCH_SECS", 10)?),
            warmup: Duration::from_secs(env_num("COHORT_BENCH_WARMUP_SECS", 2)?),
            kills: env_num("COHORT_BENCH_KILLS", 10)? as usize,
            nodes: env_num("COHORT_BENCH_NODES", 100_000)? as usize,
            policy,
            levels: env_levels()?,
            only: std::env::var("COHORT_BENCH_ONLY")
                .ok()
                .filter(|s| !s.is_empty()),
        })
    }
}
