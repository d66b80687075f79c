//! Harness for tests and benchmarks that run real `cohort` processes.
//!
//! A [`Cluster`] starts members as child processes on their own loopback
//! addresses (127.0.0.N, ports picked free), each with a data directory
//! under one temporary root that is kept and printed when a test fails.
//! Members are killed and paused with signals by PID, and every wait is a
//! poll with a deadline ([`wait_for`]), never a fixed sleep. Dropping the
//! cluster kills every process it started.
//!
//! The `cohort` binary is found at `$COHORT_BIN`, else next to the test
//! executable's target directory (`target/debug/cohort`); `scripts/test`
//! builds it first.

pub mod admin;
pub mod checks;
pub mod deploy;
pub mod history;
mod process;
pub mod rogue;
pub mod workload;

pub use process::{Cluster, Member, agent_bin, cohort_bin, free_port, wait_for};
