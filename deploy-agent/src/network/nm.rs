//! NetworkManager keyfiles: one
//! `etc/NetworkManager/system-connections/<ifname>.nmconnection` per
//! interface (NetworkManager ignores keyfiles readable by others, hence
//! 0600).
//!
//! The connection uuid is derived from the host and interface names, so a
//! rerun writes the same file and NetworkManager sees the same connection
//! rather than a new one. `interface-name` is left out when the name is
//! only the `eth<N>` guess and the MAC is known: NetworkManager would
//! otherwise refuse to bring the connection up on the real, differently
//! named device. Name servers are split by family, as keyfiles require.

use std::fmt::Write as _;

use ring::digest;

use super::{Dns, Family, NetIface};

/// A uuid-shaped name for the connection, stable across runs.
pub fn stable_uuid(hostname: &str, ifname: &str) -> String {
    let d = digest::digest(
        &digest::SHA256,
        format!("cohort-agent nm {hostname} {ifname}").as_bytes(),
    );
    let mut b = [0u8; 16];
    b.copy_from_slice(&d.as_ref()[..16]);
    // RFC 9562 version 8 (custom) and variant bits: a valid uuid, honest
    // about being neither random nor time-based.
    b[6] = (b[6] & 0x0f) | 0x80;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

pub fn render(iface: &NetIface, dns: &Dns, uuid: &str) -> String {
    let mut out = String::from(
        "# Written by cohort-agent from the node's deploy configuration; rewritten on every deploy.\n",
    );
    // `let _ =`: writing to a String cannot fail.
    let _ = writeln!(
        out,
        "[connection]\nid={}\nuuid={uuid}\ntype=ethernet",
        iface.name
    );
    if !(iface.name_guessed && iface.mac.is_some()) {
        let _ = writeln!(out, "interface-name={}", iface.name);
    }
    out.push_str("autoconnect=true\n\n[ethernet]\n");
    if let Some(mac) = &iface.mac {
        let _ = writeln!(out, "mac-address={}", mac.to_ascii_uppercase());
    }
    if let Some(mtu) = iface.mtu {
        let _ = writeln!(out, "mtu={mtu}");
    }
    let v4_dns: Vec<String> = dns
        .servers
        .iter()
        .filter(|s| s.is_ipv4())
        .map(ToString::to_string)
        .collect();
    let v6_dns: Vec<String> = dns
        .servers
        .iter()
        .filter(|s| s.is_ipv6())
        .map(ToString::to_string)
        .collect();
    // Search domains go with the first family that is configured at all:
    // a disabled family may carry no DNS settings.
    let search_v4 = iface.v4 != Family::None;
    section(
        &mut out,
        "ipv4",
        &iface.v4,
        &v4_dns,
        search_v4.then_some(&dns.search),
    );
    section(
        &mut out,
        "ipv6",
        &iface.v6,
        &v6_dns,
        (!search_v4).then_some(&dns.search),
    );
    out
}

fn section<A: std::fmt::Display>(
    out: &mut String,
    name: &str,
    family: &Family<A>,
    servers: &[String],
    search: Option<&Vec<String>>,
) {
    let _ = write!(out, "\n[{name}]\n");
    match family {
        Family::None => {
            out.push_str("method=disabled\n");
            return;
        }
        Family::Dhcp => out.push_str("method=auto\n"),
        Family::Static {
            addr,
            prefix,
            gateway,
        } => {
            out.push_str("method=manual\n");
            let _ = write!(out, "address1={addr}/{prefix}");
            if let Some(g) = gateway {
                let _ = write!(out, ",{g}");
            }
            out.push('\n');
        }
    }
    if !servers.is_empty() {
        let _ = writeln!(out, "dns={};", servers.join(";"));
    }
    if let Some(search) = search.filter(|s| !s.is_empty()) {
        let _ = writeln!(out, "dns-search={};", search.join(";"));
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;

    fn check(iface: NetIface, dns: &Dns, expected: &str) {
        let head = "# Written by cohort-agent from the node's deploy configuration; rewritten on every deploy.\n";
        assert_eq!(render(&iface, dns, "U"), format!("{head}{expected}"));
    }

    #[test]
    fn keyfiles() {
        check(
            static_iface(),
            &site_dns(),
            "[connection]\nid=eno1\nuuid=U\ntype=ethernet\ninterface-name=eno1\nautoconnect=true\n\n\
             [ethernet]\nmac-address=AA:BB:CC:DD:EE:01\nmtu=9000\n\n\
             [ipv4]\nmethod=manual\naddress1=10.1.0.5/16,10.1.0.1\ndns=10.1.0.2;\ndns-search=example.com;\n\n\
             [ipv6]\nmethod=manual\naddress1=fd00::5/64,fd00::1\ndns=fd00::2;\n",
        );
        check(
            dhcp_iface(),
            &Dns::default(),
            "[connection]\nid=eth1\nuuid=U\ntype=ethernet\nautoconnect=true\n\n\
             [ethernet]\nmac-address=AA:BB:CC:DD:EE:02\n\n\
             [ipv4]\nmethod=auto\n\n[ipv6]\nmethod=auto\n",
        );
        check(
            v4_only_iface(),
            &site_dns(),
            "[connection]\nid=ib0\nuuid=U\ntype=ethernet\ninterface-name=ib0\nautoconnect=true\n\n\
             [ethernet]\n\n\
             [ipv4]\nmethod=manual\naddress1=192.168.7.5/24\ndns=10.1.0.2;\ndns-search=example.com;\n\n\
             [ipv6]\nmethod=disabled\n",
        );
    }

    #[test]
    fn uuid_is_stable_and_well_formed() {
        let u = stable_uuid("n1", "eno1");
        assert_eq!(u, stable_uuid("n1", "eno1"));
        assert_ne!(u, stable_uuid("n2", "eno1"));
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "8");
    }
}
