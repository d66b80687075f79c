//! Unit tests of the checker, including a comparison with a brute-force
//! one on random small histories.

use std::time::Duration;

use super::*;

/// A history of key `k` from `(client, op, start ms, end ms, outcome)`.
fn history(rows: &[(&str, Op, u64, u64, Outcome)]) -> Vec<Entry> {
    let base = Instant::now();
    let at = |ms: u64| base + Duration::from_millis(ms);
    rows.iter()
        .map(|(client, op, start, end, outcome)| Entry {
            client: (*client).to_owned(),
            key: "k".to_owned(),
            op: op.clone(),
            invoked: at(*start),
            completed: at(*end),
            outcome: outcome.clone(),
        })
        .collect()
}

fn w(v: &str) -> Op {
    Op::Write(v.to_owned())
}
fn val(v: &str) -> Outcome {
    Outcome::Value(Some(v.to_owned()))
}
fn unknown() -> Outcome {
    Outcome::Unknown("timeout".to_owned())
}
use Op::Read as R;
use Outcome::Written as OK;

#[test]
fn sequential_history_is_linearizable() {
    let h = history(&[
        ("a", R, 0, 1, Outcome::Value(None)),
        ("a", w("1"), 2, 3, OK),
        ("b", R, 4, 5, val("1")),
        ("b", w("2"), 6, 7, OK),
        ("a", R, 8, 9, val("2")),
    ]);
    let s = check(&h).expect("linearizable");
    assert_eq!((s.acked_writes, s.reads), (2, 3));
}

#[test]
fn stale_read_after_acknowledged_write_is_caught() {
    let h = history(&[
        ("a", w("1"), 0, 1, OK),
        ("a", w("2"), 2, 3, OK),
        ("b", R, 4, 5, val("1")),
    ]);
    let e = check(&h).expect_err("stale read");
    assert!(e.contains("not linearizable"), "{e}");
    assert!(e.contains("b read -> Some(\"1\")"), "{e}");
}

#[test]
fn concurrent_writes_may_take_either_order_but_reads_must_agree() {
    let ok = history(&[
        ("a", w("1"), 0, 10, OK),
        ("b", w("2"), 0, 10, OK),
        ("c", R, 2, 3, val("2")),
        ("c", R, 4, 5, val("1")),
        ("c", R, 11, 12, val("1")),
    ]);
    check(&ok).expect("2 then 1 is a valid order");
    let flip = history(&[
        ("a", w("1"), 0, 10, OK),
        ("b", w("2"), 0, 10, OK),
        ("c", R, 2, 3, val("2")),
        ("c", R, 4, 5, val("1")),
        ("c", R, 6, 7, val("2")),
    ]);
    check(&flip).expect_err("the register cannot flip back without a write");
}

#[test]
fn unknown_write_may_take_effect_late_or_never() {
    let late = history(&[
        ("a", w("1"), 0, 1, OK),
        ("b", w("2"), 2, 3, unknown()),
        ("a", R, 4, 5, val("1")),
        ("a", R, 100, 101, val("2")),
    ]);
    check(&late).expect("an unknown write may land after its client gave up");
    let never = history(&[
        ("a", w("1"), 0, 1, OK),
        ("b", w("2"), 2, 3, unknown()),
        ("a", R, 100, 101, val("1")),
    ]);
    check(&never).expect("an unknown write may never land");
    let early = history(&[("a", R, 0, 1, val("2")), ("b", w("2"), 2, 3, unknown())]);
    check(&early).expect_err("a value cannot be read before its write started");
}

#[test]
fn value_nobody_wrote_is_caught() {
    let h = history(&[("a", w("1"), 0, 1, OK), ("b", R, 2, 3, val("9"))]);
    check(&h).expect_err("invented value");
}

#[test]
fn failed_reads_constrain_nothing() {
    let h = history(&[
        ("a", w("1"), 0, 1, OK),
        ("b", R, 2, 3, Outcome::Unknown("no quorum".to_owned())),
    ]);
    let s = check(&h).expect("linearizable");
    assert_eq!(s.failed_reads, 1);
}

#[test]
fn lost_acknowledged_write_is_reported() {
    let h = history(&[("a", w("1"), 0, 1, OK), ("b", w("2"), 5, 6, OK)]);
    let finals = BTreeMap::from([("k".to_owned(), Some("1".to_owned()))]);
    let e = check_no_lost_writes(&h, &finals).expect_err("2 is lost");
    assert!(e.contains("that write is lost"), "{e}");
    let finals = BTreeMap::from([("k".to_owned(), Some("2".to_owned()))]);
    check_no_lost_writes(&h, &finals).expect("2 is the last write");
    let concurrent = history(&[("a", w("1"), 0, 10, OK), ("b", w("2"), 5, 6, OK)]);
    let finals = BTreeMap::from([("k".to_owned(), Some("1".to_owned()))]);
    check_no_lost_writes(&concurrent, &finals).expect("1 may be ordered after 2");
    let finals = BTreeMap::from([("k".to_owned(), None)]);
    check_no_lost_writes(&h, &finals).expect_err("everything lost");
    let finals = BTreeMap::from([("k".to_owned(), Some("7".to_owned()))]);
    check_no_lost_writes(&h, &finals).expect_err("invented");
}

