//! Lexer and parser for one field's expression: a restricted Python
//! expression grammar, precedence lowest to highest
//! `|`, `^`, `&`, `<< >>`, `+ -`, `* / // %`, unary `- +`, then postfix
//! `[...]` and `.method(...)`.
//!
//! Names are resolved here, once, rather than at every evaluation: `node`,
//! `nodename` and `nN` are built in, anything else (dotted or an alias
//! such as `bmc`) must be a catalog attribute, so a typo is refused when
//! the admin sets the value instead of breaking every node later.
//!
//! Dotted names and method calls share the `.`: a trailing `.ident(` is a
//! method applied to the name before it (`location.rack.upper()`), every
//! other `.ident` extends the attribute name.
//!
//! Recursion is bounded twice: `nest` counts open parentheses, brackets,
//! calls and unary operators while parsing, and every node records its
//! height so long operator chains (`n1+n1+...`) cannot build a tree deep
//! enough to overflow the evaluator's stack.

use super::lex::{Tok, lex};
use super::{ExprError, MAX_DEPTH, Resolver};
use crate::catalog::{CatalogError, Sensitivity};

/// Byte range in the field's expression text.
pub(super) type Span = (usize, usize);

/// An expression tree node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Node {
    pub(super) kind: Kind,
    pub(super) span: Span,
    height: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Kind {
    Int(i64),
    Str(String),
    /// `node` / `nodename`.
    NodeName,
    /// `nN`: the N-th number in the node name, 0 for the last.
    Number(usize),
    /// Another attribute, by canonical name.
    Attr(String),
    Neg(Box<Node>),
    Pos(Box<Node>),
    Binary(BinOp, Box<Node>, Box<Node>),
    Index(Box<Node>, Box<Node>),
    /// `base[start:stop:step]`, each part optional.
    Slice(Box<Node>, [Option<Box<Node>>; 3]),
    Call(Box<Node>, Method, Vec<Node>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum BinOp {
    Or,
    Xor,
    And,
    Shl,
    Shr,
    Add,
    Sub,
    Mul,
    /// Floor division; confluent maps Python's `/` to `//`.
    Div,
    Mod,
}

impl BinOp {
    pub(super) fn symbol(self) -> &'static str {
        match self {
            BinOp::Or => "|",
            BinOp::Xor => "^",
            BinOp::And => "&",
            BinOp::Shl => "<<",
            BinOp::Shr => ">>",
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Mod => "%",
        }
    }
}

/// Binary operators by precedence level, lowest first.
const LEVELS: [&[BinOp]; 6] = [
    &[BinOp::Or],
    &[BinOp::Xor],
    &[BinOp::And],
    &[BinOp::Shl, BinOp::Shr],
    &[BinOp::Add, BinOp::Sub],
    &[BinOp::Mul, BinOp::Div, BinOp::Mod],
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Method {
    Replace,
    Upper,
    Lower,
    BlockNumber,
    BlockOffset,
}

const METHODS: [(&str, Method, usize); 5] = [
    ("replace", Method::Replace, 2),
    ("upper", Method::Upper, 0),
    ("lower", Method::Lower, 0),
    ("block_number", Method::BlockNumber, 1),
    ("block_offset", Method::BlockOffset, 1),
];

impl Method {
    pub(super) fn name(self) -> &'static str {
        METHODS.iter().find(|m| m.1 == self).map_or("?", |m| m.0)
    }
}

/// Parses the expression `src` of the field `field` (the whole `{...}`,
/// used in messages), appending referenced attributes to `refs`.
pub(super) fn parse(
    src: &str,
    field: &str,
    resolve: Resolver<'_>,
    refs: &mut Vec<String>,
) -> Result<Node, ExprError> {
    let toks = lex(src, field)?;
    let mut parser = Parser {
        toks,
        pos: 0,
        nest: 0,
        field,
        resolve,
        refs,
    };
    let node = parser.expr()?;
    match parser.peek() {
        Tok::End => Ok(node),
        tok => Err(parser.err(format!(
            "unexpected {} after the expression",
            tok.describe()
        ))),
    }
}

struct Parser<'a> {
    toks: Vec<(Tok, Span)>,
    pos: usize,
    nest: usize,
    field: &'a str,
    resolve: Resolver<'a>,
    refs: &'a mut Vec<String>,
}

