//! `cohort collective {show,invite,join,remove}`: the members that replicate
//! the cluster's state (DESIGN.md section 4).

use clap::{Args, Subcommand};
use cohort_proto::{
    CreateInviteRequest, JoinCollectiveRequest, ReadOptions, RemoveMemberRequest,
    ShowCollectiveRequest,
};

use super::args::ReadFlags;
use super::client::{Ctx, retrying, status_error};
use super::output;

/// Default lifetime of an invitation.
pub const DEFAULT_TTL: &str = "1h";

const INVITE_ABOUT: &str = "\
Invite a new member into the collective; prints only the token.

Run this on any member, then `cohort collective join` on the new member's host with \
the token. The token is bound to NAME, works once, and expires after --ttl; only its \
hash is stored. It also pins this member's certificate, so the new member cannot be \
talked into joining an impostor. New members vote unless --nonvoting is given; keep \
an odd number of voters (3 or 5) and let the rest follow as non-voting members.";

const JOIN_ABOUT: &str = "\
Join this member (the one behind --socket) to an existing collective.

ADDRESS is IP:PORT of any current member (its gRPC listener, 13001 by default) and the \
token comes from `cohort collective invite` run there. Joining replaces this member's \
own state with the collective's; it refuses if this member already defines nodes \
or groups, unless --force. The token may also be given in COHORT_INVITE_TOKEN so it \
does not show in the process list.";

/// Manage the collective of cohort members.
#[derive(Debug, Subcommand)]
#[command(
    long_about = "Manage the collective: the cohort members (management servers) that \
                  replicate nodes, groups and attributes through Raft. Any member answers \
                  every command; writes need a majority of the voting members.",
    after_long_help = "Examples:\n  cohort collective show\n  \
                       cohort collective invite mgt2 --ttl 30m\n  \
                       cohort collective join 10.0.0.1:13001 --token eyJ2Ijox...\n  \
                       cohort collective remove mgt3"
)]
pub enum CollectiveCommand {
    Show(ShowArgs),
    Invite(InviteArgs),
    Join(JoinArgs),
    Remove(RemoveArgs),
}

/// Show the members and their state.
#[derive(Debug, Args)]
#[command(
    long_about = "Show the members of the collective: role (voter or nonvoter), which is \
                  the leader, whether the leader reaches it, when it last heard from it, \
                  the last applied log index and how far behind the leader it is, plus how \
                  many voters are reachable.",
    after_long_help = "Examples:\n  cohort collective show\n  cohort collective show --json"
)]
pub struct ShowArgs {
    #[command(flatten)]
    pub read: ReadFlags,
}

/// Make an invitation token for a new member.
#[derive(Debug, Args)]
#[command(
    long_about = INVITE_ABOUT,
    after_long_help = "Examples:\n  cohort collective invite mgt2\n  \
                       cohort collective invite mgt4 --nonvoting --ttl 15m"
)]
pub struct InviteArgs {
    /// Name of the new member (its `cohort serve --name`).
    pub name: String,
    /// Join as a non-voting member (replicates, never votes or leads).
    #[arg(long)]
    pub nonvoting: bool,
    /// How long the token stays valid: 90s, 15m, 1h, 2d, or plain seconds.
    #[arg(long, default_value = DEFAULT_TTL, value_name = "DURATION")]
    pub ttl: String,
}

/// Join this member to an existing collective.
#[derive(Debug, Args)]
#[command(
    long_about = JOIN_ABOUT,
    after_long_help = "Examples:\n  cohort collective join 10.0.0.1:13001 --token eyJ2Ijox..."
)]
pub struct JoinArgs {
    /// IP:PORT of a current member.
    pub address: String,
    /// The token printed by `cohort collective invite`.
    #[arg(long, env = "COHORT_INVITE_TOKEN", hide_env_values = true)]
    pub token: String,
    /// Discard this member's own nodes and groups.
    #[arg(long)]
    pub force: bool,
}

/// Remove a member from the collective.
#[derive(Debug, Args)]
#[command(
    long_about = "Remove a member from the collective. Its certificate is refused by the \
                  others at once; stop its daemon and wipe its data directory before reusing \
                  the host.",
    after_long_help = "Examples:\n  cohort collective remove mgt3"
)]
pub struct RemoveArgs {
    /// The member to remove.
    pub name: String,
}

pub async fn run(command: CollectiveCommand, ctx: &mut Ctx<'_>) -> anyhow::Result<()> {
    match command {
        CollectiveCommand::Show(a) => show(a, ctx).await,
        CollectiveCommand::Invite(a) => invite(a, ctx).await,
        CollectiveCommand::Join(a) => join(a, ctx).await,
        CollectiveCommand::Remove(a) => remove(a, ctx).await,
    }
}

