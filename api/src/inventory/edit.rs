//! Node edits: define, set, clear, remove.
//!
//! Each public edit has two phases. `prepare_*` takes `&self`, checks every
//! input and turns it into plain operations; only then does `apply_*` take
//! `&mut self` and perform them, which cannot fail. That split is how "an
//! error changes nothing" holds without copying the inventory.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::assign::{prepare_value, resolve_plain, split_list};
use super::{
    Assignment, AttrKey, EVERYTHING, EVERYTHING_ID, GroupId, Inventory, InventoryError, Node,
    Origin, Stored,
};
use crate::catalog::Scope;
use crate::glob::{glob_match, is_glob};
use crate::names::{NameKind, natural_cmp, validate_name};
use crate::nodeset::{NodeId, NodeSet};

/// What an accepted edit did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Things the admin should know that did not stop the edit.
    pub warnings: Vec<String>,
    /// Number of nodes whose attributes or membership changed.
    pub changed: usize,
}

/// A checked edit of one node.
#[derive(Debug, Clone)]
pub(super) enum NodeOp {
    Set(String, Stored),
    SetGroups(Vec<GroupId>),
    AddGroups(Vec<GroupId>),
    RemoveGroups(Vec<GroupId>),
}

impl Inventory {
    /// Defines new nodes (`nodedefine`), expanding the noderange in define
    /// mode: the names need not exist, and must not.
    pub fn define_nodes_range(
        &mut self,
        noderange: &str,
        assignments: &[Assignment],
    ) -> Result<Outcome, InventoryError> {
        let names = crate::noderange::expand_names(noderange, &self.limits)?;
        self.define_nodes(&names, assignments)
    }

    /// Defines new nodes with initial attributes, as one edit.
    pub fn define_nodes<S: AsRef<str>>(
        &mut self,
        names: &[S],
        assignments: &[Assignment],
    ) -> Result<Outcome, InventoryError> {
        let mut fresh: Vec<&str> = names.iter().map(AsRef::as_ref).collect();
        fresh.sort_unstable_by(|a, b| natural_cmp(a, b));
        fresh.dedup();
        if fresh.is_empty() {
            return Err(InventoryError::EmptyRange);
        }
        for name in &fresh {
            validate_name(NameKind::Node, name)?;
            if self.has_node(name) {
                return Err(InventoryError::NodeExists((*name).to_owned()));
            }
        }
        let ops = self.prepare_node_ops(&NodeSet::new(), assignments)?;
        let ids = self.insert_nodes(&fresh);
        let mut outcome = self.apply_node_ops(&ids, &ops);
        outcome.changed = ids.len();
        Ok(outcome)
    }

    /// Sets attributes or edits `groups` on every node of a set.
    pub fn set_node_attributes(
        &mut self,
        set: &NodeSet,
        assignments: &[Assignment],
    ) -> Result<Outcome, InventoryError> {
        let ids = self.ids_in_order(set)?;
        let ops = self.prepare_node_ops(set, assignments)?;
        let mut outcome = self.apply_node_ops(&ids, &ops);
        outcome.changed = ids.len();
        Ok(outcome)
    }

    /// Removes nodes' own values (`nodeattrib -c`), so they inherit again.
    /// Names may be globs (`net.*switch`): then every matching attribute the
    /// node sets is cleared.
    pub fn clear_node_attributes<S: AsRef<str>>(
        &mut self,
        set: &NodeSet,
        names: &[S],
    ) -> Result<Outcome, InventoryError> {
        let ids = self.ids_in_order(set)?;
        let mut exact: Vec<String> = Vec::new();
        let mut globs: Vec<&str> = Vec::new();
        let mut clear_groups = false;
        for name in names.iter().map(AsRef::as_ref) {
            if name == "groups" {
                clear_groups = true;
            } else if is_glob(name) {
                globs.push(name);
            } else {
                let attr = resolve_plain(name)?;
                check_scope(&attr.canonical, attr.spec.scope, Scope::Node)?;
                exact.push(attr.canonical);
            }
        }
        let mut cleared: Vec<(NodeId, AttrKey)> = Vec::new();
        for &id in &ids {
            let keys: Vec<AttrKey> = self
                .node(id)
                .own
                .iter()
                .map(|(k, _)| *k)
                .filter(|&k| {
                    let n = self.attr_name(k);
                    exact.iter().any(|e| e == n) || globs.iter().any(|g| glob_match(g, n))
                })
                .collect();
            cleared.extend(keys.iter().map(|&k| (id, k)));
            if let Some(Some(node)) = self.nodes.get_mut(id as usize) {
                node.own.retain(|(k, _)| !keys.contains(k));
            }
            if clear_groups {
                self.replace_groups(id, Vec::new());
            }
        }
        self.refresh_all(ids.iter().copied());
        let mut outcome = Outcome {
            changed: ids.len(),
            warnings: self.inherited_warnings(&ids, &exact, &cleared),
        };
        if !globs.is_empty() && cleared.is_empty() {
            outcome.warnings.push(format!(
                "no attribute set on these nodes matches {}",
                globs.join(", ")
            ));
        }
        Ok(outcome)
    }

