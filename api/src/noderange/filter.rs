//! Atoms that select nodes by content: `~regex` / `/regex` over node names,
//! and attribute filters (`location.rack=2`, `net.*switch=~^sw`).
//!
//! Operators are recognised in confluent's order `==`, `!=`, `=~`, `!~`,
//! `=`, by a plain split (so `a=b=c` is an error, `a==b=c` compares with
//! `b=c`). An unset attribute reads as `""`. For a glob attribute name the
//! node matches when *any* matching attribute's value, or an extra `""`,
//! satisfies the operator; hence `net.*switch!=sw1` matches every node, a
//! documented confluent quirk kept on purpose.
//!
//! Secrets are never filterable: a filter is an oracle for guessing the
//! value. Since the [`Universe`] hands out attribute keys, not names, a glob
//! that *might* match a secret name is refused as a whole.

use regex::{Regex, RegexBuilder};

use super::parse::{clip, syntax};
use super::{Limits, NoderangeError, Universe};
use crate::catalog::{self, Sensitivity};
use crate::glob::{glob_match, is_glob};
use crate::nodeset::{NodeId, NodeSet};

/// Families whose member names the admin chooses; confluent accepts any
/// name under them without asking the catalog.
const FREE_PREFIXES: [&str; 3] = ["net.", "power.", "custom."];

/// Name prefixes that only ever hold secrets or hashes.
const SECRET_PREFIXES: [&str; 3] = ["secret.", "crypted.", "custom.nodesecret."];

/// Compiles a regular expression within the limits.
pub(crate) fn build_regex(src: &str, limits: &Limits) -> Result<Regex, NoderangeError> {
    if src.len() > limits.max_regex_len {
        return Err(NoderangeError::RegexTooLong {
            regex: src.chars().take(60).collect::<String>() + "...",
            len: src.len(),
            limit: limits.max_regex_len,
        });
    }
    RegexBuilder::new(src)
        .size_limit(limits.max_regex_size)
        .dfa_size_limit(limits.max_regex_size)
        .build()
        .map_err(|e| NoderangeError::InvalidRegex {
            regex: src.to_owned(),
            reason: one_line(&e.to_string()),
        })
}

/// The regex crate draws syntax errors over several lines (pattern, caret,
/// message); the last line is the message.
fn one_line(message: &str) -> String {
    let last = message.lines().rev().find(|l| !l.trim().is_empty());
    let last = last.unwrap_or(message).trim();
    last.strip_prefix("error: ").unwrap_or(last).to_owned()
}

/// The candidates a selector scans: the current set after `,-`/`@`,
/// otherwise every node.
fn candidates<'a, U: Universe>(
    u: &'a U,
    scope: Option<&'a NodeSet>,
) -> Box<dyn Iterator<Item = NodeId> + 'a> {
    match scope {
        Some(set) => Box::new(set.iter()),
        None => Box::new(u.nodes_in_order().iter().copied()),
    }
}

/// `~pattern`: nodes whose name contains a match (unanchored search).
pub(crate) fn regex_nodes<U: Universe>(
    u: &U,
    pattern: &str,
    scope: Option<&NodeSet>,
    limits: &Limits,
) -> Result<NodeSet, NoderangeError> {
    let re = build_regex(pattern, limits)?;
    let mut out = NodeSet::with_bound(u.id_bound());
    for id in candidates(u, scope) {
        if re.is_match(u.node_name(id)) {
            out.insert(id);
        }
    }
    Ok(out)
}

enum Matcher {
    Equal(String),
    Search(Regex),
}

/// What a filter's attribute name designates.
enum Target {
    /// One attribute, by canonical name.
    Exact(String),
    /// Every attribute whose name matches.
    Glob(String),
}

/// `attr<op>value`: nodes whose value satisfies the operator.
pub(crate) fn filter_nodes<U: Universe>(
    u: &U,
    text: &str,
    scope: Option<&NodeSet>,
    limits: &Limits,
) -> Result<NodeSet, NoderangeError> {
    let (attribute, negate, matcher) = parse_filter(text, limits)?;
    let test = |value: &str| {
        let hit = match &matcher {
            Matcher::Equal(v) => value == v,
            Matcher::Search(re) => re.is_match(value),
        };
        hit != negate
    };
    let mut out = NodeSet::with_bound(u.id_bound());
    match check_attribute(attribute)? {
        Target::Exact(canonical) => {
            // One key lookup per filter, not per node.
            let key = u.attr_key(&canonical);
            for id in candidates(u, scope) {
                let value = key.and_then(|k| u.attr_value(id, k)).unwrap_or("");
                if test(value) {
                    out.insert(id);
                }
            }
        }
        Target::Glob(glob) => {
            let keys = u.attr_keys_matching(&glob);
            for id in candidates(u, scope) {
                let mut values = keys.iter().filter_map(|&k| u.attr_value(id, k));
                if test("") || values.any(test) {
                    out.insert(id);
                }
            }
        }
    }
    Ok(out)
}

