//! Steps the fault tests share: defining the nodes the load writes to,
//! reading the final values into the history, waiting for a member to
//! catch up, and watching who leads.
//!
//! Every wait here is a [`wait_for`] poll with a deadline; the watcher
//! polls on an interval because its job is to sample continuously.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{Context, bail};
use cohort_proto::{CollectiveStatus, WriteRequest};
use tokio::task::JoinHandle;
use tokio::time::{Instant, timeout};

use crate::admin::{connect, define_nodes, node_value, show, write_id};
use crate::history::{Entry, Op, Outcome, Recorder};
use crate::{Cluster, wait_for};

/// Defines nodes `k1..kN` through member `via` and returns their names.
pub async fn define_keys(cluster: &Cluster, via: usize, n: usize) -> anyhow::Result<Vec<String>> {
    let mut c = connect(&cluster.members[via].socket()).await?;
    c.write(WriteRequest {
        id: write_id(0xdef1_0000, 1),
        action: Some(define_nodes(&format!("k[1-{n}]"), &[])),
    })
    .await
    .context("cannot define the nodes the load writes to")?;
    Ok((1..=n).map(|i| format!("k{i}")).collect())
}

/// `(name, role)` of every member as `from` reports them.
pub async fn roles(cluster: &Cluster, from: usize) -> anyhow::Result<Vec<(String, String)>> {
    let s = show(&cluster.members[from].socket()).await?;
    Ok(s.members.into_iter().map(|m| (m.name, m.role)).collect())
}

/// The roles a cluster formed with `voters` + `nonvoters` must have.
pub fn expected_roles(voters: usize, nonvoters: usize) -> Vec<(String, String)> {
    (1..=voters + nonvoters)
        .map(|i| {
            let role = if i <= voters { "voter" } else { "nonvoter" };
            (format!("m{i}"), role.to_owned())
        })
        .collect()
}

/// Fails unless `from` reports exactly the roles the cluster was formed
/// with (m1..mV voters, the rest non-voters).
pub async fn assert_roles(
    cluster: &Cluster,
    from: usize,
    voters: usize,
    nonvoters: usize,
) -> anyhow::Result<()> {
    let got = roles(cluster, from).await?;
    let want = expected_roles(voters, nonvoters);
    if got != want {
        bail!(
            "PRODUCT BUG: member roles are {got:?} as {} reports them, but the collective was \
             formed from invites as {want:?}",
            cluster.members[from].name
        );
    }
    Ok(())
}

/// Reads every key linearizably through member `via` and records the
/// reads in `recorder` (as client `final@<member>`), so the history check
/// covers the final state. Fails if a read fails.
pub async fn read_finals(
    cluster: &Cluster,
    via: usize,
    keys: &[String],
    recorder: &Recorder,
) -> anyhow::Result<BTreeMap<String, Option<String>>> {
    let member = &cluster.members[via];
    let mut c = connect(&member.socket()).await?;
    let mut out = BTreeMap::new();
    for key in keys {
        let invoked = Instant::now();
        let value = node_value(&mut c, key, "info.note", false)
            .await
            .with_context(|| format!("final linearizable read of {key} through {}", member.name))?;
        recorder.record(Entry {
            client: format!("final@{}", member.name),
            key: key.clone(),
            op: Op::Read,
            invoked,
            completed: Instant::now(),
            outcome: Outcome::Value(value.clone()),
        });
        out.insert(key.clone(), value);
    }
    Ok(out)
}

/// Every key read through member `index`, linearizably or from its own
/// state (`local`).
pub async fn read_all(
    cluster: &Cluster,
    index: usize,
    keys: &[String],
    local: bool,
) -> anyhow::Result<BTreeMap<String, Option<String>>> {
    let mut c = connect(&cluster.members[index].socket()).await?;
    let mut out = BTreeMap::new();
    for key in keys {
        out.insert(
            key.clone(),
            node_value(&mut c, key, "info.note", local).await?,
        );
    }
    Ok(out)
}

/// Waits until member `index` serves exactly `values` from its own state.
pub async fn wait_caught_up(
    cluster: &Cluster,
    index: usize,
    values: &BTreeMap<String, Option<String>>,
    within: Duration,
) -> anyhow::Result<()> {
    let keys: Vec<String> = values.keys().cloned().collect();
    let what = format!(
        "{} to serve every final value from its own state",
        cluster.members[index].name
    );
    let last = Arc::new(std::sync::Mutex::new(None));
    let result = wait_for(&what, within, || {
        let keys = keys.clone();
        let last = last.clone();
        async move {
            let got = read_all(cluster, index, &keys, true).await.ok()?;
            let done = &got == values;
            *last
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(got);
            done.then_some(())
        }
    })
    .await;
    if result.is_err() {
        let last = last
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        bail!("{what}: still serves {last:?}, expected {values:?}");
    }
    Ok(())
}

