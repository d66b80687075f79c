//! Leader failover: SIGKILL the leader, time until the next acknowledged
//! write, the same probe for both systems.
//!
//! The probe starts a new write on each surviving member every [`TICK`],
//! each with its own [`ATTEMPT_TIMEOUT`], without waiting for the previous
//! one. A strict "one write, time out, retry" loop was rejected: while the
//! leader is dead a write may hang until its timeout, so the loop would see
//! the new leader up to a whole timeout late, and each system hangs a
//! different way (etcd queues the proposal, cohort answers "unavailable"),
//! which would skew the comparison. With overlapping attempts the
//! resolution is one tick for both.
//!
//! Only a write *started* after the kill counts: one already in flight may
//! have been committed by the old leader just before it died.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use tokio::sync::mpsc;

use crate::load::Writer;

/// Interval between write attempts on each survivor.
pub const TICK: Duration = Duration::from_millis(10);
/// Per-attempt timeout (peers.md: shorter than any election timeout).
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_millis(200);
/// Longest wait for the first write after a kill before the round fails.
const OUTAGE_LIMIT: Duration = Duration::from_secs(30);

/// A 3-member cluster of either system, as the failover rounds need it.
pub trait Trio {
    type W: Writer + Clone;
    /// Index (0..3) of the current leader.
    fn leader(&mut self) -> impl Future<Output = anyhow::Result<usize>>;
    /// A failover-probe writer on member `member`.
    fn probe(&mut self, member: usize) -> impl Future<Output = anyhow::Result<Self::W>>;
    /// PIDs of the running members (for CPU accounting).
    fn pids(&self) -> Vec<u32>;
    /// SIGKILL by PID (and reap).
    fn kill(&mut self, member: usize) -> anyhow::Result<()>;
    /// Starts the member again and waits until all three are healthy and
    /// caught up, so the next round starts from a whole cluster.
    fn restart(&mut self, member: usize) -> impl Future<Output = anyhow::Result<()>>;
}

/// One attempt's outcome: which survivor (0 or 1) it went to, when it was
/// sent, when it ended, whether it was acknowledged.
type Attempt = (usize, Instant, Instant, bool);

/// One kill: the outage seen by clients of the two survivors.
pub async fn one_round<T: Trio>(trio: &mut T) -> anyhow::Result<(usize, Duration)> {
    let leader = trio.leader().await?;
    let mut writers = Vec::new();
    for m in (0..3).filter(|m| *m != leader) {
        writers.push(trio.probe(m).await?);
    }
    let (tx, mut rx) = mpsc::unbounded_channel::<Attempt>();
    let probe = tokio::spawn(async move {
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let mut attempts = tokio::task::JoinSet::new();
        let mut seq = 0;
        loop {
            tick.tick().await;
            for (survivor, w) in writers.iter().enumerate() {
                seq += 1;
                let (mut w, tx) = (w.clone(), tx.clone());
                attempts.spawn(async move {
                    let t0 = Instant::now();
                    let ok = matches!(
                        tokio::time::timeout(ATTEMPT_TIMEOUT, w.write(seq)).await,
                        Ok(Ok(()))
                    );
                    // The receiver is gone once the round is decided.
                    let _ = tx.send((survivor, t0, Instant::now(), ok));
                });
            }
            while attempts.try_join_next().is_some() {}
            if tx.is_closed() {
                break;
            }
        }
    });
    // Both survivors must be acknowledging writes before the kill, or the
    // round would time a cluster that was not healthy to begin with.
    let mut ok_before = [0; 2];
    let warm_deadline = Instant::now() + Duration::from_secs(10);
    while ok_before.iter().any(|n| *n < 5) {
        let left = warm_deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, rx.recv()).await {
            Ok(Some((survivor, _, _, true))) => ok_before[survivor] += 1,
            Ok(Some(_)) => {}
            Ok(None) | Err(_) => {
                probe.abort();
                bail!("the survivors did not acknowledge writes before the kill");
            }
        }
    }
    let kill_at = Instant::now();
    trio.kill(leader)?;
    let outage = loop {
        let left = (kill_at + OUTAGE_LIMIT).saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, rx.recv()).await {
            Ok(Some((_, sent, done, true))) if sent >= kill_at => break done - kill_at,
            Ok(Some(_)) => {}
            Ok(None) | Err(_) => {
                probe.abort();
                bail!("no write acknowledged within {OUTAGE_LIMIT:?} of killing the leader");
            }
        }
    };
    drop(rx);
    probe.await.context("failover probe task")?;
    trio.restart(leader).await?;
    Ok((leader, outage))
}

/// `rounds` kills; the outages in kill order.
pub async fn rounds<T: Trio>(
    name: &str,
    trio: &mut T,
    rounds: usize,
) -> anyhow::Result<Vec<Duration>> {
    let mut outages = Vec::new();
    for round in 1..=rounds {
        let (leader, outage) = one_round(trio)
            .await
            .with_context(|| format!("{name} failover round {round}"))?;
        println!(
            "  {name} kill {round:>2}: leader m{} -> first acknowledged write after {:>5} ms",
            leader + 1,
            outage.as_millis()
        );
        outages.push(outage);
    }
    Ok(outages)
}

/// Median (mean of the middle two for an even count) and max.
pub fn median_max(outages: &[Duration]) -> (Duration, Duration) {
    let mut v = outages.to_vec();
    v.sort_unstable();
    let n = v.len();
    let median = match n {
        0 => Duration::ZERO,
        _ if n % 2 == 1 => v[n / 2],
        _ => (v[n / 2 - 1] + v[n / 2]) / 2,
    };
    (median, v.last().copied().unwrap_or_default())
}
