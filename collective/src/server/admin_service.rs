//! The `Admin` gRPC service: what the CLI and remote admin tools call.
//!
//! Handlers are thin: turn the request into one replicated `Command` (or a
//! read), hand it to the [`Member`], and map the answer to a gRPC status in
//! one place ([`status_of`]). Secret values are sealed with the collective
//! data key here, before the command is proposed: encryption uses a random
//! nonce, so it cannot happen in the deterministic state machine, and the
//! clear text never enters the Raft log.

use std::sync::Arc;

use cohort_api::catalog::{self, Sensitivity};
use cohort_api::glob::{glob_match, is_glob};
use cohort_api::inventory::Assignment;
use cohort_proto::admin_server::Admin;
use cohort_proto::write_request::Action;
use cohort_proto::*;
use cohort_state::{ApplyError, Command, ErrorCode, Response as StateResponse, UserRole};
use tonic::{Request, Response, Status};

use super::member::{Member, ServeError};

/// Serves the `Admin` service of one member.
pub struct AdminService {
    pub(super) member: Arc<Member>,
    /// Served on the TCP listener: every call must carry a user token.
    remote: bool,
}

/// What a call needs from a remote caller's role (confluent's roles).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Access {
    /// Listings: monitor and up.
    Read,
    /// Attribute and inventory edits: operator and up.
    Write,
    /// Collective membership and users: only on the member itself, through
    /// its admin socket (as confluent allows only local root sessions).
    Local,
}

impl AdminService {
    /// For the local admin socket (callers already vetted by SO_PEERCRED).
    pub fn new(member: Arc<Member>) -> Self {
        AdminService {
            member,
            remote: false,
        }
    }

    /// For remote admins on the TLS listener.
    pub fn remote(member: Arc<Member>) -> Self {
        AdminService {
            member,
            remote: true,
        }
    }

    /// Refuses a remote call without a valid token or a sufficient role.
    fn allow<T>(&self, request: &Request<T>, access: Access) -> Result<(), Status> {
        if !self.remote {
            return Ok(());
        }
        if access == Access::Local {
            return Err(Status::permission_denied(
                "collective and user administration is only allowed on the member itself (its admin socket)",
            ));
        }
        let token = request
            .metadata()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or_else(|| {
                Status::unauthenticated(
                    "a user token is required (authorization: Bearer <token>; make one with `cohort user add`)",
                )
            })?;
        let hash = super::sha256(token.trim().as_bytes());
        let role = self
            .member
            .core()
            .state
            .read(|s| s.user_by_token_hash(&hash).map(|u| u.role))
            .ok_or_else(|| Status::unauthenticated("unknown or revoked user token"))?;
        let allowed = match role {
            UserRole::Admin | UserRole::Operator => true,
            UserRole::Monitor => access == Access::Read,
        };
        if allowed {
            Ok(())
        } else {
            Err(Status::permission_denied(format!(
                "role {role:?} may only read"
            )))
        }
    }

    /// Commits a command and maps the state's answer to the reply.
    pub(super) async fn commit(
        &self,
        id: Option<&WriteId>,
        command: Command,
    ) -> Result<WriteReply, Status> {
        let (client, seq) = write_id(id);
        match self.member.submit(client, seq, command).await {
            Ok(StateResponse::Done { warnings, changed }) => Ok(WriteReply { warnings, changed }),
            Ok(StateResponse::Refused(e)) => Err(status_of_refusal(&e)),
            Ok(StateResponse::Empty) => Ok(WriteReply::default()),
            // The proposer unpacks batches; one never reaches a caller.
            Ok(StateResponse::Batch(_)) => Err(Status::internal(
                "internal error: a batched answer reached a single write",
            )),
            Err(e) => Err(status_of(&e)),
        }
    }

    /// Seals secret values; refuses what must never be stored as typed.
    fn protect(&self, assignments: Vec<String>) -> Result<Vec<String>, Status> {
        assignments
            .into_iter()
            .map(|a| self.protect_one(a))
            .collect()
    }

