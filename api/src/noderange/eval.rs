//! The left-to-right evaluator, shared by the three ways a noderange is read.
//!
//! confluent evaluates the same grammar in three settings: against the
//! inventory (the normal case), without one (`nodedefine`), and inside
//! brackets (numbers only). The walk over the syntax tree is the same in
//! all three: start with an empty set, apply each atom or parenthesised
//! group with the current (sticky) operator, then paginate. What differs is
//! the set type and how an atom becomes a set; that is the [`Domain`] trait.

use std::cmp::Ordering;

use super::NoderangeError;
use super::parse::{Atom, Item, Op, Parsed};
use crate::names::natural_cmp;

/// One reading of the grammar.
pub(crate) trait Domain {
    type Set;

    fn empty(&self) -> Self::Set;
    /// The set a text starting with `<` or `>` pages through.
    fn all(&self, parsed: &Parsed) -> Result<Self::Set, NoderangeError>;
    /// The set an atom stands for. `scope` is the set built so far when the
    /// atom will be subtracted or intersected: filters need only scan it.
    fn atom(
        &mut self,
        atom: &Atom,
        scope: Option<&Self::Set>,
        depth: usize,
    ) -> Result<Self::Set, NoderangeError>;
    /// `acc op= rhs`, with any size bound the domain enforces.
    fn apply(&self, acc: &mut Self::Set, op: Op, rhs: Self::Set) -> Result<(), NoderangeError>;
    /// Keeps `take` members after skipping `skip`, in natural order.
    fn paginate(&self, set: Self::Set, skip: usize, take: usize) -> Self::Set;
}

/// Evaluates a parsed text (a whole noderange or one bracket's content).
pub(crate) fn evaluate<D: Domain>(
    d: &mut D,
    parsed: &Parsed,
    depth: usize,
) -> Result<D::Set, NoderangeError> {
    let mut set = sequence(d, &parsed.body, depth)?;
    if parsed.page_all {
        // The expression is still evaluated, so its errors are reported,
        // but confluent then pages through every node instead.
        set = d.all(parsed)?;
    }
    if parsed.skip.is_some() || parsed.take.is_some() {
        let skip = parsed.skip.unwrap_or(0);
        let take = parsed.take.unwrap_or(usize::MAX);
        set = d.paginate(set, skip, take);
    }
    Ok(set)
}

fn sequence<D: Domain>(d: &mut D, items: &[Item], depth: usize) -> Result<D::Set, NoderangeError> {
    let mut acc = d.empty();
    let mut op = Op::Union;
    for item in items {
        let rhs = match item {
            Item::Op(o) => {
                op = *o;
                continue;
            }
            Item::Atom(atom) => {
                let scope = (op != Op::Union).then_some(&acc);
                d.atom(atom, scope, depth)?
            }
            Item::Group(inner) => sequence(d, inner, depth.saturating_add(1))?,
        };
        d.apply(&mut acc, op, rhs)?;
    }
    Ok(acc)
}

/// A set of names in natural order without duplicates: the set type of
/// define mode and of bracket content. Ranges produce their names already
/// in order, so combining is mostly a linear merge. Unions are buffered
/// (`pending`) and folded in when the buffer outgrows the sorted part or an
/// operation needs order, so a long list like `n1,n2,...,n50000` costs a
/// sort, not one merge per name.
#[derive(Debug, Default, Clone)]
pub(crate) struct Names {
    sorted: Vec<String>,
    pending: Vec<String>,
}

impl Names {
    pub fn new() -> Self {
        Self::default()
    }

    /// From names in any order, possibly repeated.
    pub fn from_unsorted(v: Vec<String>) -> Self {
        let mut n = Names {
            sorted: Vec::new(),
            pending: v,
        };
        n.normalize();
        n
    }

    pub fn one(name: String) -> Self {
        Names {
            sorted: vec![name],
            pending: Vec::new(),
        }
    }

    /// Folds pending unions in. Sorting is adaptive: an already sorted
    /// vector (the common case) costs one linear pass.
    fn normalize(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        self.sorted.append(&mut self.pending);
        self.sorted.sort_by(|a, b| natural_cmp(a, b));
        self.sorted.dedup();
    }

    /// Applies `op` with `rhs`; `Err(n)` when the result has `n` names,
    /// more than `max`.
    pub fn combine(&mut self, op: Op, mut rhs: Names, max: usize) -> Result<(), usize> {
        match op {
            Op::Union if self.sorted.is_empty() && self.pending.is_empty() => *self = rhs,
            Op::Union => {
                self.pending.append(&mut rhs.sorted);
                self.pending.append(&mut rhs.pending);
                if self.pending.len() > self.sorted.len() {
                    self.normalize();
                }
            }
            Op::Minus => self.merge(rhs, true, false),
            Op::Intersect => self.merge(rhs, false, true),
        }
        if self.sorted.len() + self.pending.len() > max {
            self.normalize();
            if self.sorted.len() > max {
                return Err(self.sorted.len());
            }
        }
        Ok(())
    }

    /// Linear merge keeping members only on the left, or on both sides.
    fn merge(&mut self, mut other: Names, left: bool, both: bool) {
        self.normalize();
        other.normalize();
        let a = std::mem::take(&mut self.sorted);
        let mut out = Vec::with_capacity(a.len());
        let mut b = other.sorted.into_iter().peekable();
        for x in a {
            let mut keep = left;
            while let Some(y) = b.peek() {
                match natural_cmp(&x, y) {
                    Ordering::Greater => {
                        b.next();
                    }
                    Ordering::Equal => {
                        keep = both;
                        break;
                    }
                    Ordering::Less => break,
                }
            }
            if keep {
                out.push(x);
            }
        }
        self.sorted = out;
    }

    pub fn paginate(mut self, skip: usize, take: usize) -> Names {
        self.normalize();
        let sorted = self.sorted.into_iter().skip(skip).take(take).collect();
        Names {
            sorted,
            pending: Vec::new(),
        }
    }

    pub fn into_vec(mut self) -> Vec<String> {
        self.normalize();
        self.sorted
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[&str]) -> Names {
        Names::from_unsorted(v.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn merges_keep_natural_order() {
        let mut a = names(&["n10", "n2", "n1"]);
        a.combine(Op::Union, names(&["n3", "n2", "n20"]), 10)
            .unwrap();
        assert_eq!(a.clone().into_vec(), ["n1", "n2", "n3", "n10", "n20"]);
        let mut m = a.clone();
        m.combine(Op::Minus, names(&["n2", "n20", "x"]), 10)
            .unwrap();
        assert_eq!(m.into_vec(), ["n1", "n3", "n10"]);
        let mut i = a.clone();
        i.combine(Op::Intersect, names(&["n20", "n1", "y"]), 10)
            .unwrap();
        assert_eq!(i.into_vec(), ["n1", "n20"]);
        assert_eq!(a.clone().paginate(1, 2).into_vec(), ["n2", "n3"]);
        assert_eq!(a.combine(Op::Union, names(&["a", "b"]), 6), Err(7));
    }

    #[test]
    fn long_unions_stay_fast() {
        let mut acc = Names::new();
        for i in (0..50_000).rev() {
            acc.combine(Op::Union, Names::one(format!("n{i}")), usize::MAX)
                .unwrap();
        }
        let v = acc.into_vec();
        assert_eq!(v.len(), 50_000);
        assert_eq!(v[..3], ["n0", "n1", "n2"]);
    }
}
