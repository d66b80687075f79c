//! Nodes, groups and inheritance: the attribute model admins edit with
//! `nodeattrib`, `nodegroupattrib`, `nodedefine` and friends.
//!
//! # Shape
//!
//! Each node keeps its *own* values and an ordered list of groups; each group
//! keeps its own values. The effective value of an attribute on a node is the
//! node's own value, else the value of the first group in the node's `groups`
//! that defines it, else the value of the implicit group `everything` (which
//! every node is in, last). An explicit empty value on the node masks a group
//! value; clearing removes the node's value and it inherits again.
//!
//! Like confluent, the effective values are **materialised**: every edit
//! recomputes the view of each node it touches (inheritance merged, every
//! expression evaluated in the node's context), so reads — listings, and the
//! attribute filters of noderanges over 100,000 nodes — are a lookup. The
//! rejected alternative, resolving on every read, costs a walk over groups per
//! attribute per node on the hot path; writes are rarer than reads here, and
//! a full per-node recompute after an edit also keeps expressions that
//! reference other attributes correct without a dependency graph.
//!
//! Values are interned by attribute name ([`AttrKey`]) and shared through
//! `Arc<str>`, so a group value inherited by 100,000 nodes is stored once.
//!
//! # Invariants
//! - `node.groups` is the truth for static membership; `group.members` is an
//!   index derived from it and kept equal by every edit.
//! - An edit validates everything before it changes anything: an `Err` leaves
//!   the inventory untouched.
//! - Deterministic: the same edits in the same order give the same inventory
//!   on every member (no hash-order iteration leaks into results).

mod assign;
mod dump;
mod edit;
mod error;
mod groups;
mod rename;
mod resolve;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

pub use assign::Assignment;
pub use dump::{Dump, GroupRecord, NodeRecord, StoredValue};
pub use edit::Outcome;
pub use error::InventoryError;

use crate::noderange::{self, GroupView, Limits, Universe};
use crate::nodeset::{NodeId, NodeSet};

/// Name of the implicit group every node belongs to.
pub const EVERYTHING: &str = "everything";

/// Interned attribute name, valid within one [`Inventory`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AttrKey(u32);

type GroupId = u32;
const EVERYTHING_ID: GroupId = 0;
/// `groups` is interned first, so its key is fixed.
const GROUPS_KEY: AttrKey = AttrKey(0);

/// A value as it was set: literal text, or an expression evaluated per node.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Stored {
    Literal(Arc<str>),
    Expr(Arc<crate::expr::Expression>),
}

/// Where an effective value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    Own,
    Group(GroupId),
}

/// One effective attribute of a node. 32 bytes: 3 million of these (100,000
/// nodes x 30 attributes) are the bulk of the inventory's memory.
#[derive(Debug, Clone)]
struct Slot {
    key: AttrKey,
    origin: Origin,
    /// `true`: `value` is the error of a broken expression.
    broken: bool,
    /// `true`: derived from an expression (blame looks up its source).
    expr: bool,
    value: Arc<str>,
}

#[derive(Debug, Clone)]
struct Node {
    name: Arc<str>,
    /// Explicit groups, highest priority first; `everything` is implied last.
    groups: Vec<GroupId>,
    /// Own values, sorted by key.
    own: Vec<(AttrKey, Stored)>,
    /// Effective values in attribute name order (materialised by `resolve`).
    view: Vec<Slot>,
}

#[derive(Debug, Clone)]
struct Group {
    name: Arc<str>,
    /// Static members (derived from the nodes' `groups`).
    members: NodeSet,
    /// Own values, sorted by key.
    attrs: Vec<(AttrKey, Stored)>,
    /// Dynamic membership expression, if this is a dynamic group.
    noderange: Option<Arc<str>>,
}

