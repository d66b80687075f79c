//! Every row of the reference table (confluent.md §1.6), one case each.

use super::check;

#[test]
fn t10_names_and_groups() {
    check("n1", "n1"); // 1
    check("compute", "n1..n8"); // 2
    check("compute,gpu", "n1..n12"); // 18
}

#[test]
fn t10_ranges() {
    check("n1-n3", "n1 n2 n3"); // 3
    check("n1:n3", "n1 n2 n3"); // 3
    check("n1..n3", "n1 n2 n3"); // 3
    check("n1+2", "n1 n2 n3"); // 8
    check("n8-n10", "n8 n9 n10"); // 9
    check("d01-d03", "d01 d02 d03"); // 10
    check("d01-d3", "d01 d02 d03"); // 11
}

#[test]
fn t10_brackets() {
    check("n[1-3]", "n1 n2 n3"); // 4
    check("n[1:3]", "n1 n2 n3"); // 4
    check("n[1..3]", "n1 n2 n3"); // 4
    check("n[1,3,5]", "n1 n3 n5"); // 5
    check("n[1-5,-3]", "n1 n2 n4 n5"); // 6
    check("n[1-9:4]", "n1 n5 n9"); // 7
    check("d[01-03]", "d01 d02 d03"); // 10
}

#[test]
fn t10_range_errors() {
    check("d1-d3", "!Unknown node d1"); // 12
    check("d01-d1", "!d01-d1 not valid"); // 13
    check("n3-n1", "!n3-n1 not valid"); // 14
    check("n[01-03]", "!n01 not a recognized node, group, or alias"); // 15
}

#[test]
fn t10_operators() {
    check("compute@gpu", "n7 n8"); // 19
    check("compute,-gpu", "n1..n6"); // 20
    check("compute,-n2,n10", "n1 n3..n8 n10"); // 21
}

#[test]
fn t10_regular_expressions() {
    check("~n1.", "n10 n11 n12"); // 25
    check("~^n[0-9]$", "n1..n9"); // 26
    check("/^d0", "d01 d02 d03 d04"); // 27
}

#[test]
fn t10_filters() {
    check("location.rack=2", "n7..n12"); // 28
    check("location.rack==2", "n7..n12"); // 28
    check("location.rack=~^1$", "n1..n6"); // 29
    check("console.method=ipmi", "n1..n8"); // 34
}

#[test]
fn t10_pagination() {
    check("compute>3", "n1 n2 n3"); // 35
    check("compute<6", "n7 n8"); // 36
}

#[test]
fn t10_errors() {
    check("n99", "!n99 not a recognized node, group, or alias"); // 42
    check("n1,n99", "!n99 not a recognized node, group, or alias"); // 42
    check("n1)", "!Invalid syntax"); // 43
    check(
        "secret.hardwaremanagementpassword=x",
        "!Filter by secret attributes is not supported",
    ); // 44
    check(
        "location.rck=1",
        "!location.rck is not a valid attribute name",
    ); // 45
}
