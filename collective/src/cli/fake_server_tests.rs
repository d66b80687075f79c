//! The CLI end to end against a fake member: a tonic `Admin` server on a
//! unix socket in a temp dir, backed by a plain `Inventory`. It implements
//! only what these tests drive (writes that define and set, node listings);
//! everything else is `UNIMPLEMENTED`. A test double, not product code.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};

use cohort_api::catalog;
use cohort_api::glob::{glob_match, is_glob};
use cohort_api::inventory::{Assignment, Inventory, InventoryError, Outcome};
use cohort_proto::admin_server::{Admin, AdminServer};
use cohort_proto::write_request::Action;
use cohort_proto::*;
use tokio::net::UnixListener;
use tokio_stream::wrappers::UnixListenerStream;
use tonic::{Request, Response, Status};

#[derive(Default)]
struct Fake {
    inventory: Mutex<Inventory>,
    /// Writes to refuse with UNAVAILABLE before serving (an election).
    unavailable_writes: AtomicU32,
    writes_seen: Mutex<Vec<WriteId>>,
}

fn refused(e: InventoryError) -> Status {
    Status::invalid_argument(e.to_string())
}

fn assignments(texts: &[String]) -> Result<Vec<Assignment>, Status> {
    texts
        .iter()
        .map(|t| Assignment::parse(t).map_err(refused))
        .collect()
}

impl Fake {
    fn apply(&self, action: Action) -> Result<Outcome, Status> {
        let mut inv = self.inventory.lock().unwrap();
        let outcome = match action {
            Action::DefineNodes(a) => {
                inv.define_nodes_range(&a.target, &assignments(&a.assignments)?)
            }
            Action::SetNodeAttributes(a) => {
                let set = inv.expand(&a.target).map_err(refused)?;
                inv.set_node_attributes(&set, &assignments(&a.assignments)?)
            }
            Action::ClearNodeAttributes(c) => {
                let set = inv.expand(&c.target).map_err(refused)?;
                inv.clear_node_attributes(&set, &c.names)
            }
            Action::DefineGroup(a) => inv.define_group(&a.target, &assignments(&a.assignments)?),
            _ => {
                return Err(Status::unimplemented(
                    "the fake member only defines and sets",
                ));
            }
        };
        outcome.map_err(refused)
    }
}

fn wanted(asked: &[String], name: &str) -> bool {
    asked.is_empty()
        || asked.iter().any(|a| {
            if is_glob(a) {
                glob_match(a, name)
            } else {
                catalog::resolve(a).is_ok_and(|r| r.canonical == name)
            }
        })
}

#[tonic::async_trait]
impl Admin for Fake {
    async fn write(&self, r: Request<WriteRequest>) -> Result<Response<WriteReply>, Status> {
        let r = r.into_inner();
        self.writes_seen.lock().unwrap().extend(r.id.clone());
        if self.unavailable_writes.load(Ordering::SeqCst) > 0 {
            self.unavailable_writes.fetch_sub(1, Ordering::SeqCst);
            return Err(Status::unavailable("no leader yet"));
        }
        let action = r
            .action
            .ok_or_else(|| Status::invalid_argument("no action"))?;
        let outcome = self.apply(action)?;
        Ok(Response::new(WriteReply {
            warnings: outcome.warnings,
            changed: outcome.changed as u64,
        }))
    }

    async fn list_nodes(
        &self,
        r: Request<ListNodesRequest>,
    ) -> Result<Response<ListNodesReply>, Status> {
        let inv = self.inventory.lock().unwrap();
        let r = r.into_inner();
        let nodes = if r.noderange.is_empty() {
            inv.node_names().map(str::to_owned).collect()
        } else {
            inv.expand_names(&r.noderange).map_err(refused)?
        };
        Ok(Response::new(ListNodesReply { nodes }))
    }

    type GetNodeAttributesStream =
        tokio_stream::Iter<std::vec::IntoIter<Result<NodeAttributes, Status>>>;

