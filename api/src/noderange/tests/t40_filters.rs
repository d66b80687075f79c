//! Attribute filters and regular expressions.

use super::{Fixture, check};
use crate::noderange::{Limits, NoderangeError, expand};

const EVERY: &str = "d01 d02 d03 d04 n1..n12 pdu1 r1u1 r1u2 r2u1 r2u2 sw1 sw2";
const UNRACKED: &str = "d01 d02 d03 d04 pdu1 r1u1 r1u2 r2u1 r2u2 sw1 sw2";

#[test]
fn t40_operators() {
    check(
        "location.rack!=1",
        "d01 d02 d03 d04 n7..n12 pdu1 r1u1 r1u2 r2u1 r2u2 sw1 sw2",
    );
    check("location.rack=~2", "n7..n12");
    check(
        "location.rack!~1",
        "d01 d02 d03 d04 n7..n12 pdu1 r1u1 r1u2 r2u1 r2u2 sw1 sw2",
    );
    check("location.rack==1", "n1..n6");
    check("location.rack=3", "");
    check("location.rack==1=2", "");
    check(
        "location.rack=1=2",
        "!Invalid syntax: attribute filter \"location.rack=1=2\" contains \"=\" more than once",
    );
}

#[test]
fn t40_unset_reads_as_empty() {
    check("location.rack=", UNRACKED);
    check("location.rack!=", "n1..n12");
    check("custom.anything=", EVERY);
    check("bmc=", EVERY);
}

#[test]
fn t40_glob_attribute_names() {
    check("net.*switch=sw1", "n1..n4");
    check("net.*switch=sw2", "n3 n4");
    check("net.*.switch=~^sw", "n1..n4");
    check("net.mgt.switch=sw1", "n1..n4");
    // The extra "" confluent compares for globs: every node matches.
    check("net.*switch!=sw1", EVERY);
    check("net.*switch=", EVERY);
    check("net.*switch!~sw", EVERY);
}

#[test]
fn t40_filters_after_operators() {
    check("compute@location.rack=2", "n7 n8");
    check("compute,-location.rack=1", "n7 n8");
    check("gpu,-console.method=ipmi", "n9..n12");
    check("console.method=ipmi@gpu", "n7 n8");
    check("location.rack=1,location.rack=2", "n1..n12");
    check("(location.rack=1),-n[1-5]", "n6");
}

#[test]
fn t40_secret_filters_are_refused() {
    check(
        "secret.hardwaremanagementpassword=x",
        "!Filter by secret attributes is not supported",
    );
    check("bmcpass=x", "!Filter by secret attributes is not supported");
    check(
        "crypted.rootpassword=x",
        "!Filter by secret attributes is not supported",
    );
    check(
        "custom.nodesecret.token=~a",
        "!Filter by secret attributes is not supported",
    );
    check(
        "secret.*=x",
        "!Filter by secret attributes is not supported",
    );
    check("*=x", "!Filter by secret attributes is not supported");
    check("s*=x", "!Filter by secret attributes is not supported");
    check(
        "custom.*=x",
        "!Filter by secret attributes is not supported",
    );
}

#[test]
fn t40_unknown_attributes() {
    check(
        "location.rck=1",
        "!location.rck is not a valid attribute name",
    );
    check("locaton.*=x", "!locaton.* is not a valid attribute name");
    check("=x", "! is not a valid attribute name");
    let err = expand("location.rck=1", &Fixture::reference(), &Limits::default()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "location.rck is not a valid attribute name (did you mean \"location.rack\"?)"
    );
}

#[test]
fn t40_regex_atoms() {
    check("~^sw", "sw1 sw2");
    check("~^n1$,~^n2$", "n1 n2");
    check("compute,-~[2-4]", "n1 n5 n6 n7 n8");
    check("compute@~1", "n1");
    check("~^rack", "");
    check("~u", "pdu1 r1u1 r1u2 r2u1 r2u2");
    check("~^r.u", "r1u1 r1u2 r2u1 r2u2");
    check("/d0[12]$", "d01 d02");
}

#[test]
fn t40_regex_errors() {
    check("~*", "!invalid regular expression \"*\"");
    check("~[z-a]", "!invalid regular expression \"[z-a]\"");
    check("location.rack=~*", "!invalid regular expression");
    check("~(", "!Invalid syntax: '(' without a matching ')'");
    check("~n1|n2", "!Invalid syntax");
    check("~n[", "!Invalid syntax");
    let long = format!("~{}", "a".repeat(2000));
    check(&long, "!regular expression \"aaaa");
    let tiny = Limits {
        max_regex_size: 1000,
        ..Limits::default()
    };
    let err = expand("~[\\w][\\w][\\w][\\w]", &Fixture::reference(), &tiny).unwrap_err();
    assert!(matches!(err, NoderangeError::InvalidRegex { .. }), "{err}");
}

#[test]
fn t40_selectors_inside_brackets_are_refused() {
    check("n[~1]", "!\"~1\" is not allowed inside [...]");
    check("n[a=1]", "!\"a=1\" is not allowed inside [...]");
    check("n[/1]", "!\"/1\" is not allowed inside [...]");
}
