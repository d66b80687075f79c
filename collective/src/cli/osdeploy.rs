//! `cohort osdeploy {import,list,updateboot}`: installation media and OS
//! profiles in the synchronized tree (docs/design/0004).
//!
//! The library (`crate::osdeploy`) decides *what* goes into the tree: an
//! [`ImportPlan`] of media files, streamed from the ISO image or directory,
//! and profile files; boot files rendered for the current member list. This
//! file executes a plan the way `tree put` does: each file is uploaded to
//! the local member's blob store (the member answers with its SHA-256),
//! then the entries are committed. Media are not hashed beforehand: that
//! would read a multi-gigabyte image twice to save uploading blobs the
//! member rarely holds already.
//!
//! Entries are committed every [`PUT_BATCH`] files while the upload goes
//! on, not all at the end: a member deletes unreferenced blobs after an
//! hour, and a slow import of a large image could otherwise outlive its
//! first blobs. The profile's files come last and `boot.ipxe` last of all,
//! so nodes never see a profile whose media are incomplete.
//!
//! `list` and `updateboot` need the contents of `profile.yaml`, which the
//! admin API does not serve; they read this member's copy under
//! `<data>/tree/` (the data directory holds the admin socket) and check it
//! against the manifest's hash.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use cohort_proto::{ReadOptions, ShowCollectiveRequest, TreeEntry, TreeListEntry};
use indicatif::ProgressBar;

use super::args::ReadFlags;
use super::client::{Ctx, retrying, status_error};
use super::tree::{self, PUT_BATCH};
use crate::osdeploy::profile::{check_name, profile_dir};
use crate::osdeploy::{self, CopyKind, ImportPlan, Profile, ProfileConfig};

/// Largest `profile.yaml` read back from the tree (templates are ~1 KiB).
const MAX_PROFILE_YAML: u64 = 1 << 20;

const IMPORT_ABOUT: &str = "\
Import installation media, or make a generic profile from a kernel and initramfs.

With SOURCE (an ISO image or a directory holding extracted media), the media are \
recognised by their marker files (.treeinfo, .discinfo, .disk/info, media.1/products, \
content) as Debian, Ubuntu, EL (RHEL, Rocky, Alma, CentOS, Fedora) or SUSE; ISO images \
are read directly, without mounting and without root. Every file is copied to \
public/distributions/NAME/ and a profile NAME-default is created under public/os/ from \
the family's template, with boot.ipxe and grub.cfg that try every member in turn. NAME \
defaults to <distro>-<version>-<arch>, e.g. rocky-9.4-x86_64.

With --generic NAME, the profile NAME boots the given --kernel and --initramfs files \
with --kernelargs; no media are copied.

An existing distribution or profile of the same name is never overwritten: choose \
another name or remove the old one with `cohort tree rm`. Members fetch the files from \
one another afterwards; `cohort tree status` shows their progress.";

const IMPORT_EXAMPLES: &str = "\
Examples:
  cohort osdeploy import Rocky-9.4-x86_64-dvd.iso
  cohort osdeploy import /srv/media/debian-12 -n debian-12-lab
  cohort osdeploy import --generic rescue --kernel vmlinuz --initramfs initrd.img \\
      --kernelargs 'console=ttyS0,115200'";

/// Manage OS deployment: installation media and profiles.
#[derive(Debug, Subcommand)]
#[command(
    long_about = "Manage OS deployment content in the synchronized tree: installation \
                  media under public/distributions/ and the profiles that boot them under \
                  public/os/ (profile.yaml, installer files, boot.ipxe and grub.cfg). Every \
                  node of a profile is handed the same files; what differs per node comes \
                  from the node API at install time.",
    after_long_help = "Examples:\n  cohort osdeploy import Rocky-9.4-x86_64-dvd.iso\n  \
                       cohort osdeploy list\n  \
                       cohort osdeploy updateboot rocky-9.4-x86_64-default"
)]
pub enum OsdeployCommand {
    Import(ImportArgs),
    List(ListArgs),
    #[command(name = "updateboot")]
    UpdateBoot(UpdateBootArgs),
    Initialize(InitializeArgs),
}

