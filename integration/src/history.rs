//! What concurrent clients did, and whether it was linearizable.
//!
//! Clients record every call as an [`Entry`]: which key (a node's
//! `info.note`), what they asked (write a value, or read), when they
//! invoked it and when the answer came, and the answer. A call that
//! failed or timed out has an unknown outcome: a write whose reply was
//! lost may or may not have been applied, and may even be applied after
//! the client gave up (a proposal that commits once a new leader is
//! elected). The checker therefore treats an unknown write as an
//! operation whose completion is at infinity: it may be linearized at any
//! point after its invocation, including never (at the very end, where it
//! changes nothing any read saw).
//!
//! The check ([`check`]) runs per key, because a set of registers is
//! linearizable exactly when each register is (linearizability is local,
//! Herlihy & Wing), which keeps every search small. Per key it is the
//! Wing & Gong search with Lowe's memoisation, as in Knossos and
//! porcupine: depth-first, linearize one of the operations that may go
//! next, and never explore the same (set of linearized operations,
//! register value) twice.
//!
//! Rejected: stateright's `LinearizabilityTester`. Its search does not
//! memoise, so a history that is *not* linearizable (the one case that
//! matters) makes it explore every interleaving and the test hangs
//! instead of failing; it also allows one in-flight (unknown) operation
//! per thread and needs events fed in real-time order. Both are easy to
//! get right here, and the unit tests below check this checker against a
//! brute-force one on random small histories.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::time::Instant;

/// What a client asked of one register.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Op {
    Write(String),
    Read,
}

/// What came back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The write was acknowledged.
    Written,
    /// The read answered this value (`None`: the attribute is unset).
    Value(Option<String>),
    /// The call failed or timed out (the error text): a write may or may
    /// not have taken effect; a read tells nothing.
    Unknown(String),
}

/// One call of one client.
#[derive(Clone, Debug)]
pub struct Entry {
    pub client: String,
    pub key: String,
    pub op: Op,
    pub invoked: Instant,
    pub completed: Instant,
    pub outcome: Outcome,
}

impl Entry {
    /// An acknowledged write.
    pub fn is_acked_write(&self) -> bool {
        matches!(self.op, Op::Write(_)) && self.outcome == Outcome::Written
    }
}

/// Where concurrent clients append their entries. Cheap to clone.
#[derive(Clone, Default)]
pub struct Recorder {
    entries: Arc<Mutex<Vec<Entry>>>,
}

impl Recorder {
    pub fn new() -> Recorder {
        Recorder::default()
    }

    pub fn record(&self, entry: Entry) {
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(entry);
    }

    /// Everything recorded so far, in recording order.
    pub fn entries(&self) -> Vec<Entry> {
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// Counts of a history, for the test's narration.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Summary {
    pub keys: usize,
    pub acked_writes: usize,
    pub unknown_writes: usize,
    pub reads: usize,
    pub failed_reads: usize,
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} keys, {} acknowledged writes, {} writes with unknown outcome, {} reads ({} failed)",
            self.keys, self.acked_writes, self.unknown_writes, self.reads, self.failed_reads
        )
    }
}

/// Gives up on a key after this many search steps, rather than hang.
const STEP_BUDGET: u64 = 20_000_000;

/// Checks that the history is linearizable, every key being a register
/// that starts unset. On failure, the message names the key, the longest
/// prefix that could be linearized and the operations none of which could
/// go next.
pub fn check(entries: &[Entry]) -> Result<Summary, String> {
    let mut by_key: BTreeMap<&str, Vec<&Entry>> = BTreeMap::new();
    for e in entries {
        by_key.entry(e.key.as_str()).or_default().push(e);
    }
    let mut summary = Summary {
        keys: by_key.len(),
        ..Summary::default()
    };
    for e in entries {
        match (&e.op, &e.outcome) {
            (Op::Write(_), Outcome::Written) => summary.acked_writes += 1,
            (Op::Write(_), _) => summary.unknown_writes += 1,
            (Op::Read, Outcome::Unknown(_)) => summary.failed_reads += 1,
            (Op::Read, _) => summary.reads += 1,
        }
    }
    let base = entries.iter().map(|e| e.invoked).min();
    for (key, ops) in by_key {
        let Some(base) = base else { break };
        let ops: Vec<Call> = ops.iter().filter_map(|e| Call::of(e, base)).collect();
        check_register(&ops).map_err(|e| format!("key {key}: {e}"))?;
    }
    Ok(summary)
}

