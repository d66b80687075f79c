//! The node self-service API (DESIGN.md section 9, docs/design/0006):
//! what a node being deployed asks any member under `/api/self/`.
//!
//! Shape: the HTTPS server hands every `/api/self/...` request to
//! [`NodeApiService`] through the `https::NodeApi` trait; [`route`] parses
//! the method and path into a [`Route`], authenticates the node when the
//! route needs it, and calls one small function per route; every failure
//! is an [`ApiRefusal`], mapped to a status and an `ApiError` body in one
//! place and logged with the source address. Answers are YAML unless the
//! request's `Accept` names JSON. What a node may read is only ever its
//! own: authentication yields the node name and every answer is built
//! from that name alone.
//!
//! Writes (key registration, status) are replicated commands checked by
//! the state machine in the same step that changes anything
//! (`Command::RegisterNodeKey`, `Command::NodeDeployStatus`), so two
//! members answering the same node at once cannot both accept a
//! registration armed `once`.

mod answers;
mod auth;
mod ids;

use std::net::SocketAddr;
use std::sync::Arc;

use cohort_api::nodeapi::{
    ApiError, IDS_HEADER, NODE_HEADER, SshCertRequest, StatusUpdate, WhoAmI,
};
use cohort_state::{Command, ErrorCode, NodeStatus, Response as StateResponse};
use hyper::header::{ACCEPT, CONTENT_LENGTH, CONTENT_TYPE, HeaderValue};
use hyper::{HeaderMap, Method, Response, StatusCode};
use serde::Serialize;
use tracing::{debug, warn};

use crate::https::{ApiFuture, ApiRequest, Body, NodeApi};
use crate::server::member::{Member, ServeError};

/// Serves `/api/self/...` for one member.
pub struct NodeApiService {
    member: Arc<Member>,
    keys: auth::KeyCache,
    host: answers::HostDefaults,
    /// MAC and UUID → node, for `whoami`.
    ids: ids::IdIndex,
}

impl NodeApiService {
    pub fn new(member: Arc<Member>) -> NodeApiService {
        NodeApiService {
            member,
            keys: auth::KeyCache::default(),
            host: answers::HostDefaults::read(),
            ids: ids::IdIndex::default(),
        }
    }
}

impl NodeApi for NodeApiService {
    fn handle(&self, request: ApiRequest) -> ApiFuture<'_> {
        Box::pin(self.answer(request))
    }
}

/// Why a request gets no answer; each maps to one status and code.
#[derive(Debug)]
pub enum ApiRefusal {
    BadRequest(String),
    /// No key, or the wrong one.
    Unauthorized(String),
    /// Not armed, or another node's data.
    Forbidden(String),
    NotFound(String),
    Method,
    /// The deployment is not in a state that allows this.
    Conflict(String),
    /// No quorum or no leader right now: retry, perhaps elsewhere.
    Unavailable(String),
    Internal(String),
}

impl ApiRefusal {
    fn parts(&self) -> (StatusCode, &'static str, &str) {
        match self {
            ApiRefusal::BadRequest(m) => (StatusCode::BAD_REQUEST, "bad-request", m),
            ApiRefusal::Unauthorized(m) => (StatusCode::UNAUTHORIZED, "unauthorized", m),
            ApiRefusal::Forbidden(m) => (StatusCode::FORBIDDEN, "forbidden", m),
            ApiRefusal::NotFound(m) => (StatusCode::NOT_FOUND, "not-found", m),
            ApiRefusal::Method => (
                StatusCode::METHOD_NOT_ALLOWED,
                "method-not-allowed",
                "this route does not take that method",
            ),
            ApiRefusal::Conflict(m) => (StatusCode::CONFLICT, "conflict", m),
            ApiRefusal::Unavailable(m) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable", m),
            ApiRefusal::Internal(m) => (StatusCode::INTERNAL_SERVER_ERROR, "internal", m),
        }
    }
}

/// What a route answers.
enum Reply {
    /// Serialized in the negotiated format.
    Data(String),
    /// A file, as it is.
    Bytes(Vec<u8>),
    /// Accepted, nothing to say.
    Empty,
}

