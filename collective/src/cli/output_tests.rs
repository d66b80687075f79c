use super::*;

fn attr(name: &str, value: &str) -> AttributeValue {
    AttributeValue {
        name: name.into(),
        value: value.into(),
        ..AttributeValue::default()
    }
}

fn listing(owner: &str, attrs: Vec<AttributeValue>, asked: &[&str]) -> Listing {
    let asked: Vec<String> = asked.iter().map(|s| s.to_string()).collect();
    Listing::new(owner.into(), attrs, &asked)
}

fn text(listings: &[Listing], blame: bool) -> String {
    let mut buf = String::new();
    for l in listings {
        listing_text(l, blame, &mut buf);
    }
    buf
}

#[test]
fn plain_lines_are_node_attribute_value_in_name_order() {
    let l = listing(
        "n1",
        vec![
            attr("location.rack", "7"),
            attr("groups", "compute,everything"),
        ],
        &[],
    );
    assert_eq!(
        text(&[l], false),
        "n1: groups: compute,everything\nn1: location.rack: 7\n"
    );
}

#[test]
fn nodes_sort_naturally() {
    let mut ls = vec![
        listing("n10", vec![attr("a.b", "1")], &[]),
        listing("n2", vec![attr("a.b", "2")], &[]),
        listing("n1", vec![attr("a.b", "3")], &[]),
    ];
    sort_listings(&mut ls);
    let owners: Vec<&str> = ls.iter().map(|l| l.owner.as_str()).collect();
    assert_eq!(owners, ["n1", "n2", "n10"]);
    let mut names = vec!["n10".to_owned(), "n9".to_owned()];
    sort_names(&mut names);
    assert_eq!(names, ["n9", "n10"]);
}

#[test]
fn secrets_never_print() {
    let mut a = attr("secret.hardwaremanagementpassword", "");
    a.is_secret = true;
    a.inherited_from = "compute".into();
    let l = listing("n1", vec![a], &[]);
    assert_eq!(
        text(std::slice::from_ref(&l), false),
        "n1: secret.hardwaremanagementpassword: ********\n"
    );
    let json = serde_json::to_string(&ListingsJson {
        listings: &[l],
        blame: true,
    })
    .unwrap();
    assert_eq!(
        json,
        r#"{"n1":{"secret.hardwaremanagementpassword":{"value":"********","inheritedfrom":"compute","expression":null,"broken":null}}}"#
    );
}

#[test]
fn broken_expressions_print_the_error() {
    let mut a = attr("info.note", "");
    a.broken = "unknown attribute \"location.rak\"".into();
    a.expression = "{location.rak}".into();
    let l = listing("n1", vec![a], &[]);
    assert_eq!(
        text(std::slice::from_ref(&l), false),
        "n1: info.note: *ERROR* BROKEN EXPRESSION: unknown attribute \"location.rak\"\n"
    );
    assert_eq!(
        text(&[l], true),
        "n1: info.note: *ERROR* BROKEN EXPRESSION: unknown attribute \"location.rak\" \
         (derived from expression \"{location.rak}\")\n"
    );
}

#[test]
fn blame_names_group_and_expression() {
    let mut inherited = attr("location.rack", "7");
    inherited.inherited_from = "rack1".into();
    let mut both = attr("location.u", "3");
    both.inherited_from = "compute".into();
    both.expression = "{n1}".into();
    let mut derived = attr("net.mgt.ipv4_address", "10.0.0.1");
    derived.expression = "10.0.0.{n1}".into();
    let own = attr("info.note", "hi");
    let l = listing("n1", vec![inherited, both, derived, own], &[]);
    assert_eq!(
        text(&[l], true),
        "n1: info.note: hi\n\
         n1: location.rack: 7 (inherited from group rack1)\n\
         n1: location.u: 3 (inherited from group compute, derived from expression \"{n1}\")\n\
         n1: net.mgt.ipv4_address: 10.0.0.1 (derived from expression \"10.0.0.{n1}\")\n"
    );
}

#[test]
fn asked_but_unset_prints_empty() {
    let l = listing(
        "n1",
        vec![attr("location.rack", "7")],
        &["location.room", "location.rack"],
    );
    assert_eq!(
        text(&[l], false),
        "n1: location.rack: 7\nn1: location.room: \n"
    );
}

#[test]
fn asked_alias_matches_its_canonical_name_and_globs_add_nothing() {
    let l = listing(
        "n1",
        vec![attr("hardwaremanagement.manager", "10.1.1.1")],
        &["bmc", "net.*"],
    );
    assert_eq!(
        text(&[l], false),
        "n1: hardwaremanagement.manager: 10.1.1.1\n"
    );
}

#[test]
fn json_plain_is_object_of_objects_in_natural_order() {
    let ls = [
        listing("n2", vec![attr("location.rack", "7")], &[]),
        listing("n10", vec![attr("location.rack", "8")], &[]),
    ];
    let json = serde_json::to_string(&ListingsJson {
        listings: &ls,
        blame: false,
    })
    .unwrap();
    assert_eq!(
        json,
        r#"{"n2":{"location.rack":"7"},"n10":{"location.rack":"8"}}"#
    );
}

