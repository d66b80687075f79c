//! Evaluation of parsed fields against one node.
//!
//! Values are Python's two types that matter here, `int` and `str`, with
//! `int` narrowed to `i64`: every operation is checked and reports overflow
//! instead of wrapping, since a silently wrapped rack number is worse than
//! a broken attribute. Operators apply Python's `int()` to string operands
//! (attribute values are always strings), except `+` on two strings, which
//! concatenates as in Python. Recursion follows the tree, whose height the
//! parser bounds.

use std::borrow::Cow;

use super::parse::{BinOp, Kind, Method, Node};
use super::template::{Field, Piece};
use super::{ExprEnv, ExprError, MAX_OUTPUT_LEN, excerpt, format};

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Value {
    Int(i64),
    Str(String),
}

/// Evaluates every piece and joins the results.
pub(super) fn render(pieces: &[Piece], env: &dyn ExprEnv) -> Result<String, ExprError> {
    let mut out = String::new();
    // Counted as we go: recounting `out` after every piece is quadratic.
    let mut chars = 0usize;
    for piece in pieces {
        let text = match piece {
            Piece::Literal(text) => Cow::Borrowed(text.as_str()),
            Piece::Field(field) => {
                let value = Eval { env, field }
                    .eval(&field.expr)
                    .map_err(ExprError::Eval)?;
                Cow::Owned(
                    format::apply(field.spec.as_ref(), value, &field.label)
                        .map_err(ExprError::Eval)?,
                )
            }
        };
        chars = chars.saturating_add(text.chars().count());
        if chars > MAX_OUTPUT_LEN {
            return Err(ExprError::Eval(format!(
                "result is longer than {MAX_OUTPUT_LEN} characters"
            )));
        }
        out.push_str(&text);
    }
    Ok(out)
}

/// `true` when `s` has more than [`MAX_OUTPUT_LEN`] characters (the byte
/// length is checked first: it is cheap and an upper bound).
pub(super) fn too_long(s: &str) -> bool {
    s.len() > MAX_OUTPUT_LEN && s.chars().count() > MAX_OUTPUT_LEN
}

/// Python's `int()` on a string: surrounding whitespace, an optional sign
/// and ASCII digits. `None` also on `i64` overflow.
pub(super) fn parse_int(s: &str) -> Option<i64> {
    let t = s.trim();
    let digits = t.strip_prefix(['+', '-']).unwrap_or(t);
    if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    t.parse().ok()
}

fn ordinal(n: usize) -> String {
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

struct Eval<'a> {
    env: &'a dyn ExprEnv,
    field: &'a Field,
}

type Res<T> = Result<T, String>;

