//! Small filesystem helpers for key material: a private directory, atomic
//! writes with explicit modes, and reads that name the file on failure.
//!
//! Every write goes to a temporary file in the same directory, is fsynced,
//! renamed over the target and followed by an fsync of the directory, so a
//! crash leaves either the old file or the new one, never a torn key.

use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Mode of files holding private keys.
pub(crate) const PRIVATE_FILE_MODE: u32 = 0o600;
/// Mode of files holding public material (certificates, public keys).
pub(crate) const PUBLIC_FILE_MODE: u32 = 0o644;
/// Mode of the member directory: only the daemon's user may enter it.
pub(crate) const PRIVATE_DIR_MODE: u32 = 0o700;

/// A filesystem operation that failed, with the path it was about.
#[derive(Debug, thiserror::Error)]
#[error("cannot {action} {}", path.display())]
pub struct FileError {
    pub(crate) action: &'static str,
    pub(crate) path: PathBuf,
    #[source]
    pub(crate) source: io::Error,
}

impl FileError {
    fn new(action: &'static str, path: &Path, source: io::Error) -> FileError {
        FileError {
            action,
            path: path.to_path_buf(),
            source,
        }
    }
}

/// Creates `dir` (and missing parents) with mode 0700, and tightens the mode
/// of an existing `dir` to 0700: the directory holds private keys, and a
/// looser mode left behind by a hand-made directory must not survive.
pub(crate) fn ensure_private_dir(dir: &Path) -> Result<(), FileError> {
    DirBuilder::new()
        .recursive(true)
        .mode(PRIVATE_DIR_MODE)
        .create(dir)
        .map_err(|e| FileError::new("create directory", dir, e))?;
    fs::set_permissions(dir, fs::Permissions::from_mode(PRIVATE_DIR_MODE))
        .map_err(|e| FileError::new("set mode 0700 on", dir, e))
}

/// Writes `contents` to `path` atomically with the given mode.
pub(crate) fn write_atomic(path: &Path, contents: &[u8], mode: u32) -> Result<(), FileError> {
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{file_name}.tmp"));
    // A temporary file left by a crash may carry another mode; the mode
    // below only applies to a newly created file, so start from scratch.
    match fs::remove_file(&tmp) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(FileError::new("remove stale", &tmp, e)),
    }
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(&tmp)
        .map_err(|e| FileError::new("create", &tmp, e))?;
    file.write_all(contents)
        .and_then(|()| file.sync_all())
        .map_err(|e| FileError::new("write", &tmp, e))?;
    drop(file);
    fs::rename(&tmp, path).map_err(|e| FileError::new("rename into place", path, e))?;
    sync_dir(dir)
}

/// Fsyncs a directory so a rename inside it survives a power loss.
fn sync_dir(dir: &Path) -> Result<(), FileError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| FileError::new("sync directory", dir, e))
}

/// Reads a whole file; the error names it.
pub(crate) fn read(path: &Path) -> Result<Vec<u8>, FileError> {
    fs::read(path).map_err(|e| FileError::new("read", path, e))
}
