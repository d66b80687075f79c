//! OS deployment content: installation media, profiles and boot files.
//!
//! `cohort osdeploy import` turns installation media into two things in the
//! synchronized tree: the media's files under `public/distributions/<name>/`
//! and a profile `public/os/<name>-default/` made from the family template
//! of `profiles/`. This module decides *what* to write; the tree (another
//! module) writes it. So everything here is a plan: [`plan_import`] and
//! [`generic_profile`] return an [`ImportPlan`] listing files to copy (with
//! sizes, opened lazily and streamed) and profile files to create (small,
//! in memory), and [`boot_files`] renders `boot.ipxe`/`grub.cfg` for a
//! profile and the current member list.
//!
//! Pieces: [`iso9660`] (+ `rockridge`) reads ISO images without mounting;
//! [`media`] recognises a distribution by its marker files; `templates`
//! embeds `profiles/`; [`profile`] parses `profile.yaml` and writes boot
//! files. None of it takes a node: every node of a profile gets the same
//! bytes, and node specifics come from the node API at install time
//! (docs/design/0004-profiles-and-media.md).

mod dirrecord;
pub mod iso9660;
mod markers;
pub mod media;
pub mod profile;
mod rockridge;
mod templates;

#[cfg(test)]
mod ipxe_tests;
#[cfg(test)]
mod iso9660_tests;
#[cfg(test)]
mod media_tests;
#[cfg(test)]
mod profile_tests;
#[cfg(test)]
mod testutil;

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use iso9660::{EntryKind, Extent, ExtentReader, IsoError, IsoImage};
use media::{DirSource, MediaError, MediaInfo};
pub use profile::{ProfileConfig, ProfileError};
use templates::TemplateError;

/// Bounds on walking an extracted directory (an ISO has its own, in `iso9660::Limits`).
const MAX_DIR_ENTRIES: usize = 2_000_000;
const MAX_DIR_DEPTH: usize = 64;

#[derive(Debug, thiserror::Error)]
pub enum OsdeployError {
    #[error("cannot read {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{path} cannot be imported")]
    Iso {
        path: PathBuf,
        #[source]
        source: IsoError,
    },
    #[error("{path} is not recognised installation media")]
    Media {
        path: PathBuf,
        #[source]
        source: MediaError,
    },
    #[error(transparent)]
    Profile(#[from] ProfileError),
    #[error(transparent)]
    Template(#[from] TemplateError),
    #[error(
        "{product} {version} media has no installer {what} (looked for {looked}); use --generic with a kernel and initramfs instead"
    )]
    NoBootImage {
        product: String,
        version: String,
        what: &'static str,
        looked: String,
    },
    #[error("{path}: {reason}")]
    Source { path: PathBuf, reason: String },
}

/// What an import or a generic profile will write to the tree.
#[derive(Debug)]
pub struct ImportPlan {
    /// The detected media (`None` for a generic profile).
    pub media: Option<MediaInfo>,
    /// The distribution name (`rocky-9.4-x86_64`), when media are imported.
    pub distribution: Option<String>,
    /// Files, directories and symlinks to copy, parents before children.
    pub copies: Vec<CopyItem>,
    /// Profiles to create; boot files come from [`boot_files`].
    pub profiles: Vec<Profile>,
}

impl ImportPlan {
    /// Bytes of all files to copy, for a progress bar.
    pub fn total_bytes(&self) -> u64 {
        self.copies
            .iter()
            .map(|c| {
                if let CopyKind::File { size } = c.kind {
                    size
                } else {
                    0
                }
            })
            .sum()
    }
}

/// One item to copy into the tree.
#[derive(Debug, Clone)]
pub struct CopyItem {
    /// Tree path (`public/distributions/rocky-9.4-x86_64/images/pxeboot/vmlinuz`).
    pub dest: String,
    pub kind: CopyKind,
    /// POSIX mode bits, when the source has them (Rock Ridge, local files).
    pub mode: Option<u32>,
    source: CopySource,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CopyKind {
    File { size: u64 },
    Dir,
    Symlink { target: String },
}

#[derive(Debug, Clone)]
enum CopySource {
    Iso {
        image: PathBuf,
        extents: Vec<Extent>,
    },
    Path(PathBuf),
    None,
}

impl CopyItem {
    /// Streams a file's bytes (memory stays bounded: the caller's buffer).
    pub fn open(&self) -> Result<Box<dyn Read + Send>, OsdeployError> {
        match &self.source {
            CopySource::Iso { image, extents } => {
                let file = File::open(image).map_err(io_error(image))?;
                Ok(Box::new(ExtentReader::new(file, extents.clone())))
            }
            CopySource::Path(path) => Ok(Box::new(File::open(path).map_err(io_error(path))?)),
            CopySource::None => Err(OsdeployError::Source {
                path: PathBuf::from(&self.dest),
                reason: "is not a regular file; there are no bytes to copy".into(),
            }),
        }
    }
}

/// A profile to create: its checked `profile.yaml` and every file of its
/// directory (tree path -> bytes), boot files excepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    pub name: String,
    pub config: ProfileConfig,
    pub files: BTreeMap<String, Vec<u8>>,
}

