//! openraft's storage conformance suite against the sled-backed stores: the
//! bar any replacement backend must also pass (crate essay, "The swap point").

use cohort_store::{LogStore, StateMachineStore, StorageError, TypeConfig};
use openraft::testing::{StoreBuilder, Suite};
use tempfile::TempDir;

/// Each store lives in a fresh directory, removed (by the guard) after the
/// stores are dropped.
struct SledStoreBuilder;

impl StoreBuilder<TypeConfig, LogStore, StateMachineStore, TempDir> for SledStoreBuilder {
    async fn build(&self) -> Result<(TempDir, LogStore, StateMachineStore), StorageError> {
        let dir = tempfile::tempdir().expect("temp dir");
        let (log, sm) = cohort_store::open(dir.path()).await.expect("open store");
        Ok((dir, log, sm))
    }
}

#[test]
fn openraft_storage_suite() {
    Suite::test_all(SledStoreBuilder).unwrap();
}
