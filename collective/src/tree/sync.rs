//! The sync task: one per member, closing the gap between the manifest and
//! `<data>/tree/`.
//!
//! A *pass* computes the desired tree (the manifest plus the trust bundle),
//! removes what this member placed earlier and the manifest no longer
//! lists, places every file whose blob is here, fetches the missing blobs
//! (several at once) and places their files as each arrives, then collects
//! unreferenced blobs. A pass runs when the manifest or the member table
//! changes (Raft applied something that changed them), when something
//! woke the task (an upload, the scrubber), every [`FULL_PASS`] anyway,
//! and every few seconds while files are missing.
//!
//! Only paths this member placed are ever removed (they are recorded in
//! `member/tree-paths.json` *before* they are placed, so a crash leaks
//! nothing): a file an operator dropped into the tree by hand is left
//! alone (and not served by the manifest view).
//!
//! At start a scrubber hashes every blob (and every tree file that is a
//! copy rather than a link of its blob) in the background; what does not
//! match its name is deleted and fetched again. When the blob store carries
//! the unsynced mark (fetches not yet flushed when the member stopped), the
//! scrub runs first, before anything is placed or served (blobs.rs).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use cohort_state::{MemberRecord, TreeEntry};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tracing::{debug, info, warn};

use super::Tree;
use super::blobs::{Sha256, hex};
use super::fetch::{Source, blocking, fetch, fetch_small};
use super::materialize::{self as mat, Placed, Want};
use crate::server::dial::Dialer;
use crate::server::member::Member;

/// Blob fetches in flight at once. Most files of an OS tree are small,
/// and each costs a round trip, two fsyncs and a rename whatever its size:
/// enough in flight to hide those waits (at 4, a 1 GiB tree of 7,000 files
/// synced at a quarter of rsync's speed). Each holds two 1 MiB chunks.
const PARALLEL_FETCHES: usize = 16;
/// A full pass at least this often, changes or not (a file removed by
/// hand is put back).
const FULL_PASS: Duration = Duration::from_secs(60);
/// Retry interval while files are missing.
const RETRY: Duration = Duration::from_secs(2);
/// How long an unreferenced blob or a stale part is kept: an upload
/// precedes the TreePut that references it.
const KEEP_UNREFERENCED: Duration = Duration::from_secs(3600);

type Manifest = BTreeMap<String, TreeEntry>;
/// The manifest as the state shares it (`State::tree_shared`).
type SharedManifest = Arc<Manifest>;
type Members = BTreeMap<String, MemberRecord>;
type Desired = Arc<BTreeMap<String, Want>>;