/// Plans importing the media at `source` (an ISO file or an extracted
/// directory) as distribution `name` (default: the detected
/// `<distro>-<version>-<arch>`), with its default profile.
pub fn plan_import(source: &Path, name: Option<&str>) -> Result<ImportPlan, OsdeployError> {
    let meta = std::fs::metadata(source).map_err(|e| OsdeployError::Io {
        path: source.into(),
        source: e,
    })?;
    let media_err = |e| OsdeployError::Media {
        path: source.into(),
        source: e,
    };
    let (media, found) = if meta.is_dir() {
        let media = media::detect(&mut DirSource::new(source)).map_err(media_err)?;
        (media, walk_directory(source)?)
    } else {
        let iso_err = |e| OsdeployError::Iso {
            path: source.into(),
            source: e,
        };
        let file = File::open(source).map_err(|e| OsdeployError::Io {
            path: source.into(),
            source: e,
        })?;
        let mut image = IsoImage::open(io::BufReader::new(file)).map_err(iso_err)?;
        let media = media::detect(&mut image).map_err(media_err)?;
        (media, iso_items(source, &mut image).map_err(iso_err)?)
    };
    let distribution = match name {
        Some(n) => n.to_string(),
        None => media.suggested_name(),
    };
    profile::check_name(&distribution)?;
    let base = format!("public/distributions/{distribution}/");
    let copies = found
        .into_iter()
        .map(|(rel, kind, mode, source)| CopyItem {
            dest: format!("{base}{rel}"),
            kind,
            mode,
            source,
        })
        .collect();
    let profile = media_profile(&media, &distribution)?;
    Ok(ImportPlan {
        media: Some(media),
        distribution: Some(distribution),
        copies,
        profiles: vec![profile],
    })
}

/// Plans a profile `name` that boots the given kernel and initramfs files
/// (`osdeploy import --generic NAME --kernel FILE --initramfs FILE`).
pub fn generic_profile(
    name: &str,
    kernel: &Path,
    initramfs: &[PathBuf],
    kernelargs: &str,
) -> Result<ImportPlan, OsdeployError> {
    profile::check_name(name)?;
    let dir = profile::profile_dir(name);
    let mut copies = vec![local_file(kernel, format!("{dir}boot/kernel"))?];
    let mut listed = Vec::new();
    for path in initramfs {
        let base =
            path.file_name()
                .and_then(|b| b.to_str())
                .ok_or_else(|| OsdeployError::Source {
                    path: path.clone(),
                    reason: "has no UTF-8 file name".into(),
                })?;
        let rel = format!("boot/initramfs/{base}");
        if listed.contains(&rel) {
            return Err(OsdeployError::Source {
                path: path.clone(),
                reason: "two initramfs files share this name".into(),
            });
        }
        copies.push(local_file(path, format!("{dir}{rel}"))?);
        listed.push(rel);
    }
    let list: Vec<String> = listed.iter().map(|r| profile::yaml_quote(r)).collect();
    let list = format!("[{}]", list.join(", "));
    let quoted_args = profile::yaml_quote(kernelargs);
    let values = [
        ("PROFILE", name),
        ("INITRAMFS_LIST", list.as_str()),
        ("KERNELARGS", quoted_args.as_str()),
    ];
    let profile = build_profile(name, "generic", &values)?;
    Ok(ImportPlan {
        media: None,
        distribution: None,
        copies,
        profiles: vec![profile],
    })
}

/// `boot.ipxe` and `grub.cfg` of a profile for these member base URLs
/// (`https://10.0.0.1:8443`), as (tree path, bytes).
pub fn boot_files(
    profile: &Profile,
    members: &[String],
) -> Result<Vec<(String, Vec<u8>)>, OsdeployError> {
    Ok(profile::boot_files(
        &profile.name,
        &profile.config,
        members,
    )?)
}

/// The `<distribution>-default` profile of imported media.
fn media_profile(media: &MediaInfo, distribution: &str) -> Result<Profile, OsdeployError> {
    let missing = |what, looked: &str| OsdeployError::NoBootImage {
        product: media.product.clone(),
        version: media.version.clone(),
        what,
        looked: looked.to_string(),
    };
    let kernel = media
        .kernel
        .as_deref()
        .ok_or_else(|| missing("kernel", boot_hint(media)))?;
    let initramfs = media
        .initramfs
        .as_deref()
        .ok_or_else(|| missing("initramfs", boot_hint(media)))?;
    let name = format!("{distribution}-default");
    // The product name ends up in a quoted YAML label: keep it plain.
    let product: String = media
        .product
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || " ._-+()/".contains(c) {
                c
            } else {
                ' '
            }
        })
        .collect();
    let values = [
        ("PROFILE", name.as_str()),
        ("DISTRIBUTION", distribution),
        ("PRODUCT", product.trim()),
        ("VERSION", media.version.as_str()),
        ("ARCH", media.arch.as_str()),
        ("KERNEL", kernel),
        ("INITRAMFS", initramfs),
    ];
    build_profile(&name, media.family.template_dir(), &values)
}

