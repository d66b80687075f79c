//! Deployment commands (docs/design/0006): `nodedeploy` arming and
//! disarming, a node registering its API key, a node reporting progress.
//!
//! They are commands of their own rather than attribute edits sent by the
//! member, because each is a check and a change that must happen in one
//! step of the log: `apiarmed=once` must admit exactly one registration
//! even when two members take one each at the same moment, and a status
//! moves profiles between attributes according to what they hold at that
//! point of the log.
//!
//! Each sets (validated, all or nothing) and then clears attributes whose
//! names are constants of the catalog, which cannot fail; so a refused
//! command still changes nothing.

use cohort_api::inventory::{Assignment, Outcome};
use cohort_api::nodeset::NodeSet;

use super::Applied;
use crate::time::{iso8601_utc, parse_iso8601_utc};
use crate::{ApplyError, NodeStatus, State, TreeEntry};

const ARMED: &str = "deployment.apiarmed";
const KEY: &str = "crypted.selfapikey";
const PENDING: &str = "deployment.pendingprofile";
const STAGED: &str = "deployment.stagedprofile";
const CURRENT: &str = "deployment.profile";
const LOCK: &str = "deployment.lock";
const STATE: &str = "deployment.state";
const DETAIL: &str = "deployment.state_detail";
const UPDATED: &str = "deployment.state_last_updated";
const CLIENT_IP: &str = "deployment.client_ip";
const SEALED: &str = "deployment.sealedapikey";

impl State {
    pub(super) fn arm_deployment(&mut self, noderange: &str, profile: &str) -> Applied {
        if !self.has_profile(profile) {
            return Err(ApplyError::not_found(format!(
                "no OS profile {profile:?} (public/os/{profile}/profile.yaml is not in the tree); \
                 list them with `cohort osdeploy list`"
            )));
        }
        let set = self.nonempty_set(noderange)?;
        let locked: Vec<&str> = self
            .inventory
            .names_of(&set)
            .filter(|n| self.value(n, LOCK) == Some("locked"))
            .collect();
        if !locked.is_empty() {
            return Err(ApplyError::precondition(format!(
                "{} locked against redeployment; unlock with `cohort nodeattrib {} deployment.lock=unlocked`",
                if locked.len() == 1 {
                    "node is"
                } else {
                    "nodes are"
                },
                locked.join(",")
            )));
        }
        let mut outcome = self.edit(
            &set,
            &[(ARMED, "once"), (PENDING, profile)],
            &[STAGED, STATE, DETAIL, UPDATED, SEALED],
        )?;
        outcome.warnings.clear();
        Ok(outcome)
    }

    pub(super) fn disarm_deployment(&mut self, noderange: &str) -> Applied {
        let set = self.nonempty_set(noderange)?;
        let mut outcome = self.edit(&set, &[], &[ARMED, PENDING])?;
        outcome.warnings.clear();
        Ok(outcome)
    }

    pub(super) fn register_node_key(&mut self, node: &str, crypted: &str, now_ms: u64) -> Applied {
        let set = self.one_node(node)?;
        if !is_crypt_hash(crypted) {
            return Err(ApplyError::invalid(
                "the API key must be registered as a $5$ or $6$ crypt hash, never in clear",
            ));
        }
        // The same hash again is a retry of a registration whose answer was
        // lost (a member died, a forward timed out): it succeeds, changing
        // nothing, whether or not the arm is still there.
        if self.value(node, KEY) == Some(crypted) {
            return Ok(Outcome::default());
        }
        let armed = self.value(node, ARMED).map(str::to_owned);
        let clear: &[&str] = match armed.as_deref() {
            Some("once") => &[ARMED, SEALED],
            Some("continuous") => &[],
            Some(until) if parse_iso8601_utc(until).is_some_and(|t| now_ms < t) => &[],
            Some(until) if parse_iso8601_utc(until).is_some() => {
                return Err(ApplyError::denied(format!(
                    "node {node} was armed for an API key until {until}, which has passed \
                     (now {}); run `cohort nodedeploy {node} -n PROFILE` again",
                    iso8601_utc(now_ms)
                )));
            }
            _ => {
                return Err(ApplyError::denied(format!(
                    "node {node} is not armed for an API key; run `cohort nodedeploy {node} -n PROFILE` first"
                )));
            }
        };
        self.edit(&set, &[(KEY, crypted)], clear)
    }

