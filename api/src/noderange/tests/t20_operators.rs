//! Operators, parentheses, whitespace, pagination and syntax errors.

use super::{Fixture, check};
use crate::noderange::{Limits, expand};

const ALL_BUT_SWITCHES: &str = "d01 d02 d03 d04 n1..n12 pdu1 r1u1 r1u2 r2u1 r2u2";

#[test]
fn t20_left_to_right_without_precedence() {
    check("compute@gpu,n1", "n1 n7 n8");
    check("n1,compute@gpu", "n7 n8");
    check("compute,-gpu,n10", "n1..n6 n10");
    check("gpu,compute@n8", "n8");
    check("compute,-n1,-n2", "n3..n8");
    check("compute,-n1,n2,n1", "n1..n8");
    check("compute@gpu@n7", "n7");
}

#[test]
fn t20_parentheses() {
    check("(compute,gpu)@rack1", "");
    check("(compute,gpu)@location.rack=1", "n1..n6");
    check("compute,-(gpu,n1)", "n2..n6");
    check("((n1,n2),(n3))", "n1 n2 n3");
    check("(((n1)))", "n1");
    check("compute@(gpu,-n7)", "n8");
    check("(n1)(n2)", "n1 n2");
    check("n1(n2)", "n1 n2");
}

#[test]
fn t20_groups_static_dynamic_and_implicit() {
    check("all", ALL_BUT_SWITCHES);
    check("everything,-all", "sw1 sw2");
    check("switches", "sw1 sw2");
    check("rack1,rack2", "r1u1 r1u2 r2u1 r2u2");
    check("all@compute,-gpu", "n1..n6");
}

#[test]
fn t20_node_wins_over_group_of_same_name() {
    let f = Fixture::new(&["x", "y"]).group("x", &["y"], None);
    super::check_in(&f, "x", "x");
}

#[test]
fn t20_whitespace() {
    check("n1, n2", "n1 n2");
    check(" n1 ,n2 ", "n1 n2");
    check("n 1", "n1");
    check("n [2-3]", "n2 n3");
    check("n[1, 3]", "n1 n3");
    check("compute ,- gpu", "n1..n6");
    check("\tn1\n", "n1");
}

#[test]
fn t20_syntax_errors() {
    let u = Fixture::reference();
    let err = expand("n1)", &u, &Limits::default()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Invalid syntax: unexpected ')' at position 3 in \"n1)\""
    );
    check("", "!Invalid syntax: empty noderange");
    check("   ", "!Invalid syntax: empty noderange");
    check(
        "(n1",
        "!Invalid syntax: '(' without a matching ')' at position 1",
    );
    check("n1,()", "!Invalid syntax: empty parentheses");
    check("n1#", "!Invalid syntax: unexpected '#' at position 3");
    check("n1;n2", "!Invalid syntax");
    check("n1|n2", "!Invalid syntax");
    check("{n1}", "!Invalid syntax");
    check("n?", "!Invalid syntax");
    check("n1é", "!Invalid syntax: unexpected 'é' at position 3");
    check(
        "n[1-2",
        "!Invalid syntax: '[' without a matching ']' at position 2",
    );
    check("n1]", "!Invalid syntax: unexpected ']'");
    check("n[]", "!Invalid syntax: empty brackets");
    check("n\"1\"", "!Invalid syntax");
}

#[test]
fn t20_operator_placement() {
    check(
        ",n1",
        "!Invalid syntax: operator with nothing on its left at position 1",
    );
    check("@n1", "!Invalid syntax");
    check(",-n1", "!Invalid syntax");
    check("n1,(,n2)", "!Invalid syntax");
    check("n1,", "n1");
    check("n1,,n2", "n1 n2");
    check("n1,@n2", "");
    check("n1, -n2", "!-n2 not valid");
}

#[test]
fn t20_pagination_is_global_and_after_sorting() {
    check("compute<2>3", "n3 n4 n5");
    check("compute>3<2", "n3 n4 n5");
    check("compute<2<4", "n5..n8");
    check("(compute>2),gpu", "n1 n2");
    check("gpu,compute>2", "n1 n2");
    check("compute@gpu>1", "n7");
    check("compute>0", "");
    check("compute<99999999999999999999999", "");
    check("compute>99999999999999999999999", "n1..n8");
    check("n1<3", "");
    check("(<2)", "");
}

#[test]
fn t20_pagination_first_pages_all_nodes() {
    check(">2", "d01 d02");
    check("<20", "r2u2 sw1 sw2");
    check("<3>2,compute", "d04 n1");
    check(">2,n5", "d01 d02");
    check(" >1", "d01");
    check(">2,n99", "!n99 not a recognized node");
}

#[test]
fn t20_pagination_errors() {
    check("<", "!pagination \"<\" needs a number");
    check("compute>", "!pagination \">\" needs a number");
    check("compute> 3", "!pagination");
}
