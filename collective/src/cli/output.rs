//! How listings look: pure functions from replies to text or JSON, so every
//! format is unit-tested without a member.
//!
//! The contract (confluent's, DESIGN.md section 8):
//! - attribute listings are `owner: attribute: value`, one per line, owners in
//!   natural order (`n2` before `n10`), attributes in name order;
//! - secrets print as `********`, broken expressions as
//!   `*ERROR* BROKEN EXPRESSION: <message>`;
//! - an attribute asked for by name that an owner lacks prints with an empty
//!   value, so scripts get one line per node and name;
//! - `--json` gives the same data: objects keyed by owner, arrays for lists.

use std::cmp::Ordering;
use std::fmt::Write as _;

use cohort_api::catalog;
use cohort_api::glob::is_glob;
use cohort_api::names::natural_cmp;
use cohort_proto::{AttributeValue, CollectiveStatus, MemberState};
use serde::Serialize;
use serde::ser::SerializeMap;

/// What a secret value prints as.
pub const SECRET: &str = "********";
const BROKEN: &str = "*ERROR* BROKEN EXPRESSION: ";

/// The attributes of one node or group, ready to print.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listing {
    pub owner: String,
    pub attrs: Vec<AttributeValue>,
}

impl Listing {
    /// Adds an empty row for every exact name in `asked` the owner lacks
    /// (aliases matched by their canonical name) and sorts rows by name.
    pub fn new(owner: String, mut attrs: Vec<AttributeValue>, asked: &[String]) -> Listing {
        for name in asked.iter().filter(|n| !is_glob(n)) {
            let canonical = catalog::resolve(name).map_or_else(|_| name.clone(), |a| a.canonical);
            if !attrs.iter().any(|a| a.name == canonical) {
                attrs.push(AttributeValue {
                    name: canonical,
                    ..AttributeValue::default()
                });
            }
        }
        attrs.sort_by(|a, b| a.name.cmp(&b.name));
        attrs.dedup_by(|a, b| a.name == b.name);
        Listing { owner, attrs }
    }
}

/// Sorts owners naturally; listings usually arrive sorted, so check first.
pub fn sort_listings(listings: &mut [Listing]) {
    let by_name = |a: &Listing, b: &Listing| natural_cmp(&a.owner, &b.owner);
    if !listings.is_sorted_by(|a, b| by_name(a, b) != Ordering::Greater) {
        listings.sort_by(by_name);
    }
}

/// Sorts names naturally (defensive: the member sends them sorted).
pub fn sort_names(names: &mut [String]) {
    if !names.is_sorted_by(|a, b| natural_cmp(a, b) != Ordering::Greater) {
        names.sort_by(|a, b| natural_cmp(a, b));
    }
}

/// The value as shown: `********` for secrets, the error for broken ones.
pub fn shown_value(a: &AttributeValue) -> String {
    if a.is_secret {
        SECRET.to_owned()
    } else if !a.broken.is_empty() {
        format!("{BROKEN}{}", a.broken)
    } else {
        a.value.clone()
    }
}

/// The `-b` suffix: `(inherited from group G, derived from expression "E")`,
/// empty for a node's own literal value.
pub fn blame_suffix(a: &AttributeValue) -> String {
    let mut parts = Vec::new();
    if !a.inherited_from.is_empty() {
        parts.push(format!("inherited from group {}", a.inherited_from));
    }
    if !a.expression.is_empty() {
        parts.push(format!("derived from expression \"{}\"", a.expression));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!("({})", parts.join(", "))
    }
}

/// Appends the text lines of one listing to `buf`.
pub fn listing_text(listing: &Listing, blame: bool, buf: &mut String) {
    for a in &listing.attrs {
        let _ = write!(buf, "{}: {}: {}", listing.owner, a.name, shown_value(a));
        let suffix = if blame {
            blame_suffix(a)
        } else {
            String::new()
        };
        if !suffix.is_empty() {
            buf.push(' ');
            buf.push_str(&suffix);
        }
        buf.push('\n');
    }
}

/// `--json` of attribute listings: `{"n1": {"location.rack": "7"}}`, owners
/// in natural order; with blame each value is an object.
pub struct ListingsJson<'a> {
    pub listings: &'a [Listing],
    pub blame: bool,
}

#[derive(Serialize)]
struct BlameJson<'a> {
    value: String,
    inheritedfrom: Option<&'a str>,
    expression: Option<&'a str>,
    broken: Option<&'a str>,
}