async fn show(args: ShowArgs, ctx: &mut Ctx<'_>) -> anyhow::Result<()> {
    let request = ShowCollectiveRequest {
        read: Some(ReadOptions {
            local: args.read.local,
        }),
    };
    let admin = ctx.client().await?.admin.clone();
    let status = retrying(|| {
        let mut admin = admin.clone();
        async move { admin.show_collective(request).await }
    })
    .await
    .map_err(status_error)?
    .into_inner();
    if args.read.json {
        serde_json::to_writer_pretty(&mut *ctx.out, &output::collective_json(&status))?;
        writeln!(ctx.out)?;
    } else {
        ctx.out
            .write_all(output::collective_text(&status).as_bytes())?;
    }
    Ok(())
}

async fn invite(args: InviteArgs, ctx: &mut Ctx<'_>) -> anyhow::Result<()> {
    let ttl_seconds = parse_ttl(&args.ttl).map_err(anyhow::Error::msg)?;
    let request = CreateInviteRequest {
        name: args.name,
        nonvoting: args.nonvoting,
        ttl_seconds,
    };
    let admin = ctx.client().await?.admin.clone();
    let reply = retrying(|| {
        let mut admin = admin.clone();
        let request = request.clone();
        async move { admin.create_invite(request).await }
    })
    .await
    .map_err(status_error)?
    .into_inner();
    // Only the token on stdout: `TOKEN=$(cohort collective invite mgt2)`.
    writeln!(ctx.out, "{}", reply.token)?;
    Ok(())
}

async fn join(args: JoinArgs, ctx: &mut Ctx<'_>) -> anyhow::Result<()> {
    let request = JoinCollectiveRequest {
        address: args.address,
        token: args.token.trim().to_owned(),
        force: args.force,
    };
    // Not retried: the token is single use, and a join the member could not
    // finish is reported by the member with its cause.
    let reply = ctx
        .client()
        .await?
        .admin
        .join_collective(request)
        .await
        .map_err(status_error)?
        .into_inner();
    writeln!(
        ctx.out,
        "joined the collective; its leader is {}",
        reply.collective_leader
    )?;
    Ok(())
}

async fn remove(args: RemoveArgs, ctx: &mut Ctx<'_>) -> anyhow::Result<()> {
    let request = RemoveMemberRequest { name: args.name };
    let admin = ctx.client().await?.admin.clone();
    let reply = retrying(|| {
        let mut admin = admin.clone();
        let request = request.clone();
        async move { admin.remove_member(request).await }
    })
    .await
    .map_err(status_error)?
    .into_inner();
    for warning in &reply.warnings {
        writeln!(ctx.err, "Warning: {warning}")?;
    }
    Ok(())
}

/// `90s`, `15m`, `1h`, `2d` or plain seconds, to seconds (at least 1).
pub fn parse_ttl(text: &str) -> Result<u64, String> {
    let bad = || {
        format!(
            "invalid --ttl \"{text}\": write a number of seconds or a number with s, m, h or d (90s, 15m, 1h, 2d)"
        )
    };
    let t = text.trim();
    let (digits, unit) = match t.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => (&t[..i], c.to_ascii_lowercase()),
        _ => (t, 's'),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let n: u64 = digits.parse().map_err(|_| bad())?;
    let scale = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3_600,
        'd' => 86_400,
        _ => return Err(bad()),
    };
    match n.checked_mul(scale) {
        Some(0) => Err(format!(
            "invalid --ttl \"{text}\": the token would expire at once"
        )),
        Some(s) => Ok(s),
        None => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expected: Result<u64, &str>) {
        let got = parse_ttl(input);
        match expected {
            Ok(s) => assert_eq!(got, Ok(s), "{input}"),
            Err(fragment) => {
                let e = got.expect_err(input);
                assert!(e.contains(fragment), "{input}: {e}");
            }
        }
    }

    #[test]
    fn ttl_units() {
        check("90s", Ok(90));
        check("15m", Ok(900));
        check("1h", Ok(3_600));
        check("2d", Ok(172_800));
        check("300", Ok(300));
        check("2H", Ok(7_200));
    }

    #[test]
    fn ttl_refusals_name_the_input() {
        check("", Err("invalid --ttl \"\""));
        check("h", Err("invalid --ttl \"h\""));
        check("1w", Err("invalid --ttl \"1w\""));
        check("-5m", Err("invalid --ttl \"-5m\""));
        check("1.5h", Err("invalid --ttl \"1.5h\""));
        check("0", Err("expire at once"));
        check("99999999999999999999d", Err("invalid --ttl"));
    }
}
