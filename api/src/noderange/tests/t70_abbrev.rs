//! Abbreviation, and that it always expands back to its input.

use super::Fixture;
use crate::noderange::{Limits, abbreviate, abbreviate_names, expand, expand_names};

/// Abbreviates names, checks the text, and checks it expands back.
fn abbrev_is(names: &[&str], want: &str) {
    let text = abbreviate_names(names);
    assert_eq!(text, want, "{names:?}");
    let mut sorted: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    crate::names::natural_sort(&mut sorted);
    sorted.dedup();
    if !want.is_empty() {
        assert_eq!(
            expand_names(&text, &Limits::default()).unwrap(),
            sorted,
            "{text}"
        );
    }
}

#[test]
fn t70_confluent_self_test_strings() {
    abbrev_is(&["r3u4", "r5u6"], "r3u4,r5u6");
    abbrev_is(&["r3u4s1", "r5u6s3"], "r3u4s1,r5u6s3");
    abbrev_is(&["r3u4s1", "r3u4s2", "r5u4s3"], "r3u4s[1:2],r5u4s3");
    abbrev_is(&["r3u4", "r3u5", "r3u6", "r3u9", "r4u1"], "r3u[4:6,9],r4u1");
    abbrev_is(&["n01", "n2", "n03"], "n01,n2,n03");
    let mut v = vec!["n7".to_owned(), "n8".to_owned()];
    v.extend((9..=20).map(|i| format!("n{i:02}")));
    let v: Vec<&str> = v.iter().map(String::as_str).collect();
    abbrev_is(&v, "n[7:8],n[09:20]");
}

#[test]
fn t70_runs_and_padding() {
    abbrev_is(&[], "");
    abbrev_is(&["n1"], "n1");
    abbrev_is(&["n3", "n1", "n2", "n5"], "n[1:3,5]");
    abbrev_is(&["n8", "n9", "n10"], "n[8:10]");
    abbrev_is(&["n08", "n09", "n10"], "n[08:10]");
    abbrev_is(&["n99", "n100"], "n[99:100]");
    abbrev_is(&["n1", "n3"], "n[1,3]");
    abbrev_is(&["n01", "n02", "n2"], "n[01:02],n2");
    abbrev_is(&["n1", "n1", "n2"], "n[1:2]");
    abbrev_is(&["r1u1", "r1u2", "r2u1", "r2u2"], "r1u[1:2],r2u[1:2]");
    abbrev_is(&["1", "2", "3"], "[1:3]");
    abbrev_is(&["n1.dom", "n2.dom"], "n[1:2].dom");
}

#[test]
fn t70_literal_names() {
    abbrev_is(&["x", "y"], "x,y");
    abbrev_is(&["node-01", "node-02", "node-03"], "node-[01:03]");
    // A name that is itself a range cannot go in brackets.
    assert_eq!(abbreviate_names(&["a1-a3"]), "a1-a3");
    // A name starting with '-' would turn ',' into ',-'.
    abbrev_is(&["a", "-b"], "(-b),a");
    abbrev_is(&["a", "-b1", "-b2"], "(-b[1:2]),a");
}

fn universe_abbrev(f: &Fixture, names: &[&str], want: &str) {
    let set = f.set_of(names);
    let text = abbreviate(&set, f);
    assert_eq!(text, want, "{names:?}");
    if !set.is_empty() {
        let back = expand(&text, f, &Limits::default()).unwrap();
        assert_eq!(f.names_of(&back), f.names_of(&set), "{text}");
    }
}

#[test]
fn t70_universe_prefers_whole_groups() {
    let f = Fixture::reference();
    let compute = ["n1", "n2", "n3", "n4", "n5", "n6", "n7", "n8"];
    universe_abbrev(&f, &compute, "compute");
    let mut twelve = compute.to_vec();
    twelve.extend(["n9", "n10", "n11", "n12"]);
    universe_abbrev(&f, &twelve, "compute,n[9:12]");
    universe_abbrev(&f, &["r1u1", "r1u2", "r2u1", "r2u2"], "rack[1:2]");
    universe_abbrev(&f, &["r1u1", "r1u2", "n1", "sw1"], "rack1,n1,sw1");
    universe_abbrev(&f, &["n1", "n2"], "n[1:2]");
    universe_abbrev(&f, &[], "");
}

#[test]
fn t70_universe_everything_and_dynamic_groups() {
    let f = Fixture::reference();
    let all: Vec<&str> = f.names.iter().map(String::as_str).collect();
    universe_abbrev(&f, &all, "everything");
    let no_switches: Vec<&str> = all
        .iter()
        .copied()
        .filter(|n| !n.starts_with("sw"))
        .collect();
    universe_abbrev(&f, &no_switches, "all");
    let mut no_pdu: Vec<&str> = all.iter().copied().filter(|n| *n != "pdu1").collect();
    no_pdu.sort();
    let text = abbreviate(&f.set_of(&no_pdu), &f);
    assert!(
        !text.contains("everything") && !text.contains("all"),
        "{text}"
    );
    let back = expand(&text, &f, &Limits::default()).unwrap();
    assert_eq!(f.names_of(&back), f.names_of(&f.set_of(&no_pdu)));
}

#[test]
fn t70_universe_skips_groups_shadowed_or_broken() {
    let f = Fixture::new(&["a1", "a2", "x"])
        .group("x", &["a1"], None)
        .group("broken", &[], Some("nosuch"))
        .group("pair", &["a1", "a2"], None);
    universe_abbrev(&f, &["a1", "a2"], "pair");
    universe_abbrev(&f, &["a1", "x"], "a1,x");
}
