//! ifupdown (Debian without NetworkManager or netplan):
//! `etc/network/interfaces.d/cohort`, one `auto` line and an `inet` and/or
//! `inet6` stanza per interface, addresses in CIDR form (ifupdown 0.8+).
//!
//! The main `etc/network/interfaces` must `source` the directory; Debian's
//! does, a minimal image may not, so the line is added when missing.
//! `dns-*` options only take effect with the resolvconf package; the agent
//! writes `etc/resolv.conf` as well.

use std::fmt::Write as _;

use super::{Dns, Family, NetIface};

/// The line that makes ifupdown read our file.
pub const SOURCE_LINE: &str = "source /etc/network/interfaces.d/*";

pub fn render(ifaces: &[NetIface], dns: &Dns) -> String {
    let mut out = String::from(
        "# Written by cohort-agent from the node's deploy configuration; rewritten on every deploy.\n",
    );
    for iface in ifaces {
        // `let _ =`: writing to a String cannot fail.
        let _ = write!(out, "\nauto {}\n", iface.name);
        let mut dns_done = false;
        stanza(&mut out, iface, "inet", &iface.v4, dns, &mut dns_done);
        stanza(&mut out, iface, "inet6", &iface.v6, dns, &mut dns_done);
    }
    out
}

fn stanza<A: std::fmt::Display>(
    out: &mut String,
    iface: &NetIface,
    kind: &str,
    family: &Family<A>,
    dns: &Dns,
    dns_done: &mut bool,
) {
    match family {
        Family::None => {}
        Family::Dhcp => {
            let _ = writeln!(out, "iface {} {kind} dhcp", iface.name);
        }
        Family::Static {
            addr,
            prefix,
            gateway,
        } => {
            let _ = writeln!(out, "iface {} {kind} static", iface.name);
            let _ = writeln!(out, "    address {addr}/{prefix}");
            if let Some(g) = gateway {
                let _ = writeln!(out, "    gateway {g}");
            }
            if let Some(mtu) = iface.mtu.filter(|_| kind == "inet") {
                let _ = writeln!(out, "    mtu {mtu}");
            }
            if !*dns_done {
                if !dns.servers.is_empty() {
                    let list: Vec<String> = dns.servers.iter().map(ToString::to_string).collect();
                    let _ = writeln!(out, "    dns-nameservers {}", list.join(" "));
                }
                if !dns.search.is_empty() {
                    let _ = writeln!(out, "    dns-search {}", dns.search.join(" "));
                }
                *dns_done = true;
            }
        }
    }
}

/// The main interfaces file with [`SOURCE_LINE`] added, or `None` when it
/// already reads interfaces.d.
pub fn with_source_line(existing: Option<&str>) -> Option<String> {
    let sources = |l: &str| {
        let l = l.trim();
        (l.starts_with("source ") || l.starts_with("source-directory "))
            && l.contains("/etc/network/interfaces.d")
    };
    match existing {
        Some(text) if text.lines().any(sources) => None,
        Some(text) => {
            let mut text = text.to_owned();
            if !text.is_empty() && !text.ends_with('\n') {
                text.push('\n');
            }
            Some(format!("{text}{SOURCE_LINE}\n"))
        }
        None => Some(format!(
            "{SOURCE_LINE}\n\nauto lo\niface lo inet loopback\n"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;

    fn check(ifaces: &[NetIface], dns: &Dns, expected: &str) {
        let head = "# Written by cohort-agent from the node's deploy configuration; rewritten on every deploy.\n";
        assert_eq!(render(ifaces, dns), format!("{head}{expected}"));
    }

    #[test]
    fn stanzas() {
        check(
            &[static_iface(), dhcp_iface(), v4_only_iface()],
            &site_dns(),
            "\nauto eno1\niface eno1 inet static\n    address 10.1.0.5/16\n    gateway 10.1.0.1\n    mtu 9000\n\
             \x20   dns-nameservers 10.1.0.2 fd00::2\n    dns-search example.com\n\
             iface eno1 inet6 static\n    address fd00::5/64\n    gateway fd00::1\n\
             \nauto eth1\niface eth1 inet dhcp\niface eth1 inet6 dhcp\n\
             \nauto ib0\niface ib0 inet static\n    address 192.168.7.5/24\n\
             \x20   dns-nameservers 10.1.0.2 fd00::2\n    dns-search example.com\n",
        );
    }

    #[test]
    fn source_line_added_once() {
        assert_eq!(
            with_source_line(Some("source /etc/network/interfaces.d/*\n")),
            None
        );
        assert_eq!(
            with_source_line(Some("auto lo")).as_deref(),
            Some("auto lo\nsource /etc/network/interfaces.d/*\n")
        );
        let fresh = with_source_line(None).unwrap();
        assert_eq!(with_source_line(Some(&fresh)), None);
    }
}
