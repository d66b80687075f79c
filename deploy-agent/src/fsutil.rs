//! Writing files into the target tree.
//!
//! Every file goes to a temporary name in its own directory, is synced,
//! gets its mode (and the owner of the file it replaces) and is renamed
//! over the target: the agent often runs from an initramfs onto a disk that
//! is rebooted right after, and a crash must leave the old file or the new
//! one, never half of either. Parent directories are created as needed.
//!
//! Files the agent shares with the admin or the distribution (`etc/hosts`,
//! `etc/ssh/ssh_known_hosts`, `etc/chrony.conf`) get a *managed block*:
//! lines between [`BLOCK_BEGIN`] and [`BLOCK_END`] that a rerun replaces in
//! place, so other lines survive and running twice gives the same file.
//! Rejected: a marker comment at the end of each line, which known_hosts
//! would read as part of the key's comment and chrony would refuse.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// First line of a block of lines the agent owns inside a shared file.
pub const BLOCK_BEGIN: &str = "# BEGIN cohort-agent managed lines (rewritten on every deploy)";
/// Last line of that block.
pub const BLOCK_END: &str = "# END cohort-agent managed lines";

/// A file-system operation on the target tree failed. Callers cannot repair
/// it: the message names the path, the source says why (permissions, a full
/// or read-only disk, a wrong `--root`).
#[derive(Debug, thiserror::Error)]
#[error("cannot {action} {}", path.display())]
pub struct FsError {
    pub action: &'static str,
    pub path: PathBuf,
    #[source]
    pub source: io::Error,
}

impl FsError {
    fn new(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> Self {
        let path = path.to_path_buf();
        move |source| FsError {
            action,
            path,
            source,
        }
    }
}

/// The permission bits a written file gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Always these bits (secrets, files a daemon checks the mode of).
    Exact(u32),
    /// The replaced file's bits, else these (for example `etc/shadow`,
    /// 0640 on Debian and 0000 on EL).
    KeepOr(u32),
}

/// The tree the agent writes into (`--root`): `/` on an installed system,
/// the mounted target in an installer.
#[derive(Debug, Clone)]
pub struct Target {
    root: PathBuf,
}

impl Target {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Target { root: root.into() }
    }

    /// `rel` is relative to the root, without a leading `/`.
    pub fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel.trim_start_matches('/'))
    }

    /// Whether the target is the running system, where `/sys` describes the
    /// very machine being configured.
    pub fn is_live(&self) -> bool {
        self.root == Path::new("/")
    }

    pub fn exists(&self, rel: &str) -> bool {
        self.path(rel).exists()
    }

    pub fn read(&self, rel: &str) -> Result<Option<String>, FsError> {
        read_optional(&self.path(rel))
    }

    pub fn write(&self, rel: &str, contents: &str, mode: Mode) -> Result<PathBuf, FsError> {
        let path = self.path(rel);
        write_file(&path, contents.as_bytes(), mode)?;
        Ok(path)
    }
}

/// The file's text, or `None` when it does not exist.
pub fn read_optional(path: &Path) -> Result<Option<String>, FsError> {
    match fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(FsError::new("read", path)(e)),
    }
}

/// Creates `dir` and its parents; `mode`, when given, is set on `dir`
/// itself even if it existed (ssh refuses a group-writable `~/.ssh`).
pub fn ensure_dir(dir: &Path, mode: Option<u32>) -> Result<(), FsError> {
    fs::create_dir_all(dir).map_err(FsError::new("create directory", dir))?;
    if let Some(mode) = mode {
        fs::set_permissions(dir, fs::Permissions::from_mode(mode))
            .map_err(FsError::new("set the mode of", dir))?;
    }
    Ok(())
}

fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.cohort-tmp"))
}

