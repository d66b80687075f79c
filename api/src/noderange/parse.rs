//! Text to syntax tree: the lexer and the parser of confluent's grammar.
//!
//! Tokens: *atoms* (runs of word characters `A-Za-z0-9~^$/=-_:.*+!` and
//! `[...]` brackets, whitespace between them ignored, so `n1 n2` is the one
//! atom `n1n2`), the operators `,-` `,` `@`, pagination `<N` `>N`, and
//! parentheses. Anything else is a syntax error that names the character
//! and its position. The parser is a plain recursive descent whose depth is
//! checked against [`Limits::max_depth`] before every descent, so hostile
//! input cannot exhaust the stack.
//!
//! An atom is classified here, once, from its first word (as confluent
//! does): `~`/`/` first means a regular expression, `=` or `!~` in the first
//! word means an attribute filter. Only other atoms have their brackets
//! parsed (bracket content is itself a noderange); a regular expression may
//! contain `[0-9]` character classes, which are not noderange syntax.

use super::{Limits, NoderangeError};

/// A parsed noderange: one top-level text or one bracket's content.
#[derive(Debug)]
pub(crate) struct Parsed {
    pub body: Vec<Item>,
    /// `<N`: how many names to skip, after natural sorting. Global to the
    /// text (not positional), the last one wins, as in confluent.
    pub skip: Option<usize>,
    /// `>N`: how many names to keep after skipping.
    pub take: Option<usize>,
    /// The text starts with `<` or `>`: page through every node, whatever
    /// the rest says (confluent's rule).
    pub page_all: bool,
}

/// One element of a parenthesised sequence.
#[derive(Debug)]
pub(crate) enum Item {
    Op(Op),
    Atom(Atom),
    Group(Vec<Item>),
}

/// The set operation applied by the following atoms (sticky).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    /// `,`
    Union,
    /// `,-`
    Minus,
    /// `@`
    Intersect,
}

#[derive(Debug)]
pub(crate) struct Atom {
    /// The atom as written, whitespace removed, brackets included.
    pub text: String,
    pub kind: AtomKind,
}

#[derive(Debug)]
pub(crate) enum AtomKind {
    /// `~re` or `/re`: the pattern, without its leading character.
    Regex(String),
    /// `attr=value` and friends; the whole text is the filter.
    Filter,
    /// A name or a range; no brackets.
    Name,
    /// A name with `[...]` parts.
    Brackets(Vec<Piece>),
}

#[derive(Debug)]
pub(crate) enum Piece {
    Text(String),
    Bracket(Parsed),
}

/// Parses a whole noderange text, nested `depth` levels deep already (a
/// dynamic group's noderange is parsed one level below its user).
pub(crate) fn parse(text: &str, limits: &Limits, depth: usize) -> Result<Parsed, NoderangeError> {
    if text.trim().is_empty() {
        return Err(syntax("empty noderange".to_owned()));
    }
    parse_span(text, 0, text.len(), limits, depth)
}

fn parse_span(
    whole: &str,
    start: usize,
    end: usize,
    limits: &Limits,
    depth: usize,
) -> Result<Parsed, NoderangeError> {
    let page_all = whole
        .get(start..end)
        .is_some_and(|s| s.trim_start().starts_with(['<', '>']));
    let mut p = Parser {
        lex: Lexer::new(whole, start, end),
        limits,
        skip: None,
        take: None,
    };
    let body = p.sequence(depth, None)?;
    Ok(Parsed {
        body,
        skip: p.skip,
        take: p.take,
        page_all,
    })
}

pub(crate) fn syntax(detail: String) -> NoderangeError {
    NoderangeError::Syntax { detail }
}

/// Text quoted for an error message, cut short when huge.
pub(crate) fn clip(text: &str) -> String {
    const MAX: usize = 120;
    match text.char_indices().nth(MAX) {
        Some((cut, _)) => format!("\"{}...\"", &text[..cut]),
        None => format!("\"{text}\""),
    }
}

fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "~^$/=-_:.*+!".contains(c)
}

fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r')
}

