//! `cohort tree {put,rm,ls,status}`: the synchronized tree (DESIGN.md §6,
//! docs/design/0005), identical on every member under `<data>/tree/`.
//!
//! `put` hashes the local files first, asks the member which blobs it
//! lacks, uploads only those, then commits the manifest entries in puts of
//! [`PUT_BATCH`] entries (each all or nothing). The members fetch the blobs
//! from one another; `tree status` shows how far each one is.

use std::collections::BTreeSet;
use std::io::IsTerminal;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use cohort_proto::write_request::Action;
use cohort_proto::{
    BlobChunk, MissingBlobsRequest, ReadOptions, TreeEntry, TreeFile, TreeListEntry,
    TreeListRequest, TreePut, TreeRemove, TreeStatusRequest, tree_entry,
};
use cohort_state::validate_tree_path;
use indicatif::{ProgressBar, ProgressStyle};
use tokio_stream::wrappers::ReceiverStream;

use super::args::ReadFlags;
use super::client::{Ctx, retrying, status_error};

/// Entries per `TreePut` (one Raft entry each).
pub(super) const PUT_BATCH: usize = 2000;
/// Bytes per upload chunk.
const CHUNK: usize = 1 << 20;
/// Hashes per `MissingBlobs` question.
const ASK_BATCH: usize = 10_000;

/// Manage the synchronized tree.
#[derive(Debug, Subcommand)]
#[command(
    long_about = "Manage the synchronized tree: files under public/ (served to nodes over \
                  HTTPS without authentication) and private/ (node API only), identical on \
                  every member. Contents travel between members by hash; the list of files \
                  is replicated like every other edit.",
    after_long_help = "Examples:\n  cohort tree put ./rocky9 public/os/rocky9\n  \
                       cohort tree ls public/os\n  cohort tree rm public/os/rocky9\n  \
                       cohort tree status"
)]
pub enum TreeCommand {
    Put(PutArgs),
    Rm(RmArgs),
    Ls(LsArgs),
    Status(StatusArgs),
}

/// Copy a local file or directory into the tree.
#[derive(Debug, Args)]
#[command(
    long_about = "Copy a local file, or a directory recursively, into the tree at TREEPATH. \
                  Symlinks are kept as symlinks (relative ones inside the tree only); modes \
                  are kept (rwx bits). Only contents this member lacks are uploaded.",
    after_long_help = "Examples:\n  cohort tree put boot.ipxe public/boot/boot.ipxe\n  \
                       cohort tree put /srv/rocky9 public/os/rocky9"
)]
pub struct PutArgs {
    /// Local file or directory.
    pub local: PathBuf,
    /// Where in the tree: public/... or private/...
    pub tree_path: String,
}

/// Remove a file, or a directory and everything under it, from the tree.
#[derive(Debug, Args)]
#[command(after_long_help = "Examples:\n  cohort tree rm public/os/rocky9")]
pub struct RmArgs {
    pub tree_path: String,
}

/// List the tree's entries.
#[derive(Debug, Args)]
#[command(after_long_help = "Examples:\n  cohort tree ls\n  cohort tree ls public/os --json")]
pub struct LsArgs {
    /// Only entries at or under this tree path.
    pub prefix: Option<String>,
    #[command(flatten)]
    pub read: ReadFlags,
}

