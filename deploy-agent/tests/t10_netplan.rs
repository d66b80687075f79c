//! The netplan file, parsed by netplan itself (`netplan generate
//! --root-dir`, Debian package netplan.io), and the systemd-networkd
//! units it generates checked for our addresses.

// Test code, helpers included: a panic is a failed test. clippy.toml's
// allow-unwrap-in-tests covers only the #[test] functions themselves.
#![allow(clippy::unwrap_used)]

mod common;

use std::fs;
use std::path::Path;
use std::process::Command;

use cohort_agent::network::Format;

fn generate(root: &Path) -> std::process::Output {
    Command::new("netplan")
        .arg("generate")
        .arg("--root-dir")
        .arg(root)
        .output()
        .unwrap()
}

#[test]
fn netplan_generates_our_configuration() {
    common::require_tool("netplan", "netplan.io");
    let root = tempfile::tempdir().unwrap();
    fs::create_dir_all(root.path().join("etc/netplan")).unwrap();
    let files = common::netcfg::write(root.path(), Format::Netplan);
    assert_eq!(files, [root.path().join("etc/netplan/90-cohort.yaml")]);

    let out = generate(root.path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "netplan generate failed: {stderr}");
    // netplan warns, and carries on, about files others can read.
    assert!(!stderr.contains("too open"), "{stderr}");

    let net = root.path().join("run/systemd/network");
    let eno1 = fs::read_to_string(net.join("10-netplan-eno1.network")).unwrap();
    for line in [
        "PermanentMACAddress=aa:bb:cc:dd:ee:01",
        "Name=eno1",
        "Address=10.1.0.5/16",
        "Address=fd00::5/64",
        "Gateway=10.1.0.1",
        "Gateway=fd00::1",
        "DNS=10.1.0.2",
        "DNS=fd00::2",
        "Domains=example.com",
        "MTUBytes=9000",
    ] {
        assert!(
            eno1.lines().any(|l| l == line),
            "{line} missing in:\n{eno1}"
        );
    }
    let eth1 = fs::read_to_string(net.join("10-netplan-eth1.network")).unwrap();
    assert!(eth1.contains("DHCP=yes"), "{eth1}");
    let ib0 = fs::read_to_string(net.join("10-netplan-ib0.network")).unwrap();
    assert!(ib0.contains("Address=192.168.7.5/24"), "{ib0}");
}

/// The check above means something only if netplan rejects a broken file.
#[test]
fn netplan_rejects_a_broken_file() {
    common::require_tool("netplan", "netplan.io");
    let root = tempfile::tempdir().unwrap();
    fs::create_dir_all(root.path().join("etc/netplan")).unwrap();
    common::netcfg::write(root.path(), Format::Netplan);
    let path = root.path().join("etc/netplan/90-cohort.yaml");
    let text = fs::read_to_string(&path)
        .unwrap()
        .replace("10.1.0.5/16", "10.1.0.500/16");
    fs::write(&path, text).unwrap();
    assert!(!generate(root.path()).status.success());
}
