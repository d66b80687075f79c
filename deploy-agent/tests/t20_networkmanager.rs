//! NetworkManager keyfiles, read by NetworkManager's own keyfile parser.
//!
//! Debian 12's network-manager (1.42) has no "check this file" command,
//! but `nmcli --offline connection modify` (1.40+) reads a keyfile from
//! standard input with libnm's keyfile reader, verifies and normalises the
//! connection, and prints it back, all without a daemon. Modifying a
//! property we set ourselves (autoconnect=yes) leaves the rest as parsed,
//! so the output shows what NetworkManager understood.

// Test code, helpers included: a panic is a failed test. clippy.toml's
// allow-unwrap-in-tests covers only the #[test] functions themselves.
#![allow(clippy::unwrap_used)]

mod common;

use std::fs;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use cohort_agent::network::Format;

/// NetworkManager's reading of a keyfile, or its error.
fn nm_read(keyfile: &str) -> Result<String, String> {
    let mut child = Command::new("nmcli")
        .args([
            "--offline",
            "connection",
            "modify",
            "connection.autoconnect",
            "yes",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(keyfile.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    if out.status.success() && !stderr.contains("warning") {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(stderr)
    }
}

fn check(root: &Path, ifname: &str, lines: &[&str]) {
    let rel = format!("etc/NetworkManager/system-connections/{ifname}.nmconnection");
    let path = root.join(&rel);
    let mode = fs::metadata(&path).unwrap().permissions();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777,
        0o600,
        "{rel}"
    );
    let parsed = nm_read(&fs::read_to_string(&path).unwrap())
        .unwrap_or_else(|e| panic!("NetworkManager refused {rel}: {e}"));
    for line in lines {
        assert!(
            parsed.lines().any(|l| l == *line),
            "{line} missing in NM's reading of {rel}:\n{parsed}"
        );
    }
}

#[test]
fn networkmanager_reads_our_keyfiles() {
    common::require_tool("nmcli", "network-manager");
    let root = tempfile::tempdir().unwrap();
    fs::create_dir_all(root.path().join("etc/NetworkManager")).unwrap();
    let files = common::netcfg::write(root.path(), Format::NetworkManager);
    assert_eq!(files.len(), 3);
    check(
        root.path(),
        "eno1",
        &[
            "interface-name=eno1",
            "mac-address=AA:BB:CC:DD:EE:01",
            "mtu=9000",
            "address1=10.1.0.5/16,10.1.0.1",
            "address1=fd00::5/64,fd00::1",
            "dns=10.1.0.2;",
            "dns=fd00::2;",
            "dns-search=example.com;",
        ],
    );
    check(
        root.path(),
        "eth1",
        &["mac-address=AA:BB:CC:DD:EE:02", "method=auto"],
    );
    check(
        root.path(),
        "ib0",
        &["address1=192.168.7.5/24", "method=disabled"],
    );
}

/// The check above means something only if nmcli refuses a broken file.
#[test]
fn networkmanager_rejects_a_broken_keyfile() {
    common::require_tool("nmcli", "network-manager");
    let root = tempfile::tempdir().unwrap();
    fs::create_dir_all(root.path().join("etc/NetworkManager")).unwrap();
    common::netcfg::write(root.path(), Format::NetworkManager);
    let path = root
        .path()
        .join("etc/NetworkManager/system-connections/eno1.nmconnection");
    let text = fs::read_to_string(&path).unwrap();
    assert!(nm_read(&text).is_ok());
    assert!(nm_read(&text.replace("10.1.0.5/16", "10.1.0.500/16")).is_err());
    assert!(nm_read(&text.replace("type=ethernet", "type=nonsense")).is_err());
}
