//! Snapshot format version 1. Frozen: never change these types; add `v2`.

use std::collections::BTreeMap;

use cohort_api::inventory::{Dump, GroupRecord, Inventory, NodeRecord, StoredValue};
use cohort_api::noderange::Limits;
use serde::{Deserialize, Serialize};

use crate::dedupe::Entry;
use crate::{
    ClientId, InviteRecord, InviteRole, MemberRecord, Response, SnapshotError, State, UserRecord,
    UserRole,
};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct SnapshotV1 {
    /// Every group including `everything`, in natural order.
    groups: Vec<GroupV1>,
    /// Every node, in natural order.
    nodes: Vec<NodeV1>,
    /// By name.
    members: Vec<MemberRecord>,
    /// By name.
    invites: Vec<InviteV1>,
    /// By name.
    users: Vec<UserV1>,
    data_key_fingerprint: Option<[u8; 32]>,
    /// By client id.
    dedupe: Vec<DedupeV1>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
enum ValueV1 {
    Literal(String),
    Expression(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct GroupV1 {
    name: String,
    attrs: Vec<(String, ValueV1)>,
    noderange: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct NodeV1 {
    name: String,
    groups: Vec<String>,
    attrs: Vec<(String, ValueV1)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct InviteV1 {
    name: String,
    role: InviteRole,
    secret_sha256: [u8; 32],
    expires_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct UserV1 {
    name: String,
    role: UserRole,
    token_sha256: [u8; 32],
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct DedupeV1 {
    client: ClientId,
    seq: u64,
    last_ms: u64,
    response: Response,
}

impl SnapshotV1 {
    pub(crate) fn from_state(s: &State) -> Self {
        let Dump { groups, nodes } = s.inventory.dump();
        SnapshotV1 {
            groups: groups.into_iter().map(GroupV1::from).collect(),
            nodes: nodes.into_iter().map(NodeV1::from).collect(),
            members: s.members.values().cloned().collect(),
            invites: s.invites.values().map(InviteV1::from).collect(),
            users: s.users.values().map(UserV1::from).collect(),
            data_key_fingerprint: s.data_key_fingerprint,
            dedupe: s.dedupe.entries().map(DedupeV1::from).collect(),
        }
    }

    pub(crate) fn decode(body: &[u8]) -> Result<Self, SnapshotError> {
        crate::codec::decode(body).map_err(SnapshotError::Corrupt)
    }

    /// The state this snapshot describes. Duplicate keys mean damage (an
    /// encoder never writes them), so they are refused rather than merged.
    pub(crate) fn into_state(self) -> Result<State, SnapshotError> {
        let dump = Dump {
            groups: self.groups.into_iter().map(GroupRecord::from).collect(),
            nodes: self.nodes.into_iter().map(NodeRecord::from).collect(),
        };
        let (inventory, restore_warnings) = Inventory::from_dump(&dump, Limits::default())
            .map_err(|e| SnapshotError::Corrupt(format!("inventory: {e}")))?;
        let mut state = State {
            inventory,
            restore_warnings,
            data_key_fingerprint: self.data_key_fingerprint,
            ..State::default()
        };
        for m in self.members {
            insert_unique(&mut state.members, "member", m.name.clone(), m)?;
        }
        for i in self.invites {
            insert_unique(&mut state.invites, "invite", i.name.clone(), i.into())?;
        }
        for u in self.users {
            insert_unique(&mut state.users, "user", u.name.clone(), u.into())?;
        }
        for d in self.dedupe {
            let entry = Entry {
                seq: d.seq,
                last_ms: d.last_ms,
                response: d.response,
            };
            if !state.dedupe.load(d.client, entry) {
                return Err(SnapshotError::Corrupt(format!(
                    "dedupe table lists client {} twice",
                    d.client
                )));
            }
        }
        Ok(state)
    }
}

fn insert_unique<T>(
    map: &mut BTreeMap<String, T>,
    what: &str,
    name: String,
    value: T,
) -> Result<(), SnapshotError> {
    if map.contains_key(&name) {
        return Err(SnapshotError::Corrupt(format!(
            "{what} \"{name}\" is listed twice"
        )));
    }
    map.insert(name, value);
    Ok(())
}

impl From<StoredValue> for ValueV1 {
    fn from(v: StoredValue) -> Self {
        match v {
            StoredValue::Literal(t) => ValueV1::Literal(t),
            StoredValue::Expression(t) => ValueV1::Expression(t),
        }
    }
}

impl From<ValueV1> for StoredValue {
    fn from(v: ValueV1) -> Self {
        match v {
            ValueV1::Literal(t) => StoredValue::Literal(t),
            ValueV1::Expression(t) => StoredValue::Expression(t),
        }
    }
}

fn attrs_into<A: From<B>, B>(attrs: Vec<(String, B)>) -> Vec<(String, A)> {
    attrs.into_iter().map(|(k, v)| (k, A::from(v))).collect()
}

impl From<GroupRecord> for GroupV1 {
    fn from(g: GroupRecord) -> Self {
        GroupV1 {
            name: g.name,
            attrs: attrs_into(g.attrs),
            noderange: g.noderange,
        }
    }
}

impl From<GroupV1> for GroupRecord {
    fn from(g: GroupV1) -> Self {
        GroupRecord {
            name: g.name,
            attrs: attrs_into(g.attrs),
            noderange: g.noderange,
        }
    }
}

impl From<NodeRecord> for NodeV1 {
    fn from(n: NodeRecord) -> Self {
        NodeV1 {
            name: n.name,
            groups: n.groups,
            attrs: attrs_into(n.attrs),
        }
    }
}

impl From<NodeV1> for NodeRecord {
    fn from(n: NodeV1) -> Self {
        NodeRecord {
            name: n.name,
            groups: n.groups,
            attrs: attrs_into(n.attrs),
        }
    }
}

impl From<&InviteRecord> for InviteV1 {
    fn from(i: &InviteRecord) -> Self {
        InviteV1 {
            name: i.name.clone(),
            role: i.role,
            secret_sha256: i.secret_sha256,
            expires_ms: i.expires_ms,
        }
    }
}

impl From<InviteV1> for InviteRecord {
    fn from(i: InviteV1) -> Self {
        InviteRecord {
            name: i.name,
            role: i.role,
            secret_sha256: i.secret_sha256,
            expires_ms: i.expires_ms,
        }
    }
}

impl From<&UserRecord> for UserV1 {
    fn from(u: &UserRecord) -> Self {
        UserV1 {
            name: u.name.clone(),
            role: u.role,
            token_sha256: u.token_sha256,
        }
    }
}

impl From<UserV1> for UserRecord {
    fn from(u: UserV1) -> Self {
        UserRecord {
            name: u.name,
            role: u.role,
            token_sha256: u.token_sha256,
        }
    }
}

impl From<(ClientId, &Entry)> for DedupeV1 {
    fn from((client, e): (ClientId, &Entry)) -> Self {
        DedupeV1 {
            client,
            seq: e.seq,
            last_ms: e.last_ms,
            response: e.response.clone(),
        }
    }
}
