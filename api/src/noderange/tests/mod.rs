//! Noderange tests: a fixture [`Universe`] (confluent.md §1.6) and one
//! table helper, [`check`], that every case goes through.
//!
//! Files by category: `t10` the reference table, `t20` operators and
//! syntax, `t30` ranges and brackets, `t40` filters and regular
//! expressions, `t50` limits, `t60` define mode, `t70` abbreviation, `t80`
//! property tests.

mod t10_reference;
mod t20_operators;
mod t30_ranges;
mod t40_filters;
mod t50_limits;
mod t60_define;
mod t70_abbrev;
mod t80_props;

use std::collections::{BTreeMap, HashMap};

use super::*;
use crate::glob::glob_match;
use crate::names::natural_sort;
use crate::nodeset::NodeId;

/// A universe over plain maps. Node ids are assigned in reverse insertion
/// order on purpose, so that id order is never the natural order.
#[derive(Debug, Default, Clone)]
pub(super) struct Fixture {
    names: Vec<String>,
    ids: HashMap<String, NodeId>,
    order: Vec<NodeId>,
    groups: BTreeMap<String, (NodeSet, Option<String>)>,
    attr_names: Vec<String>,
    values: HashMap<(NodeId, u32), String>,
}

impl Fixture {
    pub fn new<S: AsRef<str>>(nodes: &[S]) -> Self {
        let mut f = Fixture::default();
        for name in nodes.iter().rev() {
            let name = name.as_ref().to_owned();
            if f.ids.contains_key(&name) {
                continue;
            }
            f.ids.insert(name.clone(), f.names.len() as NodeId);
            f.names.push(name);
        }
        let mut sorted: Vec<&String> = f.names.iter().collect();
        natural_sort(&mut sorted);
        f.order = sorted.iter().map(|n| f.ids[n.as_str()]).collect();
        let all: NodeSet = f.order.iter().copied().collect();
        f.groups.insert("everything".into(), (all, None));
        f
    }

    pub fn group(mut self, name: &str, members: &[&str], noderange: Option<&str>) -> Self {
        let set = members.iter().map(|m| self.ids[*m]).collect();
        self.groups
            .insert(name.to_owned(), (set, noderange.map(str::to_owned)));
        self
    }

    pub fn attr(mut self, attr: &str, value: &str, nodes: &[&str]) -> Self {
        let key = match self.attr_names.iter().position(|a| a == attr) {
            Some(k) => k as u32,
            None => {
                self.attr_names.push(attr.to_owned());
                (self.attr_names.len() - 1) as u32
            }
        };
        for n in nodes {
            self.values.insert((self.ids[*n], key), value.to_owned());
        }
        self
    }

    /// The reference fixture of confluent.md §1.6.
    pub fn reference() -> Self {
        let n: Vec<String> = (1..=12).map(|i| format!("n{i}")).collect();
        let mut nodes: Vec<String> = n.clone();
        for x in [
            "d01", "d02", "d03", "d04", "r1u1", "r1u2", "r2u1", "r2u2", "pdu1", "sw1", "sw2",
        ] {
            nodes.push(x.to_owned());
        }
        let n: Vec<&str> = n.iter().map(String::as_str).collect();
        Fixture::new(&nodes)
            .group("compute", &n[0..8], None)
            .group("gpu", &n[6..12], None)
            .group("rack1", &["r1u1", "r1u2"], None)
            .group("rack2", &["r2u1", "r2u2"], None)
            .group("switches", &["sw1", "sw2"], None)
            .group("all", &[], Some("everything,-switches"))
            .attr("location.rack", "1", &n[0..6])
            .attr("location.rack", "2", &n[6..12])
            .attr("net.mgt.switch", "sw1", &n[0..4])
            .attr("net.data.switch", "sw2", &n[2..4])
            .attr("console.method", "ipmi", &n[0..8])
    }

    pub fn names_of(&self, set: &NodeSet) -> Vec<String> {
        self.order
            .iter()
            .filter(|&&id| set.contains(id))
            .map(|&id| self.names[id as usize].clone())
            .collect()
    }

    pub fn set_of<S: AsRef<str>>(&self, names: &[S]) -> NodeSet {
        names.iter().map(|n| self.ids[n.as_ref()]).collect()
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
        let (name, (members, noderange)) = self.groups.get_key_value(name)?;
        Some(GroupView {
            name,
            members,
            noderange: noderange.as_deref(),
        })
    }
    fn group_names(&self) -> Vec<&str> {
        self.groups.keys().map(String::as_str).collect()
    }
    fn attr_key(&self, canonical: &str) -> Option<u32> {
        self.attr_names
            .iter()
            .position(|a| a == canonical)
            .map(|k| k as u32)
    }
    fn attr_keys_matching(&self, glob: &str) -> Vec<u32> {
        (0..self.attr_names.len() as u32)
            .filter(|&k| glob_match(glob, &self.attr_names[k as usize]))
            .collect()
    }
    fn attr_value(&self, id: NodeId, key: u32) -> Option<&str> {
        self.values.get(&(id, key)).map(String::as_str)
    }
}

/// Expands `a..b` shorthands of an expected list (`n1..n3`).
fn expected_names(expected: &str) -> Vec<String> {
    let mut out = Vec::new();
    for tok in expected.split_whitespace() {
        match tok.split_once("..") {
            Some((from, to)) => {
                let stem = from.trim_end_matches(|c: char| c.is_ascii_digit());
                let a: usize = from[stem.len()..].parse().unwrap();
                let b: usize = to[stem.len()..].parse().unwrap();
                out.extend((a..=b).map(|i| format!("{stem}{i}")));
            }
            None => out.push(tok.to_owned()),
        }
    }
    out
}

/// Compares a result with an expectation: either the node names in natural
/// order, space-separated (`n1..n8` abbreviates a run), or `!` and the start
/// of the error message.
fn verify(input: &str, got: Result<Vec<String>, NoderangeError>, expected: &str) {
    match (expected.strip_prefix('!'), got) {
        (Some(prefix), Err(e)) => {
            let msg = e.to_string();
            assert!(
                msg.starts_with(prefix),
                "{input:?}: error {msg:?} does not start with {prefix:?}"
            );
        }
        (Some(prefix), Ok(v)) => panic!("{input:?}: expected error {prefix:?}, got {v:?}"),
        (None, Ok(v)) => assert_eq!(v, expected_names(expected), "{input:?}"),
        (None, Err(e)) => panic!("{input:?}: expected {expected:?}, got error {e}"),
    }
}

/// The one table helper: `input` against the reference fixture (or, when
/// it starts with `define:`, in define mode) must give `expected`.
pub(super) fn check(input: &str, expected: &str) {
    check_in(&Fixture::reference(), input, expected);
}

/// [`check`] against another fixture.
pub(super) fn check_in(u: &Fixture, input: &str, expected: &str) {
    let got = match input.strip_prefix("define:") {
        Some(text) => expand_names(text, &Limits::default()),
        None => expand(input, u, &Limits::default()).map(|s| u.names_of(&s)),
    };
    verify(input, got, expected);
}