    async fn get_node_attributes(
        &self,
        r: Request<GetNodeAttributesRequest>,
    ) -> Result<Response<Self::GetNodeAttributesStream>, Status> {
        let r = r.into_inner();
        for name in r.attributes.iter().filter(|n| !is_glob(n)) {
            catalog::resolve(name).map_err(|e| Status::invalid_argument(e.to_string()))?;
        }
        let inv = self.inventory.lock().unwrap();
        let mut replies = Vec::new();
        // Reverse order on purpose: the CLI must sort naturally itself.
        for node in inv
            .expand_names(&r.noderange)
            .map_err(refused)?
            .into_iter()
            .rev()
        {
            let values = inv.node_values(&node).unwrap_or_default();
            let attributes = values
                .iter()
                .filter(|v| wanted(&r.attributes, v.name))
                .map(|v| {
                    let secret = catalog::is_secret_name(v.name);
                    AttributeValue {
                        name: v.name.to_owned(),
                        value: if secret {
                            String::new()
                        } else {
                            v.value.to_owned()
                        },
                        is_secret: secret,
                        broken: v.broken.unwrap_or_default().to_owned(),
                        inherited_from: v.inherited_from.unwrap_or_default().to_owned(),
                        expression: v.expression.unwrap_or_default().to_owned(),
                    }
                })
                .collect();
            replies.push(Ok(NodeAttributes { node, attributes }));
        }
        Ok(Response::new(tokio_stream::iter(replies)))
    }

    async fn list_groups(
        &self,
        _: Request<ListGroupsRequest>,
    ) -> Result<Response<ListGroupsReply>, Status> {
        Err(Status::unimplemented("ListGroups"))
    }

    async fn get_group_attributes(
        &self,
        _: Request<GetGroupAttributesRequest>,
    ) -> Result<Response<GroupAttributes>, Status> {
        Err(Status::unimplemented("GetGroupAttributes"))
    }

    async fn show_collective(
        &self,
        _: Request<ShowCollectiveRequest>,
    ) -> Result<Response<CollectiveStatus>, Status> {
        Err(Status::unimplemented("ShowCollective"))
    }

    async fn create_invite(
        &self,
        _: Request<CreateInviteRequest>,
    ) -> Result<Response<CreateInviteReply>, Status> {
        Err(Status::unimplemented("CreateInvite"))
    }

    async fn join_collective(
        &self,
        _: Request<JoinCollectiveRequest>,
    ) -> Result<Response<JoinCollectiveReply>, Status> {
        Err(Status::unimplemented("JoinCollective"))
    }

    async fn remove_member(
        &self,
        _: Request<RemoveMemberRequest>,
    ) -> Result<Response<WriteReply>, Status> {
        Err(Status::unimplemented("RemoveMember"))
    }

    async fn add_user(&self, _: Request<AddUserRequest>) -> Result<Response<AddUserReply>, Status> {
        Err(Status::unimplemented("AddUser"))
    }

    // The synchronized tree is tested against real members (t110).
    async fn upload_blob(
        &self,
        _: Request<tonic::Streaming<BlobChunk>>,
    ) -> Result<Response<UploadBlobReply>, Status> {
        Err(Status::unimplemented("not faked"))
    }

    async fn missing_blobs(
        &self,
        _: Request<MissingBlobsRequest>,
    ) -> Result<Response<MissingBlobsReply>, Status> {
        Err(Status::unimplemented("not faked"))
    }

    async fn tree_list(
        &self,
        _: Request<TreeListRequest>,
    ) -> Result<Response<TreeListReply>, Status> {
        Err(Status::unimplemented("not faked"))
    }

    async fn tree_status(
        &self,
        _: Request<TreeStatusRequest>,
    ) -> Result<Response<TreeStatusReply>, Status> {
        Err(Status::unimplemented("not faked"))
    }
}

/// A running fake member; the temp dir (and socket) lives as long as this.
struct Member {
    _dir: tempfile::TempDir,
    socket: PathBuf,
    fake: std::sync::Arc<Fake>,
}

async fn start() -> Member {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("cohort.sock");
    let listener = UnixListener::bind(&socket).unwrap();
    let fake = std::sync::Arc::new(Fake::default());
    let service = AdminServer::from_arc(fake.clone());
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(service)
            .serve_with_incoming(UnixListenerStream::new(listener)),
    );
    Member {
        _dir: dir,
        socket,
        fake,
    }
}

