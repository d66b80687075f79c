//! Ranges: `n1-n3`, `n1:n3`, `n1..n3`, `n1+2`, `r1u1-r2u2`, and the numeric
//! ranges of bracket content (`1-10:3`).
//!
//! A range is first turned into a [`RangePlan`]: literal parts and number
//! sequences, whose product is the list of names. The plan knows how many
//! names it stands for *before* any is generated, so a typo like
//! `n1-n99999999999` is refused in constant time, and the numbers are
//! `u128` parsed with overflow checks, so a forty-digit number is an error
//! rather than a wrap-around. Names are then generated into one reused
//! buffer and handed to a callback (a node lookup, usually), in natural
//! order.

use std::fmt::Write;

use super::NoderangeError;

const ODD: &str = "the delimiter does not split it into a left and a right half";
const EMPTY: &str = "one side is empty";
const SHAPE: &str = "the two sides do not have the same letters-and-numbers shape";
const TEXT: &str = "the two sides differ in more than their numbers";
const BACKWARDS: &str = "the left side is larger than the right side";
const PADDING: &str = "the same number with different zero padding";
const FIELDS: &str = "a bracket range has at most three fields: start, end and stride";
const NUMBERS: &str = "a bracket range needs a number on each side";
const STRIDE: &str = "the stride must be a number";

