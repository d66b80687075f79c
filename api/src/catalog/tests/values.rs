//! Value normalization for every value type and every check.

use super::*;

#[test]
fn bool_values() {
    for (input, want) in [
        ("true", "true"),
        ("1", "true"),
        ("Y", "true"),
        ("yes", "true"),
        ("Enable", "true"),
        ("enabled", "true"),
        (" yes ", "true"),
        ("false", "false"),
        ("0", "false"),
        ("n", "false"),
        ("NO", "false"),
        ("disable", "false"),
        ("disabled", "false"),
        ("", ""),
    ] {
        check_value("net.mgt.bootable", input, Ok(want));
    }
    for bad in ["maybe", "2", "ye s", "truee"] {
        check_value(
            "net.bootable",
            bad,
            Err(&[bad, "true or false", "yes", "disabled"]),
        );
    }
}

#[test]
fn int_values_and_ranges() {
    for (name, input, want) in [
        ("id.index", "7", "7"),
        ("id.index", " 42 ", "42"),
        ("id.index", "+5", "5"),
        ("id.index", "007", "7"),
        ("net.mtu", "9000", "9000"),
        ("net.ib0.mtu", "65520", "65520"),
        ("enclosure.bay", "3", "3"),
        ("pubkeys.tls_lifetime", "47", "47"),
    ] {
        check_value(name, input, Ok(want));
    }
    check_value("id.index", "seven", Err(&["seven", "whole number"]));
    check_value("id.index", "1.5", Err(&["1.5", "whole number"]));
    check_value("id.index", "99999999999999999999", Err(&["whole number"]));
    check_value("id.index", "0", Err(&["1 or more"]));
    check_value("enclosure.bay", "-1", Err(&["1 or more"]));
    check_value("net.mtu", "20", Err(&["between 68 and 65535"]));
    check_value("net.mtu", "70000", Err(&["between 68 and 65535"]));
}

#[test]
fn list_values_are_trimmed_and_joined() {
    for (input, want) in [
        ("a,b", "a,b"),
        (" a , b ", "a,b"),
        ("a,,b,", "a,b"),
        (",", ""),
        ("single", "single"),
        ("with space, x", "with space,x"),
    ] {
        check_value("ntp.servers", input, Ok(want));
    }
    check_value("groups", "compute, rack1 ,", Ok("compute,rack1"));
}

#[test]
fn enum_values() {
    for (name, input, want) in [
        ("hardwaremanagement.method", "redfish", "redfish"),
        ("hardwaremanagement.method", "IPMI", "ipmi"),
        ("hardwaremanagement.method", " null ", "null"),
        ("hardwaremanagement.port", "lom_2", "lom_2"),
        ("hardwaremanagement.port", "ocp", "ocp"),
        ("deployment.encryptboot", "tpm2:pcr7", "tpm2:pcr7"),
        ("pubkeys.addpolicy", "ca-only", "ca-only"),
        ("net.eth0.team_mode", "lacp", "lacp"),
        ("type", "dense", "dense"),
        ("deployment.lock", "unlocked", "unlocked"),
    ] {
        check_value(name, input, Ok(want));
    }
    check_value(
        "console.method",
        "telnet",
        Err(&["telnet", "ssh, ipmi, openbmc, tsmsol"]),
    );
    check_value(
        "net.ipv4_method",
        "DHCPP",
        Err(&["DHCPP", "dhcp, static, firmwaredhcp"]),
    );
    // A glob entry needs something in place of `*`, and typed globs are no value.
    check_value("hardwaremanagement.port", "lom_", Err(&["lom_*, ocp_*"]));
    check_value("hardwaremanagement.port", "lom_*", Err(&["dedicated"]));
    check_value(
        "deployment.encryptboot",
        "tpm2:",
        Err(&["tpm2, tpm2:*, none"]),
    );
}

