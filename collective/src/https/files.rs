//! `GET`/`HEAD` of one tree file: the path checked segment by segment, the
//! conditional headers evaluated in RFC 9110 section 13.2.2's order, then a
//! whole file (200), one range (206), several (206 multipart/byteranges)
//! or none satisfiable (416).
//!
//! Path checks are on the decoded segments, before the tree is asked:
//! `.`/`..`, a `/` or `\` smuggled in as `%2f`/`%5c`, and NUL are refused
//! with 400. Containment of symlinks is the [`TreeView`]'s job, since only
//! it knows where its files really live.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hyper::header::{
    ACCEPT_RANGES, CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, ETAG, HeaderMap, HeaderName,
    HeaderValue, IF_MATCH, IF_MODIFIED_SINCE, IF_NONE_MATCH, IF_RANGE, IF_UNMODIFIED_SINCE,
    LAST_MODIFIED, RANGE,
};
use hyper::{Request, Response, StatusCode};
use ring::rand::{SecureRandom, SystemRandom};
use tracing::warn;

use super::body::{Body, Segment};
use super::range::{self, Ranges};
use super::{Found, Lookup, Refusal, Service, read_only};

/// Serves `<area>/<rest>` of the tree (`rest` is the raw, still
/// percent-encoded remainder of the URL path).
pub(super) async fn get<B>(
    service: &Service,
    req: &Request<B>,
    area: &str,
    rest: &str,
) -> Result<Response<Body>, Refusal> {
    let head = read_only(req.method())?;
    let tree_path = tree_path(area, rest)?;
    let tree = service.tree.clone();
    // One trip to the blocking pool: lookup, and for GET the open (a 304
    // then opens a file for nothing, which is cheaper than a second trip).
    let (lookup, opened) = tokio::task::spawn_blocking(move || {
        let lookup = tree.lookup(&tree_path);
        let opened = match (&lookup, head) {
            (Lookup::Present(found), false) => Some(tree.open(found)),
            _ => None,
        };
        (lookup, opened)
    })
    .await
    .map_err(|_| Refusal::Internal)?;
    let found = match lookup {
        Lookup::Present(found) => found,
        Lookup::Pending => return Err(Refusal::Pending),
        Lookup::Absent => return Err(Refusal::NotFound),
    };
    let headers = req.headers();
    let mut response = Response::new(Body::empty());
    set_validators(response.headers_mut(), &found, area, rest);
    match preconditions(headers, &found) {
        Precondition::Proceed => {}
        Precondition::NotModified => {
            *response.status_mut() = StatusCode::NOT_MODIFIED;
            // A 304 carries the validators but describes no body.
            response.headers_mut().remove(CONTENT_TYPE);
            return Ok(response);
        }
        Precondition::Failed => {
            *response.status_mut() = StatusCode::PRECONDITION_FAILED;
            return Ok(response);
        }
    }
    let len = found.len;
    // RFC 9110 section 14.2: Range is defined for GET only.
    let ranges = match headers.get(RANGE).map(HeaderValue::to_str) {
        Some(Ok(value)) if !head && if_range_holds(headers, &found) => range::parse(value, len),
        _ => Ranges::Ignore,
    };
    let file = match opened {
        None => None,
        Some(Ok(Some(file))) => Some(file),
        Some(Ok(None)) => return Err(Refusal::Changed),
        // Deleted between lookup and open: the next try gets a clean 404.
        Some(Err(e)) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Refusal::Changed);
        }
        Some(Err(e)) => {
            warn!(path = %found.path.display(), error = %e, "cannot open tree file");
            return Err(Refusal::Internal);
        }
    };
    let content_type = content_type(rest);
    let (status, segments, body_len) = match ranges {
        Ranges::Ignore => (StatusCode::OK, vec![Segment::File { offset: 0, len }], len),
        Ranges::Unsatisfiable => {
            *response.status_mut() = StatusCode::RANGE_NOT_SATISFIABLE;
            let h = response.headers_mut();
            insert(h, CONTENT_RANGE, &format!("bytes */{len}"));
            h.insert(CONTENT_LENGTH, HeaderValue::from(0));
            h.remove(CONTENT_TYPE);
            return Ok(response);
        }
        Ranges::Satisfiable(ranges) => match ranges[..] {
            [(first, last)] => {
                let h = response.headers_mut();
                insert(h, CONTENT_RANGE, &range::content_range(first, last, len));
                let part = last - first + 1;
                let segment = Segment::File {
                    offset: first,
                    len: part,
                };
                (StatusCode::PARTIAL_CONTENT, vec![segment], part)
            }
            _ => {
                let boundary = boundary()?;
                let (segments, total) = range::multipart(&ranges, len, content_type, &boundary);
                let multipart = format!("multipart/byteranges; boundary={boundary}");
                insert(response.headers_mut(), CONTENT_TYPE, &multipart);
                (StatusCode::PARTIAL_CONTENT, segments, total)
            }
        },
    };
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_LENGTH, HeaderValue::from(body_len));
    if let Some(file) = file.filter(|_| body_len > 0) {
        *response.body_mut() = Body::file(file, segments, service.chunk, service.buffers.clone());
    }
    Ok(response)
}

