//! `boot.ipxe` run by real iPXE: qemu (TCG) boots from its iPXE ROM, fetches
//! the generated script over slirp, and must fall through a dead member
//! and a member missing the initrd to reach a marker printed by the
//! initramfs served by the third (docs/design/0004, peers.md section 1).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::testutil::require_tool;
use super::{boot_files, generic_profile};

const MARKER: &str = "COHORT-MARKER: initramfs reached";

/// Serves fixed files over HTTP/1.1 on loopback, logging each request path.
struct FileServer {
    port: u16,
    log: Arc<Mutex<Vec<String>>>,
}

impl FileServer {
    /// Files are shared so boot.ipxe, which names this server's port, can
    /// be added after the server started.
    fn start(files: Arc<Mutex<BTreeMap<String, Vec<u8>>>>) -> FileServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let log = Arc::new(Mutex::new(Vec::new()));
        let log2 = log.clone();
        // Lives until the test process ends; it only answers loopback.
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (log, files) = (log2.clone(), files.clone());
                std::thread::spawn(move || serve(stream, &files, &log));
            }
        });
        FileServer { port, log }
    }

    fn requests(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }
}

fn serve(stream: TcpStream, files: &Mutex<BTreeMap<String, Vec<u8>>>, log: &Mutex<Vec<String>>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut stream = stream;
    loop {
        let mut request = String::new();
        if reader.read_line(&mut request).unwrap_or(0) == 0 {
            return;
        }
        // Skip the headers.
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" || line == "\n" {
                break;
            }
        }
        let path = request.split_whitespace().nth(1).unwrap_or("").to_string();
        log.lock().unwrap().push(path.clone());
        let found = files.lock().unwrap().get(&path).cloned();
        let (status, body) = match &found {
            Some(body) => ("200 OK", body.as_slice()),
            None => ("404 Not Found", b"not found\n".as_slice()),
        };
        let head = format!(
            "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: keep-alive\r\n\r\n",
            body.len()
        );
        if stream
            .write_all(head.as_bytes())
            .and_then(|_| stream.write_all(body))
            .is_err()
        {
            return;
        }
    }
}

