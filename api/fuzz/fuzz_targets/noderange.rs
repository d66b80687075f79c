//! Fuzzes the noderange language: parsing, evaluation in both modes and
//! abbreviation must never panic, and what they return must respect the
//! module's invariants (define mode within its limit and in natural order;
//! abbreviation of a result expanding back to it).
//!
//! Input: any bytes, read as lossy UTF-8 noderange text.

#![no_main]

use std::collections::HashMap;

use cohort_api::names::natural_cmp;
use cohort_api::noderange::{
    GroupView, Limits, Universe, abbreviate, abbreviate_names, expand, expand_names,
};
use cohort_api::nodeset::{NodeId, NodeSet};
use libfuzzer_sys::fuzz_target;

/// A copy of the reference fixture, small: n1..n12, d01..d04, r1u1..r2u2,
/// pdu1, sw1, sw2; static, dynamic and self-referencing groups; a few
/// attributes.
struct Fixture {
    names: Vec<String>,
    ids: HashMap<String, NodeId>,
    order: Vec<NodeId>,
    groups: Vec<(String, NodeSet, Option<String>)>,
    attrs: Vec<String>,
    values: HashMap<(NodeId, u32), String>,
}

impl Fixture {
    fn new() -> Self {
        let mut names: Vec<String> = (1..=12).map(|i| format!("n{i}")).collect();
        for x in [
            "d01", "d02", "d03", "d04", "r1u1", "r1u2", "r2u1", "r2u2", "pdu1", "sw1", "sw2",
        ] {
            names.push(x.to_owned());
        }
        let ids: HashMap<String, NodeId> = names
            .iter()
            .enumerate()
            .map(|(i, n)| (n.clone(), i as NodeId))
            .collect();
        let mut order: Vec<NodeId> = (0..names.len() as NodeId).collect();
        order.sort_by(|a, b| natural_cmp(&names[*a as usize], &names[*b as usize]));
        let set = |members: &[&str]| -> NodeSet { members.iter().map(|m| ids[*m]).collect() };
        let n: Vec<&str> = names[..12].iter().map(String::as_str).collect();
        let groups = vec![
            (
                "everything".to_owned(),
                order.iter().copied().collect(),
                None,
            ),
            ("compute".to_owned(), set(&n[..8]), None),
            ("gpu".to_owned(), set(&n[6..]), None),
            ("rack1".to_owned(), set(&["r1u1", "r1u2"]), None),
            ("rack2".to_owned(), set(&["r2u1", "r2u2"]), None),
            ("switches".to_owned(), set(&["sw1", "sw2"]), None),
            (
                "all".to_owned(),
                NodeSet::new(),
                Some("everything,-switches".to_owned()),
            ),
            (
                "loop".to_owned(),
                NodeSet::new(),
                Some("n1,loop".to_owned()),
            ),
        ];
        let mut values = HashMap::new();
        for (i, node) in n.iter().enumerate() {
            let rack = if i < 6 { "1" } else { "2" };
            values.insert((ids[*node], 0), rack.to_owned());
            if i < 4 {
                values.insert((ids[*node], 1), "sw1".to_owned());
            }
        }
        let attrs = vec!["location.rack".to_owned(), "net.mgt.switch".to_owned()];
        Fixture {
            names,
            ids,
            order,
            groups,
            attrs,
            values,
        }
    }
}

impl Universe for Fixture {
    type AttrKey = u32;

    fn id_bound(&self) -> usize {
        self.names.len()
    }
    fn node_id(&self, name: &str) -> Option<NodeId> {
        self.ids.get(name).copied()
    }
    fn node_name(&self, id: NodeId) -> &str {
        self.names.get(id as usize).map_or("", String::as_str)
    }
    fn nodes_in_order(&self) -> &[NodeId] {
        &self.order
    }
    fn group(&self, name: &str) -> Option<GroupView<'_>> {
        let (name, members, noderange) = self.groups.iter().find(|g| g.0 == name)?;
        Some(GroupView {
            name,
            members,
            noderange: noderange.as_deref(),
        })
    }
    fn group_names(&self) -> Vec<&str> {
        self.groups.iter().map(|g| g.0.as_str()).collect()
    }
    fn attr_key(&self, canonical: &str) -> Option<u32> {
        self.attrs
            .iter()
            .position(|a| a == canonical)
            .map(|k| k as u32)
    }
    fn attr_keys_matching(&self, glob: &str) -> Vec<u32> {
        (0..self.attrs.len() as u32)
            .filter(|&k| cohort_api::glob::glob_match(glob, &self.attrs[k as usize]))
            .collect()
    }
    fn attr_value(&self, id: NodeId, key: u32) -> Option<&str> {
        self.values.get(&(id, key)).map(String::as_str)
    }
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let limits = Limits {
        max_names: 10_000,
        max_regex_len: 256,
        max_regex_size: 1 << 16,
        max_depth: 16,
    };

    if let Ok(names) = expand_names(&text, &limits) {
        assert!(names.len() <= limits.max_names);
        assert!(names.windows(2).all(|w| natural_cmp(&w[0], &w[1]).is_lt()));
        let _ = abbreviate_names(&names);
    }

    let u = Fixture::new();
    if let Ok(set) = expand(&text, &u, &limits) {
        let short = abbreviate(&set, &u);
        if !set.is_empty() {
            // Compared by membership: `NodeSet` equality also compares
            // trailing empty words.
            let back = expand(&short, &u, &Limits::default());
            let same = back
                .as_ref()
                .is_ok_and(|b| b.is_subset(&set) && set.is_subset(b));
            assert!(same, "{text:?} -> {short:?} -> {back:?}");
        }
    }
});