/// Publish site-wide deployment settings: admin SSH keys for root.
#[derive(Debug, Args)]
#[command(
    long_about = "Publish site-wide deployment settings in the synchronized tree.\n\n\
                  --root-key FILE publishes the OpenSSH public key(s) in FILE as \
                  public/site/ssh/NAME.rootpubkey; every node deployed afterwards gets them in \
                  root's authorized_keys (de-duplicated with what is there). NAME defaults to \
                  the file's name without .pub. --agent FILE publishes the cohort-agent \
                  binary that every profile's scripts fetch from whichever member answers. \
                  Member SSH CAs need no step: every member publishes its own at \
                  public/site/ssh/MEMBER.ca.",
    after_long_help = "Examples:\n  cohort osdeploy initialize --root-key ~/.ssh/id_ed25519.pub\n  \
                       cohort osdeploy initialize --root-key ops.pub --name ops-team\n  \
                       cohort osdeploy initialize --agent target/release/cohort-agent"
)]
#[command(group(clap::ArgGroup::new("what").required(true).multiple(true).args(["root_key", "agent"])))]
pub struct InitializeArgs {
    /// OpenSSH public key file (one or more keys, one per line).
    #[arg(long, value_name = "FILE")]
    pub root_key: Option<PathBuf>,
    /// The cohort-agent binary nodes fetch during deployment (published as
    /// public/site/agent/cohort-agent; build it static:
    /// RUSTFLAGS='-C target-feature=+crt-static' cargo build --release -p cohort-agent).
    #[arg(long, value_name = "FILE")]
    pub agent: Option<PathBuf>,
    /// Name under public/site/ssh/ (default: the file's stem).
    #[arg(long, value_name = "NAME", requires = "root_key")]
    pub name: Option<String>,
}

/// Import installation media, or make a generic profile.
#[derive(Debug, Args)]
#[command(long_about = IMPORT_ABOUT, after_long_help = IMPORT_EXAMPLES)]
pub struct ImportArgs {
    /// ISO image or directory of installation media.
    #[arg(required_unless_present = "generic", conflicts_with = "generic")]
    pub source: Option<PathBuf>,
    /// Name of the distribution (default: <distro>-<version>-<arch>).
    #[arg(short = 'n', long, value_name = "NAME", conflicts_with = "generic")]
    pub name: Option<String>,
    /// Make the generic profile NAME from --kernel and --initramfs instead.
    #[arg(long, value_name = "NAME", requires_all = ["kernel", "initramfs"])]
    pub generic: Option<String>,
    /// Kernel image of a generic profile.
    #[arg(long, value_name = "FILE", requires = "generic")]
    pub kernel: Option<PathBuf>,
    /// Initramfs of a generic profile; repeat for several, loaded in order.
    #[arg(long, value_name = "FILE", requires = "generic")]
    pub initramfs: Vec<PathBuf>,
    /// Kernel command line of a generic profile; may use {deployer} (the
    /// base URL of the member booted from) and {profile} (the profile's URL).
    #[arg(
        long,
        value_name = "ARGS",
        requires = "generic",
        default_value = "",
        allow_hyphen_values = true
    )]
    pub kernelargs: String,
}

/// List distributions and profiles.
#[derive(Debug, Args)]
#[command(
    long_about = "List the imported distributions (files and bytes each) and the profiles \
                  (with their label and the distribution they boot). Labels are read from \
                  this member's copy of each profile.yaml; a profile not yet synchronized \
                  here shows none.",
    after_long_help = "Examples:\n  cohort osdeploy list\n  cohort osdeploy list --json"
)]
pub struct ListArgs {
    #[command(flatten)]
    pub read: ReadFlags,
}

/// Regenerate a profile's boot files for the current members.
#[derive(Debug, Args)]
#[command(
    long_about = "Regenerate boot.ipxe and grub.cfg of PROFILE from its profile.yaml and \
                  the current member list, and put them in the tree. Run it after members \
                  joined or left, or after editing profile.yaml (kernelargs). The boot \
                  files try the members in name order.",
    after_long_help = "Examples:\n  cohort osdeploy updateboot rocky-9.4-x86_64-default"
)]
pub struct UpdateBootArgs {
    /// The profile (a directory name under public/os/).
    pub profile: String,
}

