//! The ISO reader against images built by xorriso from known trees, and
//! against hand-made and damaged images.

use std::collections::BTreeMap;
use std::io::{Cursor, Read};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::OnceLock;

use proptest::prelude::*;

use super::iso9660::{EntryKind, IsoImage, NameSource};
use super::testutil::{chain, mini_iso, noise, write_tree, xorriso};

const LONG_NAME_LEN: usize = 180;

/// A tree with what the reader must get right: a file spanning many
/// sectors, a directory deeper than ISO's eight levels, a symlink, a long
/// name, mixed case, an executable.
fn rich_tree(root: &Path) -> BTreeMap<String, Vec<u8>> {
    let long = format!("{}.txt", "l".repeat(LONG_NAME_LEN - 4));
    let deep = "d1/d2/d3/d4/d5/d6/d7/d8/d9/d10/d11/deep.txt".to_string();
    let files: Vec<(String, Vec<u8>)> = vec![
        ("README".into(), b"hello\n".to_vec()),
        ("Mixed-Case.File.txt".into(), b"case matters\n".to_vec()),
        (
            "images/pxeboot/vmlinuz".into(),
            noise(5 * 1024 * 1024 + 123, 7),
        ),
        ("images/empty".into(), Vec::new()),
        (deep, b"deep\n".to_vec()),
        (long, b"long\n".to_vec()),
        ("bin/run.sh".into(), b"#!/bin/sh\necho run\n".to_vec()),
    ];
    let refs: Vec<(&str, &[u8])> = files
        .iter()
        .map(|(p, b)| (p.as_str(), b.as_slice()))
        .collect();
    write_tree(root, &refs);
    std::fs::set_permissions(
        root.join("bin/run.sh"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    std::os::unix::fs::symlink("images/pxeboot/vmlinuz", root.join("vmlinuz-link")).unwrap();
    files.into_iter().collect()
}

fn read_all(image: &mut IsoImage<std::fs::File>) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    for entry in image.walk().unwrap() {
        if entry.kind == EntryKind::File {
            let mut bytes = Vec::new();
            // A small buffer: reads cross extent and sector boundaries.
            let mut reader = image.open_entry(&entry).unwrap();
            let mut buf = [0u8; 3000];
            loop {
                let n = reader.read(&mut buf).unwrap();
                if n == 0 {
                    break;
                }
                bytes.extend_from_slice(&buf[..n]);
            }
            assert_eq!(bytes.len() as u64, entry.size, "{}", entry.path);
            out.insert(entry.path, bytes);
        }
    }
    out
}

#[test]
fn rock_ridge_image_reads_back_every_file() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    let expected = rich_tree(&src);
    // With relocation, d9 and below move to rr_moved/ and come back
    // through Rock Ridge CL/RE entries.
    let relocated = tmp.path().join("relocated.iso");
    xorriso(&src, &relocated, &["-R", "-J", "-rr_reloc_dir", "rr_moved"]);
    let mut image = IsoImage::open(std::fs::File::open(&relocated).unwrap()).unwrap();
    assert_eq!(read_all(&mut image), expected);
    let dirs: Vec<String> = image.walk().unwrap().into_iter().map(|e| e.path).collect();
    assert!(dirs.iter().any(|p| p.ends_with("d9/d10/d11")), "{dirs:?}");
    assert!(!dirs.iter().any(|p| p.starts_with("rr_moved")), "{dirs:?}");
    let raw = std::fs::read(&relocated).unwrap();
    assert!(
        raw.windows(4).any(|w| w == b"CL\x0c\x01"),
        "xorriso relocated nothing"
    );

    let iso = tmp.path().join("rich.iso");
    xorriso(&src, &iso, &["-R", "-J"]);
    let mut image = IsoImage::open(std::fs::File::open(&iso).unwrap()).unwrap();
    assert_eq!(image.name_source(), NameSource::RockRidge);
    assert_eq!(read_all(&mut image), expected);

    let entries = image.walk().unwrap();
    let by_path: BTreeMap<_, _> = entries.iter().map(|e| (e.path.as_str(), e)).collect();
    let link = by_path["vmlinuz-link"];
    assert_eq!(link.kind, EntryKind::Symlink);
    assert_eq!(link.symlink.as_deref(), Some("images/pxeboot/vmlinuz"));
    assert_eq!(by_path["bin/run.sh"].mode.map(|m| m & 0o777), Some(0o755));
    assert_eq!(
        by_path["d1/d2/d3/d4/d5/d6/d7/d8/d9/d10/d11"].kind,
        EntryKind::Dir
    );
    assert!(by_path.keys().any(|p| p.len() == LONG_NAME_LEN));
    // Parents come before their contents.
    let pos = |p: &str| entries.iter().position(|e| e.path == p).unwrap();
    assert!(
        pos("images") < pos("images/pxeboot")
            && pos("images/pxeboot") < pos("images/pxeboot/vmlinuz")
    );
    // Lookup reads only the directories on the way.
    let found = image
        .lookup("d1/d2/d3/d4/d5/d6/d7/d8/d9/d10/d11/deep.txt")
        .unwrap()
        .unwrap();
    assert_eq!(image.read_small(&found, 100).unwrap(), b"deep\n");
    assert!(image.lookup("d1/nope").unwrap().is_none());
    assert!(image.lookup("README/below-a-file").unwrap().is_none());
}

