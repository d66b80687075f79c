//! Reading files in chunks for the network: HTTPS response bodies
//! (`https/body.rs`) and blob streams to other members (`tree/fetch.rs`).
//! The buffer pool also holds the staging buffers of direct blob writes
//! (`tree/blobs.rs`).
//!
//! Two costs dominated serving a file that the page cache holds, on these
//! virtual machines, and both are avoided here:
//!
//! - **Fresh buffers.** A fresh half-megabyte allocation is a fresh
//!   mapping, and faulting and zeroing its pages cost a fifth of the CPU
//!   in bench/https.sh. Chunks are read into buffers of a [`BufferPool`]
//!   and handed on as [`Bytes`] that return their buffer to the pool when
//!   hyper, tonic and rustls are done with them.
//! - **Hand-offs to the blocking pool.** A read there costs a futex wake
//!   and a context switch each way, more than copying a cached chunk. A
//!   chunk is first read on the caller's own thread with `preadv2` and
//!   `RWF_NOWAIT`, which copies from the page cache and never waits for
//!   the disk; only what that did not deliver is read on the blocking
//!   pool. (bench/https.sh, 128 connections: 0.53 CPU s per GB served
//!   against 1.09 before.)

use std::fs::File;
use std::future::Future;
use std::io;
use std::os::unix::fs::FileExt;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use hyper::body::Bytes;
use tokio::task::JoinHandle;

/// Chunk buffers kept for reuse, shared by all readers of one pool.
#[derive(Debug)]
pub struct BufferPool {
    free: Mutex<Vec<Vec<u8>>>,
    /// Idle buffers kept at most; the rest go back to the allocator.
    keep: usize,
}

impl BufferPool {
    pub fn new(keep: usize) -> BufferPool {
        BufferPool {
            free: Mutex::new(Vec::with_capacity(keep)),
            keep,
        }
    }

    /// Starts reading `n` bytes of `file` at `offset`: done at once when
    /// the page cache holds them all, else the rest is read on the
    /// blocking pool. A file shorter than that is an `UnexpectedEof`.
    pub fn read(self: &Arc<Self>, file: &Arc<File>, offset: u64, n: usize) -> ChunkRead {
        let mut buf = self.take(n);
        let cached = read_cached(file, offset, &mut buf, n);
        if cached == n {
            return ChunkRead::Done(Some(Ok(self.bytes(buf))));
        }
        let (file, pool) = (file.clone(), self.clone());
        ChunkRead::Blocking(tokio::task::spawn_blocking(move || {
            match file.read_exact_at(&mut buf[cached..], offset + cached as u64) {
                Ok(()) => Ok(pool.bytes(buf)),
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "file shrank while being read",
                )),
                Err(e) => Err(e),
            }
        }))
    }

    /// A buffer with room for `n` bytes, holding whatever it last held.
    pub fn take(&self, n: usize) -> Vec<u8> {
        let reused = self.free.lock().ok().and_then(|mut free| free.pop());
        // Returned with the length (and bytes) of its last use: a reader
        // that wants it initialized need not zero it again.
        match reused {
            Some(buf) if buf.capacity() >= n => buf,
            _ => Vec::with_capacity(n),
        }
    }

    /// Keeps `buf` for a later [`Self::take`], if the pool is not full.
    pub fn give(&self, buf: Vec<u8>) {
        if let Ok(mut free) = self.free.lock()
            && free.len() < self.keep
        {
            free.push(buf);
        }
    }

    /// `buf` as `Bytes` that give the buffer back when dropped.
    fn bytes(self: &Arc<Self>, buf: Vec<u8>) -> Bytes {
        Bytes::from_owner(Pooled {
            buf,
            pool: self.clone(),
        })
    }

    /// Idle buffers in the pool (for tests).
    #[cfg(test)]
    pub fn idle(&self) -> Vec<usize> {
        self.free
            .lock()
            .map(|free| free.iter().map(Vec::capacity).collect())
            .unwrap_or_default()
    }
}

