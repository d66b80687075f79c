//! A read-only ISO 9660 reader over any `Read + Seek`.
//!
//! Installation media arrive as ISO images. Mounting them needs root and a
//! loop device; shelling out to `xorriso`/`7z`/`bsdtar` adds a tool to every
//! member and parses its text output. Reading the format directly is a few
//! hundred lines of bounds-checked parsing, runs unprivileged on a plain
//! file, and streams each file with a fixed buffer.
//!
//! Shape: [`IsoImage::open`] reads the volume descriptors from sector 16 on
//! and picks one directory tree and its naming scheme, best first:
//!
//! 1. the primary tree with Rock Ridge (`SP`/`ER` in the root's `.` record):
//!    POSIX names (`NM`), modes (`PX`), symlinks (`SL`), relocated deep
//!    directories (`CL`/`RE`);
//! 2. the Joliet supplementary tree (UCS-2 names), for `-J`-only images;
//! 3. the primary tree with plain ISO names: `;1` and a trailing `.` are
//!    stripped and the upper-case d-characters lowered, as Linux mounts them.
//!
//! [`IsoImage::read_dir`], [`IsoImage::walk`] and [`IsoImage::lookup`] list
//! entries; [`IsoImage::open_entry`] or [`ExtentReader`] stream one file.
//! A file larger than 4 GiB is several consecutive directory records with
//! the multi-extent flag on all but the last; they are merged into one entry.
//!
//! Every number read from the image is untrusted: offsets are checked against
//! the image's real length, directory sizes, depth, entry counts and SUSP
//! continuation chains are bounded by [`Limits`], a directory reached twice
//! is refused (no cycles), and names that could escape a path (`..`, `/`,
//! NUL) are refused. Errors say what was wrong and where; nothing panics.

use std::collections::HashSet;
use std::io::{self, Read, Seek, SeekFrom};

use super::dirrecord::{
    check_name, is_joliet, joliet_name, le16, le32, path_order, plain_name, read_exact_at, records,
};
use super::rockridge::{self, RrInfo};

/// The sector size of every ISO 9660 volume descriptor and of the unit in
/// which directory records are laid out (records never cross one).
pub const SECTOR: u64 = 2048;
/// Volume descriptors start here: sectors 0-15 are the system area.
const FIRST_DESCRIPTOR: u64 = 16;
/// A real image has a handful of descriptors; more is corruption.
const MAX_DESCRIPTORS: u64 = 64;

/// Directory-record flag bits (ECMA-119 9.1.6).
const FLAG_DIRECTORY: u8 = 0x02;
const FLAG_ASSOCIATED: u8 = 0x04;
const FLAG_MULTI_EXTENT: u8 = 0x80;

/// What went wrong reading an image. Callers show it to the admin; none of
/// these is retryable except `Io` on a flaky source.
#[derive(Debug, thiserror::Error)]
pub enum IsoError {
    #[error("reading the image at byte {offset} failed")]
    Io {
        offset: u64,
        #[source]
        source: io::Error,
    },
    #[error("not an ISO 9660 image: {0}")]
    NotIso(String),
    #[error("corrupt ISO 9660 image: {0}")]
    Corrupt(String),
    #[error("unsupported ISO 9660 image: {0}")]
    Unsupported(String),
    #[error("ISO 9660 image exceeds a limit: {0}")]
    Limit(String),
}

/// Bounds on what one image may make the reader do.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Directory nesting (Rock Ridge allows deep trees; real media stay under 20).
    pub max_depth: usize,
    /// Entries in a whole walk.
    pub max_entries: usize,
    /// Bytes of one directory's records, read into memory at once.
    pub max_dir_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_depth: 64,
            max_entries: 2_000_000,
            max_dir_bytes: 32 << 20,
        }
    }
}

/// Which naming scheme the chosen tree uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameSource {
    RockRidge,
    Joliet,
    Plain,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    File,
    Dir,
    Symlink,
}

/// One contiguous run of file bytes, as byte offsets into the image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Extent {
    pub start: u64,
    pub len: u64,
}