/// Writes `contents` to `path` through a temporary file and a rename.
/// The replaced file's owner is kept, so `etc/shadow` stays in group
/// `shadow` where the distribution puts it there.
pub fn write_file(path: &Path, contents: &[u8], mode: Mode) -> Result<(), FsError> {
    if let Some(parent) = path.parent() {
        ensure_dir(parent, None)?;
    }
    let old = fs::symlink_metadata(path).ok().filter(|m| m.is_file());
    let bits = match (mode, &old) {
        (Mode::Exact(bits), _) => bits,
        (Mode::KeepOr(_), Some(meta)) => meta.mode() & 0o7777,
        (Mode::KeepOr(bits), None) => bits,
    };
    let tmp = temp_path(path);
    // A leftover from an interrupted run would make create_new fail.
    let _ = fs::remove_file(&tmp);
    let result = write_temp(&tmp, contents, bits, old.as_ref())
        .and_then(|()| fs::rename(&tmp, path).map_err(FsError::new("rename into place", path)));
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

fn write_temp(
    tmp: &Path,
    contents: &[u8],
    bits: u32,
    old: Option<&fs::Metadata>,
) -> Result<(), FsError> {
    // Created with no permissions for others, so a secret is never readable
    // between create and chmod.
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(tmp)
        .map_err(FsError::new("create", tmp))?;
    file.write_all(contents)
        .map_err(FsError::new("write", tmp))?;
    if let Some(old) = old {
        let meta = file.metadata().map_err(FsError::new("stat", tmp))?;
        if (meta.uid(), meta.gid()) != (old.uid(), old.gid()) {
            std::os::unix::fs::fchown(&file, Some(old.uid()), Some(old.gid()))
                .map_err(FsError::new("set the owner of", tmp))?;
        }
    }
    file.set_permissions(fs::Permissions::from_mode(bits))
        .map_err(FsError::new("set the mode of", tmp))?;
    file.sync_all().map_err(FsError::new("sync", tmp))
}

/// Points `link` at `target` (a symlink), replacing whatever was there.
pub fn symlink(target: &str, link: &Path) -> Result<(), FsError> {
    if let Some(parent) = link.parent() {
        ensure_dir(parent, None)?;
    }
    let tmp = temp_path(link);
    let _ = fs::remove_file(&tmp);
    std::os::unix::fs::symlink(target, &tmp).map_err(FsError::new("create symlink", &tmp))?;
    fs::rename(&tmp, link).map_err(FsError::new("rename into place", link))
}

/// `existing` with its managed block replaced by `lines` (in place, or
/// appended when there is none). Empty `lines` removes the block.
pub fn replace_block(existing: &str, lines: &[String]) -> String {
    let mut block = Vec::new();
    if !lines.is_empty() {
        block.push(BLOCK_BEGIN.to_owned());
        block.extend(lines.iter().cloned());
        block.push(BLOCK_END.to_owned());
    }
    let mut out: Vec<String> = Vec::new();
    let mut inside = false;
    let mut placed = false;
    for line in existing.lines() {
        if line.trim_end() == BLOCK_BEGIN {
            inside = true;
            if !placed {
                out.append(&mut block);
                placed = true;
            }
        } else if inside {
            inside = line.trim_end() != BLOCK_END;
        } else {
            out.push(line.to_owned());
        }
    }
    out.append(&mut block);
    let mut text = out.join("\n");
    if !text.is_empty() {
        text.push('\n');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(existing: &str, lines: &[&str], expected: &str) {
        let lines: Vec<String> = lines.iter().map(|s| (*s).to_owned()).collect();
        let once = replace_block(existing, &lines);
        assert_eq!(once, expected, "from {existing:?}");
        assert_eq!(replace_block(&once, &lines), once, "not idempotent");
    }

    #[test]
    fn managed_block_is_replaced_in_place() {
        let b = BLOCK_BEGIN;
        let e = BLOCK_END;
        check("", &["x"], &format!("{b}\nx\n{e}\n"));
        check("a\nb", &["x"], &format!("a\nb\n{b}\nx\n{e}\n"));
        check(
            &format!("a\n{b}\nold1\nold2\n{e}\nz\n"),
            &["x", "y"],
            &format!("a\n{b}\nx\ny\n{e}\nz\n"),
        );
        check(&format!("a\n{b}\nold\n{e}\n"), &[], "a\n");
    }

    #[test]
    fn write_file_sets_mode_and_keeps_existing_mode() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sub/f");
        write_file(&p, b"one", Mode::Exact(0o600)).unwrap();
        assert_eq!(fs::metadata(&p).unwrap().mode() & 0o777, 0o600);
        fs::set_permissions(&p, fs::Permissions::from_mode(0o640)).unwrap();
        write_file(&p, b"two", Mode::KeepOr(0o644)).unwrap();
        assert_eq!(fs::metadata(&p).unwrap().mode() & 0o777, 0o640);
        assert_eq!(fs::read_to_string(&p).unwrap(), "two");
        assert!(!temp_path(&p).exists());
    }
}
