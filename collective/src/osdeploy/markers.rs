//! Parsers of the vendors' marker files (see `media.rs` for the order in
//! which they are tried). Each returns a [`MediaInfo`] or says which field
//! of which marker was missing; values feed tree paths and profile text, so
//! nothing is taken on trust: `plan_import` checks the resulting names.

use std::collections::BTreeMap;

use super::media::{Family, MediaError, MediaInfo, MediaSource};

/// A parsed INI file: section -> key -> value (keys lower-cased).
type Ini = BTreeMap<String, BTreeMap<String, String>>;

fn parse_ini(text: &str) -> Ini {
    let mut out = Ini::new();
    let mut section = String::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with(['#', ';']) {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.trim().to_string();
        } else if let Some((key, value)) = line.split_once('=') {
            out.entry(section.clone())
                .or_default()
                .insert(key.trim().to_ascii_lowercase(), value.trim().to_string());
        }
    }
    out
}

fn ini_get<'a>(ini: &'a Ini, section: &str, key: &str) -> Option<&'a str> {
    ini.get(section)
        .and_then(|s| s.get(key))
        .map(String::as_str)
        .filter(|v| !v.is_empty())
}

fn text<'a>(marker: &'static str, bytes: &'a [u8]) -> Result<&'a str, MediaError> {
    std::str::from_utf8(bytes).map_err(|_| MediaError::BadMarker {
        marker,
        reason: "not UTF-8 text".into(),
    })
}

pub(super) fn from_treeinfo(
    src: &mut dyn MediaSource,
    bytes: &[u8],
) -> Result<MediaInfo, MediaError> {
    const M: &str = ".treeinfo";
    let ini = parse_ini(text(M, bytes)?);
    let missing = |what: &str| MediaError::BadMarker {
        marker: M,
        reason: format!("no {what}"),
    };
    // productmd 1.x puts the product in [release]; older trees only in [general].
    let product = ini_get(&ini, "release", "name")
        .or_else(|| ini_get(&ini, "general", "family"))
        .or_else(|| ini_get(&ini, "general", "name"))
        .ok_or_else(|| missing("[release] name or [general] family"))?;
    let version = ini_get(&ini, "release", "version")
        .or_else(|| ini_get(&ini, "general", "version"))
        .ok_or_else(|| missing("[release] version or [general] version"))?;
    let arch = ini_get(&ini, "tree", "arch")
        .or_else(|| ini_get(&ini, "general", "arch"))
        .ok_or_else(|| missing("[tree] arch or [general] arch"))?;
    let arch = kernel_arch(arch);
    if let Some(distro) = suse_distro(product) {
        let (kernel, initramfs) = suse_boot(src, &arch)?;
        return Ok(MediaInfo {
            family: Family::Suse,
            distro,
            product: product.to_string(),
            version: version.to_string(),
            arch,
            kernel,
            initramfs,
            marker: M,
        });
    }
    let images = format!("images-{arch}");
    let kernel = ini_get(&ini, &images, "kernel")
        .unwrap_or("images/pxeboot/vmlinuz")
        .to_string();
    let initrd = ini_get(&ini, &images, "initrd")
        .unwrap_or("images/pxeboot/initrd.img")
        .to_string();
    Ok(MediaInfo {
        family: Family::El,
        distro: el_distro(product),
        product: product.to_string(),
        version: version.to_string(),
        kernel: existing(src, &kernel)?,
        initramfs: existing(src, &initrd)?,
        arch,
        marker: M,
    })
}

/// `.discinfo`: timestamp, release ("9.4" or "Rocky Linux 9.4"), arch.
pub(super) fn el_from_discinfo(
    src: &mut dyn MediaSource,
    bytes: &[u8],
) -> Result<MediaInfo, MediaError> {
    const M: &str = ".discinfo";
    let lines: Vec<&str> = text(M, bytes)?.lines().map(str::trim).collect();
    let (Some(release), Some(arch)) = (lines.get(1), lines.get(2)) else {
        return Err(MediaError::BadMarker {
            marker: M,
            reason: "fewer than three lines".into(),
        });
    };
    let version = release
        .split_whitespace()
        .rfind(|t| t.starts_with(|c: char| c.is_ascii_digit()));
    let version = version.ok_or_else(|| MediaError::BadMarker {
        marker: M,
        reason: format!("no version in {release:?}"),
    })?;
    let product = release.trim_end_matches(version).trim();
    let distro = if product.is_empty() {
        "el".to_string()
    } else {
        el_distro(product)
    };
    Ok(MediaInfo {
        family: Family::El,
        distro,
        product: if product.is_empty() {
            "Enterprise Linux".into()
        } else {
            product.into()
        },
        version: version.to_string(),
        arch: kernel_arch(arch),
        kernel: existing(src, "images/pxeboot/vmlinuz")?,
        initramfs: existing(src, "images/pxeboot/initrd.img")?,
        marker: M,
    })
}

