//! The router and file responses, driven through `Service::handle` against
//! a temporary tree (no sockets; the real server is exercised by
//! integration/tests/t100_https.rs).

use std::time::Duration;

use hyper::header::HeaderName;

use super::body::collect;
use super::files::{content_type, etag_matches, tree_path};
use super::*;

struct Fixture {
    _dir: tempfile::TempDir,
    tree: PathBuf,
    service: Service,
}

/// A tree with `public/hello.txt` (the alphabet), `public/sub/`, and a
/// secret beside the tree; small chunks so bodies span several reads.
fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("tree");
    std::fs::create_dir_all(tree.join("public/sub")).unwrap();
    std::fs::create_dir_all(tree.join("private")).unwrap();
    std::fs::write(tree.join("public/hello.txt"), ALPHABET).unwrap();
    std::fs::write(tree.join("private/key"), "private").unwrap();
    std::fs::write(dir.path().join("secret"), "secret").unwrap();
    // Old enough that a date in If-Range counts as a strong validator.
    let old = SystemTime::now() - Duration::from_secs(3600);
    File::options()
        .write(true)
        .open(tree.join("public/hello.txt"))
        .unwrap()
        .set_modified(old)
        .unwrap();
    let service = Service::new("m1", Arc::new(FsTree::new(&tree))).with_chunk(4096);
    Fixture {
        _dir: dir,
        tree,
        service,
    }
}

const ALPHABET: &str = "abcdefghijklmnopqrstuvwxyz";

struct Answer {
    status: u16,
    headers: hyper::HeaderMap,
    body: Vec<u8>,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }
}

async fn request(service: &Service, method: &str, uri: &str, headers: &[(&str, &str)]) -> Answer {
    let mut req = Request::builder().method(method).uri(uri);
    for (name, value) in headers {
        req = req.header(HeaderName::from_bytes(name.as_bytes()).unwrap(), *value);
    }
    let response = service.handle(req.body(()).unwrap()).await;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = collect(response.into_body()).await.unwrap();
    Answer {
        status,
        headers,
        body,
    }
}

async fn get(f: &Fixture, uri: &str, headers: &[(&str, &str)]) -> Answer {
    request(&f.service, "GET", uri, headers).await
}

#[tokio::test]
async fn whole_file_and_head() {
    let f = fixture();
    let a = get(&f, "/public/hello.txt", &[]).await;
    assert_eq!(a.status, 200);
    assert_eq!(a.body, ALPHABET.as_bytes());
    assert_eq!(a.header("content-length"), Some("26"));
    assert_eq!(a.header("content-type"), Some("text/plain"));
    assert_eq!(a.header("accept-ranges"), Some("bytes"));
    assert!(a.header("etag").unwrap().starts_with("\"1a-"));
    assert!(a.header("last-modified").unwrap().ends_with(" GMT"));

    let h = request(&f.service, "HEAD", "/public/hello.txt", &[]).await;
    assert_eq!(h.status, 200);
    assert!(h.body.is_empty());
    for name in ["content-length", "etag", "last-modified", "content-type"] {
        assert_eq!(h.header(name), a.header(name), "{name}");
    }
}

#[tokio::test]
async fn ranges() {
    let f = fixture();
    let a = get(&f, "/public/hello.txt", &[("range", "bytes=2-4")]).await;
    assert_eq!((a.status, &a.body[..]), (206, &b"cde"[..]));
    assert_eq!(a.header("content-range"), Some("bytes 2-4/26"));
    assert_eq!(a.header("content-length"), Some("3"));

    let a = get(&f, "/public/hello.txt", &[("range", "bytes=-3")]).await;
    assert_eq!((a.status, &a.body[..]), (206, &b"xyz"[..]));

    let a = get(&f, "/public/hello.txt", &[("range", "bytes=0-1,24-")]).await;
    assert_eq!(a.status, 206);
    let ct = a.header("content-type").unwrap();
    let boundary = ct.strip_prefix("multipart/byteranges; boundary=").unwrap();
    let want = format!(
        "\r\n--{boundary}\r\ncontent-type: text/plain\r\ncontent-range: bytes 0-1/26\r\n\r\nab\
         \r\n--{boundary}\r\ncontent-type: text/plain\r\ncontent-range: bytes 24-25/26\r\n\r\nyz\
         \r\n--{boundary}--\r\n"
    );
    assert_eq!(String::from_utf8(a.body.clone()).unwrap(), want);
    assert_eq!(
        a.header("content-length"),
        Some(want.len().to_string().as_str())
    );

    let a = get(&f, "/public/hello.txt", &[("range", "bytes=26-")]).await;
    assert_eq!(a.status, 416);
    assert_eq!(a.header("content-range"), Some("bytes */26"));
    assert!(a.body.is_empty());

    let a = get(&f, "/public/hello.txt", &[("range", "bytes=z-")]).await;
    assert_eq!((a.status, a.body.len()), (200, 26));

    // HEAD ignores Range (defined for GET only).
    let a = request(
        &f.service,
        "HEAD",
        "/public/hello.txt",
        &[("range", "bytes=0-0")],
    )
    .await;
    assert_eq!((a.status, a.header("content-length")), (200, Some("26")));
}

