//! Tokens of a field expression. Byte-oriented: everything outside
//! string literals is ASCII, so any other character is an error and the
//! lexer never splits a UTF-8 sequence.

use super::ExprError;
use super::parse::{BinOp, Span};

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Tok {
    Int(i64),
    Str(String),
    Ident(String),
    Op(BinOp),
    Dot,
    Comma,
    Colon,
    LParen,
    RParen,
    LBracket,
    RBracket,
    End,
}

impl Tok {
    pub(super) fn describe(&self) -> String {
        let sym = match self {
            Tok::Int(v) => return format!("number {v}"),
            Tok::Str(s) => return format!("string {s:?}"),
            Tok::Ident(n) => return format!("name \"{n}\""),
            Tok::End => return "end of expression".to_owned(),
            Tok::Op(op) => op.symbol(),
            Tok::Dot => ".",
            Tok::Comma => ",",
            Tok::Colon => ":",
            Tok::LParen => "(",
            Tok::RParen => ")",
            Tok::LBracket => "[",
            Tok::RBracket => "]",
        };
        format!("'{sym}'")
    }
}

/// Splits `src`, the expression of `field` (the whole `{...}`, quoted in
/// messages), into tokens with their byte spans.
pub(super) fn lex(src: &str, field: &str) -> Result<Vec<(Tok, Span)>, ExprError> {
    let err = |msg: String| ExprError::Syntax(format!("{msg} in \"{field}\""));
    let bytes = src.as_bytes();
    let mut toks = Vec::new();
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let start = i;
        let next = bytes.get(i + 1).copied();
        let tok = match b {
            b' ' | b'\t' | b'\r' | b'\n' => {
                i += 1;
                continue;
            }
            b'0'..=b'9' => {
                i = scan(bytes, i, |c| c.is_ascii_alphanumeric() || c == b'_');
                let text = src.get(start..i).unwrap_or("");
                if !text.bytes().all(|c| c.is_ascii_digit()) {
                    return Err(err(format!(
                        "invalid number \"{text}\" (only decimal integers)"
                    )));
                }
                let value = text
                    .parse()
                    .map_err(|_| err(format!("number {text} is too large")))?;
                toks.push((Tok::Int(value), (start, i)));
                continue;
            }
            b'a'..=b'z' | b'A'..=b'Z' | b'_' => {
                i = scan(bytes, i, |c| c.is_ascii_alphanumeric() || c == b'_');
                let name = src.get(start..i).unwrap_or("").to_owned();
                toks.push((Tok::Ident(name), (start, i)));
                continue;
            }
            b'\'' | b'"' => {
                let (value, end) = string_literal(src, i).ok_or_else(|| {
                    err(format!(
                        "string starting at offset {start} is not terminated"
                    ))
                })?;
                i = end;
                toks.push((Tok::Str(value), (start, i)));
                continue;
            }
            b'/' if next == Some(b'/') => {
                i += 1;
                Tok::Op(BinOp::Div)
            }
            b'<' if next == Some(b'<') => {
                i += 1;
                Tok::Op(BinOp::Shl)
            }
            b'>' if next == Some(b'>') => {
                i += 1;
                Tok::Op(BinOp::Shr)
            }
            b'*' if next == Some(b'*') => return Err(err("'**' (power) is not supported".into())),
            b'<' | b'>' | b'=' | b'!' => {
                return Err(err(format!(
                    "'{}' is not supported (no comparisons, assignments or conversions)",
                    char::from(b)
                )));
            }
            b'+' => Tok::Op(BinOp::Add),
            b'-' => Tok::Op(BinOp::Sub),
            b'*' => Tok::Op(BinOp::Mul),
            b'/' => Tok::Op(BinOp::Div),
            b'%' => Tok::Op(BinOp::Mod),
            b'&' => Tok::Op(BinOp::And),
            b'^' => Tok::Op(BinOp::Xor),
            b'|' => Tok::Op(BinOp::Or),
            b'.' => Tok::Dot,
            b',' => Tok::Comma,
            b':' => Tok::Colon,
            b'(' => Tok::LParen,
            b')' => Tok::RParen,
            b'[' => Tok::LBracket,
            b']' => Tok::RBracket,
            _ => {
                let c = src.get(i..).and_then(|s| s.chars().next()).unwrap_or('?');
                return Err(err(format!("unexpected character {c:?}")));
            }
        };
        i += 1;
        toks.push((tok, (start, i)));
    }
    Ok(toks)
}

fn scan(bytes: &[u8], mut i: usize, keep: impl Fn(u8) -> bool) -> usize {
    while bytes.get(i).is_some_and(|&c| keep(c)) {
        i += 1;
    }
    i
}

/// Reads a quoted string starting at byte `open`; returns its value and
/// the byte just after the closing quote, or `None` if unterminated.
/// Escapes follow Python for the common cases; unknown escapes keep the
/// backslash, as Python does.
fn string_literal(src: &str, open: usize) -> Option<(String, usize)> {
    let rest = src.get(open..)?;
    let mut chars = rest.char_indices();
    let (_, quote) = chars.next()?;
    let mut value = String::new();
    while let Some((offset, c)) = chars.next() {
        if c == quote {
            return Some((value, open + offset + c.len_utf8()));
        }
        if c != '\\' {
            value.push(c);
            continue;
        }
        let (_, escaped) = chars.next()?;
        match escaped {
            'n' => value.push('\n'),
            't' => value.push('\t'),
            '\\' | '\'' | '"' => value.push(escaped),
            other => {
                value.push('\\');
                value.push(other);
            }
        }
    }
    None
}
