//! Fetching one blob from the other members (`Peer.FetchBlob`).
//!
//! Peers are tried in turn, starting at one chosen by the hash so that
//! several members fetching many blobs spread the load. A peer that lacks
//! the blob says NOT_FOUND and the next is asked; a peer that dies or
//! stalls mid-stream leaves the bytes received so far in the part, and the
//! next peer is asked from that offset. Content that does not hash to its
//! name is discarded whole (which peer sent the bad bytes cannot be told
//! once they are mixed) and the fetch starts over with the next peer.

use std::fs::File;
use std::future::Future as _;
use std::io::{self, Read};
use std::pin::Pin;
use std::sync::{Arc, LazyLock};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use cohort_proto::peer_client::PeerClient;
use cohort_proto::{BlobChunk, FetchBlobRequest, FetchBlobsRequest, SmallBlob};
use tokio_stream::wrappers::ReceiverStream;
use tonic::Status;

use super::Tree;
use super::blobs::{BlobStore, BlobWriter, Sha256, from_bytes, hex};
use crate::chunks::{BufferPool, ChunkRead};
use crate::server::dial::Dialer;

/// Bytes per chunk sent.
pub const CHUNK: usize = 1 << 20;

/// The reply stream of `FetchBlob`.
pub type ChunkStream = Pin<Box<dyn tokio_stream::Stream<Item = Result<BlobChunk, Status>> + Send>>;

/// Serves blob `sha` from `offset` (the `FetchBlob` handler's work), a
/// chunk at a time as tonic asks for the next: from the page cache on
/// tonic's own thread, from the disk on the blocking pool
/// (`crate::chunks`), into pooled buffers.
pub fn serve(blobs: &BlobStore, sha: &[u8], offset: u64) -> Result<ChunkStream, Status> {
    let sha = from_bytes(sha)
        .ok_or_else(|| Status::invalid_argument("sha256 must be 32 bytes (a SHA-256 hash)"))?;
    let path = blobs.path(&sha);
    let file = match File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(Status::not_found(format!(
                "this member does not have blob {} (yet)",
                hex(&sha)
            )));
        }
        Err(e) => return Err(Status::internal(format!("cannot open blob: {e}"))),
    };
    let len = file
        .metadata()
        .map_err(|e| Status::internal(format!("cannot stat blob: {e}")))?
        .len();
    if offset > len {
        return Err(Status::out_of_range(format!(
            "offset {offset} is past the end of the {len}-byte blob"
        )));
    }
    Ok(Box::pin(Chunks {
        file: Arc::new(file),
        at: offset,
        end: len,
        size: len,
        reading: None,
    }))
}

/// Chunk buffers of blob streams, shared by all of them (16 MiB idle at
/// most).
static CHUNK_BUFFERS: LazyLock<Arc<BufferPool>> = LazyLock::new(|| Arc::new(BufferPool::new(16)));

/// The chunks of one blob from `at` to `end`.
struct Chunks {
    file: Arc<File>,
    at: u64,
    end: u64,
    /// The blob's size, sent in the first chunk only (then 0).
    size: u64,
    reading: Option<ChunkRead>,
}

impl tokio_stream::Stream for Chunks {
    type Item = Result<BlobChunk, Status>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.reading.is_none() {
            if this.at >= this.end {
                return Poll::Ready(None);
            }
            let n = (this.end - this.at).min(CHUNK as u64) as usize;
            this.reading = Some(CHUNK_BUFFERS.read(&this.file, this.at, n));
        }
        let Some(reading) = this.reading.as_mut() else {
            return Poll::Ready(None);
        };
        let read = ready!(Pin::new(reading).poll(cx));
        this.reading = None;
        match read {
            Ok(data) => {
                this.at += data.len() as u64;
                Poll::Ready(Some(Ok(BlobChunk {
                    data,
                    size: std::mem::take(&mut this.size),
                })))
            }
            Err(e) => {
                // Nothing after an error: the fetcher resumes elsewhere.
                this.at = this.end;
                Poll::Ready(Some(Err(Status::internal(format!(
                    "cannot read blob: {e}"
                )))))
            }
        }
    }
}

/// Largest blob a `FetchBlobs` reply carries whole; larger ones are
/// answered "not present" and fetched with `FetchBlob`.
pub const SMALL_BLOB_MAX: u64 = 1 << 20;
/// Most hashes one `FetchBlobs` request may name.
pub const MAX_SMALL_BLOBS: usize = 256;

