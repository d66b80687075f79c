//! Deploy configurations for the real-parser tests, written through the
//! agent's own resolve + write path.

use std::path::{Path, PathBuf};

use cohort_agent::fsutil::Target;
use cohort_agent::network::{self, Format};
use cohort_api::nodeapi::{DeployConfig, Interface, IpMethod};

/// Static IPv4 + IPv6 on a named NIC, DHCP on the unnamed entry (MAC
/// only), static IPv4 only on a third.
pub fn config() -> DeployConfig {
    DeployConfig {
        hostname: "n1".to_owned(),
        dnsdomain: Some("example.com".to_owned()),
        nameservers: vec!["10.1.0.2".to_owned(), "fd00::2".to_owned()],
        interfaces: vec![
            Interface {
                name: "mgt".to_owned(),
                interface_names: vec!["eno1".to_owned()],
                hwaddr: Some("aa:bb:cc:dd:ee:01".to_owned()),
                ipv4_method: IpMethod::Static,
                ipv4_address: Some("10.1.0.5".to_owned()),
                ipv4_prefix: Some(16),
                ipv4_gateway: Some("10.1.0.1".to_owned()),
                ipv6_method: IpMethod::Static,
                ipv6_address: Some("fd00::5".to_owned()),
                ipv6_prefix: Some(64),
                ipv6_gateway: Some("fd00::1".to_owned()),
                mtu: Some(9000),
                ..Interface::default()
            },
            Interface {
                hwaddr: Some("aa:bb:cc:dd:ee:02".to_owned()),
                ipv4_method: IpMethod::Dhcp,
                ipv6_method: IpMethod::Dhcp,
                ..Interface::default()
            },
            Interface {
                name: "ib0".to_owned(),
                ipv4_method: IpMethod::Static,
                ipv4_address: Some("192.168.7.5".to_owned()),
                ipv4_prefix: Some(24),
                ..Interface::default()
            },
        ],
        ..DeployConfig::default()
    }
}

/// Writes `config()` in `format` under `root`; returns the files.
pub fn write(root: &Path, format: Format) -> Vec<PathBuf> {
    let cfg = config();
    let target = Target::new(root);
    assert_eq!(
        Format::detect(&target),
        format,
        "target tree not set up for {format:?}"
    );
    let ifaces = network::resolve(&cfg, None).unwrap();
    let dns = network::dns(&cfg).unwrap();
    network::write(&target, format, &cfg.hostname, &ifaces, &dns).unwrap()
}
