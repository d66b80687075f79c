//! Interfaces shared by the renderers' tests.

use super::*;

/// `net.mgt`: static IPv4 and IPv6, OS name from `interface_names`.
pub fn static_entry() -> Interface {
    Interface {
        name: "mgt".to_owned(),
        interface_names: vec!["eno1".to_owned()],
        hwaddr: Some("AA:BB:CC:DD:EE:01".to_owned()),
        ipv4_method: IpMethod::Static,
        ipv4_address: Some("10.1.0.5".to_owned()),
        ipv4_prefix: Some(16),
        ipv4_gateway: Some("10.1.0.1".to_owned()),
        ipv6_method: IpMethod::Static,
        ipv6_address: Some("fd00::5".to_owned()),
        ipv6_prefix: Some(64),
        ipv6_gateway: Some("fd00::1".to_owned()),
        mtu: Some(9000),
        hostnames: vec![],
    }
}

/// The unnamed `net.*` entry, DHCP for both families, known only by MAC.
pub fn dhcp_entry() -> Interface {
    Interface {
        hwaddr: Some("aa:bb:cc:dd:ee:02".to_owned()),
        ipv4_method: IpMethod::Dhcp,
        ipv6_method: IpMethod::Dhcp,
        ..Interface::default()
    }
}

pub fn static_iface() -> NetIface {
    NetIface {
        name: "eno1".to_owned(),
        name_guessed: false,
        mac: Some("aa:bb:cc:dd:ee:01".to_owned()),
        v4: Family::Static {
            addr: Ipv4Addr::new(10, 1, 0, 5),
            prefix: 16,
            gateway: Some(Ipv4Addr::new(10, 1, 0, 1)),
        },
        v6: Family::Static {
            addr: "fd00::5".parse().unwrap(),
            prefix: 64,
            gateway: Some("fd00::1".parse().unwrap()),
        },
        mtu: Some(9000),
    }
}

/// Position 1 in the list, hence `eth1`.
pub fn dhcp_iface() -> NetIface {
    NetIface {
        name: "eth1".to_owned(),
        name_guessed: true,
        mac: Some("aa:bb:cc:dd:ee:02".to_owned()),
        v4: Family::Dhcp,
        v6: Family::Dhcp,
        mtu: None,
    }
}

/// Static IPv4 only, no MAC, IPv6 left alone.
pub fn v4_only_iface() -> NetIface {
    NetIface {
        name: "ib0".to_owned(),
        name_guessed: false,
        mac: None,
        v4: Family::Static {
            addr: Ipv4Addr::new(192, 168, 7, 5),
            prefix: 24,
            gateway: None,
        },
        v6: Family::None,
        mtu: None,
    }
}

pub fn site_dns() -> Dns {
    Dns {
        servers: vec!["10.1.0.2".parse().unwrap(), "fd00::2".parse().unwrap()],
        search: vec!["example.com".to_owned()],
    }
}