/// What one CLI invocation printed.
#[derive(Debug)]
struct Output {
    code: u8,
    stdout: String,
    stderr: String,
}

/// Runs `cohort --socket SOCKET ARGS...` in process.
async fn cohort(socket: &Path, args: &[&str]) -> Output {
    let mut argv: Vec<OsString> = vec!["cohort".into(), "--socket".into(), socket.into()];
    argv.extend(args.iter().map(OsString::from));
    let cli = super::args::parse(argv).unwrap();
    let mut out = Vec::new();
    let mut err = Vec::new();
    let code = super::execute(cli, &mut out, &mut err).await;
    Output {
        code,
        stdout: String::from_utf8(out).unwrap(),
        stderr: String::from_utf8(err).unwrap(),
    }
}

/// Runs a command that must succeed silently on stderr; returns stdout.
async fn ok(m: &Member, args: &[&str]) -> String {
    let o = cohort(&m.socket, args).await;
    assert_eq!((o.code, o.stderr.as_str()), (0, ""), "{args:?}: {o:?}");
    o.stdout
}

async fn populated() -> Member {
    let m = start().await;
    ok(&m, &["nodegroupdefine", "compute", "location.room=A"]).await;
    ok(
        &m,
        &[
            "nodegroupdefine",
            "rack1",
            "location.rack=1",
            "location.u={n1}",
        ],
    )
    .await;
    let defined = ok(&m, &["nodedefine", "n[1-3]", "groups=compute,rack1"]).await;
    assert_eq!(defined, "");
    m
}

#[tokio::test]
async fn nodeattrib_shows_every_attribute_in_order() {
    let m = populated().await;
    let shown = ok(&m, &["nodeattrib", "n1,n3"]).await;
    assert_eq!(
        shown,
        "n1: groups: compute,rack1,everything\n\
         n1: location.rack: 1\n\
         n1: location.room: A\n\
         n1: location.u: 1\n\
         n3: groups: compute,rack1,everything\n\
         n3: location.rack: 1\n\
         n3: location.room: A\n\
         n3: location.u: 3\n"
    );
}

#[tokio::test]
async fn nodeattrib_sets_and_blames() {
    let m = populated().await;
    ok(
        &m,
        &[
            "nodeattrib",
            "n2",
            "location.rack=7",
            "secret.hardwaremanagementpassword=pw",
        ],
    )
    .await;
    let blamed = ok(
        &m,
        &["nodeattrib", "compute", "-b", "location.*", "secret.*"],
    )
    .await;
    assert_eq!(
        blamed,
        "n1: location.rack: 1 (inherited from group rack1)\n\
         n1: location.room: A (inherited from group compute)\n\
         n1: location.u: 1 (inherited from group rack1, derived from expression \"{n1}\")\n\
         n2: location.rack: 7\n\
         n2: location.room: A (inherited from group compute)\n\
         n2: location.u: 2 (inherited from group rack1, derived from expression \"{n1}\")\n\
         n2: secret.hardwaremanagementpassword: ********\n\
         n3: location.rack: 1 (inherited from group rack1)\n\
         n3: location.room: A (inherited from group compute)\n\
         n3: location.u: 3 (inherited from group rack1, derived from expression \"{n1}\")\n"
    );
    let json = ok(
        &m,
        &[
            "nodeattrib",
            "n2",
            "secret.hardwaremanagementpassword",
            "--json",
        ],
    )
    .await;
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"n2": {"secret.hardwaremanagementpassword": "********"}})
    );
}

#[tokio::test]
async fn nodeattrib_clears_and_shows_asked_names_even_when_unset() {
    let m = populated().await;
    ok(&m, &["nodeattrib", "n1", "location.rack=9"]).await;
    let o = cohort(&m.socket, &["nodeattrib", "n1", "-c", "location.rack"]).await;
    assert_eq!(o.code, 0);
    assert_eq!(
        o.stderr,
        "Warning: location.rack on n1 is now inherited from group rack1; set location.rack= to blank it\n"
    );
    let shown = ok(&m, &["nodeattrib", "n1", "location.rack", "info.note"]).await;
    assert_eq!(shown, "n1: info.note: \nn1: location.rack: 1\n");
}