/// The whole attribute model of a collective.
#[derive(Debug, Clone)]
pub struct Inventory {
    nodes: Vec<Option<Node>>,
    free_ids: Vec<NodeId>,
    node_ids: HashMap<Arc<str>, NodeId>,
    /// Live node ids in natural name order.
    order: Vec<NodeId>,
    groups: Vec<Option<Group>>,
    group_ids: BTreeMap<Arc<str>, GroupId>,
    attr_names: Vec<Arc<str>>,
    attr_keys: HashMap<Arc<str>, AttrKey>,
    /// Position of each interned name in name order, indexed by key. Views
    /// are kept in this order so listings need no sorting; interning a new
    /// name never changes the relative order of existing ones, so stored
    /// views stay sorted.
    attr_rank: Vec<u32>,
    limits: Limits,
}

impl Default for Inventory {
    fn default() -> Self {
        Inventory::new(Limits::default())
    }
}

/// An effective attribute value of a node, as shown by `nodeattrib`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Value<'a> {
    /// Canonical attribute name.
    pub name: &'a str,
    /// The value; for a broken expression, empty.
    pub value: &'a str,
    /// The error of a broken expression.
    pub broken: Option<&'a str>,
    /// The group it is inherited from, `None` when the node's own.
    pub inherited_from: Option<&'a str>,
    /// The expression it is derived from, if any.
    pub expression: Option<&'a str>,
}

impl Value<'_> {
    /// The `-b`/`--blame` suffix: `(inherited from group G, derived from
    /// expression "E")`, or empty when the value is the node's own literal.
    pub fn blame(&self) -> String {
        let mut parts = Vec::new();
        if let Some(g) = self.inherited_from {
            parts.push(format!("inherited from group {g}"));
        }
        if let Some(e) = self.expression {
            parts.push(format!("derived from expression \"{e}\""));
        }
        if parts.is_empty() {
            String::new()
        } else {
            format!("({})", parts.join(", "))
        }
    }
}

/// A group's own attribute as set (not evaluated).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupValue<'a> {
    pub name: &'a str,
    /// Literal text, or the expression's source.
    pub value: &'a str,
    pub is_expression: bool,
}

impl Inventory {
    /// An empty inventory holding only the group `everything`.
    pub fn new(limits: Limits) -> Self {
        let everything = Group {
            name: Arc::from(EVERYTHING),
            members: NodeSet::new(),
            attrs: Vec::new(),
            noderange: None,
        };
        let mut group_ids = BTreeMap::new();
        group_ids.insert(everything.name.clone(), EVERYTHING_ID);
        let mut inv = Inventory {
            nodes: Vec::new(),
            free_ids: Vec::new(),
            node_ids: HashMap::new(),
            order: Vec::new(),
            groups: vec![Some(everything)],
            group_ids,
            attr_names: Vec::new(),
            attr_keys: HashMap::new(),
            attr_rank: Vec::new(),
            limits,
        };
        inv.intern("groups");
        inv
    }

    /// The limits noderanges are evaluated with.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Number of nodes.
    pub fn node_count(&self) -> usize {
        self.order.len()
    }