/// A newc cpio archive: what the kernel unpacks as an initramfs.
fn cpio(entries: &[(&str, u32, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut push = |name: &str, mode: u32, data: &[u8], ino: usize| {
        let fields = [
            ino as u32,
            mode,
            0,
            0,
            1,
            0,
            data.len() as u32,
            0,
            0,
            0,
            0,
            name.len() as u32 + 1,
            0,
        ];
        out.extend_from_slice(b"070701");
        for f in fields {
            out.extend_from_slice(format!("{f:08x}").as_bytes());
        }
        out.extend_from_slice(name.as_bytes());
        out.push(0);
        while out.len() % 4 != 0 {
            out.push(0);
        }
        out.extend_from_slice(data);
        while out.len() % 4 != 0 {
            out.push(0);
        }
    };
    for (i, (name, mode, data)) in entries.iter().enumerate() {
        push(name, *mode, data, i + 1);
    }
    push("TRAILER!!!", 0, &[], 0);
    out
}

fn marker_initramfs(busybox: &Path) -> Vec<u8> {
    let busybox = std::fs::read(busybox).unwrap();
    let init = format!(
        "#!/bin/busybox sh\n/bin/busybox mount -t proc proc /proc\n\
         echo \"{MARKER}; cmdline: $(/bin/busybox cat /proc/cmdline)\"\n/bin/busybox poweroff -f\n"
    );
    cpio(&[
        ("bin", 0o040755, b""),
        ("dev", 0o040755, b""),
        ("proc", 0o040755, b""),
        ("bin/busybox", 0o100755, &busybox),
        ("init", 0o100755, init.as_bytes()),
    ])
}

/// Whether an ELF64 executable names a dynamic loader (a PT_INTERP header).
fn has_interpreter(elf: &[u8]) -> bool {
    let u16_at = |at: usize| u16::from_le_bytes([elf[at], elf[at + 1]]) as usize;
    let phoff = u64::from_le_bytes(elf[0x20..0x28].try_into().unwrap()) as usize;
    let (size, count) = (u16_at(0x36), u16_at(0x38));
    (0..count).any(|i| elf[phoff + i * size..phoff + i * size + 4] == 3u32.to_le_bytes())
}

/// A port nothing listens on: bound, then released.
fn dead_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn ipxe_falls_through_dead_members_to_a_live_one() {
    let qemu = require_tool("qemu-system-x86_64", "qemu-system-x86");
    let busybox = require_tool("busybox", "busybox-static");
    // A dynamic busybox (package `busybox`) would find no libc in the initramfs.
    if has_interpreter(&std::fs::read(&busybox).unwrap()) {
        panic!(
            "{} is dynamically linked: install the Debian package `busybox-static`",
            busybox.display()
        );
    }
    if !Path::new("/usr/lib/ipxe/qemu/pxe-virtio.rom").is_file() {
        require_tool("no-such-tool-ipxe-rom", "ipxe-qemu");
    }
    let kernel =
        Path::new("/usr/lib/debian-installer/images/12/amd64/text/debian-installer/amd64/linux");
    if !kernel.is_file() {
        require_tool(
            "no-such-tool-debian-kernel",
            "debian-installer-12-netboot-amd64",
        );
    }
    let tmp = tempfile::tempdir().unwrap();
    let initrd = tmp.path().join("marker.cpio");
    std::fs::write(&initrd, marker_initramfs(&busybox)).unwrap();

    // A Debian kernel and a busybox initramfs as a generic profile.
    let plan = generic_profile(
        "t",
        kernel,
        std::slice::from_ref(&initrd),
        "console=ttyS0 panic=-1 quiet",
    )
    .unwrap();
    let mut files = BTreeMap::new();
    for item in &plan.copies {
        let mut bytes = Vec::new();
        item.open().unwrap().read_to_end(&mut bytes).unwrap();
        files.insert(format!("/{}", item.dest), bytes);
    }
    // The second member has the kernel but not the initrd: the script must
    // drop the half-loaded attempt and move on.
    let mut partial = files.clone();
    partial.retain(|path, _| !path.contains("initramfs"));
    let broken = FileServer::start(Arc::new(Mutex::new(partial)));
    let shared = Arc::new(Mutex::new(files));
    let good = FileServer::start(shared.clone());
    let dead = dead_port();
    let members = vec![
        format!("http://10.0.2.2:{dead}"),
        format!("http://10.0.2.2:{}", broken.port),
        format!("http://10.0.2.2:{}", good.port),
    ];
    for (path, bytes) in boot_files(&plan.profiles[0], &members).unwrap() {
        shared.lock().unwrap().insert(format!("/{path}"), bytes);
    }

    let log = tmp.path().join("serial.log");
    let mut child = Command::new(qemu)
        .args([
            "-accel",
            "tcg",
            "-m",
            "512",
            "-nographic",
            "-monitor",
            "none",
            "-no-reboot",
            "-boot",
            "n",
        ])
        .arg("-serial")
        .arg(format!("file:{}", log.display()))
        .arg("-netdev")
        .arg(format!(
            "user,id=n0,bootfile=http://10.0.2.2:{}/public/os/t/boot.ipxe",
            good.port
        ))
        .args(["-device", "virtio-net-pci,netdev=n0"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(240);
    while Instant::now() < deadline {
        let text = clean(&std::fs::read(&log).unwrap_or_default());
        if text.contains(MARKER) || child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    let _ = child.kill();
    let _ = child.wait();
    let text = clean(&std::fs::read(&log).unwrap_or_default());
    // Shown with --nocapture: what iPXE did.
    println!(
        "{}",
        text.lines()
            .filter(|l| l.contains("cohort") || l.contains("http"))
            .collect::<Vec<_>>()
            .join("\n")
    );

    let context = format!(
        "serial log:\n{text}\nbroken member requests: {:?}",
        broken.requests()
    );
    // "Initramfs unpacking failed": a stale kernel image handed on as an initrd.
    for bad in [
        "Exec format",
        "syntax",
        "Invalid argument",
        "Command not found",
        "Initramfs unpacking failed",
    ] {
        assert!(!text.contains(bad), "iPXE reported {bad:?}\n{context}");
    }
    for (i, member) in members.iter().enumerate() {
        let line = format!("cohort: trying member {} of 3: {member}", i + 1);
        assert!(text.contains(&line), "missing {line:?}\n{context}");
    }
    let order: Vec<usize> = (1..=3)
        .map(|i| text.find(&format!("trying member {i} of 3")).unwrap())
        .collect();
    assert!(
        order.windows(2).all(|w| w[0] < w[1]),
        "members tried out of order\n{context}"
    );
    assert!(
        broken
            .requests()
            .iter()
            .any(|p| p.ends_with("/boot/kernel")),
        "{context}"
    );
    assert!(
        broken
            .requests()
            .iter()
            .any(|p| p.contains("/boot/initramfs/")),
        "{context}"
    );
    let marker_line = text
        .lines()
        .find(|l| l.contains(MARKER))
        .unwrap_or_else(|| panic!("no marker\n{context}"));
    let deployer = format!("cohort.deployer=http://10.0.2.2:{}", good.port);
    assert!(
        marker_line.contains(&deployer),
        "booted from the wrong member: {marker_line}\n{context}"
    );
    assert!(marker_line.contains("cohort.profile=t"), "{marker_line}");
}

/// The serial log without terminal escapes and carriage returns.
fn clean(raw: &[u8]) -> String {
    let text = String::from_utf8_lossy(raw);
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            // ESC [ params letter
            if chars.peek() == Some(&'[') {
                chars.next();
                for d in chars.by_ref() {
                    if d.is_ascii_alphabetic() {
                        break;
                    }
                }
            }
        } else if c != '\r' {
            out.push(c);
        }
    }
    out
}
