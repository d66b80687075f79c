//! netplan (Ubuntu): one `etc/netplan/90-cohort.yaml` for every interface.
//!
//! Written as text, not through a YAML library: the shape is fixed, every
//! value is an address, a checked name or a number, and all strings are
//! double-quoted, so nothing needs escaping. When the MAC is known the
//! entry matches on it and renames the device (`set-name`), so the entry
//! holds whatever the kernel called the NIC. Name servers go to interfaces
//! with a static family; DHCP ones get theirs from the DHCP server.

use std::fmt::Write as _;

use super::{Dns, Family, NetIface};

pub fn render(ifaces: &[NetIface], dns: &Dns) -> String {
    let mut out = String::from(
        "# Written by cohort-agent from the node's deploy configuration; rewritten on every deploy.\n\
         network:\n  version: 2\n",
    );
    if ifaces.is_empty() {
        return out;
    }
    out.push_str("  ethernets:\n");
    for iface in ifaces {
        render_one(&mut out, iface, dns);
    }
    out
}

fn render_one(out: &mut String, iface: &NetIface, dns: &Dns) {
    // `let _ =`: writing to a String cannot fail.
    let _ = writeln!(out, "    \"{}\":", iface.name);
    if let Some(mac) = &iface.mac {
        let _ = writeln!(out, "      match:\n        macaddress: \"{mac}\"");
        let _ = writeln!(out, "      set-name: \"{}\"", iface.name);
    }
    let _ = writeln!(out, "      dhcp4: {}", iface.v4 == Family::Dhcp);
    let _ = writeln!(out, "      dhcp6: {}", iface.v6 == Family::Dhcp);
    let mut addresses = Vec::new();
    let mut routes = Vec::new();
    if let Family::Static {
        addr,
        prefix,
        gateway,
    } = &iface.v4
    {
        addresses.push(format!("{addr}/{prefix}"));
        routes.extend(gateway.map(|g| g.to_string()));
    }
    if let Family::Static {
        addr,
        prefix,
        gateway,
    } = &iface.v6
    {
        addresses.push(format!("{addr}/{prefix}"));
        routes.extend(gateway.map(|g| g.to_string()));
    }
    if !addresses.is_empty() {
        out.push_str("      addresses:\n");
        for a in &addresses {
            let _ = writeln!(out, "        - \"{a}\"");
        }
    }
    if !routes.is_empty() {
        out.push_str("      routes:\n");
        for via in &routes {
            let _ = writeln!(out, "        - to: default\n          via: \"{via}\"");
        }
    }
    if !addresses.is_empty() && (!dns.servers.is_empty() || !dns.search.is_empty()) {
        out.push_str("      nameservers:\n");
        let _ = writeln!(out, "        addresses: [{}]", quoted(&dns.servers));
        let _ = writeln!(out, "        search: [{}]", quoted(&dns.search));
    }
    if let Some(mtu) = iface.mtu {
        let _ = writeln!(out, "      mtu: {mtu}");
    }
}

fn quoted<T: std::fmt::Display>(items: &[T]) -> String {
    items
        .iter()
        .map(|i| format!("\"{i}\""))
        .collect::<Vec<_>>()
        .join(", ")
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
    fn static_v4_v6_and_dhcp() {
        check(
            &[static_iface(), dhcp_iface(), v4_only_iface()],
            &site_dns(),
            r#"network:
  version: 2
  ethernets:
    "eno1":
      match:
        macaddress: "aa:bb:cc:dd:ee:01"
      set-name: "eno1"
      dhcp4: false
      dhcp6: false
      addresses:
        - "10.1.0.5/16"
        - "fd00::5/64"
      routes:
        - to: default
          via: "10.1.0.1"
        - to: default
          via: "fd00::1"
      nameservers:
        addresses: ["10.1.0.2", "fd00::2"]
        search: ["example.com"]
      mtu: 9000
    "eth1":
      match:
        macaddress: "aa:bb:cc:dd:ee:02"
      set-name: "eth1"
      dhcp4: true
      dhcp6: true
    "ib0":
      dhcp4: false
      dhcp6: false
      addresses:
        - "192.168.7.5/24"
      nameservers:
        addresses: ["10.1.0.2", "fd00::2"]
        search: ["example.com"]
"#,
        );
    }

    #[test]
    fn nothing_to_configure() {
        check(&[], &Dns::default(), "network:\n  version: 2\n");
    }
}
