//! "Did you mean": the catalog name nearest to an unknown one.
//!
//! Distance is the optimal-string-alignment variant of Damerau-Levenshtein
//! (a swapped pair of letters, `loaction`, costs one edit), compared
//! case-insensitively. For `net.<iface>.<attr>` and `power.<input>.<attr>`
//! only the last segment is compared against the family's attributes: the
//! interface name is the admin's own and says nothing about the typo.

use super::{INTERFACE_FAMILIES, is_valid_name, known_names, table};

/// Longer input is no typo of a catalog name; the bound also caps the
/// quadratic distance work on hostile input.
const MAX_LEN: usize = 128;

/// The known name (generic form for interface families, e.g. `net.hwaddr`)
/// closest to `name`, if it is close enough to be a plausible typo.
pub fn suggest(name: &str) -> Option<&'static str> {
    if name.is_empty() || name.len() > MAX_LEN {
        return None;
    }
    let lower = name.to_ascii_lowercase();
    if let Some((family, rest)) = lower.split_once('.')
        && INTERFACE_FAMILIES.contains(&family)
        && let Some((_iface, last)) = rest.rsplit_once('.')
    {
        let members = table::TABLE.iter().filter_map(|s| {
            let (f, attr) = s.name.split_once('.')?;
            (f == family).then_some((attr, s.name))
        });
        if let Some(found) = closest(last, members) {
            return Some(found);
        }
    }
    closest(&lower, known_names().map(|n| (n, n)))
}

/// The candidate whose key is nearest to `query`, within
/// `max(2, len/3)` edits; ties go to the first (the table is sorted, so the
/// answer is deterministic).
fn closest<'a>(
    query: &str,
    candidates: impl Iterator<Item = (&'a str, &'static str)>,
) -> Option<&'static str> {
    let query: Vec<char> = query.chars().collect();
    let limit = (query.len() / 3).max(2);
    let mut best: Option<(usize, &'static str)> = None;
    for (key, result) in candidates {
        let key: Vec<char> = key.chars().collect();
        if key.len().abs_diff(query.len()) > limit {
            continue;
        }
        let d = distance(&query, &key);
        if d <= limit && best.is_none_or(|(b, _)| d < b) {
            best = Some((d, result));
        }
    }
    best.map(|(_, result)| result)
}

/// Optimal string alignment distance over three rolling rows.
fn distance(a: &[char], b: &[char]) -> usize {
    let mut before: Vec<usize> = vec![0; b.len() + 1];
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur: Vec<usize> = vec![0; b.len() + 1];
    for (i, &ca) in a.iter().enumerate() {
        cur[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let cost = usize::from(ca != cb);
            let mut d = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
            let swapped = i > 0 && j > 0 && a.get(i - 1) == Some(&cb) && b.get(j - 1) == Some(&ca);
            if swapped {
                d = d.min(before[j - 1] + 1);
            }
            cur[j + 1] = d;
        }
        std::mem::swap(&mut before, &mut prev);
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// Spells a generic suggestion with the interface part the admin typed:
/// `net.mgt.hwadr` + `net.hwaddr` -> `net.mgt.hwaddr`.
pub(super) fn spell_like(name: &str, suggestion: &'static str) -> String {
    let generic = || suggestion.to_owned();
    let Some((family, attr)) = suggestion.split_once('.') else {
        return generic();
    };
    let iface = name
        .split_once('.')
        .and_then(|(_, rest)| rest.rsplit_once('.'))
        .map(|(iface, _)| iface);
    match iface {
        Some(iface) if INTERFACE_FAMILIES.contains(&family) => {
            let spelled = format!("{family}.{iface}.{attr}");
            if is_valid_name(&spelled) {
                spelled
            } else {
                generic()
            }
        }
        _ => generic(),
    }
}

/// The parenthesised hint of [`super::CatalogError::Unknown`]'s message.
pub(super) fn hint(name: &str, suggestion: &Option<&'static str>) -> String {
    match suggestion {
        Some(s) => format!("did you mean {:?}?", spell_like(name, s)),
        None => "`cohort attributes` lists the valid names".to_owned(),
    }
}