#[tokio::test]
async fn if_range() {
    let f = fixture();
    let etag = get(&f, "/public/hello.txt", &[])
        .await
        .header("etag")
        .unwrap()
        .to_owned();
    let date = get(&f, "/public/hello.txt", &[]).await;
    let date = date.header("last-modified").unwrap();
    for (validator, status) in [
        (etag.as_str(), 206),
        (date, 206),
        ("\"other\"", 200),
        (&format!("W/{etag}"), 200),
        ("Mon, 01 Jan 2001 00:00:00 GMT", 200),
        ("garbage", 200),
    ] {
        let a = get(
            &f,
            "/public/hello.txt",
            &[("range", "bytes=0-0"), ("if-range", validator)],
        )
        .await;
        assert_eq!(a.status, status, "If-Range: {validator}");
    }
}

#[tokio::test]
async fn conditional_requests() {
    let f = fixture();
    let a = get(&f, "/public/hello.txt", &[]).await;
    let etag = a.header("etag").unwrap().to_owned();
    let date = a.header("last-modified").unwrap().to_owned();
    let weak = format!("W/{etag}");
    let list = format!("\"x\", {etag}");
    let cases: &[(&str, &str, u16)] = &[
        ("if-none-match", &etag, 304),
        ("if-none-match", &weak, 304),
        ("if-none-match", &list, 304),
        ("if-none-match", "*", 304),
        ("if-none-match", "\"x\"", 200),
        ("if-modified-since", &date, 304),
        ("if-modified-since", "Sun, 06 Nov 1994 08:49:37 GMT", 200),
        ("if-modified-since", "not a date", 200),
        ("if-match", &etag, 200),
        ("if-match", &weak, 412),
        ("if-match", "\"x\"", 412),
        ("if-unmodified-since", "Sun, 06 Nov 1994 08:49:37 GMT", 412),
    ];
    for (name, value, status) in cases {
        let a = get(&f, "/public/hello.txt", &[(name, value)]).await;
        assert_eq!(a.status, *status, "{name}: {value}");
        if *status == 304 {
            assert!(a.body.is_empty());
            assert_eq!(a.header("etag"), Some(etag.as_str()));
        }
    }
    // If-None-Match wins over If-Modified-Since.
    let a = get(
        &f,
        "/public/hello.txt",
        &[("if-none-match", "\"x\""), ("if-modified-since", &date)],
    )
    .await;
    assert_eq!(a.status, 200);
}