/// The routes, parsed.
enum Route<'a> {
    WhoAmI,
    RegisterKey,
    DeployCfg,
    MyAttribs,
    NodeList,
    SshCert,
    UpdateStatus,
    ScriptList(&'a str),
    Private(&'a str),
}

fn parse_route<'a>(method: &Method, path: &'a str) -> Result<Route<'a>, ApiRefusal> {
    let (get, post) = (method == Method::GET, method == Method::POST);
    let route = match path {
        "whoami" if get => Route::WhoAmI,
        "registerapikey" if post => Route::RegisterKey,
        "deploycfg" if get => Route::DeployCfg,
        "myattribs" if get => Route::MyAttribs,
        "nodelist" if get => Route::NodeList,
        "sshcert" if post => Route::SshCert,
        "updatestatus" if post => Route::UpdateStatus,
        "whoami" | "registerapikey" | "deploycfg" | "myattribs" | "nodelist" | "sshcert"
        | "updatestatus" => return Err(ApiRefusal::Method),
        _ => match path.split_once('/') {
            Some(("scriptlist", phase)) if get => Route::ScriptList(phase),
            Some(("private", file)) if get => Route::Private(file),
            Some(("scriptlist" | "private", _)) => return Err(ApiRefusal::Method),
            _ => {
                return Err(ApiRefusal::NotFound(format!(
                    "no node API route {path:?} (see docs/design/0006-node-api.md)"
                )));
            }
        },
    };
    Ok(route)
}

impl NodeApiService {
    async fn answer(&self, request: ApiRequest) -> Response<Body> {
        let json = wants_json(&request.headers);
        let source = request.client.as_ref().map(|c| c.addr);
        let result = self.route(&request, json, source).await;
        match result {
            Ok(reply) => {
                debug!(route = %request.route, source = ?source, "node API answered");
                respond(StatusCode::OK, reply, json)
            }
            Err(refusal) => {
                let (status, code, message) = refusal.parts();
                let node = header(&request.headers, NODE_HEADER).unwrap_or("-");
                warn!(
                    source = %source.map_or_else(|| "?".to_owned(), |a| a.to_string()),
                    node, route = %request.route, status = status.as_u16(), code, message,
                    "node API refused a request"
                );
                let body = ApiError {
                    code: code.to_owned(),
                    message: message.to_owned(),
                };
                let reply = serialize(&body, json).unwrap_or(Reply::Empty);
                respond(status, reply, json)
            }
        }
    }

    async fn route(
        &self,
        request: &ApiRequest,
        json: bool,
        source: Option<SocketAddr>,
    ) -> Result<Reply, ApiRefusal> {
        let route = parse_route(&request.method, &request.route)?;
        let headers = &request.headers;
        match route {
            Route::WhoAmI => {
                let ids = header(headers, IDS_HEADER).ok_or_else(|| {
                    ApiRefusal::BadRequest(format!(
                        "send header {IDS_HEADER}: mac=aa:bb:cc:dd:ee:ff/uuid=..."
                    ))
                })?;
                let node = self.whoami(ids)?;
                return serialize(&WhoAmI { node }, json);
            }
            Route::RegisterKey => return self.register(request).await,
            _ => {}
        }
        let node = self.authenticate(headers).await?;
        refuse_other_node(&node, request.query.as_deref())?;
        match route {
            Route::DeployCfg => serialize(&self.deploy_config(&node)?, json),
            Route::MyAttribs => serialize(&self.my_attributes(&node)?, json),
            Route::NodeList => serialize(&self.node_list(&node)?, json),
            Route::SshCert => {
                let req: SshCertRequest = parse_body(request)?;
                serialize(&self.sign_host_key(&node, &req.pubkey)?, json)
            }
            Route::UpdateStatus => {
                let update: StatusUpdate = parse_body(request)?;
                self.update_status(&node, update, source).await
            }
            Route::ScriptList(phase) => serialize(&self.script_list(&node, phase)?, json),
            Route::Private(file) => Ok(Reply::Bytes(self.private_file(&node, file).await?)),
            Route::WhoAmI | Route::RegisterKey => Err(ApiRefusal::Method),
        }
    }

    async fn register(&self, request: &ApiRequest) -> Result<Reply, ApiRefusal> {
        let node = header(&request.headers, NODE_HEADER).ok_or_else(|| {
            ApiRefusal::BadRequest(format!("send header {NODE_HEADER}: NODENAME"))
        })?;
        let body = body_text(request)?;
        let command = Command::RegisterNodeKey {
            node: node.to_owned(),
            crypted_key: body.trim().to_owned(),
        };
        self.commit(command).await?;
        Ok(Reply::Empty)
    }