#[test]
fn json_blame_objects_carry_every_key() {
    let mut a = attr("location.rack", "7");
    a.inherited_from = "rack1".into();
    let mut b = attr("info.note", "");
    b.broken = "bad".into();
    b.expression = "{x".into();
    let ls = [listing("n1", vec![a, b], &[])];
    let json: serde_json::Value = serde_json::from_str(
        &serde_json::to_string(&ListingsJson {
            listings: &ls,
            blame: true,
        })
        .unwrap(),
    )
    .unwrap();
    assert_eq!(
        json,
        serde_json::json!({"n1": {
            "info.note": {"value": "", "inheritedfrom": null, "expression": "{x", "broken": "bad"},
            "location.rack": {"value": "7", "inheritedfrom": "rack1", "expression": null, "broken": null},
        }})
    );
}

#[test]
fn json_plain_shows_broken_as_text() {
    let mut b = attr("info.note", "");
    b.broken = "bad".into();
    let ls = [listing("n1", vec![b], &[])];
    let json = serde_json::to_string(&ListingsJson {
        listings: &ls,
        blame: false,
    })
    .unwrap();
    assert_eq!(
        json,
        r#"{"n1":{"info.note":"*ERROR* BROKEN EXPRESSION: bad"}}"#
    );
}

#[test]
fn names_are_one_per_line() {
    assert_eq!(names_text(&["n1".into(), "n2".into()]), "n1\nn2\n");
    assert_eq!(names_text(&[]), "");
}

#[test]
fn last_contact_is_short_and_relative() {
    assert_eq!(last_contact(None), "-");
    assert_eq!(last_contact(Some(12)), "12ms ago");
    assert_eq!(last_contact(Some(3_400)), "3s ago");
    assert_eq!(last_contact(Some(300_000)), "5m ago");
    assert_eq!(last_contact(Some(7_200_000)), "2h ago");
}

fn member(name: &str, role: &str, leader: bool, contact: Option<u64>) -> MemberState {
    MemberState {
        name: name.into(),
        raft_id: 1,
        role: role.into(),
        leader,
        reachable: true,
        last_contact_ms: contact,
        applied_index: 1042,
        lag: if leader { 0 } else { 3 },
        addresses: vec![format!("{name}:13001")],
        https_addresses: vec![format!("{name}:8443")],
        joining: false,
        leaving: false,
        intended_role: role.into(),
    }
}

fn status() -> CollectiveStatus {
    CollectiveStatus {
        members: vec![
            member("mgt2", "voter", false, Some(12)),
            member("mgt1", "voter", true, None),
            member("mgt10", "nonvoter", false, Some(2_000)),
        ],
        voters_reachable: 2,
        voters: 2,
        term: 7,
    }
}

#[test]
fn collective_table_is_aligned() {
    assert_eq!(
        collective_text(&status()),
        "NAME   ROLE      LEADER  REACHABLE  LAST CONTACT  APPLIED  LAG\n\
         mgt1   voter     yes     yes        -             1042     0\n\
         mgt2   voter     no      yes        12ms ago      1042     3\n\
         mgt10  nonvoter  no      yes        2s ago        1042     3\n\
         quorum: 2 of 2 voters reachable; raft term 7\n"
    );
}

#[test]
fn a_joining_member_shows_the_role_it_joined_for() {
    let mut s = status();
    // Invited as a voter; Raft still has it as a non-voter catching up.
    s.members[2].role = "nonvoter".into();
    s.members[2].intended_role = "voter".into();
    s.members[2].joining = true;
    let text = collective_text(&s);
    assert!(
        text.contains("mgt10  voter (joining)  no"),
        "the table should say it joins as a voter:\n{text}"
    );
    assert!(text.ends_with("quorum: 2 of 2 voters reachable; raft term 7\n"));
    let json = collective_json(&s);
    assert_eq!(json[2]["role"], "nonvoter");
    assert_eq!(json[2]["intended_role"], "voter");
    assert_eq!(json[2]["joining"], true);
    assert_eq!(json[0]["joining"], false);
    assert_eq!(json[0]["leaving"], false);
}

#[test]
fn a_removed_member_raft_still_counts_shows_leaving() {
    let mut s = status();
    s.members[0].leaving = true;
    let text = collective_text(&s);
    assert!(
        text.contains("mgt2   voter (leaving)  no"),
        "the table should say it is leaving:\n{text}"
    );
    assert_eq!(collective_json(&s)[1]["leaving"], true);
}

#[test]
fn collective_json_is_an_array_of_members() {
    let json = collective_json(&status());
    let first = &json[0];
    assert_eq!(first["name"], "mgt1");
    assert_eq!(first["role"], "voter");
    assert_eq!(first["leader"], true);
    assert_eq!(first["last_contact_ms"], serde_json::Value::Null);
    assert_eq!(json[1]["last_contact_ms"], 12);
    assert_eq!(json[2]["lag"], 3);
    assert_eq!(first["https_addresses"][0], "mgt1:8443");
    assert_eq!(json.as_array().map(Vec::len), Some(3));
}
