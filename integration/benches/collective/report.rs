//! What the run prints: a header naming the conditions, a line per phase
//! as it finishes, and one summary table with the cohort/etcd ratios.

use std::time::Duration;

use crate::failover::{ATTEMPT_TIMEOUT, TICK, median_max};
use crate::floor::Floor;
use crate::load::{Stats, VALUE_LEN};
use crate::nodes::Listings;

/// Where the clients send their writes; the same policy for both systems.
#[derive(Clone, Copy)]
pub enum Policy {
    /// Client i talks to member (leader + i) mod 3; followers forward.
    Spread,
    /// Every client talks to the leader.
    Leader,
}

impl Policy {
    fn describe(self) -> &'static str {
        match self {
            Policy::Spread => {
                "spread: client i talks to member (leader + i) mod 3 (followers forward to the leader)"
            }
            Policy::Leader => "leader: every client talks to the leader",
        }
    }
}

pub struct Knobs {
    pub window: Duration,
    pub warmup: Duration,
    pub kills: usize,
    pub nodes: usize,
    pub policy: Policy,
    /// Concurrency levels to measure, in order.
    pub levels: Vec<usize>,
    /// `cohort` or `etcd` to run one side only.
    pub only: Option<String>,
}

impl Knobs {
    /// Whether `system` runs.
    pub fn runs(&self, system: &str) -> bool {
        self.only.as_deref().is_none_or(|o| o == system)
    }
}

/// Outages of the failover rounds, in kill order.
pub struct Failover(pub Vec<Duration>);

#[derive(Default)]
pub struct Figures {
    pub cohort_writes: Vec<(usize, Stats)>,
    pub etcd_writes: Vec<(usize, Stats)>,
    pub cohort_failover: Option<Failover>,
    pub etcd_failover: Option<Failover>,
    pub nodes: Option<(Duration, Listings)>,
    pub floor: Option<Floor>,
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn ratio(a: f64, b: f64) -> String {
    if b > 0.0 && a > 0.0 {
        format!("{:.2}x", a / b)
    } else {
        "-".to_owned()
    }
}

pub fn header(k: &Knobs) {
    println!("cohort vs etcd, 3 members each on loopback, fsync on, default timing");
    println!(
        "machine: {} CPUs, load average {}; data under {}",
        cpus(),
        loadavg(),
        std::env::temp_dir().display()
    );
    println!("client policy (both systems): {}", k.policy.describe());
    println!(
        "writes: closed loop, one connection per client, {VALUE_LEN}-byte values, {} s per level after {} s warm-up",
        k.window.as_secs(),
        k.warmup.as_secs()
    );
    println!(
        "failover: a write attempt on each survivor every {} ms ({} ms timeout each), SIGKILL the leader, \
         time to the first acknowledged write sent after the kill",
        TICK.as_millis(),
        ATTEMPT_TIMEOUT.as_millis()
    );
}

/// The 1/5/15-minute load average: other work on the machine skews both
/// systems' figures, so the report says how busy it was.
fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".to_owned())
}

fn cpus() -> usize {
    std::thread::available_parallelism().map_or(0, usize::from)
}

/// One finished concurrency level.
pub fn level(system: &str, clients: usize, s: &Stats) {
    println!(
        "  {system:<6} {clients:>2} clients: {:>8.0} writes/s  p50 {:>6.2} ms  p99 {:>6.2} ms",
        s.rate(),
        ms(s.percentile(50.0)),
        ms(s.percentile(99.0))
    );
    println!(
        "                    CPU: members {:.2} cores ({:.0} us and {:.1} context switches per write), clients {:.2} cores",
        s.server_cores(),
        us(s.server_cpu_per_write()),
        s.server_switches_per_write(),
        s.client_cores()
    );
    if s.errors > 0 {
        println!(
            "         {} failed writes, first: {}",
            s.errors,
            s.first_error.as_deref().unwrap_or("?")
        );
    }
}

