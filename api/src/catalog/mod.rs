//! The attribute catalog (STUB: being written).

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
    pub check: Option<fn(&str) -> Result<(), String>>,
}

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

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogError {
    #[error("unknown attribute \"{name}\"")]
    Unknown { name: String, suggestion: Option<&'static str> },
    #[error("invalid value {value:?} for {attr}: {reason}")]
    BadValue { attr: String, value: String, reason: String },
}

/// Every known attribute.
pub fn all() -> &'static [AttrSpec] {
    &[]
}

/// Checks a name, resolving aliases.
pub fn resolve(name: &str) -> Result<Attr, CatalogError> {
    Err(CatalogError::Unknown { name: name.to_owned(), suggestion: None })
}

/// `true` if some name the catalog would accept matches the glob.
pub fn glob_may_match(_glob: &str) -> bool {
    false
}

impl Attr {
    /// Validates a value and returns its canonical text form (`yes` -> `true`).
    /// The empty string is always accepted: it is an explicit empty value.
    pub fn normalize(&self, value: &str) -> Result<String, CatalogError> {
        Ok(value.to_owned())
    }
}