fn boot_hint(media: &MediaInfo) -> &'static str {
    match media.family {
        media::Family::El => "images/pxeboot/vmlinuz and initrd.img",
        media::Family::Ubuntu => "casper/vmlinuz and casper/initrd",
        media::Family::Debian => "install.<arch>/vmlinuz and initrd.gz",
        media::Family::Suse => "boot/<arch>/loader/linux and initrd",
    }
}

/// Renders a family template into profile `name` and checks its profile.yaml.
fn build_profile(
    name: &str,
    family: &str,
    values: &[(&str, &str)],
) -> Result<Profile, OsdeployError> {
    let dir = profile::profile_dir(name);
    let rendered = templates::render_family(family, values)?;
    let yaml = rendered
        .get("profile.yaml")
        .map(Vec::as_slice)
        .unwrap_or_default();
    let config = ProfileConfig::parse(
        name,
        &format!("{dir}profile.yaml (from profiles/{family}/)"),
        yaml,
    )?;
    let files = rendered
        .into_iter()
        .map(|(rel, bytes)| (format!("{dir}{rel}"), bytes))
        .collect();
    Ok(Profile {
        name: name.to_string(),
        config,
        files,
    })
}

fn local_file(path: &Path, dest: String) -> Result<CopyItem, OsdeployError> {
    let meta = std::fs::metadata(path).map_err(|e| OsdeployError::Io {
        path: path.into(),
        source: e,
    })?;
    if !meta.is_file() {
        return Err(OsdeployError::Source {
            path: path.into(),
            reason: "is not a regular file".into(),
        });
    }
    Ok(CopyItem {
        dest,
        kind: CopyKind::File { size: meta.len() },
        mode: None,
        source: CopySource::Path(path.into()),
    })
}

/// Maps an I/O error to one naming `path`.
fn io_error(path: &Path) -> impl FnOnce(io::Error) -> OsdeployError + use<> {
    let path = path.to_path_buf();
    move |source| OsdeployError::Io { path, source }
}

type Found = (String, CopyKind, Option<u32>, CopySource);

fn iso_items<R: io::Read + io::Seek>(
    image_path: &Path,
    image: &mut IsoImage<R>,
) -> Result<Vec<Found>, IsoError> {
    Ok(image
        .walk()?
        .into_iter()
        .map(|e| {
            let (kind, source) = match e.kind {
                EntryKind::File => (
                    CopyKind::File { size: e.size },
                    CopySource::Iso {
                        image: image_path.to_path_buf(),
                        extents: e.extents,
                    },
                ),
                EntryKind::Dir => (CopyKind::Dir, CopySource::None),
                EntryKind::Symlink => (
                    CopyKind::Symlink {
                        target: e.symlink.unwrap_or_default(),
                    },
                    CopySource::None,
                ),
            };
            (e.path, kind, e.mode, source)
        })
        .collect())
}

/// Lists an extracted tree without following symlinks, sorted like an ISO walk.
fn walk_directory(root: &Path) -> Result<Vec<Found>, OsdeployError> {
    use std::os::unix::fs::PermissionsExt;
    let mut out = Vec::new();
    let mut stack = vec![(root.to_path_buf(), String::new(), 0usize)];
    while let Some((dir, rel, depth)) = stack.pop() {
        for entry in std::fs::read_dir(&dir).map_err(io_error(&dir))? {
            let entry = entry.map_err(io_error(&dir))?;
            let path = entry.path();
            let name = entry
                .file_name()
                .into_string()
                .map_err(|_| OsdeployError::Source {
                    path: path.clone(),
                    reason: "has a name that is not UTF-8".into(),
                })?;
            let child = if rel.is_empty() {
                name
            } else {
                format!("{rel}/{name}")
            };
            let meta = std::fs::symlink_metadata(&path).map_err(io_error(&path))?;
            let mode = Some(meta.permissions().mode());
            let item = if meta.is_dir() {
                if depth + 1 > MAX_DIR_DEPTH {
                    return Err(OsdeployError::Source {
                        path,
                        reason: format!("nested deeper than {MAX_DIR_DEPTH}"),
                    });
                }
                stack.push((path.clone(), child.clone(), depth + 1));
                (child, CopyKind::Dir, mode, CopySource::None)
            } else if meta.file_type().is_symlink() {
                let target = std::fs::read_link(&path).map_err(io_error(&path))?;
                let target = target.to_string_lossy().into_owned();
                (child, CopyKind::Symlink { target }, mode, CopySource::None)
            } else if meta.is_file() {
                (
                    child,
                    CopyKind::File { size: meta.len() },
                    mode,
                    CopySource::Path(path),
                )
            } else {
                continue; // sockets, fifos, devices: nothing an installer needs
            };
            out.push(item);
            if out.len() > MAX_DIR_ENTRIES {
                return Err(OsdeployError::Source {
                    path: root.into(),
                    reason: format!("holds more than {MAX_DIR_ENTRIES} entries"),
                });
            }
        }
    }
    out.sort_by(|a, b| a.0.split('/').cmp(b.0.split('/')));
    Ok(out)
}