/// `Debian GNU/Linux 12.5.0 "Bookworm" - Official amd64 NETINST ...` or
/// `Ubuntu-Server 24.04 LTS "Noble Numbat" - Release amd64 (20240423)`.
pub(super) fn from_disk_info(
    src: &mut dyn MediaSource,
    bytes: &[u8],
) -> Result<MediaInfo, MediaError> {
    const M: &str = ".disk/info";
    let line = text(M, bytes)?
        .lines()
        .next()
        .unwrap_or("")
        .trim()
        .to_string();
    let bad = |reason: String| MediaError::BadMarker { marker: M, reason };
    let tokens: Vec<&str> = line.split_whitespace().collect();
    let version = tokens
        .iter()
        .find(|t| {
            t.starts_with(|c: char| c.is_ascii_digit())
                && t.chars().all(|c| c.is_ascii_digit() || c == '.')
        })
        .ok_or_else(|| bad(format!("no version in {line:?}")))?;
    let arch = tokens
        .iter()
        .find(|t| DEB_ARCHES.contains(t))
        .ok_or_else(|| bad(format!("no architecture in {line:?}")))?;
    let arch = kernel_arch(arch);
    let (family, distro, wanted) = if line.starts_with("Ubuntu") {
        (Family::Ubuntu, "ubuntu", "casper")
    } else if line.starts_with("Debian") {
        (Family::Debian, "debian", "dists")
    } else {
        return Err(bad(format!("names neither Debian nor Ubuntu: {line:?}")));
    };
    if !src.is_dir(wanted)? {
        return Err(bad(format!(
            "names {distro} but the media has no {wanted}/ directory"
        )));
    }
    let (kernel, initramfs) = if family == Family::Ubuntu {
        (
            existing(src, "casper/vmlinuz")?,
            first_existing(
                src,
                &["casper/initrd", "casper/initrd.gz", "casper/initrd.lz"],
            )?,
        )
    } else {
        let dir = match arch.as_str() {
            "x86_64" => "install.amd",
            "aarch64" => "install.a64",
            "i686" => "install.386",
            _ => "install",
        };
        (
            existing(src, &format!("{dir}/vmlinuz"))?,
            existing(src, &format!("{dir}/initrd.gz"))?,
        )
    };
    Ok(MediaInfo {
        family,
        distro: distro.to_string(),
        product: tokens.first().copied().unwrap_or(distro).to_string(),
        version: version.to_string(),
        arch,
        kernel,
        initramfs,
        marker: M,
    })
}

/// `media.1/products`: one `path name version-release` line per product;
/// SLE 15 full media list modules too, so prefer a line that is not one.
pub(super) fn suse_from_products(
    src: &mut dyn MediaSource,
    bytes: &[u8],
) -> Result<MediaInfo, MediaError> {
    const M: &str = "media.1/products";
    let lines: Vec<Vec<&str>> = text(M, bytes)?
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .filter(|t| t.len() >= 3)
        .collect();
    let is_module = |t: &&Vec<&str>| {
        let name = t[1].to_ascii_lowercase();
        name.starts_with("sle-module") || name.starts_with("module")
    };
    let product = lines
        .iter()
        .find(|t| !is_module(t))
        .or(lines.first())
        .ok_or_else(|| MediaError::BadMarker {
            marker: M,
            reason: "no `path name version` line".into(),
        })?;
    let name = product[1];
    let version = product[2].split('-').next().unwrap_or(product[2]);
    suse_info(src, name, version, None, M)
}

/// `content` (SLE 11/12): `KEY value` lines (PRODUCT, VERSION, BASEARCHS, LABEL).
pub(super) fn suse_from_content(
    src: &mut dyn MediaSource,
    bytes: &[u8],
) -> Result<MediaInfo, MediaError> {
    const M: &str = "content";
    let mut keys = BTreeMap::new();
    for line in text(M, bytes)?.lines() {
        if let Some((k, v)) = line.trim().split_once(char::is_whitespace) {
            keys.insert(k.to_ascii_uppercase(), v.trim().to_string());
        }
    }
    let bad = |what: &str| MediaError::BadMarker {
        marker: M,
        reason: format!("no {what} line"),
    };
    let name = keys
        .get("PRODUCT")
        .or(keys.get("LABEL"))
        .ok_or_else(|| bad("PRODUCT"))?
        .clone();
    let version = keys.get("VERSION").ok_or_else(|| bad("VERSION"))?.clone();
    let arch = keys
        .get("BASEARCHS")
        .and_then(|a| a.split_whitespace().next())
        .map(kernel_arch);
    suse_info(src, &name, &version, arch, M)
}

