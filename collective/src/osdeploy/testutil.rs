//! Helpers shared by the osdeploy tests: external tools (installed by
//! scripts/test, never downloaded here), synthetic trees and ISO images.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The path of a tool the tests need, or a failure naming the package.
pub fn require_tool(tool: &str, package: &str) -> PathBuf {
    for dir in ["/usr/bin", "/usr/sbin", "/bin", "/sbin", "/usr/local/bin"] {
        let path = Path::new(dir).join(tool);
        if path.is_file() {
            return path;
        }
    }
    panic!(
        "{tool} is missing: install the Debian package `{package}` (scripts/test does this in its set-up)"
    );
}

/// Writes `files` (relative path, bytes) under `root`, creating parents.
pub fn write_tree(root: &Path, files: &[(&str, &[u8])]) {
    for (rel, bytes) in files {
        let path = root.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, bytes).unwrap();
    }
}

/// Builds an ISO of `dir` with `xorriso -as mkisofs <args>`.
pub fn xorriso(dir: &Path, out: &Path, args: &[&str]) {
    let xorriso = require_tool("xorriso", "xorriso");
    let output = Command::new(xorriso)
        .args(["-as", "mkisofs", "-quiet"])
        .args(args)
        .arg("-o")
        .arg(out)
        .arg(dir)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "xorriso failed on {}: {}",
        dir.display(),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Deterministic pseudo-random bytes (xorshift), so big test files are not
/// all zeros and a misplaced extent cannot compare equal by accident.
pub fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// An error and all its sources, as the CLI prints them.
pub fn chain(err: &dyn std::error::Error) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

/// A hand-made ISO 9660 image: sectors 0-15 empty, 16 the primary volume
/// descriptor, 17 the terminator, 18 the root directory holding `records`,
/// then `data` sectors appended from 19 on. For shapes xorriso will not
/// produce cheaply (multi-extent files, cycles).
pub fn mini_iso(records: &[(&[u8], u8, u32, u32)], data: &[Vec<u8>]) -> Vec<u8> {
    const S: usize = 2048;
    let sectors = 19 + data.iter().map(|d| d.len().div_ceil(S)).sum::<usize>();
    let mut img = vec![0u8; sectors * S];
    let pvd = &mut img[16 * S..17 * S];
    pvd[0] = 1;
    pvd[1..6].copy_from_slice(b"CD001");
    pvd[6] = 1;
    pvd[40..72].copy_from_slice(&[b' '; 32]);
    pvd[40..44].copy_from_slice(b"MINI");
    both32(&mut pvd[80..88], sectors as u32);
    pvd[128..130].copy_from_slice(&2048u16.to_le_bytes());
    pvd[130..132].copy_from_slice(&2048u16.to_be_bytes());
    let root = dir_record(&[0], 0x02, 18, S as u32);
    pvd[156..156 + root.len()].copy_from_slice(&root);
    let term = &mut img[17 * S..18 * S];
    term[0] = 255;
    term[1..6].copy_from_slice(b"CD001");
    let mut dir = Vec::new();
    dir.extend(dir_record(&[0], 0x02, 18, S as u32));
    dir.extend(dir_record(&[1], 0x02, 18, S as u32));
    for (name, flags, lba, len) in records {
        dir.extend(dir_record(name, *flags, *lba, *len));
    }
    img[18 * S..18 * S + dir.len()].copy_from_slice(&dir);
    let mut at = 19 * S;
    for d in data {
        img[at..at + d.len()].copy_from_slice(d);
        at += d.len().div_ceil(S) * S;
    }
    img
}

fn both32(out: &mut [u8], v: u32) {
    out[0..4].copy_from_slice(&v.to_le_bytes());
    out[4..8].copy_from_slice(&v.to_be_bytes());
}

fn dir_record(name: &[u8], flags: u8, lba: u32, len: u32) -> Vec<u8> {
    let mut r = vec![0u8; 33 + name.len() + (1 - name.len() % 2)];
    r[0] = r.len() as u8;
    both32(&mut r[2..10], lba);
    both32(&mut r[10..18], len);
    r[25] = flags;
    r[28..30].copy_from_slice(&1u16.to_le_bytes());
    r[30..32].copy_from_slice(&1u16.to_be_bytes());
    r[32] = name.len() as u8;
    r[33..33 + name.len()].copy_from_slice(name);
    r
}