/// One file, directory or symlink of the image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Relative path, `/`-separated, no leading slash (`casper/vmlinuz`).
    pub path: String,
    pub kind: EntryKind,
    /// Bytes of a file (sum of its extents); 0 for directories and symlinks.
    pub size: u64,
    /// POSIX mode from Rock Ridge `PX`, when the image has it.
    pub mode: Option<u32>,
    /// Target of a Rock Ridge symlink, as recorded (never followed).
    pub symlink: Option<String>,
    /// Where the bytes are (a directory: its records).
    pub extents: Vec<Extent>,
}

/// An opened image: the chosen tree and how to name its entries.
pub struct IsoImage<R> {
    reader: R,
    image_len: u64,
    block_size: u64,
    root: Extent,
    names: NameSource,
    /// Bytes to skip at the start of every System Use area (SUSP `SP`).
    susp_skip: usize,
    limits: Limits,
    volume_id: String,
}

impl<R: Read + Seek> IsoImage<R> {
    pub fn open(reader: R) -> Result<Self, IsoError> {
        Self::open_with_limits(reader, Limits::default())
    }

    pub fn open_with_limits(mut reader: R, limits: Limits) -> Result<Self, IsoError> {
        let image_len = reader
            .seek(SeekFrom::End(0))
            .map_err(|source| IsoError::Io { offset: 0, source })?;
        let mut primary = None;
        let mut joliet = None;
        for index in 0..MAX_DESCRIPTORS {
            let sector = FIRST_DESCRIPTOR + index;
            if (sector + 1) * SECTOR > image_len {
                break;
            }
            let mut desc = vec![0u8; SECTOR as usize];
            read_exact_at(&mut reader, sector * SECTOR, &mut desc)?;
            if &desc[1..6] != b"CD001" {
                break;
            }
            match desc[0] {
                1 if primary.is_none() => primary = Some(desc),
                2 if joliet.is_none() && is_joliet(&desc) => joliet = Some(desc),
                255 => break,
                _ => {}
            }
        }
        let Some(pvd) = primary else {
            return Err(IsoError::NotIso(format!(
                "no primary volume descriptor at sector {FIRST_DESCRIPTOR}"
            )));
        };
        let block_size = u64::from(le16(&pvd, 128));
        if !matches!(block_size, 512 | 1024 | 2048) {
            return Err(IsoError::Unsupported(format!(
                "logical block size {block_size} (expected 512, 1024 or 2048)"
            )));
        }
        let volume_id = String::from_utf8_lossy(&pvd[40..72]).trim_end().to_string();
        let mut image = IsoImage {
            reader,
            image_len,
            block_size,
            root: Extent { start: 0, len: 0 },
            names: NameSource::Plain,
            susp_skip: 0,
            limits,
            volume_id,
        };
        image.root = image.root_extent(&pvd, "primary")?;
        if let Some(skip) = image.rock_ridge_skip()? {
            image.names = NameSource::RockRidge;
            image.susp_skip = skip;
        } else if let Some(svd) = joliet {
            image.root = image.root_extent(&svd, "Joliet")?;
            image.names = NameSource::Joliet;
        }
        Ok(image)
    }

    pub fn name_source(&self) -> NameSource {
        self.names
    }

    /// The volume identifier of the primary descriptor (trailing blanks removed).
    pub fn volume_id(&self) -> &str {
        &self.volume_id
    }

    /// The root directory as an entry with an empty path.
    pub fn root(&self) -> Entry {
        Entry {
            path: String::new(),
            kind: EntryKind::Dir,
            size: 0,
            mode: None,
            symlink: None,
            extents: vec![self.root],
        }
    }

