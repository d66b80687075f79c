//! The node self-service API under a fleet (issue 5): how many nodes per
//! second get through the whole flow `cohort-agent deploy` runs, with 1,000
//! simulated nodes against 3 members, and what that costs each member in
//! memory and CPU.
//!
//! Run it with `bench/nodeapi.sh` (builds the release binary first). It
//! prints figures and never asserts; the closing `nodedeploy --json` count
//! says whether every node really completed.
//!
//! The nodes are simulated in this process (`node.rs`), not run as
//! `cohort-agent` processes: a thousand process starts would measure fork
//! and exec, and the agent also writes a target tree, which is node work.
//! Each simulated node has its own TLS session, kept for its six calls, as
//! a real node does. Nodes are spread over the members (node i talks to
//! member i mod 3). The setup defines the nodes with one `nodedefine` whose
//! expressions give each node its own MAC and address.
//!
//! A node's own crypto is node work too: the `$6$` hash of its API key
//! (5,000 rounds of SHA-512) and its ed25519 host key. Both are done for
//! every node before the clock starts and reported apart, so the nodes/s
//! figure is the members' (plus this process's HTTP and TLS client side,
//! which shares the same CPUs; its CPU time is printed next to the
//! members').
//!
//! Knobs (environment):
//! - NODEAPI_BENCH_NODES: simulated nodes (default 1000).
//! - NODEAPI_BENCH_CONCURRENCY: nodes in flight at once (default 32).
//! - COHORT_BIN: the cohort binary (bench/nodeapi.sh points it at the
//!   release build).

#[path = "nodeapi/node.rs"]
mod node;
#[path = "nodeapi/report.rs"]
mod report;

use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use cohort_api::nodeapi;
use cohort_integration::admin::show;
use cohort_integration::deploy::{ca_bundle, put_profile};
use cohort_integration::{Cluster, wait_for};

use crate::node::{drive, prepare, tls_config};
use crate::report::{clock_ticks, cpu_seconds, loadavg, memory, report, resources};

const PROFILE: &str = "p1";
const MEMBERS: usize = 3;

pub struct Knobs {
    pub nodes: usize,
    pub concurrency: usize,
}

fn env_num(name: &str, default: usize) -> anyhow::Result<usize> {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .with_context(|| format!("{name}={v}: not a whole number")),
        Err(_) => Ok(default),
    }
}

/// The MAC node `i` (1-based) is defined with; the same formula as the
/// `net.hwaddr` expression in [`define_nodes`].
fn mac_of(i: usize) -> String {
    format!("52:54:00:20:{:02x}:{:02x}", i / 256, i % 256)
}

