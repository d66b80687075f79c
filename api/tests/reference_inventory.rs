//! The reference fixture of confluent.md §1.6 built through the real
//! `Inventory` (groups, inheritance, a dynamic group), then the reference
//! table's noderanges and the §2.5 expression examples evaluated against it.
//! The noderange module tests the same table against a stand-in universe;
//! this test checks that the inventory wires the language up faithfully.

use cohort_api::inventory::{Assignment, Inventory};

fn fixture() -> Inventory {
    let mut inv = Inventory::default();
    let a = |s: &str| Assignment::parse(s).expect("assignment");
    for g in ["compute", "gpu", "rack1", "rack2", "switches"] {
        inv.define_group(g, &[]).expect("group");
    }
    inv.set_group_attributes("compute", &[a("console.method=ipmi")])
        .expect("compute");
    let define = |inv: &mut Inventory, range: &str, attrs: &[&str]| {
        let attrs: Vec<Assignment> = attrs.iter().map(|s| a(s)).collect();
        inv.define_nodes_range(range, &attrs).expect(range);
    };
    define(&mut inv, "n[1-6]", &["groups=compute", "location.rack=1"]);
    define(
        &mut inv,
        "n[7-8]",
        &["groups=compute,gpu", "location.rack=2"],
    );
    define(&mut inv, "n[9-12]", &["groups=gpu", "location.rack=2"]);
    define(&mut inv, "d[01-04],pdu1", &[]);
    define(&mut inv, "r1u1,r1u2", &["groups=rack1"]);
    define(&mut inv, "r2u[1-2]", &["groups=rack2"]);
    define(&mut inv, "sw1,sw2", &["groups=switches"]);
    let set = inv.expand("n1-n4").expect("n1-n4");
    inv.set_node_attributes(&set, &[a("net.mgt.switch=sw1")])
        .expect("mgt");
    let set = inv.expand("n3,n4").expect("n3,n4");
    inv.set_node_attributes(&set, &[a("net.data.switch=sw2")])
        .expect("data");
    inv.define_group("all", &[a("noderange=everything,-switches")])
        .expect("all");
    inv
}

/// `expected` is a space-separated node list with `a..b` runs of `nN`, or
/// `!message start` for an error.
fn check(inv: &Inventory, input: &str, expected: &str) {
    match (inv.expand_names(input), expected.strip_prefix('!')) {
        (Ok(got), None) => assert_eq!(got, spell(expected), "{input}"),
        (Err(e), Some(msg)) => assert!(e.to_string().starts_with(msg), "{input}: {e}"),
        (got, _) => panic!("{input}: got {got:?}, expected {expected}"),
    }
}

fn spell(expected: &str) -> Vec<String> {
    let mut out = Vec::new();
    for word in expected.split_whitespace() {
        match word.split_once("..") {
            Some((a, b)) => {
                let lo: u32 = a.trim_start_matches('n').parse().expect("lo");
                let hi: u32 = b.trim_start_matches('n').parse().expect("hi");
                out.extend((lo..=hi).map(|i| format!("n{i}")));
            }
            None => out.push(word.to_owned()),
        }
    }
    out
}

#[test]
fn reference_table_through_the_inventory() {
    let inv = fixture();
    let all = "d01 d02 d03 d04 n1..n12 pdu1 r1u1 r1u2 r2u1 r2u2 sw1 sw2";
    for (input, expected) in [
        ("n1", "n1"),
        ("compute", "n1..n8"),
        ("n1-n3", "n1..n3"),
        ("n[1,3,5]", "n1 n3 n5"),
        ("n[1-5,-3]", "n1 n2 n4 n5"),
        ("n[1-9:4]", "n1 n5 n9"),
        ("n1+2", "n1..n3"),
        ("n8-n10", "n8..n10"),
        ("d01-d3", "d01 d02 d03"),
        ("d1-d3", "!Unknown node d1"),
        ("d01-d1", "!d01-d1 not valid"),
        ("n3-n1", "!n3-n1 not valid"),
        ("n[01-03]", "!n01 not a recognized node, group, or alias"),
        ("compute,gpu", "n1..n12"),
        ("compute@gpu", "n7 n8"),
        ("compute,-gpu", "n1..n6"),
        ("compute,-n2,n10", "n1 n3..n8 n10"),
        ("~n1.", "n10 n11 n12"),
        ("/^d0", "d01 d02 d03 d04"),
        ("location.rack=2", "n7..n12"),
        ("location.rack=~^1$", "n1..n6"),
        ("console.method=ipmi", "n1..n8"),
        ("compute>3", "n1..n3"),
        ("compute<6", "n7 n8"),
        ("n99", "!n99 not a recognized node, group, or alias"),
        ("n1,n99", "!n99 not a recognized node, group, or alias"),
        ("n1)", "!Invalid syntax"),
        (
            "secret.hardwaremanagementpassword=x",
            "!Filter by secret attributes is not supported",
        ),
        (
            "location.rck=1",
            "!location.rck is not a valid attribute name",
        ),
        ("everything", all),
        ("all", "d01 d02 d03 d04 n1..n12 pdu1 r1u1 r1u2 r2u1 r2u2"),
        ("rack1-rack2", "r1u1 r1u2 r2u1 r2u2"),
        ("r1u1-r2u2", "r1u1 r1u2 r2u1 r2u2"),
        ("net.mgt.switch=sw1", "n1..n4"),
        ("net.*switch=sw2", "n3 n4"),
        (
            "location.rack=",
            "d01 d02 d03 d04 pdu1 r1u1 r1u2 r2u1 r2u2 sw1 sw2",
        ),
        (
            "location.rack!=1",
            "d01 d02 d03 d04 n7..n12 pdu1 r1u1 r1u2 r2u1 r2u2 sw1 sw2",
        ),
        ("<20", "r2u2 sw1 sw2"),
        ("groups=~gpu", "n7..n12"),
    ] {
        check(&inv, input, expected);
    }
}

#[test]
fn reference_expressions_through_the_inventory() {
    let mut inv = fixture();
    let a = |s: &str| Assignment::parse(s).expect("assignment");
    let compute = inv.expand("compute").expect("compute");
    inv.set_node_attributes(
        &compute,
        &[
            a("location.row=rack{(n1-1)/42+1}"),
            a("location.u={(n1-1)%42+1}"),
            a("net.mgt.ipv4_address=10.2.3.{n1}"),
            a("hardwaremanagement.manager={node}-imm"),
            a("info.note={n1:02d}"),
        ],
    )
    .expect("expressions");
    let value = |inv: &Inventory, node: &str, attr: &str| {
        inv.node_value(node, attr)
            .map(|v| v.value.to_owned())
            .expect(attr)
    };
    assert_eq!(value(&inv, "n7", "location.row"), "rack1");
    assert_eq!(value(&inv, "n7", "location.u"), "7");
    assert_eq!(value(&inv, "n7", "net.mgt.ipv4_address"), "10.2.3.7");
    assert_eq!(value(&inv, "n7", "hardwaremanagement.manager"), "n7-imm");
    assert_eq!(value(&inv, "n7", "info.note"), "07");
    // An expression on a group is evaluated in each member's context.
    inv.set_group_attributes("rack1", &[a("info.note=r{n1}u{n2}")])
        .expect("rack1");
    assert_eq!(value(&inv, "r1u2", "info.note"), "r1u2");
    let blame = inv.node_value("r1u2", "info.note").expect("blame").blame();
    assert_eq!(
        blame,
        "(inherited from group rack1, derived from expression \"r{n1}u{n2}\")"
    );
}
