//! Helpers shared by the integration tests.

#![allow(dead_code)]

pub mod fake_member;
pub mod netcfg;

use std::process::Command;

/// Fails the test (never skips it) when a tool is missing, naming the
/// Debian package that provides it: a test that passes without running
/// its parser would hide a broken file.
pub fn require_tool(tool: &str, package: &str) {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        found,
        "{tool} not found: install the Debian package {package} (apt-get install -y {package})"
    );
}
