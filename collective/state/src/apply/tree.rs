//! The synchronized tree's manifest (DESIGN.md §6). The state knows paths,
//! hashes, sizes and modes; the bytes are blobs each member fetches and
//! materializes itself.
//!
//! A put is all or nothing and refuses what could not be materialized the
//! same way on every member: a bad path, a symlink leaving its half of the
//! tree, a file where the tree has a directory or the other way round.

use std::collections::BTreeMap;
use std::sync::Arc;

use cohort_api::inventory::Outcome;

use super::Applied;
use crate::tree::{resolve_symlink, validate_tree_path};
use crate::{ApplyError, State, TreeEntry};

/// Permission bits kept for a file; set-id bits have no place in a tree
/// that nodes download.
const MODE_BITS: u32 = 0o777;

impl State {
    pub(super) fn tree_put(&mut self, entries: &[(String, TreeEntry)]) -> Applied {
        if entries.is_empty() {
            return Err(ApplyError::invalid("tree put names no files"));
        }
        let mut incoming: BTreeMap<&str, &TreeEntry> = BTreeMap::new();
        for (path, entry) in entries {
            validate_tree_path(path).map_err(ApplyError::invalid)?;
            if let TreeEntry::Symlink { target } = entry
                && resolve_symlink(path, target).is_none()
            {
                return Err(ApplyError::invalid(format!(
                    "symlink {path} -> {target} points outside {}/ (only relative links \
                     within the same half of the tree are kept)",
                    path.split('/').next().unwrap_or_default()
                )));
            }
            if let TreeEntry::File { mode, .. } = entry
                && mode & !MODE_BITS != 0
            {
                return Err(ApplyError::invalid(format!(
                    "{path}: mode {mode:o} has bits beyond rwxrwxrwx"
                )));
            }
            if incoming.insert(path, entry).is_some() {
                return Err(ApplyError::invalid(format!(
                    "{path} is named twice in one tree put"
                )));
            }
        }
        for path in incoming.keys() {
            self.check_shape(path, &incoming)?;
        }
        let changed = incoming.len();
        let tree = Arc::make_mut(&mut self.tree);
        for (path, entry) in incoming {
            tree.insert(path.to_owned(), entry.clone());
        }
        Ok(Outcome {
            warnings: Vec::new(),
            changed,
        })
    }

    /// Refuses `path` as a file if a directory of that name exists (in the
    /// tree or in the same put), and if any of its parents is a file.
    fn check_shape(
        &self,
        path: &str,
        incoming: &BTreeMap<&str, &TreeEntry>,
    ) -> Result<(), ApplyError> {
        let dir = format!("{path}/");
        let is_dir = |p: &str| p.starts_with(&dir);
        if self
            .tree
            .range(dir.clone()..)
            .next()
            .is_some_and(|(p, _)| is_dir(p))
            || incoming
                .range(dir.as_str()..)
                .next()
                .is_some_and(|(p, _)| is_dir(p))
        {
            return Err(ApplyError::precondition(format!(
                "{path} is a directory in the tree; remove it first (cohort tree rm {path})"
            )));
        }
        let mut end = 0;
        while let Some(slash) = path[end..].find('/') {
            end += slash;
            let parent = &path[..end];
            if self.tree.contains_key(parent) || incoming.contains_key(parent) {
                return Err(ApplyError::precondition(format!(
                    "cannot put {path}: {parent} is a file in the tree, not a directory; \
                     remove it first (cohort tree rm {parent})"
                )));
            }
            end += 1;
        }
        Ok(())
    }

    pub(super) fn tree_remove(&mut self, path: &str) -> Applied {
        validate_tree_path(path).map_err(ApplyError::invalid)?;
        if self.tree.contains_key(path) {
            Arc::make_mut(&mut self.tree).remove(path);
            return Ok(Outcome {
                warnings: Vec::new(),
                changed: 1,
            });
        }
        let dir = format!("{path}/");
        let under: Vec<String> = self
            .tree
            .range(dir.clone()..)
            .take_while(|(p, _)| p.starts_with(&dir))
            .map(|(p, _)| p.clone())
            .collect();
        if under.is_empty() {
            return Err(ApplyError::not_found(format!(
                "{path} is not in the tree (cohort tree ls lists what is)"
            )));
        }
        let tree = Arc::make_mut(&mut self.tree);
        for p in &under {
            tree.remove(p);
        }
        Ok(Outcome {
            warnings: Vec::new(),
            changed: under.len(),
        })
    }
}
