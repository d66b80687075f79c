//! Applying one command: a table from [`Command`] variant to the function
//! of its family. Each family lives in its own file and returns
//! `Result<Outcome, ApplyError>`; this file turns that into a [`Response`].
//!
//! Every function here validates all of its input before it changes
//! anything, so a refused command leaves the state exactly as it was (the
//! inventory edits hold the same rule, and each command makes at most one).

mod deploy;
mod inventory;
mod invites;
mod members;
mod tree;
mod users;

use cohort_api::inventory::Outcome;

use crate::{ApplyError, Command, Response, State};

/// What a family function answers.
type Applied = Result<Outcome, ApplyError>;

impl State {
    /// Applies a command without deduplication: the table of the state
    /// machine. `now_ms` is the leader's clock, stamped in the log.
    pub(crate) fn execute(&mut self, command: &Command, now_ms: u64) -> Response {
        let applied = match command {
            Command::Noop => Ok(Outcome::default()),
            Command::DefineNodes {
                noderange,
                assignments,
            } => self.define_nodes(noderange, assignments),
            Command::SetNodeAttributes {
                noderange,
                assignments,
            } => self.set_node_attributes(noderange, assignments),
            Command::ClearNodeAttributes { noderange, names } => {
                self.clear_node_attributes(noderange, names)
            }
            Command::RemoveNodes { noderange } => self.remove_nodes(noderange),
            Command::RenameNode { old, new } => self.rename_node(old, new),
            Command::DefineGroup { name, assignments } => self.define_group(name, assignments),
            Command::SetGroupAttributes { name, assignments } => {
                self.set_group_attributes(name, assignments)
            }
            Command::ClearGroupAttributes { name, names } => {
                self.clear_group_attributes(name, names)
            }
            Command::RemoveGroup { name } => self.remove_group(name),
            Command::RenameGroup { old, new } => self.rename_group(old, new),
            Command::PutMember { member } => self.put_member(member),
            Command::RemoveMember { name } => self.remove_member(name),
            Command::CreateInvite {
                name,
                role,
                secret_sha256,
                expires_ms,
            } => self.create_invite(name, *role, secret_sha256, *expires_ms, now_ms),
            Command::ConsumeInvite {
                name,
                secret_sha256,
            } => self.consume_invite(name, secret_sha256, now_ms),
            Command::SetDataKeyFingerprint { fingerprint } => {
                self.set_data_key_fingerprint(fingerprint)
            }
            Command::PutUser {
                name,
                role,
                token_sha256,
            } => self.put_user(name, *role, token_sha256),
            Command::RemoveUser { name } => self.remove_user(name),
            Command::Join {
                member,
                secret_sha256,
            } => self.join(member, secret_sha256, now_ms),
            Command::TreePut { entries } => self.tree_put(entries),
            Command::TreeRemove { path } => self.tree_remove(path),
            Command::ArmDeployment { noderange, profile } => {
                self.arm_deployment(noderange, profile)
            }
            Command::DisarmDeployment { noderange } => self.disarm_deployment(noderange),
            Command::RegisterNodeKey { node, crypted_key } => {
                self.register_node_key(node, crypted_key, now_ms)
            }
            Command::NodeDeployStatus {
                node,
                status,
                state,
                detail,
                client_ip,
            } => self.node_deploy_status(node, *status, state, detail, client_ip, now_ms),
        };
        match applied {
            Ok(mut outcome) => {
                // The inventory orders some warnings by its internal group
                // and attribute ids, which a member restored from a snapshot
                // numbers differently. Responses are replicated state (the
                // dedupe table keeps them), so they must not depend on that.
                outcome.warnings.sort();
                Response::from(outcome)
            }
            Err(e) => Response::Refused(e),
        }
    }
}

/// Compares two hashes without stopping at the first difference. The state
/// only holds hashes, so an early exit would leak little; it costs nothing
/// to leak nothing.
pub(crate) fn hashes_equal(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A done command that changed no node.
fn done(warnings: Vec<String>) -> Applied {
    Ok(Outcome {
        warnings,
        changed: 0,
    })
}
