//! The command line: `cohort serve` and the admin commands.
//!
//! # Shape
//!
//! One file per command family (`nodes.rs`, `groups.rs`, `collective.rs`,
//! `user.rs`, `tree.rs`, `osdeploy.rs`, `deploy.rs`, `serve.rs`), each holding its clap
//! argument structs beside the code that runs them; `args.rs` assembles
//! them into one closed [`args::Command`] enum dispatched by `match` below,
//! `client.rs` owns the connection to the member, `output.rs` turns replies
//! into text or JSON.
//! A command validates its arguments before it connects, so a typo is
//! reported the same whether or not a member runs.
//!
//! # Multi-call
//!
//! confluent's admins type `nodeattrib`, not `cohort nodeattrib`. Installed
//! as symlinks with those names, the binary reads argv[0] and inserts the
//! name as the subcommand (see [`args::multicall_argv`]). The alternative,
//! clap's own `multicall` mode, makes `cohort` itself one applet among
//! others and muddles the help; rewriting argv keeps one command tree.
//!
//! # Why the client retries `UNAVAILABLE`
//!
//! A member says `UNAVAILABLE` while the collective elects a leader or when
//! it cannot reach the leader to forward a write; elections take well under
//! a second. Writes carry a per-invocation random client id and a sequence
//! number, and the state machine applies a given id once, so resending the
//! same write is safe; reads are idempotent. The client therefore retries
//! for about five seconds with a short backoff before reporting the
//! member's message (which then says why, e.g. "collective has no quorum").
//!
//! # Output contract
//!
//! Listings print to stdout as confluent does: `node: attribute: value`, one
//! per line, nodes in natural order; `nodelist` prints one name per line;
//! every listing takes `--json`. Secrets print as `********`. Errors print
//! to stderr as one line `Error: <message>` (the member's message as
//! written: it names the bad input) and exit with status 1; usage errors
//! keep clap's message and status 2. A closed stdout (`nodelist | head`)
//! ends the command quietly.

mod args;
mod attributes;
mod client;
mod collective;
mod deploy;
mod groups;
mod nodes;
mod osdeploy;
mod output;
mod serve;
mod tree;
mod user;

#[cfg(test)]
mod fake_server_tests;
#[cfg(test)]
mod tests;