    /// Every entry below the root, each directory before its contents,
    /// siblings sorted by name.
    pub fn walk(&mut self) -> Result<Vec<Entry>, IsoError> {
        let mut out = Vec::new();
        let mut visited = HashSet::new();
        visited.insert(self.root.start);
        // Directories still to list, with their depth.
        let mut stack = vec![(self.root(), 0usize)];
        while let Some((dir, depth)) = stack.pop() {
            let children = self.read_dir(&dir)?;
            let mut subdirs = Vec::new();
            for child in children {
                if out.len() >= self.limits.max_entries {
                    return Err(IsoError::Limit(format!(
                        "more than {} entries",
                        self.limits.max_entries
                    )));
                }
                if child.kind == EntryKind::Dir {
                    if depth + 1 > self.limits.max_depth {
                        return Err(IsoError::Limit(format!(
                            "{} is nested deeper than {} directories",
                            child.path, self.limits.max_depth
                        )));
                    }
                    if !visited.insert(child.extents[0].start) {
                        return Err(IsoError::Corrupt(format!(
                            "directory {} points at a directory already listed (a cycle)",
                            child.path
                        )));
                    }
                    subdirs.push(child.clone());
                }
                out.push(child);
            }
            stack.extend(subdirs.into_iter().map(|sub| (sub, depth + 1)));
        }
        // The stack visits directories in no useful order; one sort puts
        // each directory before its contents and siblings by name.
        out.sort_by(|a, b| path_order(&a.path, &b.path));
        Ok(out)
    }

    /// Finds one entry by relative path (`.disk/info`), reading only the
    /// directories on the way. `Ok(None)` when any component is missing.
    pub fn lookup(&mut self, path: &str) -> Result<Option<Entry>, IsoError> {
        let mut current = self.root();
        for (depth, component) in path.split('/').filter(|c| !c.is_empty()).enumerate() {
            if current.kind != EntryKind::Dir || depth > self.limits.max_depth {
                return Ok(None);
            }
            let children = self.read_dir(&current)?;
            match children
                .into_iter()
                .find(|c| c.path.rsplit('/').next() == Some(component))
            {
                Some(child) => current = child,
                None => return Ok(None),
            }
        }
        Ok(Some(current))
    }

    /// A reader of one file's bytes, borrowing the image.
    pub fn open_entry(&mut self, entry: &Entry) -> Result<ExtentReader<&mut R>, IsoError> {
        if entry.kind != EntryKind::File {
            return Err(IsoError::Corrupt(format!(
                "{} is not a regular file",
                entry.path
            )));
        }
        Ok(ExtentReader::new(&mut self.reader, entry.extents.clone()))
    }

    /// Reads a whole file of at most `max` bytes (marker files, configs).
    pub fn read_small(&mut self, entry: &Entry, max: u64) -> Result<Vec<u8>, IsoError> {
        if entry.size > max {
            return Err(IsoError::Limit(format!(
                "{} is {} bytes, more than the {max} expected of it",
                entry.path, entry.size
            )));
        }
        let mut out = Vec::with_capacity(entry.size as usize);
        let offset = entry.extents.first().map_or(0, |e| e.start);
        self.open_entry(entry)?
            .read_to_end(&mut out)
            .map_err(|source| IsoError::Io { offset, source })?;
        Ok(out)
    }

    /// The entries of one directory, `.` and `..` excluded, multi-extent
    /// records merged.
    pub fn read_dir(&mut self, dir: &Entry) -> Result<Vec<Entry>, IsoError> {
        let extent = dir
            .extents
            .first()
            .copied()
            .unwrap_or(Extent { start: 0, len: 0 });
        if extent.len > self.limits.max_dir_bytes {
            return Err(IsoError::Limit(format!(
                "directory /{} has {} bytes of records (limit {})",
                dir.path, extent.len, self.limits.max_dir_bytes
            )));
        }
        self.check_extent(&dir.path, extent)?;
        let mut data = vec![0u8; extent.len as usize];
        read_exact_at(&mut self.reader, extent.start, &mut data)?;
        let mut out: Vec<Entry> = Vec::new();
        // A file whose previous record had the multi-extent flag set.
        let mut pending: Option<(Entry, Vec<u8>)> = None;
        for raw in records(&data, &dir.path)? {
            let rec = self.parse_record(raw, &dir.path)?;
            let Some(rec) = rec else { continue };
            let (entry, iso_name, multi) = rec;
            if let Some((mut head, head_name)) = pending.take() {
                if head_name != iso_name {
                    return Err(IsoError::Corrupt(format!(
                        "multi-extent file {} is followed by {} instead of its next extent",
                        head.path, entry.path
                    )));
                }
                head.size = head.size.saturating_add(entry.size);
                head.extents.extend(entry.extents);
                if multi {
                    pending = Some((head, head_name));
                } else {
                    out.push(head);
                }
                continue;
            }
            if multi && entry.kind == EntryKind::File {
                pending = Some((entry, iso_name));
            } else {
                out.push(entry);
            }
        }
        if let Some((head, _)) = pending {
            return Err(IsoError::Corrupt(format!(
                "multi-extent file {} has no final extent",
                head.path
            )));
        }
        Ok(out)
    }

