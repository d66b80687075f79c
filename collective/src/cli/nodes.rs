//! Node commands: `nodedefine`, `nodeattrib`, `nodelist`, `noderemove`,
//! `noderename`. Arguments are checked here before the member is asked, so
//! a misuse is reported even with no member running.

use anyhow::bail;
use clap::Args;
use cohort_proto::write_request::Action;
use cohort_proto::{
    Assign, Clear, GetNodeAttributesRequest, ListNodesRequest, NodeAttributes, NodeRange,
    ReadOptions, Rename,
};

use super::args::{AttribAction, ReadFlags, assignments_only, classify};
use super::client::{Ctx, retrying, status_error};
use super::groups::RenameArgs;
use super::output::{self, Listing, ListingsJson};

const NODEDEFINE_ABOUT: &str = "\
Define new nodes, optionally with attributes.

The noderange names nodes that must not exist yet (`n[1-100]`, `r1n[1-42]`); every \
following argument is an assignment NAME=VALUE applied to all of them in one write, \
so defining 10,000 nodes is one replicated entry. Groups named in `groups=` must exist \
(see nodegroupdefine). A value containing `{...}` is an expression evaluated per node.";

const NODEDEFINE_EXAMPLES: &str = "\
Examples:
  cohort nodedefine n1
  cohort nodedefine n[1-4] groups=compute,rack1
  cohort nodedefine r1n[1-42] groups=compute location.rack=1 'location.u={n2}'";

const NODEATTRIB_ABOUT: &str = "\
Show, set or clear attributes of nodes.

With only a noderange, every attribute set on those nodes is shown as \
`node: attribute: value`, one per line, nodes in natural order. Naming attributes (or \
globs such as `net.*`) shows just those; a named attribute a node lacks shows empty. \
Secrets show as ********, expressions that fail as `*ERROR* BROKEN EXPRESSION: ...`.

If any argument after the noderange is an assignment (NAME=VALUE), all must be, and \
they are set on every node. `groups=a,b` replaces the group list, `groups,=a` adds a \
group with the highest priority, `groups^=a` removes one. A value containing `{...}` is \
an expression (`{n1}` is the first number in the node name). An empty value \
(`info.note=`) is an explicit empty that masks a group's value.

With -c the arguments are attribute names (or globs) whose node-level values are \
removed, so the nodes inherit them from their groups again. With -b each value tells \
where it comes from: a group, an expression, or the node itself.";

const NODEATTRIB_EXAMPLES: &str = "\
Examples:
  cohort nodeattrib n1
  cohort nodeattrib n1-n4 location.rack=7
  cohort nodeattrib compute -b
  cohort nodeattrib n1 -c location.rack
  cohort nodeattrib 'n[1-4]' location.rack location.u
  cohort nodeattrib compute 'net.mgt.ipv4_address=10.1.0.{n1}'
  cohort nodeattrib n5 groups,=gpu";

/// Define new nodes.
#[derive(Debug, Args)]
#[command(long_about = NODEDEFINE_ABOUT, after_long_help = NODEDEFINE_EXAMPLES)]
pub struct NodeDefineArgs {
    /// Nodes to create, e.g. `n[1-4]`.
    pub noderange: String,
    /// Initial attributes, NAME=VALUE.
    #[arg(value_name = "ATTR=VALUE")]
    pub assignments: Vec<String>,
}

/// Show, set (ATTR=VALUE) or clear (-c) node attributes.
#[derive(Debug, Args)]
#[command(long_about = NODEATTRIB_ABOUT, after_long_help = NODEATTRIB_EXAMPLES)]
pub struct NodeAttribArgs {
    /// Nodes to act on: names, ranges (`n1-n4`, `n[1-4]`), groups, filters.
    pub noderange: String,
    /// Attribute names or globs to show, or NAME=VALUE assignments to set.
    #[arg(value_name = "ATTR|ATTR=VALUE")]
    pub attributes: Vec<String>,
    /// Clear the named attributes on the nodes, so they inherit again.
    #[arg(short = 'c', long, conflicts_with = "blame")]
    pub clear: bool,
    /// Show where each value comes from (group, expression).
    #[arg(short = 'b', long)]
    pub blame: bool,
    #[command(flatten)]
    pub read: ReadFlags,
}

const NODELIST_ABOUT: &str = "\
List node names, one per line in natural order (n2 before n10).

Without a noderange, every node is listed. The noderange may filter on attributes \
(`location.rack=7`, `console.method=~^ipmi`) and combine sets with `,` (union), `,-` \
(exclusion) and `@` (intersection). Naming attributes after the noderange shows them \
as nodeattrib does. `--` ends the options, for scripts that pass any expression.";

const NODELIST_EXAMPLES: &str = "\
Examples:
  cohort nodelist
  cohort nodelist compute
  cohort nodelist 'compute@location.rack==7'
  cohort nodelist -- 'n[1-100],-n50'
  cohort nodelist rack1 location.u
  cohort nodelist --json gpu";

/// List nodes (all, or those of a noderange).
#[derive(Debug, Args)]
#[command(long_about = NODELIST_ABOUT, after_long_help = NODELIST_EXAMPLES)]
pub struct NodeListArgs {
    /// Nodes to list; all when omitted.
    pub noderange: Option<String>,
    /// Attributes to show for each node (as nodeattrib).
    #[arg(value_name = "ATTR")]
    pub attributes: Vec<String>,
    /// With attributes: show where each value comes from.
    #[arg(short = 'b', long)]
    pub blame: bool,
    #[command(flatten)]
    pub read: ReadFlags,
}

