//! Ranges, group ranges, `+`, brackets and strides.

use super::{Fixture, check, check_in};

#[test]
fn t30_multi_number_ranges() {
    check("r1u1-r2u2", "r1u1 r1u2 r2u1 r2u2");
    check("r1u1:r1u2", "r1u1 r1u2");
    check("r1u2..r2u2", "r1u2 r2u2");
    check("r[1-2]u[1-2]", "r1u1 r1u2 r2u1 r2u2");
    check("r[1-2]u2", "r1u2 r2u2");
    check("r1u1-r3u3", "!Unknown node r1u3");
}

#[test]
fn t30_group_ranges() {
    check("rack1-rack2", "r1u1 r1u2 r2u1 r2u2");
    check("rack1:rack2", "r1u1 r1u2 r2u1 r2u2");
    check("rack[1-2]", "r1u1 r1u2 r2u1 r2u2");
    check("rack1-rack3", "!Unknown node rack3");
    check("rack[1-3]", "!rack3 not a recognized node, group, or alias");
}

#[test]
fn t30_dynamic_groups_inside_ranges() {
    let f = Fixture::reference()
        .group("dyn1", &[], Some("n1,n2"))
        .group("dyn2", &["n9"], Some("n3"));
    check_in(&f, "dyn1-dyn2", "n1 n2 n3 n9");
    check_in(&f, "dyn[1-2]", "n1 n2 n3 n9");
    check_in(&f, "dyn2,-n9", "n3");
}

#[test]
fn t30_plus() {
    check("n10+2", "n10 n11 n12");
    check("n1+0", "n1");
    check("d01+3", "d01 d02 d03 d04");
    check("n12+1", "!Unknown node n13");
    check("n+2", "!n+2 not valid");
    check("n1+2+3", "!n1+2+3 not valid");
    check("n1+x", "!n1+x not valid");
    let f = Fixture::new(&["n1.dom", "n2.dom", "n3.dom"]);
    check_in(&f, "n1.dom+2", "n1.dom n2.dom n3.dom");
}

#[test]
fn t30_names_with_dashes_and_dots() {
    let f = Fixture::new(&[
        "node-01", "node-02", "node-03", "n1.dom", "n2.dom", "n3.dom",
    ]);
    check_in(&f, "node-01-node-03", "node-01 node-02 node-03");
    check_in(&f, "node-01", "node-01");
    check_in(&f, "node-[01-02]", "node-01 node-02");
    check_in(&f, "n1.dom-n3.dom", "n1.dom n2.dom n3.dom");
    check_in(&f, "n1.dom..n2.dom", "n1.dom n2.dom");
    check_in(&f, "node-1-node-3", "!Unknown node node-1");
}

#[test]
fn t30_invalid_ranges() {
    check("n1-n3-n5", "!n1-n3-n5 not valid");
    check("n1-x3", "!n1-x3 not valid");
    check("foo-bar", "!foo-bar not valid");
    check("-n1", "!-n1 not valid");
    check("n1-", "!n1- not valid");
    check("n1-n1", "n1");
    check("n1:n3-n5", "!n1:n3-n5 not valid");
    check(
        "n01-n1",
        "!n01-n1 not valid (the same number with different zero padding)",
    );
    check(
        "n3-n1",
        "!n3-n1 not valid (the left side is larger than the right side)",
    );
}

#[test]
fn t30_strides() {
    check("n[1-12:5]", "n1 n6 n11");
    check("n[1:12:5]", "n1 n6 n11");
    check("n[1..12:5]", "n1 n6 n11");
    check("n[2-12:2]", "n2 n4 n6 n8 n10 n12");
    check("n[1-10:100]", "n1");
    check("n[1-10:0]", "!stride 0 in \"1-10:0\"");
    check("n[1-10:x]", "!1-10:x not valid");
}

#[test]
fn t30_bracket_set_operations() {
    check("n[1-12,-2-11]", "n1 n12");
    check("n[1-12@3-5]", "n3 n4 n5");
    check("n[1-12>2]", "n1 n2");
    check("n[1-12<10]", "n11 n12");
    check("n[(1-3),5]", "n1 n2 n3 n5");
    check("n[1,,2]", "n1 n2");
    check("n[1,-1]", "");
    check("n[2,1,10]", "n1 n2 n10");
    check("n[3-1]", "!3-1 not valid");
    check("n[a-c]", "!a-c not valid");
    check("n[1-2-3-4]", "!1-2-3-4 not valid");
    check(
        "n[<3]",
        "!Invalid syntax: a bracket cannot start with < or >",
    );
}

#[test]
fn t30_bracket_forms() {
    check("pdu[1]", "pdu1");
    check("sw[1-2]", "sw1 sw2");
    check("d0[1-4]", "d01 d02 d03 d04");
    check("[n1,n2]", "n1 n2");
    check("n[1-2]-n4", "n1 n2 n3 n4");
    check("d[01-02],d[3-4]", "!d3 not a recognized node");
    check("n[1+2]", "n1 n2 n3");
    check("[d,n]1", "!d1 not a recognized node");
    check("[n,sw]1", "n1 sw1");
}