#[tokio::test]
async fn nothing_outside_the_public_tree() {
    let f = fixture();
    let public = f.tree.join("public");
    std::os::unix::fs::symlink(f.tree.parent().unwrap().join("secret"), public.join("out"))
        .unwrap();
    std::os::unix::fs::symlink(f.tree.join("private/key"), public.join("private-key")).unwrap();
    std::os::unix::fs::symlink("/", public.join("root")).unwrap();
    std::os::unix::fs::symlink("hello.txt", public.join("alias")).unwrap();
    let cases = [
        ("/public/sub", 404),
        ("/public/sub/", 404),
        ("/public/", 404),
        ("/public", 404),
        ("/public/nope", 404),
        ("/public//hello.txt", 404),
        ("/public/../tree/public/hello.txt", 400),
        ("/public/./hello.txt", 400),
        ("/public/sub/%2e%2e/hello.txt", 400),
        ("/public/sub/%2E%2E/..", 400),
        ("/public/..%2fsecret", 400),
        ("/public/..%2Fsecret", 400),
        ("/public/..%5csecret", 400),
        ("/public/hello.txt%00", 400),
        ("/public/%zz", 400),
        ("/public/%2", 400),
        ("/public/%ff", 404),
        ("/public/out", 404),
        ("/public/private-key", 404),
        ("/public/root/etc/passwd", 404),
        ("/public/alias", 200),
        ("/public/hello%2etxt", 200),
        ("/private/key", 404),
        ("/", 404),
        ("/other/hello.txt", 404),
    ];
    for (uri, status) in cases {
        let a = get(&f, uri, &[]).await;
        assert_eq!(a.status, status, "{uri}");
        assert!(!String::from_utf8_lossy(&a.body).contains("secret"));
    }
}

#[tokio::test]
async fn methods_health_and_pending() {
    let f = fixture();
    for method in ["POST", "PUT", "DELETE", "OPTIONS"] {
        let a = request(&f.service, method, "/public/hello.txt", &[]).await;
        assert_eq!(a.status, 405, "{method}");
        assert_eq!(a.header("allow"), Some("GET, HEAD"));
    }
    let a = get(&f, "/health", &[]).await;
    assert_eq!(
        (a.status, &a.body[..]),
        (200, &b"cohort member m1: ok\n"[..])
    );

    struct Waiting;
    impl TreeView for Waiting {
        fn lookup(&self, _: &str) -> Lookup {
            Lookup::Pending
        }
    }
    let service = Service::new("m1", Arc::new(Waiting));
    let a = request(&service, "GET", "/public/x", &[]).await;
    assert_eq!((a.status, a.header("retry-after")), (503, Some("2")));
    assert!(a.body.starts_with(b"not-synchronized:"));
}

#[test]
fn fs_tree_refuses_a_file_replaced_after_lookup() {
    let f = fixture();
    let tree = FsTree::new(&f.tree);
    let Lookup::Present(found) = tree.lookup("public/hello.txt") else {
        panic!("hello.txt is there")
    };
    assert!(tree.open(&found).unwrap().is_some());
    let path = f.tree.join("public/hello.txt");
    std::fs::remove_file(&path).unwrap();
    std::fs::write(&path, ALPHABET).unwrap();
    assert!(tree.open(&found).unwrap().is_none());
}

#[test]
fn tree_paths() {
    let check = |rest: &str, want: Result<&str, Refusal>| {
        assert_eq!(
            tree_path("public", rest).as_deref(),
            want.as_ref().map(|s| *s),
            "{rest}"
        );
    };
    check("a/b.txt", Ok("public/a/b.txt"));
    check("a%20b", Ok("public/a b"));
    check("%C3%A9t%C3%A9", Ok("public/été"));
    check(
        "a/../b",
        Err(Refusal::BadPath("`.` and `..` segments are not allowed")),
    );
    check(
        "a%2Fb",
        Err(Refusal::BadPath("`/` or `\\` inside a path segment")),
    );
    check(
        "a\\b",
        Err(Refusal::BadPath("`/` or `\\` inside a path segment")),
    );
    check("", Err(Refusal::NotFound));
}

#[test]
fn etag_comparison() {
    assert!(etag_matches("\"a\"", "\"a\"", true));
    assert!(!etag_matches("W/\"a\"", "\"a\"", true));
    assert!(etag_matches("W/\"a\"", "\"a\"", false));
    assert!(etag_matches(" \"b\" , \"a\"", "\"a\"", true));
    assert!(!etag_matches("\"a", "\"a\"", false));
    assert!(etag_matches("*", "\"a\"", true));
}

#[test]
fn content_types() {
    assert_eq!(content_type("boot/vmlinuz"), "application/octet-stream");
    assert_eq!(content_type("x/initrd.IMG.XZ"), "application/x-xz");
    assert_eq!(content_type("boot.ipxe"), "text/plain");
    assert_eq!(content_type(".hidden"), "application/octet-stream");
}
