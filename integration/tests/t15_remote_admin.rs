//! Remote admins reach the admin API on the member's TLS port, with a user
//! token; without one, or beyond their role, they are refused. The same
//! through the `cohort` CLI's remote mode (`--server`, `--token`,
//! `--ca-bundle`), which verifies the member against the published bundle.

use cohort_integration::Cluster;
use cohort_integration::admin::{connect, define_nodes, write_id};
use cohort_integration::rogue::RogueIdentity;
use cohort_proto::admin_client::AdminClient;
use cohort_proto::{
    AddUserRequest, CreateInviteRequest, ListNodesRequest, ReadOptions, WriteRequest,
};
use tonic::Code;
use tonic::metadata::MetadataValue;

fn with_token<T>(msg: T, token: Option<&str>) -> tonic::Request<T> {
    let mut r = tonic::Request::new(msg);
    if let Some(t) = token {
        let value = MetadataValue::try_from(format!("Bearer {t}")).expect("ascii token");
        r.metadata_mut().insert("authorization", value);
    }
    r
}

fn list() -> ListNodesRequest {
    ListNodesRequest {
        read: Some(ReadOptions { local: false }),
        noderange: String::new(),
    }
}

fn define(seq: u64) -> WriteRequest {
    WriteRequest {
        id: write_id(7, seq),
        action: Some(define_nodes(&format!("r{seq}"), &[])),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t15_remote_admin_needs_a_token_and_a_role() -> anyhow::Result<()> {
    let cluster = Cluster::form("t15", 1, 0).await?;
    let m1 = &cluster.members[0];
    eprintln!("--- users made through the local socket");
    let mut local = connect(&m1.socket()).await?;
    let add = |name: &str, role: &str| AddUserRequest {
        name: name.to_owned(),
        role: role.to_owned(),
    };
    let monitor = local
        .add_user(add("watcher", "monitor"))
        .await?
        .into_inner()
        .token;
    let operator = local
        .add_user(add("ops", "operator"))
        .await?
        .into_inner()
        .token;

    let mut remote = AdminClient::new(RogueIdentity::anonymous().channel(m1.peer).await?);
    eprintln!("--- no token, a wrong token: refused");
    for token in [None, Some("not-a-token")] {
        let e = remote
            .list_nodes(with_token(list(), token))
            .await
            .expect_err("refused");
        assert_eq!(e.code(), Code::Unauthenticated, "{token:?}: {e:?}");
    }
    eprintln!("--- a monitor reads but may not write");
    remote
        .list_nodes(with_token(list(), Some(&monitor)))
        .await?;
    let e = remote
        .write(with_token(define(1), Some(&monitor)))
        .await
        .expect_err("refused");
    assert_eq!(e.code(), Code::PermissionDenied, "{e:?}");
    eprintln!("--- an operator writes, and the write is there");
    remote.write(with_token(define(2), Some(&operator))).await?;
    let nodes = remote
        .list_nodes(with_token(list(), Some(&operator)))
        .await?
        .into_inner()
        .nodes;
    assert_eq!(nodes, ["r2"]);
    eprintln!("--- collective administration stays local, whatever the role");
    let invite = CreateInviteRequest {
        name: "m9".into(),
        nonvoting: false,
        ttl_seconds: 60,
    };
    let e = remote
        .create_invite(with_token(invite, Some(&operator)))
        .await
        .expect_err("refused");
    assert_eq!(e.code(), Code::PermissionDenied, "{e:?}");
    // The tree sync writes the bundle from the member table on its own
    // time after the member's record commits: wait for it, as a remote
    // admin would wait for a member to serve it.
    let bundle = cluster.members[0]
        .data_dir
        .join("tree/public/site/tls/ca-bundle.pem");
    cohort_integration::wait_for(
        "m1 to write its CA bundle into the tree",
        std::time::Duration::from_secs(20),
        || async { bundle.exists().then_some(()) },
    )
    .await?;
    cli_remote(&cluster, &monitor, &operator)
}

/// The CLI as a remote admin on another host would run it: no socket, the
/// member's TLS port, a token, and the CA bundle from the tree.
fn cli_remote(cluster: &Cluster, monitor: &str, operator: &str) -> anyhow::Result<()> {
    let m1 = &cluster.members[0];
    let bundle = m1.data_dir.join("tree/public/site/tls/ca-bundle.pem");
    let run = |token: Option<&str>, args: &[&str]| -> anyhow::Result<std::process::Output> {
        let mut cmd = std::process::Command::new(cohort_integration::cohort_bin()?);
        cmd.env_remove("COHORT_SOCKET")
            .arg("--socket")
            .arg("/nonexistent/cohort.sock")
            .args(["--server", &m1.peer.to_string(), "--ca-bundle"])
            .arg(&bundle)
            .args(args);
        if let Some(t) = token {
            cmd.args(["--token", t]);
        }
        Ok(cmd.output()?)
    };
    eprintln!("--- the CLI's remote mode: an operator writes, a monitor reads");
    let out = run(
        Some(operator),
        &["nodedefine", "remote1", "location.rack=4"],
    )?;
    anyhow::ensure!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run(Some(monitor), &["nodeattrib", "remote1", "location.rack"])?;
    let text = String::from_utf8_lossy(&out.stdout);
    anyhow::ensure!(text.trim() == "remote1: location.rack: 4", "{text:?}");
    let out = run(Some(monitor), &["nodedefine", "remote2"])?;
    let err = String::from_utf8_lossy(&out.stderr);
    anyhow::ensure!(
        !out.status.success() && err.contains("may only read"),
        "{err}"
    );
    let out = run(None, &["nodelist"])?;
    let err = String::from_utf8_lossy(&out.stderr);
    anyhow::ensure!(!out.status.success() && err.contains("--token"), "{err}");
    let out = run(
        Some(operator),
        &["--server-name", "member-m9.cohort", "nodelist"],
    )?;
    let err = String::from_utf8_lossy(&out.stderr);
    anyhow::ensure!(
        !out.status.success() && err.contains("member-m9.cohort"),
        "{err}"
    );
    Ok(())
}
