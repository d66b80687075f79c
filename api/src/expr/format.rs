//! The format spec after `:` in a field: the subset of Python's
//! mini-language that makes sense for integers and text,
//! `[[fill]align][sign][#][0][width][,|_][.precision][type]` with types
//! `d x X o b s`.
//!
//! Everything that can be decided from the spec alone is checked when the
//! expression is set (length, grammar, combinations Python rejects), so
//! evaluation can only fail on the value: text that is not a number under
//! an integer format, or a width beyond the output limit.
//!
//! Confluent coerces results to `int` when possible before formatting, so
//! `{location.rack:03}` pads a rack of `"7"` as a number. We do the same
//! whenever the spec is not explicitly textual (`s` or a precision).

use super::eval::{Value, parse_int};
use super::{ExprError, MAX_OUTPUT_LEN, MAX_SPEC_LEN, excerpt};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Align {
    Left,
    Right,
    Center,
    /// `=`: padding between the sign/prefix and the digits.
    AfterSign,
}

/// How a spec treats the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Numbers as numbers, numeric text coerced, other text as text.
    Auto,
    /// Integer options present: the value must be (or parse as) a number.
    Int,
    /// `s` or a precision: the value is formatted as text.
    Text,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Spec {
    text: String,
    fill: Option<char>,
    align: Option<Align>,
    sign: Option<char>,
    alternate: bool,
    zero: bool,
    width: usize,
    grouping: Option<char>,
    precision: Option<usize>,
    ty: Option<char>,
    mode: Mode,
}

impl Spec {
    /// Parses the spec of `field`; `None` for an empty spec (`{n1:}`).
    pub(super) fn parse(text: &str, field: &str) -> Result<Option<Spec>, ExprError> {
        if text.is_empty() {
            return Ok(None);
        }
        let err = |why: &str| {
            ExprError::Syntax(format!(
                "invalid format spec \"{text}\" in \"{field}\": {why}"
            ))
        };
        if text.chars().count() > MAX_SPEC_LEN {
            return Err(err(&format!("longer than {MAX_SPEC_LEN} characters")));
        }
        let chars: Vec<char> = text.chars().collect();
        let mut i = 0;
        let align_of = |c: Option<&char>| match c {
            Some('<') => Some(Align::Left),
            Some('>') => Some(Align::Right),
            Some('^') => Some(Align::Center),
            Some('=') => Some(Align::AfterSign),
            _ => None,
        };
        let (mut fill, mut align) = (None, None);
        if let Some(a) = align_of(chars.get(1)) {
            (fill, align, i) = (chars.first().copied(), Some(a), 2);
        } else if let Some(a) = align_of(chars.first()) {
            (align, i) = (Some(a), 1);
        }
        let mut take = |set: &[char]| {
            let c = chars.get(i).copied().filter(|c| set.contains(c));
            i += usize::from(c.is_some());
            c
        };
        let sign = take(&['+', '-', ' ']);
        let alternate = take(&['#']).is_some();
        let zero = take(&['0']).is_some();
        let mut width = 0usize;
        while let Some(d) = take(&['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']) {
            // At most 7 digits fit in the length limit: no overflow.
            width = width * 10 + d.to_digit(10).map_or(0, |d| d as usize);
        }
        let grouping = take(&[',', '_']);
        let precision = if take(&['.']).is_some() {
            let mut p = None;
            while let Some(d) = take(&['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']) {
                p = Some(p.unwrap_or(0) * 10 + d.to_digit(10).map_or(0, |d| d as usize));
            }
            Some(p.ok_or_else(|| err("'.' must be followed by a precision"))?)
        } else {
            None
        };
        let ty = take(&['d', 'x', 'X', 'o', 'b', 's']);
        if let Some(rest) = chars.get(i) {
            return Err(err(&format!(
                "unexpected {rest:?} (supported: [[fill]align][sign][#][0][width][,|_][.precision][d|x|X|o|b|s])"
            )));
        }
        let int_type = matches!(ty, Some('d' | 'x' | 'X' | 'o' | 'b'));
        let int_only = int_type
            || sign.is_some()
            || alternate
            || grouping.is_some()
            || align == Some(Align::AfterSign);
        let text_only = ty == Some('s') || precision.is_some();
        if int_only && text_only {
            return Err(err(if precision.is_some() {
                "a precision cannot be combined with integer options"
            } else {
                "sign, '#', ',', '_' and '=' are not allowed with 's'"
            }));
        }
        if grouping == Some(',') && int_type && ty != Some('d') {
            return Err(err("',' grouping only works with 'd'"));
        }
        let mode = match (int_only, text_only) {
            (true, _) => Mode::Int,
            (_, true) => Mode::Text,
            _ => Mode::Auto,
        };
        Ok(Some(Spec {
            text: text.to_owned(),
            fill,
            align,
            sign,
            alternate,
            zero,
            width,
            grouping,
            precision,
            ty,
            mode,
        }))
    }
}

