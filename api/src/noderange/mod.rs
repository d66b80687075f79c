//! The noderange language: `compute,-n3`, `rack[1-4]@gpu`, `n[1-100]>10`,
//! `location.rack=2`, `~^sw`; confluent's grammar, to the letter where
//! admins can tell.
//!
//! # Shape
//!
//! Text is parsed once into a small syntax tree (`parse`): atoms,
//! operators and parenthesised groups, with bracket content parsed as a
//! nested noderange. The tree is then evaluated by one left-to-right walk
//! (`eval`) against a `Domain`: an inventory seen through
//! the [`Universe`] trait (sets are [`NodeSet`] bitsets), no inventory at
//! all for `nodedefine` (`define`; sets of names), or the numbers inside
//! brackets (`bracket`). Ranges (`range`) and filters (`filter`) are
//! leaf modules; `abbrev` goes the other way, from a set to a short text.
//!
//! # Why these choices
//!
//! *Left to right, no precedence.* confluent applies each operator to the
//! set built so far (`a,b@c` is `(a∪b)∩c`) and admins have scripts that rely
//! on it; a precedence grammar would silently change their meaning.
//! Pagination (`<N` skip, `>N` take) is global and applied last, after
//! natural sorting, also as in confluent.
//!
//! *Bitsets against a trait.* A 100,000-node cluster makes every set
//! operation a pass over ~1,600 words, and pagination walks the inventory's
//! precomputed natural order instead of sorting strings. Evaluating against
//! [`Universe`] rather than the concrete inventory keeps this module
//! testable with a twenty-node fixture and lets the inventory change its
//! representation. Rejected: evaluating to `BTreeSet<String>` (what
//! confluent does, and an allocation per node per operation), and
//! expanding ranges to strings before looking them up (`n[1-100000]` is one
//! lookup per generated name into a reused buffer here).
//!
//! *Define mode.* `nodedefine n[1-4]` needs the names a range spells without
//! any node existing yet, so [`expand_names`] runs the same walk over sorted
//! name lists and refuses what only makes sense against existing nodes
//! (regular expressions, filters, a leading `<`/`>`).
//!
//! *Limits before work.* Every range and bracket product is counted before
//! a name is generated; counts use checked `u128` arithmetic; regular
//! expressions are length- and size-limited; nesting of parentheses,
//! brackets and dynamic groups shares one depth budget. The evaluator never
//! panics on input (a fuzz target holds it to that).
//!
//! # Deliberate differences from confluent
//!
//! - A leading operator (`,n1`) and empty `()` are syntax errors with a
//!   position (confluent fails there too, with a Python message).
//! - Pagination never changes the set it sits next to: in confluent `>3`
//!   after `@` empties the set by accident. "Starts with `<` or `>`" is
//!   judged after leading whitespace, like every other token.
//! - Range sides are split into digit and non-digit runs over the whole
//!   name, so `n1.dom-n3.dom` keeps its domain (confluent drops it).
//! - Bracket content must be numbers, numeric ranges or plain words: a
//!   backwards or non-numeric bracket range is an error rather than an odd
//!   literal name.
//! - A filter on a glob that might match a secret attribute (`*`,
//!   `custom.*`) is refused, since the values behind it cannot be told apart.

mod abbrev;
mod bracket;
mod define;
mod error;
mod eval;
mod filter;
mod parse;
mod range;
mod resolve;
mod universe;

#[cfg(test)]
mod tests;

pub use error::NoderangeError;
pub use universe::{GroupView, Universe};

use crate::nodeset::NodeSet;

/// Bounds that keep hostile or mistyped noderanges from exhausting memory.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Most names one expansion may produce (before lookup), default 1,000,000.
    pub max_names: usize,
    /// Longest regular expression source accepted, in bytes.
    pub max_regex_len: usize,
    /// Compiled size limit handed to the regex engine, in bytes.
    pub max_regex_size: usize,
    /// Deepest nesting of parentheses, brackets and dynamic groups.
    pub max_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_names: 1_000_000,
            max_regex_len: 1024,
            max_regex_size: 1 << 20,
            max_depth: 32,
        }
    }
}

/// The nodes a noderange selects in an inventory.
///
/// Every name must exist (as a node, a group, or a range of them); one bad
/// element fails the whole range, as in confluent.
pub fn expand<U: Universe>(text: &str, u: &U, limits: &Limits) -> Result<NodeSet, NoderangeError> {
    resolve::UniverseDomain::new(u, limits).eval_text(text, 0)
}

/// The distinct names a noderange spells, in natural order, without an
/// inventory (`nodedefine`). Names need not exist and are not validated
/// here: the caller checks each one as a new node name.
pub fn expand_names(text: &str, limits: &Limits) -> Result<Vec<String>, NoderangeError> {
    let parsed = parse::parse(text, limits, 0)?;
    let mut d = define::DefineDomain::new(text, limits);
    Ok(eval::evaluate(&mut d, &parsed, 0)?.into_vec())
}

/// A short noderange for a set of nodes: whole groups where they fit, then
/// bracketed runs (`rack1,n[1:4,7]`). [`expand`] of the result against the
/// same universe gives back exactly `set` (ids of no node are ignored).
pub fn abbreviate<U: Universe>(set: &NodeSet, u: &U) -> String {
    abbrev::abbreviate_set(set, u)
}

/// A short noderange for bare names (`n1,n2,n3` -> `n[1:3]`). [`expand_names`]
/// of the result gives back the same names, provided each name reads back as
/// itself alone (`a1-a3` does not: it is a range).
pub fn abbreviate_names<S: AsRef<str>>(names: &[S]) -> String {
    abbrev::abbreviate_list(names)
}
