//! Network configuration in the target OS's own format.
//!
//! Two stages. [`resolve`] turns the server's `Interface` entries into
//! checked [`NetIface`]s: addresses parsed, prefixes in range, the OS
//! interface name chosen, anything a file could be corrupted by refused.
//! Then one renderer per format turns them into text, with no I/O, so
//! tests compare strings and run the real parsers: NetworkManager keyfiles
//! ([`nm`]), netplan ([`netplan`]) or ifupdown ([`ifupdown`]). The format
//! is detected from the *target* tree, never the running system, because
//! the agent often runs in an installer whose OS is not the target's.
//!
//! The OS interface name of an entry: the first of `interface_names`, else
//! the entry's `net.<name>`, else (on a live system only, `--root /`) the
//! interface holding its MAC, else `eth<N>` with N the entry's position in
//! the list. A guessed name is harmless where the format matches by MAC
//! (netplan `match`, NM `mac-address`); ifupdown cannot, so set
//! `net.*.interface_names` for ifupdown targets without a usable entry name.

pub mod ifupdown;
pub mod netplan;
pub mod nm;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};

use cohort_api::nodeapi::{DeployConfig, Interface, IpMethod};

use crate::fsutil::{FsError, Mode, Target};
use crate::identity;
use crate::names::{self, BadName};

/// The configuration does not make a valid network setup. The message
/// names the attribute to fix.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    #[error(transparent)]
    Name(#[from] BadName),
    #[error("{attr} = {value:?} is not a valid {family} address: fix the node's {attr}")]
    Address {
        attr: String,
        value: String,
        family: &'static str,
    },
    #[error(
        "{attr} is required for a static {family} configuration: set it, or set the method to dhcp"
    )]
    Missing { attr: String, family: &'static str },
    #[error("{attr} = {value} is out of range for {family}")]
    Prefix {
        attr: String,
        value: u8,
        family: &'static str,
    },
    #[error(
        "net entries {first:?} and {second:?} both configure OS interface {ifname}: \
         set net.*.interface_names so each names its own"
    )]
    Duplicate {
        first: String,
        second: String,
        ifname: String,
    },
    #[error(transparent)]
    Fs(#[from] FsError),
}

/// How one address family of an interface is set up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Family<A> {
    None,
    Dhcp,
    Static {
        addr: A,
        prefix: u8,
        gateway: Option<A>,
    },
}

/// One interface, checked and named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetIface {
    /// The OS interface name.
    pub name: String,
    /// True when `name` is the `eth<N>` fallback, not something the admin
    /// or the kernel said.
    pub name_guessed: bool,
    pub mac: Option<String>,
    pub v4: Family<Ipv4Addr>,
    pub v6: Family<Ipv6Addr>,
    pub mtu: Option<u32>,
}

/// Name servers and search domains, shared by every interface.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dns {
    pub servers: Vec<IpAddr>,
    pub search: Vec<String>,
}

/// The target's network configuration system.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    NetworkManager,
    Netplan,
    Ifupdown,
}

impl Format {
    pub fn detect(target: &Target) -> Self {
        if target.exists("etc/NetworkManager") {
            Format::NetworkManager
        } else if target.exists("etc/netplan") {
            Format::Netplan
        } else {
            Format::Ifupdown
        }
    }
}

/// The attribute name an admin would set, for messages.
fn attr(entry: &Interface, field: &str) -> String {
    if entry.name.is_empty() {
        format!("net.{field}")
    } else {
        format!("net.{}.{field}", entry.name)
    }
}