/// The reply stream of `FetchBlobs`.
pub type SmallBlobStream =
    Pin<Box<dyn tokio_stream::Stream<Item = Result<SmallBlob, Status>> + Send>>;

/// Serves whole small blobs in request order (the `FetchBlobs` handler's
/// work), reading on the blocking pool a couple of blobs ahead.
pub fn serve_small(blobs: &BlobStore, hashes: Vec<Vec<u8>>) -> Result<SmallBlobStream, Status> {
    if hashes.len() > MAX_SMALL_BLOBS {
        return Err(Status::invalid_argument(format!(
            "FetchBlobs names {} blobs; at most {MAX_SMALL_BLOBS} per request",
            hashes.len()
        )));
    }
    let hashes = hashes
        .iter()
        .map(|h| from_bytes(h))
        .collect::<Option<Vec<Sha256>>>()
        .ok_or_else(|| {
            Status::invalid_argument("every sha256 must be 32 bytes (a SHA-256 hash)")
        })?;
    let blobs = blobs.clone();
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    tokio::task::spawn_blocking(move || {
        for sha in hashes {
            let data = read_small(&blobs.path(&sha));
            let reply = SmallBlob {
                sha256: sha.to_vec(),
                present: data.is_some(),
                data: data.unwrap_or_default().into(),
            };
            if tx.blocking_send(Ok(reply)).is_err() {
                return; // the fetcher went away
            }
        }
    });
    Ok(Box::pin(ReceiverStream::new(rx)))
}

/// A blob's bytes if it is here and at most [`SMALL_BLOB_MAX`] long.
fn read_small(path: &std::path::Path) -> Option<Vec<u8>> {
    let file = File::open(path).ok()?;
    let len = file.metadata().ok()?.len();
    if len > SMALL_BLOB_MAX {
        return None;
    }
    let mut data = Vec::with_capacity(len as usize);
    // `take`: a blob never grows, but a bound costs nothing.
    file.take(SMALL_BLOB_MAX).read_to_end(&mut data).ok()?;
    Some(data)
}

/// Fetches several small blobs in one `FetchBlobs` stream from one of
/// `sources` (chosen by the first hash, to spread the load), storing each
/// as it arrives and calling `stored` for it. Returns the blobs that did
/// not arrive or did not check out, for the one-blob path, which tries
/// every source and names each failure.
pub async fn fetch_small(
    tree: &Tree,
    dialer: &Dialer,
    wanted: Vec<(Sha256, u64)>,
    sources: &[Source],
    stored: impl Fn(&Sha256, u64) + Clone + Send + 'static,
) -> Vec<(Sha256, u64)> {
    let Some(first) = wanted.first() else {
        return wanted;
    };
    if sources.is_empty() {
        return wanted;
    }
    let source = &sources[usize::from(first.0[0]) % sources.len()];
    let Ok(channel) = dialer.channel(&source.name, &source.addr) else {
        return wanted;
    };
    let mut client = PeerClient::new(channel).max_decoding_message_size(MAX_CHUNK_MESSAGE);
    let request = FetchBlobsRequest {
        sha256: wanted.iter().map(|(sha, _)| sha.to_vec()).collect(),
    };
    let mut stream = match client.fetch_blobs(request).await {
        Ok(r) => r.into_inner(),
        Err(_) => return wanted,
    };
    let mut left = Vec::new();
    let mut pending = wanted.into_iter();
    // Arrived blobs are checked and stored on the blocking pool, a few at
    // a time, while the stream goes on.
    let mut arrived: Vec<(Sha256, u64, hyper::body::Bytes)> = Vec::new();
    let mut arrived_bytes = 0u64;
    let mut stores = tokio::task::JoinSet::new();
    loop {
        let next = tokio::time::timeout(CHUNK_TIMEOUT, stream.message()).await;
        let Ok(Ok(Some(blob))) = next else { break };
        let Some((sha, size)) = pending.next() else {
            break;
        };
        if blob.sha256 != sha || !blob.present || blob.data.len() as u64 != size {
            left.push((sha, size));
            continue;
        }
        arrived_bytes += size;
        arrived.push((sha, size, blob.data));
        if arrived.len() >= 16 || arrived_bytes >= SMALL_BLOB_MAX {
            arrived_bytes = 0;
            stores.spawn_blocking(store_small(
                tree.blobs().clone(),
                std::mem::take(&mut arrived),
                stored.clone(),
            ));
        }
    }
    left.extend(pending);
    stores.spawn_blocking(store_small(tree.blobs().clone(), arrived, stored));
    while let Some(done) = stores.join_next().await {
        if let Ok(failed) = done {
            left.extend(failed);
        }
    }
    left
}