/// Runs the sync task of `member` until `stop`.
pub async fn run(member: Arc<Member>, mut stop: watch::Receiver<bool>) {
    let tree = member.tree.clone();
    // Bulk transfers get connections of their own: Raft heartbeats travel
    // on the member dialer's channels and must not queue behind blob chunks.
    let dialer = Dialer::bulk(member.identity.clone(), member.trust.clone());
    let root = tree.root.clone();
    let _ = blocking(move || mat::sweep_temps(&root)).await;
    // Fetched blobs that may not have reached the disk (a crash before
    // their flush): check every blob before anything is placed or served.
    let scrubber = if tree.blobs.is_unsynced() {
        info!("fetched blobs may not have reached the disk: scrubbing before serving");
        scrub(tree.clone(), member.clone()).await;
        flush_later(&tree, tree.blobs.last_round());
        tokio::spawn(async {})
    } else {
        tokio::spawn(scrub(tree.clone(), member.clone()))
    };
    let mut seen: Option<(SharedManifest, Members)> = None;
    let mut seen_applied = None;
    // When the next pass is due even without a change.
    let mut next_pass = Instant::now();
    loop {
        let core = member.core();
        // Metrics change often (heartbeats, replication progress); the
        // manifest can only have changed if an entry was applied.
        let applied = core.state.last_applied();
        let changed = if seen.is_none() || applied != seen_applied {
            seen_applied = applied;
            core.state.read(|s| {
                let tree = s.tree_shared();
                match &mut seen {
                    // The same manifest as last time (by pointer: no tree
                    // command since, so no walk over thousands of entries
                    // after every applied write), or equal content under a
                    // new pointer (a snapshot was installed): keep the new
                    // pointer so the next check is cheap again.
                    Some((m, r)) if r == s.members() && (Arc::ptr_eq(m, &tree) || **m == *tree) => {
                        *m = tree;
                        None
                    }
                    _ => Some((tree, s.members().clone())),
                }
            })
        } else {
            None
        };
        let run_now = changed.is_some() || Instant::now() >= next_pass;
        if let Some(inputs) = changed {
            seen = Some(inputs);
        }
        if let (true, Some((manifest, members))) = (run_now, &seen) {
            let complete = pass(&member, &tree, &dialer, manifest, members).await;
            next_pass = Instant::now() + if complete { FULL_PASS } else { RETRY };
        }
        // Data metrics change only when the log or the applied index moves
        // (not on every heartbeat, as the full metrics do). A fresh receiver
        // has not seen the current value, so mark it seen first, or
        // `changed` returns at once and the loop spins.
        let mut applied_moves = core.raft.data_metrics();
        applied_moves.borrow_and_update();
        // An entry applied between the look at `last_applied` above and
        // this subscription would wake nobody (its change is already
        // marked seen), leaving the manifest unsynchronized until the next
        // full pass a minute later: look again now that every later change
        // will wake us. (This lost wake-up stalled t110 now and then.)
        if core.state.last_applied() != seen_applied {
            continue;
        }
        tokio::select! {
            _ = applied_moves.changed() => {}
            _ = tree.wake.notified() => next_pass = Instant::now(),
            _ = tokio::time::sleep_until(next_pass) => {}
            _ = stop.wait_for(|s| *s) => break,
        }
    }
    scrubber.abort();
}

/// One pass; `true` when every file is in place.
async fn pass(
    member: &Member,
    tree: &Arc<Tree>,
    dialer: &Dialer,
    manifest: &Manifest,
    members: &Members,
) -> bool {
    let desired = match derive(tree, manifest, members).await {
        Ok(d) => d,
        Err(e) => {
            tree.error(e);
            return false;
        }
    };
    let (t, d) = (tree.clone(), desired.clone());
    if let Err(e) = blocking(move || prune(&t, &d)).await.and_then(|r| r) {
        tree.error(e);
    }
    let (t, d) = (tree.clone(), desired.clone());
    let missing = blocking(move || place_all(&t, &d))
        .await
        .unwrap_or_default();
    if missing.is_empty() {
        gc(tree, &desired).await;
        return true;
    }
    let sources: Vec<Source> = members
        .values()
        .filter(|r| r.name != member.name)
        .filter_map(|r| {
            Some(Source {
                name: r.name.clone(),
                addr: r.addresses.first()?.clone(),
            })
        })
        .collect();
    let (blobs, bytes) = (missing.len(), missing.values().sum::<u64>());
    info!(blobs, bytes, "fetching blobs from the other members");
    let started = Instant::now();
    let ok = fetch_all(tree, dialer, &desired, missing, &sources).await;
    info!(
        blobs,
        bytes,
        ok,
        seconds = started.elapsed().as_secs_f64(),
        "fetch round ended"
    );
    if ok {
        gc(tree, &desired).await;
    }
    ok
}

