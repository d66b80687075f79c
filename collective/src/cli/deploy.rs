//! `cohort nodedeploy`: arm nodes for deployment of an OS profile, show
//! where their deployments stand, or disarm them (docs/design/0006).

use std::collections::BTreeMap;

use anyhow::bail;
use clap::Args;
use cohort_proto::write_request::Action;
use cohort_proto::{ArmDeployment, NodeRange};
use serde::Serialize;

use super::args::ReadFlags;
use super::client::Ctx;
use super::nodes;

/// Deploy an OS profile to nodes, or show their deployment state.
#[derive(Debug, Args)]
#[command(
    long_about = "Deploy an OS profile to nodes, or show where their deployments stand.\n\n\
                  With -n PROFILE, each node's API key is armed once (deployment.apiarmed=once), \
                  the profile becomes the pending one, and the staged profile and reported state \
                  are cleared; the node installs that profile at its next network boot and \
                  registers a key of its own with any member. Nodes with deployment.lock=locked \
                  are refused, all or nothing. With -c, the arm and the pending profile are \
                  cleared. Without either, prints each node's pending, staged and completed \
                  profiles, whether its key is armed, and the state it last reported.",
    after_long_help = "Examples:\n  cohort nodedeploy n[1-4] -n rocky-9.4-x86_64-default\n  \
                       cohort nodedeploy compute\n  cohort nodedeploy n3 -c\n  \
                       cohort nodedeploy compute --json"
)]
pub struct NodeDeployArgs {
    /// Nodes to act on or show.
    pub noderange: String,
    /// Profile to deploy (a directory public/os/PROFILE of the tree; see
    /// `cohort osdeploy list`).
    #[arg(
        short = 'n',
        long = "profile",
        value_name = "PROFILE",
        conflicts_with = "clear"
    )]
    pub profile: Option<String>,
    /// Disarm the nodes' API keys and clear their pending profile.
    #[arg(short = 'c', long = "clear")]
    pub clear: bool,
    #[command(flatten)]
    pub read: ReadFlags,
}

const SHOWN: [&str; 7] = [
    "deployment.pendingprofile",
    "deployment.stagedprofile",
    "deployment.profile",
    "deployment.apiarmed",
    "deployment.state",
    "deployment.state_detail",
    "deployment.state_last_updated",
];

/// One node's deployment, as printed.
#[derive(Debug, Default, Serialize, PartialEq, Eq)]
pub struct DeployView {
    pub node: String,
    pub pending: Option<String>,
    pub staged: Option<String>,
    pub completed: Option<String>,
    pub armed: Option<String>,
    pub state: Option<String>,
    pub state_detail: Option<String>,
    pub state_last_updated: Option<String>,
}

pub async fn run(args: NodeDeployArgs, ctx: &mut Ctx<'_>) -> anyhow::Result<()> {
    if let Some(profile) = args.profile {
        if profile.is_empty() || profile.contains('/') {
            bail!("{profile:?} is not a profile name (see `cohort osdeploy list`)");
        }
        let reply = ctx
            .write(Action::ArmDeployment(ArmDeployment {
                noderange: args.noderange,
                profile: profile.clone(),
            }))
            .await?;
        writeln!(ctx.out, "{} node(s) armed for {profile}", reply.changed)?;
        return Ok(());
    }
    if args.clear {
        ctx.write(Action::DisarmDeployment(NodeRange {
            noderange: args.noderange,
        }))
        .await?;
        return Ok(());
    }
    let names: Vec<String> = SHOWN.iter().map(|s| s.to_string()).collect();
    let nodes = nodes::fetch(args.noderange, &names, args.read.local, ctx).await?;
    let mut views: Vec<DeployView> = nodes
        .into_iter()
        .map(|n| {
            let values: BTreeMap<String, String> = n
                .attributes
                .into_iter()
                .filter(|a| !a.value.is_empty())
                .map(|a| (a.name, a.value))
                .collect();
            view(n.node, &values)
        })
        .collect();
    views.sort_by(|a, b| cohort_api::names::natural_cmp(&a.node, &b.node));
    if args.read.json {
        serde_json::to_writer_pretty(&mut *ctx.out, &views)?;
        writeln!(ctx.out)?;
    } else {
        for v in &views {
            ctx.out.write_all(text(v).as_bytes())?;
        }
    }
    Ok(())
}

fn view(node: String, values: &BTreeMap<String, String>) -> DeployView {
    let get = |name: &str| values.get(name).cloned();
    DeployView {
        node,
        pending: get("deployment.pendingprofile"),
        staged: get("deployment.stagedprofile"),
        completed: get("deployment.profile"),
        armed: get("deployment.apiarmed"),
        state: get("deployment.state"),
        state_detail: get("deployment.state_detail"),
        state_last_updated: get("deployment.state_last_updated"),
    }
}

/// confluent's layout: `n1: pending: PROFILE`, ... one fact per line.
pub fn text(v: &DeployView) -> String {
    let mut lines = Vec::new();
    let n = &v.node;
    for (label, value) in [
        ("pending", &v.pending),
        ("staged", &v.staged),
        ("completed", &v.completed),
    ] {
        if let Some(p) = value {
            lines.push(format!("{n}: {label}: {p}"));
        }
    }
    if v.armed.is_some() {
        lines.push(format!("{n}: (node authentication armed)"));
    }
    if let Some(state) = &v.state {
        let detail = v
            .state_detail
            .as_deref()
            .map(|d| format!(": {d}"))
            .unwrap_or_default();
        let when = v
            .state_last_updated
            .as_deref()
            .map(|t| format!(" ({t})"))
            .unwrap_or_default();
        lines.push(format!("{n}: state: {state}{detail}{when}"));
    }
    if lines.is_empty() {
        lines.push(format!("{n}: no deployment"));
    }
    lines.join("\n") + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_lists_what_is_set() {
        let mut v = DeployView {
            node: "n1".into(),
            ..DeployView::default()
        };
        assert_eq!(text(&v), "n1: no deployment\n");
        v.pending = Some("el9".into());
        v.armed = Some("once".into());
        v.state = Some("installing".into());
        v.state_last_updated = Some("2026-12-06T00:00:00Z".into());
        assert_eq!(
            text(&v),
            "n1: pending: el9\nn1: (node authentication armed)\n\
             n1: state: installing (2026-12-06T00:00:00Z)\n"
        );
    }
}
