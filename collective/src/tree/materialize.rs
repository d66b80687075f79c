//! Turning manifest entries into files under `<data>/tree/`, atomically.
//!
//! Every file name is built from the components of a path that
//! [`validate_tree_path`] accepted (no `..`, `.`, empty component, NUL or
//! backslash), pushed one by one onto the tree root, so no manifest entry
//! can name a file outside the tree. Directories on the way are created
//! when missing; anything else found there (a file, or a symlink that could
//! lead out of the tree) is removed first, so no write ever follows a
//! symlink.
//!
//! A file appears in one `rename(2)`: its content is first hard-linked
//! from the blob (or copied, when a link is not possible or another tree
//! path shares the blob with another mode) to a hidden temporary name in
//! the same directory, its mode set, then renamed over the final name.
//! Readers see the old file or the new one, never half of one. A symlink
//! likewise. Blocking I/O: callers run it on the blocking pool.

use std::fs;
use std::io;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use cohort_state::validate_tree_path;

use super::blobs::{BlobStore, Sha256, hex};

/// Prefix of temporary names; the sync removes leftovers of a crash.
pub const TMP_PREFIX: &str = ".cohort-tmp-";

/// What a tree path should be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Want {
    File { sha: Sha256, size: u64, mode: u32 },
    Symlink { target: String },
}

/// A file as placed, to recognize it later without hashing it again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placed {
    pub sha: Sha256,
    pub dev: u64,
    pub ino: u64,
    pub len: u64,
    pub modified: SystemTime,
}

impl Placed {
    fn of(sha: Sha256, meta: &fs::Metadata) -> Placed {
        Placed {
            sha,
            dev: meta.dev(),
            ino: meta.ino(),
            len: meta.len(),
            modified: meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
        }
    }

    /// Whether `meta` is still the very file placed (same inode, length
    /// and time): nothing replaced or rewrote it since.
    pub fn matches(&self, meta: &fs::Metadata) -> bool {
        meta.is_file()
            && meta.dev() == self.dev
            && meta.ino() == self.ino
            && meta.len() == self.len
            && meta.modified().ok() == Some(self.modified)
    }
}

/// `<root>/<path>` from the checked components of `path`, or `None` for a
/// path the manifest rules refuse.
pub fn tree_file(root: &Path, path: &str) -> Option<PathBuf> {
    validate_tree_path(path).ok()?;
    let mut out = root.to_path_buf();
    for part in path.split('/') {
        out.push(part);
    }
    Some(out)
}

fn invalid(path: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("{path:?} is not a valid tree path"),
    )
}