/// The manifest plus the trust bundle (whose bytes go to the blob store).
async fn derive(
    tree: &Arc<Tree>,
    manifest: &Manifest,
    members: &Members,
) -> Result<Desired, String> {
    let files = super::bundle::files(members);
    let t = tree.clone();
    let derived = blocking(move || -> Result<BTreeMap<String, Want>, String> {
        let mut out = BTreeMap::new();
        for (path, bytes) in files {
            let sha = t.blobs.put_bytes(&bytes).map_err(|e| e.to_string())?;
            let size = bytes.len() as u64;
            out.insert(
                path,
                Want::File {
                    sha,
                    size,
                    mode: 0o644,
                },
            );
        }
        Ok(out)
    })
    .await??;
    let mut desired: BTreeMap<String, Want> = manifest
        .iter()
        .map(|(p, e)| (p.clone(), want_of(e)))
        .collect();
    let mut kept = BTreeMap::new();
    for (path, want) in derived {
        // A manifest file where the bundle needs a directory wins: the
        // derived file is skipped rather than the admin's file removed.
        if shape_conflict(&desired, &path) {
            warn!(%path, "trust bundle file skipped: the tree has a file above it or entries below it");
            continue;
        }
        desired.insert(path.clone(), want.clone());
        kept.insert(path, want);
    }
    tree.shared().derived = Arc::new(kept);
    Ok(Arc::new(desired))
}

pub fn want_of(entry: &TreeEntry) -> Want {
    match entry {
        TreeEntry::File { sha256, size, mode } => Want::File {
            sha: *sha256,
            size: *size,
            mode: *mode,
        },
        TreeEntry::Symlink { target } => Want::Symlink {
            target: target.clone(),
        },
    }
}

fn shape_conflict(desired: &BTreeMap<String, Want>, path: &str) -> bool {
    let below = format!("{path}/");
    let has_below = desired
        .range(below.clone()..)
        .next()
        .is_some_and(|(p, _)| p.starts_with(&below));
    let mut above = false;
    let mut end = 0;
    while let Some(i) = path[end..].find('/') {
        end += i;
        above |= desired.contains_key(&path[..end]);
        end += 1;
    }
    has_below || above
}

/// Records the desired paths, then removes recorded paths no longer
/// desired, then records exactly the desired ones.
fn prune(tree: &Tree, desired: &BTreeMap<String, Want>) -> Result<(), String> {
    let recorded: BTreeSet<String> = std::fs::read(&tree.record)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    let wanted: BTreeSet<String> = desired.keys().cloned().collect();
    let union: BTreeSet<String> = recorded.union(&wanted).cloned().collect();
    if union != recorded {
        write_record(tree, &union)?;
    }
    let mut failed = None;
    for path in recorded.difference(&wanted) {
        match mat::remove(&tree.root, path) {
            Ok(()) => info!(%path, "removed from the tree"),
            Err(e) => failed = Some(format!("cannot remove {path}: {e}")),
        }
    }
    if union != wanted && failed.is_none() {
        write_record(tree, &wanted)?;
    }
    failed.map_or(Ok(()), Err)
}

fn write_record(tree: &Tree, paths: &BTreeSet<String>) -> Result<(), String> {
    let bytes = serde_json::to_vec(paths).map_err(|e| e.to_string())?;
    crate::identity::write_atomic(&tree.record, &bytes, 0o600)
        .map_err(|e| format!("cannot record the tree's paths: {e}"))
}

/// Places every desired entry whose blob is here; returns the blobs
/// missing (hash → size). Also refreshes the placed table and the status.
fn place_all(tree: &Tree, desired: &BTreeMap<String, Want>) -> BTreeMap<Sha256, u64> {
    let known = tree.shared().placed.clone();
    let mut placed = HashMap::new();
    let mut missing = BTreeMap::new();
    let mut files_missing = 0u64;
    for (path, want) in desired.iter() {
        match want {
            Want::File { sha, size, mode } => {
                match place_one(tree, path, sha, *mode, known.get(path)) {
                    Some(p) => {
                        placed.insert(path.clone(), p);
                    }
                    None => {
                        files_missing += 1;
                        if !tree.blobs.has(sha) {
                            missing.insert(*sha, *size);
                        }
                    }
                }
            }
            Want::Symlink { target } => {
                if !mat::is_symlink_to(&tree.root, path, target)
                    && let Err(e) = mat::place_symlink(&tree.root, path, target)
                {
                    tree.error(format!("cannot place symlink {path}: {e}"));
                }
            }
        }
    }
    let mut shared = tree.shared();
    shared.placed = placed;
    shared.status.files_missing = files_missing;
    shared.status.bytes_to_fetch = missing.values().sum();
    missing
}

