//! Fuzzes the noderange language: parsing, evaluation in both modes and
//! abbreviation must never panic, and what they return must respect the
//! module's invariants (define mode within its limit and in natural order;
//! abbreviation of a result expanding back to it).
//!
//! Evaluation runs against a real `Inventory` holding the reference fixture
//! (confluent.md §1.6) plus a self-referencing dynamic group, so the fuzzer
//! also reaches the inventory's `Universe` implementation.
//!
//! Input: any bytes, read as lossy UTF-8 noderange text.

#![no_main]

use std::sync::OnceLock;

use cohort_api::inventory::{Assignment, Inventory};
use cohort_api::names::natural_cmp;
use cohort_api::noderange::{Limits, abbreviate_names, expand_names};
use libfuzzer_sys::fuzz_target;

fn limits() -> Limits {
    Limits {
        max_names: 10_000,
        max_regex_len: 256,
        max_regex_size: 1 << 16,
        max_depth: 16,
    }
}

fn fixture() -> Inventory {
    let mut inv = Inventory::new(limits());
    let a = |s: &str| Assignment::parse(s).expect("assignment");
    for g in ["compute", "gpu", "rack1", "rack2", "switches"] {
        inv.define_group(g, &[]).expect("group");
    }
    inv.set_group_attributes("compute", &[a("console.method=ipmi")])
        .expect("compute");
    for (range, attrs) in [
        ("n[1-6]", &["groups=compute", "location.rack=1"][..]),
        ("n[7-8]", &["groups=compute,gpu", "location.rack=2"]),
        ("n[9-12]", &["groups=gpu", "location.rack=2"]),
        ("d[01-04],pdu1", &[]),
        ("r1u[1-2]", &["groups=rack1"]),
        ("r2u[1-2]", &["groups=rack2"]),
        ("sw[1-2]", &["groups=switches"]),
    ] {
        let attrs: Vec<Assignment> = attrs.iter().map(|s| a(s)).collect();
        inv.define_nodes_range(range, &attrs).expect("define");
    }
    let mgt = inv.expand("n1-n4").expect("n1-n4");
    inv.set_node_attributes(&mgt, &[a("net.mgt.switch=sw1")])
        .expect("switch");
    inv.define_group("all", &[a("noderange=everything,-switches")])
        .expect("all");
    inv
}

fuzz_target!(|data: &[u8]| {
    static INVENTORY: OnceLock<Inventory> = OnceLock::new();
    let text = String::from_utf8_lossy(data);
    let limits = limits();

    if let Ok(names) = expand_names(&text, &limits) {
        assert!(names.len() <= limits.max_names);
        assert!(names.windows(2).all(|w| natural_cmp(&w[0], &w[1]).is_lt()));
        let _ = abbreviate_names(&names);
    }

    let inv = INVENTORY.get_or_init(fixture);
    // An empty set has no noderange text; everything else must round-trip.
    if let Some(set) = inv.expand(&text).ok().filter(|s| !s.is_empty()) {
        let short = inv.abbreviate(&set);
        let back = inv.expand(&short);
        assert!(
            back.as_ref().is_ok_and(|b| *b == set),
            "{text:?} -> {short:?} -> {back:?}"
        );
    }
});