    fn protect_one(&self, text: String) -> Result<String, Status> {
        let Ok(a) = Assignment::parse(&text) else {
            // The state machine names the bad assignment.
            return Ok(text);
        };
        let name = a.name();
        if is_glob(name) {
            if may_match_secret(name) {
                return Err(Status::invalid_argument(format!(
                    "{name}: a wildcard assignment could reach secret attributes; name each secret attribute"
                )));
            }
            return Ok(text);
        }
        let Ok(attr) = catalog::resolve(name) else {
            return Ok(text);
        };
        let value = a.value();
        match attr.spec.sensitivity {
            Sensitivity::Plain => Ok(text),
            _ if value.is_empty() => Ok(text),
            Sensitivity::Secret => {
                let sealed = self
                    .member
                    .collective()
                    .data_key
                    .seal(value)
                    .map_err(|e| Status::internal(e.to_string()))?;
                Ok(format!("{}={sealed}", attr.canonical))
            }
            // A hash made elsewhere ($6$, $5$, $y$) is kept as given.
            Sensitivity::Crypted if crate::crypt::is_hash(value) => Ok(text),
            Sensitivity::Crypted if value.starts_with('$') => {
                Err(Status::invalid_argument(format!(
                    "{}: {value:?} looks like a crypt hash but is not a $6$, $5$ or $y$ one; \
                 give the clear text to have it hashed, or a hash from `openssl passwd -6`",
                    attr.canonical
                )))
            }
            Sensitivity::Crypted => {
                let hash = crate::crypt::hash_password(value).map_err(Status::internal)?;
                Ok(format!("{}={hash}", attr.canonical))
            }
        }
    }
}

/// `true` when a glob could name a secret or hashed attribute.
fn may_match_secret(glob: &str) -> bool {
    catalog::all()
        .iter()
        .filter(|s| s.sensitivity != Sensitivity::Plain)
        .map(|s| s.name.replace('*', "x"))
        .chain(["custom.nodesecret.x".to_owned()])
        .any(|name| glob_match(glob, &name))
}

fn write_id(id: Option<&WriteId>) -> (u128, u64) {
    match id {
        Some(WriteId { client, seq }) if client.len() == 16 => {
            let mut b = [0u8; 16];
            b.copy_from_slice(client);
            (u128::from_le_bytes(b), *seq)
        }
        // No usable id: a fresh one, so the write is applied (and not
        // deduplicated against anything).
        _ => (super::random_u128(), 1),
    }
}

/// The one mapping from collective-level failures to gRPC status.
pub fn status_of(e: &ServeError) -> Status {
    match e {
        // Not `unavailable`: clients retry that, and a caller must hear
        // about a lost quorum within seconds, not after a retry loop.
        ServeError::NoQuorum { .. } | ServeError::LeaderNoQuorum(_) => {
            Status::deadline_exceeded(e.to_string())
        }
        ServeError::Forward { .. } => Status::unavailable(e.to_string()),
        ServeError::Raft(_) => Status::internal(e.to_string()),
        ServeError::Removed { .. } => Status::failed_precondition(e.to_string()),
    }
}

fn status_of_refusal(e: &ApplyError) -> Status {
    let m = e.message.clone();
    match e.code {
        ErrorCode::InvalidArgument => Status::invalid_argument(m),
        ErrorCode::NotFound => Status::not_found(m),
        ErrorCode::AlreadyExists => Status::already_exists(m),
        ErrorCode::FailedPrecondition => Status::failed_precondition(m),
        ErrorCode::PermissionDenied => Status::permission_denied(m),
    }
}

fn target_command(action: Action, svc: &AdminService) -> Result<Command, Status> {
    if let Some(command) = super::admin_tree::tree_command(&action, &svc.member) {
        return command;
    }
    Ok(match action {
        Action::DefineNodes(a) => Command::DefineNodes {
            noderange: a.target,
            assignments: svc.protect(a.assignments)?,
        },
        Action::SetNodeAttributes(a) => Command::SetNodeAttributes {
            noderange: a.target,
            assignments: svc.protect(a.assignments)?,
        },
        Action::ClearNodeAttributes(c) => Command::ClearNodeAttributes {
            noderange: c.target,
            names: c.names,
        },
        Action::RemoveNodes(r) => Command::RemoveNodes {
            noderange: r.noderange,
        },
        Action::RenameNode(r) => Command::RenameNode {
            old: r.old,
            new: r.new,
        },
        Action::DefineGroup(a) => Command::DefineGroup {
            name: a.target,
            assignments: svc.protect(a.assignments)?,
        },
        Action::SetGroupAttributes(a) => Command::SetGroupAttributes {
            name: a.target,
            assignments: svc.protect(a.assignments)?,
        },
        Action::ClearGroupAttributes(c) => Command::ClearGroupAttributes {
            name: c.target,
            names: c.names,
        },
        Action::RemoveGroup(n) => Command::RemoveGroup { name: n.name },
        Action::RenameGroup(r) => Command::RenameGroup {
            old: r.old,
            new: r.new,
        },
        Action::ArmDeployment(a) => Command::ArmDeployment {
            noderange: a.noderange,
            profile: a.profile,
        },
        Action::DisarmDeployment(r) => Command::DisarmDeployment {
            noderange: r.noderange,
        },
        Action::TreePut(_) | Action::TreeRemove(_) => {
            return Err(Status::internal("tree actions are handled in admin_tree"));
        }
    })
}

