//! Commands: the closed, versioned set of changes the collective agrees on.
//!
//! These types are the Raft log format: their bincode encoding (variant
//! indexes, field order) is frozen by the tests in `tests/frozen.rs`. Add
//! variants at the end and fields only in a new `RequestV2`; never reorder.

use serde::{Deserialize, Serialize};

/// Identifies one admin client session for deduplication: random per CLI
/// invocation or per daemon connection.
pub type ClientId = u128;

/// A Raft log entry's payload. Versioned: new versions are added as new
/// variants at the end, never by changing an existing one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Request {
    V1(RequestV1),
    /// Several version 1 requests in one log entry, applied in order, each
    /// deduplicated on its own. The leader groups concurrent writes this
    /// way so that Raft's per-entry cost (append, replicate, flush, apply
    /// hand-offs) is paid once per group rather than once per admin action.
    Batch(Vec<RequestV1>),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestV1 {
    /// Who sent it; with `seq`, the dedupe key.
    pub client: ClientId,
    /// Per-client sequence number, increasing.
    pub seq: u64,
    /// Wall-clock time stamped by the leader when it proposed the entry
    /// (milliseconds since the Unix epoch). The only clock the state sees.
    pub now_ms: u64,
    pub command: Command,
}

/// One entry of the synchronized tree's manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum TreeEntry {
    /// A regular file: its content's SHA-256 (the blob's name), its size and
    /// its permission bits.
    File {
        sha256: [u8; 32],
        size: u64,
        mode: u32,
    },
    /// A symbolic link, relative, pointing inside the same half of the tree.
    Symlink { target: String },
}

/// Role of a collective member.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum MemberRole {
    Voter,
    NonVoter,
}

/// Role an invite grants.
pub type InviteRole = MemberRole;

/// Role of an admin user (confluent's roles).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum UserRole {
    Admin,
    Operator,
    Monitor,
}

/// One member of the collective, as every member knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberRecord {
    pub name: String,
    /// Raft node id.
    pub raft_id: u64,
    /// Peer gRPC addresses (`host:port`).
    pub addresses: Vec<String>,
    /// HTTPS deployment addresses (`host:port`).
    pub https_addresses: Vec<String>,
    pub role: MemberRole,
    /// The member's own CA certificate (DER); its leaf must chain to it.
    pub ca_cert_der: Vec<u8>,
    /// The member's SSH CA public key (OpenSSH format), for nodes' known_hosts.
    pub ssh_ca_public: String,
}

/// Every change the collective can make. Applied by `match`, never by name.
/// Appending a variant is compatible; reordering or changing one is not
/// (bincode encodes the variant index): the frozen-bytes tests hold that.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Command {
    /// Does nothing; used to commit a barrier entry.
    Noop,
    /// `nodedefine NODERANGE a=b ...` (define mode expansion).
    DefineNodes {
        noderange: String,
        assignments: Vec<String>,
    },
    /// `nodeattrib NODERANGE a=b ...`
    SetNodeAttributes {
        noderange: String,
        assignments: Vec<String>,
    },
    /// `nodeattrib -c NODERANGE a b ...`
    ClearNodeAttributes {
        noderange: String,
        names: Vec<String>,
    },
    /// `noderemove NODERANGE`
    RemoveNodes {
        noderange: String,
    },
    /// `noderename OLD NEW`
    RenameNode {
        old: String,
        new: String,
    },
    /// `nodegroupdefine NAME a=b ...`
    DefineGroup {
        name: String,
        assignments: Vec<String>,
    },
    /// `nodegroupattrib NAME a=b ...`
    SetGroupAttributes {
        name: String,
        assignments: Vec<String>,
    },
    /// `nodegroupattrib -c NAME a b ...`
    ClearGroupAttributes {
        name: String,
        names: Vec<String>,
    },
    /// `nodegroupremove NAME`
    RemoveGroup {
        name: String,
    },
    /// `nodegrouprename OLD NEW`
    RenameGroup {
        old: String,
        new: String,
    },
    /// Adds a member, or replaces the record of one with the same name.
    PutMember {
        member: MemberRecord,
    },
    /// Removes a member from the table (Raft membership is changed apart).
    RemoveMember {
        name: String,
    },
    /// Records an invite: only the SHA-256 of its secret is kept.
    CreateInvite {
        name: String,
        role: InviteRole,
        secret_sha256: [u8; 32],
        expires_ms: u64,
    },
    /// Consumes an invite: fails unless it exists, is unexpired (against
    /// the request's `now_ms`) and the hash matches. A join uses `Join`,
    /// which also records the member in the same step.
    ConsumeInvite {
        name: String,
        secret_sha256: [u8; 32],
    },
    /// Records which collective data key secrets are encrypted with (a
    /// fingerprint only: the key itself never enters the log).
    SetDataKeyFingerprint {
        fingerprint: [u8; 32],
    },
    /// `cohort user add`: only the token's SHA-256 is kept.
    PutUser {
        name: String,
        role: UserRole,
        token_sha256: [u8; 32],
    },
    RemoveUser {
        name: String,
    },
    /// A member joins (docs/design/0003): consumes the invite for
    /// `member.name` and records the member, atomically: either both happen
    /// or neither. The member's role must be the one the invite grants, and
    /// its Raft id must be new (a rejoining member is a new incarnation).
    Join {
        member: MemberRecord,
        secret_sha256: [u8; 32],
    },
    /// Adds or replaces entries of the synchronized tree's manifest, all
    /// or none. Paths are relative to the tree root and start with
    /// `public/` or `private/`; directories are implied by the paths. The
    /// file contents travel separately, as content-addressed blobs.
    TreePut {
        entries: Vec<(String, TreeEntry)>,
    },
    /// Removes a file or symlink of the tree, or every entry under a
    /// directory path.
    TreeRemove {
        path: String,
    },
    /// `nodedeploy NODERANGE -n PROFILE`: refused for locked nodes or an
    /// unknown profile (no `public/os/PROFILE/profile.yaml` in the tree);
    /// else arms each node's API key once, sets the pending profile and
    /// clears the staged profile and the reported state.
    ArmDeployment {
        noderange: String,
        profile: String,
    },
    /// `nodedeploy NODERANGE -c`: disarms and clears the pending profile.
    DisarmDeployment {
        noderange: String,
    },
    /// A node registers the crypt hash of the API key it drew (node API
    /// `registerapikey`): refused unless `deployment.apiarmed` allows it at
    /// the request's `now_ms`; `once` is cleared in the same step, so two
    /// racing registrations cannot both succeed.
    RegisterNodeKey {
        node: String,
        crypted_key: String,
    },
    /// A node reports deployment progress (node API `updatestatus`).
    NodeDeployStatus {
        node: String,
        status: Option<NodeStatus>,
        state: Option<String>,
        detail: Option<String>,
        /// The address the report came from.
        client_ip: String,
    },
}