/// Runs an osdeploy command; `data_dir` is the local member's data
/// directory, where `list` and `updateboot` read `profile.yaml`.
pub async fn run(
    command: OsdeployCommand,
    data_dir: &Path,
    ctx: &mut Ctx<'_>,
) -> anyhow::Result<()> {
    match command {
        OsdeployCommand::Import(a) => import(a, ctx).await,
        OsdeployCommand::List(a) => list(a, data_dir, ctx).await,
        OsdeployCommand::UpdateBoot(a) => update_boot(a, data_dir, ctx).await,
        OsdeployCommand::Initialize(a) => initialize(a, ctx).await,
    }
}

async fn initialize(args: InitializeArgs, ctx: &mut Ctx<'_>) -> anyhow::Result<()> {
    if let Some(agent) = &args.agent {
        publish_agent(agent, ctx).await?;
    }
    match &args.root_key {
        Some(file) => publish_root_key(file, args.name, ctx).await,
        None => Ok(()),
    }
}

/// The agent binary, checked to be an ELF executable so a wrong file is
/// refused here rather than failing on every node.
async fn publish_agent(file: &Path, ctx: &mut Ctx<'_>) -> anyhow::Result<()> {
    let bytes = std::fs::read(file)
        .with_context(|| format!("{}: cannot read the agent binary", file.display()))?;
    if !bytes.starts_with(b"\x7fELF") {
        bail!(
            "{}: not an ELF executable; give the cohort-agent binary",
            file.display()
        );
    }
    let path = "public/site/agent/cohort-agent";
    let size = bytes.len() as u64;
    let bar = tree::progress(size);
    tree::put_bytes(ctx, path, bytes, 0o755, &bar).await?;
    bar.finish_and_clear();
    writeln!(ctx.out, "published the agent as {path} ({size} bytes)")?;
    Ok(())
}

/// Publishes root's authorized keys; every line must be an OpenSSH public
/// key, so a private key given by mistake is refused, not published.
async fn publish_root_key(
    file: &Path,
    name: Option<String>,
    ctx: &mut Ctx<'_>,
) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("{}: cannot read the key file", file.display()))?;
    let mut keys = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        ssh_key::PublicKey::from_openssh(line).map_err(|e| {
            anyhow::anyhow!(
                "{}:{}: not an OpenSSH public key ({e}); give the .pub file",
                file.display(),
                i + 1
            )
        })?;
        keys.push(line.to_owned());
    }
    if keys.is_empty() {
        bail!("{}: no public key in it", file.display());
    }
    let name = match name {
        Some(n) => n,
        None => file
            .file_name()
            .and_then(|n| n.to_str())
            .map(|n| n.trim_end_matches(".pub").to_owned())
            .unwrap_or_default(),
    };
    check_name(&name)?;
    let path = format!("public/site/ssh/{name}.rootpubkey");
    let bytes = (keys.join("\n") + "\n").into_bytes();
    tree::put_bytes(ctx, &path, bytes, 0o644, &ProgressBar::hidden()).await?;
    writeln!(ctx.out, "published {} key(s) as {path}", keys.len())?;
    Ok(())
}

/// One step of an import, in commit order.
enum Step<'a> {
    /// A media or generic file, streamed from its source.
    Copy(&'a osdeploy::CopyItem, u64),
    /// A profile or boot file, small and in memory.
    Bytes(&'a str, &'a [u8]),
    Symlink(&'a str, &'a str),
}