/// Remove nodes and all their attributes.
#[derive(Debug, Args)]
#[command(
    long_about = "Remove nodes and all their attributes.\n\nThe noderange must name existing nodes; \
                  they leave every group. This cannot be undone.",
    after_long_help = "Examples:\n  cohort noderemove n5\n  cohort noderemove 'n[1-4]'"
)]
pub struct NodeRangeArgs {
    /// Nodes to remove.
    pub noderange: String,
}

pub async fn define(args: NodeDefineArgs, ctx: &mut Ctx<'_>) -> anyhow::Result<()> {
    let assignments = assignments_only(&args.assignments).map_err(anyhow::Error::msg)?;
    ctx.write(Action::DefineNodes(Assign {
        target: args.noderange,
        assignments,
    }))
    .await?;
    Ok(())
}

pub async fn attrib(args: NodeAttribArgs, ctx: &mut Ctx<'_>) -> anyhow::Result<()> {
    let target = args.noderange;
    match classify(&args.attributes, args.clear, args.blame).map_err(anyhow::Error::msg)? {
        AttribAction::Show(names) => show(target, names, args.blame, &args.read, ctx).await,
        AttribAction::Set(assignments) => {
            ctx.write(Action::SetNodeAttributes(Assign {
                target,
                assignments,
            }))
            .await?;
            Ok(())
        }
        AttribAction::Clear(names) => {
            ctx.write(Action::ClearNodeAttributes(Clear { target, names }))
                .await?;
            Ok(())
        }
    }
}

pub async fn list(args: NodeListArgs, ctx: &mut Ctx<'_>) -> anyhow::Result<()> {
    let noderange = args.noderange.unwrap_or_default();
    if !args.attributes.is_empty() {
        if let Some(bad) = args.attributes.iter().find(|a| a.contains('=')) {
            bail!(
                "\"{bad}\" is an assignment; nodelist only shows attributes (use nodeattrib to set them)"
            );
        }
        return show(noderange, args.attributes, args.blame, &args.read, ctx).await;
    }
    let request = ListNodesRequest {
        read: Some(ReadOptions {
            local: args.read.local,
        }),
        noderange,
    };
    let admin = ctx.client().await?.admin.clone();
    let reply = retrying(|| {
        let mut admin = admin.clone();
        let request = request.clone();
        async move { admin.list_nodes(request).await }
    })
    .await
    .map_err(status_error)?;
    let mut nodes = reply.into_inner().nodes;
    output::sort_names(&mut nodes);
    if args.read.json {
        serde_json::to_writer_pretty(&mut *ctx.out, &nodes)?;
        writeln!(ctx.out)?;
    } else {
        ctx.out.write_all(output::names_text(&nodes).as_bytes())?;
    }
    Ok(())
}

pub async fn remove(args: NodeRangeArgs, ctx: &mut Ctx<'_>) -> anyhow::Result<()> {
    ctx.write(Action::RemoveNodes(NodeRange {
        noderange: args.noderange,
    }))
    .await?;
    Ok(())
}

pub async fn rename(args: RenameArgs, ctx: &mut Ctx<'_>) -> anyhow::Result<()> {
    ctx.write(Action::RenameNode(Rename {
        old: args.old,
        new: args.new,
    }))
    .await?;
    Ok(())
}

/// Fetches and prints node attributes (nodeattrib, nodelist with names).
async fn show(
    noderange: String,
    names: Vec<String>,
    blame: bool,
    read: &ReadFlags,
    ctx: &mut Ctx<'_>,
) -> anyhow::Result<()> {
    let nodes = fetch(noderange, &names, read.local, ctx).await?;
    let mut listings: Vec<Listing> = nodes
        .into_iter()
        .map(|n| Listing::new(n.node, n.attributes, &names))
        .collect();
    output::sort_listings(&mut listings);
    print_listings(&listings, blame, read.json, ctx)
}

/// The attributes `names` (all when empty) of every node of `noderange`,
/// in the member's order.
pub async fn fetch(
    noderange: String,
    names: &[String],
    local: bool,
    ctx: &mut Ctx<'_>,
) -> anyhow::Result<Vec<NodeAttributes>> {
    let request = GetNodeAttributesRequest {
        read: Some(ReadOptions { local }),
        noderange,
        attributes: names.to_vec(),
    };
    let admin = ctx.client().await?.admin.clone();
    // The whole stream is collected inside the retry, so a member that
    // becomes unavailable mid-listing restarts it rather than printing half.
    retrying(|| {
        let mut admin = admin.clone();
        let request = request.clone();
        async move {
            let mut stream = admin.get_node_attributes(request).await?.into_inner();
            let mut nodes = Vec::new();
            while let Some(n) = stream.message().await? {
                nodes.push(n);
            }
            Ok(nodes)
        }
    })
    .await
    .map_err(status_error)
}

/// Prints attribute listings as text or JSON (shared with groups).
pub fn print_listings(
    listings: &[Listing],
    blame: bool,
    json: bool,
    ctx: &mut Ctx<'_>,
) -> anyhow::Result<()> {
    if json {
        serde_json::to_writer_pretty(&mut *ctx.out, &ListingsJson { listings, blame })?;
        writeln!(ctx.out)?;
        return Ok(());
    }
    // One node at a time: a 100,000-node listing never sits in one string.
    let mut buf = String::new();
    for l in listings {
        buf.clear();
        output::listing_text(l, blame, &mut buf);
        ctx.out.write_all(buf.as_bytes())?;
    }
    Ok(())
}
