//! Media detection on synthetic media carrying each family's real marker
//! files, as ISO images (built by xorriso) and as directories.

use std::io::Read;
use std::path::Path;

use super::iso9660::IsoImage;
use super::media::{self, DirSource, Family, MARKERS, MediaInfo};
use super::testutil::{chain, noise, write_tree, xorriso};
use super::{CopyKind, plan_import};

fn treeinfo(name: &str, short: &str, version: &str, arch: &str) -> String {
    format!(
        "[header]\ntype = productmd.treeinfo\nversion = 1.2\n\n\
         [release]\nname = {name}\nshort = {short}\nversion = {version}\n\n\
         [tree]\narch = {arch}\nbuild_timestamp = 1715000000\nplatforms = {arch}\nvariants = BaseOS,AppStream\n\n\
         [general]\n; compatibility section for pre-productmd tools\narch = {arch}\nfamily = {name}\n\
         name = {name} {version}\nversion = {version}\npackagedir = Packages\n\n\
         [images-{arch}]\nkernel = images/pxeboot/vmlinuz\ninitrd = images/pxeboot/initrd.img\n\n\
         [stage2]\nmainimage = images/install.img\n"
    )
}

/// One case: the files of the media and what must be detected.
struct Case {
    files: Vec<(&'static str, Vec<u8>)>,
    family: Family,
    name: &'static str,
    kernel: &'static str,
}

fn el(name: &str, short: &str, version: &str, arch: &str, expect: &'static str) -> Case {
    Case {
        files: vec![
            (
                ".treeinfo",
                treeinfo(name, short, version, arch).into_bytes(),
            ),
            (
                ".discinfo",
                format!("1715000000.0\n{version}\n{arch}\nALL\n").into_bytes(),
            ),
            ("images/pxeboot/vmlinuz", noise(4000, 1)),
            ("images/pxeboot/initrd.img", noise(9000, 2)),
            ("BaseOS/repodata/repomd.xml", b"<repomd/>\n".to_vec()),
        ],
        family: Family::El,
        name: expect,
        kernel: "images/pxeboot/vmlinuz",
    }
}

fn cases() -> Vec<Case> {
    vec![
        el("Rocky Linux", "Rocky", "9.4", "x86_64", "rocky-9.4-x86_64"),
        el("AlmaLinux", "AlmaLinux", "9.4", "aarch64", "alma-9.4-aarch64"),
        el("CentOS Stream", "CentOS-Stream", "9", "x86_64", "centos-stream-9-x86_64"),
        el("Fedora", "Fedora", "40", "x86_64", "fedora-40-x86_64"),
        el("Red Hat Enterprise Linux", "RHEL", "9.4", "x86_64", "rhel-9.4-x86_64"),
        Case {
            files: vec![
                (".disk/info", b"Debian GNU/Linux 12.5.0 \"Bookworm\" - Official amd64 NETINST with firmware 20240210-11:27".to_vec()),
                ("dists/bookworm/Release", b"Origin: Debian\nSuite: stable\nCodename: bookworm\n".to_vec()),
                ("install.amd/vmlinuz", noise(3000, 3)),
                ("install.amd/initrd.gz", noise(5000, 4)),
            ],
            family: Family::Debian,
            name: "debian-12.5.0-x86_64",
            kernel: "install.amd/vmlinuz",
        },
        Case {
            files: vec![
                (".disk/info", b"Ubuntu-Server 24.04 LTS \"Noble Numbat\" - Release amd64 (20240423)".to_vec()),
                ("casper/vmlinuz", noise(3000, 5)),
                ("casper/initrd", noise(6000, 6)),
                ("dists/noble/Release", b"Origin: Ubuntu\nCodename: noble\n".to_vec()),
            ],
            family: Family::Ubuntu,
            name: "ubuntu-24.04-x86_64",
            kernel: "casper/vmlinuz",
        },
        Case {
            files: vec![
                ("media.1/products", b"/Module-Basesystem sle-module-basesystem 15.5-0\n/Product-SLES SLES 15.5-0\n".to_vec()),
                ("media.1/media", b"SUSE - SUSE Linux Enterprise Server 15 SP5\n20230519000000\n1\n".to_vec()),
                ("boot/x86_64/loader/linux", noise(3000, 7)),
                ("boot/x86_64/loader/initrd", noise(4000, 8)),
            ],
            family: Family::Suse,
            name: "sles-15.5-x86_64",
            kernel: "boot/x86_64/loader/linux",
        },
        Case {
            files: vec![
                ("media.1/products", b"/ openSUSE 15.5-0\n".to_vec()),
                ("boot/x86_64/loader/linux", noise(3000, 9)),
                ("boot/x86_64/loader/initrd", noise(4000, 10)),
            ],
            family: Family::Suse,
            name: "opensuse_leap-15.5-x86_64",
            kernel: "boot/x86_64/loader/linux",
        },
        Case {
            // SLE 15 SP6 trees also carry a .treeinfo; it must not read as EL.
            files: vec![
                (".treeinfo", treeinfo("SUSE Linux Enterprise Server", "SLES", "15.6", "x86_64").into_bytes()),
                ("boot/x86_64/loader/linux", noise(3000, 11)),
                ("boot/x86_64/loader/initrd", noise(4000, 12)),
            ],
            family: Family::Suse,
            name: "sles-15.6-x86_64",
            kernel: "boot/x86_64/loader/linux",
        },
    ]
}

fn make_dir(root: &Path, files: &[(&str, Vec<u8>)]) {
    let refs: Vec<(&str, &[u8])> = files.iter().map(|(p, b)| (*p, b.as_slice())).collect();
    write_tree(root, &refs);
}

fn detect_iso(iso: &Path) -> Result<MediaInfo, media::MediaError> {
    let mut image = IsoImage::open(std::fs::File::open(iso).unwrap())?;
    media::detect(&mut image)
}

#[test]
fn every_family_is_detected_from_iso_and_directory() {
    let tmp = tempfile::tempdir().unwrap();
    for (i, case) in cases().into_iter().enumerate() {
        let dir = tmp.path().join(format!("media{i}"));
        make_dir(&dir, &case.files);
        let iso = tmp.path().join(format!("media{i}.iso"));
        xorriso(&dir, &iso, &["-R", "-J"]);
        let from_iso = detect_iso(&iso).unwrap_or_else(|e| panic!("{}: {}", case.name, chain(&e)));
        let from_dir = media::detect(&mut DirSource::new(&dir)).unwrap();
        assert_eq!(from_iso, from_dir, "{}", case.name);
        assert_eq!(from_iso.family, case.family, "{}", case.name);
        assert_eq!(from_iso.suggested_name(), case.name);
        assert_eq!(
            from_iso.kernel.as_deref(),
            Some(case.kernel),
            "{}",
            case.name
        );
        assert!(from_iso.initramfs.is_some(), "{}", case.name);
    }
}

#[test]
fn older_markers_are_fallbacks() {
    let tmp = tempfile::tempdir().unwrap();
    let check = |files: Vec<(&str, Vec<u8>)>, name: &str, family: Family| {
        let dir = tempfile::tempdir_in(tmp.path()).unwrap();
        make_dir(dir.path(), &files);
        let info = media::detect(&mut DirSource::new(dir.path())).unwrap();
        assert_eq!(
            (info.suggested_name().as_str(), info.family),
            (name, family)
        );
    };
    // Pre-productmd .treeinfo: [general] only.
    check(
        vec![(
            ".treeinfo",
            b"[general]\nfamily = Red Hat Enterprise Linux\nversion = 7.9\narch = x86_64\n"
                .to_vec(),
        )],
        "rhel-7.9-x86_64",
        Family::El,
    );
    check(
        vec![(
            ".discinfo",
            b"1600000000.1\nRocky Linux 8.10\nx86_64\nALL\n".to_vec(),
        )],
        "rocky-8.10-x86_64",
        Family::El,
    );
    check(
        vec![(".discinfo", b"1600000000.1\n40\nx86_64\n".to_vec())],
        "el-40-x86_64",
        Family::El,
    );
    check(
        vec![("content", b"PRODUCT SUSE_SLES\nVERSION 12.5\nBASEARCHS x86_64\nLABEL SUSE Linux Enterprise Server 12 SP5\n".to_vec())],
        "sles-12.5-x86_64",
        Family::Suse,
    );
}

#[test]
fn unknown_media_error_names_every_marker() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("src");
    write_tree(
        &dir,
        &[
            ("README.txt", b"just some files\n"),
            ("EFI/BOOT/BOOTX64.EFI", b"MZ"),
        ],
    );
    let iso = tmp.path().join("unknown.iso");
    xorriso(&dir, &iso, &["-R", "-J"]);
    let err = plan_import(&iso, None).unwrap_err();
    let text = chain(&err);
    assert!(
        text.contains("is not recognised installation media"),
        "{text}"
    );
    for marker in MARKERS {
        assert!(text.contains(marker), "{text:?} should name {marker}");
    }
    for must in [
        ".treeinfo",
        ".discinfo",
        ".disk/info",
        "media.1/products",
        "media.1/media",
        "content",
    ] {
        assert!(text.contains(must), "{text:?} should name {must}");
    }
}

