//! A set of nodes back to a short noderange: `n1,n2,n3,n5` -> `n[1:3,5]`.
//!
//! confluent's algorithm, with its self-test strings as our tests: first
//! (with an inventory) replace whole groups, largest first; then sort the
//! remaining names naturally, cut them into chunks of consecutive names with
//! the same non-digit shape, and within a chunk bracket the runs where
//! exactly one number varies, `[a:b,c]`. A change of zero padding starts a
//! new term (`n[7:8],n[09:20]`), because a bracket range pads every number
//! to the width of its left end.
//!
//! The one hard rule is that the text expands back to exactly the input.
//! Every name put in a bracket must therefore read back as itself on its
//! own; names that cannot (`a1-a3` is a range in define mode) are written
//! out literally, and a name starting with `-` is parenthesised so that a
//! preceding `,` does not turn into the `,-` operator.

use super::define::define_name;
use super::parse::is_plain_word;
use super::resolve::UniverseDomain;
use super::{Limits, Universe};
use crate::names::{natural_cmp, natural_sort};
use crate::nodeset::{NodeId, NodeSet};

/// Abbreviates against an inventory: groups first, then node names.
pub(crate) fn abbreviate_set<U: Universe>(set: &NodeSet, u: &U) -> String {
    let members: Vec<NodeId> = u
        .nodes_in_order()
        .iter()
        .copied()
        .filter(|&id| set.contains(id))
        .collect();
    if members.is_empty() {
        return String::new();
    }
    let limits = Limits::default();
    let mut d = UniverseDomain::new(u, &limits);
    let mut remaining: NodeSet = members.iter().copied().collect();
    if members.len() == u.nodes_in_order().len()
        && reads_as_group(u, "everything")
        && let Ok(Some(all)) = d.group("everything", 0)
        && all.is_subset(&remaining)
        && remaining.is_subset(&all)
    {
        return "everything".to_owned();
    }
    let mut candidates: Vec<(usize, &str, NodeSet)> = Vec::new();
    for name in u.group_names() {
        if name == "everything" || !reads_as_group(u, name) {
            continue;
        }
        // A group whose noderange fails to expand is simply not used.
        if let Ok(Some(exp)) = d.group(name, 0)
            && !exp.is_empty()
            && exp.is_subset(&remaining)
        {
            candidates.push((exp.len(), name, exp));
        }
    }
    candidates.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| natural_cmp(a.1, b.1)));
    let mut groups: Vec<&str> = Vec::new();
    for (_, name, exp) in &candidates {
        if exp.is_subset(&remaining) {
            groups.push(name);
            remaining.difference_with(exp);
        }
    }
    natural_sort(&mut groups);
    let nodes: Vec<&str> = members
        .iter()
        .filter(|&&id| remaining.contains(id))
        .map(|&id| u.node_name(id))
        .collect();
    let mut terms = compress(&groups, is_plain_word);
    terms.extend(compress(&nodes, is_plain_word));
    terms.join(",")
}

/// A group name that, typed alone, means that group.
fn reads_as_group<U: Universe>(u: &U, name: &str) -> bool {
    is_plain_word(name) && u.node_id(name).is_none() && u.group(name).is_some()
}

/// Abbreviates bare names, for define mode.
pub(crate) fn abbreviate_list<S: AsRef<str>>(names: &[S]) -> String {
    let mut sorted: Vec<&str> = names.iter().map(AsRef::as_ref).collect();
    natural_sort(&mut sorted);
    sorted.dedup();
    let limits = Limits::default();
    let reads_back = |name: &str| {
        is_plain_word(name)
            && define_name(name, &limits).is_ok_and(|v| v.len() == 1 && v[0] == name)
    };
    compress(&sorted, reads_back).join(",")
}

/// A name cut into its non-digit text (`texts`, one more than `nums`) and
/// its digit runs.
struct Split<'a> {
    name: &'a str,
    texts: Vec<&'a str>,
    nums: Vec<&'a str>,
}

fn split(name: &str) -> Split<'_> {
    let mut texts = Vec::new();
    let mut nums = Vec::new();
    let mut rest = name;
    loop {
        let t = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        texts.push(&rest[..t]);
        rest = &rest[t..];
        if rest.is_empty() {
            break;
        }
        let n = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        nums.push(&rest[..n]);
        rest = &rest[n..];
    }
    Split { name, texts, nums }
}

