//! Value checks for attributes whose values have a syntax, and the canonical
//! forms of those values.
//!
//! A check only refuses what is surely wrong: a MAC address that is not hex,
//! an IPv4 address in an IPv6 attribute, a VLAN id of 5000. Where confluent
//! accepts names as well as addresses (`hardwaremanagement.manager`) or where
//! vendors disagree (InfiniBand partition keys in `net.vlan_id`) the
//! attribute stays free text and has no check here.
//!
//! Checks see the value after the type's own normalization (a `List` is
//! already trimmed and comma-joined, an `Int` already parsed and printed).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// A check's error: the reason, phrased so the admin knows what is valid.
type Checked = Result<(), String>;

// ---------------------------------------------------------------- MAC ---

/// Parses `aa:bb:cc:dd:ee:ff` (or `-` separated, any case). Six octets for
/// Ethernet, eight for an EUI-64 / InfiniBand GUID and twenty for an IPoIB
/// hardware address: an `net.ib0.hwaddr` is as legitimate as `net.eth0.hwaddr`.
fn parse_mac(value: &str) -> Option<Vec<u8>> {
    let octets: Vec<&str> = value.split([':', '-']).collect();
    if !matches!(octets.len(), 6 | 8 | 20) {
        return None;
    }
    octets
        .iter()
        .map(|o| match o.len() {
            2 => u8::from_str_radix(o, 16).ok(),
            _ => None,
        })
        .collect()
}

pub(super) fn mac(value: &str) -> Checked {
    match parse_mac(value) {
        Some(_) => Ok(()),
        None => Err("expected a MAC address like aa:bb:cc:dd:ee:ff".to_owned()),
    }
}

/// Lowercase, colon-separated: the form PXE discovery writes, so a typed
/// address and a discovered one compare equal.
pub(super) fn mac_form(value: &str) -> String {
    match parse_mac(value) {
        Some(octets) => {
            let hex: Vec<String> = octets.iter().map(|o| format!("{o:02x}")).collect();
            hex.join(":")
        }
        None => value.to_owned(),
    }
}

// --------------------------------------------------------------- UUID ---

/// The group lengths of a hyphenated UUID, as SMBIOS reports it.
const UUID_GROUPS: [usize; 5] = [8, 4, 4, 4, 12];

pub(super) fn uuid(value: &str) -> Checked {
    let groups: Vec<&str> = value.split('-').collect();
    let shaped = groups.len() == UUID_GROUPS.len()
        && groups
            .iter()
            .zip(UUID_GROUPS)
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()));
    if shaped {
        Ok(())
    } else {
        Err("expected a UUID like 01234567-89ab-cdef-0123-456789abcdef".to_owned())
    }
}

/// Lowercase, as confluent stores UUIDs reported by discovery.
pub(super) fn uuid_form(value: &str) -> String {
    value.to_ascii_lowercase()
}

// ------------------------------------------------------- IP addresses ---

/// Splits `addr[/prefix]`; the prefix must fit the family.
fn parse_cidr(value: &str) -> Option<(IpAddr, Option<u8>)> {
    let (addr, prefix) = match value.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (value, None),
    };
    let addr: IpAddr = addr.parse().ok()?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let prefix = match prefix {
        Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => {
            Some(p.parse::<u8>().ok().filter(|&n| n <= max)?)
        }
        Some(_) => return None,
        None => None,
    };
    Some((addr, prefix))
}

fn cidr_text(addr: IpAddr, prefix: Option<u8>) -> String {
    match prefix {
        Some(p) => format!("{addr}/{p}"),
        None => addr.to_string(),
    }
}

pub(super) fn ipv4_address(value: &str) -> Checked {
    match parse_cidr(value) {
        Some((IpAddr::V4(_), _)) => Ok(()),
        _ => Err(
            "expected an IPv4 address, optionally with a prefix: 10.1.2.3 or 10.1.2.3/24".into(),
        ),
    }
}

pub(super) fn ipv6_address(value: &str) -> Checked {
    match parse_cidr(value) {
        Some((IpAddr::V6(_), _)) => Ok(()),
        _ => {
            Err("expected an IPv6 address, optionally with a prefix: fd00::5 or fd00::5/64".into())
        }
    }
}