    /// One directory record to an entry; `None` for `.`, `..`, associated
    /// files and Rock Ridge relocated directories (reached through `CL`).
    /// Also returns the raw ISO name (to pair multi-extent records) and the
    /// multi-extent flag.
    #[allow(clippy::type_complexity)]
    fn parse_record(
        &mut self,
        raw: &[u8],
        parent: &str,
    ) -> Result<Option<(Entry, Vec<u8>, bool)>, IsoError> {
        let flags = raw[25];
        let name_len = usize::from(raw[32]);
        let iso_name = raw[33..33 + name_len].to_vec();
        if name_len == 1 && (iso_name[0] == 0 || iso_name[0] == 1) {
            return Ok(None);
        }
        if flags & FLAG_ASSOCIATED != 0 {
            return Ok(None);
        }
        if raw[26] != 0 || raw[27] != 0 {
            return Err(IsoError::Unsupported(format!(
                "interleaved file in /{parent}"
            )));
        }
        let ext_attr_blocks = u64::from(raw[1]);
        let lba = u64::from(le32(raw, 2));
        let data_len = u64::from(le32(raw, 10));
        let mut start = (lba + ext_attr_blocks) * self.block_size;
        let mut kind = if flags & FLAG_DIRECTORY != 0 {
            EntryKind::Dir
        } else {
            EntryKind::File
        };
        let mut rr = RrInfo::default();
        if self.names == NameSource::RockRidge {
            let su_start = 33 + name_len + (1 - name_len % 2);
            let su = raw.get(su_start + self.susp_skip..).unwrap_or(&[]);
            rr = rockridge::parse(su, &mut |block, offset, len| {
                self.read_continuation(block, offset, len)
            })?;
            if rr.relocated {
                return Ok(None);
            }
        }
        let name = match (&rr.name, self.names) {
            (Some(n), _) => n.clone(),
            (None, NameSource::Joliet) => joliet_name(&iso_name),
            (None, _) => plain_name(&iso_name),
        };
        check_name(&name, parent)?;
        let path = if parent.is_empty() {
            name
        } else {
            format!("{parent}/{name}")
        };
        let mut len = data_len;
        if let Some(child_lba) = rr.child_link {
            // A directory moved to rr_moved: its records live at CL's block.
            kind = EntryKind::Dir;
            start = u64::from(child_lba) * self.block_size;
            len = self.dir_len_at(start, &path)?;
        }
        if rr.symlink.is_some() {
            kind = EntryKind::Symlink;
        }
        let extent = Extent { start, len };
        let size = match kind {
            EntryKind::File => {
                self.check_extent(&path, extent)?;
                data_len
            }
            _ => 0,
        };
        let entry = Entry {
            path,
            kind,
            size,
            mode: rr.mode,
            symlink: rr.symlink,
            extents: vec![extent],
        };
        Ok(Some((entry, iso_name, flags & FLAG_MULTI_EXTENT != 0)))
    }

