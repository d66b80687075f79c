//! Group edits: define, set, clear, remove.
//!
//! A group is either static (members listed, attributes inherited by them)
//! or dynamic (a `noderange` expression and nothing else). Keeping the two
//! apart is confluent's rule and avoids the question of what a dynamic
//! group's attributes would mean for nodes that drift in and out of it.

use std::sync::Arc;

use super::assign::{prepare_value, resolve_plain};
use super::edit::{check_scope, set_sorted};
use super::{
    Assignment, EVERYTHING_ID, Group, GroupId, Inventory, InventoryError, Outcome, Stored,
};
use crate::catalog::Scope;
use crate::glob::{glob_match, is_glob};
use crate::names::{NameKind, validate_name};
use crate::noderange::{GroupView, Universe};
use crate::nodeset::{NodeId, NodeSet};

/// A checked edit of one group.
enum GroupOp {
    Set(String, Stored),
    SetMembers(NodeSet),
    AddMembers(NodeSet),
    RemoveMembers(NodeSet),
    SetDynamic(Option<Arc<str>>),
}

impl Inventory {
    /// Defines a new group (`nodegroupdefine`) with initial attributes.
    pub fn define_group(
        &mut self,
        name: &str,
        assignments: &[Assignment],
    ) -> Result<Outcome, InventoryError> {
        validate_name(NameKind::Group, name)?;
        if self.has_group(name) {
            return Err(InventoryError::GroupExists(name.to_owned()));
        }
        let ops = self.prepare_group_ops(None, name, assignments)?;
        let gid = match self.groups.iter().position(Option::is_none) {
            Some(i) => i as GroupId,
            None => {
                self.groups.push(None);
                (self.groups.len() - 1) as GroupId
            }
        };
        let name: Arc<str> = Arc::from(name);
        self.groups[gid as usize] = Some(Group {
            name: name.clone(),
            members: NodeSet::new(),
            attrs: Vec::new(),
            noderange: None,
        });
        self.group_ids.insert(name, gid);
        Ok(self.apply_group_ops(gid, ops))
    }

    /// Sets attributes or membership of a group (`nodegroupattrib`).
    pub fn set_group_attributes(
        &mut self,
        name: &str,
        assignments: &[Assignment],
    ) -> Result<Outcome, InventoryError> {
        let gid = self.group_id(name)?;
        let ops = self.prepare_group_ops(Some(gid), name, assignments)?;
        Ok(self.apply_group_ops(gid, ops))
    }

    /// Clears group attributes; `nodes` empties a static group, `noderange`
    /// makes a dynamic group static (and empty). Globs match set names.
    pub fn clear_group_attributes<S: AsRef<str>>(
        &mut self,
        name: &str,
        names: &[S],
    ) -> Result<Outcome, InventoryError> {
        let gid = self.group_id(name)?;
        let mut ops = Vec::new();
        let mut exact = Vec::new();
        for n in names.iter().map(AsRef::as_ref) {
            match n {
                "nodes" if gid == EVERYTHING_ID => {
                    return Err(InventoryError::Everything("emptied"));
                }
                "nodes" => ops.push(GroupOp::SetMembers(NodeSet::new())),
                "noderange" => ops.push(GroupOp::SetDynamic(None)),
                _ if is_glob(n) => {
                    let g = self.group(gid);
                    let matching = g.attrs.iter().map(|(k, _)| self.attr_name(*k).to_owned());
                    exact.extend(matching.filter(|a| glob_match(n, a)));
                }
                _ => exact.push(resolve_plain(n)?.canonical),
            }
        }
        let keys: Vec<_> = exact
            .iter()
            .filter_map(|n| self.attr_keys.get(n.as_str()).copied())
            .collect();
        if let Some(Some(g)) = self.groups.get_mut(gid as usize) {
            g.attrs.retain(|(k, _)| !keys.contains(k));
        }
        let mut outcome = self.apply_group_ops(gid, ops);
        let affected: Vec<NodeId> = self.static_members(gid);
        self.refresh_all(affected.iter().copied());
        outcome.changed = outcome.changed.max(affected.len());
        Ok(outcome)
    }

