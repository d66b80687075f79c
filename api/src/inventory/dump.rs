//! The inventory as plain data, for snapshots and backups.
//!
//! Only what was *set* is dumped: own values, group order, group attributes
//! and dynamic noderanges. Effective values, member indexes and ids are
//! derived and rebuilt on load. These types carry no serde derives on
//! purpose: the crate that persists them owns the wire format and its
//! version marker.

use std::sync::Arc;

use super::{AttrKey, EVERYTHING, GroupId, Inventory, InventoryError, Stored};
use crate::expr::Expression;
use crate::noderange::Limits;

/// A value as it was set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoredValue {
    Literal(String),
    Expression(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeRecord {
    pub name: String,
    /// Explicit groups, highest priority first (no `everything`).
    pub groups: Vec<String>,
    /// Own values, sorted by name.
    pub attrs: Vec<(String, StoredValue)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupRecord {
    pub name: String,
    /// Own values, sorted by name.
    pub attrs: Vec<(String, StoredValue)>,
    pub noderange: Option<String>,
}

/// Everything set in an inventory. Groups (including `everything`) and nodes
/// are in natural order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dump {
    pub groups: Vec<GroupRecord>,
    pub nodes: Vec<NodeRecord>,
}

impl Inventory {
    /// Everything that was set, in a deterministic order.
    pub fn dump(&self) -> Dump {
        let groups = self
            .group_names_sorted()
            .into_iter()
            .filter_map(|name| {
                let g = self.group(*self.group_ids.get(name)?);
                Some(GroupRecord {
                    name: name.to_owned(),
                    attrs: self.dump_attrs(&g.attrs),
                    noderange: g.noderange.as_deref().map(str::to_owned),
                })
            })
            .collect();
        let nodes = self
            .order
            .iter()
            .map(|&id| {
                let n = self.node(id);
                NodeRecord {
                    name: n.name.to_string(),
                    groups: n
                        .groups
                        .iter()
                        .map(|&g| self.group(g).name.to_string())
                        .collect(),
                    attrs: self.dump_attrs(&n.own),
                }
            })
            .collect();
        Dump { groups, nodes }
    }

    fn dump_attrs(&self, attrs: &[(AttrKey, Stored)]) -> Vec<(String, StoredValue)> {
        let mut v: Vec<(String, StoredValue)> = attrs
            .iter()
            .map(|(k, s)| {
                let value = match s {
                    Stored::Literal(t) => StoredValue::Literal(t.to_string()),
                    Stored::Expr(e) => StoredValue::Expression(e.source().to_owned()),
                };
                (self.attr_name(*k).to_owned(), value)
            })
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    }

    /// Rebuilds an inventory from a dump. Values are taken as they were
    /// accepted when set (no catalog re-validation, so a newer catalog never
    /// makes an old snapshot unloadable). An expression that no longer parses
    /// is kept as literal text and reported in the returned warnings.
    pub fn from_dump(
        dump: &Dump,
        limits: Limits,
    ) -> Result<(Inventory, Vec<String>), InventoryError> {
        let mut inv = Inventory::new(limits);
        let mut warnings = Vec::new();
        for g in &dump.groups {
            if g.name != EVERYTHING {
                inv.define_group(&g.name, &[])?;
            }
            let gid: GroupId = inv.group_id_of(&g.name)?;
            let attrs = inv.load_attrs(&g.attrs, &g.name, &mut warnings);
            if let Some(Some(group)) = inv.groups.get_mut(gid as usize) {
                group.attrs = attrs;
                group.noderange = g.noderange.as_deref().map(Arc::from);
            }
        }
        let names: Vec<&str> = dump.nodes.iter().map(|n| n.name.as_str()).collect();
        if !names.is_empty() {
            inv.define_nodes(&names, &[])?;
        }
        for n in &dump.nodes {
            let id = inv
                .node_ids
                .get(n.name.as_str())
                .copied()
                .ok_or_else(|| InventoryError::NoSuchNode(n.name.clone()))?;
            let gids = n
                .groups
                .iter()
                .map(|g| inv.group_id_of(g))
                .collect::<Result<Vec<_>, _>>()?;
            inv.replace_groups(id, gids);
            let own = inv.load_attrs(&n.attrs, &n.name, &mut warnings);
            if let Some(Some(node)) = inv.nodes.get_mut(id as usize) {
                node.own = own;
            }
        }
        let ids = inv.order.clone();
        inv.refresh_all(ids);
        Ok((inv, warnings))
    }

    fn group_id_of(&self, name: &str) -> Result<GroupId, InventoryError> {
        self.group_ids
            .get(name)
            .copied()
            .ok_or_else(|| InventoryError::NoSuchGroup(name.to_owned()))
    }

    fn load_attrs(
        &mut self,
        attrs: &[(String, StoredValue)],
        owner: &str,
        warnings: &mut Vec<String>,
    ) -> Vec<(AttrKey, Stored)> {
        let mut out: Vec<(AttrKey, Stored)> = attrs
            .iter()
            .map(|(name, value)| {
                let stored = match value {
                    StoredValue::Literal(t) => Stored::Literal(Arc::from(t.as_str())),
                    StoredValue::Expression(src) => match Expression::parse(src) {
                        Ok(e) => Stored::Expr(Arc::new(e)),
                        Err(e) => {
                            warnings.push(format!("{owner}: {name}: kept as text: {e}"));
                            Stored::Literal(Arc::from(src.as_str()))
                        }
                    },
                };
                (self.intern(name), stored)
            })
            .collect();
        out.sort_by_key(|(k, _)| *k);
        out.dedup_by_key(|(k, _)| *k);
        out
    }
}