/// ETag, Last-Modified, Accept-Ranges and Content-Type: what every answer
/// about this file carries, 304 included (RFC 9110 section 15.4.5).
fn set_validators(headers: &mut HeaderMap, found: &Found, area: &str, rest: &str) {
    if let Ok(etag) = HeaderValue::from_str(&found.etag) {
        headers.insert(ETAG, etag);
    } else {
        warn!(
            area,
            rest,
            etag = found.etag,
            "tree gave an ETag that is no header value"
        );
    }
    insert(
        headers,
        LAST_MODIFIED,
        &httpdate::fmt_http_date(found.modified),
    );
    headers.insert(ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type(rest)));
}

/// Inserts a value built from our own ASCII text.
fn insert(headers: &mut HeaderMap, name: HeaderName, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        headers.insert(name, value);
    }
}

/// `area/seg/seg` from the raw remainder of the path, or why not.
pub(super) fn tree_path(area: &str, rest: &str) -> Result<String, Refusal> {
    let mut out = String::from(area);
    for raw in rest.split('/') {
        // "a//b" or a trailing "/": a directory's name, never a file.
        if raw.is_empty() {
            return Err(Refusal::NotFound);
        }
        let segment = percent_decode(raw).ok_or(Refusal::BadPath("malformed %-escape in path"))?;
        if segment.iter().any(|&b| b == b'/' || b == b'\\') {
            return Err(Refusal::BadPath("`/` or `\\` inside a path segment"));
        }
        if segment.contains(&0) {
            return Err(Refusal::BadPath("NUL in path"));
        }
        if segment == b"." || segment == b".." {
            return Err(Refusal::BadPath("`.` and `..` segments are not allowed"));
        }
        // Tree paths are UTF-8 (the manifest lists them as text).
        let segment = String::from_utf8(segment).map_err(|_| Refusal::NotFound)?;
        out.push('/');
        out.push_str(&segment);
    }
    Ok(out)
}

/// `%XX` decoding; `None` on a truncated or non-hex escape.
fn percent_decode(raw: &str) -> Option<Vec<u8>> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            let hex = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Some(out)
}

/// The outcome of the validator headers.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Precondition {
    Proceed,
    NotModified,
    Failed,
}