    /// Removes a group; its members leave it and stop inheriting from it.
    pub fn remove_group(&mut self, name: &str) -> Result<Outcome, InventoryError> {
        let gid = self.group_id(name)?;
        if gid == EVERYTHING_ID {
            return Err(InventoryError::Everything("removed"));
        }
        let members = self.static_members(gid);
        let set = self.group(gid).members.clone();
        self.leave(gid, &set);
        if let Some(g) = self.groups.get_mut(gid as usize).and_then(Option::take) {
            self.group_ids.remove(&g.name);
        }
        self.refresh_all(members.iter().copied());
        let warnings = self
            .groups_referencing(name)
            .into_iter()
            .map(|g| {
                format!("group {g} still names {name} in its noderange; it will fail until fixed")
            })
            .collect();
        Ok(Outcome {
            warnings,
            changed: members.len(),
        })
    }

    fn group_id(&self, name: &str) -> Result<GroupId, InventoryError> {
        self.group_ids
            .get(name)
            .copied()
            .ok_or_else(|| InventoryError::NoSuchGroup(name.to_owned()))
    }

    /// Static members in natural order (every node for `everything`).
    pub(super) fn static_members(&self, gid: GroupId) -> Vec<NodeId> {
        self.ids_of(&self.group(gid).members)
    }

    /// Dynamic groups whose noderange mentions `name` as a whole atom.
    pub(super) fn groups_referencing(&self, name: &str) -> Vec<String> {
        self.group_ids
            .iter()
            .filter(|(_, gid)| {
                self.group(**gid)
                    .noderange
                    .as_deref()
                    .is_some_and(|nr| super::rename::mentions_atom(nr, name))
            })
            .map(|(n, _)| n.to_string())
            .collect()
    }

    fn prepare_group_ops(
        &self,
        gid: Option<GroupId>,
        name: &str,
        assignments: &[Assignment],
    ) -> Result<Vec<GroupOp>, InventoryError> {
        let current = gid.map(|g| self.group(g));
        let dynamic_now = current.and_then(|g| g.noderange.clone());
        let is_everything = gid == Some(EVERYTHING_ID);
        let mut ops = Vec::new();
        for a in assignments {
            let attr_name = a.name();
            let value = a.value();
            match attr_name {
                "noderange" => {
                    if is_everything {
                        return Err(InventoryError::Everything("made dynamic"));
                    }
                    let v = value.trim();
                    if v.is_empty() {
                        ops.push(GroupOp::SetDynamic(None));
                        continue;
                    }
                    let has_content =
                        current.is_some_and(|g| !g.members.is_empty() || !g.attrs.is_empty());
                    if assignments.len() > 1 || has_content {
                        return Err(InventoryError::NotEmptyForDynamic(name.to_owned()));
                    }
                    // Evaluate it as if already set, so a cycle or a typo is
                    // refused now rather than breaking every later expansion.
                    let overlay = Overlay {
                        inv: self,
                        group: name,
                        noderange: v,
                        empty: NodeSet::new(),
                    };
                    crate::noderange::expand(v, &overlay, &self.limits)?;
                    ops.push(GroupOp::SetDynamic(Some(Arc::from(v))));
                }
                "nodes" => {
                    if is_everything {
                        return Err(InventoryError::Everything("given members"));
                    }
                    if let Some(nr) = &dynamic_now {
                        return Err(dynamic(name, nr, "static members"));
                    }
                    let set = if value.trim().is_empty() {
                        NodeSet::new()
                    } else {
                        self.expand(value)?
                    };
                    ops.push(match a {
                        Assignment::Set { .. } => GroupOp::SetMembers(set),
                        Assignment::Add { .. } => GroupOp::AddMembers(set),
                        Assignment::Remove { .. } => GroupOp::RemoveMembers(set),
                    });
                }
                _ => {
                    if !matches!(a, Assignment::Set { .. }) {
                        return Err(InventoryError::NotAllowed {
                            attr: attr_name.to_owned(),
                            what: "added to or removed from with ,= or ^= (only nodes is a list on groups)",
                        });
                    }
                    let attr = resolve_plain(attr_name)?;
                    check_scope(&attr.canonical, attr.spec.scope, Scope::Group)?;
                    if let Some(nr) = &dynamic_now {
                        return Err(dynamic(name, nr, &format!("attribute {}", attr.canonical)));
                    }
                    let stored = prepare_value(&attr, value)?;
                    ops.push(GroupOp::Set(attr.canonical, stored));
                }
            }
        }
        Ok(ops)
    }

