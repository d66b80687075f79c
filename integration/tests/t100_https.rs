//! A real member serves its tree's public files over HTTPS: checked with
//! curl, trusting only the trust bundle the member publishes in the tree
//! (`public/site/tls/ca-bundle.pem`, no `-k`), for whole files, HEAD, byte
//! ranges, validators, and every way out of the tree we know of. Files get
//! there through `cohort tree put`; files merely lying in `<data>/tree` are
//! never served.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, bail, ensure};
use cohort_integration::Cluster;
use cohort_integration::checks::keep_on_error;
use cohort_integration::wait_for;

/// What curl saw of one response.
struct Reply {
    status: u16,
    /// Body bytes curl received (`--head` writes headers to the output
    /// file, so `body` alone cannot tell).
    downloaded: u64,
    /// Lower-case names; the last response's headers only.
    headers: BTreeMap<String, String>,
    body: Vec<u8>,
    /// curl's `-v` trace (connection reuse, protocol).
    trace: String,
}

impl Reply {
    fn header(&self, name: &str) -> &str {
        self.headers.get(name).map_or("", String::as_str)
    }
}

/// curl against the member, trusting its CA; `args` go before the URL
/// paths (each appended to `https://ADDR`).
struct Curl {
    base: String,
    cacert: PathBuf,
    scratch: PathBuf,
}

impl Curl {
    fn run(&self, args: &[&str], paths: &[&str]) -> anyhow::Result<Reply> {
        let headers = self.scratch.join("headers");
        let body = self.scratch.join("body");
        let _ = std::fs::remove_file(&body);
        let mut cmd = Command::new("curl");
        cmd.args(["--silent", "--show-error", "--verbose", "--path-as-is"])
            .arg("--cacert")
            .arg(&self.cacert)
            .arg("--dump-header")
            .arg(&headers)
            .args(["--write-out", "%{http_code} %{size_download}\\n"])
            .args(args);
        for path in paths {
            cmd.arg("--output")
                .arg(&body)
                .arg(format!("{}{path}", self.base));
        }
        let out = cmd.output().context("cannot run curl")?;
        let trace = String::from_utf8_lossy(&out.stderr).into_owned();
        ensure!(
            out.status.success(),
            "curl {args:?} {paths:?} failed:\n{trace}"
        );
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        // One line per URL; the last one is the response we report.
        let (status, downloaded) = stdout
            .lines()
            .last()
            .and_then(|l| l.split_once(' '))
            .and_then(|(c, n)| Some((c.parse().ok()?, n.parse().ok()?)))
            .with_context(|| format!("curl printed no status: {stdout:?}"))?;
        let raw = std::fs::read_to_string(&headers)?;
        // With several URLs the header file holds every response: keep the last.
        let last = raw
            .rsplit("\r\n\r\n")
            .find(|b| !b.trim().is_empty())
            .unwrap_or("");
        let headers = last
            .lines()
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        Ok(Reply {
            status,
            downloaded,
            headers,
            body: std::fs::read(&body).unwrap_or_default(),
            trace,
        })
    }

    fn get(&self, path: &str, args: &[&str]) -> anyhow::Result<Reply> {
        self.run(args, &[path])
    }
}

fn need_curl() -> anyhow::Result<()> {
    match Command::new("curl").arg("--version").output() {
        Ok(out) if out.status.success() => Ok(()),
        _ => bail!(
            "curl is not installed: t100_https needs it (apt-get install curl; scripts/test installs it)"
        ),
    }
}