impl Eval<'_> {
    fn eval(&self, node: &Node) -> Res<Value> {
        match &node.kind {
            Kind::Int(v) => Ok(Value::Int(*v)),
            Kind::Str(s) => Ok(Value::Str(s.clone())),
            Kind::NodeName => Ok(Value::Str(self.env.node_name().to_owned())),
            Kind::Number(k) => self.number(*k).map(Value::Int),
            Kind::Attr(name) => self.env.attribute(name).map(Value::Str).map_err(|e| {
                format!(
                    "attribute {name} is broken ({e}), used in \"{}\"",
                    self.field.label
                )
            }),
            Kind::Neg(x) => {
                let v = self.int(x)?;
                v.checked_neg()
                    .map(Value::Int)
                    .ok_or_else(|| self.overflow(node))
            }
            Kind::Pos(x) => self.int(x).map(Value::Int),
            Kind::Binary(op, l, r) => self.binary(node, *op, l, r),
            Kind::Index(base, index) => self.index(base, index),
            Kind::Slice(base, parts) => self.slice(base, parts),
            Kind::Call(base, method, args) => self.call(node, base, *method, args),
        }
    }

    /// The source text of a node, for messages.
    fn snippet(&self, node: &Node) -> String {
        let text = self.field.expr_src.get(node.span.0..node.span.1);
        excerpt(text.unwrap_or("").trim(), 60)
    }

    /// What a value came from, for messages: `value of location.rack`.
    fn origin(&self, node: &Node) -> String {
        match &node.kind {
            Kind::Attr(name) => format!("value of {name}"),
            Kind::NodeName => "the node name".to_owned(),
            Kind::Str(_) => "a string literal".to_owned(),
            _ => format!("result of \"{}\"", self.snippet(node)),
        }
    }

    fn overflow(&self, node: &Node) -> String {
        format!(
            "integer overflow in \"{}\" (values must fit in 64 bits), in \"{}\"",
            self.snippet(node),
            self.field.label
        )
    }

    fn int(&self, node: &Node) -> Res<i64> {
        let value = self.eval(node)?;
        self.to_int(value, node)
    }

    fn text(&self, node: &Node, what: &str) -> Res<String> {
        match self.eval(node)? {
            Value::Str(s) => Ok(s),
            Value::Int(_) => Err(format!(
                "{what} works on text, but \"{}\" is a number, in \"{}\"",
                self.snippet(node),
                self.field.label
            )),
        }
    }

    fn checked_str(&self, s: String) -> Res<Value> {
        if too_long(&s) {
            return Err(self.too_long_err());
        }
        Ok(Value::Str(s))
    }

    fn too_long_err(&self) -> String {
        format!(
            "intermediate text longer than {MAX_OUTPUT_LEN} characters in \"{}\"",
            self.field.label
        )
    }

    fn number(&self, k: usize) -> Res<i64> {
        let name = self.env.node_name();
        let mut runs = name
            .split(|c: char| !c.is_ascii_digit())
            .filter(|r| !r.is_empty());
        let run = if k == 0 {
            runs.next_back()
        } else {
            runs.nth(k - 1)
        };
        let Some(run) = run else {
            return Err(if k == 0 {
                format!("name \"{name}\" has no number (n0)")
            } else {
                format!("name \"{name}\" has no {} number (n{k})", ordinal(k))
            });
        };
        run.parse()
            .map_err(|_| format!("number {run} in name \"{name}\" is too large"))
    }

    fn binary(&self, node: &Node, op: BinOp, l: &Node, r: &Node) -> Res<Value> {
        if op == BinOp::Add {
            // Python: str + str concatenates; anything else is arithmetic.
            let (a, b) = (self.eval(l)?, self.eval(r)?);
            if let (Value::Str(a), Value::Str(b)) = (&a, &b) {
                return self.checked_str(format!("{a}{b}"));
            }
            let a = self.to_int(a, l)?;
            let b = self.to_int(b, r)?;
            return a
                .checked_add(b)
                .map(Value::Int)
                .ok_or_else(|| self.overflow(node));
        }
        let a = self.int(l)?;
        let b = self.int(r)?;
        let zero = || {
            format!(
                "division by zero in \"{}\" (\"{}\" is 0)",
                self.field.label,
                self.snippet(r)
            )
        };
        let result = match op {
            BinOp::Sub => a.checked_sub(b),
            BinOp::Mul => a.checked_mul(b),
            BinOp::Div if b == 0 => return Err(zero()),
            BinOp::Mod if b == 0 => return Err(zero()),
            BinOp::Div => floor_div(a, b),
            BinOp::Mod => Some(floor_mod(a, b)),
            BinOp::Shl | BinOp::Shr if b < 0 => {
                return Err(format!(
                    "negative shift count {b} in \"{}\" ({} {})",
                    self.field.label,
                    self.snippet(node),
                    op.symbol()
                ));
            }
            BinOp::Shl => shift_left(a, b),
            // An arithmetic shift is Python's floor semantics; counts past
            // 63 leave only the sign.
            BinOp::Shr => Some(a >> b.min(63)),
            BinOp::And => Some(a & b),
            BinOp::Xor => Some(a ^ b),
            BinOp::Or => Some(a | b),
            BinOp::Add => a.checked_add(b),
        };
        result.map(Value::Int).ok_or_else(|| self.overflow(node))
    }

    fn to_int(&self, v: Value, node: &Node) -> Res<i64> {
        match v {
            Value::Int(v) => Ok(v),
            Value::Str(s) => parse_int(&s).ok_or_else(|| {
                format!(
                    "cannot use \"{}\" ({}) as a number",
                    excerpt(&s, 40),
                    self.origin(node)
                )
            }),
        }
    }

    fn index(&self, base: &Node, index: &Node) -> Res<Value> {
        let s = self.text(base, "indexing")?;
        let i = self.int(index)?;
        let chars: Vec<char> = s.chars().collect();
        let len = i64::try_from(chars.len()).unwrap_or(i64::MAX);
        let at = if i < 0 { i.checked_add(len) } else { Some(i) };
        at.and_then(|at| usize::try_from(at).ok())
            .and_then(|at| chars.get(at))
            .map(|c| Value::Str(c.to_string()))
            .ok_or_else(|| {
                format!(
                    "index {i} is out of range for \"{}\" ({} characters) in \"{}\"",
                    excerpt(&s, 40),
                    chars.len(),
                    self.field.label
                )
            })
    }

    /// Python slice semantics: negative bounds count from the end, bounds
    /// are clamped, a negative step walks backwards.
    fn slice(&self, base: &Node, parts: &[Option<Box<Node>>; 3]) -> Res<Value> {
        let s = self.text(base, "slicing")?;
        let [start, stop, step] = parts;
        let opt = |p: &Option<Box<Node>>| p.as_deref().map(|n| self.int(n)).transpose();
        let (start, stop, step) = (opt(start)?, opt(stop)?, opt(step)?.unwrap_or(1));
        if step == 0 {
            return Err(format!(
                "slice step cannot be zero in \"{}\"",
                self.field.label
            ));
        }
        let chars: Vec<char> = s.chars().collect();
        let len = i64::try_from(chars.len()).unwrap_or(i64::MAX);
        let (lower, upper) = if step > 0 { (0, len) } else { (-1, len - 1) };
        let clamp = |bound: Option<i64>, default: i64| match bound {
            None => default,
            Some(b) if b < 0 => b.saturating_add(len).max(lower),
            Some(b) => b.min(upper),
        };
        let mut i = clamp(start, if step > 0 { lower } else { upper });
        let stop = clamp(stop, if step > 0 { upper } else { lower });
        let mut out = String::new();
        while (step > 0 && i < stop) || (step < 0 && i > stop) {
            if let Some(c) = usize::try_from(i).ok().and_then(|at| chars.get(at)) {
                out.push(*c);
            }
            let Some(next) = i.checked_add(step) else {
                break;
            };
            i = next;
        }
        Ok(Value::Str(out))
    }

    fn call(&self, node: &Node, base: &Node, method: Method, args: &[Node]) -> Res<Value> {
        let what = format!(".{}()", method.name());
        match (method, args) {
            (Method::Upper, _) => self.checked_str(self.text(base, &what)?.to_uppercase()),
            (Method::Lower, _) => self.checked_str(self.text(base, &what)?.to_lowercase()),
            (Method::Replace, [from, to]) => {
                let s = self.text(base, &what)?;
                let from = self.text(from, "the first argument of .replace()")?;
                let to = self.text(to, "the second argument of .replace()")?;
                // Check the size before building: replacing "" inserts
                // between every character.
                let hits = s.matches(from.as_str()).count();
                let grown = hits.saturating_mul(to.len().saturating_sub(from.len()));
                if s.len().saturating_add(grown) > MAX_OUTPUT_LEN.saturating_mul(4) {
                    return Err(self.too_long_err());
                }
                self.checked_str(s.replace(from.as_str(), &to))
            }
            (Method::BlockNumber | Method::BlockOffset, [k_node]) => {
                let x = self.int(base)?;
                let k = self.int(k_node)?;
                if k <= 0 {
                    return Err(format!(
                        "block size must be positive, got {k} in \"{}\"",
                        self.field.label
                    ));
                }
                let result = x.checked_sub(1).and_then(|x0| {
                    let r = if method == Method::BlockNumber {
                        floor_div(x0, k)?
                    } else {
                        floor_mod(x0, k)
                    };
                    r.checked_add(1)
                });
                result.map(Value::Int).ok_or_else(|| self.overflow(node))
            }
            // The parser checks arity; this arm only keeps the match total.
            _ => Err(format!(
                "wrong number of arguments to {what} in \"{}\"",
                self.field.label
            )),
        }
    }
}

/// Python's `//`: rounds toward negative infinity. `None` on overflow
/// (`i64::MIN // -1`); the divisor is non-zero.
fn floor_div(a: i64, b: i64) -> Option<i64> {
    let q = a.checked_div(b)?;
    if a % b != 0 && ((a < 0) != (b < 0)) {
        q.checked_sub(1)
    } else {
        Some(q)
    }
}

/// Python's `%`: the result has the divisor's sign; the divisor is
/// non-zero.
fn floor_mod(a: i64, b: i64) -> i64 {
    // `checked_rem` fails only for `i64::MIN % -1`, whose result is 0.
    let r = a.checked_rem(b).unwrap_or(0);
    if r != 0 && ((r < 0) != (b < 0)) {
        r + b
    } else {
        r
    }
}

/// `a << b` without losing bits; `None` when the result needs more than
/// 64 bits (Python would grow the integer).
fn shift_left(a: i64, b: i64) -> Option<i64> {
    if a == 0 {
        return Some(0);
    }
    let b = u32::try_from(b).ok().filter(|&b| b < 64)?;
    let shifted = a << b;
    (shifted >> b == a).then_some(shifted)
}