pub fn summary(k: &Knobs, f: &Figures) {
    println!("\n================ summary ================");
    println!("load average at the end: {}", loadavg());
    println!("client policy (both): {}", k.policy.describe());
    println!(
        "\nwrites     |          cohort            |           etcd             |  cohort/etcd"
    );
    println!(
        "clients    |  writes/s  p50 ms  p99 ms  |  writes/s  p50 ms  p99 ms  |  writes/s  p50   p99"
    );
    for (clients, c) in &f.cohort_writes {
        let e = f
            .etcd_writes
            .iter()
            .find(|(n, _)| n == clients)
            .map(|(_, s)| s);
        let (er, e50, e99) = e.map_or((0.0, 0.0, 0.0), |s| {
            (s.rate(), ms(s.percentile(50.0)), ms(s.percentile(99.0)))
        });
        let (cr, c50, c99) = (c.rate(), ms(c.percentile(50.0)), ms(c.percentile(99.0)));
        println!(
            "{clients:>10} | {cr:>9.0} {c50:>7.2} {c99:>7.2}  | {er:>9.0} {e50:>7.2} {e99:>7.2}  | {:>8} {:>5} {:>5}",
            ratio(cr, er),
            ratio(c50, e50),
            ratio(c99, e99)
        );
    }
    if f.cohort_writes.is_empty() {
        for (clients, e) in &f.etcd_writes {
            println!(
                "{clients:>10} | (no cohort figure)         | {:>9.0}",
                e.rate()
            );
        }
    }
    cpu_table(f);

    println!("\nfailover (SIGKILL -> first acknowledged write)");
    println!("           |  kills  median ms  max ms  | every kill, ms");
    let row = |name: &str, fo: &Option<Failover>| {
        if let Some(Failover(v)) = fo {
            let (median, max) = median_max(v);
            let all: Vec<String> = v.iter().map(|d| d.as_millis().to_string()).collect();
            println!(
                "{name:>10} | {:>6} {:>10.0} {:>7.0}  | {}",
                v.len(),
                ms(median),
                ms(max),
                all.join(" ")
            );
        } else {
            println!("{name:>10} | (no figure)");
        }
    };
    row("cohort", &f.cohort_failover);
    row("etcd", &f.etcd_failover);
    if let (Some(Failover(c)), Some(Failover(e))) = (&f.cohort_failover, &f.etcd_failover) {
        let ((cm, cx), (em, ex)) = (median_max(c), median_max(e));
        println!(
            "cohort/etcd| median {}  max {}",
            ratio(ms(cm), ms(em)),
            ratio(ms(cx), ms(ex))
        );
    }

    if let Some((define, l)) = &f.nodes {
        println!("\ncohort at {} nodes (no etcd equivalent)", k.nodes);
        println!(
            "  nodedefine n[1-{}] (one write):            {:>7.0} ms",
            k.nodes,
            ms(*define)
        );
        let runs = |v: Vec<Duration>| {
            v.iter()
                .map(|d| format!("{:.0}", ms(*d)))
                .collect::<Vec<_>>()
                .join(" / ")
        };
        if let Some((_, nodes, attrs)) = l.attrib_rpc.first() {
            println!(
                "  GetNodeAttributes everything (gRPC):         {} ms  ({nodes} nodes, {attrs} values)",
                runs(l.attrib_rpc.iter().map(|r| r.0).collect())
            );
        }
        if let Some((_, nodes)) = l.list_rpc.first() {
            println!(
                "  ListNodes location.rack=7 (gRPC):            {} ms  ({nodes} nodes)",
                runs(l.list_rpc.iter().map(|r| r.0).collect())
            );
        }
        println!(
            "  cohort nodeattrib everything > /dev/null:    {} ms",
            runs(l.attrib_cli.clone())
        );
        if let Some((_, lines)) = l.list_cli.first() {
            println!(
                "  cohort nodelist location.rack=7:             {} ms  ({lines} lines)",
                runs(l.list_cli.iter().map(|r| r.0).collect())
            );
        }
    }
    goals(f);
}

/// Where the CPU went: with 2 cores shared by 3 members and the clients,
/// members' CPU per write bounds the rate once the cores are full.
fn cpu_table(f: &Figures) {
    println!(
        "\nCPU        |   cohort members    |    etcd members     | cohort/etcd | clients' cores | switches/write"
    );
    println!(
        "clients    |  cores  us/write    |  cores  us/write    |  us/write   | cohort  etcd   | cohort  etcd"
    );
    for (clients, c) in &f.cohort_writes {
        let e = f
            .etcd_writes
            .iter()
            .find(|(n, _)| n == clients)
            .map(|(_, s)| s);
        let per_write = |s: &Stats| us(s.server_cpu_per_write());
        let (ec, eu, ecl, es) = e.map_or((0.0, 0.0, 0.0, 0.0), |s| {
            (
                s.server_cores(),
                per_write(s),
                s.client_cores(),
                s.server_switches_per_write(),
            )
        });
        println!(
            "{clients:>10} | {:>6.2} {:>9.0}    | {ec:>6.2} {eu:>9.0}    | {:>10}  | {:>6.2} {ecl:>5.2}   | {:>6.1} {es:>5.1}",
            c.server_cores(),
            per_write(c),
            ratio(per_write(c), eu),
            c.client_cores(),
            c.server_switches_per_write()
        );
    }
}

/// The machine's floor for one replicated write (see `floor.rs`).
pub fn floor(f: &Floor) {
    println!(
        "floor of this machine (medians): {} B append + fdatasync {:.0} us, loopback TCP round trip {:.0} us, \
         unix socket round trip {:.0} us",
        crate::floor::MESSAGE,
        us(f.append_sync),
        us(f.tcp_round_trip),
        us(f.unix_round_trip)
    );
    println!(
        "  lowest p50 of a 3-member commit at 1 client (client round trip + follower round trip + append): {:.0} us",
        us(f.commit())
    );
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

/// The goals, stated as figures (printed, never asserted).
fn goals(f: &Figures) {
    println!("\ngoals");
    for (clients, c) in &f.cohort_writes {
        if let Some((_, e)) = f.etcd_writes.iter().find(|(n, _)| n == clients) {
            let r = c.rate() / e.rate().max(f64::MIN_POSITIVE);
            let verdict = if r >= 2.0 { "met" } else { "short" };
            println!("  writes >= 2x etcd at {clients:>2} clients: {r:.2}x ({verdict})");
            // One client waits for each write before the next: its rate is
            // 1 / latency, so 2x the rate means half of etcd's latency.
            if *clients == 1 {
                let needed = e.percentile(50.0) / 2;
                let floor = f.floor.as_ref().map_or(String::new(), |fl| {
                    format!(", the machine's floor {:.0} us", us(fl.commit()))
                });
                println!(
                    "    at 1 client that needs a p50 of {:.0} us: cohort has {:.0} us, etcd {:.0} us{floor}",
                    us(needed),
                    us(c.percentile(50.0)),
                    us(e.percentile(50.0)),
                );
            }
        }
    }
    if let Some(Failover(c)) = &f.cohort_failover {
        let (median, _) = median_max(c);
        let verdict = if median <= Duration::from_millis(500) {
            "met"
        } else {
            "short"
        };
        println!(
            "  failover median <= 0.5 s: {:.3} s ({verdict})",
            median.as_secs_f64()
        );
    }
}
