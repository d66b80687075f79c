//! `cohort user add`: tokens for remote admins (DESIGN.md section 7).

use clap::{Args, Subcommand, ValueEnum};
use cohort_proto::AddUserRequest;

use super::client::{Ctx, retrying, status_error};

/// Manage remote admin users.
#[derive(Debug, Subcommand)]
#[command(
    long_about = "Manage the users that may call the admin API remotely (gRPC over TLS, \
                  port 13001). The local socket needs no user: root and the daemon's own \
                  user are admins there."
)]
pub enum UserCommand {
    Add(UserAddArgs),
}

/// What a user may do; confluent's roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Role {
    /// Everything.
    Admin,
    /// Read everything; change nodes and attributes; no users or collective.
    Operator,
    /// Read only.
    Monitor,
}

impl Role {
    fn wire(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Operator => "operator",
            Role::Monitor => "monitor",
        }
    }
}

/// Add a user and print its token once.
#[derive(Debug, Args)]
#[command(
    long_about = "Add a user for remote admin access and print its token on stdout. \
                  The token is shown only this once: only its hash is stored (replicated \
                  to every member). Remote calls present it as a bearer token; a call \
                  without a valid token is refused.",
    after_long_help = "Examples:\n  cohort user add alice\n  cohort user add grafana --role monitor"
)]
pub struct UserAddArgs {
    /// Name of the user.
    pub name: String,
    /// What the user may do (confluent's default for new users is admin).
    #[arg(long, value_enum, default_value_t = Role::Admin)]
    pub role: Role,
}

pub async fn run(command: UserCommand, ctx: &mut Ctx<'_>) -> anyhow::Result<()> {
    match command {
        UserCommand::Add(args) => add(args, ctx).await,
    }
}

async fn add(args: UserAddArgs, ctx: &mut Ctx<'_>) -> anyhow::Result<()> {
    let request = AddUserRequest {
        name: args.name,
        role: args.role.wire().to_owned(),
    };
    let admin = ctx.client().await?.admin.clone();
    let reply = retrying(|| {
        let mut admin = admin.clone();
        let request = request.clone();
        async move { admin.add_user(request).await }
    })
    .await
    .map_err(status_error)?
    .into_inner();
    writeln!(ctx.out, "{}", reply.token)?;
    writeln!(ctx.err, "Keep this token now: it cannot be shown again.")?;
    Ok(())
}