#[test]
fn enum_lists_and_key_values() {
    check_value("discovery.policy", "permissive, pxe", Ok("permissive,pxe"));
    check_value("discovery.policy", "Open", Ok("open"));
    check_value(
        "discovery.policy",
        "manual,bogus",
        Err(&[r#""bogus""#, "manual, permissive"]),
    );
    check_value(
        "discovery.passwordrules",
        "expiration=no, LoginFailures = no,complexity=no,reuse=no",
        Ok("expiration=no,loginfailures=no,complexity=no,reuse=no"),
    );
    for bad in ["expiration", "expiry=no", "reuse=", "=no"] {
        check_value(
            "discovery.passwordrules",
            bad,
            Err(&["key=value", "expiration, loginfailures"]),
        );
    }
}

#[test]
fn text_refuses_control_characters_only() {
    check_value(
        "info.note",
        "  spaced\tand tabbed  ",
        Ok("  spaced\tand tabbed  "),
    );
    check_value("info.note", "r{n1}u{n2}", Ok("r{n1}u{n2}"));
    check_value("info.note", "\u{e9}t\u{e9} 2026", Ok("\u{e9}t\u{e9} 2026"));
    for bad in ["two\nlines", "nul\0", "esc\u{1b}[2J", "cr\r"] {
        check_value(
            "info.note",
            bad,
            Err(&["control characters", "one per line"]),
        );
    }
}

#[test]
fn addresses_are_checked_and_canonical() {
    for (name, input, want) in [
        ("net.hwaddr", "AA-BB-CC-DD-EE-0F", "aa:bb:cc:dd:ee:0f"),
        ("net.mgt.hwaddr", " 00:1a:2B:3c:4d:5e ", "00:1a:2b:3c:4d:5e"),
        (
            "net.ib0.hwaddr",
            "00:11:22:33:44:55:66:77",
            "00:11:22:33:44:55:66:77",
        ),
        (
            "id.uuid",
            "0123ABCD-89AB-CDEF-0123-456789ABCDEF",
            "0123abcd-89ab-cdef-0123-456789abcdef",
        ),
        ("net.ipv4_address", "10.1.2.3", "10.1.2.3"),
        ("net.mgt.ipv4_address", "10.1.2.3/024", "10.1.2.3/24"),
        ("net.ipv6_address", "FD00:0:0:0::5/64", "fd00::5/64"),
        ("net.ipv4_gateway", "10.1.0.254", "10.1.0.254"),
        ("net.ipv6_gateway", "FE80::1", "fe80::1"),
        ("dns.servers", "10.0.0.2, FD00::2", "10.0.0.2,fd00::2"),
        (
            "trusted.subnets",
            "10.0.0.0/8 192.168.0.0/16, FD00::/8",
            "10.0.0.0/8,192.168.0.0/16,fd00::/8",
        ),
    ] {
        check_value(name, input, Ok(want));
    }
    for (name, input, fragment) in [
        ("net.hwaddr", "aa:bb:cc:dd:ee", "MAC address"),
        ("net.hwaddr", "aa:bb:cc:dd:ee:gg", "MAC address"),
        ("net.hwaddr", "aabb.ccdd.eeff", "MAC address"),
        ("id.uuid", "0123abcd89abcdef0123456789abcdef", "UUID like"),
        (
            "id.uuid",
            "0123abcd-89ab-cdef-0123-456789abcdeg",
            "UUID like",
        ),
        ("net.ipv4_address", "fd00::5", "IPv4 address"),
        ("net.ipv4_address", "10.1.2.3/33", "IPv4 address"),
        ("net.ipv4_address", "010.1.2.3", "IPv4 address"),
        ("net.ipv4_address", "10.1.2.3/", "IPv4 address"),
        ("net.ipv6_address", "10.1.2.3", "IPv6 address"),
        ("net.ipv6_address", "fd00::5/129", "IPv6 address"),
        ("net.ipv4_gateway", "10.1.0.254/24", "without prefix"),
        (
            "dns.servers",
            "10.0.0.2,ns1.example.com",
            r#""ns1.example.com" is not an IP address"#,
        ),
        (
            "trusted.subnets",
            "10.0.0.0/8,192.168.1.1",
            r#""192.168.1.1" is not a subnet"#,
        ),
    ] {
        check_value(name, input, Err(&[fragment]));
    }
}

#[test]
fn apiarmed_takes_words_or_an_expiry_time() {
    for ok in [
        "once",
        "continuous",
        "2026-11-30T18:00:00Z",
        "2028-02-29T23:59:59Z",
    ] {
        check_value("deployment.apiarmed", ok, Ok(ok));
    }
    for bad in [
        "twice",
        "Once",
        "2026-11-30 18:00:00Z",
        "2026-11-30T18:00:00",
        "2027-02-29T00:00:00Z",
        "2026-13-01T00:00:00Z",
        "2026-04-31T00:00:00Z",
        "2026-11-30T24:00:00Z",
        "2026-11-30T18:60:00Z",
        "+026-11-30T18:00:00Z",
    ] {
        check_value(
            "deployment.apiarmed",
            bad,
            Err(&["once, continuous", "2026-11-30T18:00:00Z"]),
        );
    }
}

#[test]
fn refused_secrets_are_not_echoed() {
    let err = resolve("bmcpass")
        .unwrap()
        .normalize("hunter2\n")
        .unwrap_err();
    let msg = err.to_string();
    assert!(!msg.contains("hunter2"), "{msg}");
    assert!(
        msg.contains("********") && msg.contains("secret.hardwaremanagementpassword"),
        "{msg}"
    );
    let err = resolve("info.note")
        .unwrap()
        .normalize("visible\n")
        .unwrap_err();
    assert!(err.to_string().contains("visible"));
}