/// Deployment milestones a node reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum NodeStatus {
    /// Installed; the pending profile becomes the staged one.
    Staged,
    /// First boot done; the staged (or pending) profile becomes current.
    Completed,
}

impl Request {
    /// A version 1 request.
    pub fn v1(client: ClientId, seq: u64, now_ms: u64, command: Command) -> Request {
        Request::V1(RequestV1 {
            client,
            seq,
            now_ms,
            command,
        })
    }

    /// The commands carried, in the order they apply, whatever the version.
    pub fn commands(&self) -> impl Iterator<Item = &Command> {
        let requests = match self {
            Request::V1(r) => std::slice::from_ref(r),
            Request::Batch(rs) => rs.as_slice(),
        };
        requests.iter().map(|r| &r.command)
    }
}

impl Command {
    /// The variant's name, for logs and traces (never for dispatch).
    pub fn kind(&self) -> &'static str {
        match self {
            Command::Noop => "Noop",
            Command::DefineNodes { .. } => "DefineNodes",
            Command::SetNodeAttributes { .. } => "SetNodeAttributes",
            Command::ClearNodeAttributes { .. } => "ClearNodeAttributes",
            Command::RemoveNodes { .. } => "RemoveNodes",
            Command::RenameNode { .. } => "RenameNode",
            Command::DefineGroup { .. } => "DefineGroup",
            Command::SetGroupAttributes { .. } => "SetGroupAttributes",
            Command::ClearGroupAttributes { .. } => "ClearGroupAttributes",
            Command::RemoveGroup { .. } => "RemoveGroup",
            Command::RenameGroup { .. } => "RenameGroup",
            Command::PutMember { .. } => "PutMember",
            Command::RemoveMember { .. } => "RemoveMember",
            Command::CreateInvite { .. } => "CreateInvite",
            Command::ConsumeInvite { .. } => "ConsumeInvite",
            Command::SetDataKeyFingerprint { .. } => "SetDataKeyFingerprint",
            Command::PutUser { .. } => "PutUser",
            Command::RemoveUser { .. } => "RemoveUser",
            Command::Join { .. } => "Join",
            Command::TreePut { .. } => "TreePut",
            Command::TreeRemove { .. } => "TreeRemove",
            Command::ArmDeployment { .. } => "ArmDeployment",
            Command::DisarmDeployment { .. } => "DisarmDeployment",
            Command::RegisterNodeKey { .. } => "RegisterNodeKey",
            Command::NodeDeployStatus { .. } => "NodeDeployStatus",
        }
    }
}