pub(super) fn ipv4_gateway(value: &str) -> Checked {
    match value.parse::<Ipv4Addr>() {
        Ok(_) => Ok(()),
        Err(_) => Err("expected an IPv4 address without prefix, like 10.1.0.254".to_owned()),
    }
}

pub(super) fn ipv6_gateway(value: &str) -> Checked {
    match value.parse::<Ipv6Addr>() {
        Ok(_) => Ok(()),
        Err(_) => Err("expected an IPv6 address without prefix, like fd00::1".to_owned()),
    }
}

/// Canonical text of an address with optional prefix: IPv6 compressed and
/// lowercase (`FD00:0:0::5` -> `fd00::5`), so filters compare reliably.
pub(super) fn address_form(value: &str) -> String {
    match parse_cidr(value) {
        Some((addr, prefix)) => cidr_text(addr, prefix),
        None => value.to_owned(),
    }
}

/// `dns.servers`: resolv.conf takes addresses only, never names.
pub(super) fn address_list(value: &str) -> Checked {
    for item in value.split(',') {
        if item.parse::<IpAddr>().is_err() {
            return Err(format!(
                "{item:?} is not an IP address; expected a comma list of addresses like 10.0.0.2,fd00::2"
            ));
        }
    }
    Ok(())
}

pub(super) fn address_list_form(value: &str) -> String {
    let items: Vec<String> = value.split(',').map(address_form).collect();
    items.join(",")
}

/// Items of `trusted.subnets`: confluent splits on commas and then on
/// whitespace, and requires `/prefix` on each (it unpacks `addr/len`).
fn subnet_items(value: &str) -> impl Iterator<Item = &str> {
    value.split(',').flat_map(str::split_whitespace)
}

pub(super) fn subnets(value: &str) -> Checked {
    for item in subnet_items(value) {
        if !matches!(parse_cidr(item), Some((_, Some(_)))) {
            return Err(format!(
                "{item:?} is not a subnet; expected a comma list like 10.0.0.0/8,fd00::/64"
            ));
        }
    }
    Ok(())
}

pub(super) fn subnets_form(value: &str) -> String {
    let items: Vec<String> = subnet_items(value).map(address_form).collect();
    items.join(",")
}

// ------------------------------------------------------------- numbers ---

fn in_range(value: &str, lo: i64, hi: i64, what: &str) -> Checked {
    match value.parse::<i64>() {
        Ok(n) if (lo..=hi).contains(&n) => Ok(()),
        _ if hi == i64::MAX => Err(format!("{what} must be {lo} or more")),
        _ => Err(format!("{what} must be between {lo} and {hi}")),
    }
}

/// Node index, enclosure bay, certificate lifetime: counted from 1.
pub(super) fn positive(value: &str) -> Checked {
    in_range(value, 1, i64::MAX, "the number")
}

/// 68 is the IPv4 minimum; 65535 the largest any link type offers.
pub(super) fn mtu(value: &str) -> Checked {
    in_range(value, 68, 65535, "an MTU")
}

// ---------------------------------------------------------- apiarmed ---

/// `deployment.apiarmed`: `once`, `continuous`, or an expiry time in UTC
/// (`2026-11-30T18:00:00Z`) until which the node may fetch a key.
pub(super) fn apiarmed(value: &str) -> Checked {
    if matches!(value, "once" | "continuous") || is_utc_timestamp(value) {
        Ok(())
    } else {
        Err("expected once, continuous, or an expiry time like 2026-11-30T18:00:00Z".to_owned())
    }
}

/// `YYYY-MM-DDTHH:MM:SSZ` with real calendar ranges.
fn is_utc_timestamp(value: &str) -> bool {
    let b = value.as_bytes();
    if b.len() != 20 {
        return false;
    }
    let shape_ok = b.iter().enumerate().all(|(i, &c)| match i {
        4 | 7 => c == b'-',
        10 => c == b'T',
        13 | 16 => c == b':',
        19 => c == b'Z',
        _ => c.is_ascii_digit(),
    });
    if !shape_ok {
        return false;
    }
    let num = |from: usize, to: usize| -> u32 {
        b[from..to]
            .iter()
            .fold(0, |n, &c| n * 10 + u32::from(c - b'0'))
    };
    let (year, month, day) = (num(0, 4), num(5, 7), num(8, 10));
    let (hour, minute, second) = (num(11, 13), num(14, 16), num(17, 19));
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&day) && hour < 24 && minute < 60 && second < 60
}