/// `true` if `name` reads as exactly one word atom (no brackets, operators,
/// whitespace) that is neither a regular expression nor a filter.
pub(crate) fn is_plain_word(name: &str) -> bool {
    !name.is_empty()
        && name.chars().all(is_word_char)
        && !name.starts_with(['~', '/'])
        && !name.contains('=')
        && !name.contains("!~")
}

#[derive(Debug, Clone, Copy)]
enum Tok {
    Word {
        start: usize,
        end: usize,
    },
    /// Byte span of the content, brackets excluded.
    Bracket {
        start: usize,
        end: usize,
    },
    Op(Op),
    Skip(usize),
    Take(usize),
    Open,
    Close,
}

struct Lexer<'a> {
    whole: &'a str,
    pos: usize,
    end: usize,
    peeked: Option<Option<(usize, Tok)>>,
}

impl<'a> Lexer<'a> {
    fn new(whole: &'a str, start: usize, end: usize) -> Self {
        Lexer {
            whole,
            pos: start,
            end,
            peeked: None,
        }
    }

    fn rest(&self) -> &'a str {
        self.whole.get(self.pos..self.end).unwrap_or("")
    }

    /// 1-based character position of a byte offset, for messages.
    fn position(&self, byte: usize) -> usize {
        self.whole.get(..byte).map_or(0, |s| s.chars().count()) + 1
    }

    fn error_at(&self, byte: usize, what: &str) -> NoderangeError {
        syntax(format!(
            "{what} at position {} in {}",
            self.position(byte),
            clip(self.whole)
        ))
    }

    fn peek(&mut self) -> Result<Option<(usize, Tok)>, NoderangeError> {
        if let Some(t) = self.peeked {
            return Ok(t);
        }
        let t = self.lex()?;
        self.peeked = Some(t);
        Ok(t)
    }

    fn next(&mut self) -> Result<Option<(usize, Tok)>, NoderangeError> {
        match self.peeked.take() {
            Some(t) => Ok(t),
            None => self.lex(),
        }
    }

    fn lex(&mut self) -> Result<Option<(usize, Tok)>, NoderangeError> {
        let skipped = self.rest().len() - self.rest().trim_start_matches(is_space).len();
        self.pos += skipped;
        let rest = self.rest();
        let Some(c) = rest.chars().next() else {
            return Ok(None);
        };
        let at = self.pos;
        let (len, tok) = match c {
            '(' => (1, Tok::Open),
            ')' => (1, Tok::Close),
            '@' => (1, Tok::Op(Op::Intersect)),
            ',' if rest.starts_with(",-") => (2, Tok::Op(Op::Minus)),
            ',' => (1, Tok::Op(Op::Union)),
            '<' | '>' => self.pagination(c, rest)?,
            '[' => match rest.find(']') {
                Some(close) => (
                    close + 1,
                    Tok::Bracket {
                        start: at + 1,
                        end: at + close,
                    },
                ),
                None => return Err(self.error_at(at, "'[' without a matching ']'")),
            },
            c if is_word_char(c) => {
                let len = rest.find(|c| !is_word_char(c)).unwrap_or(rest.len());
                (
                    len,
                    Tok::Word {
                        start: at,
                        end: at + len,
                    },
                )
            }
            c => return Err(self.error_at(at, &format!("unexpected {c:?}"))),
        };
        self.pos += len;
        Ok(Some((at, tok)))
    }

    fn pagination(&self, c: char, rest: &str) -> Result<(usize, Tok), NoderangeError> {
        let digits = rest[1..]
            .find(|d: char| !d.is_ascii_digit())
            .unwrap_or(rest.len() - 1);
        if digits == 0 {
            return Err(NoderangeError::BadPagination {
                text: c.to_string(),
            });
        }
        // A page bound past every possible node is the same as no bound.
        let n = rest[1..=digits].parse::<usize>().unwrap_or(usize::MAX);
        let tok = if c == '<' { Tok::Skip(n) } else { Tok::Take(n) };
        Ok((1 + digits, tok))
    }
}

struct Parser<'a, 'l> {
    lex: Lexer<'a>,
    limits: &'l Limits,
    skip: Option<usize>,
    take: Option<usize>,
}