async fn import(args: ImportArgs, ctx: &mut Ctx<'_>) -> anyhow::Result<()> {
    let plan = tokio::task::spawn_blocking(move || match (&args.generic, &args.source) {
        (Some(name), _) => {
            let kernel = args
                .kernel
                .as_deref()
                .context("--generic needs --kernel FILE")?;
            Ok(osdeploy::generic_profile(
                name,
                kernel,
                &args.initramfs,
                &args.kernelargs,
            )?)
        }
        (None, Some(source)) => Ok(osdeploy::plan_import(source, args.name.as_deref())?),
        (None, None) => {
            bail!("give installation media (an ISO image or a directory), or --generic NAME")
        }
    })
    .await??;
    refuse_existing(ctx, &plan).await?;
    let members = member_urls(ctx).await?;
    let mut boot = Vec::new();
    for profile in &plan.profiles {
        boot.extend(osdeploy::boot_files(profile, &members)?);
    }
    let steps = steps(&plan, &boot, ctx)?;
    let small: u64 = steps
        .iter()
        .map(|s| match s {
            Step::Bytes(_, b) => b.len() as u64,
            Step::Copy(..) | Step::Symlink(..) => 0,
        })
        .sum();
    let total = plan.total_bytes() + small;
    let bar = tree::progress(total);
    let mut committed = false;
    let result = execute(ctx, &steps, &bar, &mut committed).await;
    bar.finish_and_clear();
    if let Err(e) = result {
        if !committed {
            return Err(e);
        }
        let cleanup = cleanup_hint(&plan);
        return Err(e.context(format!(
            "the import stopped part way; remove what it put with {cleanup} before running it again"
        )));
    }
    let files = steps.iter().filter(|s| matches!(s, Step::Copy(..))).count();
    match (&plan.media, &plan.distribution) {
        (Some(media), Some(dist)) => writeln!(
            ctx.out,
            "imported {} {} {} (recognised by {}) into public/distributions/{dist}/: {files} \
             files, {total} bytes",
            media.product, media.version, media.arch, media.marker
        )?,
        _ => writeln!(ctx.out, "copied {files} files, {total} bytes")?,
    }
    for profile in &plan.profiles {
        writeln!(
            ctx.out,
            "profile {}: {} (boot files try {} members)",
            profile.name,
            profile.config.label,
            members.len()
        )?;
    }
    Ok(())
}

/// Orders a plan's writes: media, then profile files, then boot files.
/// Media symlinks with absolute targets are skipped with a warning: the tree
/// keeps only relative links, and installers do not follow such links.
fn steps<'a>(
    plan: &'a ImportPlan,
    boot: &'a [(String, Vec<u8>)],
    ctx: &mut Ctx<'_>,
) -> anyhow::Result<Vec<Step<'a>>> {
    let mut steps = Vec::new();
    for item in &plan.copies {
        cohort_state::validate_tree_path(&item.dest).map_err(|e| {
            anyhow::anyhow!("the media hold a file that cannot be put in the tree: {e}")
        })?;
        match &item.kind {
            CopyKind::File { size } => steps.push(Step::Copy(item, *size)),
            CopyKind::Dir => {}
            CopyKind::Symlink { target } if target.starts_with('/') => writeln!(
                ctx.err,
                "Warning: skipped {} -> {target}: the tree keeps only relative symlinks",
                item.dest
            )?,
            CopyKind::Symlink { target } => steps.push(Step::Symlink(&item.dest, target)),
        }
    }
    for profile in &plan.profiles {
        for (path, bytes) in &profile.files {
            steps.push(Step::Bytes(path, bytes));
        }
    }
    for (path, bytes) in boot {
        steps.push(Step::Bytes(path, bytes));
    }
    Ok(steps)
}

