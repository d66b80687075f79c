//! Define mode: the names a noderange spells, with no inventory to check
//! them against (`nodedefine n[1-4]`).
//!
//! Everything that selects among existing nodes is refused: regular
//! expressions, attribute filters and a leading `<N`/`>N`. A name that is
//! not a valid range (`n3-n1`) stays a literal name, as in confluent; the
//! caller validates every produced name as a node name afterwards.

use super::bracket::product;
use super::eval::{Domain, Names};
use super::parse::{Atom, AtomKind, Op, Parsed};
use super::range::{Range, name_range, too_many};
use super::{Limits, NoderangeError};

const SELECTORS: &str = "regular expressions and attribute filters";
const PAGING: &str = "noderanges that start with < or >";

pub(crate) struct DefineDomain<'a> {
    /// The whole noderange, for messages.
    text: &'a str,
    limits: &'a Limits,
}

impl<'a> DefineDomain<'a> {
    pub fn new(text: &'a str, limits: &'a Limits) -> Self {
        DefineDomain { text, limits }
    }

    fn check_total(&self, text: &str, len: usize) -> Result<(), NoderangeError> {
        if len > self.limits.max_names {
            return Err(too_many(
                text,
                format!("at least {len}"),
                self.limits.max_names,
            ));
        }
        Ok(())
    }
}

/// The names one name-level atom (or one name produced by brackets)
/// stands for in define mode.
pub(crate) fn define_name(name: &str, limits: &Limits) -> Result<Vec<String>, NoderangeError> {
    match name_range(name)? {
        Range::Plain | Range::Invalid(_) => Ok(vec![name.to_owned()]),
        Range::Plan(plan) => {
            plan.ensure_within(name, limits.max_names)?;
            Ok(plan.names())
        }
    }
}

impl Domain for DefineDomain<'_> {
    type Set = Names;

    fn empty(&self) -> Names {
        Names::new()
    }

    fn all(&self, _parsed: &Parsed) -> Result<Names, NoderangeError> {
        let first = self
            .text
            .trim_start()
            .split([',', '@'])
            .next()
            .unwrap_or("");
        Err(NoderangeError::NeedsInventory {
            what: PAGING,
            atom: first.to_owned(),
        })
    }

    fn atom(
        &mut self,
        atom: &Atom,
        _scope: Option<&Names>,
        depth: usize,
    ) -> Result<Names, NoderangeError> {
        match &atom.kind {
            AtomKind::Regex(_) | AtomKind::Filter => Err(NoderangeError::NeedsInventory {
                what: SELECTORS,
                atom: atom.text.clone(),
            }),
            AtomKind::Name => Ok(Names::from_unsorted(define_name(&atom.text, self.limits)?)),
            AtomKind::Brackets(pieces) => {
                let names = product(&atom.text, pieces, self.limits, depth)?;
                let mut out = Vec::new();
                names.for_each(|name| {
                    out.extend(define_name(name, self.limits)?);
                    self.check_total(&atom.text, out.len())
                })?;
                Ok(Names::from_unsorted(out))
            }
        }
    }

    fn apply(&self, acc: &mut Names, op: Op, rhs: Names) -> Result<(), NoderangeError> {
        let max = self.limits.max_names;
        acc.combine(op, rhs, max)
            .map_err(|n| too_many(self.text, format!("at least {n}"), max))
    }

    fn paginate(&self, set: Names, skip: usize, take: usize) -> Names {
        set.paginate(skip, take)
    }
}