#[test]
fn half_markers_are_refused_with_the_reason() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("debian-without-dists");
    write_tree(
        &dir,
        &[(
            ".disk/info",
            b"Debian GNU/Linux 12.5.0 \"Bookworm\" - Official amd64 NETINST",
        )],
    );
    let err = media::detect(&mut DirSource::new(&dir)).unwrap_err();
    assert!(
        chain(&err).contains("names debian but the media has no dists/ directory"),
        "{}",
        chain(&err)
    );

    let dir = tmp.path().join("treeinfo-without-version");
    write_tree(
        &dir,
        &[(
            ".treeinfo",
            b"[release]\nname = Rocky Linux\n[tree]\narch = x86_64\n",
        )],
    );
    let err = media::detect(&mut DirSource::new(&dir)).unwrap_err();
    assert!(
        chain(&err).contains(".treeinfo is not usable: no [release] version"),
        "{}",
        chain(&err)
    );

    // Recognised media without an installer kernel: no profile can boot it.
    let dir = tmp.path().join("no-kernel");
    write_tree(
        &dir,
        &[(
            ".treeinfo",
            treeinfo("Rocky Linux", "Rocky", "9.4", "x86_64").as_bytes(),
        )],
    );
    let err = plan_import(&dir, None).unwrap_err();
    assert!(
        chain(&err).contains("has no installer kernel (looked for images/pxeboot/vmlinuz"),
        "{}",
        chain(&err)
    );
}

