//! Value validation: from what the admin typed to the one text form stored.
//!
//! Normalizing on the way in (`yes` -> `true`, `AA-BB-..` -> `aa:bb:..`)
//! means filters and comparisons elsewhere can compare text exactly, and a
//! listing shows one spelling for one value.

use super::{Attr, CatalogError, ValueType, table};
use crate::glob::{glob_match, is_glob};

const TRUE_WORDS: [&str; 6] = ["true", "1", "y", "yes", "enable", "enabled"];
const FALSE_WORDS: [&str; 6] = ["false", "0", "n", "no", "disable", "disabled"];

/// What a refused secret value is shown as.
const REDACTED: &str = "********";

impl Attr {
    /// Validates a value and returns its canonical text form (`yes` -> `true`).
    /// The empty string is always accepted: it is an explicit empty value.
    pub fn normalize(&self, value: &str) -> Result<String, CatalogError> {
        if value.is_empty() {
            return Ok(String::new());
        }
        let bad = |reason: String| CatalogError::BadValue {
            attr: self.canonical.clone(),
            value: if self.is_secret() {
                REDACTED.to_owned()
            } else {
                value.to_owned()
            },
            reason,
        };
        // Listings print `node: attribute: value` one per line; a newline or
        // an escape sequence in a value would forge lines or drive the
        // terminal. Tabs are harmless and do occur in notes.
        if let Some(c) = value.chars().find(|&c| c.is_control() && c != '\t') {
            return Err(bad(format!(
                "control characters (here U+{:04X}) are not allowed; values are shown one per line",
                u32::from(c)
            )));
        }
        // Surrounding blanks are noise in a value with a syntax, but may be
        // meant in free text (and in a password).
        let has_syntax = self.spec.check.is_some();
        let typed = by_type(self.spec.ty, value, has_syntax).map_err(bad)?;
        if typed.is_empty() {
            return Ok(typed);
        }
        if let Some(check) = self.spec.check {
            check(&typed).map_err(bad)?;
        }
        let form = table::CANONICAL_FORMS
            .iter()
            .find(|(name, _)| *name == self.spec.name);
        Ok(match form {
            Some((_, form)) => form(&typed),
            None => typed,
        })
    }
}

fn by_type(ty: ValueType, value: &str, trim_text: bool) -> Result<String, String> {
    match ty {
        ValueType::Text if trim_text => Ok(value.trim().to_owned()),
        ValueType::Text => Ok(value.to_owned()),
        ValueType::Bool => boolean(value.trim()),
        ValueType::Int => match value.trim().parse::<i64>() {
            Ok(n) => Ok(n.to_string()),
            Err(_) => Err("expected a whole number such as 42".to_owned()),
        },
        ValueType::List => Ok(items(value).collect::<Vec<_>>().join(",")),
        ValueType::Enum(values) => enum_item(value.trim(), values)
            .ok_or_else(|| format!("expected one of: {}", values.join(", "))),
        ValueType::EnumList(values) => {
            let mut out = Vec::new();
            for item in items(value) {
                let Some(item) = enum_item(item, values) else {
                    return Err(format!(
                        "{item:?} is not one of: {} (give a comma list of these)",
                        values.join(", ")
                    ));
                };
                out.push(item);
            }
            Ok(out.join(","))
        }
        ValueType::KeyValues(keys) => key_values(value, keys),
    }
}

fn boolean(word: &str) -> Result<String, String> {
    let lower = word.to_ascii_lowercase();
    if TRUE_WORDS.contains(&lower.as_str()) {
        Ok("true".to_owned())
    } else if FALSE_WORDS.contains(&lower.as_str()) {
        Ok("false".to_owned())
    } else {
        Err(format!(
            "expected true or false (also accepted: {} / {})",
            TRUE_WORDS[1..].join(", "),
            FALSE_WORDS[1..].join(", ")
        ))
    }
}

/// Comma-separated items, trimmed, empty ones dropped (`a, ,b` is `a,b`).
fn items(value: &str) -> impl Iterator<Item = &str> {
    value.split(',').map(str::trim).filter(|s| !s.is_empty())
}

/// Matches one item against an enumeration: exactly, then ignoring case
/// (all catalog values are lowercase). A glob entry like `lom_*` must have
/// something in place of each `*`, and the admin's item may not itself be
/// a glob: `lom_*` is a family of ports, not a port.
fn enum_item(item: &str, values: &[&str]) -> Option<String> {
    if is_glob(item) {
        return None;
    }
    let fits = |text: &str| {
        values.iter().any(|v| {
            if is_glob(v) {
                glob_match(&v.replace('*', "?*"), text)
            } else {
                *v == text
            }
        })
    };
    if fits(item) {
        return Some(item.to_owned());
    }
    let lower = item.to_ascii_lowercase();
    fits(&lower).then_some(lower)
}

fn key_values(value: &str, keys: &[&str]) -> Result<String, String> {
    let mut out = Vec::new();
    for item in items(value) {
        let pair = item
            .split_once('=')
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim()))
            .filter(|(k, v)| keys.contains(&k.as_str()) && !v.is_empty());
        match pair {
            Some((k, v)) => out.push(format!("{k}={v}")),
            None => {
                return Err(format!(
                    "{item:?} is not key=value with a key from: {} (e.g. {}=no)",
                    keys.join(", "),
                    keys.first().copied().unwrap_or("key")
                ));
            }
        }
    }
    Ok(out.join(","))
}
