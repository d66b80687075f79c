//! The attribute catalog: every attribute name cohort accepts, what values
//! it takes, and how carefully it must be guarded.
//!
//! Shape. The catalog is one sorted static table of [`AttrSpec`] rows
//! (`table.rs`), one row per attribute, rather than confluent's dictionary
//! of dictionaries with optional `validvalues`/`validlist`/`validlistkeys`
//! keys that each code path interprets (or forgets to). A row says
//! everything at once: value type, sensitivity, scope, extra check and a
//! one-line description, so the CLI help, the validation and the secrecy
//! rules cannot drift apart.
//!
//! Generic names. `net.hwaddr` stands for every `net.<iface>.hwaddr` and
//! `power.pdu` for every `power.<psu>.pdu`: an interface or power input is
//! named by the admin, so the catalog cannot list them. [`resolve`] collapses
//! the interface part for validation and keeps it in [`Attr::canonical`],
//! the name things are stored under. `custom.*` is open: sites keep their
//! own data there, unchecked, and `custom.nodesecret.*` is their secret.
//!
//! Aliases. `bmc`, `bmcuser`, `bmcpass`, `switchuser` and `switchpass` are
//! resolved here, at the boundary, to the real name. Everything past
//! [`resolve`] (storage, filters, expressions, inheritance) sees one
//! spelling per attribute, so `bmc` and `hardwaremanagement.manager` can
//! never hold two different values.
//!
//! Rejected alternatives: a `match` per attribute (hundreds of arms, and no
//! way to list attributes for help); confluent's lenient "unknown names are
//! errors, but only on some paths" (we check every name, and suggest the
//! nearest one, because a typo like `location.rck` otherwise silently
//! becomes a filter that matches nothing).

mod checks;
mod normalize;
mod suggest;
mod table;
#[cfg(test)]
mod tests;

pub use suggest::suggest;

use crate::glob::{glob_match, is_glob};

/// The type of an attribute's value, and what values are valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueType {
    /// Free text.
    Text,
    /// `true`/`false`; input accepts true,1,y,yes,enable,enabled (and the negatives).
    Bool,
    /// A decimal integer.
    Int,
    /// A comma-separated list of free text items.
    List,
    /// One of the listed values; an entry may be a glob (`lom_*`).
    Enum(&'static [&'static str]),
    /// A comma-separated list, each item one of the listed values.
    EnumList(&'static [&'static str]),
    /// A comma-separated list of `key=value`, keys from the list.
    KeyValues(&'static [&'static str]),
}

/// How an attribute's value must be guarded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sensitivity {
    /// Shown, filterable, may be an expression.
    Plain,
    /// Encrypted at rest, shown as `********`, never filterable, never an expression.
    Secret,
    /// Only a one-way hash is kept; never filterable, never an expression.
    Crypted,
}

/// Where an attribute may be set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// On nodes and on groups (inherited by members).
    Both,
    /// Only on nodes (`groups`).
    Node,
    /// Only on groups (`nodes`, `noderange`).
    Group,
}

/// One catalog entry.
#[derive(Debug)]
pub struct AttrSpec {
    /// Generic name: `net.hwaddr` stands for every `net.<iface>.hwaddr`.
    pub name: &'static str,
    pub description: &'static str,
    pub ty: ValueType,
    pub sensitivity: Sensitivity,
    pub scope: Scope,
    /// Extra validation of a non-empty value; returns the reason it is bad.
    pub check: Option<Check>,
}

/// A value check: `Err` holds the reason, phrased to say what is valid.
pub type Check = fn(&str) -> Result<(), String>;

// Entries are unique by name; comparing the `check` function pointers would
// be meaningless.
impl PartialEq for AttrSpec {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}
impl Eq for AttrSpec {}

/// A name checked against the catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attr {
    /// The name to store under: aliases resolved, interface part kept
    /// (`bmc` -> `hardwaremanagement.manager`, `net.mgt.hwaddr` stays).
    pub canonical: String,
    pub spec: &'static AttrSpec,
}