#[test]
fn import_plan_copies_every_file_and_creates_the_default_profile() {
    let tmp = tempfile::tempdir().unwrap();
    let case = cases().into_iter().next().unwrap();
    let dir = tmp.path().join("rocky");
    make_dir(&dir, &case.files);
    std::os::unix::fs::symlink(".", dir.join("rocky")).unwrap();
    let iso = tmp.path().join("rocky.iso");
    xorriso(&dir, &iso, &["-R", "-J"]);

    for source in [iso.as_path(), dir.as_path()] {
        let plan = plan_import(source, None).unwrap();
        assert_eq!(plan.distribution.as_deref(), Some("rocky-9.4-x86_64"));
        let base = "public/distributions/rocky-9.4-x86_64/";
        let mut files = 0;
        for item in &plan.copies {
            let rel = item.dest.strip_prefix(base).unwrap();
            match &item.kind {
                CopyKind::File { size } => {
                    let expected = std::fs::read(dir.join(rel)).unwrap();
                    let mut got = Vec::new();
                    item.open().unwrap().read_to_end(&mut got).unwrap();
                    assert_eq!((got.len() as u64, &got), (*size, &expected), "{rel}");
                    files += 1;
                }
                CopyKind::Dir => assert!(dir.join(rel).is_dir(), "{rel}"),
                CopyKind::Symlink { target } => assert_eq!((rel, target.as_str()), ("rocky", ".")),
            }
        }
        assert_eq!(files, case.files.len());
        let total: u64 = case.files.iter().map(|(_, b)| b.len() as u64).sum();
        assert_eq!(plan.total_bytes(), total);

        let profile = &plan.profiles[0];
        assert_eq!(profile.name, "rocky-9.4-x86_64-default");
        assert_eq!(
            profile.config.kernel,
            format!("{base}images/pxeboot/vmlinuz")
        );
        assert_eq!(
            profile.config.initramfs,
            [format!("{base}images/pxeboot/initrd.img")]
        );
        assert_eq!(profile.config.label, "Rocky Linux 9.4 x86_64 (default)");
        assert!(
            profile
                .config
                .kernelargs
                .contains("inst.repo={deployer}/public/distributions/rocky-9.4-x86_64")
        );
        let names: Vec<&str> = profile.files.keys().map(String::as_str).collect();
        assert_eq!(
            names,
            [
                "public/os/rocky-9.4-x86_64-default/kickstart",
                "public/os/rocky-9.4-x86_64-default/profile.yaml",
                "public/os/rocky-9.4-x86_64-default/scripts/cohort-agent.sh",
            ]
        );
        let kickstart = String::from_utf8(profile.files[names[0]].clone()).unwrap();
        assert!(kickstart.contains("rocky-9.4-x86_64-default (Rocky Linux 9.4 x86_64)"));
        assert!(!kickstart.contains("%%"), "every placeholder is replaced");
    }
    let named = plan_import(&iso, Some("rocky9")).unwrap();
    assert_eq!(named.profiles[0].name, "rocky9-default");
    assert!(
        named
            .copies
            .iter()
            .all(|c| c.dest.starts_with("public/distributions/rocky9/"))
    );
    let err = plan_import(&iso, Some("../escape")).unwrap_err();
    assert!(
        chain(&err).contains("profile name \"../escape\" is not usable"),
        "{}",
        chain(&err)
    );
}
