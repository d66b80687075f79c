//! Attribute expressions: `rack{(n1-1)/42+1}`, `{node}-imm`, `{n1:02d}`.
//!
//! An attribute value containing `{...}` fields is a template evaluated per
//! node. Confluent implements it with Python's `str.format` and a restricted
//! walker over Python's own AST. We keep the observable language (the
//! `str.format` template rules, a Python-flavoured expression subset, the
//! format-spec mini language) but parse and evaluate it ourselves:
//!
//! - A general evaluator (embedding a scripting language, or a Python
//!   grammar) would accept far more than confluent does, and every extra
//!   feature is a way for an admin-supplied string to loop, allocate or
//!   differ from confluent. The grammar here is closed: integers, strings,
//!   names, `+ - * / % << >> & ^ |`, unary `-`/`+`, subscripts/slices and
//!   five methods. Anything else is refused when the admin sets the value.
//! - The evaluator runs inside the replicated state machine, so it must be
//!   deterministic and total: checked `i64` arithmetic instead of Python's
//!   unbounded ints, capped string sizes, and a nesting limit enforced both
//!   while parsing and on the finished tree, so no input can panic, wrap or
//!   overflow the stack.
//!
//! Errors come in two kinds because they happen at different times and the
//! caller reacts differently. [`ExprError::Syntax`] means the text can never
//! work on any node (bad grammar, unknown attribute, invalid format spec):
//! the write that sets it is rejected. [`ExprError::Eval`] means it failed
//! for one node (the name has no third number, a referenced value is not a
//! number, division by zero): the value is stored anyway and that node
//! reports the attribute as broken, exactly as confluent does, because the
//! same group-level expression usually works on the other members.
//!
//! Shape: `template` splits the text into literal runs and fields, `lex`
//! and `parse` turn one field's expression into a small AST (attribute
//! names are resolved against the catalog there, once), `eval` computes
//! values and `format` applies the format spec.

mod eval;
mod format;
mod lex;
mod parse;
mod template;

#[cfg(test)]
mod tests;

use crate::catalog::{self, CatalogError, Sensitivity};
use template::Piece;

/// Longest expression source accepted, in bytes.
pub const MAX_SOURCE_LEN: usize = 16384;
/// Longest evaluation result (and intermediate string), in characters.
pub const MAX_OUTPUT_LEN: usize = 16384;
/// Deepest nesting of parentheses, unary operators, subscripts and calls,
/// and the tallest expression tree; bounds every recursion in this module.
pub const MAX_DEPTH: usize = 64;
/// Longest format spec after `:` (confluent's limit).
pub const MAX_SPEC_LEN: usize = 8;

/// Where an expression reads the node's name and other attributes.
pub trait ExprEnv {
    /// The node the expression is evaluated for.
    fn node_name(&self) -> &str;
    /// The resolved value of another attribute (canonical name, aliases
    /// already resolved) on this node: `Ok("")`-like empty when unset,
    /// `Err(message)` when that attribute is itself a broken expression.
    fn attribute(&self, canonical: &str) -> Result<String, String>;
}

/// Why an expression was refused or failed. Callers reject the write on
/// `Syntax`, and store the value but mark the node's attribute broken on
/// `Eval`. Messages name the offending piece of the expression.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExprError {
    /// The text can never evaluate, on any node.
    #[error("expression syntax: {0}")]
    Syntax(String),
    /// Evaluation failed for this node.
    #[error("{0}")]
    Eval(String),
}

/// A parsed attribute expression. Two expressions are equal when their
/// source text is equal (the parsed form is a function of the text and
/// the catalog).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expression {
    source: String,
    pieces: Vec<Piece>,
    references: Vec<String>,
}

/// What the parser needs from the catalog: the canonical name of an
/// attribute (aliases resolved) and whether it may be read by expressions.
/// A parameter rather than a direct call so tests can stand in for it.
pub(crate) type Resolver<'a> = &'a dyn Fn(&str) -> Result<(String, Sensitivity), CatalogError>;

fn catalog_resolver(name: &str) -> Result<(String, Sensitivity), CatalogError> {
    catalog::resolve(name).map(|attr| (attr.canonical, attr.spec.sensitivity))
}

/// The first `keep` characters of `s`, with `...` when cut: values and
/// fields quoted in messages stay short.
fn excerpt(s: &str, keep: usize) -> String {
    match s.char_indices().nth(keep) {
        Some((cut, _)) => format!("{}...", s.get(..cut).unwrap_or("")),
        None => s.to_owned(),
    }
}

/// `true` when the text contains a brace, i.e. it must go through
/// [`Expression::parse`] (even `{{x}}`, which is an escaped literal).
pub fn looks_like_expression(text: &str) -> bool {
    text.contains(['{', '}'])
}

impl Expression {
    /// Parses a template. Only [`ExprError::Syntax`] is returned.
    pub fn parse(text: &str) -> Result<Expression, ExprError> {
        Self::parse_with(text, &catalog_resolver)
    }

    /// [`Expression::parse`] with another source of attribute names.
    pub(crate) fn parse_with(text: &str, resolve: Resolver<'_>) -> Result<Expression, ExprError> {
        if text.len() > MAX_SOURCE_LEN {
            return Err(ExprError::Syntax(format!(
                "expression is {} bytes long; the limit is {MAX_SOURCE_LEN}",
                text.len()
            )));
        }
        let mut references = Vec::new();
        let pieces = template::split(text, resolve, &mut references)?;
        Ok(Expression {
            source: text.to_owned(),
            pieces,
            references,
        })
    }

    /// The text as the admin wrote it.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// `false` when the text is only literal text and `{{`/`}}` escapes.
    pub fn has_fields(&self) -> bool {
        self.pieces.iter().any(|p| matches!(p, Piece::Field(_)))
    }

    /// The unescaped text when there are no fields (`{{x}}` -> `{x}`).
    pub fn literal(&self) -> Option<String> {
        let mut out = String::new();
        for piece in &self.pieces {
            match piece {
                Piece::Literal(text) => out.push_str(text),
                Piece::Field(_) => return None,
            }
        }
        Some(out)
    }

    /// Canonical names of every attribute the expression reads, in order
    /// of first use, without duplicates. A change to any of them on a node
    /// means this expression must be re-evaluated there.
    pub fn references(&self) -> &[String] {
        &self.references
    }

    /// Evaluates for one node. Only [`ExprError::Eval`] is returned.
    pub fn evaluate(&self, env: &dyn ExprEnv) -> Result<String, ExprError> {
        eval::render(&self.pieces, env)
    }
}
