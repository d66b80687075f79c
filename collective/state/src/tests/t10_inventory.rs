//! Inventory commands through `State::apply`.

use super::*;
use crate::ErrorCode::{AlreadyExists, FailedPrecondition, InvalidArgument, NotFound};

#[test]
fn define_nodes_with_attributes_and_groups() {
    let s = check(&[
        (gdefine("compute", &["location.room=R1"]), Done),
        (
            define("n[1-4]", &["groups=compute", "location.rack=7"]),
            Changed(4),
        ),
        (define("sw1", &[]), Done),
    ]);
    assert_eq!(nodes(&s), ["n1", "n2", "n3", "n4", "sw1"]);
    assert_eq!(attr(&s, "n3", "location.rack").as_deref(), Some("7"));
    assert_eq!(attr(&s, "n3", "location.room").as_deref(), Some("R1"));
    assert_eq!(attr(&s, "sw1", "location.room"), None);
}

#[test]
fn define_nodes_refusals() {
    check(&[
        (define("n[1-2]", &[]), Done),
        (
            define("n[2-3]", &[]),
            Refused(AlreadyExists, "node \"n2\" already exists"),
        ),
        (
            define("n[", &[]),
            Refused(InvalidArgument, "Invalid syntax"),
        ),
        (
            define("bad/name", &[]),
            Refused(InvalidArgument, "not a valid node name"),
        ),
        (
            define("n5", &["nosuch.attr=1"]),
            Refused(InvalidArgument, "nosuch.attr"),
        ),
        (
            define("n5", &["location.rack"]),
            Refused(InvalidArgument, "not an attribute assignment"),
        ),
        (
            define("n5", &["groups=nosuch"]),
            Refused(NotFound, "group nosuch does not exist"),
        ),
    ]);
}

#[test]
fn set_node_attributes_over_a_noderange() {
    let s = check(&[
        (define("n[1-6]", &[]), Done),
        (
            set("n[2-4]", &["location.rack=9", "console.method=ipmi"]),
            Changed(3),
        ),
        (
            set("n[1-6],-n[2-4]", &["location.rack={n1+100}"]),
            Changed(3),
        ),
    ]);
    assert_eq!(attr(&s, "n3", "location.rack").as_deref(), Some("9"));
    assert_eq!(attr(&s, "n3", "console.method").as_deref(), Some("ipmi"));
    assert_eq!(attr(&s, "n6", "location.rack").as_deref(), Some("106"));
    assert_eq!(attr(&s, "n1", "console.method"), None);
}

#[test]
fn set_node_attributes_refusals() {
    check(&[
        (define("n[1-2]", &[]), Done),
        (set("n9", &["location.rack=1"]), Refused(NotFound, "n9")),
        (
            set("n[1-2],-n[1-2]", &["location.rack=1"]),
            Refused(InvalidArgument, "No action to take, noderange is empty"),
        ),
        (
            set("n1", &["console.method=telepathy"]),
            Refused(InvalidArgument, "telepathy"),
        ),
        (
            set("n1", &["location.rack=1", "bogus=2"]),
            Refused(InvalidArgument, "bogus"),
        ),
        (set("n1", &[]), Refused(InvalidArgument, "nothing to do")),
        (
            set("n1", &["location.rack={"]),
            Refused(InvalidArgument, "location.rack"),
        ),
    ]);
}

#[test]
fn a_noderange_is_evaluated_at_apply_time() {
    // The same command text selects what the group holds when it applies.
    let s = check(&[
        (gdefine("compute", &[]), Done),
        (define("n[1-3]", &[]), Done),
        (gset("compute", &["nodes=n1"]), Changed(1)),
        (set("compute", &["location.rack=A"]), Changed(1)),
        (gset("compute", &["nodes,=n2"]), Changed(1)),
        (set("compute", &["location.rack=B"]), Changed(2)),
    ]);
    assert_eq!(attr(&s, "n1", "location.rack").as_deref(), Some("B"));
    assert_eq!(attr(&s, "n2", "location.rack").as_deref(), Some("B"));
    assert_eq!(attr(&s, "n3", "location.rack"), None);
}

#[test]
fn clear_node_attributes_reinherits() {
    let s = check(&[
        (gdefine("g", &["location.rack=G"]), Done),
        (define("n[1-2]", &["groups=g", "location.rack=own"]), Done),
        (
            clear("n1", &["location.rack"]),
            Warns("now inherited from group g"),
        ),
        (clear("n1", &["groups"]), Changed(1)),
    ]);
    assert_eq!(attr(&s, "n1", "location.rack"), None);
    assert_eq!(attr(&s, "n2", "location.rack").as_deref(), Some("own"));
}

#[test]
fn clear_node_attributes_refusals() {
    check(&[
        (define("n1", &["location.rack=1"]), Done),
        (clear("n2", &["location.rack"]), Refused(NotFound, "n2")),
        (
            clear("n1", &["location.rck"]),
            Refused(InvalidArgument, "location.rck"),
        ),
        (clear("n1", &[]), Refused(InvalidArgument, "nothing to do")),
        (
            clear("n1,-n1", &["location.rack"]),
            Refused(InvalidArgument, "No action to take, noderange is empty"),
        ),
    ]);
}