impl Parser<'_> {
    fn peek(&self) -> &Tok {
        self.peek_at(0)
    }

    fn peek_at(&self, ahead: usize) -> &Tok {
        self.toks.get(self.pos + ahead).map_or(&Tok::End, |t| &t.0)
    }

    /// Span of the current token (an empty span at the end).
    fn span(&self) -> Span {
        self.toks.get(self.pos).map_or_else(
            || {
                let end = self.toks.last().map_or(0, |t| t.1.1);
                (end, end)
            },
            |t| t.1,
        )
    }

    fn err(&self, msg: String) -> ExprError {
        ExprError::Syntax(format!("{msg} in \"{}\"", self.field))
    }

    fn expect(&mut self, want: &Tok, what: &str) -> Result<Span, ExprError> {
        if self.peek() == want {
            let span = self.span();
            self.pos += 1;
            Ok(span)
        } else {
            Err(self.err(format!("expected {what}, found {}", self.peek().describe())))
        }
    }

    fn enter(&mut self) -> Result<(), ExprError> {
        self.nest += 1;
        if self.nest > MAX_DEPTH {
            return Err(self.too_deep());
        }
        Ok(())
    }

    fn too_deep(&self) -> ExprError {
        self.err(format!(
            "expression is nested more than {MAX_DEPTH} levels deep"
        ))
    }

    /// Builds a node, enforcing the height limit.
    fn make(&self, kind: Kind, span: Span) -> Result<Node, ExprError> {
        let child = |n: &Node| n.height;
        let tallest = match &kind {
            Kind::Int(_) | Kind::Str(_) | Kind::NodeName | Kind::Number(_) | Kind::Attr(_) => 0,
            Kind::Neg(x) | Kind::Pos(x) => child(x),
            Kind::Binary(_, l, r) | Kind::Index(l, r) => child(l).max(child(r)),
            Kind::Slice(base, parts) => parts
                .iter()
                .flatten()
                .map(|n| child(n))
                .fold(child(base), usize::max),
            Kind::Call(base, _, args) => args.iter().map(child).fold(child(base), usize::max),
        };
        let height = tallest + 1;
        if height > MAX_DEPTH {
            return Err(self.too_deep());
        }
        Ok(Node { kind, span, height })
    }

    /// A full expression (an entry point for parentheses, subscripts and
    /// call arguments, hence the nesting count).
    fn expr(&mut self) -> Result<Node, ExprError> {
        self.enter()?;
        let node = self.binary(0)?;
        self.nest -= 1;
        Ok(node)
    }

    fn binary(&mut self, level: usize) -> Result<Node, ExprError> {
        let Some(ops) = LEVELS.get(level) else {
            return self.unary();
        };
        let mut left = self.binary(level + 1)?;
        while let Tok::Op(op) = *self.peek()
            && ops.contains(&op)
        {
            self.pos += 1;
            let right = self.binary(level + 1)?;
            let span = (left.span.0, right.span.1);
            left = self.make(Kind::Binary(op, Box::new(left), Box::new(right)), span)?;
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Node, ExprError> {
        let op = match self.peek() {
            Tok::Op(op @ (BinOp::Sub | BinOp::Add)) => *op,
            _ => return self.postfix(),
        };
        let start = self.span().0;
        self.pos += 1;
        self.enter()?;
        let inner = self.unary()?;
        self.nest -= 1;
        let span = (start, inner.span.1);
        let inner = Box::new(inner);
        let kind = if op == BinOp::Sub {
            Kind::Neg(inner)
        } else {
            Kind::Pos(inner)
        };
        self.make(kind, span)
    }

    fn postfix(&mut self) -> Result<Node, ExprError> {
        let mut node = self.primary()?;
        loop {
            node = match self.peek() {
                Tok::LBracket => self.subscript(node)?,
                Tok::Dot => self.call(node)?,
                _ => return Ok(node),
            };
        }
    }

    fn primary(&mut self) -> Result<Node, ExprError> {
        let span = self.span();
        match self.peek().clone() {
            Tok::Int(v) => {
                self.pos += 1;
                self.make(Kind::Int(v), span)
            }
            Tok::Str(s) => {
                self.pos += 1;
                self.make(Kind::Str(s), span)
            }
            Tok::Ident(_) => self.name(),
            Tok::LParen => {
                self.pos += 1;
                let mut inner = self.expr()?;
                let close = self.expect(&Tok::RParen, "')'")?;
                inner.span = (span.0, close.1);
                Ok(inner)
            }
            Tok::End => Err(self.err("expression ends where a value was expected".into())),
            tok => Err(self.err(format!("expected a value, found {}", tok.describe()))),
        }
    }

    /// A name, possibly dotted: built-in, alias or catalog attribute.
    fn name(&mut self) -> Result<Node, ExprError> {
        let (start, mut end) = self.span();
        let mut name = String::new();
        while let Tok::Ident(part) = self.peek() {
            name.push_str(part);
            end = self.span().1;
            self.pos += 1;
            // Keep `.ident` for the method call when `(` follows it.
            let more = matches!(self.peek(), Tok::Dot)
                && matches!(self.peek_at(1), Tok::Ident(_))
                && !matches!(self.peek_at(2), Tok::LParen);
            if !more {
                break;
            }
            name.push('.');
            self.pos += 1;
        }
        let span = (start, end);
        if name == "node" || name == "nodename" {
            return self.make(Kind::NodeName, span);
        }
        if let Some(digits) = name.strip_prefix('n')
            && !digits.is_empty()
            && digits.bytes().all(|c| c.is_ascii_digit())
        {
            let index = digits.parse().map_err(|_| {
                self.err(format!(
                    "\"{name}\": a node name has no number that far along"
                ))
            })?;
            return self.make(Kind::Number(index), span);
        }
        let canonical = self.attribute(&name)?;
        if !self.refs.contains(&canonical) {
            self.refs.push(canonical.clone());
        }
        self.make(Kind::Attr(canonical), span)
    }

    fn attribute(&self, name: &str) -> Result<String, ExprError> {
        match (self.resolve)(name) {
            Ok((canonical, Sensitivity::Plain)) => Ok(canonical),
            // Confluent reads secrets as "" here; refusing says so plainly
            // and keeps secrets from being copied into plain attributes.
            Ok((canonical, _)) => Err(self.err(format!(
                "attribute \"{canonical}\" is secret and cannot be used in an expression"
            ))),
            Err(CatalogError::Unknown { suggestion, .. }) => {
                let hint = suggestion.map(|s| format!(" (did you mean \"{s}\"?)"));
                Err(ExprError::Syntax(format!(
                    "unknown attribute \"{name}\" in \"{}\"{}",
                    self.field,
                    hint.unwrap_or_default()
                )))
            }
            Err(other) => Err(self.err(other.to_string())),
        }
    }

    /// `base[i]` or `base[start:stop:step]`.
    fn subscript(&mut self, base: Node) -> Result<Node, ExprError> {
        self.pos += 1;
        self.enter()?;
        let first = match self.peek() {
            Tok::Colon => None,
            Tok::RBracket => return Err(self.err("empty subscript '[]'".into())),
            _ => Some(self.expr()?),
        };
        let kind = match (first, self.peek()) {
            (Some(index), Tok::RBracket) => Kind::Index(Box::new(base), Box::new(index)),
            (start, _) => {
                self.expect(&Tok::Colon, "':' or ']'")?;
                let stop = self.slice_part()?;
                let step = if *self.peek() == Tok::Colon {
                    self.pos += 1;
                    self.slice_part()?
                } else {
                    None
                };
                Kind::Slice(Box::new(base), [start.map(Box::new), stop, step])
            }
        };
        let close = self.expect(&Tok::RBracket, "']'")?;
        self.nest -= 1;
        let start = match &kind {
            Kind::Index(base, _) | Kind::Slice(base, _) => base.span.0,
            _ => close.0,
        };
        self.make(kind, (start, close.1))
    }

    fn slice_part(&mut self) -> Result<Option<Box<Node>>, ExprError> {
        match self.peek() {
            Tok::Colon | Tok::RBracket => Ok(None),
            _ => Ok(Some(Box::new(self.expr()?))),
        }
    }

    /// `.method(args)` applied to `base`.
    fn call(&mut self, base: Node) -> Result<Node, ExprError> {
        self.pos += 1;
        let Tok::Ident(name) = self.peek().clone() else {
            return Err(self.err(format!(
                "expected a method name after '.', found {}",
                self.peek().describe()
            )));
        };
        self.pos += 1;
        let known = || METHODS.map(|m| m.0).join(", ");
        if *self.peek() != Tok::LParen {
            return Err(self.err(format!(
                "\".{name}\" must be a method call such as .{name}() (methods: {})",
                known()
            )));
        }
        let Some(&(_, method, arity)) = METHODS.iter().find(|m| m.0 == name) else {
            return Err(self.err(format!("unknown method .{name}() (methods: {})", known())));
        };
        self.pos += 1;
        self.enter()?;
        let mut args = Vec::new();
        while *self.peek() != Tok::RParen {
            args.push(self.expr()?);
            if *self.peek() != Tok::Comma {
                break;
            }
            self.pos += 1;
        }
        let close = self.expect(&Tok::RParen, "',' or ')'")?;
        self.nest -= 1;
        if args.len() != arity {
            return Err(self.err(format!(
                ".{name}() takes {arity} argument{}, not {}",
                if arity == 1 { "" } else { "s" },
                args.len()
            )));
        }
        let span = (base.span.0, close.1);
        self.make(Kind::Call(Box::new(base), method, args), span)
    }
}
