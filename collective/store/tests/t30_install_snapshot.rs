//! Installing a snapshot replaces the state atomically; bad bytes are
//! refused before anything changes.

mod common;

use std::io::Cursor;

use cohort_store::{SnapshotMeta, StateMachineStore, open, validate_snapshot_data};
use common::*;
use openraft::RaftSnapshotBuilder;
use openraft::storage::RaftStateMachine;

/// A store with two applied entries and a built snapshot of them.
async fn store_with_snapshot(dir: &std::path::Path) -> (StateMachineStore, SnapshotMeta) {
    let (_log, mut sm) = open(dir).await.expect("open the store");
    sm.apply([membership_entry(1, 1, &[1]), define_nodes(1, 2, "n[1-2]")])
        .await
        .expect("apply");
    let snap = sm
        .get_snapshot_builder()
        .await
        .build_snapshot()
        .await
        .expect("build a snapshot");
    (sm, snap.meta)
}

/// Snapshot data and metadata as a leader at index 10 would send them.
async fn leader_snapshot() -> (SnapshotMeta, Vec<u8>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let (_log, mut sm) = open(dir.path()).await.expect("open the store");
    let mut entries = vec![membership_entry(2, 1, &[1, 2, 3])];
    entries.extend((2..=9).map(|i| blank(2, i)));
    entries.push(define_nodes(2, 10, "n[1-5]"));
    sm.apply(entries).await.expect("apply");
    let snap = sm
        .get_snapshot_builder()
        .await
        .build_snapshot()
        .await
        .expect("build a snapshot");
    (snap.meta, snap.snapshot.into_inner())
}

async fn assert_unchanged(sm: &mut StateMachineStore, meta: &SnapshotMeta, nodes: usize) {
    let (applied, membership) = sm.applied_state().await.expect("applied state");
    assert_eq!(applied, meta.last_log_id);
    assert_eq!(&membership, &meta.last_membership);
    assert_eq!(
        sm.get_current_snapshot()
            .await
            .expect("read the snapshot")
            .expect("a snapshot exists")
            .meta,
        *meta
    );
    assert_eq!(sm.read(|s| s.inventory().node_count()), nodes);
}

#[tokio::test]
async fn corrupt_snapshot_is_refused_and_changes_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (mut sm, before) = store_with_snapshot(dir.path()).await;
    let (leader_meta, good) = leader_snapshot().await;

    let mut truncated = good.clone();
    truncated.truncate(good.len() / 2);
    let mut wrong_version = good.clone();
    wrong_version[0] = 9;
    let mut garbage = vec![1u8];
    garbage.extend([0xff; 64]);
    for (name, bad) in [
        ("empty", Vec::new()),
        ("unknown envelope version", wrong_version),
        ("truncated", truncated),
        ("garbage state", garbage),
    ] {
        assert!(validate_snapshot_data(&bad).is_err(), "{name}: validate");
        let result = sm
            .install_snapshot(&leader_meta, Box::new(Cursor::new(bad)))
            .await;
        assert!(result.is_err(), "{name}: install must fail");
        assert_unchanged(&mut sm, &before, 2).await;
    }
    drop(sm);
    // Nothing reached the disk either.
    let (_log, mut sm) = open(dir.path()).await.expect("open the store");
    assert_unchanged(&mut sm, &before, 2).await;
}

#[tokio::test]
async fn good_snapshot_replaces_state_and_persists() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (mut sm, _) = store_with_snapshot(dir.path()).await;
    let (leader_meta, good) = leader_snapshot().await;
    let data = sm.begin_receiving_snapshot().await.unwrap();
    assert!(data.get_ref().is_empty());
    sm.install_snapshot(&leader_meta, Box::new(Cursor::new(good.clone())))
        .await
        .unwrap();
    assert_unchanged(&mut sm, &leader_meta, 5).await;
    let handle = sm.handle();
    drop(sm);
    drop(handle);
    let (_log, mut sm) = open(dir.path()).await.expect("open the store");
    assert_unchanged(&mut sm, &leader_meta, 5).await;
    let current = sm
        .get_current_snapshot()
        .await
        .expect("read the snapshot")
        .expect("a snapshot exists");
    assert_eq!(current.snapshot.into_inner(), good);
}