    /// Removes nodes entirely.
    pub fn remove_nodes(&mut self, set: &NodeSet) -> Result<Outcome, InventoryError> {
        let ids = self.ids_in_order(set)?;
        for &id in &ids {
            let Some(node) = self.nodes.get_mut(id as usize).and_then(Option::take) else {
                continue;
            };
            for gid in node.groups.iter().copied().chain([EVERYTHING_ID]) {
                if let Some(Some(g)) = self.groups.get_mut(gid as usize) {
                    g.members.remove(id);
                }
            }
            self.node_ids.remove(&node.name);
            self.free_ids.push(id);
        }
        self.order.retain(|&id| !set.contains(id));
        Ok(Outcome {
            changed: ids.len(),
            warnings: Vec::new(),
        })
    }

    /// Live ids of a set in natural order; an empty set is refused.
    pub(super) fn ids_in_order(&self, set: &NodeSet) -> Result<Vec<NodeId>, InventoryError> {
        let ids = self.ids_of(set);
        if ids.is_empty() {
            return Err(InventoryError::EmptyRange);
        }
        Ok(ids)
    }

    fn prepare_node_ops(
        &self,
        targets: &NodeSet,
        assignments: &[Assignment],
    ) -> Result<Vec<NodeOp>, InventoryError> {
        let mut ops = Vec::new();
        for a in assignments {
            let name = a.name();
            if name == "groups" {
                let gids = self.static_group_ids(a.value())?;
                ops.push(match a {
                    Assignment::Set { .. } => NodeOp::SetGroups(gids),
                    Assignment::Add { .. } => NodeOp::AddGroups(gids),
                    Assignment::Remove { .. } => NodeOp::RemoveGroups(gids),
                });
                continue;
            }
            if !matches!(a, Assignment::Set { .. }) {
                return Err(InventoryError::NotAllowed {
                    attr: name.to_owned(),
                    what: "added to or removed from with ,= or ^= (only groups on nodes, \
                           and nodes on groups, are membership lists)",
                });
            }
            let names = if is_glob(name) {
                self.set_names_matching(targets, name)
            } else {
                vec![name.to_owned()]
            };
            for n in names {
                let attr = resolve_plain(&n)?;
                check_scope(&attr.canonical, attr.spec.scope, Scope::Node)?;
                let stored = prepare_value(&attr, a.value())?;
                ops.push(NodeOp::Set(attr.canonical, stored));
            }
        }
        Ok(ops)
    }

    /// Effective attribute names of the targets matching a glob (wildcard
    /// set applies to attributes the nodes currently have).
    fn set_names_matching(&self, targets: &NodeSet, glob: &str) -> Vec<String> {
        let mut keys: Vec<AttrKey> = Vec::new();
        for id in targets.iter() {
            if let Some(Some(n)) = self.nodes.get(id as usize) {
                keys.extend(
                    n.view
                        .iter()
                        .map(|s| s.key)
                        .filter(|&k| k != super::GROUPS_KEY),
                );
            }
        }
        keys.sort_unstable();
        keys.dedup();
        keys.into_iter()
            .map(|k| self.attr_name(k))
            .filter(|n| glob_match(glob, n))
            .map(str::to_owned)
            .collect()
    }

    /// Group ids of a `groups=` list: each must exist and be static;
    /// `everything` is implied and dropped; duplicates keep the first.
    pub(super) fn static_group_ids(&self, list: &str) -> Result<Vec<GroupId>, InventoryError> {
        let mut out = Vec::new();
        for name in split_list(list) {
            if name == EVERYTHING {
                continue;
            }
            let gid = *self
                .group_ids
                .get(name)
                .ok_or_else(|| InventoryError::NoSuchGroup(name.to_owned()))?;
            let g = self.group(gid);
            if let Some(nr) = &g.noderange {
                return Err(InventoryError::DynamicGroup {
                    group: name.to_owned(),
                    noderange: nr.to_string(),
                    what: "static members".to_owned(),
                });
            }
            if !out.contains(&gid) {
                out.push(gid);
            }
        }
        Ok(out)
    }