/// Formats a field's value; errors name the value and the field.
pub(super) fn apply(spec: Option<&Spec>, value: Value, field: &str) -> Result<String, String> {
    let Some(spec) = spec else {
        return Ok(match value {
            Value::Int(v) => v.to_string(),
            Value::Str(s) => s,
        });
    };
    if spec.width > MAX_OUTPUT_LEN {
        return Err(format!(
            "width {} in \"{field}\" exceeds the {MAX_OUTPUT_LEN} character limit",
            spec.width
        ));
    }
    let value = match (spec.mode, value) {
        (Mode::Text, Value::Int(v)) => Value::Str(v.to_string()),
        (Mode::Int | Mode::Auto, Value::Str(s)) => match parse_int(&s) {
            Some(v) => Value::Int(v),
            None if spec.mode == Mode::Auto => Value::Str(s),
            None => {
                return Err(format!(
                    "cannot format \"{}\" with the integer format \"{}\" in \"{field}\": it is \
                     not a number",
                    excerpt(&s, 40),
                    spec.text
                ));
            }
        },
        (_, value) => value,
    };
    Ok(match value {
        Value::Int(v) => format_int(spec, v),
        Value::Str(s) => format_text(spec, &s),
    })
}

fn format_text(spec: &Spec, s: &str) -> String {
    let body: String = match spec.precision {
        Some(p) => s.chars().take(p).collect(),
        None => s.to_owned(),
    };
    // Python: '0' pads text with zeros on the right unless a fill is given.
    let fill = spec.fill.unwrap_or(if spec.zero { '0' } else { ' ' });
    pad(
        "",
        &body,
        spec.width,
        fill,
        spec.align.unwrap_or(Align::Left),
    )
}

fn format_int(spec: &Spec, v: i64) -> String {
    let magnitude = v.unsigned_abs();
    let (digits, prefix, group) = match spec.ty {
        Some('x') => (format!("{magnitude:x}"), "0x", 4),
        Some('X') => (format!("{magnitude:X}"), "0X", 4),
        Some('o') => (format!("{magnitude:o}"), "0o", 4),
        Some('b') => (format!("{magnitude:b}"), "0b", 4),
        _ => (magnitude.to_string(), "", 3),
    };
    let digits = match spec.grouping {
        Some(sep) => group_digits(&digits, sep, group),
        None => digits,
    };
    let sign = match (v < 0, spec.sign) {
        (true, _) => "-",
        (false, Some('+')) => "+",
        (false, Some(' ')) => " ",
        _ => "",
    };
    let prefix = if spec.alternate { prefix } else { "" };
    // Python: '0' means fill with zeros after the sign, unless an explicit
    // fill or alignment says otherwise.
    let fill = spec.fill.unwrap_or(if spec.zero { '0' } else { ' ' });
    let default_align = if spec.zero {
        Align::AfterSign
    } else {
        Align::Right
    };
    let align = spec.align.unwrap_or(default_align);
    pad(&format!("{sign}{prefix}"), &digits, spec.width, fill, align)
}

fn group_digits(digits: &str, sep: char, every: usize) -> String {
    let mut out = String::new();
    let n = digits.chars().count();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (n - i).is_multiple_of(every) {
            out.push(sep);
        }
        out.push(c);
    }
    out
}

/// Pads `head` + `body` to `width` characters; `AfterSign` pads between
/// them. The caller has checked `width` against the output limit.
fn pad(head: &str, body: &str, width: usize, fill: char, align: Align) -> String {
    let len = head.chars().count() + body.chars().count();
    let n = width.saturating_sub(len);
    let fills = |k: usize| std::iter::repeat_n(fill, k).collect::<String>();
    match align {
        Align::Left => format!("{head}{body}{}", fills(n)),
        Align::Right => format!("{}{head}{body}", fills(n)),
        Align::Center => format!("{}{head}{body}{}", fills(n / 2), fills(n - n / 2)),
        Align::AfterSign => format!("{head}{}{body}", fills(n)),
    }
}
