//! Renaming nodes and groups, and keeping references to them true.
//!
//! A rename rewrites the places that name a node or group: dynamic groups'
//! noderanges and noderange-valued attributes (`ssh.trustnodes`,
//! `collective.managercandidates`) where the old name stands as a whole atom,
//! and node-valued attributes (`net.*.switch`, `enclosure.manager`, ...)
//! equal to the old name. Membership needs nothing: it is held by id.
//! Every node is then recomputed, since `{node}` and `{nN}` may have changed.

use std::sync::Arc;

use super::{EVERYTHING_ID, Inventory, InventoryError, Outcome, Stored};
use crate::names::{NameKind, validate_name};

impl Inventory {
    /// Renames a node (`noderename`).
    pub fn rename_node(&mut self, old: &str, new: &str) -> Result<Outcome, InventoryError> {
        let id = self
            .node_ids
            .get(old)
            .copied()
            .ok_or_else(|| InventoryError::NoSuchNode(old.to_owned()))?;
        validate_name(NameKind::Node, new)?;
        if self.has_node(new) {
            return Err(InventoryError::NodeExists(new.to_owned()));
        }
        let name: Arc<str> = Arc::from(new);
        if let Some(Some(n)) = self.nodes.get_mut(id as usize) {
            n.name = name.clone();
        }
        self.node_ids.remove(old);
        self.node_ids.insert(name, id);
        self.order.retain(|&x| x != id);
        self.merge_into_order(&[id]);
        self.rewrite_references(old, new, true);
        Ok(Outcome {
            warnings: Vec::new(),
            changed: self.refresh_everything(),
        })
    }

    /// Renames a group (`nodegrouprename`).
    pub fn rename_group(&mut self, old: &str, new: &str) -> Result<Outcome, InventoryError> {
        let gid = self
            .group_ids
            .get(old)
            .copied()
            .ok_or_else(|| InventoryError::NoSuchGroup(old.to_owned()))?;
        if gid == EVERYTHING_ID {
            return Err(InventoryError::Everything("renamed"));
        }
        validate_name(NameKind::Group, new)?;
        if self.has_group(new) {
            return Err(InventoryError::GroupExists(new.to_owned()));
        }
        let name: Arc<str> = Arc::from(new);
        if let Some(Some(g)) = self.groups.get_mut(gid as usize) {
            g.name = name.clone();
        }
        self.group_ids.remove(old);
        self.group_ids.insert(name, gid);
        self.rewrite_references(old, new, false);
        Ok(Outcome {
            warnings: Vec::new(),
            changed: self.refresh_everything(),
        })
    }

    fn refresh_everything(&mut self) -> usize {
        let ids = self.order.clone();
        self.refresh_all(ids.iter().copied());
        ids.len()
    }

    fn rewrite_references(&mut self, old: &str, new: &str, is_node: bool) {
        let names = self.attr_names.clone();
        let fix = |key: super::AttrKey, stored: &mut Stored| {
            let Stored::Literal(text) = stored else {
                return;
            };
            let attr = names.get(key.0 as usize).map_or("", |n| n.as_ref());
            let replaced = if is_noderange_valued(attr) {
                rewrite_atoms(text, old, new)
            } else if is_node && is_node_reference(attr) && text.as_ref() == old {
                Some(new.to_owned())
            } else {
                None
            };
            if let Some(r) = replaced {
                *text = Arc::from(r);
            }
        };
        for n in self.nodes.iter_mut().flatten() {
            for (k, s) in &mut n.own {
                fix(*k, s);
            }
        }
        for g in self.groups.iter_mut().flatten() {
            for (k, s) in &mut g.attrs {
                fix(*k, s);
            }
            if let Some(r) = g
                .noderange
                .as_deref()
                .and_then(|nr| rewrite_atoms(nr, old, new))
            {
                g.noderange = Some(Arc::from(r));
            }
        }
    }
}

/// Attributes whose value is a noderange.
fn is_noderange_valued(attr: &str) -> bool {
    matches!(attr, "ssh.trustnodes" | "collective.managercandidates")
}

/// Attributes whose value is one node's name.
fn is_node_reference(attr: &str) -> bool {
    let interface_attr = |cat: &str, leaf: &str| {
        attr.strip_prefix(cat)
            .is_some_and(|rest| rest == leaf || rest.ends_with(&format!(".{leaf}")))
    };
    matches!(attr, "enclosure.manager" | "enclosure.extends")
        || interface_attr("net.", "switch")
        || interface_attr("power.", "pdu")
}

/// Byte spans of the atoms of a noderange text: the runs between operators
/// (`,` `,-` `@` `(` `)`), pagination (`<N` `>N`) and blanks. Commas inside
/// brackets belong to the atom.
fn atom_spans(text: &str) -> Vec<(usize, usize)> {
    let b = text.as_bytes();
    let mut spans = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b',' | b'@' | b'(' | b')' | b' ' | b'\t' => i += 1,
            b'<' | b'>' => {
                i += 1;
                while i < b.len() && b[i].is_ascii_digit() {
                    i += 1;
                }
            }
            _ => {
                let start = i;
                if b[i] == b'-' && i > 0 && b[i - 1] == b',' {
                    i += 1;
                    continue;
                }
                let mut depth = 0usize;
                while i < b.len() {
                    match b[i] {
                        b'[' => depth += 1,
                        b']' => depth = depth.saturating_sub(1),
                        b',' | b'@' | b'(' | b')' | b'<' | b'>' | b' ' | b'\t' if depth == 0 => {
                            break;
                        }
                        _ => {}
                    }
                    i += 1;
                }
                spans.push((start, i));
            }
        }
    }
    spans
}

/// `true` when `name` stands as a whole atom of the noderange text.
pub(super) fn mentions_atom(text: &str, name: &str) -> bool {
    atom_spans(text).iter().any(|&(s, e)| &text[s..e] == name)
}

/// The text with every whole atom equal to `old` replaced, if any was.
fn rewrite_atoms(text: &str, old: &str, new: &str) -> Option<String> {
    let spans: Vec<_> = atom_spans(text)
        .into_iter()
        .filter(|&(s, e)| &text[s..e] == old)
        .collect();
    if spans.is_empty() {
        return None;
    }
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for (s, e) in spans {
        out.push_str(&text[last..s]);
        out.push_str(new);
        last = e;
    }
    out.push_str(&text[last..]);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atoms_are_rewritten_whole() {
        for (text, want) in [
            ("compute,-gpu", Some("cn,-gpu")),
            ("compute", Some("cn")),
            ("(compute@rack1)<3", Some("(cn@rack1)<3")),
            ("computeX,compute-n3", None),
            ("n[1,3],compute", Some("n[1,3],cn")),
        ] {
            assert_eq!(
                rewrite_atoms(text, "compute", "cn").as_deref(),
                want,
                "{text}"
            );
        }
        assert!(mentions_atom("a,-b", "b"));
        assert!(!mentions_atom("a-b", "b"));
    }

    #[test]
    fn node_reference_attributes() {
        for (a, want) in [
            ("net.switch", true),
            ("net.mgt.switch", true),
            ("net.mgt.switchport", false),
            ("power.psu1.pdu", true),
            ("enclosure.manager", true),
            ("location.rack", false),
        ] {
            assert_eq!(is_node_reference(a), want, "{a}");
        }
    }
}