/// Checks and stores arrived small blobs; returns those that failed.
fn store_small(
    blobs: BlobStore,
    arrived: Vec<(Sha256, u64, hyper::body::Bytes)>,
    stored: impl Fn(&Sha256, u64),
) -> impl FnOnce() -> Vec<(Sha256, u64)> {
    move || {
        let mut failed = Vec::new();
        for (sha, size, data) in arrived {
            match blobs.store_fetched(&sha, &data) {
                Ok(()) => stored(&sha, size),
                Err(e) => {
                    tracing::warn!(blob = %hex(&sha), "small blob not stored: {e}");
                    failed.push((sha, size));
                }
            }
        }
        failed
    }
}

/// Longest wait for the next chunk before a peer counts as stalled.
const CHUNK_TIMEOUT: Duration = Duration::from_secs(30);
/// Generous bound on one message: chunks are 1 MiB.
const MAX_CHUNK_MESSAGE: usize = 8 << 20;

/// A member to fetch from.
#[derive(Debug, Clone)]
pub struct Source {
    pub name: String,
    pub addr: String,
}

/// Runs blocking work on the blocking pool; a panic there is an error.
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, String> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| format!("internal error: blocking task failed: {e}"))
}

/// Fetches blob `sha` of `size` bytes into the store from one of `sources`.
pub async fn fetch(
    tree: &Tree,
    dialer: &Dialer,
    sha: Sha256,
    size: u64,
    sources: &[Source],
) -> Result<(), String> {
    let name = hex(&sha);
    if sources.is_empty() {
        return Err(format!(
            "blob {name}: no other member to fetch it from, and this member lacks it"
        ));
    }
    let start = usize::from(sha[0]) % sources.len();
    let mut errors = Vec::new();
    let mut writer = None;
    for i in 0..sources.len() {
        let source = &sources[(start + i) % sources.len()];
        let w = match writer.take() {
            Some(w) => w,
            None => {
                let blobs = tree.blobs().clone();
                let w = blocking(move || blobs.resume(&sha, size))
                    .await?
                    .map_err(|e| format!("blob {name}: {e}"))?;
                if w.len() > 0 {
                    tracing::info!(blob = %name, offset = w.len(), size, "resuming blob fetch");
                }
                w
            }
        };
        match from_peer(dialer, source, sha, w).await {
            Ok(w) if w.len() == size => {
                // Not fsynced: fetches run inside a round of
                // BlobStore::begin_fetches, flushed once afterwards.
                match blocking(move || w.finish_fetched()).await? {
                    Ok(_) => return Ok(()),
                    // The part was discarded: the next peer starts afresh.
                    Err(e) => errors.push(format!("{}: {e}", source.name)),
                }
            }
            Ok(w) => {
                errors.push(format!(
                    "{}: stream ended at {} of {size} bytes",
                    source.name,
                    w.len()
                ));
                writer = Some(w);
            }
            Err((w, e)) => {
                errors.push(format!("{}: {e}", source.name));
                writer = w;
            }
        }
    }
    Err(format!("blob {name}: {}", errors.join("; ")))
}

