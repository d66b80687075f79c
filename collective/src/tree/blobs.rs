//! The content-addressed blob store: `<data>/member/blobs/<2 hex>/<64 hex>`,
//! one file per SHA-256, written only through a [`BlobWriter`].
//!
//! A writer streams into `blobs/tmp/<name>.part`, hashing as it goes, so a
//! file of many GiB needs one chunk of memory. `finish` checks the hash (a
//! fetch knows it in advance; an upload learns it), fsyncs the file, renames
//! it into place and fsyncs the directory: a blob name on disk always holds
//! the complete, verified content, or the scrubber finds out. A fetch's
//! `.part` is named by the hash it should become, so a fetch cut short (the
//! peer died, or this member was killed) continues from the part's length:
//! the prefix already on disk is hashed again on reopening, which costs a
//! read but no network.
//!
//! Fetched blobs skip both fsyncs (`finish_fetched`): they can always be
//! fetched again from the member that served them, and the fsyncs were
//! nearly all of a sync's time for trees of many small files (rsync syncs
//! once at the end). Instead the store carries an *unsynced* mark, set
//! durably when a round of fetches begins ([`BlobStore::begin_fetches`])
//! and cleared only after a `syncfs` that began after the round ended
//! ([`BlobStore::flush`], run off the sync task's path, so a slow flush
//! under other writers never holds up fetching). A member that starts with
//! the mark set scrubs every blob before it places or serves anything, so a
//! crash in between cannot serve a torn file. Uploads keep their fsyncs: an
//! upload is acknowledged to an admin, and the uploading member may hold
//! the only copy.
//!
//! A fetch writes its part with `O_DIRECT` where the file system allows it
//! (see [`Staging`]): the bytes go from one reused, aligned buffer to the
//! disk without passing through the page cache. On these virtual machines
//! filling fresh page-cache pages is the slow part of writing (measured
//! with dd, 1 GiB: 1.8 GB/s direct, 0.34-0.45 GB/s buffered on pages the
//! guest had handed back, 4.4 GB/s on pages it still held), and a fetched
//! blob is not read again soon: it is placed by hard link and served later.
//! Uploads stay buffered: the uploading member serves them to the others
//! at once.
//!
//! Blocking I/O throughout: callers run it on the blocking pool.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::LazyLock;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::SystemTime;

use ring::digest::{Context, SHA256};
use rustix::io::Errno;

use crate::chunks::BufferPool;

/// Bytes read per step when hashing files already on disk.
const HASH_BUF: usize = 1 << 20;

/// A SHA-256 content hash.
pub type Sha256 = [u8; 32];

/// Lower-case hex of a hash (the blob's file name, the HTTP ETag).
pub fn hex(sha: &Sha256) -> String {
    sha.iter().map(|b| format!("{b:02x}")).collect()
}