/// Terms for naturally sorted names; `reads_back` says which names may be
/// put in brackets.
fn compress(names: &[&str], reads_back: impl Fn(&str) -> bool) -> Vec<String> {
    let mut terms = Vec::new();
    let mut chunk: Vec<Split<'_>> = Vec::new();
    for &name in names {
        if !reads_back(name) {
            bracket_chunk(&mut chunk, &mut terms);
            terms.push(protect(name.to_owned()));
            continue;
        }
        let s = split(name);
        if chunk.first().is_some_and(|c| c.texts != s.texts) {
            bracket_chunk(&mut chunk, &mut terms);
        }
        chunk.push(s);
    }
    bracket_chunk(&mut chunk, &mut terms);
    terms
}

/// `-x` after a comma would read as the `,-` operator.
fn protect(term: String) -> String {
    if term.starts_with('-') {
        format!("({term})")
    } else {
        term
    }
}

/// Brackets one chunk of same-shaped names into terms, emptying it.
fn bracket_chunk(chunk: &mut Vec<Split<'_>>, terms: &mut Vec<String>) {
    let mut run: Option<Run<'_, '_>> = None;
    for s in chunk.iter() {
        if run.as_mut().is_some_and(|r| r.extend(s)) {
            continue;
        }
        if let Some(done) = run.take() {
            terms.push(protect(done.render()));
        }
        run = Some(Run::new(s));
    }
    if let Some(done) = run {
        terms.push(protect(done.render()));
    }
    chunk.clear();
}

/// Names that differ from the first only in the number at `diff`.
struct Run<'s, 'a> {
    first: &'s Split<'a>,
    last: &'s Split<'a>,
    diff: Option<usize>,
    items: Vec<Item<'a>>,
}

/// `start` or `start:end` inside the brackets.
struct Item<'a> {
    start: &'a str,
    end: &'a str,
    end_value: u128,
}

impl<'s, 'a> Run<'s, 'a> {
    fn new(first: &'s Split<'a>) -> Self {
        Run {
            first,
            last: first,
            diff: None,
            items: Vec::new(),
        }
    }

    /// Takes `s` into the run if it differs from the last name in exactly
    /// the varying number, with compatible zero padding.
    fn extend(&mut self, s: &'s Split<'a>) -> bool {
        let mut diffs = (0..s.nums.len()).filter(|&i| s.nums[i] != self.last.nums[i]);
        let (Some(p), None) = (diffs.next(), diffs.next()) else {
            return false;
        };
        if self.diff.is_some_and(|d| d != p) {
            return false;
        }
        let (prev, new) = (self.last.nums[p], s.nums[p]);
        let padded = new.len() > 1 && new.starts_with('0');
        if new.len() < prev.len() || (padded && new.len() != prev.len()) {
            return false;
        }
        let (Ok(pv), Ok(nv)) = (prev.parse::<u128>(), new.parse::<u128>()) else {
            return false;
        };
        if nv <= pv {
            return false;
        }
        if self.diff.is_none() {
            self.diff = Some(p);
            self.items.push(Item {
                start: prev,
                end: prev,
                end_value: pv,
            });
        }
        match self.items.last_mut() {
            // A range pads every number to the width of its start.
            Some(item)
                if item.end_value.checked_add(1) == Some(nv)
                    && format!("{nv:0w$}", w = item.start.len()) == new =>
            {
                item.end = new;
                item.end_value = nv;
            }
            _ => self.items.push(Item {
                start: new,
                end: new,
                end_value: nv,
            }),
        }
        self.last = s;
        true
    }

    fn render(&self) -> String {
        let Some(p) = self.diff else {
            return self.first.name.to_owned();
        };
        let mut out = String::new();
        for (i, text) in self.first.texts.iter().enumerate() {
            out.push_str(text);
            let Some(num) = self.first.nums.get(i) else {
                continue;
            };
            if i != p {
                out.push_str(num);
                continue;
            }
            let items: Vec<String> = self
                .items
                .iter()
                .map(|it| match it.start == it.end {
                    true => it.start.to_owned(),
                    false => format!("{}:{}", it.start, it.end),
                })
                .collect();
            out.push('[');
            out.push_str(&items.join(","));
            out.push(']');
        }
        out
    }
}
