//! Catalog tests, one table-driven helper per concern: names
//! (`names.rs`), values (`values.rs`), and the table itself (here).

use super::*;
use proptest::prelude::*;

mod names;
mod values;

/// Resolves `name` and checks the stored name and the catalog row used.
#[track_caller]
fn check_resolves(name: &str, canonical: &str, generic: &str) {
    let attr = resolve(name).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(attr.canonical, canonical, "canonical of {name}");
    assert_eq!(attr.spec.name, generic, "catalog row of {name}");
}

/// Expects `name` refused; `meant` is what the message should suggest.
#[track_caller]
fn check_unknown(name: &str, meant: Option<&str>) {
    let err = resolve(name).expect_err(name);
    assert!(
        matches!(err, CatalogError::Unknown { .. }),
        "{name}: {err:?}"
    );
    assert_eq!(
        err.did_you_mean().as_deref(),
        meant,
        "suggestion for {name:?}"
    );
    let msg = err.to_string();
    assert!(
        msg.contains(&format!("{name:?}")),
        "{msg} should name {name:?}"
    );
    match meant {
        Some(m) => assert!(msg.contains(&format!("did you mean {m:?}?")), "{msg}"),
        None => assert!(
            msg.contains("`cohort attributes` lists the valid names"),
            "{msg}"
        ),
    }
}

/// Normalizes `value` for attribute `name`. `Ok(form)` is the stored form;
/// `Err(fragments)` are pieces the error message must contain (besides the
/// attribute name, which it always must).
#[track_caller]
fn check_value(name: &str, value: &str, want: Result<&str, &[&str]>) {
    let attr = resolve(name).unwrap_or_else(|e| panic!("{name}: {e}"));
    match (attr.normalize(value), want) {
        (Ok(got), Ok(w)) => assert_eq!(got, w, "{name}={value:?}"),
        (Err(e), Err(fragments)) => {
            let msg = e.to_string();
            assert!(matches!(e, CatalogError::BadValue { .. }), "{msg}");
            assert!(msg.contains(name), "{msg} should name {name}");
            for f in fragments {
                assert!(msg.contains(f), "{name}={value:?}: {msg:?} lacks {f:?}");
            }
        }
        (got, w) => panic!("{name}={value:?}: got {got:?}, want {w:?}"),
    }
}

#[test]
fn table_is_sorted_described_and_consistent() {
    let table = all();
    assert!(table.len() > 80, "{}", table.len());
    for pair in table.windows(2) {
        assert!(
            pair[0].name < pair[1].name,
            "{} before {}",
            pair[0].name,
            pair[1].name
        );
    }
    for spec in table {
        assert!(
            !spec.description.trim().is_empty(),
            "{} has no description",
            spec.name
        );
        let name = spec.name.strip_suffix(".*").unwrap_or(spec.name);
        assert!(is_valid_name(name), "{}", spec.name);
        if let ValueType::Enum(v) | ValueType::EnumList(v) | ValueType::KeyValues(v) = spec.ty {
            assert!(
                !v.is_empty() && v.iter().all(|x| !x.is_empty()),
                "{}",
                spec.name
            );
        }
        if !spec.name.ends_with(".*") {
            assert_eq!(
                resolve(spec.name).unwrap().spec,
                spec,
                "{} resolves to itself",
                spec.name
            );
        }
        let secret_family = is_secret_name(spec.name);
        assert_eq!(
            spec.sensitivity != Sensitivity::Plain,
            secret_family,
            "{}",
            spec.name
        );
    }
    for (alias, real) in aliases() {
        assert!(spec(real).is_some() && spec(alias).is_none(), "{alias}");
    }
    for (name, _) in table::CANONICAL_FORMS {
        assert!(
            spec(name).is_some_and(|s| s.check.is_some()),
            "{name} needs a check"
        );
    }
}

#[test]
fn every_brief_attribute_is_present() {
    for name in [
        "location.room",
        "location.row",
        "location.rack",
        "location.u",
        "location.height",
        "id.uuid",
        "id.serial",
        "id.model",
        "id.index",
        "hardwaremanagement.manager_tls_name",
        "hardwaremanagement.vlan",
        "secret.ipmikg",
        "secret.snmpcommunity",
        "snmp.privacyprotocol",
        "console.logging",
        "collective.managercandidates",
        "deployment.pendingprofile",
        "deployment.stagedprofile",
        "deployment.state_last_updated",
        "deployment.client_ip",
        "deployment.sealedapikey",
        "deployment.useinsecureprotocols",
        "deployment.storage",
        "discovery.nodeconfig",
        "net.interface_names",
        "net.connection_name",
        "net.extra_settings",
        "net.switchport",
        "dns.domain",
        "enclosure.extends",
        "crypted.grubpassword",
        "crypted.selfapikey",
        "secret.selfapiarmtoken",
        "ssh.trustnodes",
        "pubkeys.tls_hardwaremanager",
        "pubkeys.tls",
        "pubkeys.ssh",
        "info.note",
    ] {
        assert!(spec(name).is_some(), "{name} missing");
    }
}

proptest! {
    #[test]
    fn nothing_panics_on_any_input(name in "\\PC{0,40}", value in "\\PC{0,40}") {
        let _ = suggest(&name);
        let _ = glob_may_match(&name);
        let _ = is_secret_name(&name);
        if let Err(e) = resolve(&name) {
            let _ = e.to_string();
        }
        for spec in all().iter().filter(|s| !s.name.ends_with(".*")) {
            let _ = resolve(spec.name).unwrap().normalize(&value);
        }
    }

    #[test]
    fn normalizing_is_idempotent(
        name in prop::sample::select(vec![
            "net.hwaddr", "id.uuid", "net.ipv6_address", "trusted.subnets", "discovery.policy",
            "discovery.passwordrules", "net.bootable", "id.index", "groups", "hardwaremanagement.port",
        ]),
        value in "[0-9a-fA-F:.,/= -]{0,30}|[a-z_=, ]{0,30}",
    ) {
        let attr = resolve(name).unwrap();
        if let Ok(once) = attr.normalize(&value) {
            prop_assert_eq!(attr.normalize(&once), Ok(once.clone()), "{}={:?}", name, value);
        }
    }
}
