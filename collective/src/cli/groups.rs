//! Group commands: `nodegroupdefine`, `nodegroupattrib`, `nodegrouplist`,
//! `nodegroupremove`, `nodegrouprename`.

use clap::Args;
use cohort_proto::write_request::Action;
use cohort_proto::{
    Assign, AttributeValue, Clear, GetGroupAttributesRequest, ListGroupsRequest, Name, ReadOptions,
    Rename,
};

use super::args::{AttribAction, ReadFlags, assignments_only, classify};
use super::client::{Ctx, retrying, status_error};
use super::nodes::print_listings;
use super::output::{self, Listing};

const GROUPDEFINE_ABOUT: &str = "\
Define a new node group, optionally with attributes.

Nodes inherit a group's attributes unless they set their own; a node in several groups \
takes the value of the first group in its `groups` list that sets it. `nodes=NODERANGE` \
adds existing nodes to the group (as their highest-priority group). `noderange=EXPR` \
makes a dynamic group whose members are whatever EXPR selects; a dynamic group holds \
no other attributes. Every node is also in the implicit group `everything`.";

const GROUPDEFINE_EXAMPLES: &str = "\
Examples:
  cohort nodegroupdefine compute
  cohort nodegroupdefine rack1 location.rack=1 'location.u={n1}'
  cohort nodegroupdefine gpu nodes=n[7-12] console.method=ipmi
  cohort nodegroupdefine all-but-switches noderange=everything,-switches";

const GROUPATTRIB_ABOUT: &str = "\
Show, set or clear a group's own attributes.

With only the group name, every attribute the group sets is shown as \
`group: attribute: value`; expressions show as written, since they are evaluated per \
node. Naming attributes shows just those; `nodes` shows the members. Assignments \
(NAME=VALUE) are set on the group and every member inherits them unless it sets its \
own; if one argument is an assignment, all must be. With -c the arguments are names \
to remove from the group.

To set a value on each member node instead, use `nodeattrib GROUP NAME=VALUE`.";

const GROUPATTRIB_EXAMPLES: &str = "\
Examples:
  cohort nodegroupattrib compute
  cohort nodegroupattrib compute console.method=ipmi
  cohort nodegroupattrib rack1 'net.mgt.ipv4_address=10.1.1.{n1}'
  cohort nodegroupattrib compute -c console.method
  cohort nodegroupattrib compute nodes";

/// Define a node group.
#[derive(Debug, Args)]
#[command(long_about = GROUPDEFINE_ABOUT, after_long_help = GROUPDEFINE_EXAMPLES)]
pub struct GroupDefineArgs {
    /// Name of the new group.
    pub group: String,
    /// Initial attributes, NAME=VALUE.
    #[arg(value_name = "ATTR=VALUE")]
    pub assignments: Vec<String>,
}

/// Show, set (ATTR=VALUE) or clear (-c) a group's attributes.
#[derive(Debug, Args)]
#[command(long_about = GROUPATTRIB_ABOUT, after_long_help = GROUPATTRIB_EXAMPLES)]
pub struct GroupAttribArgs {
    /// The group.
    pub group: String,
    /// Attribute names or globs to show, or NAME=VALUE assignments to set.
    #[arg(value_name = "ATTR|ATTR=VALUE")]
    pub attributes: Vec<String>,
    /// Remove the named attributes from the group.
    #[arg(short = 'c', long)]
    pub clear: bool,
    #[command(flatten)]
    pub read: ReadFlags,
}

/// List node groups.
#[derive(Debug, Args)]
#[command(
    long_about = "List node groups, one per line in natural order, including the implicit \
                  group `everything`.",
    after_long_help = "Examples:\n  cohort nodegrouplist\n  cohort nodegrouplist --json"
)]
pub struct GroupListArgs {
    #[command(flatten)]
    pub read: ReadFlags,
}

