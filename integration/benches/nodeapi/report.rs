//! What the run prints and the /proc readings behind it: load average,
//! each member's memory (VmHWM, VmRSS) and CPU time.

use std::time::Duration;

use crate::Knobs;
use crate::node::{Outcome, STEPS};

/// Prints rate, latencies and failures; returns how many nodes failed.
pub fn report(knobs: &Knobs, outcomes: &[Outcome], wall: Duration, load_start: &str) -> usize {
    let mut flows = Vec::new();
    let mut per_step: Vec<Vec<Duration>> = vec![Vec::new(); STEPS.len()];
    let mut errors = Vec::new();
    for o in outcomes {
        match o {
            Ok(times) => {
                flows.push(times.iter().sum::<Duration>());
                for (all, t) in per_step.iter_mut().zip(times) {
                    all.push(*t);
                }
            }
            Err(e) => errors.push(e),
        }
    }
    let done = flows.len();
    println!(
        "  {} nodes ({done} completed the flow) in {:.2} s: {:.1} nodes/s (load average {load_start} at start)",
        knobs.nodes,
        wall.as_secs_f64(),
        done as f64 / wall.as_secs_f64()
    );
    println!(
        "  per-node flow latency: p50 {:.1} ms, p99 {:.1} ms",
        ms(percentile(&mut flows, 50)),
        ms(percentile(&mut flows, 99))
    );
    let steps: Vec<String> = STEPS
        .iter()
        .zip(&mut per_step)
        .map(|(name, all)| format!("{name} {:.1}", ms(percentile(all, 50))))
        .collect();
    println!("  per-step p50 (ms): {}", steps.join(", "));
    println!("  errors: {}", errors.len());
    for (node, step, why) in errors.iter().take(20) {
        println!("    {node} {step}: {why}");
    }
    if errors.len() > 20 {
        println!("    ... and {} more", errors.len() - 20);
    }
    errors.len()
}

/// Each member's CPU time over the flow and memory now, and this
/// process's CPU time (the simulated nodes' HTTP and TLS side).
pub fn resources(knobs: &Knobs, names: &[&str], pids: &[u32], cpu: &[f64], self_cpu: f64) {
    let per_member = knobs.nodes as f64 / names.len() as f64;
    println!("  CPU during the flow (user+system), memory at its end:");
    for ((name, pid), cpu) in names.iter().zip(pids).zip(cpu) {
        let (hwm, rss) = memory(*pid);
        println!(
            "    {name}: {cpu:.2} s ({:.2} ms per node it served); peak RSS {hwm}, RSS now {rss}",
            cpu * 1000.0 / per_member
        );
    }
    println!(
        "    this process (node HTTP/TLS client side): {self_cpu:.2} s ({:.2} ms per node)",
        self_cpu * 1000.0 / knobs.nodes as f64
    );
    println!(
        "    members together: {:.2} CPU-ms per node",
        cpu.iter().sum::<f64>() * 1000.0 / knobs.nodes as f64
    );
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The `p`th percentile (nearest rank); zero for no samples.
pub fn percentile(samples: &mut [Duration], p: usize) -> Duration {
    if samples.is_empty() {
        return Duration::ZERO;
    }
    samples.sort_unstable();
    let rank = (samples.len() * p).div_ceil(100).max(1);
    samples[rank - 1]
}

pub fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".to_owned())
}

/// `(VmHWM, VmRSS)` of a process, as /proc prints them (`123456 kB`).
pub fn memory(pid: u32) -> (String, String) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .map(|v| mib(v.trim()))
            .unwrap_or_else(|| "?".to_owned())
    };
    (field("VmHWM:"), field("VmRSS:"))
}

fn mib(kb: &str) -> String {
    kb.trim_end_matches(" kB")
        .trim()
        .parse::<f64>()
        .map(|k| format!("{:.1} MiB", k / 1024.0))
        .unwrap_or_else(|_| kb.to_owned())
}

/// User plus system CPU seconds of a process so far (/proc/PID/stat).
pub fn cpu_seconds(pid: u32, ticks: f64) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the parenthesised name start at field 3 (state); utime
    // and stime are fields 14 and 15.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<f64> = rest
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|f| f.parse().ok())
        .collect();
    fields.iter().sum::<f64>() / ticks
}

/// The kernel's clock ticks per second, for /proc CPU times.
pub fn clock_ticks() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}