/// A refused attribute name or value. Both are the admin's input to fix:
/// show the message as is; retrying the same input cannot succeed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogError {
    /// `suggestion` is the generic catalog name nearest to `name`
    /// (`net.hwaddr` for `net.mgt.hwadr`); [`CatalogError::did_you_mean`]
    /// spells it with the admin's interface part, as the message does.
    #[error("unknown attribute {name:?} ({})", suggest::hint(.name, .suggestion))]
    Unknown {
        name: String,
        suggestion: Option<&'static str>,
    },
    /// For secrets, `value` is `********`: a refused password must not end
    /// up in a log or on a terminal.
    #[error("invalid value {value:?} for {attr}: {reason}")]
    BadValue {
        attr: String,
        value: String,
        reason: String,
    },
}

impl CatalogError {
    /// The name the admin probably meant, spelled as they would type it
    /// (`net.mgt.hwaddr` for `net.mgt.hwadr`).
    pub fn did_you_mean(&self) -> Option<String> {
        match self {
            CatalogError::Unknown { name, suggestion } => {
                suggestion.map(|s| suggest::spell_like(name, s))
            }
            CatalogError::BadValue { .. } => None,
        }
    }
}

/// Families with a middle part the admin names: `net.<iface>.<attr>` and
/// `power.<input>.<attr>`. `custom.<anything>` is open altogether.
const INTERFACE_FAMILIES: [&str; 2] = ["net", "power"];
const CUSTOM_PREFIX: &str = "custom.";
const NODESECRET_PREFIX: &str = "custom.nodesecret.";

/// Attributes that edit membership rather than hold a value; they have
/// their own edit paths and never hold expressions.
const MEMBERSHIP: [&str; 3] = ["groups", "nodes", "noderange"];

/// Every known attribute, sorted by name. Entries ending in `.*` stand for
/// open families (`custom.*`, `custom.nodesecret.*`).
pub fn all() -> &'static [AttrSpec] {
    table::TABLE
}

/// The aliases confluent accepts, as `(alias, real name)`.
pub fn aliases() -> &'static [(&'static str, &'static str)] {
    table::ALIASES
}

/// Looks a generic name up in the table (binary search: it is sorted).
fn spec(name: &str) -> Option<&'static AttrSpec> {
    let table = table::TABLE;
    table
        .binary_search_by(|s| s.name.cmp(name))
        .ok()
        .and_then(|i| table.get(i))
}

/// Names the catalog accepts verbatim: table rows (not the open families)
/// and aliases. These are the candidates for suggestions and glob checks.
fn known_names() -> impl Iterator<Item = &'static str> {
    let rows = table::TABLE
        .iter()
        .map(|s| s.name)
        .filter(|n| !n.ends_with(".*"));
    rows.chain(table::ALIASES.iter().map(|(alias, _)| *alias))
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

/// Dot-separated non-empty segments of `[A-Za-z0-9_-]`. Anything else
/// (spaces, `=`, `{`) would be ambiguous on the command line or in an
/// expression, so it is refused before any lookup.
fn is_valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .split('.')
            .all(|seg| !seg.is_empty() && seg.chars().all(is_name_char))
}

/// Checks a name, resolving aliases.
pub fn resolve(name: &str) -> Result<Attr, CatalogError> {
    let unknown = || CatalogError::Unknown {
        name: name.to_owned(),
        suggestion: suggest(name),
    };
    if !is_valid_name(name) {
        return Err(unknown());
    }
    let found = |canonical: &str, spec: &'static AttrSpec| Attr {
        canonical: canonical.to_owned(),
        spec,
    };
    if let Some((_, real)) = table::ALIASES.iter().find(|(alias, _)| *alias == name) {
        return spec(real).map(|s| found(real, s)).ok_or_else(unknown);
    }
    if let Some(s) = spec(name).filter(|s| !s.name.ends_with(".*")) {
        return Ok(found(name, s));
    }
    if let Some(generic) = interface_generic(name) {
        return spec(&generic).map(|s| found(name, s)).ok_or_else(unknown);
    }
    if let Some(rest) = name.strip_prefix(CUSTOM_PREFIX) {
        let family = match rest.strip_prefix("nodesecret.") {
            Some(_) => "custom.nodesecret.*",
            None => "custom.*",
        };
        return spec(family).map(|s| found(name, s)).ok_or_else(unknown);
    }
    Err(unknown())
}