/// One file: already in place, or placed now, or `None` (blob missing or
/// the placing failed, which is recorded).
fn place_one(
    tree: &Tree,
    path: &str,
    sha: &Sha256,
    mode: u32,
    known: Option<&Placed>,
) -> Option<Placed> {
    if let Some(p) = mat::is_placed(&tree.root, &tree.blobs, path, sha, mode, known) {
        return Some(p);
    }
    if !tree.blobs.has(sha) {
        return None;
    }
    match mat::place_file(&tree.root, &tree.blobs, path, sha, mode) {
        Ok(p) => {
            debug!(%path, sha = %hex(sha), "placed");
            Some(p)
        }
        Err(e) => {
            tree.error(format!("cannot place {path}: {e}"));
            None
        }
    }
}

/// Fetches `missing` blobs, [`PARALLEL_FETCHES`] at a time, placing the
/// files that use each blob as soon as it arrives (in the fetch's own task,
/// so placing never holds up the next fetch).
async fn fetch_all(
    tree: &Arc<Tree>,
    dialer: &Dialer,
    desired: &Desired,
    missing: BTreeMap<Sha256, u64>,
    sources: &[Source],
) -> bool {
    // Which paths use which blob, computed once: looking each blob up in
    // the whole desired map made placement quadratic in the file count.
    let mut users: std::collections::HashMap<Sha256, Vec<(String, u32)>> =
        std::collections::HashMap::new();
    for (path, want) in desired.iter() {
        if let Want::File { sha, mode, .. } = want
            && missing.contains_key(sha)
        {
            users.entry(*sha).or_default().push((path.clone(), *mode));
        }
    }
    let users = Arc::new(users);
    if missing.is_empty() {
        return true;
    }
    let t = tree.clone();
    let round = match blocking(move || t.blobs.begin_fetches()).await {
        Ok(Ok(round)) => round,
        Ok(Err(e)) => {
            tree.error(format!("cannot mark the blob store before fetching: {e}"));
            return false;
        }
        Err(e) => {
            tree.error(e);
            return false;
        }
    };
    let mut queue = jobs(missing).into_iter();
    let mut running = JoinSet::new();
    let mut all_ok = true;
    loop {
        while running.len() < PARALLEL_FETCHES {
            let Some(job) = queue.next() else {
                break;
            };
            let (t, d, s, u) = (
                tree.clone(),
                dialer.clone(),
                sources.to_vec(),
                users.clone(),
            );
            running.spawn(async move {
                let one_by_one = match job {
                    Job::Large(sha, size) => vec![(sha, size)],
                    Job::Small(blobs) => {
                        let (t2, u2) = (t.clone(), u.clone());
                        let placed = move |sha: &Sha256, size| place_fetched(&t2, &u2, sha, size);
                        fetch_small(&t, &d, blobs, &s, placed).await
                    }
                };
                // Large blobs, and small ones the batch did not deliver
                // (that path tries every source and names each failure).
                let mut result = Ok(());
                for (sha, size) in one_by_one {
                    let r = fetch(&t, &d, sha, size, &s).await;
                    if r.is_ok() {
                        debug!(sha = %hex(&sha), size, "blob fetched");
                        let (t2, u2) = (t.clone(), u.clone());
                        let _ = blocking(move || place_fetched(&t2, &u2, &sha, size)).await;
                    }
                    result = result.and(r);
                }
                result
            });
        }
        let Some(done) = running.join_next().await else {
            break;
        };
        match done {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                all_ok = false;
                tree.error(e);
            }
            Err(_) => all_ok = false,
        }
    }
    tree.blobs.end_fetches();
    flush_later(tree, round);
    all_ok
}

/// One unit of fetching work: a large blob alone, or small blobs together
/// in one `FetchBlobs` stream.
enum Job {
    Large(Sha256, u64),
    Small(Vec<(Sha256, u64)>),
}

