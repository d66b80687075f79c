//! What noderange evaluation needs to know about an inventory.
//!
//! The evaluator is written against this trait rather than the concrete
//! [`crate::inventory::Inventory`] so that it can be tested with tiny fixtures
//! and so the state machine could serve it from another representation.

use crate::nodeset::{NodeId, NodeSet};

/// A group as the evaluator sees it.
#[derive(Debug, Clone, Copy)]
pub struct GroupView<'a> {
    pub name: &'a str,
    /// Static members (the group's `nodes`).
    pub members: &'a NodeSet,
    /// Dynamic membership: the group's `noderange` attribute, if set.
    pub noderange: Option<&'a str>,
}

/// Read access to nodes, groups and resolved attribute values.
pub trait Universe {
    /// Cheap handle of an attribute name, valid for this universe.
    type AttrKey: Copy;

    /// Every [`NodeId`] of this universe is below this bound.
    fn id_bound(&self) -> usize;
    /// The id of an existing node.
    fn node_id(&self, name: &str) -> Option<NodeId>;
    /// The name of an existing node id.
    fn node_name(&self, id: NodeId) -> &str;
    /// Every node, in natural name order.
    fn nodes_in_order(&self) -> &[NodeId];
    /// An existing group (including the implicit `everything`).
    fn group(&self, name: &str) -> Option<GroupView<'_>>;
    /// Every group name (any order).
    fn group_names(&self) -> Vec<&str>;
    /// The key of a canonical attribute name (aliases already resolved), or
    /// `None` when no node or group of this universe has ever set it: then
    /// every node's value is unset.
    fn attr_key(&self, canonical: &str) -> Option<Self::AttrKey>;
    /// Keys of every attribute name in use that matches a glob.
    fn attr_keys_matching(&self, glob: &str) -> Vec<Self::AttrKey>;
    /// The resolved value of an attribute on a node (own, inherited or the
    /// result of an expression), or `None` when unset or broken.
    fn attr_value(&self, id: NodeId, key: Self::AttrKey) -> Option<&str>;
}