/// What a piece of text means as a range.
#[derive(Debug)]
pub(crate) enum Range {
    /// No range delimiter at all: a plain name.
    Plain,
    /// Delimiters that do not make a range. confluent reports `X not valid`
    /// against an inventory and keeps the text as a literal name without.
    Invalid(&'static str),
    Plan(RangePlan),
}

#[derive(Debug)]
enum Part {
    Lit(String),
    /// `lo, lo+step, ... <= hi`, each printed zero-padded to `width`.
    Seq {
        lo: u128,
        hi: u128,
        step: u128,
        width: usize,
    },
}

/// The names a range stands for, not yet generated.
#[derive(Debug)]
pub(crate) struct RangePlan {
    parts: Vec<Part>,
    /// `None` when the count does not fit a `u128`.
    count: Option<u128>,
}

/// Reads a name-level range; delimiters are tried in confluent's order
/// `:`, `..`, `-`, then `+`.
pub(crate) fn name_range(text: &str) -> Result<Range, NoderangeError> {
    for delim in [":", "..", "-"] {
        if text.contains(delim) {
            return split_halves(text, delim);
        }
    }
    if text.contains('+') {
        return plus(text);
    }
    Ok(Range::Plain)
}

/// `node-01-node-03`: as many delimiters on each side, split in the middle.
fn split_halves(text: &str, delim: &str) -> Result<Range, NoderangeError> {
    let pieces: Vec<&str> = text.split(delim).collect();
    if !pieces.len().is_multiple_of(2) {
        return Ok(Range::Invalid(ODD));
    }
    let half = pieces.len() / 2;
    let left = pieces[..half].join(delim);
    let right = pieces[half..].join(delim);
    sides(text, &left, &right)
}

/// `A+k`: `A` through `A` with its last number (before any domain suffix)
/// increased by `k`.
fn plus(text: &str) -> Result<Range, NoderangeError> {
    let invalid = |reason| NoderangeError::RangeNotValid {
        range: text.to_owned(),
        reason,
    };
    let Some((base, k)) = text.split_once('+').filter(|(_, k)| !k.contains('+')) else {
        return Err(invalid("'+' may appear only once, as in n1+3"));
    };
    if !is_number(k) {
        return Err(invalid("'+' must be followed by a count, as in n1+3"));
    }
    let (head, tail) = base.split_at(base.find('.').unwrap_or(base.len()));
    let stem = head.trim_end_matches(|c: char| c.is_ascii_digit());
    let digits = &head[stem.len()..];
    if digits.is_empty() {
        return Err(invalid("no number right before '+' (or before the domain)"));
    }
    let start = number(text, digits)?;
    let end = start
        .checked_add(number(text, k)?)
        .ok_or_else(|| too_large(text, k))?;
    sides(text, base, &format!("{stem}{end}{tail}"))
}

/// Compares the two sides of a range run by run.
fn sides(text: &str, left: &str, right: &str) -> Result<Range, NoderangeError> {
    if left.is_empty() || right.is_empty() {
        return Ok(Range::Invalid(EMPTY));
    }
    let (l, r) = (runs(left), runs(right));
    if l.len() != r.len() {
        return Ok(Range::Invalid(SHAPE));
    }
    let mut parts = Vec::new();
    for (a, b) in l.into_iter().zip(r) {
        if a == b {
            parts.push(Part::Lit(a.to_owned()));
            continue;
        }
        if !is_number(a) || !is_number(b) {
            return Ok(Range::Invalid(TEXT));
        }
        let (lo, hi) = (number(text, a)?, number(text, b)?);
        if lo >= hi {
            return Ok(Range::Invalid(if lo > hi { BACKWARDS } else { PADDING }));
        }
        parts.push(Part::Seq {
            lo,
            hi,
            step: 1,
            width: a.len(),
        });
    }
    Ok(Range::Plan(RangePlan::new(parts)))
}

/// Reads bracket content: `-`, `..` and `:` are the same delimiter there,
/// and a third field is a stride (`1-10:3`). Anything but numbers is
/// refused: an admin who writes `n[a-c]` expects letters, which noderange
/// cannot do, and silently defining `na-c` would be worse.
pub(crate) fn numeric_range(text: &str) -> Result<Range, NoderangeError> {
    if text.contains(['-', ':']) || text.contains("..") {
        let normal = text.replace('-', ":").replace("..", ":");
        let fields: Vec<&str> = normal.split(':').collect();
        if fields.len() > 3 {
            return Ok(Range::Invalid(FIELDS));
        }
        let (a, b) = (fields[0], fields.get(1).copied().unwrap_or(""));
        if !is_number(a) || !is_number(b) {
            return Ok(Range::Invalid(NUMBERS));
        }
        let step = match fields.get(2) {
            None => 1,
            Some(s) if is_number(s) => s.parse::<u128>().unwrap_or(u128::MAX),
            Some(_) => return Ok(Range::Invalid(STRIDE)),
        };
        if step == 0 {
            return Err(NoderangeError::ZeroStride {
                range: text.to_owned(),
            });
        }
        return numeric_sides(text, a, b, step);
    }
    if let Some((a, k)) = text.split_once('+') {
        if !is_number(a) || !is_number(k) {
            return Ok(Range::Invalid(NUMBERS));
        }
        let end = number(text, a)?
            .checked_add(number(text, k)?)
            .ok_or_else(|| too_large(text, k))?;
        return numeric_sides(text, a, &end.to_string(), 1);
    }
    Ok(Range::Plain)
}

fn numeric_sides(text: &str, a: &str, b: &str, step: u128) -> Result<Range, NoderangeError> {
    if a == b {
        return Ok(Range::Plan(RangePlan::new(vec![Part::Lit(a.to_owned())])));
    }
    let (lo, hi) = (number(text, a)?, number(text, b)?);
    if lo >= hi {
        return Ok(Range::Invalid(if lo > hi { BACKWARDS } else { PADDING }));
    }
    let width = a.len();
    Ok(Range::Plan(RangePlan::new(vec![Part::Seq {
        lo,
        hi,
        step,
        width,
    }])))
}

impl RangePlan {
    fn new(mut parts: Vec<Part>) -> Self {
        // Adjacent literals (`r`, `1`, `u` when only the last number varies)
        // become one, so generation appends fewer pieces per name.
        let mut merged: Vec<Part> = Vec::with_capacity(parts.len());
        for part in parts.drain(..) {
            match (merged.last_mut(), part) {
                (Some(Part::Lit(prev)), Part::Lit(s)) => prev.push_str(&s),
                (_, part) => merged.push(part),
            }
        }
        let count = merged.iter().try_fold(1u128, |acc, p| match p {
            Part::Lit(_) => Some(acc),
            Part::Seq { lo, hi, step, .. } => acc.checked_mul((hi - lo) / step + 1),
        });
        RangePlan {
            parts: merged,
            count,
        }
    }

    /// Refuses the plan when it stands for more than `max` names.
    pub fn ensure_within(&self, text: &str, max: usize) -> Result<(), NoderangeError> {
        match self.count {
            Some(n) if n <= max as u128 => Ok(()),
            count => Err(too_many(text, count_text(count), max)),
        }
    }

