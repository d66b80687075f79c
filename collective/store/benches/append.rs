//! fsync latency of the Raft log (DESIGN.md §5: "Measure fsync latency here
//! first"): a leader stalled in a sync longer than its lease gets deposed.
//!
//! Prints p50/p99/max of an acknowledged append (callback fired, i.e. sled
//! flush + `fdatasync`) of 1 entry and of a batch of 100 entries, beside a
//! plain 4 KiB write + `fdatasync` on the same file system as the anchor.
//! Asserts nothing. The store lives under `COHORT_BENCH_DIR` if set (point
//! it at the disk a member will use), else under cargo's target tmp dir
//! (not /tmp, which may be tmpfs and make every sync free).

use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use cohort_state::{Command, Request, RequestV1};
use cohort_store::{Entry, LogId};
use openraft::storage::RaftLogStorageExt;
use openraft::{CommittedLeaderId, EntryPayload};

const SAMPLES: usize = 300;
const BATCH_SAMPLES: usize = 100;

fn entry(index: u64) -> Entry {
    let command = Command::SetNodeAttributes {
        noderange: format!("n{index}"),
        assignments: vec![
            "console.method=ipmi".into(),
            "hardwaremanagement.manager=10.0.0.1".into(),
        ],
    };
    let request = Request::V1(RequestV1 {
        client: 1,
        seq: index,
        now_ms: 0,
        command,
    });
    let log_id = LogId::new(CommittedLeaderId::new(1, 1), index);
    Entry {
        log_id,
        payload: EntryPayload::Normal(request),
    }
}

fn report(name: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "{name:<34} n={:<4} p50 {:>7.3} ms  p99 {:>7.3} ms  max {:>7.3} ms",
        samples.len(),
        ms(at(0.50)),
        ms(at(0.99)),
        ms(at(1.0)),
    );
}

fn base_dir() -> PathBuf {
    std::env::var_os("COHORT_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_TARGET_TMPDIR")))
}

fn anchor(dir: &std::path::Path) -> Vec<Duration> {
    let mut file = std::fs::File::create(dir.join("anchor")).expect("anchor file");
    let block = [0x5a; 4096];
    (0..SAMPLES)
        .map(|_| {
            let start = Instant::now();
            file.write_all(&block).expect("anchor write");
            file.sync_data().expect("anchor sync");
            start.elapsed()
        })
        .collect()
}

fn main() {
    let base = base_dir();
    std::fs::create_dir_all(&base).expect("bench dir");
    let dir = tempfile::tempdir_in(&base).expect("temp dir");
    println!("cohort-store append latency in {}", dir.path().display());
    report("4 KiB write + fdatasync (anchor)", anchor(dir.path()));

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .expect("tokio runtime");
    rt.block_on(async {
        let (mut log, _sm) = cohort_store::open(&dir.path().join("raft"))
            .await
            .expect("open");
        let mut next = 1u64;
        let mut one = Vec::with_capacity(SAMPLES);
        for _ in 0..SAMPLES {
            let start = Instant::now();
            log.blocking_append([entry(next)]).await.expect("append");
            one.push(start.elapsed());
            next += 1;
        }
        report("append 1 entry, acknowledged", one);

        let mut batch = Vec::with_capacity(BATCH_SAMPLES);
        for _ in 0..BATCH_SAMPLES {
            let entries: Vec<Entry> = (next..next + 100).map(entry).collect();
            let start = Instant::now();
            log.blocking_append(entries).await.expect("append");
            batch.push(start.elapsed());
            next += 100;
        }
        report("append 100 entries, acknowledged", batch);
    });
}
