//! Attribute expressions (STUB: being written).

/// Where an expression reads the node's name and other attributes.
pub trait ExprEnv {
    /// The node the expression is evaluated for.
    fn node_name(&self) -> &str;
    /// The resolved value of another attribute (canonical name, aliases
    /// already resolved) on this node: `Ok("")`-like empty when unset,
    /// `Err(message)` when that attribute is itself a broken expression.
    fn attribute(&self, canonical: &str) -> Result<String, String>;
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExprError {
    #[error("expression syntax: {0}")]
    Syntax(String),
    #[error("{0}")]
    Eval(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expression {
    source: String,
}

impl Expression {
    pub fn parse(text: &str) -> Result<Expression, ExprError> {
        Ok(Expression { source: text.to_owned() })
    }
    pub fn source(&self) -> &str {
        &self.source
    }
    pub fn has_fields(&self) -> bool {
        false
    }
    pub fn literal(&self) -> Option<String> {
        Some(self.source.clone())
    }
    pub fn references(&self) -> &[String] {
        &[]
    }
    pub fn evaluate(&self, _env: &dyn ExprEnv) -> Result<String, ExprError> {
        Ok(self.source.clone())
    }
}
