//! Inventory commands: the admin's text (noderange, `NAME=VALUE` strings)
//! is parsed and evaluated here, at apply time, against the state as it is
//! at this point of the log. Every member evaluates the same text against
//! the same state, so every member reaches the same node set.

use cohort_api::inventory::Assignment;

use super::Applied;
use crate::{ApplyError, State};

/// Parses every assignment before anything is touched.
fn parse_assignments(texts: &[String]) -> Result<Vec<Assignment>, ApplyError> {
    texts
        .iter()
        .map(|t| Assignment::parse(t).map_err(ApplyError::from))
        .collect()
}

/// An edit with nothing to do is a mistake in the caller (the CLI lists
/// instead when given no assignment), not something to log.
fn require_some<T>(items: &[T], what: &str) -> Result<(), ApplyError> {
    if items.is_empty() {
        return Err(ApplyError::invalid(format!(
            "nothing to do: give at least one {what}"
        )));
    }
    Ok(())
}

impl State {
    pub(super) fn define_nodes(&mut self, noderange: &str, assignments: &[String]) -> Applied {
        let parsed = parse_assignments(assignments)?;
        Ok(self.inventory.define_nodes_range(noderange, &parsed)?)
    }

    pub(super) fn set_node_attributes(
        &mut self,
        noderange: &str,
        assignments: &[String],
    ) -> Applied {
        require_some(assignments, "NAME=VALUE")?;
        let parsed = parse_assignments(assignments)?;
        let set = self.inventory.expand(noderange)?;
        Ok(self.inventory.set_node_attributes(&set, &parsed)?)
    }

    pub(super) fn clear_node_attributes(&mut self, noderange: &str, names: &[String]) -> Applied {
        require_some(names, "attribute name to clear")?;
        let set = self.inventory.expand(noderange)?;
        Ok(self.inventory.clear_node_attributes(&set, names)?)
    }

    pub(super) fn remove_nodes(&mut self, noderange: &str) -> Applied {
        let set = self.inventory.expand(noderange)?;
        Ok(self.inventory.remove_nodes(&set)?)
    }

    pub(super) fn rename_node(&mut self, old: &str, new: &str) -> Applied {
        Ok(self.inventory.rename_node(old, new)?)
    }

    pub(super) fn define_group(&mut self, name: &str, assignments: &[String]) -> Applied {
        let parsed = parse_assignments(assignments)?;
        Ok(self.inventory.define_group(name, &parsed)?)
    }

    pub(super) fn set_group_attributes(&mut self, name: &str, assignments: &[String]) -> Applied {
        require_some(assignments, "NAME=VALUE")?;
        let parsed = parse_assignments(assignments)?;
        Ok(self.inventory.set_group_attributes(name, &parsed)?)
    }

    pub(super) fn clear_group_attributes(&mut self, name: &str, names: &[String]) -> Applied {
        require_some(names, "attribute name to clear")?;
        Ok(self.inventory.clear_group_attributes(name, names)?)
    }

    pub(super) fn remove_group(&mut self, name: &str) -> Applied {
        Ok(self.inventory.remove_group(name)?)
    }

    pub(super) fn rename_group(&mut self, old: &str, new: &str) -> Applied {
        Ok(self.inventory.rename_group(old, new)?)
    }
}