    /// Every node name, in natural order.
    pub fn node_names(&self) -> impl Iterator<Item = &str> + '_ {
        self.order.iter().map(|&id| self.node(id).name.as_ref())
    }

    /// Every group name (including `everything`), in natural order.
    pub fn group_names_sorted(&self) -> Vec<&str> {
        let mut v: Vec<&str> = self.group_ids.keys().map(|k| k.as_ref()).collect();
        crate::names::natural_sort(&mut v);
        v
    }

    pub fn has_node(&self, name: &str) -> bool {
        self.node_ids.contains_key(name)
    }

    pub fn has_group(&self, name: &str) -> bool {
        self.group_ids.contains_key(name)
    }

    /// Evaluates a noderange against this inventory.
    pub fn expand(&self, noderange: &str) -> Result<NodeSet, InventoryError> {
        Ok(noderange::expand(noderange, self, &self.limits)?)
    }

    /// Names of a node set, in natural order.
    pub fn names_of<'a>(&'a self, set: &'a NodeSet) -> impl Iterator<Item = &'a str> + 'a {
        self.order
            .iter()
            .filter(move |&&id| set.contains(id))
            .map(move |&id| self.node(id).name.as_ref())
    }

    /// Evaluates a noderange and lists the names in natural order.
    pub fn expand_names(&self, noderange: &str) -> Result<Vec<String>, InventoryError> {
        let set = self.expand(noderange)?;
        Ok(self.names_of(&set).map(str::to_owned).collect())
    }

    /// The short noderange text of a node set (`n[1:4],gpu`).
    pub fn abbreviate(&self, set: &NodeSet) -> String {
        noderange::abbreviate(set, self)
    }

    /// The groups of a node, highest priority first, `everything` last.
    pub fn node_groups(&self, node: &str) -> Option<Vec<&str>> {
        let id = *self.node_ids.get(node)?;
        let n = self.node(id);
        let mut v: Vec<&str> = n
            .groups
            .iter()
            .map(|&g| self.group(g).name.as_ref())
            .collect();
        v.push(EVERYTHING);
        Some(v)
    }

    /// Every effective attribute of a node, sorted by name.
    pub fn node_values(&self, node: &str) -> Option<Vec<Value<'_>>> {
        let id = *self.node_ids.get(node)?;
        let n = self.node(id);
        Some(n.view.iter().map(|s| self.value_of(n, s)).collect())
    }

    /// One effective attribute of a node (canonical name); `None` when the
    /// node does not exist or the attribute is unset.
    pub fn node_value(&self, node: &str, canonical: &str) -> Option<Value<'_>> {
        let id = *self.node_ids.get(node)?;
        let key = *self.attr_keys.get(canonical)?;
        let n = self.node(id);
        let slot = self.find_slot(&n.view, key)?;
        Some(self.value_of(n, slot))
    }

    /// The members of a group in natural order (static and dynamic).
    pub fn group_members(&self, group: &str) -> Result<Vec<String>, InventoryError> {
        if !self.has_group(group) {
            return Err(InventoryError::NoSuchGroup(group.to_owned()));
        }
        self.expand_names(group)
    }

    /// A group's own attributes as set, sorted by name; the dynamic
    /// `noderange` shows as an attribute.
    pub fn group_values(&self, group: &str) -> Option<Vec<GroupValue<'_>>> {
        let g = self.group(*self.group_ids.get(group)?);
        let mut v: Vec<GroupValue<'_>> = g
            .attrs
            .iter()
            .map(|(k, s)| {
                let (value, is_expression) = match s {
                    Stored::Literal(t) => (t.as_ref(), false),
                    Stored::Expr(e) => (e.source(), true),
                };
                GroupValue {
                    name: self.attr_name(*k),
                    value,
                    is_expression,
                }
            })
            .collect();
        if let Some(nr) = &g.noderange {
            v.push(GroupValue {
                name: "noderange",
                value: nr,
                is_expression: false,
            });
        }
        v.sort_by(|a, b| a.name.cmp(b.name));
        Some(v)
    }

    fn value_of<'a>(&'a self, n: &'a Node, s: &'a Slot) -> Value<'a> {
        let (inherited_from, stored) = match s.origin {
            Origin::Own => (None, s.expr.then(|| find_stored(&n.own, s.key)).flatten()),
            Origin::Group(g) => {
                let g = self.group(g);
                let stored = s.expr.then(|| find_stored(&g.attrs, s.key)).flatten();
                (Some(g.name.as_ref()), stored)
            }
        };
        let expression = match stored {
            Some(Stored::Expr(e)) => Some(e.source()),
            _ => None,
        };
        Value {
            name: self.attr_name(s.key),
            value: if s.broken { "" } else { &s.value },
            broken: s.broken.then_some(s.value.as_ref()),
            inherited_from,
            expression,
        }
    }

    fn node(&self, id: NodeId) -> &Node {
        match self.nodes.get(id as usize) {
            Some(Some(n)) => n,
            // Ids only come from this inventory's own tables.
            _ => unreachable!("dangling node id {id}"),
        }
    }

    fn group(&self, id: GroupId) -> &Group {
        match self.groups.get(id as usize) {
            Some(Some(g)) => g,
            _ => unreachable!("dangling group id {id}"),
        }
    }

    fn attr_name(&self, key: AttrKey) -> &str {
        self.attr_names
            .get(key.0 as usize)
            .map_or("", |name| name.as_ref())
    }

    /// The key of a canonical name, interning it on first use.
    fn intern(&mut self, canonical: &str) -> AttrKey {
        if let Some(&k) = self.attr_keys.get(canonical) {
            return k;
        }
        let k = AttrKey(self.attr_names.len() as u32);
        let name: Arc<str> = Arc::from(canonical);
        self.attr_names.push(name.clone());
        self.attr_keys.insert(name, k);
        let mut by_name: Vec<usize> = (0..self.attr_names.len()).collect();
        by_name.sort_by(|&a, &b| self.attr_names[a].cmp(&self.attr_names[b]));
        self.attr_rank = vec![0; by_name.len()];
        for (rank, key) in by_name.into_iter().enumerate() {
            self.attr_rank[key] = rank as u32;
        }
        k
    }

    fn rank(&self, key: AttrKey) -> u32 {
        self.attr_rank
            .get(key.0 as usize)
            .copied()
            .unwrap_or(u32::MAX)
    }

    /// The slot of `key` in a view. Views hold a few dozen slots, where a
    /// linear scan of keys beats a binary search through ranks.
    fn find_slot<'a>(&self, view: &'a [Slot], key: AttrKey) -> Option<&'a Slot> {
        view.iter().find(|s| s.key == key)
    }
}