    pub(super) fn apply_node_ops(&mut self, ids: &[NodeId], ops: &[NodeOp]) -> Outcome {
        let mut already: BTreeMap<GroupId, Vec<NodeId>> = BTreeMap::new();
        let mut missing: BTreeMap<GroupId, Vec<NodeId>> = BTreeMap::new();
        for op in ops {
            match op {
                NodeOp::Set(name, stored) => {
                    let key = self.intern(name);
                    for &id in ids {
                        if let Some(Some(n)) = self.nodes.get_mut(id as usize) {
                            set_sorted(&mut n.own, key, stored.clone());
                        }
                    }
                }
                NodeOp::SetGroups(gids) => {
                    for &id in ids {
                        self.replace_groups(id, gids.clone());
                    }
                }
                NodeOp::AddGroups(gids) => {
                    for &id in ids {
                        let old = self.node(id).groups.clone();
                        let mut new: Vec<GroupId> = Vec::new();
                        for &g in gids {
                            if old.contains(&g) {
                                already.entry(g).or_default().push(id);
                            } else {
                                new.push(g);
                            }
                        }
                        new.extend(old);
                        self.replace_groups(id, new);
                    }
                }
                NodeOp::RemoveGroups(gids) => {
                    for &id in ids {
                        let old = self.node(id).groups.clone();
                        for &g in gids {
                            if !old.contains(&g) {
                                missing.entry(g).or_default().push(id);
                            }
                        }
                        let new = old.into_iter().filter(|g| !gids.contains(g)).collect();
                        self.replace_groups(id, new);
                    }
                }
            }
        }
        self.refresh_all(ids.iter().copied());
        // Ordered by group name, not id: ids differ between a member that
        // built its inventory edit by edit and one restored from a snapshot,
        // and answers must be identical on every member.
        let by_name = |m: BTreeMap<GroupId, Vec<NodeId>>| {
            let mut v: Vec<(Arc<str>, Vec<NodeId>)> = m
                .into_iter()
                .map(|(g, n)| (self.group(g).name.clone(), n))
                .collect();
            v.sort_by(|a, b| a.0.cmp(&b.0));
            v
        };
        let mut warnings = Vec::new();
        for (group, nodes) in by_name(already) {
            let who = self.abbreviate_ids(&nodes);
            warnings.push(format!("{who} already in group {group}; left as is"));
        }
        for (group, nodes) in by_name(missing) {
            let who = self.abbreviate_ids(&nodes);
            warnings.push(format!("{who} not in group {group}; nothing to remove"));
        }
        Outcome {
            warnings,
            changed: 0,
        }
    }

    /// Live ids of a set, in natural order.
    pub(super) fn ids_of(&self, set: &NodeSet) -> Vec<NodeId> {
        let ids = self.order.iter().copied();
        ids.filter(|&id| set.contains(id)).collect()
    }

    /// Sets a node's explicit groups, keeping the member index in step.
    pub(super) fn replace_groups(&mut self, id: NodeId, new: Vec<GroupId>) {
        let Some(Some(node)) = self.nodes.get_mut(id as usize) else {
            return;
        };
        let old = std::mem::replace(&mut node.groups, new.clone());
        for g in old {
            if let Some(Some(group)) = self.groups.get_mut(g as usize) {
                group.members.remove(id);
            }
        }
        for g in new {
            if let Some(Some(group)) = self.groups.get_mut(g as usize) {
                group.members.insert(id);
            }
        }
    }

    /// Allocates nodes for names already checked to be new and valid, and
    /// slots them into the natural order.
    fn insert_nodes(&mut self, sorted_names: &[&str]) -> Vec<NodeId> {
        let mut ids = Vec::with_capacity(sorted_names.len());
        for name in sorted_names {
            let name: Arc<str> = Arc::from(*name);
            let node = Node {
                name: name.clone(),
                groups: Vec::new(),
                own: Vec::new(),
                view: Vec::new(),
            };
            let id = match self.free_ids.pop() {
                Some(id) => {
                    self.nodes[id as usize] = Some(node);
                    id
                }
                None => {
                    self.nodes.push(Some(node));
                    (self.nodes.len() - 1) as NodeId
                }
            };
            self.node_ids.insert(name, id);
            if let Some(Some(everything)) = self.groups.get_mut(EVERYTHING_ID as usize) {
                everything.members.insert(id);
            }
            ids.push(id);
        }
        self.merge_into_order(&ids);
        ids
    }