/// A tiny deterministic generator, so failures reproduce.
struct Rng(u64);
impl Rng {
    fn next(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// Brute force: try every order of every subset of unknown writes.
fn brute_force(calls: &[Call]) -> bool {
    fn go(calls: &[Call], used: &mut Vec<bool>, state: &Option<String>) -> bool {
        let pending: Vec<usize> = (0..calls.len()).filter(|&i| !used[i]).collect();
        if pending.iter().all(|&i| calls[i].complete.is_none()) {
            return true;
        }
        let horizon = pending
            .iter()
            .filter_map(|&i| calls[i].complete)
            .min()
            .unwrap_or(u128::MAX);
        for &i in &pending {
            if calls[i].invoke > horizon {
                continue;
            }
            let next = match &calls[i].kind {
                Kind::Write(v) => v.clone(),
                Kind::Read(v) if v == state => state.clone(),
                Kind::Read(_) => continue,
            };
            used[i] = true;
            if go(calls, used, &next) {
                return true;
            }
            used[i] = false;
        }
        false
    }
    go(calls, &mut vec![false; calls.len()], &None)
}

#[test]
fn agrees_with_brute_force_on_random_small_histories() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut verdicts = [0usize; 2];
    for _ in 0..3000 {
        let n = 1 + rng.next(7) as usize;
        let mut calls = Vec::new();
        let mut written = 0;
        for j in 0..n {
            let invoke = u128::from(rng.next(20));
            let complete = invoke + 1 + u128::from(rng.next(8));
            let kind = if rng.next(2) == 0 {
                written += 1;
                Kind::Write(Some(format!("v{written}")))
            } else {
                let v = rng.next(written + 1);
                Kind::Read((v > 0).then(|| format!("v{v}")))
            };
            let unknown = matches!(kind, Kind::Write(_)) && rng.next(4) == 0;
            calls.push(Call {
                what: format!("op{j}"),
                invoke,
                complete: (!unknown).then_some(complete),
                kind,
            });
        }
        let expected = brute_force(&calls);
        let got = check_register(&calls).is_ok();
        assert_eq!(got, expected, "{calls:#?}");
        verdicts[usize::from(got)] += 1;
    }
    // Both verdicts must be exercised for the comparison to mean much.
    assert!(verdicts[0] > 300 && verdicts[1] > 300, "{verdicts:?}");
}

/// A linearizable history the size of a test run's busiest key (4
/// clients, 1,200 operations, heavy overlap) checks in well under a
/// second, and stops checking once one read is made stale.
#[test]
fn large_histories_check_quickly() {
    let mut rng = Rng(0x1234_5678_9abc_def1);
    let base = Instant::now();
    // Each client's calls follow one another; every call takes effect at
    // a random point inside its window, and reads see the register as of
    // that point.
    let mut calls: Vec<(u64, Entry)> = Vec::new();
    for client in 0..4 {
        let mut t = rng.next(50);
        for seq in 0..300 {
            let (start, len) = (t, 1 + rng.next(400));
            let point = start * 1000 + rng.next(len * 1000);
            let op = if rng.next(2) == 0 {
                w(&format!("c{client}-{seq}"))
            } else {
                R
            };
            calls.push((
                point,
                Entry {
                    client: format!("c{client}"),
                    key: "k".to_owned(),
                    op,
                    invoked: base + Duration::from_micros(start * 1000),
                    completed: base + Duration::from_micros((start + len) * 1000),
                    outcome: OK,
                },
            ));
            t = start + len + rng.next(20);
        }
    }
    calls.sort_by_key(|(point, _)| *point);
    let mut register = None;
    let mut entries: Vec<Entry> = Vec::new();
    for (_, mut e) in calls {
        match &e.op {
            Op::Write(v) => register = Some(v.clone()),
            Op::Read => e.outcome = Outcome::Value(register.clone()),
        }
        entries.push(e);
    }
    let started = std::time::Instant::now();
    check(&entries).expect("linearizable by construction");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );

    // The last read now returns the first value ever written: stale.
    let first = entries.iter().find_map(|e| match &e.op {
        Op::Write(v) => Some(v.clone()),
        Op::Read => None,
    });
    let last_read = entries
        .iter_mut()
        .rev()
        .find(|e| e.op == Op::Read)
        .expect("a read");
    last_read.outcome = Outcome::Value(first);
    let started = std::time::Instant::now();
    check(&entries).expect_err("stale read");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
}
