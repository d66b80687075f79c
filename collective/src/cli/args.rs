//! The command tree: the root parser, global flags, and the argument rules
//! shared by the attribute commands.
//!
//! Each command family defines its own argument structs next to the code
//! that runs them (`nodes.rs`, `groups.rs`, ...); this file only assembles
//! them into one closed [`Command`] enum, so `match` is the dispatcher and
//! adding a command is a compile error until it is handled.

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};

use clap::{Args, Parser, Subcommand};

use super::collective::CollectiveCommand;
use super::deploy::NodeDeployArgs;
use super::groups::{GroupAttribArgs, GroupDefineArgs, GroupListArgs, GroupNameArgs, RenameArgs};
use super::nodes::{NodeAttribArgs, NodeDefineArgs, NodeListArgs, NodeRangeArgs};
use super::osdeploy::OsdeployCommand;
use super::serve::ServeArgs;
use super::tree::TreeCommand;
use super::user::UserCommand;
use crate::config::DEFAULT_DATA_DIR;

/// Command names that, as the file name of argv[0] (a symlink to `cohort`),
/// select that subcommand: confluent's admins type `nodeattrib`, not
/// `cohort nodeattrib`.
pub const MULTICALL_NAMES: [&str; 11] = [
    "nodeattrib",
    "nodedeploy",
    "nodedefine",
    "nodelist",
    "noderemove",
    "noderename",
    "nodegroupdefine",
    "nodegroupattrib",
    "nodegrouplist",
    "nodegroupremove",
    "nodegrouprename",
];

/// Name of the admin socket inside a data directory (DESIGN.md section 7).
pub const SOCKET_NAME: &str = "cohort.sock";

const ROOT_ABOUT: &str = "\
cohort manages a bare-metal cluster: the nodes, their attributes and groups, and the \
collective of management servers (members) that replicate them.

One binary is both the member daemon (`cohort serve`) and the admin CLI. The admin \
commands carry confluent's names and habits: `nodeattrib`, `nodelist`, `nodedefine`, \
noderanges such as `n[1-4],gpu`, and output as `node: attribute: value`. Linked as \
`nodeattrib` (or any other node command name), the binary behaves as `cohort nodeattrib`.

The CLI talks to the local member through its admin socket; see --socket.";

const ROOT_EXAMPLES: &str = "\
Examples:
  cohort serve                          start a member with the defaults
  cohort nodegroupdefine compute location.room=A
  cohort nodedefine n[1-4] groups=compute
  cohort nodeattrib n1-n4 location.rack=7
  cohort nodeattrib compute -b
  cohort nodelist compute
  cohort collective show";

/// The `cohort` command line.
#[derive(Debug, Parser)]
#[command(
    name = "cohort",
    version,
    about = "Bare-metal cluster manager: member daemon and admin CLI",
    long_about = ROOT_ABOUT,
    after_long_help = ROOT_EXAMPLES,
    propagate_version = true,
    disable_help_subcommand = true
)]
pub struct Cli {
    /// Admin socket of the cohort member to talk to.
    ///
    /// Default: `$COHORT_DATA_DIR/cohort.sock` when COHORT_DATA_DIR is set, else
    /// /var/lib/cohort/cohort.sock. Only root and the daemon's own user may use it.
    #[arg(long, global = true, env = "COHORT_SOCKET", value_name = "PATH")]
    pub socket: Option<PathBuf>,

    /// Administer a member over the network instead of through a local
    /// socket: its TLS address (HOST:PORT, port 13001 by default).
    ///
    /// Needs --token (a user made with `cohort user add` on a member) and
    /// --ca-bundle. Collective membership and user management are refused
    /// remotely; they are for a member's own admin socket.
    #[arg(long, global = true, env = "COHORT_SERVER", value_name = "HOST:PORT")]
    pub server: Option<String>,

    /// User token for --server.
    #[arg(
        long,
        global = true,
        env = "COHORT_TOKEN",
        value_name = "TOKEN",
        hide_env_values = true
    )]
    pub token: Option<String>,

    /// The members' CA certificates, to verify --server with: the tree's
    /// public/site/tls/ca-bundle.pem (any member serves it over HTTPS).
    #[arg(long, global = true, env = "COHORT_CA_BUNDLE", value_name = "FILE")]
    pub ca_bundle: Option<PathBuf>,

    /// Name the member's certificate must carry, when the host of --server
    /// is not in it (e.g. member-m1.cohort).
    #[arg(long, global = true, value_name = "NAME")]
    pub server_name: Option<String>,

    #[command(subcommand)]
    pub command: Command,
}