/// Streams what `source` has from the writer's length on. On failure the
/// writer comes back when its content is still good to continue.
async fn from_peer(
    dialer: &Dialer,
    source: &Source,
    sha: Sha256,
    mut writer: BlobWriter,
) -> Result<BlobWriter, (Option<BlobWriter>, String)> {
    let channel = match dialer.channel(&source.name, &source.addr) {
        Ok(c) => c,
        Err(e) => return Err((Some(writer), e)),
    };
    let mut client = PeerClient::new(channel).max_decoding_message_size(MAX_CHUNK_MESSAGE);
    let request = FetchBlobRequest {
        sha256: sha.to_vec(),
        offset: writer.len(),
    };
    let mut stream = match client.fetch_blob(request).await {
        Ok(r) => r.into_inner(),
        Err(s) if s.code() == tonic::Code::NotFound => {
            return Err((Some(writer), "does not have it yet".to_owned()));
        }
        Err(s) => return Err((Some(writer), s.message().to_owned())),
    };
    loop {
        let chunk = match tokio::time::timeout(CHUNK_TIMEOUT, stream.message()).await {
            Err(_) => return Err((Some(writer), "stalled".to_owned())),
            Ok(Err(s)) => return Err((Some(writer), s.message().to_owned())),
            Ok(Ok(None)) => return Ok(writer),
            Ok(Ok(Some(chunk))) => chunk,
        };
        if chunk.data.is_empty() {
            continue;
        }
        let (w, result) = blocking(move || {
            let r = writer.write(&chunk.data);
            (writer, r)
        })
        .await
        .map_err(|e| (None, e))?;
        writer = w;
        if let Err(e) = result {
            // More bytes than the blob has: this peer's copy is wrong.
            writer.discard();
            return Err((None, e.to_string()));
        }
    }
}

#[cfg(test)]
mod tests {
    use tokio_stream::StreamExt;

    use super::*;

    #[test]
    fn a_small_blob_request_with_bad_hashes_or_too_many_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = BlobStore::open(dir.path().join("blobs")).unwrap();
        let short = serve_small(&blobs, vec![vec![0; 31]]).err().unwrap();
        assert_eq!(short.code(), tonic::Code::InvalidArgument);
        let many = serve_small(&blobs, vec![vec![0; 32]; MAX_SMALL_BLOBS + 1])
            .err()
            .unwrap();
        assert_eq!(many.code(), tonic::Code::InvalidArgument);
        assert!(many.message().contains("at most 256"), "{}", many.message());
    }

    #[tokio::test]
    async fn a_blob_streams_in_chunks_from_any_offset_with_its_size_first() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = BlobStore::open(dir.path().join("blobs")).unwrap();
        let data: Vec<u8> = (0..5 * CHUNK / 2).map(|i| (i % 253) as u8).collect();
        let sha = blobs.put_bytes(&data).unwrap();
        for offset in [0, 1, CHUNK as u64 + 7, data.len() as u64] {
            let chunks: Vec<BlobChunk> = serve(&blobs, &sha, offset)
                .unwrap()
                .map(|r| r.unwrap())
                .collect()
                .await;
            let got: Vec<u8> = chunks.iter().flat_map(|c| c.data.to_vec()).collect();
            assert_eq!(got, data[offset as usize..], "from {offset}");
            assert!(chunks.iter().all(|c| c.data.len() <= CHUNK));
            let sizes: Vec<u64> = chunks.iter().map(|c| c.size).collect();
            if let Some((first, rest)) = sizes.split_first() {
                assert_eq!(*first, data.len() as u64, "the size comes first");
                assert!(rest.iter().all(|&s| s == 0));
            }
        }
        let past = serve(&blobs, &sha, data.len() as u64 + 1).err().unwrap();
        assert_eq!(past.code(), tonic::Code::OutOfRange);
        let absent = serve(&blobs, &[3u8; 32], 0).err().unwrap();
        assert_eq!(absent.code(), tonic::Code::NotFound);
    }

    #[tokio::test]
    async fn small_blobs_come_whole_in_order_and_missing_ones_say_so() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = BlobStore::open(dir.path().join("blobs")).unwrap();
        let a = blobs.put_bytes(b"first blob").unwrap();
        let b = blobs.put_bytes(&vec![7u8; 5000]).unwrap();
        let absent = [9u8; 32];
        let stream = serve_small(&blobs, vec![b.to_vec(), absent.to_vec(), a.to_vec()]).unwrap();
        let got: Vec<SmallBlob> = stream.map(|r| r.unwrap()).collect().await;
        let summary: Vec<(Vec<u8>, bool, usize)> = got
            .iter()
            .map(|s| (s.sha256.clone(), s.present, s.data.len()))
            .collect();
        assert_eq!(
            summary,
            [
                (b.to_vec(), true, 5000),
                (absent.to_vec(), false, 0),
                (a.to_vec(), true, 10)
            ]
        );
        assert_eq!(&got[2].data[..], b"first blob");
    }
}
