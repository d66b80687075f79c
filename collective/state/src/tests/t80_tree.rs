//! The synchronized tree's manifest: puts are all or nothing, paths stay
//! inside their half of the tree, files and directories never collide.

use super::*;

fn file(byte: u8) -> TreeEntry {
    TreeEntry::File {
        sha256: [byte; 32],
        size: u64::from(byte),
        mode: 0o644,
    }
}

fn link(target: &str) -> TreeEntry {
    TreeEntry::Symlink {
        target: target.to_owned(),
    }
}

fn put(entries: &[(&str, TreeEntry)]) -> Command {
    Command::TreePut {
        entries: entries
            .iter()
            .map(|(p, e)| ((*p).to_owned(), e.clone()))
            .collect(),
    }
}

fn rm(path: &str) -> Command {
    Command::TreeRemove {
        path: path.to_owned(),
    }
}

use crate::ErrorCode::{FailedPrecondition as Pre, InvalidArgument as Bad, NotFound};

#[test]
fn puts_replace_and_removes_take_files_or_directories() {
    let s = check(&[
        (
            put(&[
                ("public/os/a/boot.ipxe", file(1)),
                ("public/os/a/vmlinuz", file(2)),
                ("private/os/a/ks.cfg", file(3)),
            ]),
            Changed(3),
        ),
        // Same path, new content: replaced.
        (put(&[("public/os/a/boot.ipxe", file(4))]), Changed(1)),
        (put(&[("public/os/current", link("a/boot.ipxe"))]), Done),
        (rm("public/os/a/vmlinuz"), Changed(1)),
        (rm("public/os/a"), Changed(1)),
        (rm("public/os/a"), Refused(NotFound, "not in the tree")),
    ]);
    let paths: Vec<&str> = s.tree().keys().map(String::as_str).collect();
    assert_eq!(paths, ["private/os/a/ks.cfg", "public/os/current"]);
}

#[test]
fn bad_paths_are_refused_and_change_nothing() {
    for (path, why) in [
        ("/public/x", "is absolute"),
        ("etc/passwd", "outside public/ and private/"),
        ("public", "names the top directory"),
        ("public/../private/x", "\"..\" component"),
        ("public/./x", "\".\" component"),
        ("public//x", "empty component"),
        ("public/x/", "empty component"),
        ("public/a\\b", "backslash"),
        ("public/a\0b", "NUL"),
    ] {
        check(&[
            (put(&[("public/ok", file(1))]), Changed(1)),
            (
                put(&[("public/ok2", file(1)), (path, file(2))]),
                Refused(Bad, why),
            ),
            (rm(path), Refused(Bad, why)),
        ]);
    }
    let long = format!("public/{}", "x".repeat(256));
    check(&[(
        put(&[(long.as_str(), file(1))]),
        Refused(Bad, "longer than 255"),
    )]);
}

#[test]
fn symlinks_stay_inside_their_half() {
    check(&[
        (put(&[("public/a/l", link("../b/f"))]), Done),
        (
            put(&[("public/a/l", link("/etc/passwd"))]),
            Refused(Bad, "points outside public/"),
        ),
        (
            put(&[("public/a/l", link("../../private/k"))]),
            Refused(Bad, "points outside"),
        ),
        (
            put(&[("public/l", link(".."))]),
            Refused(Bad, "points outside"),
        ),
        (
            put(&[("private/l", link(""))]),
            Refused(Bad, "points outside private/"),
        ),
    ]);
}

#[test]
fn files_and_directories_do_not_collide() {
    check(&[
        (put(&[("public/a/b", file(1))]), Changed(1)),
        (
            put(&[("public/a", file(2))]),
            Refused(Pre, "public/a is a directory"),
        ),
        (
            put(&[("public/a/b/c", file(2))]),
            Refused(Pre, "public/a/b is a file"),
        ),
        // Within one put as well.
        (
            put(&[("public/x", file(1)), ("public/x/y", file(2))]),
            Refused(Pre, "public/x"),
        ),
        (
            put(&[("public/d", file(1)), ("public/d", file(2))]),
            Refused(Bad, "named twice"),
        ),
        (put(&[]), Refused(Bad, "names no files")),
    ]);
}

#[test]
fn modes_beyond_permission_bits_are_refused() {
    let setuid = TreeEntry::File {
        sha256: [1; 32],
        size: 1,
        mode: 0o4755,
    };
    check(&[(
        put(&[("public/su", setuid)]),
        Refused(Bad, "beyond rwxrwxrwx"),
    )]);
}

/// The sync task keeps the manifest it last saw and compares pointers:
/// other writes must leave the pointer alone, tree writes must change it,
/// and the copy held must keep what it held.
#[test]
fn the_shared_manifest_changes_pointer_only_with_the_tree() {
    let mut s = check(&[(put(&[("public/a", file(1))]), Changed(1))]);
    let held = s.tree_shared();
    let s2 = check_at(&mut s, &[(T0, define("n[1-3]", &[]), Changed(3))]);
    assert!(
        std::sync::Arc::ptr_eq(&held, &s2.tree_shared()),
        "a node write moved the manifest"
    );
    let mut s3 = s2.clone();
    let s4 = check_at(&mut s3, &[(T0, put(&[("public/b", file(2))]), Changed(1))]);
    assert!(!std::sync::Arc::ptr_eq(&held, &s4.tree_shared()));
    assert_eq!(held.len(), 1, "the held copy changed under its holder");
    assert_eq!(s4.tree().len(), 2);
    let s5 = check_at(&mut s3, &[(T0, rm("public/a"), Changed(1))]);
    assert_eq!(s5.tree().keys().collect::<Vec<_>>(), ["public/b"]);
    assert_eq!(held.len(), 1);
}