    fn apply_group_ops(&mut self, gid: GroupId, ops: Vec<GroupOp>) -> Outcome {
        let mut touched = NodeSet::new();
        let mut warnings = Vec::new();
        for op in ops {
            match op {
                GroupOp::Set(name, stored) => {
                    let key = self.intern(&name);
                    if let Some(Some(g)) = self.groups.get_mut(gid as usize) {
                        set_sorted(&mut g.attrs, key, stored);
                        touched.union_with(&g.members);
                    }
                }
                GroupOp::SetDynamic(nr) => {
                    if let Some(Some(g)) = self.groups.get_mut(gid as usize) {
                        g.noderange = nr;
                    }
                }
                GroupOp::SetMembers(set) => {
                    let old = self.group(gid).members.clone();
                    let mut leaving = old.clone();
                    leaving.difference_with(&set);
                    let mut joining = set.clone();
                    joining.difference_with(&old);
                    self.leave(gid, &leaving);
                    self.join(gid, &joining);
                    touched.union_with(&leaving);
                    touched.union_with(&joining);
                }
                GroupOp::AddMembers(set) => {
                    let mut joining = set.clone();
                    joining.difference_with(&self.group(gid).members);
                    let mut already = set;
                    already.intersect_with(&self.group(gid).members);
                    if !already.is_empty() {
                        let who = self.abbreviate(&already);
                        warnings.push(format!(
                            "{who} already in group {}; left as is",
                            self.group(gid).name
                        ));
                    }
                    self.join(gid, &joining);
                    touched.union_with(&joining);
                }
                GroupOp::RemoveMembers(set) => {
                    let mut leaving = set.clone();
                    leaving.intersect_with(&self.group(gid).members);
                    self.leave(gid, &leaving);
                    touched.union_with(&leaving);
                }
            }
        }
        let ids = self.ids_of(&touched);
        self.refresh_all(ids.iter().copied());
        Outcome {
            warnings,
            changed: ids.len(),
        }
    }

    /// Members added through the group get it at highest priority.
    fn join(&mut self, gid: GroupId, set: &NodeSet) {
        for id in self.ids_of(set) {
            let mut groups = vec![gid];
            groups.extend(self.node(id).groups.iter().copied().filter(|&g| g != gid));
            self.replace_groups(id, groups);
        }
    }

    fn leave(&mut self, gid: GroupId, set: &NodeSet) {
        for id in self.ids_of(set) {
            let groups = self
                .node(id)
                .groups
                .iter()
                .copied()
                .filter(|&g| g != gid)
                .collect();
            self.replace_groups(id, groups);
        }
    }
}

fn dynamic(group: &str, noderange: &str, what: &str) -> InventoryError {
    InventoryError::DynamicGroup {
        group: group.to_owned(),
        noderange: noderange.to_owned(),
        what: what.to_owned(),
    }
}

/// The inventory as it would be with one group's noderange replaced.
struct Overlay<'a> {
    inv: &'a Inventory,
    group: &'a str,
    noderange: &'a str,
    empty: NodeSet,
}

impl Universe for Overlay<'_> {
    type AttrKey = super::AttrKey;
    fn id_bound(&self) -> usize {
        self.inv.id_bound()
    }
    fn node_id(&self, name: &str) -> Option<NodeId> {
        self.inv.node_id(name)
    }
    fn node_name(&self, id: NodeId) -> &str {
        Universe::node_name(self.inv, id)
    }
    fn nodes_in_order(&self) -> &[NodeId] {
        self.inv.nodes_in_order()
    }
    fn group(&self, name: &str) -> Option<GroupView<'_>> {
        if name == self.group {
            return Some(GroupView {
                name: self.group,
                members: &self.empty,
                noderange: Some(self.noderange),
            });
        }
        Universe::group(self.inv, name)
    }
    fn group_names(&self) -> Vec<&str> {
        let mut v = self.inv.group_names();
        if !v.contains(&self.group) {
            v.push(self.group);
        }
        v
    }
    fn attr_key(&self, canonical: &str) -> Option<Self::AttrKey> {
        self.inv.attr_key(canonical)
    }
    fn attr_keys_matching(&self, glob: &str) -> Vec<Self::AttrKey> {
        self.inv.attr_keys_matching(glob)
    }
    fn attr_value(&self, id: NodeId, key: Self::AttrKey) -> Option<&str> {
        self.inv.attr_value(id, key)
    }
}
