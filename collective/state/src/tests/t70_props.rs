//! Properties over random request sequences: determinism, restore
//! equivalence, and "a refusal changes nothing".

use proptest::prelude::*;

use super::*;

fn noderange() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "n[1-4]",
        "n1",
        "n2,n3",
        "g1",
        "g2",
        "dyn",
        "n[1-6],-n2",
        "location.rack=1",
        "everything",
        "nosuch",
        "n[",
    ])
}

fn group() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec!["g1", "g2", "dyn", "everything", "nosuch"])
}

fn assignment() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "location.rack=1",
        "location.rack=",
        "location.rack={n1}",
        "info.note={location.rack}x",
        "groups=g1",
        "groups,=g2",
        "groups,=g1,g2",
        "groups^=g1,g2",
        "groups=g1,g2",
        "groups=g2,g1",
        "location.rck=1",
        "net.mgt.switch=n1",
        "nodes=n[1-3]",
        "nodes,=n4",
        "noderange=g1,-n1",
        "noderange=",
        "console.method=ipmi",
    ])
}

fn inventory_command() -> impl Strategy<Value = Command> {
    let names = prop::sample::select(vec![
        "location.rack",
        "groups",
        "net.*",
        "nodes",
        "noderange",
    ]);
    let node = prop::sample::select(vec!["n1", "n2", "a1", "n7"]);
    prop_oneof![
        (noderange(), assignment()).prop_map(|(r, a)| define(r, &[a])),
        group().prop_map(|g| gdefine(g, &[])),
        (noderange(), assignment()).prop_map(|(r, a)| set(r, &[a])),
        (noderange(), names.clone()).prop_map(|(r, n)| clear(r, &[n])),
        noderange().prop_map(remove),
        (node.clone(), node).prop_map(|(a, b)| rename(a, b)),
        (group(), assignment()).prop_map(|(g, a)| gdefine(g, &[a])),
        (group(), assignment()).prop_map(|(g, a)| gset(g, &[a])),
        (group(), names).prop_map(|(g, n)| gclear(g, &[n])),
        group().prop_map(gremove),
        (group(), group()).prop_map(|(a, b)| grename(a, b)),
    ]
}

fn collective_command() -> impl Strategy<Value = Command> {
    let name = prop::sample::select(vec!["m1", "m2", "m3"]);
    prop_oneof![
        Just(Command::Noop),
        (name.clone(), 1u64..4).prop_map(|(n, id)| put_member(member(n, id))),
        name.clone().prop_map(remove_member),
        (name.clone(), 1u8..3, 0u64..1_800_000).prop_map(|(n, s, ttl)| invite(n, s, T0 + ttl)),
        (name.clone(), 1u8..3).prop_map(|(n, s)| consume(n, s)),
        (1u8..3).prop_map(data_key),
        (name.clone(), 1u8..3).prop_map(|(n, t)| put_user(n, UserRole::Operator, t)),
        name.clone().prop_map(remove_user),
        (name, 1u64..6, 1u8..3).prop_map(|(n, id, s)| Command::Join {
            member: member(n, id),
            secret_sha256: [s; 32],
        }),
    ]
}

/// Requests from three clients, mostly with the next sequence number but
/// sometimes a repeat or an older one (so fresh, repeated and stale
/// requests all occur), and a clock that moves forward by up to five
/// minutes per entry (so dedupe entries and invites expire).
fn requests() -> impl Strategy<Value = Vec<Request>> {
    let command = prop_oneof![3 => inventory_command(), 1 => collective_command()];
    let one = (0u128..3, 0u8..10, 0u64..300_000, command);
    prop::collection::vec(one, 1..40).prop_map(|items| {
        let mut now = T0;
        let mut last = [0u64; 3];
        items
            .into_iter()
            .map(|(client, mode, dt, command)| {
                now += dt;
                let l = &mut last[client as usize];
                let seq = match mode {
                    0 => *l,
                    1 => l.saturating_sub(1),
                    _ => {
                        *l += 1;
                        *l
                    }
                };
                Request::v1(client, seq, now, command)
            })
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn same_requests_give_same_bytes(reqs in requests()) {
        let (mut a, mut b) = (State::default(), State::default());
        for r in &reqs {
            prop_assert_eq!(a.apply(r), b.apply(r));
        }
        prop_assert_eq!(a.snapshot(), b.snapshot());
    }

    #[test]
    fn restoring_at_any_point_changes_nothing(reqs in requests(), cut in 0usize..40) {
        // `a` applies everything; `b` restores from its own snapshot before
        // every entry; `c` restores once, at `cut`.
        let (mut a, mut b, mut c) = (State::default(), State::default(), State::default());
        for (i, r) in reqs.iter().enumerate() {
            b = State::restore(&b.snapshot()).unwrap();
            if i == cut {
                c = State::restore(&c.snapshot()).unwrap();
            }
            let want = a.apply(r);
            prop_assert_eq!(&b.apply(r), &want, "entry {}: {:?}", i, r);
            prop_assert_eq!(&c.apply(r), &want, "entry {}: {:?}", i, r);
        }
        prop_assert_eq!(b.snapshot(), a.snapshot());
        prop_assert_eq!(c.snapshot(), a.snapshot());
    }

    #[test]
    fn refusals_change_nothing_but_the_dedupe_table(reqs in requests()) {
        let mut s = State::default();
        for r in &reqs {
            let before = content(&s);
            if let Response::Refused(e) = s.apply(r) {
                prop_assert_eq!(content(&s), before, "{:?} refused ({}) but changed", r, e);
            }
        }
    }
}
