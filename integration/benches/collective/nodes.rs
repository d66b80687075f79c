//! Listings at 100,000 nodes (cohort only; etcd has no such query).
//!
//! The nodes get their rack and slot from expressions on one group, as a
//! real site would write them (`location.rack={(n1-1)/40+1}`), so
//! `nodelist location.rack=7` has to evaluate an expression per node, and
//! `nodeattrib everything` streams every node's inherited values.

use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use cohort_integration::Member;
use cohort_integration::admin::{connect, define_group, define_nodes, write_id};
use cohort_proto::{GetNodeAttributesRequest, ListNodesRequest, ReadOptions, WriteRequest};

/// Times each listing is repeated; the report shows every run.
const RUNS: usize = 3;

/// Defines the group and the nodes; returns the time of the `nodedefine`.
pub async fn define(member: &Member, nodes: usize) -> anyhow::Result<Duration> {
    let mut c = connect(&member.socket()).await?;
    c.write(WriteRequest {
        id: write_id(7, 1),
        action: Some(define_group(
            "racked",
            &[
                "location.rack={(n1-1)/40+1}",
                "location.u={(n1-1)%40+1}",
                "console.method=ipmi",
            ],
        )),
    })
    .await?;
    let t0 = Instant::now();
    c.write(WriteRequest {
        id: write_id(7, 2),
        action: Some(define_nodes(&format!("n[1-{nodes}]"), &["groups=racked"])),
    })
    .await
    .context("defining the nodes")?;
    Ok(t0.elapsed())
}

/// The CLI on `member`'s socket, awaited without blocking the runtime.
fn cli(member: &Member) -> anyhow::Result<tokio::process::Command> {
    Ok(tokio::process::Command::from(member.cli()?))
}

/// What the listings measured, one entry per run.
pub struct Listings {
    /// GetNodeAttributes over `everything`: (time, nodes, attributes).
    pub attrib_rpc: Vec<(Duration, usize, usize)>,
    /// ListNodes `location.rack=7`: (time, nodes).
    pub list_rpc: Vec<(Duration, usize)>,
    /// `cohort nodeattrib everything > /dev/null`: time.
    pub attrib_cli: Vec<Duration>,
    /// `cohort nodelist location.rack=7`: (time, lines).
    pub list_cli: Vec<(Duration, usize)>,
}

/// Runs each listing `RUNS` times through `member` (linearizable reads, the
/// default, as an admin's plain command does).
pub async fn listings(member: &Member) -> anyhow::Result<Listings> {
    let mut out = Listings {
        attrib_rpc: vec![],
        list_rpc: vec![],
        attrib_cli: vec![],
        list_cli: vec![],
    };
    let mut c = connect(&member.socket()).await?;
    let read = Some(ReadOptions { local: false });
    for _ in 0..RUNS {
        let t0 = Instant::now();
        let mut stream = c
            .get_node_attributes(GetNodeAttributesRequest {
                read,
                noderange: "everything".to_owned(),
                attributes: vec![],
            })
            .await?
            .into_inner();
        let (mut nodes, mut attributes) = (0, 0);
        while let Some(n) = stream.message().await? {
            nodes += 1;
            attributes += n.attributes.len();
        }
        out.attrib_rpc.push((t0.elapsed(), nodes, attributes));
    }
    for _ in 0..RUNS {
        let t0 = Instant::now();
        let reply = c
            .list_nodes(ListNodesRequest {
                read,
                noderange: "location.rack=7".to_owned(),
            })
            .await?
            .into_inner();
        out.list_rpc.push((t0.elapsed(), reply.nodes.len()));
    }
    for _ in 0..RUNS {
        let t0 = Instant::now();
        let status = cli(member)?
            .args(["nodeattrib", "everything"])
            .stdout(Stdio::null())
            .status()
            .await
            .context("running cohort nodeattrib")?;
        if !status.success() {
            bail!("cohort nodeattrib everything failed: {status}");
        }
        out.attrib_cli.push(t0.elapsed());
    }
    for _ in 0..RUNS {
        let t0 = Instant::now();
        let output = cli(member)?
            .args(["nodelist", "location.rack=7"])
            .stderr(Stdio::inherit())
            .output()
            .await
            .context("running cohort nodelist")?;
        if !output.status.success() {
            bail!("cohort nodelist location.rack=7 failed: {}", output.status);
        }
        out.list_cli.push((
            t0.elapsed(),
            output
                .stdout
                .split(|b| *b == b'\n')
                .filter(|l| !l.is_empty())
                .count(),
        ));
    }
    Ok(out)
}
