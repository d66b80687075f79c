//! Admin reads and collective operations: listings (linearizable unless
//! `local`), `collective show`, invites and users.

use cohort_api::catalog::{self, Sensitivity};
use cohort_api::glob::{glob_match, is_glob};
use cohort_api::inventory::{Inventory, Value};
use cohort_proto::*;
use cohort_state::{Command, MemberRole, State, UserRole};
use tonic::Status;

use super::admin_service::{AdminService, status_of};
use super::member::now_ms;
use crate::identity::InviteToken;

/// Longest invite lifetime accepted.
const MAX_INVITE_TTL_S: u64 = 30 * 24 * 3600;

impl AdminService {
    /// Runs `f` on the state, after a linearizable barrier unless `local`.
    async fn read<T>(
        &self,
        opts: Option<&ReadOptions>,
        f: impl FnOnce(&State) -> T,
    ) -> Result<T, Status> {
        if opts.is_some_and(|o| o.local) {
            return Ok(self.member.core().state.read(f));
        }
        self.member
            .read_linearizable(f)
            .await
            .map_err(|e| status_of(&e))
    }

    pub(super) async fn list_nodes_impl(
        &self,
        r: ListNodesRequest,
    ) -> Result<ListNodesReply, Status> {
        let range = if r.noderange.trim().is_empty() {
            "everything".to_owned()
        } else {
            r.noderange
        };
        let nodes = self
            .read(r.read.as_ref(), |s| s.inventory().expand_names(&range))
            .await?
            .map_err(|e| Status::invalid_argument(e.to_string()))?;
        Ok(ListNodesReply { nodes })
    }

    pub(super) async fn node_attributes_impl(
        &self,
        r: GetNodeAttributesRequest,
    ) -> Result<Vec<NodeAttributes>, Status> {
        let wanted = Wanted::new(&r.attributes)?;
        self.read(r.read.as_ref(), |s| {
            let inv = s.inventory();
            let names = inv.expand_names(&r.noderange)?;
            Ok(names
                .into_iter()
                .map(|node| NodeAttributes {
                    attributes: wanted.pick(inv.node_values(&node).unwrap_or_default()),
                    node,
                })
                .collect())
        })
        .await?
        .map_err(|e: cohort_api::inventory::InventoryError| Status::invalid_argument(e.to_string()))
    }

    pub(super) async fn list_groups_impl(
        &self,
        r: ListGroupsRequest,
    ) -> Result<ListGroupsReply, Status> {
        let groups = self
            .read(r.read.as_ref(), |s| {
                s.inventory()
                    .group_names_sorted()
                    .into_iter()
                    .map(str::to_owned)
                    .collect()
            })
            .await?;
        Ok(ListGroupsReply { groups })
    }

    pub(super) async fn group_attributes_impl(
        &self,
        r: GetGroupAttributesRequest,
    ) -> Result<GroupAttributes, Status> {
        let wanted = Wanted::new(&r.attributes)?;
        self.read(r.read.as_ref(), |s| {
            group_attributes(s.inventory(), &r.group, &wanted)
        })
        .await?
    }

    pub(super) async fn show_collective_impl(
        &self,
        r: ShowCollectiveRequest,
    ) -> Result<CollectiveStatus, Status> {
        let members = self.read(r.read.as_ref(), |s| s.members().clone()).await?;
        super::status::collective_status(&self.member, members).await
    }

    pub(super) async fn create_invite_impl(
        &self,
        r: CreateInviteRequest,
    ) -> Result<CreateInviteReply, Status> {
        cohort_api::names::validate_name(cohort_api::names::NameKind::Node, &r.name)
            .map_err(|e| Status::invalid_argument(format!("member {e}")))?;
        if r.ttl_seconds == 0 || r.ttl_seconds > MAX_INVITE_TTL_S {
            return Err(Status::invalid_argument(format!(
                "invite lifetime must be between 1 second and 30 days, not {} s",
                r.ttl_seconds
            )));
        }
        let m = &self.member;
        let expires_ms = now_ms().saturating_add(r.ttl_seconds.saturating_mul(1000));
        let token = InviteToken::new(
            m.collective().id,
            m.config.advertise.clone(),
            m.identity.ca_fingerprint(),
            &r.name,
            r.nonvoting,
            expires_ms,
        )
        .map_err(|e| Status::internal(e.to_string()))?;
        let role = if r.nonvoting {
            MemberRole::NonVoter
        } else {
            MemberRole::Voter
        };
        let command = Command::CreateInvite {
            name: r.name,
            role,
            secret_sha256: token.secret_sha256(),
            expires_ms,
        };
        self.commit(None, command).await?;
        Ok(CreateInviteReply {
            token: token.encode(),
            expires_unix_ms: expires_ms,
        })
    }