    /// The length of a relocated directory, read from its own `.` record.
    fn dir_len_at(&mut self, start: u64, path: &str) -> Result<u64, IsoError> {
        let mut dot = [0u8; 34];
        self.check_extent(path, Extent { start, len: 34 })?;
        read_exact_at(&mut self.reader, start, &mut dot)?;
        if dot[0] < 34 || dot[32] != 1 || dot[33] != 0 {
            return Err(IsoError::Corrupt(format!(
                "relocated directory {path} has no `.` record"
            )));
        }
        Ok(u64::from(le32(&dot, 10)))
    }

    fn read_continuation(
        &mut self,
        block: u32,
        offset: u32,
        len: u32,
    ) -> Result<Vec<u8>, IsoError> {
        let start = u64::from(block) * self.block_size + u64::from(offset);
        let extent = Extent {
            start,
            len: u64::from(len),
        };
        if len > rockridge::MAX_CONTINUATION {
            return Err(IsoError::Limit(format!(
                "SUSP continuation area of {len} bytes"
            )));
        }
        self.check_extent("a SUSP continuation area", extent)?;
        let mut data = vec![0u8; len as usize];
        read_exact_at(&mut self.reader, start, &mut data)?;
        Ok(data)
    }

    fn root_extent(&self, desc: &[u8], which: &str) -> Result<Extent, IsoError> {
        let root = &desc[156..190];
        if root[0] < 34 || root[25] & FLAG_DIRECTORY == 0 {
            return Err(IsoError::Corrupt(format!(
                "{which} volume descriptor has no root directory record"
            )));
        }
        let extent = Extent {
            start: u64::from(le32(root, 2)) * self.block_size,
            len: u64::from(le32(root, 10)),
        };
        self.check_extent("the root directory", extent)?;
        Ok(extent)
    }

    /// `Some(skip)` when the primary root's `.` record announces Rock Ridge.
    fn rock_ridge_skip(&mut self) -> Result<Option<usize>, IsoError> {
        let len = self.root.len.min(SECTOR) as usize;
        let mut sector = vec![0u8; len];
        read_exact_at(&mut self.reader, self.root.start, &mut sector)?;
        let Some(dot) = records(&sector, "")?.into_iter().next() else {
            return Ok(None);
        };
        if dot[32] != 1 || dot[33] != 0 {
            return Ok(None);
        }
        let su = &dot[34..];
        rockridge::detect(su, &mut |block, offset, len| {
            self.read_continuation(block, offset, len)
        })
    }

    fn check_extent(&self, what: &str, extent: Extent) -> Result<(), IsoError> {
        match extent.start.checked_add(extent.len) {
            Some(end) if end <= self.image_len => Ok(()),
            _ => Err(IsoError::Corrupt(format!(
                "{} extends past the end of the image (bytes {}..{} of {}; truncated?)",
                if what.is_empty() { "/" } else { what },
                extent.start,
                extent.start.saturating_add(extent.len),
                self.image_len
            ))),
        }
    }
}

/// Streams the bytes of one file, extent after extent, through the caller's
/// buffer: memory stays bounded whatever the file size.
pub struct ExtentReader<R> {
    reader: R,
    extents: Vec<Extent>,
    /// Index of the current extent and bytes already read from it.
    index: usize,
    done_in_extent: u64,
}

impl<R: Read + Seek> ExtentReader<R> {
    pub fn new(reader: R, extents: Vec<Extent>) -> Self {
        ExtentReader {
            reader,
            extents,
            index: 0,
            done_in_extent: 0,
        }
    }
}

impl<R: Read + Seek> Read for ExtentReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while let Some(extent) = self.extents.get(self.index) {
            let left = extent.len - self.done_in_extent;
            if left == 0 {
                self.index += 1;
                self.done_in_extent = 0;
                continue;
            }
            if buf.is_empty() {
                return Ok(0);
            }
            let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
            self.reader
                .seek(SeekFrom::Start(extent.start + self.done_in_extent))?;
            let got = self.reader.read(&mut buf[..want])?;
            if got == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!(
                        "image ends inside a file extent at byte {}",
                        extent.start + self.done_in_extent
                    ),
                ));
            }
            self.done_in_extent += got as u64;
            return Ok(got);
        }
        Ok(0)
    }
}
