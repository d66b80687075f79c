//! Who is this node: the identifiers `whoami` matches against
//! `net.*.hwaddr` and `id.uuid`.
//!
//! From the command line when given (an installer that knows better, a
//! test), else from the running kernel's view of the hardware: every
//! Ethernet-sized MAC under `/sys/class/net` except loopback and all-zero
//! ones (virtual devices without hardware), and the SMBIOS product UUID
//! when readable (root only). Sending every MAC lets the member match
//! whichever NIC the admin recorded.

use std::fs;
use std::path::Path;

use cohort_api::nodeapi;

use crate::names::{self, BadName};

/// The node's identifiers, MACs lower case with colons.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ids {
    pub macs: Vec<String>,
    pub uuid: Option<String>,
}

impl Ids {
    /// From `--mac`/`--uuid`; `None` when neither was given.
    pub fn from_args(mac: Option<&str>, uuid: Option<&str>) -> Result<Option<Self>, BadName> {
        if mac.is_none() && uuid.is_none() {
            return Ok(None);
        }
        let macs = mac
            .map(|m| names::mac("--mac", m))
            .transpose()?
            .into_iter()
            .collect();
        let uuid = uuid.map(|u| u.trim().to_ascii_lowercase());
        if let Some(u) = &uuid {
            let ok = !u.is_empty() && u.chars().all(|c| c.is_ascii_hexdigit() || c == '-');
            if !ok {
                return Err(BadName {
                    what: "--uuid".to_owned(),
                    value: u.clone(),
                    why: "expected hex digits and '-'",
                });
            }
        }
        Ok(Some(Ids { macs, uuid }))
    }

    /// Read from a sysfs tree (`/sys` on a live system).
    pub fn from_sysfs(sys: &Path) -> Self {
        let mut macs = Vec::new();
        if let Ok(entries) = fs::read_dir(sys.join("class/net")) {
            for entry in entries.flatten() {
                if entry.file_name() == "lo" {
                    continue;
                }
                let Ok(text) = fs::read_to_string(entry.path().join("address")) else {
                    continue;
                };
                // Only 6-byte addresses: InfiniBand's 20-byte ones are not
                // what net.*.hwaddr records.
                if let Ok(mac) = names::mac("address", text.trim())
                    && mac != "00:00:00:00:00:00"
                    && !macs.contains(&mac)
                {
                    macs.push(mac);
                }
            }
        }
        macs.sort();
        let uuid = fs::read_to_string(sys.join("class/dmi/id/product_uuid"))
            .ok()
            .map(|u| u.trim().to_ascii_lowercase())
            .filter(|u| !u.is_empty());
        Ids { macs, uuid }
    }

    pub fn is_empty(&self) -> bool {
        self.macs.is_empty() && self.uuid.is_none()
    }

    /// The `cohort-ids` header value.
    pub fn header(&self) -> String {
        nodeapi::format_ids(&self.macs, self.uuid.as_deref())
    }
}

/// The OS name of the interface with this MAC, from a sysfs tree.
pub fn ifname_by_mac(sys: &Path, mac: &str) -> Option<String> {
    let entries = fs::read_dir(sys.join("class/net")).ok()?;
    let mut found: Vec<String> = entries
        .flatten()
        .filter(|e| {
            fs::read_to_string(e.path().join("address"))
                .is_ok_and(|a| a.trim().eq_ignore_ascii_case(mac))
        })
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    // A bond or VLAN shares its parent's MAC; the shortest name is the
    // physical one in the usual naming schemes (eno1 vs eno1.100).
    found.sort_by_key(|n| (n.len(), n.clone()));
    found.into_iter().next()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fake_sys(ifaces: &[(&str, &str)], uuid: Option<&str>) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (name, addr) in ifaces {
            let d = dir.path().join("class/net").join(name);
            fs::create_dir_all(&d).unwrap();
            fs::write(d.join("address"), format!("{addr}\n")).unwrap();
        }
        if let Some(u) = uuid {
            let d = dir.path().join("class/dmi/id");
            fs::create_dir_all(&d).unwrap();
            fs::write(d.join("product_uuid"), format!("{u}\n")).unwrap();
        }
        dir
    }

    #[test]
    fn sysfs_ids_skip_loopback_and_zero() {
        let sys = fake_sys(
            &[
                ("lo", "00:00:00:00:00:00"),
                ("eth1", "AA:BB:CC:DD:EE:02"),
                ("eth0", "aa:bb:cc:dd:ee:01"),
                ("dummy0", "00:00:00:00:00:00"),
            ],
            Some("ABCD-12"),
        );
        let ids = Ids::from_sysfs(sys.path());
        assert_eq!(ids.macs, ["aa:bb:cc:dd:ee:01", "aa:bb:cc:dd:ee:02"]);
        assert_eq!(
            ids.header(),
            "mac=aa:bb:cc:dd:ee:01/mac=aa:bb:cc:dd:ee:02/uuid=abcd-12"
        );
        assert_eq!(
            ifname_by_mac(sys.path(), "aa:bb:cc:dd:ee:02").as_deref(),
            Some("eth1")
        );
        assert!(Ids::from_sysfs(Path::new("/nonexistent")).is_empty());
    }

    #[test]
    fn args_are_checked() {
        assert_eq!(Ids::from_args(None, None).unwrap(), None);
        let ids = Ids::from_args(Some("AA-BB-CC-DD-EE-FF"), None)
            .unwrap()
            .unwrap();
        assert_eq!(ids.header(), "mac=aa:bb:cc:dd:ee:ff");
        assert!(Ids::from_args(Some("nope"), None).is_err());
        assert!(Ids::from_args(None, Some("x/y")).is_err());
    }
}