#[test]
fn joliet_only_image_uses_joliet_names() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    write_tree(
        &src,
        &[
            ("Mixed-Case.File.txt", b"joliet keeps case\n"),
            (
                ".disk/info",
                b"Debian GNU/Linux 12.5.0 \"Bookworm\" - Official amd64 NETINST\n",
            ),
            ("a long directory name/with spaces.txt", b"spaces\n"),
        ],
    );
    let iso = tmp.path().join("joliet.iso");
    xorriso(&src, &iso, &["-J", "--norock"]);
    let mut image = IsoImage::open(std::fs::File::open(&iso).unwrap()).unwrap();
    assert_eq!(image.name_source(), NameSource::Joliet);
    let files = read_all(&mut image);
    assert_eq!(files["Mixed-Case.File.txt"], b"joliet keeps case\n");
    assert_eq!(files["a long directory name/with spaces.txt"], b"spaces\n");
    assert!(files[".disk/info"].starts_with(b"Debian"));
}

#[test]
fn plain_iso_names_are_unversioned_and_lowered() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    write_tree(
        &src,
        &[
            ("README.TXT", b"plain\n"),
            ("NOEXT", b"no extension\n"),
            ("SUB/FILE.DAT", b"sub\n"),
        ],
    );
    let iso = tmp.path().join("plain.iso");
    xorriso(&src, &iso, &["-iso-level", "1", "--norock"]);
    let mut image = IsoImage::open(std::fs::File::open(&iso).unwrap()).unwrap();
    assert_eq!(image.name_source(), NameSource::Plain);
    let files = read_all(&mut image);
    let names: Vec<&str> = files.keys().map(String::as_str).collect();
    assert_eq!(names, ["noext", "readme.txt", "sub/file.dat"]);
    assert_eq!(files["sub/file.dat"], b"sub\n");
}

#[test]
fn multi_extent_records_make_one_file() {
    // Three records of one name, the first two flagged "more extents follow":
    // how files over 4 GiB are stored, here with small extents.
    let parts = [noise(3000, 1), noise(2048, 2), noise(10, 3)];
    let img = mini_iso(
        &[
            (b"BIG.BIN;1", 0x80, 19, 3000),
            (b"BIG.BIN;1", 0x80, 21, 2048),
            (b"BIG.BIN;1", 0x00, 22, 10),
            (b"SMALL.TXT;1", 0, 23, 4),
        ],
        &[
            parts[0].clone(),
            parts[1].clone(),
            parts[2].clone(),
            b"tiny".to_vec(),
        ],
    );
    let mut image = IsoImage::open(Cursor::new(img)).unwrap();
    let entries = image.walk().unwrap();
    assert_eq!(entries.len(), 2);
    let big = &entries[0];
    assert_eq!(
        (big.path.as_str(), big.size, big.extents.len()),
        ("big.bin", 5058, 3)
    );
    let mut bytes = Vec::new();
    image
        .open_entry(big)
        .unwrap()
        .read_to_end(&mut bytes)
        .unwrap();
    assert_eq!(bytes, parts.concat());
    assert_eq!(image.read_small(&entries[1], 10).unwrap(), b"tiny");
    assert!(
        image.read_small(big, 100).is_err(),
        "read_small honours its limit"
    );
}