/// Splits a filter into attribute name, negation and matcher.
fn parse_filter<'t>(
    text: &'t str,
    limits: &Limits,
) -> Result<(&'t str, bool, Matcher), NoderangeError> {
    const OPERATORS: [(&str, bool, bool); 5] = [
        ("==", false, false),
        ("!=", true, false),
        ("=~", false, true),
        ("!~", true, true),
        ("=", false, false),
    ];
    for (op, negate, regex) in OPERATORS {
        if !text.contains(op) {
            continue;
        }
        let mut parts = text.split(op);
        let (Some(attribute), Some(value), None) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(syntax(format!(
                "attribute filter {} contains \"{op}\" more than once",
                clip(text)
            )));
        };
        let matcher = if regex {
            Matcher::Search(build_regex(value, limits)?)
        } else {
            Matcher::Equal(value.to_owned())
        };
        return Ok((attribute, negate, matcher));
    }
    Err(syntax(format!("{} is not an attribute filter", clip(text))))
}

/// Refuses secrets and names the catalog does not know.
fn check_attribute(name: &str) -> Result<Target, NoderangeError> {
    let secret = || NoderangeError::SecretFilter {
        attribute: name.to_owned(),
    };
    let free = FREE_PREFIXES.iter().any(|p| name.starts_with(p));
    if is_glob(name) {
        if catalog::is_secret_name(name) || glob_may_match_secret(name) {
            return Err(secret());
        }
        if free || catalog::glob_may_match(name) {
            return Ok(Target::Glob(name.to_owned()));
        }
        return Err(NoderangeError::InvalidAttribute {
            name: name.to_owned(),
            suggestion: None,
        });
    }
    if catalog::is_secret_name(name) {
        return Err(secret());
    }
    match catalog::resolve(name) {
        Ok(attr) if attr.spec.sensitivity != Sensitivity::Plain => Err(secret()),
        Ok(attr) => Ok(Target::Exact(attr.canonical)),
        Err(_) if free => Ok(Target::Exact(name.to_owned())),
        Err(e) => Err(NoderangeError::InvalidAttribute {
            name: name.to_owned(),
            suggestion: e.did_you_mean(),
        }),
    }
}

/// `true` if some secret or hashed attribute name matches the glob: the
/// secret families (`secret.*`, `crypted.*`, `custom.nodesecret.*`) and
/// every non-plain catalog entry.
fn glob_may_match_secret(glob: &str) -> bool {
    let families = catalog::all()
        .iter()
        .filter(|s| s.sensitivity != Sensitivity::Plain)
        .map(|s| s.name);
    SECRET_PREFIXES.iter().any(|p| may_match_prefixed(glob, p))
        || families
            .into_iter()
            .any(|name| match name.strip_suffix('*') {
                Some(prefix) => may_match_prefixed(glob, prefix),
                None => glob_match(glob, name),
            })
}

/// `true` if the glob matches some text that starts with `prefix`: run the
/// glob as an automaton over the prefix; any surviving state can be
/// completed by a suitable suffix.
fn may_match_prefixed(glob: &str, prefix: &str) -> bool {
    let p = glob.as_bytes();
    let mut states = vec![false; p.len() + 1];
    states[0] = true;
    close_stars(p, &mut states);
    for &c in prefix.as_bytes() {
        let mut next = vec![false; p.len() + 1];
        for (i, _) in states.iter().enumerate().filter(|(_, on)| **on) {
            match p.get(i) {
                Some(b'*') => next[i] = true,
                Some(&q) if q == b'?' || q == c => next[i + 1] = true,
                _ => {}
            }
        }
        close_stars(p, &mut next);
        if !next.contains(&true) {
            return false;
        }
        states = next;
    }
    true
}

/// A `*` may match nothing: reaching it also reaches what follows it.
fn close_stars(p: &[u8], states: &mut [bool]) {
    for i in 0..p.len() {
        if states[i] && p[i] == b'*' {
            states[i + 1] = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regex_errors_fit_on_one_line() {
        let err = build_regex("*", &Limits::default()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid regular expression \"*\": repetition operator missing expression"
        );
    }

    #[test]
    fn prefix_automaton() {
        assert!(may_match_prefixed("*", "secret."));
        assert!(may_match_prefixed("s*", "secret."));
        assert!(may_match_prefixed("se?ret.x", "secret."));
        assert!(may_match_prefixed("custom.*", "custom.nodesecret."));
        assert!(!may_match_prefixed("net.*", "secret."));
        assert!(!may_match_prefixed("net.*switch", "custom.nodesecret."));
        assert!(!may_match_prefixed("sec", "secret."));
        assert!(may_match_prefixed("secret.*", "secret."));
    }
}