    pub(super) fn node_deploy_status(
        &mut self,
        node: &str,
        status: Option<NodeStatus>,
        state: &Option<String>,
        detail: &Option<String>,
        client_ip: &str,
        now_ms: u64,
    ) -> Applied {
        let set = self.one_node(node)?;
        let pending = self.value(node, PENDING).map(str::to_owned);
        let staged = self.value(node, STAGED).map(str::to_owned);
        let now = iso8601_utc(now_ms);
        let mut sets: Vec<(&str, &str)> = vec![(UPDATED, &now)];
        if !client_ip.is_empty() {
            sets.push((CLIENT_IP, client_ip));
        }
        if let Some(s) = state {
            sets.push((STATE, s));
        }
        if let Some(d) = detail {
            sets.push((DETAIL, d));
        }
        let mut clear: Vec<&str> = Vec::new();
        let lock_after = self.value(node, LOCK) == Some("autolock");
        match status {
            None => {}
            Some(NodeStatus::Staged) => {
                let p = pending.as_deref().ok_or_else(|| no_deployment(node))?;
                sets.push((STAGED, p));
            }
            Some(NodeStatus::Completed) => match staged.as_deref().or(pending.as_deref()) {
                Some(p) => {
                    sets.push((CURRENT, p));
                    clear.extend([PENDING, STAGED]);
                    if lock_after {
                        sets.push((LOCK, "locked"));
                    }
                }
                // Completed again (a retry whose answer was lost): nothing
                // pending, the profile already current.
                None if self.value(node, CURRENT).is_some() => {}
                None => return Err(no_deployment(node)),
            },
        }
        self.edit(&set, &sets, &clear)
    }

    /// Whether the tree holds `public/os/<profile>/profile.yaml`.
    fn has_profile(&self, profile: &str) -> bool {
        !profile.is_empty()
            && !profile.contains('/')
            && profile != "."
            && profile != ".."
            && matches!(
                self.tree.get(&format!("public/os/{profile}/profile.yaml")),
                Some(TreeEntry::File { .. })
            )
    }

    fn nonempty_set(&self, noderange: &str) -> Result<NodeSet, ApplyError> {
        let set = self.inventory.expand(noderange)?;
        if set.is_empty() {
            return Err(ApplyError::not_found(format!(
                "noderange {noderange:?} names no node"
            )));
        }
        Ok(set)
    }

    fn one_node(&self, node: &str) -> Result<NodeSet, ApplyError> {
        if !self.inventory.has_node(node) {
            return Err(ApplyError::not_found(format!("no node named {node:?}")));
        }
        Ok(self.inventory.expand(node)?)
    }

    fn value(&self, node: &str, attr: &str) -> Option<&str> {
        self.inventory
            .node_value(node, attr)
            .map(|v| v.value)
            .filter(|v| !v.is_empty())
    }

    /// Sets `sets` (validated first: a refusal changes nothing), then
    /// clears `clear` (catalog constants: cannot fail).
    fn edit(&mut self, set: &NodeSet, sets: &[(&str, &str)], clear: &[&str]) -> Applied {
        let mut outcome = Outcome::default();
        if !sets.is_empty() {
            let parsed = sets
                .iter()
                .map(|(a, v)| Assignment::parse(&format!("{a}={v}")).map_err(ApplyError::from))
                .collect::<Result<Vec<_>, _>>()?;
            outcome = self.inventory.set_node_attributes(set, &parsed)?;
        }
        if !clear.is_empty() {
            let cleared = self.inventory.clear_node_attributes(set, clear)?;
            outcome.changed = outcome.changed.max(cleared.changed);
            outcome.warnings.extend(cleared.warnings);
        }
        Ok(outcome)
    }
}

fn no_deployment(node: &str) -> ApplyError {
    ApplyError::precondition(format!(
        "node {node} has no deployment pending; run `cohort nodedeploy {node} -n PROFILE`"
    ))
}

/// `$5$...` or `$6$...` with a salt and a hash part (`$5$rounds=N$salt$hash`
/// too): the shapes sha-crypt produces.
fn is_crypt_hash(text: &str) -> bool {
    let Some(rest) = text
        .strip_prefix("$5$")
        .or_else(|| text.strip_prefix("$6$"))
    else {
        return false;
    };
    let parts: Vec<&str> = rest.split('$').collect();
    (2..=3).contains(&parts.len())
        && parts.iter().all(|p| !p.is_empty())
        && text.len() <= 256
        && text
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"$./=".contains(&c))
}