/// Blobs up to this size travel in batches: per-blob costs (an RPC, a part
/// file, a rename, hand-offs to the blocking pool) outweighed their bytes,
/// and most files of an OS tree are this small.
const SMALL: u64 = 256 << 10;
/// Most blobs, and most bytes, in one batch.
const BATCH_BLOBS: usize = 64;
const BATCH_BYTES: u64 = 2 << 20;

/// The work for `missing`, large and small jobs interleaved so the disk
/// (large blobs) and the CPU (many small files) are busy at once.
fn jobs(missing: BTreeMap<Sha256, u64>) -> Vec<Job> {
    let (small, mut large): (Vec<_>, Vec<_>) =
        missing.into_iter().partition(|&(_, size)| size <= SMALL);
    let mut batches = Vec::new();
    let mut batch = Vec::new();
    let mut bytes = 0;
    for (sha, size) in small {
        if batch.len() == BATCH_BLOBS || (bytes + size > BATCH_BYTES && !batch.is_empty()) {
            batches.push(Job::Small(std::mem::take(&mut batch)));
            bytes = 0;
        }
        bytes += size;
        batch.push((sha, size));
    }
    if !batch.is_empty() {
        batches.push(Job::Small(batch));
    }
    // Largest first: a big blob is one stream at a time, and one started
    // last would leave the round waiting on it alone.
    large.sort_by_key(|&(sha, size)| (std::cmp::Reverse(size), sha));
    let mut large = large.into_iter().map(|(sha, size)| Job::Large(sha, size));
    let mut batches = batches.into_iter();
    let mut out = Vec::new();
    loop {
        match (large.next(), batches.next()) {
            (None, None) => return out,
            (l, b) => out.extend(l.into_iter().chain(b)),
        }
    }
}

/// Flushes the round's blobs to disk in the background: the sync task goes
/// on while the file system syncs (which other writers can make slow).
fn flush_later(tree: &Arc<Tree>, round: u64) {
    let t = tree.clone();
    tokio::spawn(async move {
        let b = t.clone();
        match blocking(move || b.blobs.flush(round)).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => t.error(format!("cannot flush fetched blobs to disk: {e}")),
            Err(e) => t.error(e),
        }
    });
}

/// Places the files that use a blob that just arrived.
fn place_fetched(
    tree: &Tree,
    users: &std::collections::HashMap<Sha256, Vec<(String, u32)>>,
    sha: &Sha256,
    size: u64,
) {
    for (path, mode) in users.get(sha).map(Vec::as_slice).unwrap_or_default() {
        if let Some(p) = place_one(tree, path, sha, *mode, None) {
            let mut shared = tree.shared();
            shared.placed.insert(path.clone(), p);
            shared.status.files_missing = shared.status.files_missing.saturating_sub(1);
        }
    }
    let mut shared = tree.shared();
    shared.status.bytes_to_fetch = shared.status.bytes_to_fetch.saturating_sub(size);
}

/// Deletes blobs nothing references that are older than
/// [`KEEP_UNREFERENCED`], and parts as old.
async fn gc(tree: &Arc<Tree>, desired: &Desired) {
    let (t, d) = (tree.clone(), desired.clone());
    let _ = blocking(move || {
        let referenced: HashSet<Sha256> = d
            .values()
            .filter_map(|w| match w {
                Want::File { sha, .. } => Some(*sha),
                Want::Symlink { .. } => None,
            })
            .collect();
        let old = |t: SystemTime| t.elapsed().is_ok_and(|age| age > KEEP_UNREFERENCED);
        for (sha, modified) in t.blobs.list() {
            if !referenced.contains(&sha) && old(modified) {
                info!(sha = %hex(&sha), "unreferenced blob collected");
                let _ = t.blobs.remove(&sha);
            }
        }
        for (part, modified) in t.blobs.parts() {
            if old(modified) {
                let _ = std::fs::remove_file(part);
            }
        }
    })
    .await;
}