/// Uploads and commits `steps` in order, a put every [`PUT_BATCH`] entries.
async fn execute(
    ctx: &mut Ctx<'_>,
    steps: &[Step<'_>],
    bar: &ProgressBar,
    committed: &mut bool,
) -> anyhow::Result<()> {
    let mut pending: Vec<TreeEntry> = Vec::new();
    let uploads = steps
        .iter()
        .filter(|s| !matches!(s, Step::Symlink(..)))
        .count();
    let mut n = 0;
    for step in steps {
        let (dest, source, size, mode): (&str, Box<dyn Read + Send>, u64, u32) = match step {
            Step::Symlink(dest, target) => {
                pending.push(tree::symlink_entry((*dest).into(), (*target).into()));
                continue;
            }
            // Modes from the media, made readable: the member serves these
            // files to nodes. Group/other write bits make no sense in a
            // replicated tree and are dropped.
            Step::Copy(item, size) => (
                &item.dest,
                item.open()?,
                *size,
                item.mode.map_or(0o644, |m| (m & 0o755) | 0o444),
            ),
            Step::Bytes(dest, bytes) => (
                dest,
                Box::new(std::io::Cursor::new(bytes.to_vec())),
                bytes.len() as u64,
                0o644,
            ),
        };
        n += 1;
        bar.set_message(format!("uploading {n}/{uploads}"));
        let sha = tree::upload(ctx, source, size, dest, bar).await?;
        pending.push(tree::file_entry(dest.into(), sha, size, mode));
        if pending.len() >= PUT_BATCH {
            tree::put_entries(ctx, &pending).await?;
            *committed = true;
            pending.clear();
        }
    }
    tree::put_entries(ctx, &pending).await
}

/// The `cohort tree rm` commands that undo a plan.
fn cleanup_hint(plan: &ImportPlan) -> String {
    let mut dirs: Vec<String> = plan
        .distribution
        .iter()
        .map(|d| format!("public/distributions/{d}"))
        .collect();
    dirs.extend(
        plan.profiles
            .iter()
            .map(|p| format!("public/os/{}", p.name)),
    );
    let commands: Vec<String> = dirs
        .iter()
        .map(|d| format!("`cohort tree rm {d}`"))
        .collect();
    commands.join(" and ")
}

/// Refuses to import over an existing distribution or profile: a partial
/// overwrite would mix two media's files under one name.
async fn refuse_existing(ctx: &mut Ctx<'_>, plan: &ImportPlan) -> anyhow::Result<()> {
    if let Some(dist) = &plan.distribution {
        let dir = format!("public/distributions/{dist}");
        if !tree::list(ctx, dir.clone(), false).await?.is_empty() {
            bail!(
                "distribution {dist} already exists ({dir}): import under another name with \
                 --name NAME, or remove the old one first with `cohort tree rm {dir}` and \
                 `cohort tree rm public/os/{dist}-default`"
            );
        }
    }
    for profile in &plan.profiles {
        let dir = profile_dir(&profile.name);
        let dir = dir.trim_end_matches('/');
        if !tree::list(ctx, dir.to_owned(), false).await?.is_empty() {
            let flag = if plan.distribution.is_some() {
                "--name NAME"
            } else {
                "--generic NAME"
            };
            bail!(
                "profile {} already exists ({dir}): choose another name with {flag}, or \
                 remove the old profile first with `cohort tree rm {dir}`",
                profile.name
            );
        }
    }
    Ok(())
}

/// Base URLs (`https://host:port`) of every member, in name order: where
/// boot files send nodes.
async fn member_urls(ctx: &mut Ctx<'_>) -> anyhow::Result<Vec<String>> {
    let admin = ctx.client().await?.admin.clone();
    let request = ShowCollectiveRequest {
        read: Some(ReadOptions { local: false }),
    };
    let status = retrying(|| {
        let mut admin = admin.clone();
        async move { admin.show_collective(request).await }
    })
    .await
    .map_err(status_error)?
    .into_inner();
    let mut urls = Vec::new();
    for m in &status.members {
        match m.https_addresses.first() {
            Some(https) => urls.push(base_url(&m.name, https, &m.addresses)?),
            None => writeln!(
                ctx.err,
                "Warning: member {} publishes no HTTPS address (an older version?); boot files \
                 will not try it",
                m.name
            )?,
        }
    }
    if urls.is_empty() {
        bail!("no member publishes an HTTPS address, so nodes could not boot from any");
    }
    Ok(urls)
}

/// The URL nodes reach a member's HTTPS listener at. A member listening on
/// every address (`0.0.0.0:8443`) names no address itself; nodes then use
/// the host its peers reach it at.
fn base_url(member: &str, https: &str, peers: &[String]) -> anyhow::Result<String> {
    let Some((host, port)) = https.rsplit_once(':') else {
        bail!("member {member} has the HTTPS address {https:?}, which has no port");
    };
    if !matches!(host, "0.0.0.0" | "[::]") {
        return Ok(format!("https://{https}"));
    }
    let peer_host = peers
        .iter()
        .filter_map(|p| p.rsplit_once(':').map(|(h, _)| h))
        .find(|h| !matches!(*h, "0.0.0.0" | "[::]"));
    match peer_host {
        Some(h) => Ok(format!("https://{h}:{port}")),
        None => bail!(
            "member {member} listens for HTTPS on every address ({https}) and advertises no \
             peer address to reach it by; start it with --https-listen ADDRESS:{port} or \
             --advertise"
        ),
    }
}

async fn list(args: ListArgs, data_dir: &Path, ctx: &mut Ctx<'_>) -> anyhow::Result<()> {
    let local = args.read.local;
    let dists = distributions(&tree::list(ctx, "public/distributions".into(), local).await?);
    let mut profiles = Vec::new();
    for e in tree::list(ctx, "public/os".into(), local).await? {
        let Some(name) = e
            .path
            .strip_prefix("public/os/")
            .and_then(|p| p.strip_suffix("/profile.yaml"))
            .filter(|n| !n.contains('/'))
        else {
            continue;
        };
        // A profile not synchronized here (or broken) is still listed.
        let config = read_local(data_dir, &e)
            .ok()
            .and_then(|bytes| ProfileConfig::parse(name, &e.path, &bytes).ok());
        let dist = config.as_ref().and_then(|c| {
            let rest = c.kernel.strip_prefix("public/distributions/")?;
            Some(rest.split('/').next()?.to_owned())
        });
        profiles.push((name.to_owned(), config.map(|c| c.label), dist));
    }
    if args.read.json {
        let value = serde_json::json!({
            "distributions": dists.iter().map(|(name, (files, bytes))| serde_json::json!({
                "name": name, "files": files, "bytes": bytes,
            })).collect::<Vec<_>>(),
            "profiles": profiles.iter().map(|(name, label, dist)| serde_json::json!({
                "name": name, "label": label, "distribution": dist,
            })).collect::<Vec<_>>(),
        });
        serde_json::to_writer_pretty(&mut *ctx.out, &value)?;
        writeln!(ctx.out)?;
        return Ok(());
    }
    writeln!(ctx.out, "Distributions:")?;
    for (name, (files, bytes)) in &dists {
        writeln!(ctx.out, "  {name} ({files} files, {bytes} bytes)")?;
    }
    writeln!(ctx.out, "Profiles:")?;
    for (name, label, _) in &profiles {
        match label {
            Some(label) => writeln!(ctx.out, "  {name}: {label}")?,
            None => writeln!(
                ctx.out,
                "  {name}: (profile.yaml not readable on this member)"
            )?,
        }
    }
    Ok(())
}

/// Distribution name -> (files, bytes), from entries under public/distributions/.
fn distributions(entries: &[TreeListEntry]) -> BTreeMap<String, (u64, u64)> {
    let mut out: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for e in entries {
        let Some((name, _)) = e
            .path
            .strip_prefix("public/distributions/")
            .and_then(|rest| rest.split_once('/'))
        else {
            continue;
        };
        let slot = out.entry(name.to_owned()).or_default();
        if e.kind == "file" {
            slot.0 += 1;
            slot.1 += e.size;
        }
    }
    out
}

async fn update_boot(
    args: UpdateBootArgs,
    data_dir: &Path,
    ctx: &mut Ctx<'_>,
) -> anyhow::Result<()> {
    let name = args.profile;
    check_name(&name)?;
    let dir = profile_dir(&name);
    let yaml_path = format!("{dir}profile.yaml");
    let entries = tree::list(ctx, dir.trim_end_matches('/').to_owned(), false).await?;
    let Some(yaml) = entries.iter().find(|e| e.path == yaml_path) else {
        bail!(
            "there is no profile {name} ({yaml_path} is not in the tree); \
             `cohort osdeploy list` shows the profiles"
        );
    };
    let bytes = read_local(data_dir, yaml)?;
    let config = ProfileConfig::parse(&name, &yaml_path, &bytes)?;
    let members = member_urls(ctx).await?;
    let profile = Profile {
        name: name.clone(),
        config,
        files: BTreeMap::new(),
    };
    let files = osdeploy::boot_files(&profile, &members)?;
    let bar = ProgressBar::hidden();
    let mut entries = Vec::new();
    for (path, bytes) in files {
        let size = bytes.len() as u64;
        let source = Box::new(std::io::Cursor::new(bytes));
        let sha = tree::upload(ctx, source, size, &path, &bar).await?;
        entries.push(tree::file_entry(path, sha, size, 0o644));
    }
    tree::put_entries(ctx, &entries).await?;
    writeln!(
        ctx.out,
        "updated {dir}boot.ipxe and grub.cfg for {} members: {}",
        members.len(),
        members.join(" ")
    )?;
    Ok(())
}

/// A small tree file as this member holds it under `<data>/tree/`, checked
/// against the manifest's hash: a file not yet synchronized, or changed on
/// disk, is an error rather than stale content.
fn read_local(data_dir: &Path, entry: &TreeListEntry) -> anyhow::Result<Vec<u8>> {
    let path = data_dir.join("tree").join(&entry.path);
    let not_here = || {
        format!(
            "{}: this member's copy of {} is missing or not yet synchronized (see `cohort \
             tree status`; run the command on a member that has it, or point --socket at the \
             admin socket inside the member's data directory)",
            path.display(),
            entry.path
        )
    };
    if entry.size > MAX_PROFILE_YAML {
        bail!(
            "{} is {} bytes, more than a profile.yaml may be ({MAX_PROFILE_YAML})",
            entry.path,
            entry.size
        );
    }
    let bytes = std::fs::read(&path).with_context(not_here)?;
    let digest = ring::digest::digest(&ring::digest::SHA256, &bytes);
    let hex: String = digest.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    if hex != entry.sha256 {
        bail!("{}", not_here());
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls() {
        let peers = |p: &[&str]| p.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        let check = |https: &str, p: &[&str], want: Result<&str, &str>| {
            let got = base_url("m1", https, &peers(p));
            match (got, want) {
                (Ok(g), Ok(w)) => assert_eq!(g, w, "{https}"),
                (Err(e), Err(w)) => assert!(e.to_string().contains(w), "{https}: {e}"),
                (g, w) => panic!("{https}: got {g:?}, want {w:?}"),
            }
        };
        check("10.0.0.1:8443", &[], Ok("https://10.0.0.1:8443"));
        check("[fd00::1]:8443", &[], Ok("https://[fd00::1]:8443"));
        check(
            "0.0.0.0:8443",
            &["10.0.0.2:13001"],
            Ok("https://10.0.0.2:8443"),
        );
        check(
            "[::]:8443",
            &["0.0.0.0:13001", "mgt3.lab:13001"],
            Ok("https://mgt3.lab:8443"),
        );
        check("0.0.0.0:8443", &["0.0.0.0:13001"], Err("--https-listen"));
        check("mgt1", &[], Err("has no port"));
    }

    #[test]
    fn distributions_are_counted_by_first_component() {
        let entry = |path: &str, kind: &str, size| TreeListEntry {
            path: path.into(),
            kind: kind.into(),
            size,
            ..TreeListEntry::default()
        };
        let got = distributions(&[
            entry("public/distributions/a/x", "file", 3),
            entry("public/distributions/a/d/y", "file", 4),
            entry("public/distributions/a/l", "symlink", 0),
            entry("public/distributions/b/z", "file", 1),
            entry("public/distributions/stray", "file", 9),
        ]);
        let want: BTreeMap<String, (u64, u64)> =
            [("a".to_owned(), (2, 7)), ("b".to_owned(), (1, 1))].into();
        assert_eq!(got, want);
    }
}