/// Creates the directories above `path`, replacing whatever else is in
/// their place (a file, a symlink) so nothing below is reached through a
/// symlink.
fn ensure_parents(root: &Path, path: &str) -> io::Result<PathBuf> {
    let mut dir = root.to_path_buf();
    let parts: Vec<&str> = path.split('/').collect();
    for part in &parts[..parts.len().saturating_sub(1)] {
        dir.push(part);
        match fs::symlink_metadata(&dir) {
            Ok(m) if m.is_dir() => continue,
            Ok(_) => fs::remove_file(&dir)?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        match fs::create_dir(&dir) {
            Err(e) if e.kind() != io::ErrorKind::AlreadyExists => return Err(e),
            _ => {}
        }
    }
    Ok(dir)
}

/// A fresh hidden name in `dir`.
fn temp_name(dir: &Path) -> PathBuf {
    let r = crate::server::random_bytes::<8>();
    dir.join(format!("{TMP_PREFIX}{}", hex_short(&r)))
}

fn hex_short(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Clears the way for a new entry at `target`: a directory there (the
/// manifest now says file or symlink) goes, with everything under it.
fn clear_dir(target: &Path) -> io::Result<()> {
    match fs::symlink_metadata(target) {
        Ok(m) if m.is_dir() => fs::remove_dir_all(target),
        _ => Ok(()),
    }
}

/// Whether `path` already holds the file: the blob itself (a hard link),
/// or the copy recorded in `known`.
pub fn is_placed(
    root: &Path,
    blobs: &BlobStore,
    path: &str,
    sha: &Sha256,
    mode: u32,
    known: Option<&Placed>,
) -> Option<Placed> {
    let target = tree_file(root, path)?;
    let meta = fs::symlink_metadata(&target).ok()?;
    if !meta.is_file() || meta.permissions().mode() & 0o7777 != mode {
        return None;
    }
    let blob = fs::metadata(blobs.path(sha)).ok()?;
    if blob.dev() == meta.dev() && blob.ino() == meta.ino() {
        return Some(Placed::of(*sha, &meta));
    }
    known.filter(|k| &k.sha == sha && k.matches(&meta)).cloned()
}

/// Places the blob `sha` at `path` with `mode`, atomically.
pub fn place_file(
    root: &Path,
    blobs: &BlobStore,
    path: &str,
    sha: &Sha256,
    mode: u32,
) -> io::Result<Placed> {
    let target = tree_file(root, path).ok_or_else(|| invalid(path))?;
    let dir = ensure_parents(root, path)?;
    clear_dir(&target)?;
    let blob = blobs.path(sha);
    let blob_meta = fs::metadata(&blob)?;
    let tmp = temp_name(&dir);
    // The inode is shared with the blob, so its mode is too: link only when
    // the blob has the wanted mode already or no other tree path uses it.
    let same_mode = blob_meta.permissions().mode() & 0o7777 == mode;
    let linkable = same_mode || blob_meta.nlink() == 1;
    // chmod only when the mode differs: it is a journalled inode update,
    // and a tree of thousands of 0644 files would pay one per file.
    let linked = linkable
        && (same_mode || fs::set_permissions(&blob, fs::Permissions::from_mode(mode)).is_ok())
        && fs::hard_link(&blob, &tmp).is_ok();
    if !linked {
        // Another file system, or another mode in use: a private copy.
        let result = copy_synced(&blob, &tmp, mode);
        if let Err(e) = result {
            let _ = fs::remove_file(&tmp);
            return Err(e);
        }
    }
    let renamed = fs::rename(&tmp, &target);
    // rename(2) of two links to one inode does nothing, leaving the
    // temporary name behind; remove it either way.
    let _ = fs::remove_file(&tmp);
    renamed?;
    let meta = fs::symlink_metadata(&target)?;
    Ok(Placed::of(*sha, &meta))
}

fn copy_synced(from: &Path, to: &Path, mode: u32) -> io::Result<()> {
    let mut src = fs::File::open(from)?;
    let mut dst = fs::File::options().write(true).create_new(true).open(to)?;
    io::copy(&mut src, &mut dst)?;
    dst.set_permissions(fs::Permissions::from_mode(mode))?;
    dst.sync_all()
}

/// Whether `path` is already a symlink to `target`.
pub fn is_symlink_to(root: &Path, path: &str, target: &str) -> bool {
    tree_file(root, path)
        .and_then(|p| fs::read_link(p).ok())
        .is_some_and(|t| t.as_os_str() == target)
}

/// Places a symlink `path -> target`, atomically.
pub fn place_symlink(root: &Path, path: &str, target: &str) -> io::Result<()> {
    let file = tree_file(root, path).ok_or_else(|| invalid(path))?;
    let dir = ensure_parents(root, path)?;
    clear_dir(&file)?;
    let tmp = temp_name(&dir);
    std::os::unix::fs::symlink(target, &tmp)?;
    let renamed = fs::rename(&tmp, &file);
    if renamed.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    renamed
}

/// Removes what is at `path` (a file, a symlink, or a directory and all
/// under it; never following a symlink), then the directories above it
/// that became empty, up to the half of the tree it is in.
pub fn remove(root: &Path, path: &str) -> io::Result<()> {
    let file = tree_file(root, path).ok_or_else(|| invalid(path))?;
    let gone = match fs::symlink_metadata(&file) {
        Ok(m) if m.is_dir() => fs::remove_dir_all(&file),
        Ok(_) => fs::remove_file(&file),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    };
    gone?;
    let mut parts: Vec<&str> = path.split('/').collect();
    parts.pop();
    // Keep `public` and `private` themselves.
    while parts.len() > 1 {
        let dir = parts.iter().fold(root.to_path_buf(), |p, c| p.join(c));
        // Fails on a directory that is not empty: then the rest stays too.
        if fs::remove_dir(&dir).is_err() {
            break;
        }
        parts.pop();
    }
    Ok(())
}

/// Removes leftover temporary names anywhere under `dir` (a crash between
/// link and rename), never following symlinks.
pub fn sweep_temps(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let Ok(kind) = e.file_type() else { continue };
        if kind.is_dir() {
            sweep_temps(&e.path());
        } else if e.file_name().to_string_lossy().starts_with(TMP_PREFIX) {
            let _ = fs::remove_file(e.path());
        }
    }
}

/// The ETag of a tree file: its content hash, quoted.
pub fn etag(sha: &Sha256) -> String {
    format!("\"{}\"", hex(sha))
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fixture {
        _dir: tempfile::TempDir,
        root: PathBuf,
        blobs: BlobStore,
    }

    fn fixture() -> Fixture {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().join("tree");
        fs::create_dir_all(root.join("public")).expect("mkdir");
        fs::create_dir_all(root.join("private")).expect("mkdir");
        let blobs = BlobStore::open(dir.path().join("blobs")).expect("blobs");
        Fixture {
            _dir: dir,
            root,
            blobs,
        }
    }

    #[test]
    fn paths_are_built_from_checked_components_only() {
        let root = Path::new("/data/tree");
        for bad in [
            "../x",
            "public/../../etc/passwd",
            "/etc/passwd",
            "public/a//b",
            "other/x",
        ] {
            assert_eq!(tree_file(root, bad), None, "{bad}");
        }
        assert_eq!(
            tree_file(root, "public/os/boot.ipxe"),
            Some(PathBuf::from("/data/tree/public/os/boot.ipxe"))
        );
    }

    #[test]
    fn files_appear_with_their_mode_and_shared_blobs_keep_theirs() {
        let f = fixture();
        let sha = f.blobs.put_bytes(b"#!/bin/sh\n").expect("blob");
        let a = place_file(&f.root, &f.blobs, "public/a/run.sh", &sha, 0o755).expect("place");
        assert!(is_placed(&f.root, &f.blobs, "public/a/run.sh", &sha, 0o755, None).is_some());
        // Same content, another mode: a copy, so the first keeps 0755.
        let b = place_file(&f.root, &f.blobs, "public/b/run.txt", &sha, 0o644).expect("place");
        assert_ne!(a.ino, b.ino);
        let mode = |p: &str| {
            fs::metadata(f.root.join(p))
                .expect("stat")
                .permissions()
                .mode()
                & 0o7777
        };
        assert_eq!(mode("public/a/run.sh"), 0o755);
        assert_eq!(mode("public/b/run.txt"), 0o644);
        // The copy is recognized through its record, not by the blob inode.
        assert!(is_placed(&f.root, &f.blobs, "public/b/run.txt", &sha, 0o644, None).is_none());
        assert!(is_placed(&f.root, &f.blobs, "public/b/run.txt", &sha, 0o644, Some(&b)).is_some());
        // Placing again over the same link leaves no temporary behind.
        place_file(&f.root, &f.blobs, "public/a/run.sh", &sha, 0o755).expect("again");
        let names: Vec<_> = fs::read_dir(f.root.join("public/a"))
            .expect("ls")
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("run.sh")]);
    }

    #[test]
    fn a_symlinked_directory_on_the_way_is_replaced_not_followed() {
        let f = fixture();
        let outside = f._dir.path().join("outside");
        fs::create_dir_all(&outside).expect("mkdir");
        std::os::unix::fs::symlink(&outside, f.root.join("public/os")).expect("symlink");
        let sha = f.blobs.put_bytes(b"kernel").expect("blob");
        place_file(&f.root, &f.blobs, "public/os/vmlinuz", &sha, 0o644).expect("place");
        assert!(
            fs::symlink_metadata(f.root.join("public/os"))
                .expect("stat")
                .is_dir()
        );
        assert!(
            !outside.join("vmlinuz").exists(),
            "nothing written outside the tree"
        );
    }

    #[test]
    fn shapes_change_and_removal_prunes_empty_directories() {
        let f = fixture();
        let sha = f.blobs.put_bytes(b"x").expect("blob");
        place_file(&f.root, &f.blobs, "public/d/e/f", &sha, 0o644).expect("place");
        // A file where a directory was.
        place_file(&f.root, &f.blobs, "public/d", &sha, 0o644).expect("replace dir");
        assert!(f.root.join("public/d").is_file());
        place_symlink(&f.root, "public/link", "d").expect("symlink");
        assert!(is_symlink_to(&f.root, "public/link", "d"));
        place_symlink(&f.root, "public/link", "other").expect("retarget");
        assert!(is_symlink_to(&f.root, "public/link", "other"));
        place_file(&f.root, &f.blobs, "private/x/y/z", &sha, 0o600).expect("place");
        remove(&f.root, "private/x/y/z").expect("remove");
        assert!(!f.root.join("private/x").exists(), "empty parents pruned");
        assert!(f.root.join("private").is_dir(), "the half itself stays");
        remove(&f.root, "public/nothing/here").expect("absent is fine");
    }

    #[test]
    fn leftover_temporaries_are_swept() {
        let f = fixture();
        fs::create_dir_all(f.root.join("public/a")).expect("mkdir");
        let tmp = f.root.join(format!("public/a/{TMP_PREFIX}0011"));
        fs::write(&tmp, b"half").expect("write");
        sweep_temps(&f.root);
        assert!(!tmp.exists());
    }
}
