//! Byte ranges (RFC 9110 section 14): parsing the `Range` header against a
//! file's length, and laying out a `multipart/byteranges` body.
//!
//! Parsing is total: any input yields [`Ranges::Ignore`] (serve the whole
//! file, as the RFC asks for a header we cannot use), [`Ranges::Unsatisfiable`]
//! (416) or a non-empty list of inclusive `(first, last)` pairs, never a
//! panic. Overlapping requests are coalesced, and a list longer than
//! [`MAX_RANGES`] is ignored: both keep one small header from turning into
//! many times the file's length on the wire (RFC 9110 section 17.15).

use hyper::body::Bytes;

use super::body::Segment;

/// More ranges than this in one request are answered with the whole file.
pub const MAX_RANGES: usize = 64;

/// What a `Range` header asks of a file of a given length.
#[derive(Debug, PartialEq, Eq)]
pub enum Ranges {
    /// Malformed, another unit, or too many ranges: send the whole file.
    Ignore,
    /// Well formed, but no range overlaps the file: 416.
    Unsatisfiable,
    /// Inclusive byte positions, in the order the client asked (or sorted,
    /// when overlaps were merged). Never empty.
    Satisfiable(Vec<(u64, u64)>),
}

/// One range-spec before it meets the file's length.
enum Spec {
    /// `first-last` or `first-` (`last` = `u64::MAX`).
    From { first: u64, last: u64 },
    /// `-n`: the last `n` bytes.
    Suffix(u64),
}

/// Interprets a `Range` header value for a file of `len` bytes.
pub fn parse(header: &str, len: u64) -> Ranges {
    let Some(specs) = parse_specs(header) else {
        return Ranges::Ignore;
    };
    if specs.len() > MAX_RANGES {
        return Ranges::Ignore;
    }
    let mut ranges: Vec<(u64, u64)> = specs
        .into_iter()
        .filter_map(|spec| resolve(spec, len))
        .collect();
    if ranges.is_empty() {
        return Ranges::Unsatisfiable;
    }
    if overlapping(&ranges) {
        ranges = coalesce(ranges);
    }
    Ranges::Satisfiable(ranges)
}

/// `bytes=a-b, -n, c-` into specs; `None` when anything is malformed.
fn parse_specs(header: &str) -> Option<Vec<Spec>> {
    let (unit, set) = header.trim().split_once('=')?;
    if !unit.trim().eq_ignore_ascii_case("bytes") {
        return None;
    }
    let mut specs = Vec::new();
    // RFC 9110 section 5.6.1: empty list elements are allowed and skipped.
    for item in set.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        // A hostile list is refused before it is collected.
        if specs.len() > MAX_RANGES {
            return Some(specs);
        }
        let (first, last) = item.split_once('-')?;
        let spec = if first.is_empty() {
            Spec::Suffix(number(last)?)
        } else {
            let first = number(first)?;
            let last = if last.is_empty() {
                u64::MAX
            } else {
                number(last)?
            };
            if last < first {
                return None;
            }
            Spec::From { first, last }
        };
        specs.push(spec);
    }
    (!specs.is_empty()).then_some(specs)
}

/// Decimal digits only; values past `u64::MAX` saturate (a last-pos that
/// large simply means "to the end").
fn number(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(text.bytes().fold(0u64, |n, d| {
        n.saturating_mul(10).saturating_add(u64::from(d - b'0'))
    }))
}

/// A spec against the file: `None` when unsatisfiable.
fn resolve(spec: Spec, len: u64) -> Option<(u64, u64)> {
    match spec {
        Spec::From { first, last } if first < len => Some((first, last.min(len - 1))),
        Spec::Suffix(n) if n > 0 && len > 0 => Some((len - n.min(len), len - 1)),
        _ => None,
    }
}

fn overlapping(ranges: &[(u64, u64)]) -> bool {
    let mut sorted = ranges.to_vec();
    sorted.sort_unstable();
    sorted.windows(2).any(|w| w[1].0 <= w[0].1)
}

/// Sorts and merges overlapping ranges (RFC 9110 section 14.2 allows it).
fn coalesce(mut ranges: Vec<(u64, u64)>) -> Vec<(u64, u64)> {
    ranges.sort_unstable();
    let mut merged: Vec<(u64, u64)> = Vec::with_capacity(ranges.len());
    for (first, last) in ranges {
        match merged.last_mut() {
            Some(prev) if first <= prev.1 => prev.1 = prev.1.max(last),
            _ => merged.push((first, last)),
        }
    }
    merged
}

/// `bytes first-last/len`, the `Content-Range` of one part.
pub fn content_range(first: u64, last: u64, len: u64) -> String {
    format!("bytes {first}-{last}/{len}")
}

/// The segments of a `multipart/byteranges` body (RFC 9110 section 14.6)
/// and its exact length: each part's header, then its bytes from the file,
/// then the closing delimiter.
pub fn multipart(
    ranges: &[(u64, u64)],
    len: u64,
    content_type: &str,
    boundary: &str,
) -> (Vec<Segment>, u64) {
    let mut segments = Vec::with_capacity(ranges.len() * 2 + 1);
    let mut total = 0u64;
    for &(first, last) in ranges {
        let head = format!(
            "\r\n--{boundary}\r\ncontent-type: {content_type}\r\ncontent-range: {}\r\n\r\n",
            content_range(first, last, len)
        );
        total += head.len() as u64 + (last - first + 1);
        segments.push(Segment::Bytes(Bytes::from(head)));
        segments.push(Segment::File {
            offset: first,
            len: last - first + 1,
        });
    }
    let tail = format!("\r\n--{boundary}--\r\n");
    total += tail.len() as u64;
    segments.push(Segment::Bytes(Bytes::from(tail)));
    (segments, total)
}

#[cfg(test)]
#[path = "range_tests.rs"]
mod tests;
