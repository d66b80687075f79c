#!/usr/bin/env bash
# The node self-service API under a fleet: 1,000 simulated nodes run the
# whole `cohort-agent deploy` flow (whoami, registerapikey, deploycfg,
# sshcert, nodelist, updatestatus) against 3 release members, 32 at a time.
# Prints nodes/s, per-node and per-step latency, errors, each member's peak
# and current RSS and CPU time, and the nodes' own hashing cost apart
# (integration/benches/nodeapi.rs). Asserts nothing; its last line counts
# the nodes `cohort nodedeploy --json` shows completed.
#
#   bench/nodeapi.sh          builds, runs
#
# Installs nothing: the nodes are simulated in the bench process (ureq on
# rustls), so neither curl nor cohort-agent is needed. The first release
# build takes 10-15 minutes on 2 cores. Members, clients and the build share
# the CPUs: run it on an otherwise idle machine; the report prints the load
# average at start and end.
#
# Knobs, passed through the environment: NODEAPI_BENCH_NODES (1000),
# NODEAPI_BENCH_CONCURRENCY (32). See integration/benches/nodeapi.rs.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}"

echo "==> building the release cohort binary"
cargo build --release -j"$CARGO_BUILD_JOBS" -p cohort
echo "==> running the benchmark"
# The bench target needs the `nodeapi-bench` feature, so that plain
# `cargo test --workspace` does not build it.
COHORT_BIN="$PWD/target/release/cohort" cargo bench -j"$CARGO_BUILD_JOBS" \
  -p cohort-integration --features nodeapi-bench --bench nodeapi