/// Every command. One variant per confluent-style command; families with
/// several verbs (`collective`, `user`) nest.
#[derive(Debug, Subcommand)]
pub enum Command {
    Serve(ServeArgs),
    #[command(name = "nodedefine")]
    NodeDefine(NodeDefineArgs),
    #[command(name = "nodeattrib")]
    NodeAttrib(NodeAttribArgs),
    #[command(name = "nodelist")]
    NodeList(NodeListArgs),
    #[command(name = "noderemove")]
    NodeRemove(NodeRangeArgs),
    /// Rename a node.
    #[command(
        name = "noderename",
        long_about = "Rename a node.\n\nGroups keep it as a member under the new name, and \
                      expressions that use the node name (`{node}`, `{n1}`) are evaluated again.",
        after_long_help = "Examples:\n  cohort noderename n1 r1u1"
    )]
    NodeRename(RenameArgs),
    #[command(name = "nodegroupdefine")]
    GroupDefine(GroupDefineArgs),
    #[command(name = "nodegroupattrib")]
    GroupAttrib(GroupAttribArgs),
    #[command(name = "nodegrouplist")]
    GroupList(GroupListArgs),
    #[command(name = "nodegroupremove")]
    GroupRemove(GroupNameArgs),
    /// Rename a node group.
    #[command(
        name = "nodegrouprename",
        long_about = "Rename a node group.\n\nIts members' `groups` lists follow the new name.",
        after_long_help = "Examples:\n  cohort nodegrouprename rack1 row1rack1"
    )]
    GroupRename(RenameArgs),
    #[command(name = "nodedeploy")]
    NodeDeploy(NodeDeployArgs),
    #[command(name = "attributes")]
    Attributes(super::attributes::AttributesArgs),
    #[command(subcommand)]
    Collective(CollectiveCommand),
    #[command(subcommand)]
    User(UserCommand),
    #[command(subcommand)]
    Tree(TreeCommand),
    #[command(subcommand)]
    Osdeploy(OsdeployCommand),
    /// Print a shell completion script to stdout (packaging helper).
    #[command(hide = true)]
    Completions {
        /// bash, zsh, fish, elvish or powershell.
        shell: clap_complete::Shell,
    },
    /// Write one man page per command into DIR (packaging helper).
    #[command(hide = true)]
    Manpages {
        /// Directory to write `cohort.1`, `cohort-nodeattrib.1`, ... into.
        dir: PathBuf,
    },
}

/// Flags every listing takes.
#[derive(Debug, Clone, Default, Args)]
pub struct ReadFlags {
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,

    /// Answer from this member's copy without asking the leader: faster, and
    /// works without quorum, but may miss the latest writes.
    #[arg(long)]
    pub local: bool,
}

/// Parses a command line, honouring multi-call through argv[0].
pub fn parse(argv: Vec<OsString>) -> Result<Cli, clap::Error> {
    Cli::try_parse_from(multicall_argv(argv))
}

/// When argv[0]'s file name is a confluent command name, inserts it as the
/// subcommand (and names the program `cohort`, so usage lines read
/// `cohort nodeattrib ...`, which is what the help documents).
pub fn multicall_argv(mut argv: Vec<OsString>) -> Vec<OsString> {
    let applet = argv
        .first()
        .and_then(|a| Path::new(a).file_name())
        .and_then(OsStr::to_str)
        .filter(|name| MULTICALL_NAMES.contains(name))
        .map(OsString::from);
    if let Some(name) = applet {
        argv[0] = OsString::from("cohort");
        argv.insert(1, name);
    }
    argv
}

/// The admin socket when no `--socket` / `COHORT_SOCKET` is given: inside
/// `COHORT_DATA_DIR` if set (so a test member and its CLI agree on one
/// variable), else inside the default data directory.
pub fn default_socket(data_dir: Option<&OsStr>) -> PathBuf {
    match data_dir.filter(|d| !d.is_empty()) {
        Some(dir) => Path::new(dir).join(SOCKET_NAME),
        None => Path::new(DEFAULT_DATA_DIR).join(SOCKET_NAME),
    }
}

/// What the arguments after the target of `nodeattrib` / `nodegroupattrib`
/// ask for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttribAction {
    /// Show these attributes (all that are set when empty).
    Show(Vec<String>),
    /// Apply these assignments, as typed (`a=b`, `groups,=g`, `groups^=g`).
    Set(Vec<String>),
    /// Clear these attributes (names or globs).
    Clear(Vec<String>),
}

/// confluent's rule: once one argument is an assignment all must be (a
/// mistyped `=` must not silently turn a write into a read); with `-c`
/// they are names to clear. The error names the offending argument.
pub fn classify(args: &[String], clear: bool, blame: bool) -> Result<AttribAction, String> {
    if clear {
        if let Some(bad) = args.iter().find(|a| a.contains('=')) {
            return Err(format!(
                "\"{bad}\" is an assignment; with -c/--clear give only attribute names to clear"
            ));
        }
        if args.is_empty() {
            return Err("-c/--clear needs the names of the attributes to clear".to_owned());
        }
        return Ok(AttribAction::Clear(args.to_vec()));
    }
    let Some(first_assignment) = args.iter().find(|a| a.contains('=')) else {
        return Ok(AttribAction::Show(args.to_vec()));
    };
    if let Some(bad) = args.iter().find(|a| !a.contains('=')) {
        return Err(format!(
            "\"{bad}\" is not an assignment, but \"{first_assignment}\" is: to set attributes \
             give only NAME=VALUE arguments; to show them give only names"
        ));
    }
    if blame {
        return Err(
            "-b/--blame shows where values come from; it cannot be combined with assignments"
                .to_owned(),
        );
    }
    Ok(AttribAction::Set(args.to_vec()))
}

/// `nodedefine` / `nodegroupdefine` take only assignments.
pub fn assignments_only(args: &[String]) -> Result<Vec<String>, String> {
    match args.iter().find(|a| !a.contains('=')) {
        Some(bad) => Err(format!(
            "\"{bad}\" is not an attribute assignment: write NAME=VALUE (for example location.rack=7)"
        )),
        None => Ok(args.to_vec()),
    }
}