/// The history as text, one call per line in invocation order, times in
/// seconds from the first invocation: kept next to the members' data when
/// a check fails.
pub fn render(entries: &[Entry]) -> String {
    let Some(base) = entries.iter().map(|e| e.invoked).min() else {
        return String::new();
    };
    let mut sorted: Vec<&Entry> = entries.iter().collect();
    sorted.sort_by_key(|e| (e.key.clone(), e.invoked));
    let at = |t: Instant| t.duration_since(base).as_secs_f64();
    sorted
        .iter()
        .map(|e| {
            format!(
                "{} [{:.4} .. {:.4}] {}\n",
                e.key,
                at(e.invoked),
                at(e.completed),
                describe(e)
            )
        })
        .collect()
}

/// Checks that no acknowledged write was lost: for each key with a final
/// value, that value must have been written by someone, and no
/// acknowledged write may have started after the write of the final value
/// had completed (it would have replaced it). `finals` are values read
/// after every client stopped.
pub fn check_no_lost_writes(
    entries: &[Entry],
    finals: &BTreeMap<String, Option<String>>,
) -> Result<(), String> {
    for (key, last) in finals {
        let writes: Vec<&Entry> = entries
            .iter()
            .filter(|e| &e.key == key && matches!(e.op, Op::Write(_)))
            .collect();
        let acked: Vec<&&Entry> = writes.iter().filter(|e| e.is_acked_write()).collect();
        let Some(value) = last else {
            if let Some(a) = acked.first() {
                return Err(format!(
                    "key {key} is unset at the end, but {} had acknowledged {:?}",
                    a.client, a.op
                ));
            }
            continue;
        };
        let source = writes
            .iter()
            .find(|e| e.op == Op::Write(value.clone()))
            .ok_or_else(|| format!("key {key} ends as {value:?}, which no client wrote"))?;
        // An unknown write may have been applied at any time after its
        // invocation: nothing is provably later than it.
        if source.outcome != Outcome::Written {
            continue;
        }
        if let Some(lost) = acked.iter().find(|a| a.invoked > source.completed) {
            return Err(format!(
                "key {key} ends as {value:?} (acknowledged to {} after {:?}), but {} wrote {:?} \
                 later (invoked {:?} after that acknowledgement) and was acknowledged: that \
                 write is lost",
                source.client,
                source.completed.duration_since(source.invoked),
                lost.client,
                lost.op,
                lost.invoked.duration_since(source.completed),
            ));
        }
    }
    Ok(())
}

