//! [`ManifestView`]: what the HTTPS server sees of the synchronized tree.
//!
//! A path is looked up in the replicated manifest (and the derived trust
//! bundle), never on the disk alone: a file the manifest lists but this
//! member has not placed yet is `Pending` (503 with `Retry-After`), so a
//! node never gets a stale or partial file, and a stray file dropped into
//! the tree by hand is not served. Symlinks, of a file or of a directory
//! on the way, are resolved in the manifest (relative, inside the same
//! half), so nothing on disk is followed. The ETag is the content hash: it
//! is the same on every member, so a node may resume a download from any
//! of them.

use std::os::unix::fs::MetadataExt;
use std::sync::Arc;

use super::Tree;
use super::materialize::{Want, etag, tree_file};
use super::sync::want_of;
use crate::https::{Found, Lookup, TreeView};
use crate::server::member::Member;

/// Symlinks followed at most while resolving one path (loops end here).
const MAX_HOPS: usize = 16;

/// The manifest-backed [`TreeView`] of one member.
pub struct ManifestView {
    member: Arc<Member>,
}

impl ManifestView {
    pub fn new(member: Arc<Member>) -> ManifestView {
        ManifestView { member }
    }

    fn tree(&self) -> &Tree {
        &self.member.tree
    }

    /// The entry at `path`: the trust bundle first, then the manifest.
    fn entry(&self, path: &str) -> Option<Want> {
        if let Some(w) = self.tree().shared().derived.get(path) {
            return Some(w.clone());
        }
        self.member
            .core()
            .state
            .read(|s| s.tree().get(path).map(want_of))
    }

    /// Follows symlinks (of the path or of a directory on its way) to the
    /// tree path of a file, or `None`.
    fn resolve(&self, path: &str) -> Option<(String, Want)> {
        let mut current = path.to_owned();
        'hops: for _ in 0..MAX_HOPS {
            let parts: Vec<&str> = current.split('/').collect();
            // Shortest prefix first: a symlinked directory on the way.
            for end in 2..=parts.len() {
                let prefix = parts[..end].join("/");
                match self.entry(&prefix) {
                    Some(Want::Symlink { target }) => {
                        let mut next = resolve_link(&prefix, &target)?;
                        for rest in &parts[end..] {
                            next.push('/');
                            next.push_str(rest);
                        }
                        current = next;
                        continue 'hops;
                    }
                    Some(want @ Want::File { .. }) if end == parts.len() => {
                        return Some((current, want));
                    }
                    // A file in the middle of the path: nothing below it.
                    Some(Want::File { .. }) => return None,
                    None => {}
                }
            }
            return None;
        }
        None
    }
}

/// Where a relative symlink at `link` pointing at `target` lands, inside
/// the link's own half of the tree, or `None`.
fn resolve_link(link: &str, target: &str) -> Option<String> {
    if target.is_empty() || target.starts_with('/') {
        return None;
    }
    let mut parts: Vec<&str> = link.split('/').collect();
    parts.pop();
    let half = *parts.first()?;
    for part in target.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
                if parts.is_empty() {
                    return None;
                }
            }
            other => parts.push(other),
        }
    }
    (parts.first() == Some(&half) && parts.len() > 1).then(|| parts.join("/"))
}

impl TreeView for ManifestView {
    fn lookup(&self, tree_path: &str) -> Lookup {
        let Some((path, Want::File { sha, .. })) = self.resolve(tree_path) else {
            return Lookup::Absent;
        };
        let placed = self.tree().shared().placed.get(&path).cloned();
        let Some(placed) = placed.filter(|p| p.sha == sha) else {
            return Lookup::Pending;
        };
        let Some(file) = tree_file(&self.tree().root, &path) else {
            return Lookup::Absent;
        };
        match std::fs::symlink_metadata(&file) {
            // The very inode placed: not replaced or removed since. Its
            // times may differ (a shared blob touched by an upload), so
            // they are read now, for `open` to compare against.
            Ok(meta) if meta.is_file() && meta.ino() == placed.ino && meta.dev() == placed.dev => {
                Lookup::Present(Found {
                    path: file,
                    etag: etag(&sha),
                    len: meta.len(),
                    modified: meta.modified().unwrap_or(std::time::UNIX_EPOCH),
                })
            }
            // Being replaced or refetched: the sync will place it again.
            _ => Lookup::Pending,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::resolve_link;

    #[test]
    fn links_resolve_inside_their_half_only() {
        let check = |link: &str, target: &str, want: Option<&str>| {
            assert_eq!(
                resolve_link(link, target).as_deref(),
                want,
                "{link} -> {target}"
            );
        };
        check("public/os/latest", "rocky9", Some("public/os/rocky9"));
        check("public/os/x/boot", "../y/boot", Some("public/os/y/boot"));
        check("public/a", "../private/key", None);
        check("public/a", "/etc/passwd", None);
        check("public/a/b", "../../x", None);
        check("public/a", ".", None);
    }
}
