//! The machine's floor for one replicated write, measured before either
//! system runs: what the disk and the loopback sockets cost with nothing
//! else in the way.
//!
//! A 3-member commit, with the client on the leader, needs at least one
//! client round trip (a unix socket for cohort's admin API), one round
//! trip from the leader to a follower (TCP), and one durable append on
//! that follower; the leader's own append runs meanwhile. The sum is the
//! lowest p50 any Raft implementation could show at 1 client here, before
//! TLS, HTTP/2, Raft bookkeeping or the thread wake-ups between them. The
//! summary sets it against the p50 that "2x etcd's writes/s" would need.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::FileExt;
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use anyhow::Context;

use crate::failover::median_max;

/// Samples per figure: enough for a steady median, a second or two each.
const SAMPLES: usize = 2000;
/// Bytes per append and per message: about one small admin write.
pub const MESSAGE: usize = 200;

/// Medians of the pieces, and their sum.
pub struct Floor {
    pub append_sync: Duration,
    pub tcp_round_trip: Duration,
    pub unix_round_trip: Duration,
}

impl Floor {
    /// Client round trip + leader-follower round trip + follower append.
    pub fn commit(&self) -> Duration {
        self.unix_round_trip + self.tcp_round_trip + self.append_sync
    }
}

pub fn measure() -> anyhow::Result<Floor> {
    Ok(Floor {
        append_sync: append_sync().context("timing fdatasync")?,
        tcp_round_trip: round_trips_tcp().context("timing loopback TCP")?,
        unix_round_trip: round_trips_unix().context("timing a unix socket")?,
    })
}

/// A `MESSAGE`-byte write and `fdatasync`, appended to a preallocated file
/// in the directory the members' data goes to (as etcd preallocates its
/// WAL segments, so no sync pays for a size change).
fn append_sync() -> anyhow::Result<Duration> {
    let path = std::env::temp_dir().join(format!("cohort-bench-floor-{}", std::process::id()));
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&path)
        .with_context(|| format!("creating {}", path.display()))?;
    let result = (|| {
        file.set_len((SAMPLES * MESSAGE) as u64)?;
        file.sync_all()?;
        let buf = [b'x'; MESSAGE];
        let mut times = Vec::with_capacity(SAMPLES);
        for i in 0..SAMPLES {
            let t = Instant::now();
            file.write_all_at(&buf, (i * MESSAGE) as u64)?;
            file.sync_data()?;
            times.push(t.elapsed());
        }
        Ok::<_, std::io::Error>(median_max(&times).0)
    })();
    let _ = std::fs::remove_file(&path);
    Ok(result?)
}

/// Ping-pong of `MESSAGE` bytes between two threads over one stream pair.
fn ping_pong<S: Read + Write + Send + 'static>(
    mut near: S,
    mut far: S,
) -> anyhow::Result<Duration> {
    let echo = std::thread::spawn(move || -> std::io::Result<()> {
        let mut buf = [0u8; MESSAGE];
        for _ in 0..SAMPLES {
            far.read_exact(&mut buf)?;
            far.write_all(&buf)?;
        }
        Ok(())
    });
    let mut buf = [b'x'; MESSAGE];
    let mut times = Vec::with_capacity(SAMPLES);
    let mut failed = None;
    for _ in 0..SAMPLES {
        let t = Instant::now();
        if let Err(e) = near
            .write_all(&buf)
            .and_then(|()| near.read_exact(&mut buf))
        {
            failed = Some(e);
            break;
        }
        times.push(t.elapsed());
    }
    // Closing our end ends the echo thread's read if we stopped early.
    drop(near);
    let echoed = echo
        .join()
        .map_err(|_| anyhow::anyhow!("the echo thread panicked"))?;
    if let Some(e) = failed {
        return Err(e.into());
    }
    echoed?;
    Ok(median_max(&times).0)
}

fn round_trips_tcp() -> anyhow::Result<Duration> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let near = TcpStream::connect(listener.local_addr()?)?;
    let (far, _) = listener.accept()?;
    // Both systems turn Nagle off on their peer connections.
    near.set_nodelay(true)?;
    far.set_nodelay(true)?;
    ping_pong(near, far)
}

fn round_trips_unix() -> anyhow::Result<Duration> {
    let (near, far) = UnixStream::pair()?;
    ping_pong(near, far)
}