/// Remove a node group.
#[derive(Debug, Args)]
#[command(
    long_about = "Remove a node group.\n\nIts members stay defined; they leave the group and \
                  stop inheriting its attributes. The group `everything` cannot be removed.",
    after_long_help = "Examples:\n  cohort nodegroupremove rack1"
)]
pub struct GroupNameArgs {
    /// The group to remove.
    pub group: String,
}

/// Old and new name (`noderename`, `nodegrouprename`).
#[derive(Debug, Args)]
pub struct RenameArgs {
    /// Current name.
    pub old: String,
    /// New name.
    pub new: String,
}

pub async fn define(args: GroupDefineArgs, ctx: &mut Ctx<'_>) -> anyhow::Result<()> {
    let assignments = assignments_only(&args.assignments).map_err(anyhow::Error::msg)?;
    ctx.write(Action::DefineGroup(Assign {
        target: args.group,
        assignments,
    }))
    .await?;
    Ok(())
}

pub async fn attrib(args: GroupAttribArgs, ctx: &mut Ctx<'_>) -> anyhow::Result<()> {
    let target = args.group;
    match classify(&args.attributes, args.clear, false).map_err(anyhow::Error::msg)? {
        AttribAction::Show(names) => show(target, names, &args.read, ctx).await,
        AttribAction::Set(assignments) => {
            ctx.write(Action::SetGroupAttributes(Assign {
                target,
                assignments,
            }))
            .await?;
            Ok(())
        }
        AttribAction::Clear(names) => {
            ctx.write(Action::ClearGroupAttributes(Clear { target, names }))
                .await?;
            Ok(())
        }
    }
}

async fn show(
    group: String,
    names: Vec<String>,
    read: &ReadFlags,
    ctx: &mut Ctx<'_>,
) -> anyhow::Result<()> {
    let request = GetGroupAttributesRequest {
        read: Some(ReadOptions { local: read.local }),
        group,
        attributes: names.clone(),
    };
    let admin = ctx.client().await?.admin.clone();
    let reply = retrying(|| {
        let mut admin = admin.clone();
        let request = request.clone();
        async move { admin.get_group_attributes(request).await }
    })
    .await
    .map_err(status_error)?
    .into_inner();
    let mut attrs = reply.attributes;
    // Membership is not an attribute the member sends; show it when asked.
    if names.iter().any(|n| n == "nodes") && !attrs.iter().any(|a| a.name == "nodes") {
        attrs.push(AttributeValue {
            name: "nodes".to_owned(),
            value: reply.members.join(","),
            ..AttributeValue::default()
        });
    }
    let listing = Listing::new(reply.group, attrs, &names);
    print_listings(std::slice::from_ref(&listing), false, read.json, ctx)
}

pub async fn list(args: GroupListArgs, ctx: &mut Ctx<'_>) -> anyhow::Result<()> {
    let request = ListGroupsRequest {
        read: Some(ReadOptions {
            local: args.read.local,
        }),
    };
    let admin = ctx.client().await?.admin.clone();
    let reply = retrying(|| {
        let mut admin = admin.clone();
        async move { admin.list_groups(request).await }
    })
    .await
    .map_err(status_error)?;
    let mut groups = reply.into_inner().groups;
    output::sort_names(&mut groups);
    if args.read.json {
        serde_json::to_writer_pretty(&mut *ctx.out, &groups)?;
        writeln!(ctx.out)?;
    } else {
        ctx.out.write_all(output::names_text(&groups).as_bytes())?;
    }
    Ok(())
}

pub async fn remove(args: GroupNameArgs, ctx: &mut Ctx<'_>) -> anyhow::Result<()> {
    ctx.write(Action::RemoveGroup(Name { name: args.group }))
        .await?;
    Ok(())
}

pub async fn rename(args: RenameArgs, ctx: &mut Ctx<'_>) -> anyhow::Result<()> {
    ctx.write(Action::RenameGroup(Rename {
        old: args.old,
        new: args.new,
    }))
    .await?;
    Ok(())
}
