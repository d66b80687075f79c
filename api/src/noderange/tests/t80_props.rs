//! Property tests: abbreviation round-trips, and no input panics.

use std::collections::BTreeSet;

use proptest::prelude::*;

use super::Fixture;
use crate::names::natural_sort;
use crate::noderange::{Limits, abbreviate, abbreviate_names, expand, expand_names};

/// Node-like names: a few prefixes, plain or zero-padded numbers, one or
/// two numbers, an optional domain.
fn node_name() -> impl Strategy<Value = String> {
    let prefix = prop::sample::select(vec!["n", "r", "cn", "node-", "rack", "x.y", "N", ""]);
    let num = (0u32..30, 0usize..4).prop_map(|(n, w)| format!("{n:0w$}"));
    let tail = prop::sample::select(vec!["", "u", "s", ".dom", "-a"]);
    (prefix, num, tail, prop::option::of((0u32..12, 0usize..3))).prop_map(|(p, n, t, second)| {
        let mut s = format!("{p}{n}{t}");
        if let Some((m, w)) = second
            && !t.is_empty()
        {
            s.push_str(&format!("{m:0w$}"));
        }
        s
    })
}

fn sorted_unique(names: &BTreeSet<String>) -> Vec<String> {
    let mut v: Vec<String> = names.iter().cloned().collect();
    natural_sort(&mut v);
    v
}

/// Only names that read back as themselves alone can round-trip.
fn reads_back(name: &str) -> bool {
    expand_names(name, &Limits::default()).is_ok_and(|v| v == [name])
}

proptest! {
    #[test]
    fn t80_define_round_trip(names in prop::collection::btree_set(node_name(), 0..40)) {
        let names: BTreeSet<String> = names.into_iter().filter(|n| reads_back(n)).collect();
        let want = sorted_unique(&names);
        let text = abbreviate_names(&want);
        if want.is_empty() {
            prop_assert_eq!(text, "");
        } else {
            let got = expand_names(&text, &Limits::default());
            prop_assert_eq!(got, Ok(want), "{}", text);
        }
    }

    #[test]
    fn t80_universe_round_trip(
        nodes in prop::collection::btree_set(node_name(), 1..40),
        picks in prop::collection::vec(any::<bool>(), 40),
        groups in prop::collection::vec(prop::collection::vec(any::<bool>(), 40), 0..4),
    ) {
        let nodes: Vec<String> = nodes.into_iter().collect();
        let mut f = Fixture::new(&nodes);
        for (g, mask) in groups.iter().enumerate() {
            let members: Vec<&str> = nodes.iter().zip(mask).filter(|(_, m)| **m).map(|(n, _)| n.as_str()).collect();
            f = f.group(&format!("grp{g}"), &members, None);
        }
        let chosen: Vec<&str> = nodes.iter().zip(&picks).filter(|(_, p)| **p).map(|(n, _)| n.as_str()).collect();
        let set = f.set_of(&chosen);
        let text = abbreviate(&set, &f);
        if chosen.is_empty() {
            prop_assert_eq!(text, "");
        } else {
            let got = expand(&text, &f, &Limits::default());
            prop_assert_eq!(got.as_ref().map(|s| f.names_of(s)), Ok(f.names_of(&set)), "{}", text);
        }
    }

    #[test]
    fn t80_arbitrary_text_never_panics(text in ".{0,60}") {
        let f = Fixture::reference();
        let small = Limits { max_names: 10_000, ..Limits::default() };
        let _ = expand(&text, &f, &small);
        let _ = expand_names(&text, &small);
    }

    #[test]
    fn t80_grammar_soup_never_panics(text in "[nrdu0-9\\[\\]\\-:.+,@<>()~=!*^$ ]{0,40}") {
        let f = Fixture::reference();
        let small = Limits { max_names: 10_000, ..Limits::default() };
        let _ = expand(&text, &f, &small);
        let _ = expand_names(&text, &small);
        let _ = abbreviate_names(&[text.as_str()]);
    }
}
