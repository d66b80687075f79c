//! Closed-loop write load, the same for both systems.
//!
//! Each client owns one connection and keeps exactly one write in flight:
//! send, wait for the acknowledgement, send the next. That is how admin
//! tools and node agents talk to a cluster manager, and it makes "N
//! concurrent clients" mean the same thing for cohort and etcd. An open-loop
//! generator (fixed request rate) was rejected: on 2 shared cores it would
//! measure the generator's queueing as much as the servers.
//!
//! Only writes that complete inside the measuring window count, for both
//! the rate and the latency percentiles; the warm-up opens connections and
//! lets both systems reach their steady batch sizes first.

use std::future::Future;
use std::time::{Duration, Instant};

/// One client of one system; `seq` numbers its writes (cohort turns it
/// into the write id, both put it into the value).
pub trait Writer: Send + 'static {
    fn write(&mut self, seq: u64) -> impl Future<Output = anyhow::Result<()>> + Send;
}

/// Bytes of every written value, for both systems (the size peers.md's
/// etcd figures used).
pub const VALUE_LEN: usize = 100;

/// The value of write `seq`: `VALUE_LEN` ASCII bytes, different per write so
/// neither system can skip a no-op update.
pub fn value(seq: u64) -> String {
    format!("{seq:0>width$}", width = VALUE_LEN)
}

/// CPU time (user + system) process `pid` has used so far, from
/// `/proc/<pid>/stat` (in USER_HZ ticks, 100 per second on Linux).
pub fn cpu_time(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces; the fields after it are plain.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line; `state` (field 3)
    // is fields[0] here.
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_millis(ticks * 10))
}

fn total_cpu(pids: &[u32]) -> Duration {
    pids.iter().filter_map(|p| cpu_time(*p)).sum()
}

/// Context switches (voluntary and not) of every thread of process `pid`
/// so far: each is a thread going to sleep or being put aside, and on a
/// virtual machine the wake-up that ends it is dear. Threads that exit in
/// the window take their count with them, so this is a lower bound.
fn switches(pid: u32) -> u64 {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0;
    };
    let mut sum = 0;
    for task in tasks.flatten() {
        let Ok(status) = std::fs::read_to_string(task.path().join("status")) else {
            continue;
        };
        for line in status.lines() {
            if let Some(n) = line
                .strip_prefix("voluntary_ctxt_switches:")
                .or_else(|| line.strip_prefix("nonvoluntary_ctxt_switches:"))
            {
                sum += n.trim().parse::<u64>().unwrap_or(0);
            }
        }
    }
    sum
}

fn total_switches(pids: &[u32]) -> u64 {
    pids.iter().map(|p| switches(*p)).sum()
}

/// What one concurrency level measured.
pub struct Stats {
    /// Acknowledged writes in the window.
    pub ops: u64,
    /// Failed writes in the window (should be 0; printed when not).
    pub errors: u64,
    pub first_error: Option<String>,
    pub window: Duration,
    /// CPU the three members used during the window.
    pub server_cpu: Duration,
    /// CPU this process (the clients) used during the window.
    pub client_cpu: Duration,
    /// Context switches of the members' threads during the window.
    pub server_switches: u64,
    /// Per-write latencies in microseconds, sorted.
    latencies_us: Vec<u32>,
}

impl Stats {
    pub fn rate(&self) -> f64 {
        self.ops as f64 / self.window.as_secs_f64()
    }

    /// Members' CPU per acknowledged write.
    pub fn server_cpu_per_write(&self) -> Duration {
        self.server_cpu / u32::try_from(self.ops.max(1)).unwrap_or(u32::MAX)
    }

    /// Members' context switches per acknowledged write.
    pub fn server_switches_per_write(&self) -> f64 {
        self.server_switches as f64 / self.ops.max(1) as f64
    }

    /// Members' CPU as a number of busy cores.
    pub fn server_cores(&self) -> f64 {
        self.server_cpu.as_secs_f64() / self.window.as_secs_f64()
    }

    /// Clients' CPU as a number of busy cores.
    pub fn client_cores(&self) -> f64 {
        self.client_cpu.as_secs_f64() / self.window.as_secs_f64()
    }

    /// Nearest-rank percentile, `p` in 0..=100.
    pub fn percentile(&self, p: f64) -> Duration {
        if self.latencies_us.is_empty() {
            return Duration::ZERO;
        }
        let rank = ((p / 100.0) * self.latencies_us.len() as f64).ceil() as usize;
        let i = rank.clamp(1, self.latencies_us.len()) - 1;
        Duration::from_micros(u64::from(self.latencies_us[i]))
    }
}

/// What one client task brings back.
struct ClientResult {
    latencies_us: Vec<u32>,
    errors: u64,
    first_error: Option<String>,
}

/// Runs every writer concurrently for `warmup` + `window` and measures the
/// window, including the CPU that the member processes `pids` and this
/// process spend in it: on 2 shared cores, CPU per write decides the
/// throughput once both cores are busy.
pub async fn closed_loop<W: Writer>(
    writers: Vec<W>,
    pids: Vec<u32>,
    warmup: Duration,
    window: Duration,
) -> Stats {
    let start = Instant::now() + warmup;
    let end = start + window;
    let cpu = tokio::spawn(async move {
        let me = std::process::id();
        tokio::time::sleep_until(start.into()).await;
        let (server0, client0) = (total_cpu(&pids), total_cpu(&[me]));
        let switches0 = total_switches(&pids);
        tokio::time::sleep_until(end.into()).await;
        (
            total_cpu(&pids).saturating_sub(server0),
            total_cpu(&[me]).saturating_sub(client0),
            total_switches(&pids).saturating_sub(switches0),
        )
    });
    let mut tasks = tokio::task::JoinSet::new();
    for (i, mut w) in writers.into_iter().enumerate() {
        tasks.spawn(async move {
            let mut out = ClientResult {
                latencies_us: Vec::new(),
                errors: 0,
                first_error: None,
            };
            // Distinct sequence ranges per client keep the values distinct too.
            let mut seq = (i as u64) << 40;
            loop {
                let t0 = Instant::now();
                if t0 >= end {
                    break;
                }
                seq += 1;
                let result = w.write(seq).await;
                let t1 = Instant::now();
                let counted = t1 >= start && t1 <= end;
                match result {
                    Ok(()) if counted => out
                        .latencies_us
                        .push(u32::try_from((t1 - t0).as_micros()).unwrap_or(u32::MAX)),
                    Ok(()) => {}
                    Err(e) => {
                        if counted {
                            out.errors += 1;
                            out.first_error.get_or_insert_with(|| format!("{e:#}"));
                        }
                        // A broken system must not turn the client into a
                        // busy loop that starves the members of CPU.
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                }
            }
            out
        });
    }
    let mut stats = Stats {
        ops: 0,
        errors: 0,
        first_error: None,
        window,
        server_cpu: Duration::ZERO,
        client_cpu: Duration::ZERO,
        server_switches: 0,
        latencies_us: Vec::new(),
    };
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(r) => {
                stats.ops += r.latencies_us.len() as u64;
                stats.latencies_us.extend(r.latencies_us);
                stats.errors += r.errors;
                if stats.first_error.is_none() {
                    stats.first_error = r.first_error;
                }
            }
            Err(e) => {
                stats.errors += 1;
                stats
                    .first_error
                    .get_or_insert_with(|| format!("client task failed: {e}"));
            }
        }
    }
    if let Ok((server, client, switches)) = cpu.await {
        (stats.server_cpu, stats.client_cpu) = (server, client);
        stats.server_switches = switches;
    }
    stats.latencies_us.sort_unstable();
    stats
}
