//! Materialising a node's effective values.
//!
//! `view_of` merges the node's own values with its groups' in priority order,
//! then evaluates every expression in the node's context. Expressions may
//! reference other attributes, which may themselves be expressions: those
//! are evaluated on demand with memoisation, and a reference cycle makes every
//! expression on it broken (with the cycle named) instead of recursing
//! forever. An expression that fails is kept, marked broken with its error;
//! the node's other attributes are unaffected.

use std::cell::RefCell;
use std::sync::Arc;

use super::{AttrKey, GROUPS_KEY, Inventory, Node, Origin, Slot, Stored};
use crate::expr::{ExprEnv, Expression};

/// How far a chain of expressions referencing expressions may go.
const MAX_CHAIN: usize = 64;

impl Inventory {
    /// Recomputes the effective values of one node from its own values and
    /// its groups'.
    pub(super) fn refresh(&mut self, id: crate::nodeset::NodeId) {
        let view = self.view_of(self.node(id));
        if let Some(Some(n)) = self.nodes.get_mut(id as usize) {
            n.view = view;
        }
    }

    pub(super) fn refresh_all<I: IntoIterator<Item = crate::nodeset::NodeId>>(&mut self, ids: I) {
        for id in ids {
            self.refresh(id);
        }
    }

    fn view_of(&self, node: &Node) -> Vec<Slot> {
        let merged = self.merge(node);
        let pending: Vec<State> = merged
            .iter()
            .map(|(_, _, stored)| match stored {
                Stored::Literal(v) => State::Done(Ok(v.clone())),
                Stored::Expr(_) => State::Pending,
            })
            .collect();
        let env = NodeEnv {
            inv: self,
            node: &node.name,
            merged: &merged,
            states: RefCell::new(pending),
            depth: RefCell::new(0),
        };
        for i in 0..merged.len() {
            // The result lands in `states`; errors become broken slots.
            let _ = env.resolve(i);
        }
        let states = env.states.into_inner();
        let mut view: Vec<Slot> = merged
            .iter()
            .zip(states)
            .map(|((key, origin, stored), state)| {
                let (broken, value) = match state {
                    State::Done(Ok(v)) => (false, v),
                    State::Done(Err(e)) => (true, e),
                    // Every index was resolved above.
                    State::Pending | State::Visiting => (true, Arc::from("not evaluated")),
                };
                Slot {
                    key: *key,
                    origin: *origin,
                    broken,
                    expr: matches!(stored, Stored::Expr(_)),
                    value,
                }
            })
            .collect();
        view.push(self.groups_slot(node));
        view.sort_unstable_by_key(|s| self.rank(s.key));
        view
    }

    /// Own values first, then each group in priority order, `everything`
    /// last; the first source that has a key wins. Sorted by key.
    fn merge<'a>(&'a self, node: &'a Node) -> Vec<(AttrKey, Origin, &'a Stored)> {
        let mut out: Vec<(AttrKey, Origin, &Stored)> =
            node.own.iter().map(|(k, s)| (*k, Origin::Own, s)).collect();
        let sources = node
            .groups
            .iter()
            .copied()
            .chain(std::iter::once(super::EVERYTHING_ID));
        for gid in sources {
            let g = self.group(gid);
            if g.attrs.is_empty() {
                continue;
            }
            let before = out.len();
            for (k, s) in &g.attrs {
                if out[..before]
                    .binary_search_by_key(k, |(key, _, _)| *key)
                    .is_err()
                {
                    out.push((*k, Origin::Group(gid), s));
                }
            }
            if out.len() != before {
                out.sort_by_key(|(k, _, _)| *k);
            }
        }
        out
    }

    /// `groups` shows as an attribute (`compute,gpu,everything`) so that
    /// listings and filters (`groups=~gpu`) see it like any other.
    fn groups_slot(&self, node: &Node) -> Slot {
        let mut text = String::new();
        for &g in &node.groups {
            text.push_str(&self.group(g).name);
            text.push(',');
        }
        text.push_str(super::EVERYTHING);
        Slot {
            key: GROUPS_KEY,
            origin: Origin::Own,
            broken: false,
            expr: false,
            value: Arc::from(text),
        }
    }
}

enum State {
    Pending,
    Visiting,
    Done(Result<Arc<str>, Arc<str>>),
}

struct NodeEnv<'a> {
    inv: &'a Inventory,
    node: &'a str,
    merged: &'a [(AttrKey, Origin, &'a Stored)],
    states: RefCell<Vec<State>>,
    depth: RefCell<usize>,
}

impl NodeEnv<'_> {
    /// The value of merged entry `i`, evaluating it if needed.
    fn resolve(&self, i: usize) -> Result<Arc<str>, Arc<str>> {
        {
            let mut states = self.states.borrow_mut();
            match &states[i] {
                State::Done(r) => return r.clone(),
                State::Visiting => {
                    let name = self.inv.attr_name(self.merged[i].0);
                    return Err(Arc::from(format!(
                        "circular reference: {name} depends on itself"
                    )));
                }
                State::Pending => states[i] = State::Visiting,
            }
        }
        let result = match self.merged[i].2 {
            Stored::Literal(v) => Ok(v.clone()),
            Stored::Expr(e) => self.evaluate(e),
        };
        self.states.borrow_mut()[i] = State::Done(result.clone());
        result
    }

    fn evaluate(&self, e: &Expression) -> Result<Arc<str>, Arc<str>> {
        if *self.depth.borrow() >= MAX_CHAIN {
            return Err(Arc::from(format!(
                "expressions reference each other more than {MAX_CHAIN} deep"
            )));
        }
        *self.depth.borrow_mut() += 1;
        let r = e.evaluate(self);
        *self.depth.borrow_mut() -= 1;
        r.map(Arc::from).map_err(|err| Arc::from(err.to_string()))
    }
}

impl ExprEnv for NodeEnv<'_> {
    fn node_name(&self) -> &str {
        self.node
    }

    fn attribute(&self, canonical: &str) -> Result<String, String> {
        let Some(key) = self.inv.attr_keys.get(canonical) else {
            return Ok(String::new());
        };
        if *key == GROUPS_KEY {
            // Not in `merged`; rarely referenced, so rebuild it here.
            let names = self.inv.node_groups(self.node).unwrap_or_default();
            return Ok(names.join(","));
        }
        match self.merged.binary_search_by_key(key, |(k, _, _)| *k) {
            Ok(i) => self
                .resolve(i)
                .map(|v| v.to_string())
                .map_err(|e| format!("{canonical} is broken: {e}")),
            Err(_) => Ok(String::new()),
        }
    }
}
