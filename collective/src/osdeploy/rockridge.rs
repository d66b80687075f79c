//! Rock Ridge (RRIP) over SUSP: the POSIX layer of an ISO 9660 directory
//! record's System Use area.
//!
//! Only what an import needs is read: `NM` (the real name, possibly split
//! over several entries), `PX` (mode), `SL` (symlink target, built from
//! components), `CL`/`RE` (a directory deeper than eight levels moved to
//! `rr_moved` and linked back), `CE` (the area continues elsewhere) and `ST`
//! (stop). Time stamps, device numbers and owners are ignored: the tree
//! stores neither.
//!
//! A System Use area is untrusted bytes; a malformed entry ends the area
//! (padding bytes look the same), while an impossible continuation chain is
//! an error.

use super::dirrecord::le32;
use super::iso9660::IsoError;

/// Largest SUSP continuation area accepted; real ones fit in one block.
pub const MAX_CONTINUATION: u32 = 64 * 1024;
/// Continuation areas followed from one record; more means a loop.
const MAX_CHAIN: usize = 16;
/// Longest name or symlink target assembled from entries.
const MAX_TEXT: usize = 4096;

/// NM and SL component flags (RRIP 4.1.4, 4.1.3.1).
const CONTINUE: u8 = 0x01;
const CURRENT: u8 = 0x02;
const PARENT: u8 = 0x04;
const ROOT: u8 = 0x08;

/// What Rock Ridge says about one directory record.
#[derive(Debug, Default)]
pub struct RrInfo {
    pub name: Option<String>,
    pub mode: Option<u32>,
    pub symlink: Option<String>,
    /// `CL`: this record stands for a directory relocated to this block.
    pub child_link: Option<u32>,
    /// `RE`: this record is the relocated directory itself; list it only
    /// where its `CL` points from.
    pub relocated: bool,
}

/// Reads a continuation area: (block, offset in block, length).
pub type Continuation<'a> = dyn FnMut(u32, u32, u32) -> Result<Vec<u8>, IsoError> + 'a;

/// Called with each entry's signature and whole bytes.
type EntryVisitor<'a> = dyn FnMut(&[u8; 2], &[u8]) -> Result<(), IsoError> + 'a;

/// Parses one record's System Use area (already past SUSP's skip bytes).
pub fn parse(area: &[u8], read: &mut Continuation<'_>) -> Result<RrInfo, IsoError> {
    let mut info = RrInfo::default();
    let mut name = Vec::new();
    let mut link = LinkBuilder::default();
    let mut saw_name = false;
    for_each_entry(area, read, &mut |sig, entry| {
        match sig {
            b"NM" if entry.len() >= 5 => {
                let flags = entry[4];
                if flags & (CURRENT | PARENT) == 0 {
                    saw_name = true;
                    push_bounded(&mut name, &entry[5..], "name")?;
                }
            }
            b"PX" if entry.len() >= 12 => info.mode = Some(le32(entry, 4)),
            b"SL" if entry.len() >= 5 => link.add(&entry[5..])?,
            b"CL" if entry.len() >= 12 => info.child_link = Some(le32(entry, 4)),
            b"RE" => info.relocated = true,
            _ => {}
        }
        Ok(())
    })?;
    if saw_name {
        info.name = Some(String::from_utf8_lossy(&name).into_owned());
    }
    info.symlink = link.finish();
    Ok(info)
}

/// Looks at the root's `.` record: `Some(skip)` when it starts with `SP`
/// (skip = LEN_SKP), `Some(0)` when it only carries a Rock Ridge `ER`.
pub fn detect(area: &[u8], read: &mut Continuation<'_>) -> Result<Option<usize>, IsoError> {
    if area.len() >= 7 && &area[0..2] == b"SP" && area[4] == 0xBE && area[5] == 0xEF {
        return Ok(Some(usize::from(area[6])));
    }
    let mut found = false;
    for_each_entry(area, read, &mut |sig, entry| {
        if sig == b"ER" && entry.len() >= 8 {
            let id_len = usize::from(entry[4]);
            let id = entry.get(8..8 + id_len).unwrap_or(&[]);
            let id = String::from_utf8_lossy(id);
            found |= id.starts_with("RRIP") || id.contains("1282");
        }
        Ok(())
    })?;
    Ok(found.then_some(0))
}

/// Calls `f(signature, whole entry)` for each entry of an area and of the
/// continuation areas it chains to.
fn for_each_entry(
    area: &[u8],
    read: &mut Continuation<'_>,
    f: &mut EntryVisitor<'_>,
) -> Result<(), IsoError> {
    let mut current = area.to_vec();
    for _ in 0..=MAX_CHAIN {
        let mut next = None;
        let mut pos = 0;
        while pos + 4 <= current.len() {
            let sig = [current[pos], current[pos + 1]];
            let len = usize::from(current[pos + 2]);
            if len < 4 || pos + len > current.len() {
                break;
            }
            let entry = &current[pos..pos + len];
            match &sig {
                b"ST" => break,
                b"CE" if len >= 28 => {
                    next = Some((le32(entry, 4), le32(entry, 12), le32(entry, 20)))
                }
                _ => f(&sig, entry)?,
            }
            pos += len;
        }
        match next {
            Some((block, offset, len)) => current = read(block, offset, len)?,
            None => return Ok(()),
        }
    }
    Err(IsoError::Limit(format!(
        "more than {MAX_CHAIN} chained SUSP continuation areas (a loop?)"
    )))
}

fn push_bounded(out: &mut Vec<u8>, bytes: &[u8], what: &str) -> Result<(), IsoError> {
    if out.len() + bytes.len() > MAX_TEXT {
        return Err(IsoError::Limit(format!(
            "a Rock Ridge {what} longer than {MAX_TEXT} bytes"
        )));
    }
    out.extend_from_slice(bytes);
    Ok(())
}

/// Assembles an `SL` target from components, which may span entries.
#[derive(Default)]
struct LinkBuilder {
    target: Vec<u8>,
    seen: bool,
    /// The last component continues in the next one (no `/` between).
    continuing: bool,
}

impl LinkBuilder {
    fn add(&mut self, mut components: &[u8]) -> Result<(), IsoError> {
        self.seen = true;
        while components.len() >= 2 {
            let flags = components[0];
            let len = usize::from(components[1]);
            let Some(content) = components.get(2..2 + len) else {
                break;
            };
            let piece: &[u8] = if flags & ROOT != 0 {
                b"/"
            } else if flags & CURRENT != 0 {
                b"."
            } else if flags & PARENT != 0 {
                b".."
            } else {
                content
            };
            let needs_slash =
                !self.continuing && !self.target.is_empty() && !self.target.ends_with(b"/");
            if needs_slash && flags & ROOT == 0 {
                push_bounded(&mut self.target, b"/", "symlink target")?;
            }
            push_bounded(&mut self.target, piece, "symlink target")?;
            self.continuing = flags & CONTINUE != 0;
            components = &components[2 + len..];
        }
        Ok(())
    }

    fn finish(self) -> Option<String> {
        self.seen
            .then(|| String::from_utf8_lossy(&self.target).into_owned())
    }
}
