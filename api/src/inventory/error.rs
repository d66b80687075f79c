//! Why an inventory edit was refused.
//!
//! Every variant names the bad input and, where there is one, the fix. An
//! edit that returns an error has changed nothing: callers may retry or
//! report without cleaning up. None of these is worth retrying unchanged.

use crate::catalog::CatalogError;
use crate::expr::ExprError;
use crate::names::NameError;
use crate::noderange::NoderangeError;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InventoryError {
    #[error(transparent)]
    Name(#[from] NameError),
    #[error(transparent)]
    Noderange(#[from] NoderangeError),
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    #[error("{attr}: {source}")]
    Expression {
        attr: String,
        #[source]
        source: ExprError,
    },
    #[error(
        "\"{0}\" is not an attribute assignment: write NAME=VALUE (or groups,=G to add, groups^=G to remove)"
    )]
    BadAssignment(String),
    #[error("node \"{0}\" already exists (use nodeattrib to change it)")]
    NodeExists(String),
    #[error("group \"{0}\" already exists (use nodegroupattrib to change it)")]
    GroupExists(String),
    #[error("node \"{0}\" does not exist")]
    NoSuchNode(String),
    #[error("group {0} does not exist (define it first with nodegroupdefine)")]
    NoSuchGroup(String),
    #[error("No action to take, noderange is empty")]
    EmptyRange,
    #[error("the group \"everything\" always holds every node; it cannot be {0}")]
    Everything(&'static str),
    #[error("{attr} can only be set on {only}")]
    WrongScope { attr: String, only: &'static str },
    #[error(
        "group \"{group}\" is dynamic (its members come from noderange={noderange:?}); \
         it cannot also have {what} (clear noderange first)"
    )]
    DynamicGroup {
        group: String,
        noderange: String,
        what: String,
    },
    #[error(
        "group \"{0}\" has static members or attributes; a dynamic group (noderange=...) \
         must have neither (remove them first)"
    )]
    NotEmptyForDynamic(String),
    #[error("node {node} is already a member of group {group}")]
    AlreadyMember { node: String, group: String },
    #[error("node {node} is not a member of group {group}")]
    NotMember { node: String, group: String },
    #[error("{attr} cannot be {what}")]
    NotAllowed { attr: String, what: &'static str },
}
