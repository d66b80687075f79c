//! The byte-level half of the ISO 9660 reader: splitting directory data
//! into records, turning recorded names into path components, and reading
//! at an offset. Kept apart from `iso9660.rs`, which decides what to read.

use std::io::{Read, Seek, SeekFrom};

use super::iso9660::{IsoError, SECTOR};

/// Splits a directory's data into records, checking each one's layout.
/// A zero length byte means "no more records in this sector".
pub(super) fn records<'a>(data: &'a [u8], dir: &str) -> Result<Vec<&'a [u8]>, IsoError> {
    let mut out = Vec::new();
    for sector in data.chunks(SECTOR as usize) {
        let mut pos = 0;
        while pos < sector.len() {
            let len = usize::from(sector[pos]);
            if len == 0 {
                break;
            }
            let raw = sector.get(pos..pos + len).ok_or_else(|| {
                IsoError::Corrupt(format!(
                    "a directory record of /{dir} crosses its sector boundary"
                ))
            })?;
            if len < 34 || 33 + usize::from(raw[32]) > len || raw[32] == 0 {
                return Err(IsoError::Corrupt(format!(
                    "directory /{dir} has a malformed record ({len} bytes, name length {})",
                    raw.get(32).copied().unwrap_or(0)
                )));
            }
            out.push(raw);
            pos += len;
        }
    }
    Ok(out)
}

pub(super) fn is_joliet(desc: &[u8]) -> bool {
    let escapes = &desc[88..120];
    [b"%/@", b"%/C", b"%/E"]
        .iter()
        .any(|seq| escapes.windows(3).any(|w| w == *seq))
}

/// A plain ISO name as Linux shows it: `README.TXT;1` -> `readme.txt`.
pub(super) fn plain_name(raw: &[u8]) -> String {
    let text = String::from_utf8_lossy(raw);
    strip_version(&text).to_ascii_lowercase()
}

/// Joliet names are big-endian UCS-2 (UTF-16 in practice), also versioned.
pub(super) fn joliet_name(raw: &[u8]) -> String {
    let units = raw
        .chunks_exact(2)
        .map(|p| u16::from_be_bytes([p[0], p[1]]));
    let text: String = char::decode_utf16(units)
        .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect();
    strip_version(&text).to_string()
}

pub(super) fn strip_version(name: &str) -> &str {
    let base = match name.rfind(';') {
        Some(i) if name[i + 1..].bytes().all(|b| b.is_ascii_digit()) => &name[..i],
        _ => name,
    };
    // `NAME.` is how a name without extension is recorded.
    match base.strip_suffix('.') {
        Some(stem) if !stem.is_empty() => stem,
        _ => base,
    }
}

/// Names become tree paths: refuse anything that could climb out of the
/// distribution directory or split into several components.
pub(super) fn check_name(name: &str, parent: &str) -> Result<(), IsoError> {
    if name.is_empty() || name == "." || name == ".." || name.contains(['/', '\0']) {
        return Err(IsoError::Corrupt(format!(
            "directory /{parent} holds an unsafe name {name:?}"
        )));
    }
    Ok(())
}

/// Orders paths so each directory precedes its contents and siblings sort
/// by name (component-wise comparison, not raw string order).
pub(super) fn path_order(a: &str, b: &str) -> std::cmp::Ordering {
    a.split('/').cmp(b.split('/'))
}

pub(super) fn read_exact_at<R: Read + Seek>(
    reader: &mut R,
    offset: u64,
    buf: &mut [u8],
) -> Result<(), IsoError> {
    reader
        .seek(SeekFrom::Start(offset))
        .and_then(|_| reader.read_exact(buf))
        .map_err(|source| IsoError::Io { offset, source })
}

/// Both-endian fields store little-endian first; the callers pass offsets
/// inside buffers whose length they checked.
pub(super) fn le16(buf: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([buf[at], buf[at + 1]])
}

pub(super) fn le32(buf: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([buf[at], buf[at + 1], buf[at + 2], buf[at + 3]])
}