#[test]
fn damaged_images_give_errors_naming_the_problem() {
    let check = |img: Vec<u8>, want: &str| {
        let result = IsoImage::open(Cursor::new(img)).and_then(|mut i| i.walk());
        let err = result.expect_err(want);
        let text = chain(&err);
        assert!(text.contains(want), "{text:?} should contain {want:?}");
    };
    check(
        Vec::new(),
        "not an ISO 9660 image: no primary volume descriptor at sector 16",
    );
    check(
        noise(64 * 1024, 9),
        "not an ISO 9660 image: no primary volume descriptor at sector 16",
    );
    // A file whose extent lies past the end of the image.
    check(
        mini_iso(&[(b"F;1", 0, 500, 10)], &[]),
        "extends past the end of the image",
    );
    // A directory that lists the root again.
    check(mini_iso(&[(b"LOOP", 0x02, 18, 2048)], &[]), "a cycle");
    // A record claiming more name than it holds.
    let mut img = mini_iso(&[(b"F;1", 0, 19, 1)], &[b"x".to_vec()]);
    img[18 * 2048 + 68 + 32] = 200;
    check(img, "malformed record");
    // A multi-extent file without its last extent.
    check(
        mini_iso(&[(b"F;1", 0x80, 19, 1)], &[b"x".to_vec()]),
        "has no final extent",
    );
    // Names that would climb out of the distribution directory.
    check(
        mini_iso(&[(b"..", 0, 19, 1)], &[b"x".to_vec()]),
        "unsafe name",
    );
}

#[test]
fn truncated_images_error_and_never_panic() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    rich_tree(&src);
    let iso = tmp.path().join("rich.iso");
    xorriso(&src, &iso, &["-R", "-J"]);
    let full = std::fs::read(&iso).unwrap();
    // The last byte any file needs (xorriso pads images, so not the length).
    let mut image = IsoImage::open(Cursor::new(full.clone())).unwrap();
    let data_end = image
        .walk()
        .unwrap()
        .iter()
        .flat_map(|e| e.extents.iter().map(|x| x.start + x.len))
        .max()
        .unwrap();
    let mut errors = 0;
    for cut in [
        0,
        100,
        16 * 2048 + 10,
        17 * 2048,
        20 * 2048,
        40 * 2048,
        full.len() / 2,
        data_end as usize - 1,
    ] {
        let result = IsoImage::open(Cursor::new(full[..cut].to_vec())).and_then(|mut i| {
            for e in i.walk()? {
                if e.kind == EntryKind::File {
                    i.read_small(&e, u64::MAX)?;
                }
            }
            Ok(())
        });
        if result.is_err() {
            errors += 1;
        }
    }
    assert_eq!(errors, 8, "every truncation is noticed");
}

fn base_image() -> &'static [u8] {
    static IMAGE: OnceLock<Vec<u8>> = OnceLock::new();
    IMAGE.get_or_init(|| {
        let tmp = tempfile::tempdir().unwrap();
        let src = tmp.path().join("src");
        write_tree(
            &src,
            &[
                ("a/b/c/d/e/f/g/h/i/j/deep", b"deep"),
                (".treeinfo", b"[general]\nfamily = Rocky Linux\n"),
                ("x", &noise(5000, 4)),
            ],
        );
        std::os::unix::fs::symlink("../x", src.join("a/link")).unwrap();
        let iso = tmp.path().join("base.iso");
        xorriso(&src, &iso, &["-R", "-J"]);
        std::fs::read(&iso).unwrap()
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]
    /// Random bytes written over the descriptors and directories: whatever
    /// comes back, it is not a panic and not an endless loop.
    #[test]
    fn mutated_images_never_panic(
        edits in proptest::collection::vec((16usize * 2048..40 * 2048, any::<u8>()), 1..40),
        cut in proptest::option::of(0usize..60 * 2048),
    ) {
        let mut img = base_image().to_vec();
        for (at, byte) in edits {
            if at < img.len() {
                img[at] = byte;
            }
        }
        if let Some(cut) = cut {
            img.truncate(cut);
        }
        if let Ok(mut image) = IsoImage::open(Cursor::new(img)) {
            let _ = image.lookup(".treeinfo");
            if let Ok(entries) = image.walk() {
                for e in entries.iter().filter(|e| e.kind == EntryKind::File) {
                    let _ = image.read_small(e, 1 << 20);
                }
            }
        }
    }
}