    pub(super) async fn add_user_impl(&self, r: AddUserRequest) -> Result<AddUserReply, Status> {
        let role = match r.role.as_str() {
            "" | "admin" => UserRole::Admin,
            "operator" => UserRole::Operator,
            "monitor" => UserRole::Monitor,
            other => {
                return Err(Status::invalid_argument(format!(
                    "unknown role {other:?}: use admin, operator or monitor"
                )));
            }
        };
        let secret = super::random_bytes::<32>();
        // The prefix keeps the token from starting with '-' (base64url
        // can), which a shell command line would read as a flag: `cohort
        // --token -Dx...` failed that way now and then. It also makes a
        // leaked token recognisable in logs and paste bins.
        let token = format!(
            "cohort-user_{}",
            base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, secret)
        );
        let token_sha256 = super::sha256(token.as_bytes());
        let command = Command::PutUser {
            name: r.name,
            role,
            token_sha256,
        };
        self.commit(None, command).await?;
        Ok(AddUserReply { token })
    }
}

/// Which attributes a listing asked for: exact names (aliases resolved),
/// globs, or everything.
struct Wanted {
    exact: Vec<String>,
    globs: Vec<String>,
}

impl Wanted {
    fn new(asked: &[String]) -> Result<Wanted, Status> {
        let mut w = Wanted {
            exact: Vec::new(),
            globs: Vec::new(),
        };
        for name in asked {
            if is_glob(name) {
                w.globs.push(name.clone());
            } else if name == "groups" {
                w.exact.push(name.clone());
            } else {
                let attr =
                    catalog::resolve(name).map_err(|e| Status::invalid_argument(e.to_string()))?;
                w.exact.push(attr.canonical);
            }
        }
        Ok(w)
    }

    fn all(&self) -> bool {
        self.exact.is_empty() && self.globs.is_empty()
    }

    /// `true` when an attribute of this name was asked for.
    fn matches(&self, name: &str) -> bool {
        self.all()
            || self.exact.iter().any(|e| e == name)
            || self.globs.iter().any(|g| glob_match(g, name))
    }

    /// The wanted values; an asked-for exact name a node lacks shows empty.
    fn pick(&self, values: Vec<Value<'_>>) -> Vec<AttributeValue> {
        let mut out: Vec<AttributeValue> = values
            .iter()
            .filter(|v| self.matches(v.name))
            .map(attribute_value)
            .collect();
        for name in &self.exact {
            if !out.iter().any(|a| &a.name == name) {
                out.push(AttributeValue {
                    name: name.clone(),
                    ..Default::default()
                });
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out
    }
}

fn is_secret(name: &str) -> bool {
    catalog::resolve(name).is_ok_and(|a| a.spec.sensitivity != Sensitivity::Plain)
}

fn attribute_value(v: &Value<'_>) -> AttributeValue {
    let secret = is_secret(v.name);
    AttributeValue {
        name: v.name.to_owned(),
        value: if secret {
            String::new()
        } else {
            v.value.to_owned()
        },
        is_secret: secret && (!v.value.is_empty() || v.broken.is_some()),
        broken: v.broken.unwrap_or_default().to_owned(),
        inherited_from: v.inherited_from.unwrap_or_default().to_owned(),
        expression: v.expression.unwrap_or_default().to_owned(),
    }
}

fn group_attributes(
    inv: &Inventory,
    group: &str,
    wanted: &Wanted,
) -> Result<GroupAttributes, Status> {
    let values = inv
        .group_values(group)
        .ok_or_else(|| Status::not_found(format!("group {group} does not exist")))?;
    let members = inv
        .group_members(group)
        .map_err(|e| Status::invalid_argument(e.to_string()))?;
    let attributes = values
        .into_iter()
        .filter(|v| wanted.matches(v.name))
        .map(|v| {
            let secret = is_secret(v.name);
            AttributeValue {
                name: v.name.to_owned(),
                value: if secret {
                    String::new()
                } else {
                    v.value.to_owned()
                },
                is_secret: secret && !v.value.is_empty(),
                expression: if v.is_expression {
                    v.value.to_owned()
                } else {
                    String::new()
                },
                ..Default::default()
            }
        })
        .collect();
    Ok(GroupAttributes {
        group: group.to_owned(),
        attributes,
        members,
    })
}
