//! Limits: huge ranges, products, nesting and dynamic group recursion.

use std::time::{Duration, Instant};

use super::{Fixture, check, check_in};
use crate::noderange::{Limits, NoderangeError, expand, expand_names};

#[test]
fn t50_huge_ranges_are_refused_before_work() {
    let start = Instant::now();
    check(
        "n[1-99999999]",
        "!noderange \"n[1-99999999]\" would expand to 99999999 names, more than the limit of 1000000; use a narrower range",
    );
    check(
        "n[1-99999999999999999999]",
        "!noderange \"n[1-99999999999999999999]\" would expand to 99999999999999999999 names",
    );
    check(
        "n1-n99999999999",
        "!noderange \"n1-n99999999999\" would expand to 99999999999 names",
    );
    check(
        "r1u1-r99999u99999",
        "!noderange \"r1u1-r99999u99999\" would expand to 9999800001 names",
    );
    check(
        "n1+99999999999999",
        "!noderange \"n1+99999999999999\" would expand to 100000000000000 names",
    );
    check(
        "define:n[1-99999999]",
        "!noderange \"n[1-99999999]\" would expand to 99999999 names",
    );
    check(
        "n[1-1000][1-1000][1-1000]",
        "!noderange \"n[1-1000][1-1000][1-1000]\" would expand to 1000000000 names",
    );
    check(
        "x[1-1000]y[1-1001]",
        "!noderange \"x[1-1000]y[1-1001]\" would expand to 1001000 names",
    );
    assert!(start.elapsed() < Duration::from_secs(5));
}

#[test]
fn t50_numbers_past_u128_are_refused() {
    let big = "9".repeat(45);
    check(&format!("n[1-{big}]"), "!number 999999");
    check(&format!("n1-n{big}"), "!number 999999");
    check(&format!("define:n1+{big}"), "!number 999999");
    check(&format!("n[1-10:{big}]"), "n1");
    let wide = format!("a1b1c1-a{0}b{0}c{0}", "9".repeat(30));
    check(&wide, "!noderange");
}

#[test]
fn t50_nesting_depth() {
    let ok = format!("{}n1{}", "(".repeat(32), ")".repeat(32));
    check(&ok, "n1");
    let deep = format!("{}n1{}", "(".repeat(33), ")".repeat(33));
    check(&deep, "!noderange nests deeper than 32 levels");
    // Far past the limit: refused without exhausting the stack.
    let absurd = "(".repeat(1_000_000);
    check(&absurd, "!noderange nests deeper");
    let brackets = format!("{}n[1]{}", "(".repeat(32), ")".repeat(32));
    check(&brackets, "!noderange nests deeper");
}

#[test]
fn t50_dynamic_group_cycles() {
    let f = Fixture::reference()
        .group("a", &[], Some("b"))
        .group("b", &[], Some("n1,a"))
        .group("s", &[], Some("s,n1"))
        .group("ok", &[], Some("a1-a2"));
    check_in(
        &f,
        "a",
        "!group \"a\" refers to itself through its noderange",
    );
    check_in(
        &f,
        "s",
        "!group \"s\" refers to itself through its noderange",
    );
    check_in(&f, "n1,-b", "!group \"b\" refers to itself");
    check_in(&f, "ok", "!Unknown node a1");
}

#[test]
fn t50_dynamic_group_chains_count_towards_depth() {
    let mut f = Fixture::reference();
    for i in 0..40 {
        f = f.group(&format!("g{i}"), &[], Some(&format!("g{}", i + 1)));
    }
    f = f.group("g40", &["n1"], None);
    check_in(&f, "g30", "n1");
    check_in(&f, "g0", "!noderange nests deeper than 32 levels");
}

#[test]
fn t50_define_mode_bounds_the_total() {
    let small = Limits {
        max_names: 10,
        ..Limits::default()
    };
    assert_eq!(expand_names("n[1-10]", &small).unwrap().len(), 10);
    let err = expand_names("n[1-11]", &small).unwrap_err();
    assert!(matches!(err, NoderangeError::TooManyNames { .. }), "{err}");
    let err = expand_names("n[1-6],m[1-6]", &small).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("noderange \"n[1-6],m[1-6]\" would expand to at least 12 names"),
        "{err}"
    );
    let err = expand_names("a[1-5]-a9", &small).unwrap_err();
    assert!(matches!(err, NoderangeError::TooManyNames { .. }), "{err}");
}

#[test]
fn t50_large_universe_is_fast() {
    let names: Vec<String> = (1..=100_000).map(|i| format!("n{i}")).collect();
    let f = Fixture::new(&names).attr("location.rack", "7", &["n5", "n99999"]);
    let limits = Limits::default();
    let start = Instant::now();
    assert_eq!(expand("n[1-100000]", &f, &limits).unwrap().len(), 100_000);
    assert_eq!(expand("n1-n100000", &f, &limits).unwrap().len(), 100_000);
    assert_eq!(
        expand("everything,-n[2-100000]", &f, &limits)
            .unwrap()
            .len(),
        1
    );
    assert_eq!(expand("location.rack=7", &f, &limits).unwrap().len(), 2);
    assert_eq!(expand("~9999$", &f, &limits).unwrap().len(), 10);
    let page = expand("everything<99998", &f, &limits).unwrap();
    assert_eq!(f.names_of(&page), ["n99999", "n100000"]);
    assert!(
        start.elapsed() < Duration::from_secs(20),
        "{:?}",
        start.elapsed()
    );
}