/// `net.<iface...>.<attr>` -> `net.<attr>` (likewise `power.`), when the
/// name has an interface part at all.
fn interface_generic(name: &str) -> Option<String> {
    let (family, rest) = name.split_once('.')?;
    let (_iface, attr) = rest.rsplit_once('.')?;
    INTERFACE_FAMILIES
        .contains(&family)
        .then(|| format!("{family}.{attr}"))
}

/// `true` if some name the catalog would accept matches the glob.
///
/// Used to refuse filters like `locaton.*=x` that can only ever match
/// nothing. It errs on the side of `true`: a glob under `net.`, `power.`
/// or `custom.` is accepted (the admin names those), and so is one whose
/// leading wildcard may stand for an interface part (`*.mgt.hwaddr`). A
/// leading wildcard is not taken to reach into `custom.`, though, or every
/// such glob would pass: write `custom.*x`, not `*x`, for site attributes.
pub fn glob_may_match(glob: &str) -> bool {
    let syntax_ok = !glob.is_empty()
        && glob
            .chars()
            .all(|c| is_name_char(c) || matches!(c, '.' | '*' | '?'));
    if !syntax_ok {
        return false;
    }
    let head = glob.split(['*', '?']).next().unwrap_or_default();
    let opens_family = INTERFACE_FAMILIES
        .iter()
        .map(|f| format!("{f}."))
        .chain([CUSTOM_PREFIX.to_owned()])
        .any(|prefix| head.starts_with(&prefix));
    if opens_family || known_names().any(|n| glob_match(glob, n)) {
        return true;
    }
    // A wildcard that starts before an interface family is spelled out
    // (`*`, `n*`, `ne?.`) may cover `net.<iface>.` entirely; then the last
    // segment of the glob must fit a family attribute, unless the glob ends
    // open and could stop anywhere.
    let may_cover_iface = is_glob(glob)
        && INTERFACE_FAMILIES
            .iter()
            .any(|f| format!("{f}.").starts_with(head));
    if !may_cover_iface {
        return false;
    }
    let last = glob.rsplit('.').next().unwrap_or(glob);
    glob.ends_with('*')
        || (glob.contains('.')
            && table::TABLE.iter().any(|s| match s.name.split_once('.') {
                Some((family, attr)) => {
                    INTERFACE_FAMILIES.contains(&family) && glob_match(last, attr)
                }
                None => false,
            }))
}

/// `true` if a raw name (as typed, alias or glob) is a secret or hash:
/// `secret.*`, `crypted.*`, `custom.nodesecret.*` and the credential
/// aliases. A glob counts when its literal start places every match inside
/// those families (`secret.*`); a broader glob (`*`) may match plain and
/// secret names alike, and the caller must check each name it expands to.
pub fn is_secret_name(name: &str) -> bool {
    const SECRET_PREFIXES: [&str; 3] = ["secret.", "crypted.", NODESECRET_PREFIX];
    let head = name.split(['*', '?']).next().unwrap_or_default();
    SECRET_PREFIXES.iter().any(|p| head.starts_with(p))
        || table::ALIASES
            .iter()
            .any(|(alias, real)| *alias == name && real.starts_with("secret."))
}

impl Attr {
    /// Secret or hash: the value is never shown, logged or compared.
    pub fn is_secret(&self) -> bool {
        self.spec.sensitivity != Sensitivity::Plain
    }

    /// Only plain values may appear in noderange filters: a filter on a
    /// password would let anyone who can list nodes guess it.
    pub fn is_filterable(&self) -> bool {
        self.spec.sensitivity == Sensitivity::Plain
    }

    /// `groups`, `nodes` and `noderange`: they edit membership and have
    /// their own edit paths.
    pub fn is_membership(&self) -> bool {
        MEMBERSHIP.contains(&self.spec.name)
    }

    /// Whether a `{...}` value is stored as an expression. Secrets and hashes
    /// are stored as given (confluent does the same), and membership names
    /// nodes and groups directly.
    pub fn accepts_expressions(&self) -> bool {
        self.spec.sensitivity == Sensitivity::Plain && !self.is_membership()
    }
}
