//! Name resolution, suggestions, globs and guard flags.

use super::*;

#[test]
fn aliases_resolve_to_the_real_name() {
    for (alias, real) in [
        ("bmc", "hardwaremanagement.manager"),
        ("bmcuser", "secret.hardwaremanagementuser"),
        ("switchuser", "secret.hardwaremanagementuser"),
        ("bmcpass", "secret.hardwaremanagementpassword"),
        ("switchpass", "secret.hardwaremanagementpassword"),
    ] {
        check_resolves(alias, real, real);
    }
    assert_eq!(aliases().len(), 5, "every alias is tested above");
    check_resolves("location.rack", "location.rack", "location.rack");
}

#[test]
fn interface_parts_collapse_for_validation_only() {
    for (name, generic) in [
        ("net.hwaddr", "net.hwaddr"),
        ("net.mgt.hwaddr", "net.hwaddr"),
        ("net.mgt.ipv4_address", "net.ipv4_address"),
        ("net.pxe.fabric-1.vlan_id", "net.vlan_id"),
        ("net.0.switch", "net.switch"),
        ("net.hwaddr.bootable", "net.bootable"),
        ("power.pdu", "power.pdu"),
        ("power.psu1.pdu", "power.pdu"),
        ("power.psu1.outlet", "power.outlet"),
    ] {
        check_resolves(name, name, generic);
    }
    // Only net. and power. have interface parts.
    check_unknown("location.a.rack", Some("location.rack"));
    check_unknown("net.mgt", Some("net.mtu"));
    check_unknown("power.psu1.ipv4_address", None);
}

#[test]
fn custom_names_are_free_form_and_nodesecret_is_secret() {
    for (name, generic, sensitivity) in [
        ("custom.rackowner", "custom.*", Sensitivity::Plain),
        ("custom.a.b-c_d", "custom.*", Sensitivity::Plain),
        ("custom.nodesecret", "custom.*", Sensitivity::Plain),
        (
            "custom.nodesecret.token",
            "custom.nodesecret.*",
            Sensitivity::Secret,
        ),
        (
            "custom.nodesecret.a.b",
            "custom.nodesecret.*",
            Sensitivity::Secret,
        ),
    ] {
        check_resolves(name, name, generic);
        let attr = resolve(name).unwrap();
        assert_eq!(attr.spec.sensitivity, sensitivity, "{name}");
        assert_eq!(attr.spec.scope, Scope::Both, "{name}");
        assert_eq!(
            attr.normalize("anything at all").unwrap(),
            "anything at all"
        );
    }
    check_unknown("custom", None);
}

#[test]
fn unknown_names_suggest_the_nearest() {
    for (name, meant) in [
        ("location.rck", Some("location.rack")),
        (
            "hardwaremanagement.methd",
            Some("hardwaremanagement.method"),
        ),
        ("net.mgt.hwadr", Some("net.mgt.hwaddr")),
        ("net.a.b.ipv4_adress", Some("net.a.b.ipv4_address")),
        ("net.hwadr", Some("net.hwaddr")),
        ("power.psu1.pdo", Some("power.psu1.pdu")),
        ("loaction.rack", Some("location.rack")),
        ("Location.Rack", Some("location.rack")),
        ("NET.mgt.hwaddr", Some("net.mgt.hwaddr")),
        ("bmcpas", Some("bmcpass")),
        ("grups", Some("groups")),
        ("location.rack=3", Some("location.rack")),
        ("foo.bar", None),
        ("zzzzzzzzzzzz", None),
        ("secret.foo", None),
    ] {
        check_unknown(name, meant);
    }
    // The field itself holds the generic catalog name.
    let err = resolve("net.mgt.hwadr").unwrap_err();
    assert!(matches!(
        err,
        CatalogError::Unknown {
            suggestion: Some("net.hwaddr"),
            ..
        }
    ));
    assert_eq!(suggest(&"x".repeat(10_000)), None);
}

