//! `NAME=VALUE` edits, as typed after a noderange on the command line.
//!
//! Parsing and checking an assignment needs no inventory state except for
//! group names, so it happens entirely before an edit touches anything: a
//! bad name, an unknown attribute, a malformed expression or an invalid
//! value refuses the whole edit.

use std::sync::Arc;

use super::{InventoryError, Stored};
use crate::catalog::{self, Attr, Sensitivity};
use crate::expr::{self, Expression};

/// One edit of an attribute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Assignment {
    /// `NAME=VALUE`; an empty value is an explicit empty that masks groups.
    Set { name: String, value: String },
    /// `groups,=G` (or `nodes,=RANGE` on a group): add, highest priority.
    Add { name: String, value: String },
    /// `groups^=G` or `groups-=G`: remove.
    Remove { name: String, value: String },
}

impl Assignment {
    /// Parses `NAME=VALUE`, `NAME,=VALUE`, `NAME^=VALUE` or `NAME-=VALUE`.
    pub fn parse(text: &str) -> Result<Assignment, InventoryError> {
        let bad = || InventoryError::BadAssignment(text.to_owned());
        let (lhs, value) = text.split_once('=').ok_or_else(bad)?;
        let value = value.to_owned();
        let (name, make): (&str, fn(String, String) -> Assignment) =
            if let Some(n) = lhs.strip_suffix(',') {
                (n, |name, value| Assignment::Add { name, value })
            } else if let Some(n) = lhs.strip_suffix('^').or_else(|| lhs.strip_suffix('-')) {
                (n, |name, value| Assignment::Remove { name, value })
            } else {
                (lhs, |name, value| Assignment::Set { name, value })
            };
        let name = name.trim();
        if name.is_empty() {
            return Err(bad());
        }
        Ok(make(name.to_owned(), value))
    }

    /// The attribute name as typed.
    pub fn name(&self) -> &str {
        match self {
            Assignment::Set { name, .. }
            | Assignment::Add { name, .. }
            | Assignment::Remove { name, .. } => name,
        }
    }

    /// The value as typed.
    pub fn value(&self) -> &str {
        match self {
            Assignment::Set { value, .. }
            | Assignment::Add { value, .. }
            | Assignment::Remove { value, .. } => value,
        }
    }
}

impl std::str::FromStr for Assignment {
    type Err = InventoryError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Assignment::parse(s)
    }
}

/// Turns typed text into what is stored: an expression (when the text has a
/// `{field}` and the attribute allows expressions) or a normalised literal.
/// Secrets and hashes are stored as given: the layer above has already
/// encrypted or hashed them, and they are never expressions.
pub(super) fn prepare_value(attr: &Attr, raw: &str) -> Result<Stored, InventoryError> {
    if attr.spec.sensitivity != Sensitivity::Plain {
        return Ok(Stored::Literal(Arc::from(raw)));
    }
    if attr.accepts_expressions() && expr::looks_like_expression(raw) {
        let e = Expression::parse(raw).map_err(|source| InventoryError::Expression {
            attr: attr.canonical.clone(),
            source,
        })?;
        if e.has_fields() {
            return Ok(Stored::Expr(Arc::new(e)));
        }
        let text = e.literal().unwrap_or_default();
        return Ok(Stored::Literal(Arc::from(attr.normalize(&text)?)));
    }
    Ok(Stored::Literal(Arc::from(attr.normalize(raw)?)))
}

/// Resolves an attribute name for setting, refusing the special names that
/// have their own edit paths.
pub(super) fn resolve_plain(name: &str) -> Result<Attr, InventoryError> {
    Ok(catalog::resolve(name)?)
}

/// Splits a comma list of names, trimming blanks and dropping empties.
pub(super) fn split_list(value: &str) -> Vec<&str> {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect()
}