    /// Merges ids already in natural order into `self.order`.
    pub(super) fn merge_into_order(&mut self, sorted: &[NodeId]) {
        let old = std::mem::take(&mut self.order);
        let mut merged = Vec::with_capacity(old.len() + sorted.len());
        let (mut i, mut j) = (0, 0);
        while i < old.len() && j < sorted.len() {
            let a = &self.node(old[i]).name;
            let b = &self.node(sorted[j]).name;
            if natural_cmp(a, b).is_le() {
                merged.push(old[i]);
                i += 1;
            } else {
                merged.push(sorted[j]);
                j += 1;
            }
        }
        merged.extend_from_slice(&old[i..]);
        merged.extend_from_slice(&sorted[j..]);
        self.order = merged;
    }

    pub(super) fn abbreviate_ids(&self, ids: &[NodeId]) -> String {
        let names: Vec<&str> = ids.iter().map(|&id| self.node(id).name.as_ref()).collect();
        crate::noderange::abbreviate_names(&names)
    }

    /// After a clear: say where a cleared (or never own) value now comes from.
    fn inherited_warnings(
        &self,
        ids: &[NodeId],
        exact: &[String],
        cleared: &[(NodeId, AttrKey)],
    ) -> Vec<String> {
        let mut now_inherited: BTreeMap<(AttrKey, GroupId), Vec<NodeId>> = BTreeMap::new();
        let mut only_inherited: BTreeMap<(AttrKey, GroupId), Vec<NodeId>> = BTreeMap::new();
        for &id in ids {
            for s in &self.node(id).view {
                let Origin::Group(g) = s.origin else { continue };
                if cleared.contains(&(id, s.key)) {
                    now_inherited.entry((s.key, g)).or_default().push(id);
                } else if exact.iter().any(|e| e == self.attr_name(s.key)) {
                    only_inherited.entry((s.key, g)).or_default().push(id);
                }
            }
        }
        // Ordered by names (see apply_node_ops for why not by ids).
        let by_name = |m: BTreeMap<(AttrKey, GroupId), Vec<NodeId>>| {
            let mut v: Vec<((AttrKey, GroupId), Vec<NodeId>)> = m.into_iter().collect();
            v.sort_by(|((ka, ga), _), ((kb, gb), _)| {
                (self.attr_name(*ka), &self.group(*ga).name)
                    .cmp(&(self.attr_name(*kb), &self.group(*gb).name))
            });
            v
        };
        let mut out = Vec::new();
        for ((k, g), nodes) in by_name(now_inherited) {
            let (attr, who, group) = (
                self.attr_name(k),
                self.abbreviate_ids(&nodes),
                &self.group(g).name,
            );
            out.push(format!(
                "{attr} on {who} is now inherited from group {group}; set {attr}= to blank it"
            ));
        }
        for ((k, g), nodes) in by_name(only_inherited) {
            let (attr, who, group) = (
                self.attr_name(k),
                self.abbreviate_ids(&nodes),
                &self.group(g).name,
            );
            out.push(format!(
                "{attr} on {who} was not set on the node; it is inherited from group {group} \
                 (set {attr}= to blank it, or change the group)"
            ));
        }
        out
    }
}

/// Refuses an attribute set where its catalog scope forbids it.
pub(super) fn check_scope(
    canonical: &str,
    scope: Scope,
    target: Scope,
) -> Result<(), InventoryError> {
    match (scope, target) {
        (Scope::Group, Scope::Node) => Err(InventoryError::WrongScope {
            attr: canonical.to_owned(),
            only: "groups (use nodegroupattrib)",
        }),
        (Scope::Node, Scope::Group) => Err(InventoryError::WrongScope {
            attr: canonical.to_owned(),
            only: "nodes (use nodeattrib)",
        }),
        _ => Ok(()),
    }
}

/// Inserts or replaces in a key-sorted list.
pub(super) fn set_sorted(list: &mut Vec<(AttrKey, Stored)>, key: AttrKey, value: Stored) {
    match list.binary_search_by_key(&key, |(k, _)| *k) {
        Ok(i) => list[i].1 = value,
        Err(i) => list.insert(i, (key, value)),
    }
}