/// Waits until member `from` names a leader other than `not`, and returns
/// its index.
pub async fn wait_new_leader(
    cluster: &Cluster,
    from: usize,
    not: usize,
    within: Duration,
) -> anyhow::Result<usize> {
    let what = format!(
        "{} to report a leader other than {}",
        cluster.members[from].name, cluster.members[not].name
    );
    wait_for(&what, within, || async move {
        let l = cluster.leader(from).await.ok()?;
        (l != not).then_some(l)
    })
    .await
}

/// What a [`LeaderWatch`] saw.
#[derive(Debug, Default, Clone)]
pub struct Sightings {
    /// Polls answered.
    pub polls: usize,
    /// `(reporting member, member reported leader)` per answer naming one.
    pub leaders: Vec<(String, String)>,
    /// `(reporting member, member, role)` whenever a role differed from
    /// the one the cluster was formed with.
    pub wrong_roles: Vec<(String, String, String)>,
}

/// Polls `collective show` on every member (those not answering are
/// skipped) until stopped, noting who is reported leader and any member
/// whose role is not the one it was formed with.
pub struct LeaderWatch {
    stop: Arc<AtomicBool>,
    task: JoinHandle<Sightings>,
}

impl LeaderWatch {
    /// How often each member is asked.
    const EVERY: Duration = Duration::from_millis(100);

    pub fn start(cluster: &Cluster, voters: usize, nonvoters: usize) -> LeaderWatch {
        let sockets: Vec<(String, std::path::PathBuf)> = cluster
            .members
            .iter()
            .map(|m| (m.name.clone(), m.socket()))
            .collect();
        let want: BTreeMap<String, String> =
            expected_roles(voters, nonvoters).into_iter().collect();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let task = tokio::spawn(async move {
            let mut seen = Sightings::default();
            while !flag.load(Ordering::SeqCst) {
                // All members at once: a `show` waits up to a probe
                // timeout for each unreachable member.
                let mut asks = tokio::task::JoinSet::new();
                for (name, socket) in sockets.clone() {
                    asks.spawn(async move {
                        let answer = timeout(Duration::from_secs(2), show(&socket)).await;
                        (name, answer.ok().and_then(Result::ok))
                    });
                }
                while let Some(Ok((name, answer))) = asks.join_next().await {
                    let Some(s): Option<CollectiveStatus> = answer else {
                        continue;
                    };
                    seen.polls += 1;
                    for m in &s.members {
                        if m.leader {
                            seen.leaders.push((name.clone(), m.name.clone()));
                        }
                        if want.get(&m.name) != Some(&m.role) {
                            seen.wrong_roles
                                .push((name.clone(), m.name.clone(), m.role.clone()));
                        }
                    }
                }
                // Paces the sampling loop.
                tokio::time::sleep(Self::EVERY).await;
            }
            seen
        });
        LeaderWatch { stop, task }
    }

    pub async fn stop(self) -> anyhow::Result<Sightings> {
        self.stop.store(true, Ordering::SeqCst);
        Ok(self.task.await?)
    }
}

/// Holds one multi-process test at a time within a test binary, as the
/// nextest `cluster` group does across binaries: `cargo test` runs the
/// tests of one file in parallel, and two clusters on two cores starve
/// each other into spurious elections and missed deadlines.
pub async fn one_at_a_time() -> tokio::sync::MutexGuard<'static, ()> {
    static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    SERIAL.lock().await
}

/// Runs both history checks (no acknowledged write lost, linearizable),
/// with the final values read after the load. On failure the history is
/// written to `<root>/history.txt` and the data directories are kept.
pub fn verify_history(
    cluster: &mut Cluster,
    entries: &[Entry],
    finals: &BTreeMap<String, Option<String>>,
) -> anyhow::Result<crate::history::Summary> {
    let verdict = crate::history::check_no_lost_writes(entries, finals)
        .and_then(|()| crate::history::check(entries));
    match verdict {
        Ok(summary) => Ok(summary),
        Err(e) => {
            let path = cluster.root.join("history.txt");
            let _ = std::fs::write(&path, crate::history::render(entries));
            cluster.keep();
            bail!("{e}\n(whole history in {})", path.display())
        }
    }
}

/// Keeps the cluster's data directories when the test body failed.
pub fn keep_on_error<T>(cluster: &mut Cluster, result: anyhow::Result<T>) -> anyhow::Result<T> {
    if let Err(e) = &result {
        cluster.keep();
        eprintln!("--- FAILED: {e:#}");
    }
    result
}
