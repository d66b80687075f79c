//! Node and group names, and the natural order admins read them in.
//!
//! Admins expect `n2` before `n10` everywhere: listings, abbreviations,
//! pagination (`<N`, `>N`). [`natural_cmp`] is that order: names are split
//! into digit and non-digit runs, digit runs compare as numbers, text runs
//! compare case-insensitively. Ties (`n01` vs `n1`, `N1` vs `n1`) fall back
//! to a byte comparison so the order is total and deterministic, which the
//! replicated state machine relies on.
//!
//! Names are deliberately narrower than confluent allows: a name must be
//! usable as a hostname label sequence and must read back as itself when
//! typed as a noderange, so `[`, `,`, `@`, `=`, `~`, `/`, `:`, `+` and
//! spaces are refused at definition time rather than surprising the admin
//! later.

use std::cmp::Ordering;

/// Longest node or group name accepted (a full DNS name).
pub const MAX_NAME_LEN: usize = 253;

/// Compares two names in natural order (`n2` < `n10`, `d01` < `d2`).
pub fn natural_cmp(a: &str, b: &str) -> Ordering {
    let mut x = a.as_bytes();
    let mut y = b.as_bytes();
    loop {
        match (x.first(), y.first()) {
            (None, None) => return a.cmp(b),
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(&p), Some(&q)) => {
                let (run_x, rest_x) = split_run(x, p.is_ascii_digit());
                let (run_y, rest_y) = split_run(y, q.is_ascii_digit());
                let ord = match (p.is_ascii_digit(), q.is_ascii_digit()) {
                    (true, true) => cmp_digits(run_x, run_y),
                    // Python compares int < str as a type error; confluent
                    // falls back to plain sorting there. Digits first is the
                    // stable choice that matches ASCII order.
                    (true, false) => Ordering::Less,
                    (false, true) => Ordering::Greater,
                    (false, false) => cmp_text(run_x, run_y),
                };
                if ord != Ordering::Equal {
                    return ord;
                }
                x = rest_x;
                y = rest_y;
            }
        }
    }
}

fn split_run(s: &[u8], digits: bool) -> (&[u8], &[u8]) {
    let end = s
        .iter()
        .position(|c| c.is_ascii_digit() != digits)
        .unwrap_or(s.len());
    s.split_at(end)
}

/// Numeric comparison of two ASCII digit runs of any length (no overflow).
fn cmp_digits(a: &[u8], b: &[u8]) -> Ordering {
    let a = trim_zeros(a);
    let b = trim_zeros(b);
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

fn trim_zeros(s: &[u8]) -> &[u8] {
    let start = s.iter().position(|&c| c != b'0').unwrap_or(s.len());
    &s[start..]
}

fn cmp_text(a: &[u8], b: &[u8]) -> Ordering {
    let la = a.iter().map(u8::to_ascii_lowercase);
    let lb = b.iter().map(u8::to_ascii_lowercase);
    la.cmp(lb)
}

/// Sorts names in natural order, in place.
pub fn natural_sort<S: AsRef<str>>(names: &mut [S]) {
    names.sort_unstable_by(|a, b| natural_cmp(a.as_ref(), b.as_ref()));
}

/// What kind of name is being checked, for error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameKind {
    Node,
    Group,
}

impl std::fmt::Display for NameKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            NameKind::Node => "node",
            NameKind::Group => "group",
        })
    }
}

/// A node or group name that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("{kind} name is empty")]
    Empty { kind: NameKind },
    #[error("\"{name}\" is not a valid {kind} name: longer than {MAX_NAME_LEN} characters")]
    TooLong { kind: NameKind, name: String },
    #[error(
        "\"{name}\" is not a valid {kind} name: character {ch:?} is not allowed \
         (use letters, digits, '-', '_' and '.', starting with a letter or digit)"
    )]
    BadChar {
        kind: NameKind,
        name: String,
        ch: char,
    },
}

/// Checks that `name` can be a node or group name.
///
/// Allowed: ASCII letters, digits, `-`, `_`, `.`; the first character must be
/// a letter or digit. Such a name always reads back as itself in a noderange.
pub fn validate_name(kind: NameKind, name: &str) -> Result<(), NameError> {
    let Some(first) = name.chars().next() else {
        return Err(NameError::Empty { kind });
    };
    if name.len() > MAX_NAME_LEN {
        return Err(NameError::TooLong {
            kind,
            name: name.to_owned(),
        });
    }
    if !first.is_ascii_alphanumeric() {
        return Err(NameError::BadChar {
            kind,
            name: name.to_owned(),
            ch: first,
        });
    }
    if let Some(ch) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
    {
        return Err(NameError::BadChar {
            kind,
            name: name.to_owned(),
            ch,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sorted(input: &[&str]) -> Vec<String> {
        let mut v: Vec<String> = input.iter().map(|s| s.to_string()).collect();
        natural_sort(&mut v);
        v
    }

    #[test]
    fn natural_order_matches_reference_fixture() {
        let got = sorted(&[
            "sw2", "n10", "r2u1", "n2", "d04", "pdu1", "n1", "d01", "r1u2", "n12", "sw1", "r1u1",
        ]);
        assert_eq!(
            got,
            [
                "d01", "d04", "n1", "n2", "n10", "n12", "pdu1", "r1u1", "r1u2", "r2u1", "sw1",
                "sw2"
            ]
        );
    }

    #[test]
    fn natural_order_is_total_on_padding_and_case() {
        assert_eq!(natural_cmp("n01", "n1"), "n01".cmp("n1"));
        assert_ne!(natural_cmp("N1", "n1"), Ordering::Equal);
        assert_eq!(natural_cmp("n1", "n1"), Ordering::Equal);
        assert_eq!(natural_cmp("n", "n1"), Ordering::Less);
        assert_eq!(natural_cmp("A2", "a10"), Ordering::Less);
    }

    #[test]
    fn huge_digit_runs_compare_without_overflow() {
        let a = format!("n{}", "9".repeat(40));
        let b = format!("n1{}", "0".repeat(40));
        assert_eq!(natural_cmp(&a, &b), Ordering::Less);
    }

    #[test]
    fn names_are_validated() {
        assert!(validate_name(NameKind::Node, "r1u2.cluster-a_x").is_ok());
        for bad in [
            "", "-n1", "n 1", "n[1]", "n,1", "a=b", "~n", "n:1", "n+1", "é",
        ] {
            assert!(validate_name(NameKind::Node, bad).is_err(), "{bad:?}");
        }
        let err = validate_name(NameKind::Group, "rack 1").unwrap_err();
        assert!(err.to_string().contains("\"rack 1\""), "{err}");
        assert!(validate_name(NameKind::Node, &"a".repeat(254)).is_err());
    }
}