#[test]
fn unknown_messages_read_well() {
    for (name, msg) in [
        (
            "location.rck",
            r#"unknown attribute "location.rck" (did you mean "location.rack"?)"#,
        ),
        (
            "net.mgt.hwadr",
            r#"unknown attribute "net.mgt.hwadr" (did you mean "net.mgt.hwaddr"?)"#,
        ),
        (
            "foo.bar",
            r#"unknown attribute "foo.bar" (`cohort attributes` lists the valid names)"#,
        ),
    ] {
        assert_eq!(resolve(name).unwrap_err().to_string(), msg);
    }
}

#[test]
fn malformed_names_are_refused() {
    for name in [
        "",
        " ",
        ".",
        "a b",
        "location..rack",
        ".location.rack",
        "location.rack.",
        " bmc",
        "net.mgt hw.hwaddr",
        "location.rack{",
        "net.*.hwaddr",
        "loc\u{e9}ation.rack",
        "bmc\n",
    ] {
        let err = resolve(name).expect_err(name);
        assert!(matches!(err, CatalogError::Unknown { .. }), "{name:?}");
    }
    check_unknown(" bmc", Some("bmc"));
}

#[test]
fn guard_flags() {
    for (name, filterable, expressions, membership) in [
        ("location.rack", true, true, false),
        ("net.mgt.hwaddr", true, true, false),
        ("custom.x", true, true, false),
        ("bmcpass", false, false, false),
        ("custom.nodesecret.x", false, false, false),
        ("crypted.rootpassword", false, false, false),
        ("groups", true, false, true),
        ("nodes", true, false, true),
        ("noderange", true, false, true),
    ] {
        let attr = resolve(name).unwrap();
        assert_eq!(attr.is_filterable(), filterable, "{name} filterable");
        assert_eq!(attr.is_secret(), !filterable, "{name} secret");
        assert_eq!(
            attr.accepts_expressions(),
            expressions,
            "{name} expressions"
        );
        assert_eq!(attr.is_membership(), membership, "{name} membership");
    }
    assert_eq!(resolve("groups").unwrap().spec.scope, Scope::Node);
    assert_eq!(resolve("nodes").unwrap().spec.scope, Scope::Group);
    assert_eq!(resolve("noderange").unwrap().spec.scope, Scope::Group);
}

#[test]
fn secret_names() {
    for (name, secret) in [
        ("secret.hardwaremanagementpassword", true),
        ("secret.*", true),
        ("secret.ipmi?g", true),
        ("crypted.rootpassword", true),
        ("crypted.*", true),
        ("custom.nodesecret.x", true),
        ("custom.nodesecret.*", true),
        ("bmcuser", true),
        ("bmcpass", true),
        ("switchuser", true),
        ("switchpass", true),
        ("bmc", false),
        ("custom.nodesecret", false),
        ("custom.*", false),
        ("*", false),
        ("location.rack", false),
        ("secretary.x", false),
    ] {
        assert_eq!(is_secret_name(name), secret, "{name}");
    }
}

#[test]
fn glob_names() {
    for (glob, may) in [
        ("net.*switch", true),
        ("net.*", true),
        ("power.*", true),
        ("custom.*", true),
        ("location.*", true),
        ("*.rack", true),
        ("*rack", true),
        ("*", true),
        ("bmc*", true),
        ("hardwaremanagement.man*", true),
        ("*.mgt.hwaddr", true),
        ("n*.mgt.hwaddr", true),
        ("*mgt*", true),
        ("location.r?ck", true),
        ("location.rack", true),
        ("locaton.*", false),
        ("*.rck", false),
        ("*.mgt.hwadr", false),
        ("location.x*", false),
        ("foo*", false),
        ("", false),
        ("net.{x}", false),
        ("location.*=3", false),
    ] {
        assert_eq!(glob_may_match(glob), may, "{glob}");
    }
}
