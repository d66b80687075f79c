//! Define mode (`nodedefine`): names without an inventory.

use super::check;

#[test]
fn t60_ranges_spell_names() {
    check("define:n[1-3]", "n1 n2 n3");
    check("define:r1u1-r1u3", "r1u1 r1u2 r1u3");
    check("define:node-01-node-03", "node-01 node-02 node-03");
    check("define:d01-d3", "d01 d02 d03");
    check("define:d1-d3", "d1 d2 d3");
    check("define:n[01-03]", "n01 n02 n03");
    check("define:n1+2", "n1 n2 n3");
    check("define:r[1-2]u[1-2]", "r1u1 r1u2 r2u1 r2u2");
    check("define:n1.dom-n3.dom", "n1.dom n2.dom n3.dom");
    check("define:n[1-2]-n4", "n1 n2 n3 n4");
}

#[test]
fn t60_invalid_ranges_stay_literal() {
    check("define:n3-n1", "n3-n1");
    check("define:d01-d1", "d01-d1");
    check("define:a1-b1", "a1-b1");
    check("define:node-01", "node-01");
    check("define:compute", "compute");
    check("define:x", "x");
}

#[test]
fn t60_set_operations_and_order() {
    check("define:n[1-5],-n3", "n1 n2 n4 n5");
    check("define:n[1-5]@n[4-9]", "n4 n5");
    check("define:n[2,1,10]", "n1 n2 n10");
    check("define:n10,n9,n1", "n1 n9 n10");
    check("define:n1,n1,n1", "n1");
    check("define:(n1,n2),-(n2)", "n1");
}

#[test]
fn t60_pagination() {
    check("define:n[1-10]>3", "n1 n2 n3");
    check("define:n[1-10]<8", "n9 n10");
    check(
        "define:<3",
        "!noderanges that start with < or > need existing nodes",
    );
}

#[test]
fn t60_selectors_are_refused() {
    check(
        "define:~n1",
        "!regular expressions and attribute filters need existing nodes; they cannot be used to define nodes",
    );
    check(
        "define:a=b",
        "!regular expressions and attribute filters need existing nodes",
    );
    check(
        "define:n1,location.rack=1",
        "!regular expressions and attribute filters",
    );
    check("define:n+2", "!n+2 not valid");
    check("define:n1)", "!Invalid syntax");
}
