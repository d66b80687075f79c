//! cohort-agent: the node side of a deployment (docs/design/0006-node-api.md).
//!
//! A node being installed or booted asks whichever member answers who it
//! is, registers an API key, fetches its `DeployConfig` and turns it into
//! the target OS's own files, then reports progress. Every node of a
//! profile boots the same bytes; everything per node comes through the
//! node API (confluent's "target-side" design), so this crate is where the
//! per-OS knowledge lives, instead of per-OS shell scripts.
//!
//! Code map: [`deploy`] is the flow; [`client`] the HTTPS client with
//! member failover; [`identity`] and [`apikey`] the first two steps;
//! [`network`], [`system`] and [`ssh`] render and write files through
//! [`fsutil`]'s atomic writes; [`names`] checks server input before it
//! reaches a file; [`cli`] is the command line.
//!
//! Architecture invariant: renderers are pure (configuration in, text
//! out); only the `write*` functions touch the target tree, and only under
//! `--root`. The agent never reads the running system's files to decide
//! what to write, except `/sys` for identifiers (and for interface names
//! on a live system), because it usually runs in an installer whose OS is
//! not the target's.

pub mod apikey;
pub mod cli;
pub mod client;
pub mod deploy;
pub mod fsutil;
pub mod identity;
pub mod names;
pub mod network;
pub mod ssh;
pub mod system;