fn main() -> anyhow::Result<()> {
    let knobs = Knobs {
        nodes: env_num("NODEAPI_BENCH_NODES", 1000)?.clamp(1, 65_535),
        concurrency: env_num("NODEAPI_BENCH_CONCURRENCY", 32)?.max(1),
    };
    println!(
        "node API flow: {} simulated nodes, {} in flight, against {MEMBERS} voters on loopback",
        knobs.nodes, knobs.concurrency
    );
    println!(
        "machine: {} CPUs, load average at start {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        loadavg()
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    println!("\n== forming {MEMBERS} voters");
    let mut cluster = rt.block_on(Cluster::form("nodeapi-bench", MEMBERS, 0))?;
    let result = run(&rt, &cluster, &knobs);
    match &result {
        Ok(0) => {}
        // The members' logs say why; the harness prints where they are.
        Ok(_) => cluster.keep(),
        Err(e) => {
            println!("bench failed: {e:#}");
            cluster.keep();
        }
    }
    println!("\nload average at end {}", loadavg());
    result.map(|_| ())
}

/// Sets up, runs and reports the flow; the number of nodes that failed.
fn run(rt: &tokio::runtime::Runtime, cluster: &Cluster, knobs: &Knobs) -> anyhow::Result<usize> {
    let setup = Instant::now();
    define_nodes(rt, cluster, knobs.nodes)?;
    println!(
        "  profile, nodedefine and nodedeploy of {} nodes: {:.2} s",
        knobs.nodes,
        setup.elapsed().as_secs_f64()
    );
    let bundle = rt.block_on(wait_for(
        "a CA bundle holding every member's CA",
        Duration::from_secs(30),
        || async {
            let path = ca_bundle(cluster, 0).ok()?;
            let pem = std::fs::read_to_string(&path).ok()?;
            (pem.matches("BEGIN CERTIFICATE").count() >= MEMBERS).then_some(path)
        },
    ))?;
    let tls = tls_config(&std::fs::read(&bundle)?)?;
    let urls: Vec<String> = cluster
        .members
        .iter()
        .map(|m| format!("https://{}{}", m.https, nodeapi::PREFIX))
        .collect();
    let pids: Vec<u32> = cluster.members.iter().filter_map(|m| m.pid()).collect();
    ensure!(pids.len() == MEMBERS, "a member is not running");
    for (m, pid) in cluster.members.iter().zip(&pids) {
        let (hwm, rss) = memory(*pid);
        println!("  {} before the flow: peak RSS {hwm}, RSS {rss}", m.name);
    }

    println!("\n== node-side crypto, before the clock starts");
    let nodes = prepare(knobs.nodes)?;

    println!("\n== the flow");
    let load_start = loadavg();
    // Any growth of the Raft term is an election under this load.
    let term_before = rt.block_on(show(&cluster.members[0].socket()))?.term;
    let ticks = clock_ticks();
    let cpu_before: Vec<f64> = pids.iter().map(|p| cpu_seconds(*p, ticks)).collect();
    let self_before = cpu_seconds(std::process::id(), ticks);
    let started = Instant::now();
    let outcomes = drive(&nodes, &urls, &tls, knobs.concurrency);
    let wall = started.elapsed();
    let self_cpu = cpu_seconds(std::process::id(), ticks) - self_before;
    let member_cpu: Vec<f64> = pids
        .iter()
        .zip(&cpu_before)
        .map(|(p, before)| cpu_seconds(*p, ticks) - before)
        .collect();
    let term_after = rt.block_on(show(&cluster.members[0].socket()))?.term;

    let errors = report(knobs, &outcomes, wall, &load_start);
    println!(
        "  raft term {term_before} -> {term_after} over the flow ({} elections)",
        term_after.saturating_sub(term_before)
    );
    let names: Vec<&str> = cluster.members.iter().map(|m| m.name.as_str()).collect();
    resources(knobs, &names, &pids, &member_cpu, self_cpu);
    verify(cluster, knobs.nodes)?;
    Ok(errors)
}

/// The profile, the nodes (one `nodedefine` with expressions, so every
/// node gets its own MAC and address), and `nodedeploy`.
fn define_nodes(rt: &tokio::runtime::Runtime, cluster: &Cluster, n: usize) -> anyhow::Result<()> {
    put_profile(cluster, 0, PROFILE)?;
    let m1 = &cluster.members[0];
    let range = format!("n[1-{n}]");
    m1.run(&[
        "nodedefine",
        &range,
        "net.hwaddr=52:54:00:20:{n1/256:02x}:{n1%256:02x}",
        "net.ipv4_address=10.20.{n1/256}.{n1%256}/16",
        "dns.domain=cluster.test",
        "crypted.rootpassword=bench-root-password",
    ])?;
    // The expression must give the MACs the simulated nodes will claim.
    for i in [1, n / 2 + 1, n] {
        let got = m1.run(&["nodeattrib", &format!("n{i}"), "net.hwaddr"])?;
        ensure!(
            got.trim() == format!("n{i}: net.hwaddr: {}", mac_of(i)),
            "n{i}'s MAC is not what the bench sends: {got:?}"
        );
    }
    m1.run(&["nodedeploy", &range, "-n", PROFILE])?;
    // Every member must have applied the arm before its nodes register.
    let last = format!("n{n}");
    for m in &cluster.members {
        rt.block_on(wait_for(
            &format!("{} to see {last} armed", m.name),
            Duration::from_secs(30),
            || async {
                let out = m.run(&["nodedeploy", &last, "--local"]).ok()?;
                out.contains("armed").then_some(())
            },
        ))?;
    }
    Ok(())
}

/// Counts the nodes whose deployment completed (`deployment.profile` is
/// the profile, nothing pending or staged), as an admin would look.
fn verify(cluster: &Cluster, n: usize) -> anyhow::Result<()> {
    let out = cluster.members[0].run(&["nodedeploy", &format!("n[1-{n}]"), "--json"])?;
    let views: Vec<serde_json::Value> = serde_json::from_str(&out)?;
    let completed = views
        .iter()
        .filter(|v| v["completed"] == PROFILE && v["pending"].is_null() && v["staged"].is_null())
        .count();
    println!(
        "\n== check: `cohort nodedeploy n[1-{n}] --json`: {completed} of {n} completed {PROFILE}"
    );
    if let Some(v) = views.iter().find(|v| v["completed"] != PROFILE) {
        println!("  first one that did not: {v}");
    }
    Ok(())
}