    /// Calls `f` with every name, in natural order, from one reused buffer.
    pub fn for_each<E>(&self, mut f: impl FnMut(&str) -> Result<(), E>) -> Result<(), E> {
        let mut current: Vec<u128> = self
            .parts
            .iter()
            .filter_map(|p| match p {
                Part::Seq { lo, .. } => Some(*lo),
                Part::Lit(_) => None,
            })
            .collect();
        let seqs: Vec<(u128, u128, u128)> = self
            .parts
            .iter()
            .filter_map(|p| match p {
                Part::Seq { lo, hi, step, .. } => Some((*lo, *hi, *step)),
                Part::Lit(_) => None,
            })
            .collect();
        let mut buf = String::new();
        loop {
            self.render(&current, &mut buf);
            f(&buf)?;
            if !advance(&mut current, &seqs) {
                return Ok(());
            }
        }
    }

    fn render(&self, current: &[u128], buf: &mut String) {
        buf.clear();
        let mut values = current.iter();
        for part in &self.parts {
            match part {
                Part::Lit(s) => buf.push_str(s),
                Part::Seq { width, .. } => {
                    let v = values.next().copied().unwrap_or(0);
                    // Writing to a String cannot fail.
                    let _ = write!(buf, "{v:0width$}");
                }
            }
        }
    }

    /// Every name, in natural order.
    pub fn names(&self) -> Vec<String> {
        let mut out = Vec::with_capacity(self.count.map_or(0, |n| n.min(1 << 16) as usize));
        let _ = self.for_each(|name| {
            out.push(name.to_owned());
            Ok::<(), ()>(())
        });
        out
    }
}

/// Odometer step over the sequences, last one fastest; `false` when done.
fn advance(current: &mut [u128], seqs: &[(u128, u128, u128)]) -> bool {
    for (value, &(lo, hi, step)) in current.iter_mut().zip(seqs).rev() {
        match value.checked_add(step) {
            Some(next) if next <= hi => {
                *value = next;
                return true;
            }
            _ => *value = lo,
        }
    }
    false
}

/// Alternating runs of digits and non-digits (`r12u3` -> `r`,`12`,`u`,`3`).
fn runs(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(first) = rest.chars().next() {
        let digit = first.is_ascii_digit();
        let end = rest
            .find(|c: char| c.is_ascii_digit() != digit)
            .unwrap_or(rest.len());
        let (run, tail) = rest.split_at(end);
        out.push(run);
        rest = tail;
    }
    out
}

pub(crate) fn is_number(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

fn number(text: &str, digits: &str) -> Result<u128, NoderangeError> {
    digits.parse::<u128>().map_err(|_| too_large(text, digits))
}

fn too_large(text: &str, digits: &str) -> NoderangeError {
    NoderangeError::NumberTooLarge {
        text: text.to_owned(),
        number: digits.to_owned(),
    }
}

/// The error for an expansion past `limit` names.
pub(crate) fn too_many(text: &str, count: String, limit: usize) -> NoderangeError {
    NoderangeError::TooManyNames {
        text: text.to_owned(),
        count,
        limit,
    }
}

/// A count for [`too_many`] (`None`: past `u128`).
pub(crate) fn count_text(count: Option<u128>) -> String {
    match count {
        Some(n) => n.to_string(),
        None => "more than 10^38".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(text: &str) -> Vec<String> {
        match name_range(text).unwrap() {
            Range::Plan(p) => p.names(),
            other => panic!("{text}: {other:?}"),
        }
    }

    #[test]
    fn plans_generate_in_natural_order() {
        assert_eq!(plan("n8-n10"), ["n8", "n9", "n10"]);
        assert_eq!(plan("r1u1-r2u2"), ["r1u1", "r1u2", "r2u1", "r2u2"]);
        assert_eq!(plan("n08+3"), ["n08", "n09", "n10", "n11"]);
        assert_eq!(plan("n1.dom+1"), ["n1.dom", "n2.dom"]);
        assert_eq!(plan("node-01-node-03"), ["node-01", "node-02", "node-03"]);
        assert!(matches!(
            name_range("n3-n1").unwrap(),
            Range::Invalid(BACKWARDS)
        ));
        assert!(matches!(name_range("n").unwrap(), Range::Plain));
    }

    #[test]
    fn counts_do_not_overflow() {
        let Range::Plan(p) = name_range(&format!("a1b1c1-a{0}b{0}c{0}", "9".repeat(30))).unwrap()
        else {
            panic!()
        };
        assert!(p.count.is_none());
        assert!(p.ensure_within("x", 1000).is_err());
        let err = name_range(&format!("n1-n{}", "9".repeat(50))).unwrap_err();
        assert!(matches!(err, NoderangeError::NumberTooLarge { .. }));
    }
}