#[test]
fn remove_nodes_and_refusals() {
    let s = check(&[
        (define("n[1-5]", &[]), Done),
        (remove("n[2-3]"), Changed(2)),
        (remove("n2"), Refused(NotFound, "n2")),
        (
            remove("n1,-n1"),
            Refused(InvalidArgument, "No action to take, noderange is empty"),
        ),
    ]);
    assert_eq!(nodes(&s), ["n1", "n4", "n5"]);
}

#[test]
fn rename_node_and_refusals() {
    let s = check(&[
        (define("n[1-2]", &["net.mgt.switch=n1"]), Done),
        (rename("n1", "a1"), Changed(2)),
        (
            rename("n1", "b1"),
            Refused(NotFound, "node \"n1\" does not exist"),
        ),
        (
            rename("a1", "n2"),
            Refused(AlreadyExists, "node \"n2\" already exists"),
        ),
        (
            rename("a1", "bad name"),
            Refused(InvalidArgument, "bad name"),
        ),
    ]);
    assert_eq!(nodes(&s), ["a1", "n2"]);
    assert_eq!(attr(&s, "n2", "net.mgt.switch").as_deref(), Some("a1"));
}

#[test]
fn groups_define_set_clear() {
    let s = check(&[
        (define("n[1-3]", &[]), Done),
        (
            gdefine("rack1", &["nodes=n[1-2]", "location.rack=1"]),
            Changed(2),
        ),
        (gdefine("odd", &["noderange=n1,n3"]), Done),
        (gset("rack1", &["location.room=west"]), Changed(2)),
        (gclear("rack1", &["location.rack"]), Done),
        (set("odd", &["location.u=4"]), Changed(2)),
    ]);
    assert_eq!(attr(&s, "n2", "location.room").as_deref(), Some("west"));
    assert_eq!(attr(&s, "n2", "location.rack"), None);
    assert_eq!(attr(&s, "n3", "location.u").as_deref(), Some("4"));
    assert_eq!(s.inventory().group_members("odd").unwrap(), ["n1", "n3"]);
}

#[test]
fn group_refusals() {
    check(&[
        (define("n1", &[]), Done),
        (gdefine("g", &[]), Done),
        (
            gdefine("g", &[]),
            Refused(AlreadyExists, "group \"g\" already exists"),
        ),
        (
            gdefine("bad/name", &[]),
            Refused(InvalidArgument, "bad/name"),
        ),
        (gdefine("dyn", &["noderange=n1"]), Done),
        (
            gset("dyn", &["location.rack=1"]),
            Refused(FailedPrecondition, "dynamic"),
        ),
        (
            gset("nosuch", &["location.rack=1"]),
            Refused(NotFound, "group nosuch does not exist"),
        ),
        (gset("g", &[]), Refused(InvalidArgument, "nothing to do")),
        (gset("g", &["nodes=n9"]), Refused(NotFound, "n9")),
        (
            gclear("nosuch", &["location.rack"]),
            Refused(NotFound, "nosuch"),
        ),
        (gclear("g", &[]), Refused(InvalidArgument, "nothing to do")),
        (
            gremove("everything"),
            Refused(InvalidArgument, "everything"),
        ),
        (gremove("nosuch"), Refused(NotFound, "nosuch")),
    ]);
}

#[test]
fn remove_and_rename_groups() {
    let s = check(&[
        (gdefine("a", &["location.rack=A"]), Done),
        (gdefine("dyn", &["noderange=a"]), Done),
        (define("n[1-2]", &["groups=a"]), Done),
        (grename("a", "b"), Changed(2)),
        (
            grename("a", "c"),
            Refused(NotFound, "group a does not exist"),
        ),
        (
            grename("b", "dyn"),
            Refused(AlreadyExists, "group \"dyn\" already exists"),
        ),
        (
            grename("everything", "all"),
            Refused(InvalidArgument, "everything"),
        ),
        (gremove("b"), Warns("dyn still names b")),
    ]);
    assert_eq!(attr(&s, "n1", "location.rack"), None);
    assert!(s.inventory().has_group("dyn"));
    assert!(!s.inventory().has_group("b"));
}

#[test]
fn a_large_define_is_one_request() {
    // `nodedefine n[1-100000]` is one log entry; debug builds keep it smaller.
    let count: u64 = if cfg!(debug_assertions) {
        20_000
    } else {
        100_000
    };
    let command = define(&format!("n[1-{count}]"), &["location.rack={(n1-1)/40+1}"]);
    let bytes = crate::encode_request(&Request::v1(CLIENT, 1, T0, command));
    assert!(bytes.len() < 200, "{} bytes", bytes.len());
    let mut s = State::default();
    let got = s.apply(&crate::decode_request(&bytes).unwrap());
    assert_eq!(
        got,
        Response::Done {
            warnings: vec![],
            changed: count
        }
    );
    assert_eq!(s.inventory().node_count() as u64, count);
    assert_eq!(attr(&s, "n81", "location.rack").as_deref(), Some("3"));
}