/// Deterministic bytes that are not a repeating pattern.
fn content(len: usize) -> Vec<u8> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// Parts of a multipart/byteranges body: (Content-Range, bytes).
fn multipart(reply: &Reply) -> anyhow::Result<Vec<(String, Vec<u8>)>> {
    let boundary = reply
        .header("content-type")
        .strip_prefix("multipart/byteranges; boundary=")
        .context("not multipart/byteranges")?;
    let delimiter = format!("\r\n--{boundary}");
    let body = &reply.body;
    let mut parts = Vec::new();
    let mut at = find(body, delimiter.as_bytes(), 0).context("no first delimiter")?;
    loop {
        at += delimiter.len();
        if body[at..].starts_with(b"--\r\n") {
            ensure!(at + 4 == body.len(), "bytes after the closing delimiter");
            return Ok(parts);
        }
        let head_end = find(body, b"\r\n\r\n", at).context("part without header end")?;
        let head = String::from_utf8_lossy(&body[at..head_end]).into_owned();
        let range = head
            .lines()
            .find_map(|l| {
                l.to_ascii_lowercase()
                    .strip_prefix("content-range:")
                    .map(|v| v.trim().to_owned())
            })
            .context("part without Content-Range")?;
        let next = find(body, delimiter.as_bytes(), head_end + 4).context("unterminated part")?;
        parts.push((range, body[head_end + 4..next].to_vec()));
        at = next;
    }
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    hay.get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t100_https_serves_public_files_with_ranges_and_validators() -> anyhow::Result<()> {
    need_curl()?;
    let mut cluster = Cluster::new("t100")?;
    cluster.spawn("m1")?;
    cluster.wait_ready(0).await?;
    let file = content(3 * 1024 * 1024 + 17);
    let result = put_files(&cluster, &file).await;
    let result = result.and_then(|()| checks(&cluster, &file));
    keep_on_error(&mut cluster, result)
}

/// Puts the test file into the tree through the CLI and waits until the
/// member has placed it and its trust bundle.
async fn put_files(cluster: &Cluster, file: &[u8]) -> anyhow::Result<()> {
    let m1 = &cluster.members[0];
    let staging = cluster.root.join("staging");
    std::fs::create_dir_all(&staging)?;
    std::fs::write(staging.join("image.bin"), file)?;
    let out = m1
        .cli()?
        .args(["tree", "put"])
        .arg(staging.join("image.bin"))
        .arg("public/boot/image.bin")
        .output()?;
    ensure!(
        out.status.success(),
        "tree put: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tree = m1.data_dir.join("tree/public");
    wait_for(
        "the file and the trust bundle placed",
        Duration::from_secs(20),
        || {
            let ready = tree.join("boot/image.bin").is_file()
                && tree.join("site/tls/ca-bundle.pem").is_file();
            async move { ready.then_some(()) }
        },
    )
    .await
}

fn checks(cluster: &Cluster, file: &[u8]) -> anyhow::Result<()> {
    let m1 = &cluster.members[0];
    let data = &m1.data_dir;
    let public = data.join("tree/public");
    // Dropped into the tree directory by hand, behind the manifest's back:
    // a file, and links out of the tree. None of them may be served.
    std::fs::write(public.join("boot/stray.bin"), "not in the manifest")?;
    std::fs::write(data.join("outside.txt"), "outside the tree")?;
    std::os::unix::fs::symlink(data.join("outside.txt"), public.join("escape"))?;
    std::os::unix::fs::symlink(data.join("member/member.key"), public.join("key"))?;
    let curl = Curl {
        base: format!("https://{}", m1.https),
        cacert: public.join("site/tls/ca-bundle.pem"),
        scratch: cluster.root.clone(),
    };
    let len = file.len();

    eprintln!("--- health page");
    let r = curl.get("/health", &[])?;
    ensure!(r.status == 200 && r.body == b"cohort member m1: ok\n");

    eprintln!("--- whole file, HTTP/1.1 and HTTP/2");
    for (flag, version) in [("--http1.1", "HTTP/1.1"), ("--http2", "HTTP/2")] {
        let r = curl.get("/public/boot/image.bin", &[flag])?;
        ensure!(r.status == 200, "{flag}: status {}", r.status);
        ensure!(
            r.body == file,
            "{flag}: body differs ({} bytes)",
            r.body.len()
        );
        ensure!(r.header("content-length") == len.to_string());
        ensure!(r.header("accept-ranges") == "bytes");
        ensure!(r.header("content-type") == "application/octet-stream");
        ensure!(
            r.trace.contains(&format!("< {version} 200")),
            "{flag}: not {version}"
        );
    }

    eprintln!("--- HEAD");
    let r = curl.get("/public/boot/image.bin", &["--head"])?;
    ensure!(
        r.status == 200 && r.downloaded == 0,
        "HEAD: {} {}",
        r.status,
        r.downloaded
    );
    ensure!(r.header("content-length") == len.to_string());
    let etag = r.header("etag").to_owned();
    let modified = r.header("last-modified").to_owned();
    ensure!(
        etag.starts_with('"') && etag.ends_with('"'),
        "ETag {etag:?}"
    );
    ensure!(modified.ends_with("GMT"), "Last-Modified {modified:?}");

    eprintln!("--- single, suffix, multiple and unsatisfiable ranges");
    let r = curl.get("/public/boot/image.bin", &["--range", "1000-1999"])?;
    ensure!(r.status == 206 && r.body == file[1000..2000]);
    ensure!(r.header("content-range") == format!("bytes 1000-1999/{len}"));
    let r = curl.get("/public/boot/image.bin", &["--header", "Range: bytes=-100"])?;
    ensure!(r.status == 206 && r.body == file[len - 100..]);
    ensure!(r.header("content-range") == format!("bytes {}-{}/{len}", len - 100, len - 1));
    let r = curl.get(
        "/public/boot/image.bin",
        &["--range", "0-9,2097152-2097161,-5"],
    )?;
    ensure!(r.status == 206, "multiple ranges: {}", r.status);
    ensure!(r.header("content-length") == r.body.len().to_string());
    let parts = multipart(&r)?;
    let want = [(0, 9), (2_097_152, 2_097_161), (len - 5, len - 1)];
    ensure!(parts.len() == want.len(), "{} parts", parts.len());
    for ((range, bytes), (first, last)) in parts.iter().zip(want) {
        ensure!(
            *range == format!("bytes {first}-{last}/{len}"),
            "part {range}"
        );
        ensure!(*bytes == file[first..=last], "bytes of part {range}");
    }
    let r = curl.get("/public/boot/image.bin", &["--range", &format!("{len}-")])?;
    ensure!(r.status == 416, "unsatisfiable: {}", r.status);
    ensure!(r.header("content-range") == format!("bytes */{len}"));
    let r = curl.get("/public/boot/image.bin", &["--header", "Range: bytes=oops"])?;
    ensure!(
        r.status == 200 && r.body == file,
        "malformed Range not ignored"
    );

    eprintln!("--- validators");
    let r = curl.get(
        "/public/boot/image.bin",
        &["--header", &format!("If-None-Match: {etag}")],
    )?;
    ensure!(
        r.status == 304 && r.downloaded == 0,
        "If-None-Match: {}",
        r.status
    );
    let r = curl.get(
        "/public/boot/image.bin",
        &["--header", &format!("If-Modified-Since: {modified}")],
    )?;
    ensure!(r.status == 304, "If-Modified-Since: {}", r.status);
    let r = curl.get(
        "/public/boot/image.bin",
        &["--range", "0-0", "--header", &format!("If-Range: {etag}")],
    )?;
    ensure!(r.status == 206, "If-Range with the ETag: {}", r.status);
    let r = curl.get(
        "/public/boot/image.bin",
        &["--range", "0-0", "--header", "If-Range: \"stale\""],
    )?;
    ensure!(
        r.status == 200 && r.body == file,
        "If-Range stale: {}",
        r.status
    );

    eprintln!("--- keep-alive: two requests, one connection");
    let r = curl.run(&["--http1.1"], &["/health", "/public/boot/image.bin"])?;
    ensure!(r.status == 200 && r.body == file);
    ensure!(
        r.trace.contains("Re-using existing connection"),
        "second request did not reuse the connection:\n{}",
        r.trace
    );

    eprintln!("--- no listings, no escapes, no other methods");
    for path in [
        "/public/boot",
        "/public/boot/",
        "/public/",
        "/public/../outside.txt",
        "/public/boot/%2e%2e/../outside.txt",
        "/public/boot/%2e%2e/..",
        "/public/..%2foutside.txt",
        "/public/..%5coutside.txt",
        "/public/boot%2fimage.bin",
        "/public/image.bin%00",
        "/public/escape",
        "/public/key",
        "/public/boot/stray.bin",
        "/member/member.key",
        "/tree/public/boot/image.bin",
    ] {
        let r = curl.get(path, &[])?;
        ensure!(
            (400..500).contains(&r.status),
            "{path}: status {}",
            r.status
        );
        ensure!(
            r.body.len() < 200,
            "{path}: a body of {} bytes",
            r.body.len()
        );
        ensure!(
            !String::from_utf8_lossy(&r.body).contains("outside the tree"),
            "{path} leaked"
        );
    }
    eprintln!("--- plain HTTP: the same public files, nothing else");
    let plain = Curl {
        base: format!("http://{}", m1.http),
        cacert: curl.cacert.clone(),
        scratch: cluster.root.clone(),
    };
    let r = plain.get("/public/boot/image.bin", &[])?;
    ensure!(
        r.status == 200 && r.body == file,
        "plain HTTP GET: {}",
        r.status
    );
    let r = plain.get("/public/boot/image.bin", &["--range", "0-9"])?;
    ensure!(
        r.status == 206 && r.body == file[..10],
        "plain HTTP range: {}",
        r.status
    );
    for path in [
        "/public/../outside.txt",
        "/api/self/whoami",
        "/public/escape",
    ] {
        let r = plain.get(path, &[])?;
        ensure!((400..500).contains(&r.status), "plain {path}: {}", r.status);
    }

    let r = curl.get(
        "/public/boot/image.bin",
        &["--request", "POST", "--data", "x"],
    )?;
    ensure!(
        r.status == 405 && r.header("allow") == "GET, HEAD",
        "POST: {}",
        r.status
    );
    Ok(())
}
