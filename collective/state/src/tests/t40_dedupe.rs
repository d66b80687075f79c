//! Exactly-once by `(client, seq)`, bounded by the log's time.

use super::*;
use crate::dedupe::{MAX_CLIENTS, WINDOW_MS};

fn req(client: ClientId, seq: u64, now_ms: u64, command: Command) -> Request {
    Request::v1(client, seq, now_ms, command)
}

#[test]
fn a_repeated_request_is_answered_without_applying() {
    let mut s = State::default();
    let first = s.apply(&req(1, 1, T0, define("n[1-3]", &[])));
    assert_eq!(
        first,
        Response::Done {
            warnings: vec![],
            changed: 3
        }
    );
    let after_first = s.snapshot();
    // Applying again would be refused ("already exists"): the cached answer wins.
    let again = s.apply(&req(1, 1, T0 + 5, define("n[1-3]", &[])));
    assert_eq!(again, first);
    assert_eq!(s.snapshot(), after_first);
}

#[test]
fn a_repeated_refusal_is_the_same_refusal() {
    let mut s = State::default();
    let first = s.apply(&req(1, 1, T0, remove_member("ghost")));
    assert!(matches!(first, Response::Refused(_)));
    s.apply(&req(2, 1, T0, put_member(member("ghost", 1))));
    // The member now exists, but the retry still gets the original answer.
    assert_eq!(s.apply(&req(1, 1, T0, remove_member("ghost"))), first);
    assert!(s.members().contains_key("ghost"));
}

#[test]
fn a_lower_sequence_is_refused_as_stale() {
    let mut s = State::default();
    s.apply(&req(1, 5, T0, define("n1", &[])));
    let before = s.snapshot();
    let got = s.apply(&req(1, 4, T0, define("n2", &[])));
    let Response::Refused(e) = got else {
        panic!("{got:?}")
    };
    assert_eq!(e.code, ErrorCode::FailedPrecondition);
    assert!(
        e.message
            .contains("stale request: sequence 4 already superseded"),
        "{}",
        e.message
    );
    assert_eq!(s.snapshot(), before);
    assert_eq!(s.last_request(1).map(|(seq, _)| seq), Some(5));
}

#[test]
fn higher_sequences_apply_and_gaps_are_fine() {
    let mut s = State::default();
    s.apply(&req(1, 1, T0, define("n1", &[])));
    assert!(matches!(
        s.apply(&req(1, 10, T0, define("n2", &[]))),
        Response::Done { .. }
    ));
    assert_eq!(nodes(&s), ["n1", "n2"]);
    assert_eq!(s.last_request(1).map(|(seq, _)| seq), Some(10));
}

#[test]
fn clients_are_independent() {
    let mut s = State::default();
    s.apply(&req(1, 7, T0, define("a1", &[])));
    s.apply(&req(2, 7, T0, define("b1", &[])));
    s.apply(&req(3, 1, T0, define("c1", &[])));
    assert_eq!(nodes(&s), ["a1", "b1", "c1"]);
    assert_eq!(s.dedupe_clients(), 3);
}

#[test]
fn clients_are_forgotten_after_fifteen_minutes_of_log_time() {
    let mut s = State::default();
    s.apply(&req(1, 1, T0, define("n1", &[])));
    s.apply(&req(2, 1, T0 + 60_000, Command::Noop));
    // Just inside the window: still remembered, a retry is not applied.
    s.apply(&req(3, 1, T0 + WINDOW_MS - 1, Command::Noop));
    assert_eq!(s.dedupe_clients(), 3);
    assert!(matches!(
        s.apply(&req(1, 1, T0 + WINDOW_MS - 1, define("n1", &[]))),
        Response::Done { .. }
    ));
    // A full window after its last request, client 1 is forgotten: the same
    // (client, seq) is now a fresh request, applied (and refused by the state).
    let late = s.apply(&req(1, 1, T0 + WINDOW_MS, define("n1", &[])));
    assert!(
        matches!(late, Response::Refused(ref e) if e.code == ErrorCode::AlreadyExists),
        "{late:?}"
    );
    assert_eq!(s.dedupe_clients(), 3);
    s.apply(&req(4, 1, T0 + 60_000 + WINDOW_MS, Command::Noop));
    assert_eq!(s.last_request(2), None);
    assert_eq!(s.dedupe_clients(), 3);
}

