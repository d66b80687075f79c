//! Which node has a given MAC or UUID (`whoami`), from an index instead of
//! a scan of every node per request.
//!
//! A scan resolves every node's values under the state lock: at 100,000
//! nodes that is a large part of a second per `whoami`, with applies waiting
//! behind it, and a cluster booting at once asks 100,000 times. The index
//! maps each `net.*hwaddr` and `id.uuid` value (lower case) to the first
//! node in natural order that has it, and records the applied log id it was
//! built at. It is rebuilt only on a miss, and only when the state has moved
//! since: nodes defined before they boot (the usual way) are found without a
//! rebuild. A hit is checked against the node's current values before it is
//! answered, so a changed or removed MAC is never answered from the index.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use cohort_state::State;
use cohort_store::{LogId, StateHandle};

/// The index and the applied id of the state it was built from.
#[derive(Default)]
pub struct IdIndex {
    built: Mutex<Option<Built>>,
}

struct Built {
    applied: Option<LogId>,
    /// Lower-case MAC or UUID → (position in natural order, node).
    nodes: HashMap<String, (usize, String)>,
}

/// Whether an attribute holds a MAC address that identifies a node.
fn is_hwaddr(name: &str) -> bool {
    name.starts_with("net.") && name.ends_with("hwaddr")
}

impl IdIndex {
    /// The node that has one of `macs` or `uuid`; among several, the first
    /// in natural order.
    pub fn find(&self, state: &StateHandle, macs: &[String], uuid: Option<&str>) -> Option<String> {
        let keys: Vec<String> = macs
            .iter()
            .map(String::as_str)
            .chain(uuid)
            .map(str::to_ascii_lowercase)
            .collect();
        let mut built = self.built.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(b) = built.as_ref()
            && let Some(node) = b.lookup(&keys)
            && state.read(|s| has_any(s, &node, macs, uuid))
        {
            return Some(node);
        }
        let applied = state.last_applied();
        if built.as_ref().is_some_and(|b| b.applied == applied) {
            // Built from this very state: the miss is real.
            return None;
        }
        // The id is read before the scan, so the index is never labelled
        // newer than what it holds.
        let fresh = Built {
            applied,
            nodes: state.read(index),
        };
        let found = fresh
            .lookup(&keys)
            .filter(|node| state.read(|s| has_any(s, node, macs, uuid)));
        *built = Some(fresh);
        found
    }
}

impl Built {
    fn lookup(&self, keys: &[String]) -> Option<String> {
        keys.iter()
            .filter_map(|k| self.nodes.get(k))
            .min_by_key(|(position, _)| *position)
            .map(|(_, node)| node.clone())
    }
}

/// Every identifying value of every node, first node (natural order) wins.
fn index(state: &State) -> HashMap<String, (usize, String)> {
    let inv = state.inventory();
    let mut nodes = HashMap::new();
    for (position, name) in inv.node_names().enumerate() {
        for v in inv.node_values(name).unwrap_or_default() {
            if v.value.is_empty() || !(is_hwaddr(v.name) || v.name == "id.uuid") {
                continue;
            }
            nodes
                .entry(v.value.to_ascii_lowercase())
                .or_insert_with(|| (position, name.to_owned()));
        }
    }
    nodes
}

/// Whether `node` has one of `macs` (in a `net.*hwaddr`) or `uuid` (its
/// `id.uuid`) now, in any letter case.
fn has_any(state: &State, node: &str, macs: &[String], uuid: Option<&str>) -> bool {
    state.inventory().node_values(node).is_some_and(|vals| {
        vals.iter().any(|v| {
            (is_hwaddr(v.name) && macs.iter().any(|m| m.eq_ignore_ascii_case(v.value)))
                || (v.name == "id.uuid" && uuid.is_some_and(|u| u.eq_ignore_ascii_case(v.value)))
        })
    })
}