use std::ffi::OsString;
use std::io::{self, IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use clap::CommandFactory;

use args::{Cli, Command, MULTICALL_NAMES};
use client::Ctx;

/// Entry point of the binary.
pub fn main() -> ExitCode {
    // Unlocked stdout: `serve` runs for days and its threads may print.
    let mut out = io::BufWriter::new(io::stdout());
    let mut err = io::stderr();
    let mut code = run(std::env::args_os().collect(), &mut out, &mut err);
    if let Err(e) = out.flush()
        && e.kind() != io::ErrorKind::BrokenPipe
    {
        let _ = writeln!(err, "Error: writing the output: {e}");
        code = 1;
    }
    ExitCode::from(code)
}

/// Runs a whole command line, printing to `out` and `err`; returns the exit
/// status. The binary's behaviour minus the process: tests call this.
pub fn run(argv: Vec<OsString>, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    match args::parse(argv) {
        Ok(cli) => dispatch(cli, out, err),
        Err(e) => render_usage_error(&e, out, err),
    }
}

/// Help and version go to stdout with status 0; usage errors to stderr
/// with clap's status (2).
fn render_usage_error(e: &clap::Error, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    let code = u8::try_from(e.exit_code()).unwrap_or(2);
    let to_stdout = code == 0;
    // Colours only when the process's own stream is a terminal; the writers
    // given may be buffers, which cannot say.
    let tty = if to_stdout {
        io::stdout().is_terminal()
    } else {
        io::stderr().is_terminal()
    };
    let styled = e.render();
    let text = if tty {
        styled.ansi().to_string()
    } else {
        styled.to_string()
    };
    let _ = if to_stdout {
        out.write_all(text.as_bytes())
    } else {
        err.write_all(text.as_bytes())
    };
    code
}

/// Runs a parsed command: the daemon directly (it owns its runtime),
/// everything else on a small runtime of its own.
fn dispatch(cli: Cli, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    if let Command::Serve(args) = cli.command {
        return report(serve::run(args), err);
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build();
    match runtime {
        Ok(rt) => rt.block_on(execute(cli, out, err)),
        Err(e) => report(
            Err(anyhow::Error::new(e).context("starting the async runtime")),
            err,
        ),
    }
}

/// Runs a parsed admin command against the member behind the socket.
pub async fn execute(cli: Cli, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    let socket = cli
        .socket
        .unwrap_or_else(|| args::default_socket(std::env::var_os("COHORT_DATA_DIR").as_deref()));
    // The data directory holds the socket; `osdeploy` reads profile files
    // from this member's tree in it.
    let data_dir = socket.parent().unwrap_or(Path::new(".")).to_path_buf();
    let target = match cli.server {
        None => client::Target::Socket(socket),
        Some(address) => client::Target::Remote(client::Remote {
            address,
            token: cli.token,
            ca_bundle: cli.ca_bundle,
            server_name: cli.server_name,
        }),
    };
    let mut ctx = Ctx::new(target, out, &mut *err);
    let result = match cli.command {
        Command::Serve(_) => Err(anyhow::anyhow!(
            "cohort serve cannot run inside another command"
        )),
        Command::NodeDefine(a) => nodes::define(a, &mut ctx).await,
        Command::NodeAttrib(a) => nodes::attrib(a, &mut ctx).await,
        Command::NodeList(a) => nodes::list(a, &mut ctx).await,
        Command::NodeRemove(a) => nodes::remove(a, &mut ctx).await,
        Command::NodeRename(a) => nodes::rename(a, &mut ctx).await,
        Command::GroupDefine(a) => groups::define(a, &mut ctx).await,
        Command::GroupAttrib(a) => groups::attrib(a, &mut ctx).await,
        Command::GroupList(a) => groups::list(a, &mut ctx).await,
        Command::GroupRemove(a) => groups::remove(a, &mut ctx).await,
        Command::GroupRename(a) => groups::rename(a, &mut ctx).await,
        Command::NodeDeploy(a) => deploy::run(a, &mut ctx).await,
        Command::Attributes(a) => attributes::run(&a, ctx.out),
        Command::Collective(c) => collective::run(c, &mut ctx).await,
        Command::User(c) => user::run(c, &mut ctx).await,
        Command::Tree(c) => tree::run(c, &mut ctx).await,
        Command::Osdeploy(c) => osdeploy::run(c, &data_dir, &mut ctx).await,
        Command::Completions { shell } => completions(shell, ctx.out),
        Command::Manpages { dir } => manpages(&dir),
    };
    let result = result.and_then(|()| ctx.out.flush().map_err(anyhow::Error::from));
    drop(ctx);
    report(result, err)
}

/// Prints an error as one line and maps it to the exit status.
fn report(result: anyhow::Result<()>, err: &mut dyn Write) -> u8 {
    match result {
        Ok(()) => 0,
        // The reader went away (`nodelist | head`): nothing left to say.
        Err(e) if is_broken_pipe(&e) => 0,
        Err(e) => {
            let _ = writeln!(err, "Error: {e:#}");
            1
        }
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    })
}

fn completions(shell: clap_complete::Shell, out: &mut dyn Write) -> anyhow::Result<()> {
    let mut cmd = Cli::command();
    // Into a buffer first: clap_complete panics when its writer fails (a
    // closed pipe), and this way the error is ours to handle.
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut cmd, "cohort", &mut script);
    out.write_all(&script)?;
    Ok(())
}

/// One page per command (`cohort-nodeattrib.1`, `cohort-collective-show.1`),
/// plus `nodeattrib.1` etc. redirecting to them, since admins who use the
/// symlinks will type `man nodeattrib`.
fn manpages(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    clap_mangen::generate_to(Cli::command(), dir)
        .with_context(|| format!("writing man pages into {}", dir.display()))?;
    for name in MULTICALL_NAMES {
        let path = dir.join(format!("{name}.1"));
        std::fs::write(&path, format!(".so man1/cohort-{name}.1\n"))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}