fn non_empty(s: &str) -> Option<&str> {
    (!s.is_empty()).then_some(s)
}

struct AttrsJson<'a> {
    attrs: &'a [AttributeValue],
    blame: bool,
}

impl Serialize for AttrsJson<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.attrs.len()))?;
        for a in self.attrs {
            if self.blame {
                let value = if a.is_secret {
                    SECRET.to_owned()
                } else {
                    a.value.clone()
                };
                let blame = BlameJson {
                    value,
                    inheritedfrom: non_empty(&a.inherited_from),
                    expression: non_empty(&a.expression),
                    broken: non_empty(&a.broken),
                };
                map.serialize_entry(&a.name, &blame)?;
            } else {
                map.serialize_entry(&a.name, &shown_value(a))?;
            }
        }
        map.end()
    }
}

impl Serialize for ListingsJson<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.listings.len()))?;
        for l in self.listings {
            let attrs = AttrsJson {
                attrs: &l.attrs,
                blame: self.blame,
            };
            map.serialize_entry(&l.owner, &attrs)?;
        }
        map.end()
    }
}

/// `nodelist`: one name per line.
pub fn names_text(names: &[String]) -> String {
    let mut s = String::with_capacity(names.iter().map(|n| n.len() + 1).sum());
    for n in names {
        s.push_str(n);
        s.push('\n');
    }
    s
}

/// `12ms ago`, `3s ago`, `5m ago`, `2h ago`; `-` when unknown.
pub fn last_contact(ms: Option<u64>) -> String {
    match ms {
        None => "-".to_owned(),
        Some(ms) if ms < 1_000 => format!("{ms}ms ago"),
        Some(ms) if ms < 60_000 => format!("{}s ago", ms / 1_000),
        Some(ms) if ms < 3_600_000 => format!("{}m ago", ms / 60_000),
        Some(ms) => format!("{}h ago", ms / 3_600_000),
    }
}

fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

/// `collective show`: an aligned table and the quorum line.
pub fn collective_text(status: &CollectiveStatus) -> String {
    let header = [
        "NAME",
        "ROLE",
        "LEADER",
        "REACHABLE",
        "LAST CONTACT",
        "APPLIED",
        "LAG",
    ];
    let mut rows: Vec<[String; 7]> = vec![header.map(str::to_owned)];
    for m in sorted_members(status) {
        rows.push([
            m.name.clone(),
            role_cell(m),
            yes_no(m.leader).to_owned(),
            yes_no(m.reachable).to_owned(),
            last_contact(m.last_contact_ms),
            m.applied_index.to_string(),
            m.lag.to_string(),
        ]);
    }
    let mut widths = [0usize; 7];
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in &rows {
        let mut line = String::new();
        for (i, (cell, w)) in row.iter().zip(widths).enumerate() {
            if i > 0 {
                line.push_str("  ");
            }
            let _ = write!(line, "{cell:<w$}");
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    let _ = writeln!(
        out,
        "quorum: {} of {} voters reachable; raft term {}",
        status.voters_reachable, status.voters, status.term
    );
    out
}

/// What Raft counts it as, or, while it is still joining, what it joined
/// for: "voter (joining)" reads right next to a quorum line that does not
/// count it yet; "voter (leaving)" for a removed member Raft still counts.
fn role_cell(m: &MemberState) -> String {
    if m.joining {
        format!("{} (joining)", m.intended_role)
    } else if m.leaving {
        format!("{} (leaving)", m.role)
    } else {
        m.role.clone()
    }
}

fn sorted_members(status: &CollectiveStatus) -> Vec<&MemberState> {
    let mut members: Vec<&MemberState> = status.members.iter().collect();
    members.sort_by(|a, b| natural_cmp(&a.name, &b.name));
    members
}

/// `collective show --json`: one object per member.
pub fn collective_json(status: &CollectiveStatus) -> serde_json::Value {
    let members = sorted_members(status)
        .into_iter()
        .map(|m| {
            serde_json::json!({
                "name": m.name,
                "role": m.role,
                "joining": m.joining,
                "leaving": m.leaving,
                "intended_role": m.intended_role,
                "leader": m.leader,
                "reachable": m.reachable,
                "last_contact_ms": m.last_contact_ms,
                "applied_index": m.applied_index,
                "lag": m.lag,
                "addresses": m.addresses,
                "https_addresses": m.https_addresses,
            })
        })
        .collect();
    serde_json::Value::Array(members)
}

#[cfg(test)]
#[path = "output_tests.rs"]
mod tests;