/// Hashes every blob once, and every placed file that is a copy rather
/// than its blob; deletes what does not match and wakes the sync.
async fn scrub(tree: Arc<Tree>, member: Arc<Member>) {
    let t = tree.clone();
    let bad = blocking(move || {
        let mut bad = 0usize;
        for (sha, _) in t.blobs.list() {
            match t.blobs.verify(&sha) {
                Ok(true) => {}
                Ok(false) => {
                    t.error(format!(
                        "blob {} is corrupt on disk: deleted, to be fetched again",
                        hex(&sha)
                    ));
                    let _ = t.blobs.remove(&sha);
                    bad += 1;
                }
                // Removed meanwhile (collected, or replaced): nothing to check.
                Err(_) => {}
            }
        }
        bad
    })
    .await
    .unwrap_or(0);
    // Copies: placed files that are not hard links of their blob.
    let manifest = member.core().state.read(|s| s.tree().clone());
    let t = tree.clone();
    let copies_bad = blocking(move || {
        let mut bad = 0usize;
        for (path, entry) in &manifest {
            let TreeEntry::File { sha256, .. } = entry else {
                continue;
            };
            let Some(file) = mat::tree_file(&t.root, path) else {
                continue;
            };
            let (Ok(meta), Ok(blob)) = (
                std::fs::symlink_metadata(&file),
                std::fs::metadata(t.blobs.path(sha256)),
            ) else {
                continue;
            };
            use std::os::unix::fs::MetadataExt;
            if !meta.is_file() || (meta.dev(), meta.ino()) == (blob.dev(), blob.ino()) {
                continue;
            }
            if super::blobs::hash_file(&file).is_ok_and(|h| &h != sha256) {
                t.error(format!("{path} is corrupt on disk: placed again"));
                let _ = std::fs::remove_file(&file);
                t.shared().placed.remove(path);
                bad += 1;
            }
        }
        bad
    })
    .await
    .unwrap_or(0);
    info!(corrupt = bad + copies_bad, "tree scrub finished");
    if bad + copies_bad > 0 {
        tree.wake();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sha(i: u32) -> Sha256 {
        let mut s = [0u8; 32];
        s[..4].copy_from_slice(&i.to_be_bytes());
        s
    }

    #[test]
    fn small_blobs_go_in_bounded_batches_between_the_large_ones() {
        let mut missing = BTreeMap::new();
        for i in 0..200 {
            missing.insert(sha(i), 1000);
        }
        // Small by size, but big enough to fill a batch's bytes alone.
        for i in 200..210 {
            missing.insert(sha(i), SMALL);
        }
        for i in 210..213 {
            missing.insert(sha(i), SMALL + 1);
        }
        let jobs = jobs(missing.clone());
        let mut seen = BTreeMap::new();
        for job in &jobs {
            match job {
                Job::Large(s, size) => {
                    assert!(*size > SMALL);
                    seen.insert(*s, *size);
                }
                Job::Small(batch) => {
                    assert!(!batch.is_empty() && batch.len() <= BATCH_BLOBS);
                    let bytes: u64 = batch.iter().map(|b| b.1).sum();
                    assert!(bytes <= BATCH_BYTES || batch.len() == 1, "{bytes} bytes");
                    for (s, size) in batch {
                        assert!(*size <= SMALL);
                        seen.insert(*s, *size);
                    }
                }
            }
        }
        assert_eq!(seen, missing, "every blob in exactly one job");
        // Large jobs come first and alternate with batches.
        assert!(matches!(jobs[0], Job::Large(..)));
        assert!(matches!(jobs[1], Job::Small(..)));
        assert!(matches!(jobs[2], Job::Large(..)));
    }

    #[test]
    fn the_largest_blobs_are_fetched_first() {
        let missing: BTreeMap<Sha256, u64> = [
            (sha(1), SMALL + 10),
            (sha(2), 50 * SMALL),
            (sha(3), 100),
            (sha(4), 7 * SMALL),
        ]
        .into();
        let order: Vec<u64> = jobs(missing)
            .iter()
            .filter_map(|j| match j {
                Job::Large(_, size) => Some(*size),
                Job::Small(_) => None,
            })
            .collect();
        assert_eq!(order, [50 * SMALL, 7 * SMALL, SMALL + 10]);
    }
}