fn family<A: std::str::FromStr + Copy>(
    entry: &Interface,
    method: IpMethod,
    (address, prefix, gateway): (&Option<String>, Option<u8>, &Option<String>),
    (fam, max, tag): (&'static str, u8, &str),
) -> Result<Family<A>, NetError> {
    let parse = |field: &str, value: &str| {
        value.trim().parse::<A>().map_err(|_| NetError::Address {
            attr: attr(entry, field),
            value: value.to_owned(),
            family: fam,
        })
    };
    match method {
        IpMethod::None => Ok(Family::None),
        IpMethod::Dhcp => Ok(Family::Dhcp),
        IpMethod::Static => {
            let missing = |field: &str| NetError::Missing {
                attr: attr(entry, &format!("{tag}_{field}")),
                family: fam,
            };
            let addr = parse(
                &format!("{tag}_address"),
                address.as_deref().ok_or_else(|| missing("address"))?,
            )?;
            let prefix = prefix.ok_or_else(|| missing("prefix"))?;
            if prefix == 0 || prefix > max {
                return Err(NetError::Prefix {
                    attr: attr(entry, &format!("{tag}_prefix")),
                    value: prefix,
                    family: fam,
                });
            }
            let gateway = gateway
                .as_deref()
                .filter(|g| !g.trim().is_empty())
                .map(|g| parse(&format!("{tag}_gateway"), g))
                .transpose()?;
            Ok(Family::Static {
                addr,
                prefix,
                gateway,
            })
        }
    }
}

/// Checks and names every entry that configures something. `sys` is the
/// sysfs tree to look MACs up in, only for a live target.
pub fn resolve(cfg: &DeployConfig, sys: Option<&Path>) -> Result<Vec<NetIface>, NetError> {
    let mut out: Vec<(String, NetIface)> = Vec::new();
    for (position, entry) in cfg.interfaces.iter().enumerate() {
        let v4 = family(
            entry,
            entry.ipv4_method,
            (&entry.ipv4_address, entry.ipv4_prefix, &entry.ipv4_gateway),
            ("IPv4", 32, "ipv4"),
        )?;
        let v6 = family(
            entry,
            entry.ipv6_method,
            (&entry.ipv6_address, entry.ipv6_prefix, &entry.ipv6_gateway),
            ("IPv6", 128, "ipv6"),
        )?;
        if v4 == Family::None && v6 == Family::None {
            continue;
        }
        let mac = entry
            .hwaddr
            .as_deref()
            .filter(|m| !m.trim().is_empty())
            .map(|m| names::mac(&attr(entry, "hwaddr"), m))
            .transpose()?;
        let (name, name_guessed) = os_name(entry, mac.as_deref(), sys, position);
        names::ifname(&attr(entry, "interface_names"), &name)?;
        if let Some((first, _)) = out.iter().find(|(_, i)| i.name == name) {
            return Err(NetError::Duplicate {
                first: first.clone(),
                second: entry.name.clone(),
                ifname: name,
            });
        }
        let iface = NetIface {
            name,
            name_guessed,
            mac,
            v4,
            v6,
            mtu: entry.mtu,
        };
        out.push((entry.name.clone(), iface));
    }
    Ok(out.into_iter().map(|(_, i)| i).collect())
}

fn os_name(
    entry: &Interface,
    mac: Option<&str>,
    sys: Option<&Path>,
    position: usize,
) -> (String, bool) {
    if let Some(first) = entry.interface_names.iter().find(|n| !n.trim().is_empty()) {
        return (first.trim().to_owned(), false);
    }
    if !entry.name.is_empty() {
        return (entry.name.clone(), false);
    }
    if let (Some(sys), Some(mac)) = (sys, mac)
        && let Some(found) = identity::ifname_by_mac(sys, mac)
    {
        return (found, false);
    }
    (format!("eth{position}"), true)
}

/// The DNS part of the configuration, checked.
pub fn dns(cfg: &DeployConfig) -> Result<Dns, NetError> {
    let mut servers = Vec::new();
    for s in &cfg.nameservers {
        servers.push(s.trim().parse().map_err(|_| NetError::Address {
            attr: "dns.servers".to_owned(),
            value: s.clone(),
            family: "IP",
        })?);
    }
    let mut search = Vec::new();
    if let Some(domain) = cfg.dnsdomain.as_deref().filter(|d| !d.is_empty()) {
        names::dns_name("dns.domain", domain)?;
        search.push(domain.to_owned());
    }
    Ok(Dns { servers, search })
}

/// Writes the configuration in `format`; returns the files written.
pub fn write(
    target: &Target,
    format: Format,
    hostname: &str,
    ifaces: &[NetIface],
    dns: &Dns,
) -> Result<Vec<PathBuf>, NetError> {
    let mut written = Vec::new();
    match format {
        Format::NetworkManager => {
            for iface in ifaces {
                let rel = format!(
                    "etc/NetworkManager/system-connections/{}.nmconnection",
                    iface.name
                );
                let text = nm::render(iface, dns, &nm::stable_uuid(hostname, &iface.name));
                written.push(target.write(&rel, &text, Mode::Exact(0o600))?);
            }
        }
        Format::Netplan => {
            let text = netplan::render(ifaces, dns);
            written.push(target.write("etc/netplan/90-cohort.yaml", &text, Mode::Exact(0o600))?);
        }
        Format::Ifupdown => {
            let text = ifupdown::render(ifaces, dns);
            let rel = "etc/network/interfaces.d/cohort";
            written.push(target.write(rel, &text, Mode::Exact(0o644))?);
            let main = target.read("etc/network/interfaces")?;
            if let Some(text) = ifupdown::with_source_line(main.as_deref()) {
                written.push(target.write("etc/network/interfaces", &text, Mode::KeepOr(0o644))?);
            }
        }
    }
    Ok(written)
}

#[cfg(test)]
pub(crate) mod fixtures;

#[cfg(test)]
mod tests {
    use super::*;
    use fixtures::*;

    #[test]
    fn resolve_names_and_checks() {
        let cfg = DeployConfig {
            interfaces: vec![static_entry(), dhcp_entry(), Interface::default()],
            ..DeployConfig::default()
        };
        let ifaces = resolve(&cfg, None).unwrap();
        assert_eq!(ifaces, [static_iface(), dhcp_iface()]);

        let mut bad = static_entry();
        bad.ipv4_address = Some("10.0.0.300".to_owned());
        let cfg = DeployConfig {
            interfaces: vec![bad],
            ..DeployConfig::default()
        };
        let err = resolve(&cfg, None).unwrap_err().to_string();
        assert!(err.contains("net.mgt.ipv4_address"), "{err}");

        let mut no_prefix = static_entry();
        no_prefix.ipv6_prefix = None;
        let cfg = DeployConfig {
            interfaces: vec![no_prefix],
            ..DeployConfig::default()
        };
        let err = resolve(&cfg, None).unwrap_err().to_string();
        assert!(err.contains("net.mgt.ipv6_prefix is required"), "{err}");

        let cfg = DeployConfig {
            interfaces: vec![static_entry(), static_entry()],
            ..DeployConfig::default()
        };
        assert!(matches!(
            resolve(&cfg, None),
            Err(NetError::Duplicate { .. })
        ));
    }
}