#[test]
fn time_going_backwards_does_not_panic_or_forget() {
    let mut s = State::default();
    s.apply(&req(1, 1, T0, Command::Noop));
    s.apply(&req(2, 1, T0 - WINDOW_MS * 2, Command::Noop));
    s.apply(&req(3, 1, 0, Command::Noop));
    assert_eq!(s.dedupe_clients(), 3);
}

#[test]
fn the_table_is_capped_oldest_first() {
    let mut s = State::default();
    for c in 0..(MAX_CLIENTS as u128 + 2) {
        s.apply(&req(c, 1, T0 + c as u64 / 1000, Command::Noop));
    }
    assert_eq!(s.dedupe_clients(), MAX_CLIENTS);
    assert_eq!(s.last_request(0), None);
    assert_eq!(s.last_request(1), None);
    assert!(s.last_request(2).is_some());
}

#[test]
fn dedupe_survives_snapshot_and_restore() {
    let mut s = State::default();
    let first = s.apply(&req(1, 3, T0, define("n[1-2]", &[])));
    s.apply(&req(2, 9, T0 + 1000, Command::Noop));
    let mut back = State::restore(&s.snapshot()).unwrap();
    assert_eq!(
        back.apply(&req(1, 3, T0 + 2000, define("n[1-2]", &[]))),
        first
    );
    assert!(matches!(
        back.apply(&req(2, 8, T0 + 2000, Command::Noop)),
        Response::Refused(_)
    ));
    assert_eq!(nodes(&back), ["n1", "n2"]);
    // The restored member also forgets at the same log time as the original.
    for state in [&mut s, &mut back] {
        state.apply(&req(5, 1, T0 + WINDOW_MS + 500, Command::Noop));
    }
    assert_eq!(s.last_request(1), None);
    assert_eq!(back.last_request(1), None);
    assert_eq!(s.snapshot(), back.snapshot());
}

fn v1(client: ClientId, seq: u64, command: Command) -> RequestV1 {
    RequestV1 {
        client,
        seq,
        now_ms: T0,
        command,
    }
}

#[test]
fn a_batch_applies_in_order_and_answers_each_request() {
    let mut s = State::default();
    let got = s.apply(&Request::Batch(vec![
        v1(1, 1, define("n[1-3]", &[])),
        // Refused on its own: it does not undo its neighbours.
        v1(2, 1, define("n2", &[])),
        // Sees the first request's nodes: order is the batch's.
        v1(3, 1, set("n[1-3]", &["location.rack=4"])),
    ]));
    let Response::Batch(answers) = got else {
        panic!("{got:?}")
    };
    assert_eq!(answers.len(), 3);
    assert_answer(&answers[0], Want::Changed(3), "define");
    assert!(matches!(answers[1], Response::Refused(_)), "{answers:?}");
    assert_answer(&answers[2], Want::Changed(3), "set");
    assert_eq!(attr(&s, "n3", "location.rack").as_deref(), Some("4"));
}

#[test]
fn a_batched_request_is_deduplicated_like_a_single_one() {
    let mut batched = State::default();
    let mut single = State::default();
    let first = v1(1, 1, define("n[1-3]", &[]));
    let Response::Batch(answers) = batched.apply(&Request::Batch(vec![first.clone()])) else {
        panic!("a batch answers with a batch")
    };
    let alone = single.apply(&Request::V1(first.clone()));
    assert_eq!(answers, vec![alone.clone()]);
    // Retried alone after going out in a batch (the leader changed between
    // the two): the cached answer, nothing applied twice.
    let before = batched.snapshot();
    assert_eq!(batched.apply(&Request::V1(first.clone())), alone);
    assert_eq!(batched.snapshot(), before);
    // The same request twice in one batch: applied once, answered twice.
    let mut twice = State::default();
    let got = twice.apply(&Request::Batch(vec![first.clone(), first]));
    assert_eq!(got, Response::Batch(vec![alone.clone(), alone]));
    assert_eq!(twice.snapshot(), single.snapshot());
}