/// `media.1/media`: vendor line (`SUSE - Linux Enterprise Server 12 SP5`
/// or `openSUSE - openSUSE 15.5`), timestamp, disc count.
pub(super) fn suse_from_media(
    src: &mut dyn MediaSource,
    bytes: &[u8],
) -> Result<MediaInfo, MediaError> {
    const M: &str = "media.1/media";
    let vendor = text(M, bytes)?
        .lines()
        .next()
        .unwrap_or("")
        .trim()
        .to_string();
    let version = vendor
        .split_whitespace()
        .rfind(|t| t.starts_with(|c: char| c.is_ascii_digit()))
        .ok_or_else(|| MediaError::BadMarker {
            marker: M,
            reason: format!("no version in {vendor:?}"),
        })?;
    suse_info(src, &vendor, version, None, M)
}

fn suse_info(
    src: &mut dyn MediaSource,
    name: &str,
    version: &str,
    arch: Option<String>,
    marker: &'static str,
) -> Result<MediaInfo, MediaError> {
    let arch = match arch {
        Some(a) => a,
        None => suse_arch(src)?.unwrap_or_else(|| "unknown".into()),
    };
    let (kernel, initramfs) = suse_boot(src, &arch)?;
    Ok(MediaInfo {
        family: Family::Suse,
        distro: suse_distro(name).unwrap_or_else(|| slug(name)),
        product: name.to_string(),
        version: version.to_string(),
        arch,
        kernel,
        initramfs,
        marker,
    })
}

/// SUSE media keep one `boot/<arch>/` per architecture they boot.
fn suse_arch(src: &mut dyn MediaSource) -> Result<Option<String>, MediaError> {
    for arch in ["x86_64", "aarch64", "ppc64le", "s390x"] {
        if src.is_dir(&format!("boot/{arch}"))? {
            return Ok(Some(arch.to_string()));
        }
    }
    Ok(None)
}

fn suse_boot(
    src: &mut dyn MediaSource,
    arch: &str,
) -> Result<(Option<String>, Option<String>), MediaError> {
    Ok((
        existing(src, &format!("boot/{arch}/loader/linux"))?,
        existing(src, &format!("boot/{arch}/loader/initrd"))?,
    ))
}

/// Debian architecture names as they appear in `.disk/info`.
const DEB_ARCHES: &[&str] = &[
    "amd64", "arm64", "i386", "ppc64el", "s390x", "riscv64", "armhf",
];

/// Distribution names use the kernel's architecture names.
fn kernel_arch(arch: &str) -> String {
    match arch {
        "amd64" => "x86_64",
        "arm64" => "aarch64",
        "ppc64el" => "ppc64le",
        "i386" => "i686",
        other => other,
    }
    .to_string()
}

fn el_distro(product: &str) -> String {
    let lower = product.to_ascii_lowercase();
    let known = [
        ("red hat enterprise linux", "rhel"),
        ("rocky", "rocky"),
        ("almalinux", "alma"),
        ("centos stream", "centos-stream"),
        ("centos", "centos"),
        ("fedora", "fedora"),
        ("oracle linux", "ol"),
    ];
    known
        .iter()
        .find(|(needle, _)| lower.contains(needle))
        .map_or_else(|| slug(product), |(_, id)| id.to_string())
}

/// `Some(id)` when a product name is a SUSE one.
fn suse_distro(product: &str) -> Option<String> {
    let lower = product.to_ascii_lowercase();
    let id = if lower.contains("opensuse") || lower.contains("leap") {
        "opensuse_leap"
    } else if lower.contains("sled") || lower.contains("desktop") && lower.contains("suse") {
        "sled"
    } else if lower.contains("hpc") && (lower.contains("sle") || lower.contains("suse")) {
        "sle_hpc"
    } else if lower.contains("sles")
        || lower.contains("suse linux enterprise")
        || lower.starts_with("suse")
    {
        "sles"
    } else {
        return None;
    };
    Some(id.to_string())
}

fn slug(text: &str) -> String {
    let s: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    s.trim_matches('_').to_string()
}

fn existing(src: &mut dyn MediaSource, path: &str) -> Result<Option<String>, MediaError> {
    Ok(src.is_file(path)?.then(|| path.to_string()))
}

fn first_existing(src: &mut dyn MediaSource, paths: &[&str]) -> Result<Option<String>, MediaError> {
    for path in paths {
        if src.is_file(path)? {
            return Ok(Some(path.to_string()));
        }
    }
    Ok(None)
}