fn find_stored(attrs: &[(AttrKey, Stored)], key: AttrKey) -> Option<&Stored> {
    attrs
        .binary_search_by_key(&key, |(k, _)| *k)
        .ok()
        .map(|i| &attrs[i].1)
}

impl Universe for Inventory {
    type AttrKey = AttrKey;

    fn id_bound(&self) -> usize {
        self.nodes.len()
    }

    fn node_id(&self, name: &str) -> Option<NodeId> {
        self.node_ids.get(name).copied()
    }

    fn node_name(&self, id: NodeId) -> &str {
        match self.nodes.get(id as usize) {
            Some(Some(n)) => &n.name,
            _ => "",
        }
    }

    fn nodes_in_order(&self) -> &[NodeId] {
        &self.order
    }

    fn group(&self, name: &str) -> Option<GroupView<'_>> {
        let g = Inventory::group(self, *self.group_ids.get(name)?);
        Some(GroupView {
            name: &g.name,
            members: &g.members,
            noderange: g.noderange.as_deref(),
        })
    }

    fn group_names(&self) -> Vec<&str> {
        self.group_ids.keys().map(|k| k.as_ref()).collect()
    }

    fn attr_key(&self, canonical: &str) -> Option<AttrKey> {
        self.attr_keys.get(canonical).copied()
    }

    fn attr_keys_matching(&self, glob: &str) -> Vec<AttrKey> {
        self.attr_names
            .iter()
            .enumerate()
            .filter(|(_, name)| crate::glob::glob_match(glob, name))
            .map(|(i, _)| AttrKey(i as u32))
            .collect()
    }

    fn attr_value(&self, id: NodeId, key: AttrKey) -> Option<&str> {
        let Some(Some(n)) = self.nodes.get(id as usize) else {
            return None;
        };
        let slot = self.find_slot(&n.view, key)?;
        (!slot.broken).then_some(slot.value.as_ref())
    }
}
