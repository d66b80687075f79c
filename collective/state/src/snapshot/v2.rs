//! Snapshot format version 2: version 1 plus the synchronized tree's
//! manifest. Frozen: never change these types; add `v3`.
//!
//! Version 1's body is kept whole as the first field (bincode lays a nested
//! struct out as its fields in order), so everything version 1 knows is
//! read and written by its own code, and a version 1 snapshot becomes a
//! version 2 one with an empty tree.

use serde::{Deserialize, Serialize};

use super::v1::SnapshotV1;
use crate::{SnapshotError, State, TreeEntry};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct SnapshotV2 {
    v1: SnapshotV1,
    tree: Vec<(String, TreeEntryV2)>,
}

/// Mirror of [`TreeEntry`], so a change there cannot change this format.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
enum TreeEntryV2 {
    File {
        sha256: [u8; 32],
        size: u64,
        mode: u32,
    },
    Symlink {
        target: String,
    },
}

impl From<&TreeEntry> for TreeEntryV2 {
    fn from(e: &TreeEntry) -> Self {
        match e {
            TreeEntry::File { sha256, size, mode } => TreeEntryV2::File {
                sha256: *sha256,
                size: *size,
                mode: *mode,
            },
            TreeEntry::Symlink { target } => TreeEntryV2::Symlink {
                target: target.clone(),
            },
        }
    }
}

impl From<TreeEntryV2> for TreeEntry {
    fn from(e: TreeEntryV2) -> Self {
        match e {
            TreeEntryV2::File { sha256, size, mode } => TreeEntry::File { sha256, size, mode },
            TreeEntryV2::Symlink { target } => TreeEntry::Symlink { target },
        }
    }
}

impl From<SnapshotV1> for SnapshotV2 {
    fn from(v1: SnapshotV1) -> Self {
        SnapshotV2 {
            v1,
            tree: Vec::new(),
        }
    }
}

impl SnapshotV2 {
    pub(crate) fn from_state(s: &State) -> Self {
        SnapshotV2 {
            v1: SnapshotV1::from_state(s),
            tree: s
                .tree
                .iter()
                .map(|(p, e)| (p.clone(), TreeEntryV2::from(e)))
                .collect(),
        }
    }

    pub(crate) fn decode(body: &[u8]) -> Result<Self, SnapshotError> {
        crate::codec::decode(body).map_err(SnapshotError::Corrupt)
    }

    pub(crate) fn into_state(self) -> Result<State, SnapshotError> {
        let mut state = self.v1.into_state()?;
        for (path, entry) in self.tree {
            crate::tree::validate_tree_path(&path)
                .map_err(|e| SnapshotError::Corrupt(format!("tree: {e}")))?;
            if std::sync::Arc::make_mut(&mut state.tree)
                .insert(path.clone(), entry.into())
                .is_some()
            {
                return Err(SnapshotError::Corrupt(format!(
                    "tree path \"{path}\" is listed twice"
                )));
            }
        }
        Ok(state)
    }
}