type Stream<T> = std::pin::Pin<Box<dyn tokio_stream::Stream<Item = Result<T, Status>> + Send>>;

#[tonic::async_trait]
impl Admin for AdminService {
    async fn write(&self, request: Request<WriteRequest>) -> Result<Response<WriteReply>, Status> {
        self.allow(&request, Access::Write)?;
        let WriteRequest { id, action } = request.into_inner();
        let action =
            action.ok_or_else(|| Status::invalid_argument("write request names no action"))?;
        let command = target_command(action, self)?;
        Ok(Response::new(self.commit(id.as_ref(), command).await?))
    }

    type GetNodeAttributesStream = Stream<NodeAttributes>;

    async fn list_nodes(
        &self,
        r: Request<ListNodesRequest>,
    ) -> Result<Response<ListNodesReply>, Status> {
        self.allow(&r, Access::Read)?;
        self.list_nodes_impl(r.into_inner())
            .await
            .map(Response::new)
    }

    async fn get_node_attributes(
        &self,
        r: Request<GetNodeAttributesRequest>,
    ) -> Result<Response<Self::GetNodeAttributesStream>, Status> {
        self.allow(&r, Access::Read)?;
        let items = self.node_attributes_impl(r.into_inner()).await?;
        Ok(Response::new(Box::pin(tokio_stream::iter(
            items.into_iter().map(Ok),
        ))))
    }

    async fn list_groups(
        &self,
        r: Request<ListGroupsRequest>,
    ) -> Result<Response<ListGroupsReply>, Status> {
        self.allow(&r, Access::Read)?;
        self.list_groups_impl(r.into_inner())
            .await
            .map(Response::new)
    }

    async fn get_group_attributes(
        &self,
        r: Request<GetGroupAttributesRequest>,
    ) -> Result<Response<GroupAttributes>, Status> {
        self.allow(&r, Access::Read)?;
        self.group_attributes_impl(r.into_inner())
            .await
            .map(Response::new)
    }

    async fn show_collective(
        &self,
        r: Request<ShowCollectiveRequest>,
    ) -> Result<Response<CollectiveStatus>, Status> {
        self.allow(&r, Access::Read)?;
        self.show_collective_impl(r.into_inner())
            .await
            .map(Response::new)
    }

    async fn create_invite(
        &self,
        r: Request<CreateInviteRequest>,
    ) -> Result<Response<CreateInviteReply>, Status> {
        self.allow(&r, Access::Local)?;
        self.create_invite_impl(r.into_inner())
            .await
            .map(Response::new)
    }

    async fn join_collective(
        &self,
        r: Request<JoinCollectiveRequest>,
    ) -> Result<Response<JoinCollectiveReply>, Status> {
        self.allow(&r, Access::Local)?;
        super::join::join(&self.member, r.into_inner())
            .await
            .map(Response::new)
    }

    async fn remove_member(
        &self,
        r: Request<RemoveMemberRequest>,
    ) -> Result<Response<WriteReply>, Status> {
        self.allow(&r, Access::Local)?;
        let name = r.into_inner().name;
        Ok(Response::new(
            self.commit(None, Command::RemoveMember { name }).await?,
        ))
    }

    async fn add_user(&self, r: Request<AddUserRequest>) -> Result<Response<AddUserReply>, Status> {
        self.allow(&r, Access::Local)?;
        self.add_user_impl(r.into_inner()).await.map(Response::new)
    }

    // The synchronized tree (admin_tree.rs).
    async fn upload_blob(
        &self,
        r: Request<tonic::Streaming<BlobChunk>>,
    ) -> Result<Response<UploadBlobReply>, Status> {
        self.allow(&r, Access::Write)?;
        self.upload_blob_impl(r.into_inner())
            .await
            .map(Response::new)
    }

    async fn missing_blobs(
        &self,
        r: Request<MissingBlobsRequest>,
    ) -> Result<Response<MissingBlobsReply>, Status> {
        self.allow(&r, Access::Write)?;
        self.missing_blobs_impl(r.into_inner()).map(Response::new)
    }

    async fn tree_list(
        &self,
        r: Request<TreeListRequest>,
    ) -> Result<Response<TreeListReply>, Status> {
        self.allow(&r, Access::Read)?;
        self.tree_list_impl(r.into_inner()).await.map(Response::new)
    }

    async fn tree_status(
        &self,
        r: Request<TreeStatusRequest>,
    ) -> Result<Response<TreeStatusReply>, Status> {
        self.allow(&r, Access::Read)?;
        self.tree_status_impl().await.map(Response::new)
    }
}