/// Show how far each member is in synchronizing the tree.
#[derive(Debug, Args)]
#[command(after_long_help = "Examples:\n  cohort tree status\n  cohort tree status --json")]
pub struct StatusArgs {
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

pub async fn run(command: TreeCommand, ctx: &mut Ctx<'_>) -> anyhow::Result<()> {
    match command {
        TreeCommand::Put(a) => put(a, ctx).await,
        TreeCommand::Rm(a) => rm(a, ctx).await,
        TreeCommand::Ls(a) => ls(a, ctx).await,
        TreeCommand::Status(a) => status(a, ctx).await,
    }
}

/// A tree path as typed, checked, without a trailing slash.
fn tree_arg(text: &str) -> anyhow::Result<String> {
    let path = text.trim_end_matches('/');
    validate_tree_path(path).map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(path.to_owned())
}

/// One local thing to put.
#[derive(Debug)]
enum Local {
    File {
        local: PathBuf,
        size: u64,
        mode: u32,
    },
    Symlink {
        target: String,
    },
}

/// Walks `local` (never following symlinks) into `(tree path, what)`.
fn collect(local: &Path, tree: &str, out: &mut Vec<(String, Local)>) -> anyhow::Result<()> {
    let meta = std::fs::symlink_metadata(local)
        .with_context(|| format!("{}: cannot read it (does it exist?)", local.display()))?;
    let kind = meta.file_type();
    if kind.is_symlink() {
        let target = std::fs::read_link(local)
            .with_context(|| format!("{}: cannot read the symlink", local.display()))?;
        let Some(target) = target.to_str() else {
            bail!(
                "{}: symlink target is not UTF-8; rename it",
                local.display()
            );
        };
        if target.starts_with('/') {
            bail!(
                "{}: symlink to the absolute path {target}; the tree keeps only relative links \
                 inside it: make it relative, or replace it with a copy",
                local.display()
            );
        }
        out.push((
            tree.to_owned(),
            Local::Symlink {
                target: target.to_owned(),
            },
        ));
    } else if kind.is_file() {
        out.push((
            tree.to_owned(),
            Local::File {
                local: local.to_owned(),
                size: meta.len(),
                mode: meta.permissions().mode() & 0o777,
            },
        ));
    } else if kind.is_dir() {
        let mut children: Vec<_> = std::fs::read_dir(local)
            .with_context(|| format!("{}: cannot list the directory", local.display()))?
            .collect::<Result<_, _>>()
            .with_context(|| format!("{}: cannot list the directory", local.display()))?;
        children.sort_by_key(|e| e.file_name());
        for child in children {
            let name = child.file_name();
            let Some(name) = name.to_str() else {
                bail!(
                    "{}: the name is not UTF-8; rename it to put it in the tree",
                    child.path().display()
                );
            };
            let path = format!("{tree}/{name}");
            validate_tree_path(&path)
                .map_err(|e| anyhow::anyhow!("{}: {e}", child.path().display()))?;
            collect(&child.path(), &path, out)?;
        }
    } else {
        bail!(
            "{}: not a regular file, directory or symlink (a device, fifo or socket cannot be put)",
            local.display()
        );
    }
    Ok(())
}

/// A byte-counting progress bar on stderr, hidden when stderr is not a
/// terminal (scripts and tests read stderr for errors only).
pub(super) fn progress(len: u64) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len);
    if let Ok(style) = ProgressStyle::with_template(
        "{msg:>24} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} {eta}",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

async fn put(args: PutArgs, ctx: &mut Ctx<'_>) -> anyhow::Result<()> {
    let tree = tree_arg(&args.tree_path)?;
    let mut entries = Vec::new();
    let (local, t) = (args.local.clone(), tree.clone());
    entries =
        tokio::task::spawn_blocking(move || collect(&local, &t, &mut entries).map(|()| entries))
            .await??;
    if entries.is_empty() {
        bail!(
            "{}: nothing to put (an empty directory; the tree has no empty directories)",
            args.local.display()
        );
    }
    let files: Vec<(PathBuf, u64)> = entries
        .iter()
        .filter_map(|(_, l)| match l {
            Local::File { local, size, .. } => Some((local.clone(), *size)),
            Local::Symlink { .. } => None,
        })
        .collect();
    let total: u64 = files.iter().map(|(_, s)| s).sum();
    let bar = progress(total);
    let mut hashes = Vec::with_capacity(files.len());
    for (i, (path, _)) in files.iter().enumerate() {
        bar.set_message(format!("hashing {}/{}", i + 1, files.len()));
        let (p, b) = (path.clone(), bar.clone());
        let sha = tokio::task::spawn_blocking(move || hash_local(&p, &b)).await??;
        hashes.push(sha);
    }
    let mut missing = missing_blobs(ctx, &hashes).await?;
    let to_send: Vec<(usize, &(PathBuf, u64))> = files
        .iter()
        .enumerate()
        .filter(|(i, _)| missing.remove(hashes[*i].as_slice()))
        .collect();
    bar.set_position(0);
    bar.set_length(to_send.iter().map(|(_, (_, s))| s).sum());
    let mut uploaded = 0u64;
    for (n, (i, (path, size))) in to_send.iter().enumerate() {
        bar.set_message(format!("uploading {}/{}", n + 1, to_send.len()));
        let file = std::fs::File::open(path)
            .with_context(|| format!("{}: cannot open", path.display()))?;
        let sha = upload(
            ctx,
            Box::new(file),
            *size,
            &path.display().to_string(),
            &bar,
        )
        .await?;
        if sha != hashes[*i] {
            bail!(
                "{}: the file changed while it was uploaded; run the put again",
                path.display()
            );
        }
        uploaded += size;
    }
    bar.finish_and_clear();
    let mut hash_iter = hashes.iter();
    let mut proto: Vec<TreeEntry> = Vec::with_capacity(entries.len());
    let (mut n_files, mut n_links) = (0, 0);
    for (path, local) in &entries {
        let entry = match local {
            Local::File { size, mode, .. } => {
                n_files += 1;
                let sha = hash_iter.next().context("internal error: hash count")?;
                file_entry(path.clone(), *sha, *size, *mode)
            }
            Local::Symlink { target } => {
                n_links += 1;
                symlink_entry(path.clone(), target.clone())
            }
        };
        proto.push(entry);
    }
    put_entries(ctx, &proto).await?;
    writeln!(
        ctx.out,
        "put {n_files} files and {n_links} symlinks under {tree} ({uploaded} bytes uploaded)"
    )?;
    Ok(())
}

/// A manifest entry for a file whose blob the member holds.
pub(super) fn file_entry(path: String, sha256: [u8; 32], size: u64, mode: u32) -> TreeEntry {
    TreeEntry {
        path,
        kind: Some(tree_entry::Kind::File(TreeFile {
            sha256: sha256.to_vec(),
            size,
            mode,
        })),
    }
}

pub(super) fn symlink_entry(path: String, target: String) -> TreeEntry {
    TreeEntry {
        path,
        kind: Some(tree_entry::Kind::Symlink(target)),
    }
}

/// Uploads `bytes` and commits them as the file `path` with `mode`.
pub(super) async fn put_bytes(
    ctx: &mut Ctx<'_>,
    path: &str,
    bytes: Vec<u8>,
    mode: u32,
    bar: &ProgressBar,
) -> anyhow::Result<()> {
    let size = bytes.len() as u64;
    let sha = upload(ctx, Box::new(std::io::Cursor::new(bytes)), size, path, bar).await?;
    put_entries(ctx, &[file_entry(path.to_owned(), sha, size, mode)]).await
}

/// Commits `entries` in puts of [`PUT_BATCH`], in order: each put is all or
/// nothing, the whole list is not (one Raft entry must stay small).
pub(super) async fn put_entries(ctx: &mut Ctx<'_>, entries: &[TreeEntry]) -> anyhow::Result<()> {
    for batch in entries.chunks(PUT_BATCH) {
        ctx.write(Action::TreePut(TreePut {
            entries: batch.to_vec(),
        }))
        .await?;
    }
    Ok(())
}

/// Which of `hashes` the member lacks (each at most once).
async fn missing_blobs(
    ctx: &mut Ctx<'_>,
    hashes: &[[u8; 32]],
) -> anyhow::Result<BTreeSet<Vec<u8>>> {
    let admin = ctx.client().await?.admin.clone();
    let unique: Vec<Vec<u8>> = hashes
        .iter()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .map(|h| h.to_vec())
        .collect();
    let mut missing = BTreeSet::new();
    for batch in unique.chunks(ASK_BATCH) {
        let request = MissingBlobsRequest {
            sha256: batch.to_vec(),
        };
        let reply = retrying(|| {
            let mut admin = admin.clone();
            let request = request.clone();
            async move { admin.missing_blobs(request).await }
        })
        .await
        .map_err(status_error)?
        .into_inner();
        missing.extend(reply.sha256);
    }
    Ok(missing)
}

/// The manifest entries at or under `prefix` (all when empty).
pub(super) async fn list(
    ctx: &mut Ctx<'_>,
    prefix: String,
    local: bool,
) -> anyhow::Result<Vec<TreeListEntry>> {
    let request = TreeListRequest {
        read: Some(ReadOptions { local }),
        prefix,
    };
    let admin = ctx.client().await?.admin.clone();
    let reply = retrying(|| {
        let mut admin = admin.clone();
        let request = request.clone();
        async move { admin.tree_list(request).await }
    })
    .await
    .map_err(status_error)?
    .into_inner();
    Ok(reply.entries)
}

/// SHA-256 of a local file, advancing the progress bar.
fn hash_local(path: &Path, bar: &ProgressBar) -> anyhow::Result<[u8; 32]> {
    use std::io::Read;
    let mut file =
        std::fs::File::open(path).with_context(|| format!("{}: cannot open", path.display()))?;
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    let mut buf = vec![0u8; CHUNK];
    loop {
        let n = file
            .read(&mut buf)
            .with_context(|| format!("{}: cannot read", path.display()))?;
        if n == 0 {
            break;
        }
        ctx.update(&buf[..n]);
        bar.inc(n as u64);
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    Ok(out)
}

/// Streams `size` bytes of `source` (named `what` in errors) into the
/// member's blob store, advancing `bar`; returns the SHA-256 the member
/// computed, the name to give the blob in a `TreePut`.
///
/// The source is any blocking reader (a local file, a file inside an ISO
/// image), read on the blocking pool one chunk ahead of the network, so
/// memory stays at two chunks whatever the size. A source that yields more
/// or fewer bytes than `size` is an error here rather than a refusal by the
/// member, so the message can name the file.
pub(super) async fn upload(
    ctx: &mut Ctx<'_>,
    mut source: Box<dyn std::io::Read + Send>,
    size: u64,
    what: &str,
    bar: &ProgressBar,
) -> anyhow::Result<[u8; 32]> {
    let mut admin = ctx.client().await?.admin.clone();
    let (tx, rx) = tokio::sync::mpsc::channel(2);
    let (name, b) = (what.to_owned(), bar.clone());
    let reader = tokio::task::spawn_blocking(move || {
        use std::io::Read;
        let mut sent = 0u64;
        let mut first = true;
        loop {
            let mut data = vec![0u8; CHUNK];
            let mut n = 0;
            while n < CHUNK {
                let k = source
                    .read(&mut data[n..])
                    .with_context(|| format!("{name}: cannot read"))?;
                if k == 0 {
                    break;
                }
                n += k;
            }
            data.truncate(n);
            sent += n as u64;
            if sent > size {
                bail!("{name}: longer than the {size} bytes it had when listed; did it change?");
            }
            if n < CHUNK && sent != size {
                bail!("{name}: ended after {sent} of its {size} bytes; did it change?");
            }
            if n == 0 && !first {
                return Ok(());
            }
            b.inc(n as u64);
            let declared = if first { size } else { 0 };
            first = false;
            // A closed channel means the member refused the stream: its
            // answer, awaited below, says why.
            if tx
                .blocking_send(BlobChunk {
                    data: data.into(),
                    size: declared,
                })
                .is_err()
                || n < CHUNK
            {
                return Ok(());
            }
        }
    });
    let reply = admin.upload_blob(ReceiverStream::new(rx)).await;
    reader.await??;
    let reply = reply.map_err(status_error)?.into_inner();
    <[u8; 32]>::try_from(reply.sha256.as_slice()).map_err(|_| {
        anyhow::anyhow!(
            "{what}: the member answered the upload with a {}-byte hash instead of 32; is it another version?",
            reply.sha256.len()
        )
    })
}

async fn rm(args: RmArgs, ctx: &mut Ctx<'_>) -> anyhow::Result<()> {
    let path = tree_arg(&args.tree_path)?;
    let reply = ctx.write(Action::TreeRemove(TreeRemove { path })).await?;
    writeln!(ctx.out, "removed {} entries", reply.changed)?;
    Ok(())
}

async fn ls(args: LsArgs, ctx: &mut Ctx<'_>) -> anyhow::Result<()> {
    let prefix = match args.prefix.as_deref() {
        None | Some("") => String::new(),
        Some(p @ ("public" | "private" | "public/" | "private/")) => p.trim_end_matches('/').into(),
        Some(p) => tree_arg(p)?,
    };
    let entries = list(ctx, prefix, args.read.local).await?;
    if args.read.json {
        let json: Vec<serde_json::Value> = entries
            .iter()
            .map(|e| match e.kind.as_str() {
                "symlink" => serde_json::json!({
                    "path": e.path, "kind": e.kind, "target": e.target,
                }),
                _ => serde_json::json!({
                    "path": e.path, "kind": e.kind, "size": e.size,
                    "sha256": e.sha256, "mode": format!("{:04o}", e.mode),
                }),
            })
            .collect();
        serde_json::to_writer_pretty(&mut *ctx.out, &json)?;
        writeln!(ctx.out)?;
        return Ok(());
    }
    for e in &entries {
        if e.kind == "symlink" {
            writeln!(ctx.out, "{} -> {}", e.path, e.target)?;
        } else {
            writeln!(
                ctx.out,
                "{:04o} {:>12} {} {}",
                e.mode,
                e.size,
                e.sha256.get(..12).unwrap_or(&e.sha256),
                e.path
            )?;
        }
    }
    Ok(())
}

async fn status(args: StatusArgs, ctx: &mut Ctx<'_>) -> anyhow::Result<()> {
    let admin = ctx.client().await?.admin.clone();
    let reply = retrying(|| {
        let mut admin = admin.clone();
        async move { admin.tree_status(TreeStatusRequest {}).await }
    })
    .await
    .map_err(status_error)?
    .into_inner();
    if args.json {
        let members: Vec<serde_json::Value> = reply
            .members
            .iter()
            .map(|m| {
                serde_json::json!({
                    "name": m.name,
                    "reachable": m.reachable,
                    "files_missing": m.files_missing,
                    "bytes_to_fetch": m.bytes_to_fetch,
                    "last_error": m.last_error,
                    "last_error_unix_ms": m.last_error_unix_ms,
                })
            })
            .collect();
        let value = serde_json::json!({ "entries": reply.entries, "members": members });
        serde_json::to_writer_pretty(&mut *ctx.out, &value)?;
        writeln!(ctx.out)?;
        return Ok(());
    }
    writeln!(ctx.out, "{} entries in the tree", reply.entries)?;
    for m in &reply.members {
        if !m.reachable {
            writeln!(ctx.out, "{}: unreachable", m.name)?;
            continue;
        }
        write!(
            ctx.out,
            "{}: {} files missing, {} bytes to fetch",
            m.name, m.files_missing, m.bytes_to_fetch
        )?;
        if !m.last_error.is_empty() {
            let when =
                std::time::UNIX_EPOCH + std::time::Duration::from_millis(m.last_error_unix_ms);
            write!(
                ctx.out,
                "; last error at {}: {}",
                httpdate::fmt_http_date(when),
                m.last_error
            )?;
        }
        writeln!(ctx.out)?;
    }
    Ok(())
}
