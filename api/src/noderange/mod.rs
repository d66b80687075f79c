//! The noderange language (STUB: being written).
mod universe;
pub use universe::{GroupView, Universe};

use crate::nodeset::NodeSet;

/// Bounds that keep hostile or mistyped noderanges from exhausting memory.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Most names one expansion may produce (before lookup), default 1,000,000.
    pub max_names: usize,
    /// Longest regular expression source accepted, in bytes.
    pub max_regex_len: usize,
    /// Compiled size limit handed to the regex engine, in bytes.
    pub max_regex_size: usize,
    /// Deepest nesting of parentheses, brackets and dynamic groups.
    pub max_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_names: 1_000_000,
            max_regex_len: 1024,
            max_regex_size: 1 << 20,
            max_depth: 32,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoderangeError {
    #[error("Invalid syntax")]
    Syntax,
}

pub fn expand<U: Universe>(_text: &str, _u: &U, _limits: &Limits) -> Result<NodeSet, NoderangeError> {
    Err(NoderangeError::Syntax)
}

pub fn expand_names(_text: &str, _limits: &Limits) -> Result<Vec<String>, NoderangeError> {
    Err(NoderangeError::Syntax)
}

pub fn abbreviate<U: Universe>(_set: &NodeSet, _u: &U) -> String {
    String::new()
}

pub fn abbreviate_names<S: AsRef<str>>(_names: &[S]) -> String {
    String::new()
}