/// A chunk's buffer on its way through hyper, tonic and rustls; back to
/// the pool when they drop it.
struct Pooled {
    buf: Vec<u8>,
    pool: Arc<BufferPool>,
}

impl AsRef<[u8]> for Pooled {
    fn as_ref(&self) -> &[u8] {
        &self.buf
    }
}

impl Drop for Pooled {
    fn drop(&mut self) {
        self.pool.give(std::mem::take(&mut self.buf));
    }
}

/// A chunk being read: [`BufferPool::read`].
#[derive(Debug)]
pub enum ChunkRead {
    /// Read from the page cache (`None` once taken).
    Done(Option<io::Result<Bytes>>),
    Blocking(JoinHandle<io::Result<Bytes>>),
}

impl Future for ChunkRead {
    type Output = io::Result<Bytes>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<Bytes>> {
        match self.get_mut() {
            ChunkRead::Done(result) => Poll::Ready(
                result
                    .take()
                    .unwrap_or_else(|| Err(io::Error::other("chunk polled after it was read"))),
            ),
            ChunkRead::Blocking(handle) => Pin::new(handle)
                .poll(cx)
                .map(|joined| joined.map_err(io::Error::other).and_then(|r| r)),
        }
    }
}

/// Reads up to `n` bytes at `offset` into `buf` from the page cache only
/// (`RWF_NOWAIT`: nothing that would wait for the disk); returns how many
/// (0 on any error, including a kernel or file system without the flag).
/// `buf` is made `n` long; a pooled buffer already is, so it is not zeroed.
fn read_cached(file: &File, offset: u64, buf: &mut Vec<u8>, n: usize) -> usize {
    use rustix::io::{ReadWriteFlags, preadv2};
    buf.resize(n, 0);
    let mut done = 0;
    while done < n {
        let mut slice = [io::IoSliceMut::new(&mut buf[done..n])];
        let at = offset + done as u64;
        match preadv2(file, &mut slice, at, ReadWriteFlags::NOWAIT) {
            Ok(0) | Err(_) => break,
            Ok(k) => done += k,
        }
    }
    done
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn file_with(bytes: &[u8]) -> Arc<File> {
        let mut f = tempfile::tempfile().unwrap();
        f.write_all(bytes).unwrap();
        Arc::new(f)
    }

    #[tokio::test]
    async fn chunks_partly_or_not_in_the_page_cache_are_read_whole() {
        use rustix::fs::{Advice, fadvise};
        let data: Vec<u8> = (0..=250u8).cycle().take(300_000).collect();
        let file = file_with(&data);
        file.sync_all().unwrap();
        // Out of the page cache from 100,000 on: the second chunk is cached
        // in part, the third not at all (where the file system drops clean
        // pages on request; elsewhere every read is from the cache).
        fadvise(&*file, 100_000, None, Advice::DontNeed).unwrap();
        let pool = Arc::new(BufferPool::new(4));
        let mut got = Vec::new();
        for at in (0..300_000u64).step_by(80_000) {
            let n = (300_000 - at).min(80_000) as usize;
            got.extend_from_slice(&pool.read(&file, at, n).await.unwrap());
        }
        assert_eq!(got, data);
        let mut head = Vec::new();
        assert_eq!(read_cached(&file, 0, &mut head, 50_000), 50_000);
        assert_eq!(head, data[..50_000], "a cached range reads whole at once");
    }

    #[tokio::test]
    async fn a_short_file_is_an_error_and_buffers_come_back() {
        let file = file_with(b"short");
        let pool = Arc::new(BufferPool::new(2));
        let err = pool.read(&file, 0, 100).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
        let chunk = pool.read(&file, 1, 4).await.unwrap();
        assert_eq!(&chunk[..], b"hort");
        assert!(pool.idle().is_empty(), "the buffer is in use");
        drop(chunk);
        assert_eq!(pool.idle().len(), 1, "dropping the bytes gave it back");
    }
}
