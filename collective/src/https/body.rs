//! The one response body type: a queue of in-memory pieces and file
//! extents, streamed in large chunks.
//!
//! A whole file, one range and a multipart answer are the same thing here:
//! a list of [`Segment`]s. Memory stays bounded per response: at most one
//! chunk being sent and one being read ahead, so a disk read of chunk N+1
//! overlaps the encryption and sending of chunk N. Each chunk is read
//! straight into the buffer that hyper and rustls then consume (no copy in
//! between), from the page cache on the connection's own thread when it
//! is there, into a buffer that comes back to the service's pool
//! (`crate::chunks`). A file shorter than announced ends the body with an
//! error, which makes hyper abort the connection: a client never takes a
//! truncated file for a whole one.

use std::collections::VecDeque;
use std::fs::File;
use std::future::Future as _;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use hyper::body::{Bytes, Frame, SizeHint};

use crate::chunks::{BufferPool, ChunkRead};

/// One piece of a body.
#[derive(Debug)]
pub enum Segment {
    /// Bytes already in memory (messages, multipart part headers).
    Bytes(Bytes),
    /// `len` bytes of the response's file from `offset`.
    File { offset: u64, len: u64 },
}

/// Where file chunks are read from, and into what.
#[derive(Debug)]
struct Source {
    file: Arc<File>,
    pool: Arc<BufferPool>,
    /// Bytes of the largest read.
    chunk: usize,
}

/// A response body; see the module documentation.
#[derive(Debug, Default)]
pub struct Body {
    segments: VecDeque<Segment>,
    source: Option<Source>,
    /// The chunk being read ahead, if any.
    reading: Option<ChunkRead>,
    /// Bytes not yet handed to hyper (segments plus the read in flight).
    remaining: u64,
}

impl Body {
    /// No bytes at all (HEAD, 304).
    pub fn empty() -> Body {
        Body::default()
    }

    /// A body held in memory.
    pub fn bytes(bytes: impl Into<Bytes>) -> Body {
        let bytes = bytes.into();
        Body {
            remaining: bytes.len() as u64,
            segments: VecDeque::from([Segment::Bytes(bytes)]),
            ..Body::default()
        }
    }

    /// `segments` of `file`, read `chunk` bytes at a time into buffers of
    /// `pool`.
    pub fn file(file: File, segments: Vec<Segment>, chunk: usize, pool: Arc<BufferPool>) -> Body {
        let remaining = segments
            .iter()
            .map(|s| match s {
                Segment::Bytes(b) => b.len() as u64,
                Segment::File { len, .. } => *len,
            })
            .sum();
        Body {
            segments: segments.into(),
            source: Some(Source {
                file: Arc::new(file),
                pool,
                chunk: chunk.max(1),
            }),
            reading: None,
            remaining,
        }
    }

    /// Starts reading the next chunk of the front segment, if it is a file
    /// extent. Consumes that part of the segment at once, so the segment
    /// queue always describes what is left after the read in flight.
    fn read_ahead(&mut self) {
        let Some(Segment::File { offset, len }) = self.segments.front_mut() else {
            return;
        };
        let Some(source) = &self.source else {
            return;
        };
        // `chunk` fits in usize, so the minimum does too.
        let n = (*len).min(source.chunk as u64) as usize;
        let at = *offset;
        *offset += n as u64;
        *len -= n as u64;
        if *len == 0 {
            self.segments.pop_front();
        }
        self.reading = Some(source.pool.read(&source.file, at, n));
    }
}

impl hyper::body::Body for Body {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        let this = self.get_mut();
        if this.reading.is_none() {
            match this.segments.front() {
                None => return Poll::Ready(None),
                Some(Segment::Bytes(_)) => {
                    let Some(Segment::Bytes(b)) = this.segments.pop_front() else {
                        return Poll::Ready(None);
                    };
                    this.remaining -= b.len() as u64;
                    return Poll::Ready(Some(Ok(Frame::data(b))));
                }
                Some(Segment::File { .. }) => this.read_ahead(),
            }
        }
        let Some(reading) = this.reading.as_mut() else {
            return Poll::Ready(None);
        };
        let chunk = ready!(Pin::new(reading).poll(cx));
        this.reading = None;
        let chunk = chunk?;
        this.remaining -= chunk.len() as u64;
        // The next read runs while hyper sends this one.
        this.read_ahead();
        Poll::Ready(Some(Ok(Frame::data(chunk))))
    }

    fn is_end_stream(&self) -> bool {
        self.remaining == 0
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.remaining)
    }
}

/// Collects a body, as hyper would poll it (for tests).
#[cfg(test)]
pub async fn collect(mut body: Body) -> io::Result<Vec<u8>> {
    use hyper::body::Body as _;
    let mut out = Vec::new();
    while let Some(frame) = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
        if let Ok(data) = frame?.into_data() {
            out.extend_from_slice(&data);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use hyper::body::Body as _;

    use super::*;

    fn pool() -> Arc<BufferPool> {
        Arc::new(BufferPool::new(2))
    }

    fn file_with(bytes: &[u8]) -> File {
        let mut f = tempfile::tempfile().unwrap();
        f.write_all(bytes).unwrap();
        f
    }

    #[tokio::test]
    async fn segments_come_out_in_order_across_chunk_boundaries() {
        let data: Vec<u8> = (0..=255u8).cycle().take(10_000).collect();
        let segments = vec![
            Segment::Bytes(Bytes::from_static(b"<")),
            Segment::File {
                offset: 10,
                len: 4000,
            },
            Segment::Bytes(Bytes::from_static(b"|")),
            Segment::File {
                offset: 9000,
                len: 1000,
            },
            Segment::Bytes(Bytes::from_static(b">")),
        ];
        let body = Body::file(file_with(&data), segments, 777, pool());
        assert_eq!(body.size_hint().exact(), Some(5003));
        let got = collect(body).await.unwrap();
        let mut want = b"<".to_vec();
        want.extend_from_slice(&data[10..4010]);
        want.push(b'|');
        want.extend_from_slice(&data[9000..10_000]);
        want.push(b'>');
        assert_eq!(got, want);
    }

    #[tokio::test]
    async fn a_file_shorter_than_announced_is_an_error() {
        let body = Body::file(
            file_with(b"short"),
            vec![Segment::File {
                offset: 0,
                len: 100,
            }],
            64,
            pool(),
        );
        let err = collect(body).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
    }

    #[tokio::test]
    async fn buffers_come_back_to_the_pool() {
        let pool = pool();
        let body = Body::file(
            file_with(&[7u8; 1000]),
            vec![Segment::File {
                offset: 0,
                len: 1000,
            }],
            300,
            pool.clone(),
        );
        assert_eq!(collect(body).await.unwrap(), vec![7u8; 1000]);
        let kept = pool.idle();
        // One or two buffers were in use at once, depending on whether the
        // read ahead started before the previous chunk was dropped.
        assert!((1..=2).contains(&kept.len()), "{} kept", kept.len());
    }

    #[tokio::test]
    async fn empty_and_in_memory_bodies() {
        assert!(Body::empty().is_end_stream());
        assert_eq!(collect(Body::empty()).await.unwrap(), b"");
        assert_eq!(collect(Body::bytes("hi\n")).await.unwrap(), b"hi\n");
    }
}