    async fn update_status(
        &self,
        node: &str,
        update: StatusUpdate,
        source: Option<SocketAddr>,
    ) -> Result<Reply, ApiRefusal> {
        use cohort_api::nodeapi::DeployStatus;
        let command = Command::NodeDeployStatus {
            node: node.to_owned(),
            status: update.status.map(|s| match s {
                DeployStatus::Staged => NodeStatus::Staged,
                DeployStatus::Completed => NodeStatus::Completed,
            }),
            state: update.state,
            detail: update.state_detail,
            client_ip: source.map(|a| a.ip().to_string()).unwrap_or_default(),
        };
        self.commit(command).await?;
        Ok(Reply::Empty)
    }

    /// Replicates a command; the state's refusal becomes the node's answer.
    async fn commit(&self, command: Command) -> Result<(), ApiRefusal> {
        let client = crate::server::random_u128();
        match self.member.submit(client, 1, command).await {
            Ok(StateResponse::Refused(e)) => Err(match e.code {
                ErrorCode::PermissionDenied => ApiRefusal::Forbidden(e.message),
                ErrorCode::NotFound => ApiRefusal::NotFound(e.message),
                ErrorCode::FailedPrecondition => ApiRefusal::Conflict(e.message),
                ErrorCode::InvalidArgument | ErrorCode::AlreadyExists => {
                    ApiRefusal::BadRequest(e.message)
                }
            }),
            Ok(_) => Ok(()),
            Err(e @ (ServeError::NoQuorum { .. } | ServeError::LeaderNoQuorum(_))) => {
                Err(ApiRefusal::Unavailable(e.to_string()))
            }
            // Another member will answer: the node moves on.
            Err(e @ (ServeError::Forward { .. } | ServeError::Removed { .. })) => {
                Err(ApiRefusal::Unavailable(e.to_string()))
            }
            Err(e) => Err(ApiRefusal::Internal(e.to_string())),
        }
    }
}

/// A `node=` query parameter naming another node is refused: a node reads
/// only its own data.
fn refuse_other_node(node: &str, query: Option<&str>) -> Result<(), ApiRefusal> {
    let asked = query
        .into_iter()
        .flat_map(|q| q.split('&'))
        .filter_map(|kv| kv.strip_prefix("node="));
    for other in asked {
        if other != node {
            return Err(ApiRefusal::Forbidden(format!(
                "node {node} may read only its own data, not {other:?}'s"
            )));
        }
    }
    Ok(())
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

fn wants_json(headers: &HeaderMap) -> bool {
    header(headers, ACCEPT.as_str()).is_some_and(|a| a.contains("application/json"))
}

fn body_text(request: &ApiRequest) -> Result<&str, ApiRefusal> {
    let body = request
        .client
        .as_ref()
        .and_then(|c| c.body.as_deref())
        .ok_or_else(|| ApiRefusal::BadRequest("request body missing or over 64 KiB".to_owned()))?;
    std::str::from_utf8(body)
        .map_err(|_| ApiRefusal::BadRequest("the request body is not UTF-8".to_owned()))
}

/// A JSON or YAML body (JSON is YAML, but its errors read better).
fn parse_body<T: serde::de::DeserializeOwned>(request: &ApiRequest) -> Result<T, ApiRefusal> {
    let text = body_text(request)?;
    serde_json::from_str(text)
        .or_else(|_| serde_saphyr::from_str(text))
        .map_err(|e| ApiRefusal::BadRequest(format!("cannot read the request body: {e}")))
}

fn serialize<T: Serialize>(value: &T, json: bool) -> Result<Reply, ApiRefusal> {
    let text = if json {
        serde_json::to_string_pretty(value)
            .map(|t| t + "\n")
            .map_err(|e| e.to_string())
    } else {
        serde_saphyr::to_string(value).map_err(|e| e.to_string())
    };
    text.map(Reply::Data)
        .map_err(|e| ApiRefusal::Internal(format!("cannot encode the answer: {e}")))
}

fn respond(status: StatusCode, reply: Reply, json: bool) -> Response<Body> {
    let (bytes, kind) = match reply {
        Reply::Data(text) => (
            text.into_bytes(),
            if json {
                "application/json"
            } else {
                "application/yaml"
            },
        ),
        Reply::Bytes(b) => (b, "application/octet-stream"),
        Reply::Empty => (Vec::new(), "text/plain"),
    };
    let len = bytes.len();
    let mut response = Response::new(Body::bytes(bytes));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(kind));
    headers.insert(CONTENT_LENGTH, HeaderValue::from(len));
    response
}
