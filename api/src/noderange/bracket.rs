//! `[...]` expansion: `n[1-3]`, `r[1-2]u[01-40]`, `n[1-10,-5]`, `n[1:9:4]`.
//!
//! Each bracket's content is a noderange over numbers, evaluated once by
//! [`NumericDomain`]; the atom then stands for the cartesian product of the
//! text pieces and the bracket values, and each produced name is resolved
//! as a name in its own right (so `n[01-03]` fails on `n01` when only `n1`
//! exists, exactly like confluent). The product's size is known before a
//! single name is built, and is refused past [`Limits::max_names`].

use super::eval::{Domain, Names, evaluate};
use super::parse::{Atom, AtomKind, Op, Parsed, Piece, syntax};
use super::range::{Range, count_text, numeric_range, too_many};
use super::{Limits, NoderangeError};

/// The names an atom with brackets stands for, not yet generated.
pub(crate) struct Product<'a> {
    segments: Vec<Segment<'a>>,
    empty: bool,
}

enum Segment<'a> {
    Text(&'a str),
    Values(Vec<String>),
}

/// Evaluates every bracket of an atom and checks the product's size.
pub(crate) fn product<'a>(
    atom: &str,
    pieces: &'a [Piece],
    limits: &Limits,
    depth: usize,
) -> Result<Product<'a>, NoderangeError> {
    let mut segments = Vec::with_capacity(pieces.len());
    let mut count: Option<u128> = Some(1);
    for piece in pieces {
        match piece {
            Piece::Text(t) => segments.push(Segment::Text(t)),
            Piece::Bracket(parsed) => {
                let mut d = NumericDomain { atom, limits };
                let values = evaluate(&mut d, parsed, depth.saturating_add(1))?.into_vec();
                count = count.and_then(|c| c.checked_mul(values.len() as u128));
                segments.push(Segment::Values(values));
            }
        }
    }
    match count {
        Some(n) if n <= limits.max_names as u128 => Ok(Product {
            segments,
            empty: n == 0,
        }),
        _ => Err(too_many(atom, count_text(count), limits.max_names)),
    }
}

impl Product<'_> {
    /// Calls `f` with every name, bracket values varying last-fastest, so
    /// the names come in natural order.
    pub fn for_each(
        &self,
        mut f: impl FnMut(&str) -> Result<(), NoderangeError>,
    ) -> Result<(), NoderangeError> {
        if self.empty {
            return Ok(());
        }
        let lens: Vec<usize> = self
            .segments
            .iter()
            .filter_map(|s| match s {
                Segment::Values(v) => Some(v.len()),
                Segment::Text(_) => None,
            })
            .collect();
        let mut index = vec![0usize; lens.len()];
        let mut buf = String::new();
        loop {
            buf.clear();
            let mut slot = 0;
            for seg in &self.segments {
                match seg {
                    Segment::Text(t) => buf.push_str(t),
                    Segment::Values(v) => {
                        let i = index.get(slot).copied().unwrap_or(0);
                        buf.push_str(v.get(i).map_or("", String::as_str));
                        slot += 1;
                    }
                }
            }
            f(&buf)?;
            if !advance(&mut index, &lens) {
                return Ok(());
            }
        }
    }
}

fn advance(index: &mut [usize], lens: &[usize]) -> bool {
    for (i, &len) in index.iter_mut().zip(lens).rev() {
        *i += 1;
        if *i < len {
            return true;
        }
        *i = 0;
    }
    false
}

/// Bracket content: numbers, numeric ranges with an optional stride, and
/// (as confluent allows) plain words, combined with `,` `,-` `@` and
/// paginated with `<N` `>N`.
struct NumericDomain<'a> {
    /// The whole atom, for messages: `n[1-99999999]` says more than
    /// `1-99999999`.
    atom: &'a str,
    limits: &'a Limits,
}

impl Domain for NumericDomain<'_> {
    type Set = Names;

    fn empty(&self) -> Names {
        Names::new()
    }

    fn all(&self, _parsed: &Parsed) -> Result<Names, NoderangeError> {
        Err(syntax(format!(
            "a bracket cannot start with < or >: there is nothing to page through in \"{}\"",
            self.atom
        )))
    }

    fn atom(
        &mut self,
        atom: &Atom,
        _scope: Option<&Names>,
        _depth: usize,
    ) -> Result<Names, NoderangeError> {
        match atom.kind {
            AtomKind::Regex(_) | AtomKind::Filter | AtomKind::Brackets(_) => {
                Err(NoderangeError::NotInBrackets {
                    atom: atom.text.clone(),
                })
            }
            AtomKind::Name => match numeric_range(&atom.text)? {
                Range::Plain => Ok(Names::one(atom.text.clone())),
                Range::Invalid(reason) => Err(NoderangeError::RangeNotValid {
                    range: atom.text.clone(),
                    reason,
                }),
                Range::Plan(plan) => {
                    plan.ensure_within(self.atom, self.limits.max_names)?;
                    Ok(Names::from_unsorted(plan.names()))
                }
            },
        }
    }

    fn apply(&self, acc: &mut Names, op: Op, rhs: Names) -> Result<(), NoderangeError> {
        let max = self.limits.max_names;
        acc.combine(op, rhs, max)
            .map_err(|n| too_many(self.atom, format!("at least {n}"), max))
    }

    fn paginate(&self, set: Names, skip: usize, take: usize) -> Names {
        set.paginate(skip, take)
    }
}