impl Parser<'_, '_> {
    /// Parses items until the end of the span (`opened_at` is `None`) or
    /// the `)` matching the `(` at byte `opened_at`.
    fn sequence(
        &mut self,
        depth: usize,
        opened_at: Option<usize>,
    ) -> Result<Vec<Item>, NoderangeError> {
        let mut items = Vec::new();
        let mut any_token = false;
        loop {
            let Some((at, tok)) = self.lex.next()? else {
                return match opened_at {
                    Some(open) => Err(self.lex.error_at(open, "'(' without a matching ')'")),
                    None => Ok(items),
                };
            };
            let first = !any_token;
            any_token = true;
            match tok {
                Tok::Close => {
                    return match opened_at {
                        None => Err(self.lex.error_at(at, "unexpected ')'")),
                        Some(open) if first => Err(self.lex.error_at(open, "empty parentheses")),
                        Some(_) => Ok(items),
                    };
                }
                Tok::Open => {
                    let inner = self.descend(depth)?;
                    items.push(Item::Group(self.sequence(inner, Some(at))?));
                }
                Tok::Op(op) => {
                    // confluent fails on a sequence that starts with an
                    // operator; `,n1` is almost always a paste accident.
                    if first {
                        return Err(self.lex.error_at(at, "operator with nothing on its left"));
                    }
                    items.push(Item::Op(op));
                }
                Tok::Skip(n) => self.skip = Some(n),
                Tok::Take(n) => self.take = Some(n),
                Tok::Word { .. } | Tok::Bracket { .. } => {
                    let atom = self.atom(tok, depth)?;
                    items.push(Item::Atom(atom));
                }
            }
        }
    }

    fn descend(&self, depth: usize) -> Result<usize, NoderangeError> {
        let inner = depth.saturating_add(1);
        if inner > self.limits.max_depth {
            return Err(NoderangeError::TooDeep {
                limit: self.limits.max_depth,
            });
        }
        Ok(inner)
    }

    /// Gathers the words and brackets of one atom, starting with `first`.
    fn atom(&mut self, first: Tok, depth: usize) -> Result<Atom, NoderangeError> {
        let mut raw = vec![first];
        while let Some((_, tok @ (Tok::Word { .. } | Tok::Bracket { .. }))) = self.lex.peek()? {
            raw.push(tok);
            self.lex.next()?;
        }
        let whole = self.lex.whole;
        let mut text = String::new();
        for tok in &raw {
            match *tok {
                Tok::Word { start, end } => text.push_str(&whole[start..end]),
                Tok::Bracket { start, end } => {
                    text.push('[');
                    text.push_str(&whole[start..end]);
                    text.push(']');
                }
                _ => {}
            }
        }
        let kind = match raw[0] {
            Tok::Word { start, end } if whole[start..end].starts_with(['~', '/']) => {
                AtomKind::Regex(text[1..].to_owned())
            }
            Tok::Word { start, end }
                if whole[start..end].contains('=') || whole[start..end].contains("!~") =>
            {
                AtomKind::Filter
            }
            _ if raw.iter().any(|t| matches!(t, Tok::Bracket { .. })) => {
                AtomKind::Brackets(self.pieces(&raw, depth)?)
            }
            _ => AtomKind::Name,
        };
        Ok(Atom { text, kind })
    }

    fn pieces(&self, raw: &[Tok], depth: usize) -> Result<Vec<Piece>, NoderangeError> {
        let whole = self.lex.whole;
        let mut pieces: Vec<Piece> = Vec::new();
        for tok in raw {
            match *tok {
                Tok::Word { start, end } => match pieces.last_mut() {
                    Some(Piece::Text(t)) => t.push_str(&whole[start..end]),
                    _ => pieces.push(Piece::Text(whole[start..end].to_owned())),
                },
                Tok::Bracket { start, end } => {
                    let inner = self.descend(depth)?;
                    if whole[start..end].trim().is_empty() {
                        return Err(self.lex.error_at(start - 1, "empty brackets"));
                    }
                    let parsed = parse_span(whole, start, end, self.limits, inner)?;
                    pieces.push(Piece::Bracket(parsed));
                }
                _ => {}
            }
        }
        Ok(pieces)
    }
}