#[tokio::test]
async fn broken_expressions_show_their_error() {
    let m = populated().await;
    ok(&m, &["nodeattrib", "n1", "info.note={n2}"]).await;
    let shown = ok(&m, &["nodeattrib", "n1", "info.note"]).await;
    assert!(
        shown.starts_with("n1: info.note: *ERROR* BROKEN EXPRESSION: "),
        "{shown}"
    );
}

#[tokio::test]
async fn nodelist_lists_names_naturally() {
    let m = populated().await;
    ok(&m, &["nodedefine", "n10"]).await;
    assert_eq!(ok(&m, &["nodelist"]).await, "n1\nn2\nn3\nn10\n");
    assert_eq!(ok(&m, &["nodelist", "--", "rack1"]).await, "n1\nn2\nn3\n");
    let json: serde_json::Value =
        serde_json::from_str(&ok(&m, &["nodelist", "--json", "compute"]).await).unwrap();
    assert_eq!(json, serde_json::json!(["n1", "n2", "n3"]));
    // With attribute names nodelist shows them, in natural node order.
    assert_eq!(
        ok(&m, &["nodelist", "n[1-3],n10", "location.u"]).await,
        "n1: location.u: 1\nn2: location.u: 2\nn3: location.u: 3\nn10: location.u: \n"
    );
}

#[tokio::test]
async fn refusals_print_the_member_message_and_exit_1() {
    let m = populated().await;
    let o = cohort(&m.socket, &["nodeattrib", "n1", "location.rak=7"]).await;
    assert_eq!(o.code, 1);
    assert_eq!(o.stdout, "");
    assert!(
        o.stderr
            .starts_with("Error: unknown attribute \"location.rak\""),
        "{}",
        o.stderr
    );
    assert_eq!(o.stderr.lines().count(), 1, "{}", o.stderr);

    let o = cohort(&m.socket, &["nodedefine", "n1"]).await;
    assert_eq!(o.code, 1);
    assert!(o.stderr.contains("\"n1\" already exists"), "{}", o.stderr);

    let o = cohort(&m.socket, &["collective", "show"]).await;
    assert_eq!(o.code, 1);
    assert!(o.stderr.contains("does not support"), "{}", o.stderr);
}

#[tokio::test]
async fn argument_mistakes_are_reported_before_connecting() {
    let nowhere = Path::new("/nonexistent/cohort.sock");
    let o = cohort(
        nowhere,
        &["nodeattrib", "n1", "location.rack=7", "location.room"],
    )
    .await;
    assert_eq!(o.code, 1);
    assert!(
        o.stderr.contains("\"location.room\" is not an assignment"),
        "{}",
        o.stderr
    );
    let o = cohort(nowhere, &["collective", "invite", "m2", "--ttl", "soon"]).await;
    assert!(o.stderr.contains("invalid --ttl \"soon\""), "{}", o.stderr);
}

#[tokio::test]
async fn a_missing_socket_says_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("cohort.sock");
    let o = cohort(&socket, &["nodelist"]).await;
    assert_eq!(o.code, 1);
    assert_eq!(
        o.stderr,
        format!(
            "Error: cannot reach the cohort member at {}: No such file or directory; is `cohort serve` \
             running? (use --socket or COHORT_SOCKET to point elsewhere)\n",
            socket.display()
        )
    );
}

#[tokio::test]
async fn writes_are_retried_through_an_election_with_one_id() {
    let m = start().await;
    m.fake.unavailable_writes.store(2, Ordering::SeqCst);
    ok(&m, &["nodedefine", "n1"]).await;
    assert_eq!(ok(&m, &["nodelist"]).await, "n1\n");
    let seen = m.fake.writes_seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 3);
    assert!(seen.iter().all(|id| *id == seen[0]), "{seen:?}");
    assert_eq!((seen[0].client.len(), seen[0].seq), (16, 1));
    // A second invocation is a new client.
    ok(&m, &["nodedefine", "n2"]).await;
    let seen = m.fake.writes_seen.lock().unwrap().clone();
    assert_ne!(seen[3].client, seen[0].client);
}
