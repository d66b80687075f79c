//! Speed of the noderange language and the inventory at 100,000 nodes.
//!
//! Run with `cargo bench -p cohort-api --bench inventory`. Prints figures;
//! asserts nothing (machines here are shared and noisy). Each figure is the
//! median of several runs, with the minimum beside it.
//!
//! The inventory: 100,000 nodes `n1..n100000`, each in 3 groups (its rack of
//! 40 nodes, its row of 400, and `compute`), each with 30 effective
//! attributes: 12 of its own, the rest inherited, 4 of them expressions.

use std::hint::black_box;
use std::time::{Duration, Instant};

use cohort_api::inventory::{Assignment, Inventory};
use cohort_api::noderange::{self, Limits};

const NODES: usize = 100_000;
const PER_RACK: usize = 40;
const PER_ROW: usize = 400;

fn main() {
    let t = Instant::now();
    let inv = build();
    let build_time = t.elapsed();
    println!("cohort-api inventory benchmark ({NODES} nodes, 3 groups and 30 attributes each)");
    println!(
        "  build inventory (define + group edits):   {:>9.1} ms",
        ms(build_time)
    );

    let limits = Limits::default();
    report("expand n[1-100000] (define mode)", 7, || {
        black_box(
            noderange::expand_names("n[1-100000]", &limits)
                .expect("expand")
                .len(),
        )
    });
    report("expand n[1-100000] (against inventory)", 7, || {
        black_box(inv.expand("n[1-100000]").expect("expand").len())
    });
    let rack7 = inv.expand_names("location.rack=7").expect("filter");
    report("filter location.rack=7 over all nodes", 7, || {
        black_box(inv.expand("location.rack=7").expect("filter").len())
    });
    println!("    (matches {} nodes)", rack7.len());
    report("resolve every attribute of every node", 5, || {
        let mut n = 0usize;
        for name in inv.node_names() {
            for v in inv.node_values(name).expect("node") {
                n += v.value.len();
            }
        }
        black_box(n)
    });
    report("render `nodeattrib everything` text", 3, || {
        let mut out = String::with_capacity(64 << 20);
        for name in inv.node_names() {
            for v in inv.node_values(name).expect("node") {
                out.push_str(name);
                out.push_str(": ");
                out.push_str(v.name);
                out.push_str(": ");
                out.push_str(v.value);
                out.push('\n');
            }
        }
        black_box(out.len())
    });
    let mut inv2 = inv.clone();
    report("re-resolve all nodes (set on everything)", 3, || {
        let set = vec![Assignment::parse("dns.domain=example.org").expect("assignment")];
        black_box(
            inv2.set_group_attributes("everything", &set)
                .expect("set")
                .changed,
        )
    });
    let all = inv.expand("everything").expect("all");
    report("abbreviate all nodes (-> everything)", 5, || {
        black_box(inv.abbreviate(&all).len())
    });
    let odd = inv.expand("n[1-100000:2],-rack7").expect("odd");
    let text = inv.abbreviate(&odd);
    println!(
        "    (n[1-100000:2],-rack7 abbreviates to {} characters)",
        text.len()
    );
    report("abbreviate n[1-100000:2],-rack7", 5, || {
        black_box(inv.abbreviate(&odd).len())
    });
    report("nodedefine n[1-100000] groups=compute", 3, || {
        let mut fresh = Inventory::default();
        let a = |s: &str| Assignment::parse(s).expect("assignment");
        let attrs = [a("console.method=ipmi"), a("location.u={(n1-1)%40+1}")];
        fresh.define_group("compute", &attrs).expect("group");
        let define = fresh.define_nodes_range("n[1-100000]", &[a("groups=compute")]);
        black_box(define.expect("define").changed)
    });
}

fn build() -> Inventory {
    let mut inv = Inventory::default();
    let a = |s: &str| Assignment::parse(s).expect("assignment");
    inv.define_group(
        "compute",
        &[
            a("console.method=ipmi"),
            a("hardwaremanagement.method=redfish"),
            a("hardwaremanagement.manager={node}-bmc"),
            a("net.mgt.ipv4_address=10.{n1/65536}.{(n1/256)%256}.{n1%256}"),
            a("location.u={(n1-1)%40+1}"),
            a("net.mgt.hostname={node}-mgt"),
            a("deployment.useinsecureprotocols=never"),
            a("dns.servers=10.0.0.1,10.0.0.2"),
            a("ntp.servers=10.0.0.1"),
        ],
    )
    .expect("compute");
    for row in 0..NODES.div_ceil(PER_ROW) {
        inv.define_group(
            &format!("row{}", row + 1),
            &[
                a(&format!("location.row={}", row + 1)),
                a("location.room=hall-a"),
                a("net.mgt.switch=spine1"),
            ],
        )
        .expect("row");
    }
    for rack in 0..NODES.div_ceil(PER_RACK) {
        inv.define_group(
            &format!("rack{}", rack + 1),
            &[
                a(&format!("location.rack={}", rack + 1)),
                a(&format!("power.pdu=pdu{}", rack + 1)),
                a("net.mgt.switchport={(n1-1)%40+1}"),
                a("info.note=standard rack"),
            ],
        )
        .expect("rack");
    }
    inv.define_nodes_range(&format!("n[1-{NODES}]"), &[a("groups=compute")])
        .expect("define");
    for row in 0..NODES.div_ceil(PER_ROW) {
        let (lo, hi) = (row * PER_ROW + 1, ((row + 1) * PER_ROW).min(NODES));
        inv.set_group_attributes(
            &format!("row{}", row + 1),
            &[a(&format!("nodes,=n[{lo}-{hi}]"))],
        )
        .expect("row members");
    }
    for rack in 0..NODES.div_ceil(PER_RACK) {
        let (lo, hi) = (rack * PER_RACK + 1, ((rack + 1) * PER_RACK).min(NODES));
        inv.set_group_attributes(
            &format!("rack{}", rack + 1),
            &[a(&format!("nodes,=n[{lo}-{hi}]"))],
        )
        .expect("rack members");
    }
    let own = [
        "id.uuid=00000000-0000-4000-8000-000000000000",
        "id.serial=SN0001",
        "id.model=SR650",
        "net.mgt.hwaddr=aa:bb:cc:dd:ee:ff",
        "net.mgt.bootable=true",
        "net.data.ipv4_address=192.168.0.1/24",
        "net.data.switch=leaf1",
        "deployment.pendingprofile=rocky-9-x86_64-default",
        "deployment.apiarmed=once",
        "discovery.policy=manual",
        "type=server",
        "pubkeys.addpolicy=tofu",
    ];
    let own: Vec<Assignment> = own.iter().map(|s| a(s)).collect();
    let all = inv.expand("everything").expect("all");
    inv.set_node_attributes(&all, &own).expect("own attributes");
    inv
}

fn report<T>(label: &str, runs: usize, mut f: impl FnMut() -> T) {
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            black_box(f());
            t.elapsed()
        })
        .collect();
    times.sort();
    let median = times[times.len() / 2];
    println!(
        "  {label:<42} {:>9.1} ms   (min {:.1} ms, {runs} runs)",
        ms(median),
        ms(times[0])
    );
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
