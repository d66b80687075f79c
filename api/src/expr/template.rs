//! Splitting a template into literal text and `{expr:spec}` fields,
//! following `str.format`: `{{` and `}}` are escaped braces, a lone `}` or
//! an unclosed `{` is an error.
//!
//! Unlike `str.format`, quotes inside a field are honoured, so
//! `{node.replace('}', '')}` is one field; Python would end it at the
//! first `}`. Nested replacement fields (`{n1:{width}}`) are refused:
//! confluent never documented them and they would make the spec dynamic.

use super::format::Spec;
use super::parse::{self, Node};
use super::{ExprError, Resolver, excerpt};

/// One run of the template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Piece {
    /// Text copied as is (escapes already undone).
    Literal(String),
    Field(Field),
}

/// One `{expr}` or `{expr:spec}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Field {
    /// The field, braces included, shortened for error messages (they are
    /// stored with every broken node, so they must stay small).
    pub(super) label: String,
    /// The expression part; AST spans index into it.
    pub(super) expr_src: String,
    pub(super) expr: Node,
    pub(super) spec: Option<Spec>,
}

/// Splits `text` into pieces, parsing each field and collecting the
/// attributes referenced into `refs`.
pub(super) fn split(
    text: &str,
    resolve: Resolver<'_>,
    refs: &mut Vec<String>,
) -> Result<Vec<Piece>, ExprError> {
    let mut pieces = Vec::new();
    let mut literal = String::new();
    let mut i = 0;
    while let Some(rest) = text.get(i..) {
        let Some(c) = rest.chars().next() else { break };
        if rest.starts_with("{{") || rest.starts_with("}}") {
            literal.push(c);
            i += 2;
        } else if c == '{' {
            let bounds = field_bounds(text, i)?;
            if !literal.is_empty() {
                pieces.push(Piece::Literal(std::mem::take(&mut literal)));
            }
            pieces.push(Piece::Field(parse_field(text, i, bounds, resolve, refs)?));
            i = bounds.close + 1;
        } else if c == '}' {
            return Err(ExprError::Syntax(format!(
                "single '}}' at character {} (write '}}}}' for a literal brace)",
                char_pos(text, i)
            )));
        } else {
            literal.push(c);
            i += c.len_utf8();
        }
    }
    if !literal.is_empty() {
        pieces.push(Piece::Literal(literal));
    }
    Ok(pieces)
}

/// Byte offsets of a field's spec colon (if any) and closing brace.
#[derive(Debug, Clone, Copy)]
struct Bounds {
    colon: Option<usize>,
    close: usize,
}

/// Finds the end of the field opened at byte `open`. The spec starts at
/// the first `:` outside quotes and outside brackets/parentheses, since
/// slices (`node[0:3]`) contain colons too.
fn field_bounds(text: &str, open: usize) -> Result<Bounds, ExprError> {
    let body = text.get(open + 1..).unwrap_or("");
    let mut quote: Option<char> = None;
    let mut escaped = false;
    let mut depth: u32 = 0;
    let mut colon = None;
    for (offset, c) in body.char_indices() {
        let at = open + 1 + offset;
        if colon.is_some() {
            match c {
                '}' => return Ok(Bounds { colon, close: at }),
                '{' => return Err(nested(text, open, at)),
                _ => continue,
            }
        }
        if let Some(q) = quote {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            '\'' | '"' => quote = Some(c),
            '(' | '[' => depth += 1,
            ')' | ']' => depth = depth.saturating_sub(1),
            ':' if depth == 0 => colon = Some(at),
            '{' => return Err(nested(text, open, at)),
            '}' => return Ok(Bounds { colon, close: at }),
            _ => {}
        }
    }
    let what = if quote.is_some() {
        " (a string inside it is not terminated)"
    } else {
        ""
    };
    Err(ExprError::Syntax(format!(
        "'{{' at character {} is never closed{what}",
        char_pos(text, open)
    )))
}

fn nested(text: &str, open: usize, at: usize) -> ExprError {
    ExprError::Syntax(format!(
        "'{{' at character {} inside the field starting at character {}: fields cannot be \
         nested (write '{{{{' for a literal brace)",
        char_pos(text, at),
        char_pos(text, open)
    ))
}

fn parse_field(
    text: &str,
    open: usize,
    bounds: Bounds,
    resolve: Resolver<'_>,
    refs: &mut Vec<String>,
) -> Result<Field, ExprError> {
    let field_text = text.get(open..=bounds.close).unwrap_or("");
    let label = excerpt(field_text, 100);
    let expr_end = bounds.colon.unwrap_or(bounds.close);
    let expr_src = text.get(open + 1..expr_end).unwrap_or("");
    if expr_src.trim().is_empty() {
        return Err(ExprError::Syntax(format!(
            "empty field \"{label}\" at character {}: a field needs an expression such as \
             {{n1}} (write '{{{{' for a literal brace)",
            char_pos(text, open)
        )));
    }
    let spec = match bounds.colon {
        Some(colon) => Spec::parse(text.get(colon + 1..bounds.close).unwrap_or(""), &label)?,
        None => None,
    };
    let expr = parse::parse(expr_src, &label, resolve, refs)?;
    Ok(Field {
        label,
        expr_src: expr_src.to_owned(),
        expr,
        spec,
    })
}

/// 1-based character position of a byte offset, for messages.
fn char_pos(text: &str, byte: usize) -> usize {
    text.get(..byte).map_or(0, |s| s.chars().count()) + 1
}
