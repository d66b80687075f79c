//! Recognising installation media by the marker files their vendors ship.
//!
//! Every installer family leaves a small, stable file at a fixed path that
//! names the product: EL trees have `.treeinfo` (productmd INI; `.discinfo`
//! on older or stripped media), Debian and Ubuntu have `.disk/info` (plus
//! `dists/` or `casper/`, which tell a package-archive installer from a live
//! one), SUSE has `media.1/products`, `media.1/media`, `content` or, from SLE
//! 15 and Leap on, a `.treeinfo` too. Reading those is exact and cheap; the
//! alternatives (volume labels, file-name heuristics) guess.
//!
//! Detection runs over [`MediaSource`], so an ISO (through the
//! [`IsoImage`] reader) and an already extracted directory look the same.

use std::fmt;
use std::io::{Read, Seek};
use std::path::{Component, Path, PathBuf};

use super::iso9660::{EntryKind, IsoError, IsoImage};
use super::markers::{
    el_from_discinfo, from_disk_info, from_treeinfo, suse_from_content, suse_from_media,
    suse_from_products,
};

/// Marker files are small; anything bigger is not the file we expect.
const MAX_MARKER: u64 = 1 << 20;

/// Every marker looked for, named in the error for unknown media.
pub const MARKERS: &[&str] = &[
    "media.1/products (SUSE)",
    ".treeinfo (EL, SLE 15+, Leap)",
    "content (SUSE)",
    "media.1/media (SUSE)",
    ".discinfo (EL)",
    ".disk/info with dists/ (Debian)",
    ".disk/info with casper/ (Ubuntu)",
];

#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    #[error(transparent)]
    Iso(#[from] IsoError),
    #[error("reading {path} failed")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("none of these marker files was found: {}", MARKERS.join(", "))]
    Unknown,
    #[error("marker file {marker} is not usable: {reason}")]
    BadMarker {
        marker: &'static str,
        reason: String,
    },
}

/// The installer families cohort has profile templates for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Family {
    El,
    Debian,
    Ubuntu,
    Suse,
}

impl Family {
    /// The directory of `profiles/` holding this family's template.
    pub fn template_dir(self) -> &'static str {
        match self {
            Family::El => "el",
            Family::Debian => "debian",
            Family::Ubuntu => "ubuntu",
            Family::Suse => "suse",
        }
    }
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.template_dir())
    }
}

/// What the media is, and where its network-boot kernel and initrd are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaInfo {
    pub family: Family,
    /// Short distribution id: `rocky`, `alma`, `rhel`, `centos-stream`,
    /// `fedora`, `debian`, `ubuntu`, `sles`, `opensuse_leap`, ...
    pub distro: String,
    /// The product name as the media spells it (`Rocky Linux`).
    pub product: String,
    pub version: String,
    /// Kernel architecture naming (`x86_64`, `aarch64`), as confluent names
    /// distributions, whatever the packaging calls it (`amd64`).
    pub arch: String,
    /// Path of the installer kernel and initrd on the media, when found.
    pub kernel: Option<String>,
    pub initramfs: Option<String>,
    /// The marker file that identified the media.
    pub marker: &'static str,
}

impl MediaInfo {
    /// `rocky-9.4-x86_64`: the distribution name, confluent style.
    pub fn suggested_name(&self) -> String {
        format!("{}-{}-{}", self.distro, self.version, self.arch)
    }
}

/// Read access to media, whatever holds it.
pub trait MediaSource {
    /// The bytes of a regular file, `None` when absent or not a file.
    fn read_file(&mut self, path: &str) -> Result<Option<Vec<u8>>, MediaError>;
    fn is_dir(&mut self, path: &str) -> Result<bool, MediaError>;
    fn is_file(&mut self, path: &str) -> Result<bool, MediaError>;
}

impl<R: Read + Seek> MediaSource for IsoImage<R> {
    fn read_file(&mut self, path: &str) -> Result<Option<Vec<u8>>, MediaError> {
        match self.lookup(path)? {
            Some(entry) if entry.kind == EntryKind::File => {
                Ok(Some(self.read_small(&entry, MAX_MARKER)?))
            }
            _ => Ok(None),
        }
    }
    fn is_dir(&mut self, path: &str) -> Result<bool, MediaError> {
        Ok(self.lookup(path)?.is_some_and(|e| e.kind == EntryKind::Dir))
    }
    fn is_file(&mut self, path: &str) -> Result<bool, MediaError> {
        Ok(self
            .lookup(path)?
            .is_some_and(|e| e.kind == EntryKind::File))
    }
}

/// An extracted tree (a mounted DVD, an rsync of a mirror).
pub struct DirSource {
    root: PathBuf,
}

impl DirSource {
    pub fn new(root: &Path) -> Self {
        DirSource {
            root: root.to_path_buf(),
        }
    }

    fn join(&self, path: &str) -> Option<PathBuf> {
        // Marker paths are ours, but refuse anything that climbs anyway.
        let rel = Path::new(path);
        rel.components()
            .all(|c| matches!(c, Component::Normal(_)))
            .then(|| self.root.join(rel))
    }
}

impl MediaSource for DirSource {
    fn read_file(&mut self, path: &str) -> Result<Option<Vec<u8>>, MediaError> {
        let Some(full) = self.join(path) else {
            return Ok(None);
        };
        if !full.is_file() {
            return Ok(None);
        }
        let io = |source| MediaError::Io {
            path: full.clone(),
            source,
        };
        let file = std::fs::File::open(&full).map_err(io)?;
        let mut out = Vec::new();
        file.take(MAX_MARKER + 1)
            .read_to_end(&mut out)
            .map_err(io)?;
        if out.len() as u64 > MAX_MARKER {
            return Err(MediaError::Io {
                path: full.clone(),
                source: std::io::Error::other(format!(
                    "larger than {MAX_MARKER} bytes; not a marker file"
                )),
            });
        }
        Ok(Some(out))
    }
    fn is_dir(&mut self, path: &str) -> Result<bool, MediaError> {
        Ok(self.join(path).is_some_and(|p| p.is_dir()))
    }
    fn is_file(&mut self, path: &str) -> Result<bool, MediaError> {
        Ok(self.join(path).is_some_and(|p| p.is_file()))
    }
}

/// Identifies the media, checking markers from the most to the least
/// specific.
pub fn detect(src: &mut dyn MediaSource) -> Result<MediaInfo, MediaError> {
    if let Some(bytes) = src.read_file("media.1/products")? {
        return suse_from_products(src, &bytes);
    }
    if let Some(bytes) = src.read_file(".treeinfo")? {
        return from_treeinfo(src, &bytes);
    }
    if let Some(bytes) = src.read_file("content")? {
        return suse_from_content(src, &bytes);
    }
    if let Some(bytes) = src.read_file("media.1/media")? {
        return suse_from_media(src, &bytes);
    }
    if let Some(bytes) = src.read_file(".discinfo")? {
        return el_from_discinfo(src, &bytes);
    }
    if let Some(bytes) = src.read_file(".disk/info")? {
        return from_disk_info(src, &bytes);
    }
    Err(MediaError::Unknown)
}