/// A hash from 64 hex digits, or `None`.
pub fn parse_hex(text: &str) -> Option<Sha256> {
    if text.len() != 64 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(text.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

/// A hash from wire bytes (exactly 32), or `None`.
pub fn from_bytes(bytes: &[u8]) -> Option<Sha256> {
    bytes.try_into().ok()
}

/// Why a blob could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("{what} {}: {source}", path.display())]
    Io {
        what: &'static str,
        path: PathBuf,
        source: io::Error,
    },
    /// More bytes than the blob may have: the sender is wrong; discard.
    #[error("more than the {limit} bytes declared")]
    TooLong { limit: u64 },
    /// Fewer bytes than declared at the end of an upload.
    #[error("{got} bytes received, {declared} declared")]
    TooShort { got: u64, declared: u64 },
    /// The content is not what its name says: discard and fetch again.
    #[error("content hashes to {got}, not {expected}")]
    Mismatch { expected: String, got: String },
}

fn io_err(what: &'static str, path: &Path) -> impl FnOnce(io::Error) -> BlobError + use<> {
    let path = path.to_owned();
    move |source| BlobError::Io { what, path, source }
}

/// The blob directory of one member.
#[derive(Debug, Clone)]
pub struct BlobStore {
    root: PathBuf,
    /// Rounds of unsynced fetches begun, and whether one is running: a
    /// flush clears the mark only if no round began or ran meanwhile.
    rounds: std::sync::Arc<(AtomicU64, AtomicBool)>,
}

impl BlobStore {
    /// Opens (creating) the store at `root` (`<data>/member/blobs`).
    pub fn open(root: impl Into<PathBuf>) -> Result<BlobStore, BlobError> {
        let root = root.into();
        let tmp = root.join("tmp");
        fs::create_dir_all(&tmp).map_err(io_err("cannot create", &tmp))?;
        Ok(BlobStore {
            root,
            rounds: std::sync::Arc::default(),
        })
    }

    /// Where the blob `sha` lives (whether or not it is there).
    pub fn path(&self, sha: &Sha256) -> PathBuf {
        let h = hex(sha);
        self.root.join(&h[..2]).join(h)
    }

    fn tmp_dir(&self) -> PathBuf {
        self.root.join("tmp")
    }

    /// Whether the blob is in the store (complete: only verified content is
    /// ever renamed into place).
    pub fn has(&self, sha: &Sha256) -> bool {
        fs::symlink_metadata(self.path(sha)).is_ok_and(|m| m.is_file())
    }

    /// A writer for the blob `sha` of `size` bytes, continuing a part left
    /// by an earlier attempt (its prefix is hashed again).
    pub fn resume(&self, sha: &Sha256, size: u64) -> Result<BlobWriter, BlobError> {
        let part = self.tmp_dir().join(format!("{}.part", hex(sha)));
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&part)
            .map_err(io_err("cannot open", &part))?;
        let mut ctx = Context::new(&SHA256);
        let mut len = file.metadata().map_err(io_err("cannot stat", &part))?.len();
        if len > size {
            // Longer than the blob can be (or a padded last direct write
            // whose truncation a crash cut off): nothing in it can be trusted.
            file.set_len(0).map_err(io_err("cannot truncate", &part))?;
            len = 0;
        } else if len > 0 {
            file.seek(SeekFrom::Start(0))
                .map_err(io_err("cannot read", &part))?;
            let hashed = hash_reader(&mut file, &mut ctx).map_err(io_err("cannot read", &part))?;
            // A concurrent truncation would make the two differ; start over.
            if hashed != len {
                file.set_len(0).map_err(io_err("cannot truncate", &part))?;
                ctx = Context::new(&SHA256);
                len = 0;
            }
        }
        file.seek(SeekFrom::Start(len))
            .map_err(io_err("cannot seek in", &part))?;
        // Direct writes need an aligned file offset: a part left by a
        // buffered writer is continued buffered.
        let direct = if len % DIRECT_ALIGN as u64 == 0 {
            Staging::direct(&file)
        } else {
            None
        };
        Ok(BlobWriter {
            file,
            part,
            ctx,
            len,
            limit: size,
            expect: Some(*sha),
            target: None,
            store: self.clone(),
            direct,
        })
    }

    /// A writer for an upload of `size` bytes whose hash is learnt at the
    /// end. Its part has a random name: two uploads never share one.
    pub fn upload(&self, size: u64) -> Result<BlobWriter, BlobError> {
        let name = hex(&crate::server::random_bytes::<32>());
        let part = self.tmp_dir().join(format!("upload-{name}.part"));
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&part)
            .map_err(io_err("cannot create", &part))?;
        Ok(BlobWriter {
            file,
            part,
            ctx: Context::new(&SHA256),
            len: 0,
            limit: size,
            expect: None,
            target: Some(size),
            store: self.clone(),
            direct: None,
        })
    }

    /// Stores a whole fetched blob held in memory (a small one, from a
    /// `FetchBlobs` stream): checks its hash, then writes it without fsync,
    /// like [`BlobWriter::finish_fetched`] (inside a round of
    /// [`BlobStore::begin_fetches`]).
    ///
    /// The file is made nameless (`O_TMPFILE`) in the blob's own directory
    /// and linked under its name once written: no part file, so nothing to
    /// clean up after a crash, and no shared `tmp/` directory whose lock
    /// sixteen fetches at once queued on (ext4's directory rwsem showed at
    /// the top of the fetching member's profile in bench/tree.sh). Where
    /// the file system has no `O_TMPFILE`, a part in `tmp/` is renamed.
    pub fn store_fetched(&self, sha: &Sha256, data: &[u8]) -> Result<(), BlobError> {
        let got = crate::server::sha256(data);
        if got != *sha {
            return Err(BlobError::Mismatch {
                expected: hex(sha),
                got: hex(&got),
            });
        }
        let dest = self.path(sha);
        if dest.is_file() {
            return Ok(());
        }
        let dir = dest.parent().unwrap_or(&self.root).to_owned();
        fs::create_dir_all(&dir).map_err(io_err("cannot create", &dir))?;
        match write_nameless(&dir, &dest, data) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
            // No O_TMPFILE here: the upload path's part and rename.
            Err(e)
                if Errno::from_io_error(&e).is_some_and(|n| {
                    [Errno::OPNOTSUPP, Errno::ISDIR, Errno::INVAL].contains(&n)
                }) =>
            {
                let mut w = self.upload(data.len() as u64)?;
                w.write(data)?;
                w.finish_fetched().map(|_| ())
            }
            Err(e) => Err(io_err("cannot write", &dest)(e)),
        }
    }

    /// Puts `bytes` into the store (small derived files); returns the hash.
    pub fn put_bytes(&self, bytes: &[u8]) -> Result<Sha256, BlobError> {
        let sha = crate::server::sha256(bytes);
        if self.has(&sha) {
            return Ok(sha);
        }
        let mut w = self.upload(bytes.len() as u64)?;
        w.write(bytes)?;
        w.finish()
    }

    fn unsynced_mark(&self) -> PathBuf {
        self.root.join("unsynced")
    }

    /// Whether fetched blobs may not have reached the disk (a crash since
    /// a round of fetches, before its flush).
    pub fn is_unsynced(&self) -> bool {
        self.unsynced_mark().exists()
    }

    /// Starts a round of unsynced fetches: the mark is on disk before any
    /// fetched blob is. Returns the round's number, for [`Self::end_fetches`].
    pub fn begin_fetches(&self) -> io::Result<u64> {
        self.rounds.1.store(true, Ordering::SeqCst);
        let round = self.rounds.0.fetch_add(1, Ordering::SeqCst) + 1;
        let mark = self.unsynced_mark();
        if !mark.exists() {
            File::create(&mark)?.sync_all()?;
            File::open(&self.root)?.sync_all()?;
        }
        Ok(round)
    }

    /// Ends the round of fetches begun by [`Self::begin_fetches`].
    pub fn end_fetches(&self) {
        self.rounds.1.store(false, Ordering::SeqCst);
    }

    /// Flushes the file system the store is on (one `syncfs` for every
    /// fetched blob), then clears the mark, unless a round of fetches began
    /// or is running since `after_round` ended. `true` when cleared.
    pub fn flush(&self, after_round: u64) -> io::Result<bool> {
        if !self.is_unsynced() {
            return Ok(true);
        }
        let root = File::open(&self.root)?;
        rustix::fs::syncfs(&root)?;
        let quiet = self.rounds.0.load(Ordering::SeqCst) == after_round
            && !self.rounds.1.load(Ordering::SeqCst);
        if !quiet {
            return Ok(false);
        }
        match fs::remove_file(self.unsynced_mark()) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
            _ => {}
        }
        root.sync_all()?;
        Ok(true)
    }

    /// The round number of the last [`Self::begin_fetches`].
    pub fn last_round(&self) -> u64 {
        self.rounds.0.load(Ordering::SeqCst)
    }

    /// Removes a blob (corrupt, or no longer referenced).
    pub fn remove(&self, sha: &Sha256) -> io::Result<()> {
        match fs::remove_file(self.path(sha)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    /// Hashes the blob on disk: `Ok(true)` when its content matches its name.
    pub fn verify(&self, sha: &Sha256) -> io::Result<bool> {
        Ok(&hash_file(&self.path(sha))? == sha)
    }

    /// Every blob in the store with its modification time. Names that are
    /// not hashes (someone else's files) are skipped.
    pub fn list(&self) -> Vec<(Sha256, SystemTime)> {
        let mut out = Vec::new();
        let Ok(dirs) = fs::read_dir(&self.root) else {
            return out;
        };
        for dir in dirs.flatten() {
            let name = dir.file_name();
            if name.len() != 2 || !dir.file_type().is_ok_and(|t| t.is_dir()) {
                continue;
            }
            let Ok(files) = fs::read_dir(dir.path()) else {
                continue;
            };
            for f in files.flatten() {
                let Some(sha) = f.file_name().to_str().and_then(parse_hex) else {
                    continue;
                };
                if let Ok(meta) = f.metadata()
                    && meta.is_file()
                {
                    out.push((sha, meta.modified().unwrap_or(SystemTime::UNIX_EPOCH)));
                }
            }
        }
        out
    }

    /// Parts in `tmp/`, with their modification times (for clean-up).
    pub fn parts(&self) -> Vec<(PathBuf, SystemTime)> {
        let Ok(entries) = fs::read_dir(self.tmp_dir()) else {
            return Vec::new();
        };
        entries
            .flatten()
            .filter_map(|e| {
                let meta = e.metadata().ok()?;
                Some((e.path(), meta.modified().unwrap_or(SystemTime::UNIX_EPOCH)))
            })
            .collect()
    }
}

/// Streams one blob into the store; see the module documentation.
pub struct BlobWriter {
    file: File,
    part: PathBuf,
    ctx: Context,
    len: u64,
    /// Most bytes accepted.
    limit: u64,
    /// The hash the content must have (a fetch), or `None` (an upload).
    expect: Option<Sha256>,
    /// Exact length required at the end (an upload's declared size).
    target: Option<u64>,
    store: BlobStore,
    /// Bytes not yet written, when the part is written with `O_DIRECT`.
    direct: Option<Staging>,
}

impl BlobWriter {
    /// Bytes written so far (where a resumed fetch continues from).
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Appends a chunk; refuses to go past the declared size.
    pub fn write(&mut self, data: &[u8]) -> Result<(), BlobError> {
        let end = self.len.saturating_add(data.len() as u64);
        if end > self.limit {
            return Err(BlobError::TooLong { limit: self.limit });
        }
        match &mut self.direct {
            None => self.file.write_all(data),
            Some(staging) => staging.put(&mut self.file, data),
        }
        .map_err(io_err("cannot write", &self.part))?;
        self.ctx.update(data);
        self.len = end;
        Ok(())
    }

    /// Verifies, makes durable and renames into place; returns the hash.
    /// On a mismatch the part is deleted (its content is wrong, not short).
    pub fn finish(self) -> Result<Sha256, BlobError> {
        self.finish_with(true)
    }

    /// Like [`BlobWriter::finish`] without the fsyncs, for fetched blobs
    /// inside a round of [`BlobStore::begin_fetches`] (see the module doc).
    pub fn finish_fetched(self) -> Result<Sha256, BlobError> {
        self.finish_with(false)
    }

    fn finish_with(mut self, durable: bool) -> Result<Sha256, BlobError> {
        if let Some(declared) = self.target
            && self.len != declared
        {
            let e = BlobError::TooShort {
                got: self.len,
                declared,
            };
            self.discard();
            return Err(e);
        }
        if let Some(mut staging) = self.direct.take()
            && let Err(e) = staging.drain(&mut self.file, self.len)
        {
            let e = io_err("cannot write", &self.part)(e);
            self.discard();
            return Err(e);
        }
        let mut got = [0u8; 32];
        got.copy_from_slice(self.ctx.clone().finish().as_ref());
        if let Some(expected) = self.expect
            && expected != got
        {
            let e = BlobError::Mismatch {
                expected: hex(&expected),
                got: hex(&got),
            };
            self.discard();
            return Err(e);
        }
        if durable {
            self.file
                .sync_all()
                .map_err(io_err("cannot sync", &self.part))?;
        }
        let dest = self.store.path(&got);
        if dest.is_file() {
            // Already there (an upload of known content): the existing blob
            // counts as fresh, so garbage collection gives the TreePut that
            // follows its hour.
            let _ = File::options()
                .write(true)
                .open(&dest)
                .and_then(|f| f.set_modified(SystemTime::now()));
            self.discard();
            return Ok(got);
        }
        let dir = dest.parent().unwrap_or(&self.store.root).to_owned();
        fs::create_dir_all(&dir).map_err(io_err("cannot create", &dir))?;
        fs::rename(&self.part, &dest).map_err(io_err("cannot rename into", &dest))?;
        // The rename is durable only once the directory is.
        if durable {
            File::open(&dir)
                .and_then(|d| d.sync_all())
                .map_err(io_err("cannot sync", &dir))?;
        }
        Ok(got)
    }

    /// Drops the part file.
    pub fn discard(self) {
        let _ = fs::remove_file(&self.part);
    }
}

/// Alignment of direct writes: of the buffer, the length and the file
/// offset (the logical block size is at most this on any disk we meet).
const DIRECT_ALIGN: usize = 4096;
/// Bytes per direct write (a whole chunk of `FetchBlob`).
const DIRECT_WRITE: usize = 1 << 20;
/// Staging buffers kept for reuse: a fresh buffer per blob would be fresh
/// memory, the very cost direct writes avoid.
const STAGING_KEPT: usize = 32;
static STAGING: LazyLock<BufferPool> = LazyLock::new(|| BufferPool::new(STAGING_KEPT));

/// The aligned buffer of a part written with `O_DIRECT`: bytes collect
/// here and go to the disk [`DIRECT_WRITE`] at a time, so every write but
/// the last is whole and aligned. The last is padded with zeros to the
/// alignment and the file truncated to its length afterwards. Should a
/// direct write be refused (`EINVAL`: some file system or device wants
/// more), the file drops `O_DIRECT` and the writer goes on buffered.
struct Staging {
    mem: Vec<u8>,
    /// Where the aligned area starts in `mem`.
    at: usize,
    filled: usize,
    /// Whether the file still has `O_DIRECT`.
    direct: bool,
}

impl Staging {
    /// Turns on `O_DIRECT` for `file` and takes a buffer; `None` where the
    /// file system has no direct I/O (tmpfs on older kernels, FUSE, ...).
    fn direct(file: &File) -> Option<Staging> {
        let mut mem = STAGING.take(DIRECT_WRITE + DIRECT_ALIGN);
        // Reused buffers already have this length: no zeroing then.
        mem.resize(DIRECT_WRITE + DIRECT_ALIGN, 0);
        let at = mem.as_ptr().align_offset(DIRECT_ALIGN);
        // Built first, so a refusal below gives the buffer back (Drop).
        let staging = Staging {
            mem,
            at,
            filled: 0,
            direct: true,
        };
        if at >= DIRECT_ALIGN {
            return None;
        }
        set_direct(file, true).ok()?;
        Some(staging)
    }

    /// Stages `data`, writing every full buffer.
    fn put(&mut self, file: &mut File, mut data: &[u8]) -> io::Result<()> {
        while !data.is_empty() {
            let n = (DIRECT_WRITE - self.filled).min(data.len());
            let from = self.at + self.filled;
            self.mem[from..from + n].copy_from_slice(&data[..n]);
            self.filled += n;
            data = &data[n..];
            if self.filled == DIRECT_WRITE {
                self.write(file, DIRECT_WRITE)?;
            }
        }
        Ok(())
    }

    /// Writes what is staged (padded), then cuts the file to `len` bytes.
    fn drain(&mut self, file: &mut File, len: u64) -> io::Result<()> {
        let tail = self.filled;
        let n = if self.direct {
            tail.next_multiple_of(DIRECT_ALIGN)
        } else {
            tail
        };
        self.mem[self.at + tail..self.at + n].fill(0);
        self.write(file, n)?;
        if n != tail {
            file.set_len(len)?;
        }
        Ok(())
    }

    /// Writes the first `n` staged bytes and empties the buffer.
    fn write(&mut self, file: &mut File, n: usize) -> io::Result<()> {
        let mut done = 0;
        while done < n {
            let from = self.at + done;
            match file.write(&self.mem[from..self.at + n]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(k) => done += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if self.direct && Errno::from_io_error(&e) == Some(Errno::INVAL) => {
                    set_direct(file, false)?;
                    self.direct = false;
                }
                Err(e) => return Err(e),
            }
        }
        self.filled = 0;
        Ok(())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        STAGING.give(std::mem::take(&mut self.mem));
    }
}

/// Turns `O_DIRECT` on or off for `file`.
fn set_direct(file: &File, on: bool) -> io::Result<()> {
    use rustix::fs::{OFlags, fcntl_getfl, fcntl_setfl};
    let flags = fcntl_getfl(file)?;
    let flags = if on {
        flags | OFlags::DIRECT
    } else {
        flags - OFlags::DIRECT
    };
    Ok(fcntl_setfl(file, flags)?)
}

/// Writes `data` to a nameless file in `dir`, then links it as `dest`.
fn write_nameless(dir: &Path, dest: &Path, data: &[u8]) -> io::Result<()> {
    use rustix::fs::{AtFlags, CWD, Mode, OFlags};
    let fd = rustix::fs::open(
        dir,
        OFlags::TMPFILE | OFlags::WRONLY | OFlags::CLOEXEC,
        Mode::from_raw_mode(0o666),
    )?;
    let mut file = File::from(fd);
    file.write_all(data)?;
    // linkat(AT_EMPTY_PATH) needs CAP_DAC_READ_SEARCH; the /proc link of
    // the descriptor does the same for anyone.
    let proc_path = format!("/proc/self/fd/{}", std::os::fd::AsRawFd::as_raw_fd(&file));
    rustix::fs::linkat(CWD, proc_path.as_str(), CWD, dest, AtFlags::SYMLINK_FOLLOW)?;
    Ok(())
}

/// Feeds everything `r` yields into `ctx`; returns the byte count.
fn hash_reader(r: &mut impl Read, ctx: &mut Context) -> io::Result<u64> {
    let mut buf = vec![0u8; HASH_BUF];
    let mut total = 0u64;
    loop {
        match r.read(&mut buf) {
            Ok(0) => return Ok(total),
            Ok(n) => {
                ctx.update(&buf[..n]);
                total += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// SHA-256 of a file's content.
pub fn hash_file(path: &Path) -> io::Result<Sha256> {
    let mut ctx = Context::new(&SHA256);
    hash_reader(&mut File::open(path)?, &mut ctx)?;
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, BlobStore) {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = BlobStore::open(dir.path().join("blobs")).expect("open");
        (dir, store)
    }

    fn content(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i * 7 % 251) as u8).collect()
    }

    /// What an earlier fetch of `sha` left in its part.
    fn leave_part(store: &BlobStore, sha: &Sha256, bytes: &[u8]) {
        let part = store.tmp_dir().join(format!("{}.part", hex(sha)));
        fs::write(&part, bytes).expect("write part");
    }

    /// Writes `rest` to `w`, finishes it as a fetch and checks the blob.
    fn finish_with_content(store: &BlobStore, mut w: BlobWriter, rest: &[u8], data: &[u8]) {
        let sha = crate::server::sha256(data);
        w.write(rest).expect("write");
        assert_eq!(w.finish_fetched().expect("finish"), sha);
        assert_eq!(fs::read(store.path(&sha)).expect("read"), data);
    }

    #[test]
    fn fetch_resumes_from_the_part_after_a_restart() {
        let (_dir, store) = store();
        let data = content(3 * HASH_BUF + 123);
        let sha = crate::server::sha256(&data);
        let mut w = store.resume(&sha, data.len() as u64).expect("resume");
        w.write(&data[..HASH_BUF + 5]).expect("write");
        // The member dies here: the writer is dropped, the part stays with
        // what reached the disk (a direct writer's staged tail does not).
        drop(w);
        let mut w = store.resume(&sha, data.len() as u64).expect("resume again");
        let kept = w.len() as usize;
        assert!(kept > 0 && kept <= HASH_BUF + 5, "resumed at {kept}");
        w.write(&data[kept..]).expect("write rest");
        assert_eq!(w.finish().expect("finish"), sha);
        assert!(store.has(&sha));
        assert_eq!(fs::read(store.path(&sha)).expect("read"), data);
        assert!(store.verify(&sha).expect("verify"));
        assert!(store.parts().is_empty(), "the part was renamed away");
    }

    /// Whether `dir`'s file system takes `O_DIRECT` opens.
    fn direct_io_works(dir: &Path) -> bool {
        use std::os::unix::fs::OpenOptionsExt;
        OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .custom_flags(rustix::fs::OFlags::DIRECT.bits() as i32)
            .open(dir.join("probe"))
            .is_ok()
    }

    #[test]
    fn a_fetch_writes_directly_in_odd_pieces_and_keeps_the_exact_length() {
        let (dir, store) = store();
        // Unaligned pieces around the staging size, and an unaligned end.
        let data = content(2 * DIRECT_WRITE + 3 * DIRECT_ALIGN + 777);
        let sha = crate::server::sha256(&data);
        let mut w = store.resume(&sha, data.len() as u64).expect("resume");
        if direct_io_works(dir.path()) {
            let flags = rustix::fs::fcntl_getfl(&w.file).expect("flags");
            assert!(flags.contains(rustix::fs::OFlags::DIRECT), "{flags:?}");
            assert!(w.direct.is_some());
        }
        let mut at = 0usize;
        for piece in [
            1,
            DIRECT_ALIGN - 1,
            DIRECT_WRITE,
            5,
            DIRECT_WRITE / 3,
            usize::MAX,
        ]
        .iter()
        .cycle()
        {
            let end = at.saturating_add(*piece).min(data.len());
            w.write(&data[at..end]).expect("write");
            at = end;
            if at == data.len() {
                break;
            }
        }
        assert_eq!(w.finish_fetched().expect("finish"), sha);
        let on_disk = fs::read(store.path(&sha)).expect("read");
        assert_eq!(on_disk.len(), data.len(), "padding cut off");
        assert_eq!(on_disk, data);
        assert!(store.parts().is_empty());
        // A blob of exactly one staging buffer: no padding, no truncation.
        let whole = content(DIRECT_WRITE);
        let sha = crate::server::sha256(&whole);
        let w = store.resume(&sha, whole.len() as u64).expect("resume");
        finish_with_content(&store, w, &whole, &whole);
    }

    #[test]
    fn a_part_of_unaligned_length_is_continued_buffered() {
        let (_dir, store) = store();
        let data = content(DIRECT_WRITE + 999);
        let sha = crate::server::sha256(&data);
        leave_part(&store, &sha, &data[..1000]);
        let w = store.resume(&sha, data.len() as u64).expect("resume");
        assert_eq!(w.len(), 1000);
        assert!(
            w.direct.is_none(),
            "an unaligned offset cannot be written directly"
        );
        finish_with_content(&store, w, &data[1000..], &data);
    }

    #[test]
    fn wrong_content_is_refused_and_its_part_deleted() {
        let (_dir, store) = store();
        let data = content(1000);
        let sha = crate::server::sha256(&data);
        let mut w = store.resume(&sha, 1000).expect("resume");
        let mut bad = data.clone();
        bad[500] ^= 1;
        w.write(&bad).expect("write");
        let e = w.finish().expect_err("mismatch");
        assert!(matches!(e, BlobError::Mismatch { .. }), "{e}");
        assert!(!store.has(&sha));
        assert!(store.parts().is_empty());
    }

    #[test]
    fn more_than_declared_is_refused() {
        let (_dir, store) = store();
        let mut w = store.upload(10).expect("upload");
        w.write(b"0123456789").expect("ten bytes");
        assert!(matches!(
            w.write(b"x"),
            Err(BlobError::TooLong { limit: 10 })
        ));
        let mut short = store.upload(10).expect("upload");
        short.write(b"abc").expect("write");
        assert!(matches!(short.finish(), Err(BlobError::TooShort { .. })));
    }

    #[test]
    fn a_part_longer_than_the_blob_starts_over() {
        let (_dir, store) = store();
        let data = content(DIRECT_ALIGN + 10);
        let sha = crate::server::sha256(&data);
        // Also what a crash between a padded last direct write and the
        // truncation after it leaves.
        let mut padded = data.clone();
        padded.resize(2 * DIRECT_ALIGN, 0);
        leave_part(&store, &sha, &padded);
        let w = store.resume(&sha, data.len() as u64).expect("resume");
        assert_eq!(w.len(), 0, "a part longer than the blob is not trusted");
        finish_with_content(&store, w, &data, &data);
    }

    #[test]
    fn corruption_on_disk_is_detected() {
        let (_dir, store) = store();
        let sha = store.put_bytes(b"hello blob").expect("put");
        assert!(store.verify(&sha).expect("verify"));
        fs::write(store.path(&sha), b"hello blub").expect("corrupt");
        assert!(!store.verify(&sha).expect("verify"));
        assert_eq!(store.list().len(), 1);
        store.remove(&sha).expect("remove");
        assert!(!store.has(&sha));
    }

    #[test]
    fn the_unsynced_mark_outlives_rounds_until_a_quiet_flush() {
        let (_d, s) = store();
        assert!(!s.is_unsynced());
        let first = s.begin_fetches().expect("begin");
        let mut w = s.resume(&crate::server::sha256(b"abc"), 3).expect("resume");
        w.write(b"abc").expect("write");
        w.finish_fetched().expect("finish");
        assert!(s.is_unsynced(), "marked while fetching");
        // A flush while the round runs must not clear the mark.
        assert!(!s.flush(first).expect("flush"));
        s.end_fetches();
        let second = s.begin_fetches().expect("begin");
        s.end_fetches();
        // A flush for the first round after a second one began: kept.
        assert!(!s.flush(first).expect("flush"));
        assert!(s.is_unsynced());
        assert!(s.flush(second).expect("flush"));
        assert!(!s.is_unsynced(), "cleared by a quiet flush");
        assert!(s.flush(second).expect("flush"), "nothing to do");
    }

    #[test]
    fn a_small_fetched_blob_is_stored_whole_and_leaves_no_part() {
        let (_dir, store) = store();
        let data = content(3000);
        let sha = crate::server::sha256(&data);
        store.store_fetched(&sha, &data).unwrap();
        assert_eq!(fs::read(store.path(&sha)).unwrap(), data);
        assert!(store.verify(&sha).unwrap());
        assert!(store.parts().is_empty(), "parts left: {:?}", store.parts());
        // Storing it again (two members delivered it) is no error.
        store.store_fetched(&sha, &data).unwrap();
        assert_eq!(store.list().len(), 1);
    }

    #[test]
    fn a_small_blob_with_wrong_content_is_refused_and_not_stored() {
        let (_dir, store) = store();
        let data = content(3000);
        let sha = crate::server::sha256(&data);
        let mut wrong = data.clone();
        wrong[10] ^= 1;
        let e = store.store_fetched(&sha, &wrong).unwrap_err();
        assert!(matches!(e, BlobError::Mismatch { .. }), "{e}");
        assert!(!store.has(&sha));
        assert!(store.parts().is_empty());
    }

    #[test]
    fn hex_round_trips() {
        let sha = crate::server::sha256(b"x");
        assert_eq!(parse_hex(&hex(&sha)), Some(sha));
        assert_eq!(parse_hex("zz"), None);
        assert_eq!(parse_hex(&"g".repeat(64)), None);
    }
}