/// RFC 9110 section 13.2.2, steps 1 to 4, for GET and HEAD.
pub(super) fn preconditions(headers: &HeaderMap, found: &Found) -> Precondition {
    let text = |name| {
        headers
            .get(name)
            .map(|v: &HeaderValue| v.to_str().unwrap_or(""))
    };
    let date = |name| text(name).and_then(|v| httpdate::parse_http_date(v).ok());
    let modified = seconds(found.modified);
    if let Some(list) = text(IF_MATCH) {
        if !etag_matches(list, &found.etag, true) {
            return Precondition::Failed;
        }
    } else if let Some(since) = date(IF_UNMODIFIED_SINCE)
        && modified > seconds(since)
    {
        return Precondition::Failed;
    }
    if let Some(list) = text(IF_NONE_MATCH) {
        if etag_matches(list, &found.etag, false) {
            return Precondition::NotModified;
        }
    } else if let Some(since) = date(IF_MODIFIED_SINCE)
        && modified <= seconds(since)
    {
        return Precondition::NotModified;
    }
    Precondition::Proceed
}

/// Whether a comma-separated entity-tag list (or `*`) names `etag`.
/// Strong comparison refuses weak tags on either side. Our tags never hold
/// commas, so a plain split is exact for the tags that can match.
pub(super) fn etag_matches(list: &str, etag: &str, strong: bool) -> bool {
    if list.trim() == "*" {
        return true;
    }
    let ours_weak = etag.starts_with("W/");
    let ours = etag.trim_start_matches("W/");
    list.split(',').map(str::trim).any(|tag| {
        let (weak, opaque) = match tag.strip_prefix("W/") {
            Some(opaque) => (true, opaque),
            None => (false, tag),
        };
        !(strong && (weak || ours_weak)) && opaque == ours
    })
}

/// `If-Range` (RFC 9110 section 13.1.5): absent, or it names the current
/// representation by a strong ETag or by its exact Last-Modified date. A
/// date counts only if it is a strong validator: the file has not changed
/// within the last second, which a one-second date could not tell apart.
fn if_range_holds(headers: &HeaderMap, found: &Found) -> bool {
    let Some(value) = headers.get(IF_RANGE) else {
        return true;
    };
    let Ok(value) = value.to_str() else {
        return false;
    };
    let value = value.trim();
    if value.starts_with('"') || value.starts_with("W/") {
        return etag_matches(value, &found.etag, true) && !value.contains(',');
    }
    let settled = SystemTime::now()
        .duration_since(found.modified)
        .is_ok_and(|age| age >= Duration::from_secs(1));
    httpdate::parse_http_date(value)
        .is_ok_and(|date| settled && seconds(date) == seconds(found.modified))
}

/// Whole seconds since the epoch (HTTP dates have no finer grain).
fn seconds(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// A multipart boundary that the file's bytes will not contain by chance.
fn boundary() -> Result<String, Refusal> {
    let mut raw = [0u8; 16];
    SystemRandom::new()
        .fill(&mut raw)
        .map_err(|_| Refusal::Internal)?;
    Ok(raw.iter().map(|b| format!("{b:02x}")).collect())
}

/// The media type by extension; `application/octet-stream` when unknown.
pub(super) fn content_type(path: &str) -> &'static str {
    let name = path.rsplit('/').next().unwrap_or(path);
    let Some((_, ext)) = name.rsplit_once('.') else {
        return "application/octet-stream";
    };
    match ext.to_ascii_lowercase().as_str() {
        "txt" | "cfg" | "conf" | "ipxe" | "sha256" | "sha512" | "md5" | "log" => "text/plain",
        "sh" => "text/x-shellscript",
        "html" | "htm" => "text/html",
        "css" => "text/css",
        "js" => "text/javascript",
        "json" => "application/json",
        "yaml" | "yml" => "application/yaml",
        "xml" => "application/xml",
        "pem" | "crt" => "application/x-pem-file",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "ico" => "image/vnd.microsoft.icon",
        "iso" => "application/x-iso9660-image",
        "gz" | "tgz" => "application/gzip",
        "xz" => "application/x-xz",
        "zst" => "application/zstd",
        "bz2" => "application/x-bzip2",
        "tar" => "application/x-tar",
        "zip" => "application/zip",
        "rpm" => "application/x-rpm",
        "deb" => "application/vnd.debian.binary-package",
        _ => "application/octet-stream",
    }
}
