//! Member processes: start, stop, kill, pause, resume, restart.

use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

/// Polls `check` until it returns `Some`, or fails after `timeout` naming
/// `what`. The only way tests wait.
pub async fn wait_for<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = check().await {
            return Ok(v);
        }
        if Instant::now() >= deadline {
            bail!("timed out after {timeout:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// The `cohort` binary under test.
pub fn cohort_bin() -> anyhow::Result<PathBuf> {
    if let Ok(p) = std::env::var("COHORT_BIN") {
        return Ok(PathBuf::from(p));
    }
    // Test executables live in target/<profile>/deps/.
    let exe = std::env::current_exe()?;
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .context("cannot locate the target directory")?;
    let bin = profile_dir.join("cohort");
    if !bin.exists() {
        bail!(
            "{} not found: build it first (`cargo build -p cohort`) or set COHORT_BIN",
            bin.display()
        );
    }
    Ok(bin)
}

/// The `cohort-agent` binary under test, beside `cohort` (or
/// `$COHORT_AGENT_BIN`).
pub fn agent_bin() -> anyhow::Result<PathBuf> {
    if let Ok(p) = std::env::var("COHORT_AGENT_BIN") {
        return Ok(PathBuf::from(p));
    }
    let bin = cohort_bin()?.with_file_name("cohort-agent");
    if !bin.exists() {
        bail!(
            "{} not found: build it first (`cargo build -p cohort-agent`) or set COHORT_AGENT_BIN",
            bin.display()
        );
    }
    Ok(bin)
}

/// A free TCP port on `ip`, for a member (or a peer program) to bind.
///
/// Ports come from below the kernel's ephemeral range (32768 and up here),
/// walking from a start drawn from this test process's id: a port the
/// kernel hands out with `bind(0)` may be taken as the source port of an
/// outgoing connection between this probe and the member's own bind, which
/// made a member fail to start now and then.
pub fn free_port(ip: Ipv4Addr) -> anyhow::Result<u16> {
    use std::sync::atomic::{AtomicU32, Ordering};
    const LOW: u32 = 10_000;
    const SPAN: u32 = 22_000;
    static NEXT: AtomicU32 = AtomicU32::new(u32::MAX);
    let _ = NEXT.compare_exchange(
        u32::MAX,
        (std::process::id().wrapping_mul(7919)) % SPAN,
        Ordering::Relaxed,
        Ordering::Relaxed,
    );
    for _ in 0..SPAN {
        let port = (LOW + NEXT.fetch_add(1, Ordering::Relaxed) % SPAN) as u16;
        if TcpListener::bind((ip, port)).is_ok() {
            return Ok(port);
        }
    }
    bail!("no free TCP port on {ip} between {LOW} and {}", LOW + SPAN)
}

/// One member process and where it lives.
pub struct Member {
    pub name: String,
    pub data_dir: PathBuf,
    pub peer: SocketAddr,
    pub https: SocketAddr,
    /// The optional plain-HTTP listener (boot files only), on for every
    /// test member so that path is exercised too.
    pub http: SocketAddr,
    child: Option<Child>,
}

impl Member {
    pub fn socket(&self) -> PathBuf {
        self.data_dir.join("cohort.sock")
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    /// Whether the process was started and has exited since (a zombie not
    /// reaped yet counts as exited). Read from /proc, so `&self` will do.
    pub fn has_exited(&self) -> bool {
        let Some(pid) = self.pid() else {
            return false;
        };
        match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            // The state follows the parenthesised command name.
            Ok(stat) => stat
                .rsplit_once(')')
                .is_some_and(|(_, rest)| rest.trim_start().starts_with(['Z', 'X'])),
            Err(_) => true,
        }
    }

    /// The `cohort` CLI aimed at this member's admin socket (through
    /// `COHORT_SOCKET`, as an admin on the member's host would run it).
    pub fn cli(&self) -> anyhow::Result<Command> {
        let mut cmd = Command::new(cohort_bin()?);
        cmd.env("COHORT_SOCKET", self.socket()).stdin(Stdio::null());
        Ok(cmd)
    }

    /// Runs the CLI against this member; its stdout, or an error with its
    /// stderr.
    pub fn run(&self, args: &[&str]) -> anyhow::Result<String> {
        let out = self.cli()?.args(args).output()?;
        if !out.status.success() {
            bail!(
                "cohort {args:?} on {} failed: {}",
                self.name,
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(String::from_utf8(out.stdout)?)
    }

    fn start(&mut self) -> anyhow::Result<()> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.data_dir.with_extension("log"))?;
        let child = Command::new(cohort_bin()?)
            .arg("serve")
            .arg("--data-dir")
            .arg(&self.data_dir)
            .args(["--name", &self.name])
            .args(["--listen", &self.peer.to_string()])
            .args(["--https-listen", &self.https.to_string()])
            .args(["--http-listen", &self.http.to_string()])
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .context("cannot start cohort serve")?;
        self.child = Some(child);
        Ok(())
    }

    fn signal(&self, sig: &str) -> anyhow::Result<()> {
        let pid = self.pid().context("member is not running")?;
        let status = Command::new("kill")
            .args([sig, &pid.to_string()])
            .status()?;
        if !status.success() {
            bail!("kill {sig} {pid} failed");
        }
        Ok(())
    }

    /// SIGKILL, and reap the process.
    pub fn kill(&mut self) -> anyhow::Result<()> {
        if let Some(mut child) = self.child.take() {
            child.kill()?;
            child.wait()?;
        }
        Ok(())
    }

    /// SIGTERM and wait for a clean exit.
    pub fn stop(&mut self) -> anyhow::Result<()> {
        if self.child.is_some() {
            self.signal("-TERM")?;
        }
        if let Some(mut child) = self.child.take() {
            child.wait()?;
        }
        Ok(())
    }

    /// SIGSTOP: the process freezes (its sockets stay open).
    pub fn pause(&self) -> anyhow::Result<()> {
        self.signal("-STOP")
    }

    /// SIGCONT after [`Member::pause`].
    pub fn resume(&self) -> anyhow::Result<()> {
        self.signal("-CONT")
    }

    /// Starts the process again on the same data, addresses and name.
    pub fn restart(&mut self) -> anyhow::Result<()> {
        self.kill()?;
        self.start()
    }
}

impl Drop for Member {
    fn drop(&mut self) {
        if let Some(child) = &self.child {
            // A paused process ignores SIGKILL only until continued.
            let _ = Command::new("kill")
                .args(["-CONT", &child.id().to_string()])
                .status();
        }
        let _ = self.kill();
    }
}

/// Members of one test, under one temporary root.
pub struct Cluster {
    pub root: PathBuf,
    pub members: Vec<Member>,
    keep: bool,
}

impl Cluster {
    /// An empty cluster rooted in a fresh temporary directory.
    pub fn new(test: &str) -> anyhow::Result<Cluster> {
        let root = std::env::temp_dir().join(format!(
            "cohort-it-{test}-{}-{}",
            std::process::id(),
            Instant::now().elapsed().as_nanos()
        ));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root)?;
        Ok(Cluster {
            root,
            members: Vec::new(),
            keep: false,
        })
    }

    /// Starts member `name` on 127.0.0.`n` (n = its position + 1).
    pub fn spawn(&mut self, name: &str) -> anyhow::Result<usize> {
        self.spawn_in(name, name)
    }

    /// Like [`Cluster::spawn`], with the data directory named `dir`: a
    /// second process may then carry a name already used in this cluster
    /// (a rebuilt host, or an impostor).
    pub fn spawn_in(&mut self, name: &str, dir: &str) -> anyhow::Result<usize> {
        let index = self.members.len();
        let ip = Ipv4Addr::new(127, 0, 0, (index + 1) as u8);
        let mut m = Member {
            name: name.to_owned(),
            data_dir: self.root.join(dir),
            peer: SocketAddr::from((ip, free_port(ip)?)),
            https: SocketAddr::from((ip, free_port(ip)?)),
            http: SocketAddr::from((ip, free_port(ip)?)),
            child: None,
        };
        m.start()?;
        self.members.push(m);
        Ok(index)
    }

    /// Keeps the data directories after the test (call on failure paths;
    /// tests also keep them when they panic, see `Drop`).
    pub fn keep(&mut self) {
        self.keep = true;
    }

    /// The log of a member, for failure messages.
    pub fn log(&self, index: usize) -> String {
        std::fs::read_to_string(self.members[index].data_dir.with_extension("log"))
            .unwrap_or_default()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for m in &mut self.members {
            if let Some(child) = &m.child {
                let _ = Command::new("kill")
                    .args(["-CONT", &child.id().to_string()])
                    .status();
            }
            let _ = m.kill();
        }
        if self.keep || std::thread::panicking() {
            eprintln!("cohort test data kept in {}", self.root.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.root);
        }
    }
}