/// One operation as the search sees it: times in nanoseconds since the
/// start of the history, completion `None` for "may take effect any time
/// after invocation".
#[derive(Clone, Debug)]
struct Call {
    what: String,
    invoke: u128,
    complete: Option<u128>,
    kind: Kind,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Kind {
    Write(Option<String>),
    Read(Option<String>),
}

impl Call {
    fn of(e: &Entry, base: Instant) -> Option<Call> {
        let at = |t: Instant| t.duration_since(base).as_nanos();
        let (kind, complete) = match (&e.op, &e.outcome) {
            (Op::Write(v), Outcome::Written) => {
                (Kind::Write(Some(v.clone())), Some(at(e.completed)))
            }
            (Op::Write(v), _) => (Kind::Write(Some(v.clone())), None),
            (Op::Read, Outcome::Value(v)) => (Kind::Read(v.clone()), Some(at(e.completed))),
            // A failed read constrains nothing.
            (Op::Read, _) => return None,
        };
        Some(Call {
            what: describe(e),
            invoke: at(e.invoked),
            complete,
            kind,
        })
    }
}

fn describe(e: &Entry) -> String {
    let op = match &e.op {
        Op::Write(v) => format!("write {v:?}"),
        Op::Read => "read".to_owned(),
    };
    let outcome = match &e.outcome {
        Outcome::Written => "ok".to_owned(),
        Outcome::Value(v) => format!("-> {v:?}"),
        Outcome::Unknown(why) => format!("unknown ({why})"),
    };
    format!("{} {op} {outcome}", e.client)
}

/// A set of operation indices.
#[derive(Clone, PartialEq, Eq, Hash)]
struct Bits(Vec<u64>);

impl Bits {
    fn new(n: usize) -> Bits {
        Bits(vec![0; n.div_ceil(64)])
    }
    fn set(&mut self, i: usize) {
        self.0[i / 64] |= 1 << (i % 64);
    }
    fn clear(&mut self, i: usize) {
        self.0[i / 64] &= !(1 << (i % 64));
    }
    fn has(&self, i: usize) -> bool {
        self.0[i / 64] & (1 << (i % 64)) != 0
    }
}

/// The Wing & Gong search with memoisation, for one register starting
/// unset. Returns a linearization (indices into `calls`).
fn check_register(calls: &[Call]) -> Result<Vec<usize>, String> {
    let mut order: Vec<usize> = (0..calls.len()).collect();
    order.sort_by_key(|&i| (calls[i].invoke, i));
    let calls: Vec<&Call> = order.iter().map(|&i| &calls[i]).collect();
    let n = calls.len();
    // Register values interned: 0 is "unset".
    let mut values: HashMap<Option<String>, u32> = HashMap::from([(None, 0)]);
    let mut intern = |v: &Option<String>| {
        let next = values.len() as u32;
        *values.entry(v.clone()).or_insert(next)
    };
    let kinds: Vec<(bool, u32)> = calls
        .iter()
        .map(|c| match &c.kind {
            Kind::Write(v) => (true, intern(v)),
            Kind::Read(v) => (false, intern(v)),
        })
        .collect();

    let mut done = Bits::new(n);
    let mut state: u32 = 0;
    // (operation linearized, register value before it)
    let mut stack: Vec<(usize, u32)> = Vec::with_capacity(n);
    let mut seen: HashSet<(Bits, u32)> = HashSet::new();
    let mut cursor = 0;
    let mut steps: u64 = 0;
    let mut deepest = Stuck::default();
    loop {
        if stack.len() == n {
            return Ok(stack.iter().map(|(i, _)| order[*i]).collect());
        }
        steps += 1;
        if steps > STEP_BUDGET {
            return Err(format!(
                "gave up after {STEP_BUDGET} search steps ({n} operations); \
                 shorten the run"
            ));
        }
        // An operation may go next if no pending operation completed
        // before it was invoked.
        let horizon = (0..n)
            .filter(|&i| !done.has(i))
            .filter_map(|i| calls[i].complete)
            .min()
            .unwrap_or(u128::MAX);
        let mut next = None;
        let mut i = cursor;
        while i < n && calls[i].invoke <= horizon {
            if !done.has(i) {
                let (is_write, v) = kinds[i];
                let after = if is_write {
                    Some(v)
                } else {
                    (v == state).then_some(state)
                };
                if let Some(after) = after {
                    done.set(i);
                    if seen.insert((done.clone(), after)) {
                        next = Some((i, after));
                        break;
                    }
                    done.clear(i);
                }
            }
            i += 1;
        }
        match next {
            Some((i, after)) => {
                stack.push((i, state));
                state = after;
                cursor = 0;
                if stack.len() > deepest.depth {
                    deepest = Stuck {
                        depth: stack.len(),
                        ..Stuck::default()
                    };
                }
            }
            None => {
                if stack.len() == deepest.depth && !deepest.recorded {
                    deepest = Stuck {
                        depth: stack.len(),
                        recorded: true,
                        candidates: (0..n)
                            .filter(|&j| !done.has(j) && calls[j].invoke <= horizon)
                            .collect(),
                        recent: stack.iter().rev().take(3).rev().map(|(i, _)| *i).collect(),
                    };
                }
                let Some((last, before)) = stack.pop() else {
                    return Err(not_linearizable(&calls, &deepest));
                };
                done.clear(last);
                state = before;
                cursor = last + 1;
            }
        }
    }
}

/// Where the search got furthest before every way on failed.
#[derive(Default)]
struct Stuck {
    depth: usize,
    recorded: bool,
    /// Operations that could have gone next (none could, by value).
    candidates: Vec<usize>,
    /// The last operations ordered before that point.
    recent: Vec<usize>,
}

fn not_linearizable(calls: &[&Call], stuck: &Stuck) -> String {
    let line = |c: &Call| {
        let end = c
            .complete
            .map_or("never".to_owned(), |t| format!("{:.3}s", t as f64 / 1e9));
        format!("\n    [{:.3}s .. {end}] {}", c.invoke as f64 / 1e9, c.what)
    };
    let mut text = format!(
        "not linearizable: at most {} of {} operations can be ordered; the last ones ordered:",
        stuck.depth,
        calls.len()
    );
    for &j in &stuck.recent {
        text.push_str(&line(calls[j]));
    }
    text.push_str("\n  then none of these can go next (each contradicts the value, or an operation that completed before it began is not ordered yet):");
    for &j in &stuck.candidates {
        text.push_str(&line(calls[j]));
    }
    text
}

#[cfg(test)]
mod tests;
