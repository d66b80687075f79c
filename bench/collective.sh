#!/usr/bin/env bash
# cohort against etcd on this machine: writes/s and p50/p99 latency at 1, 16
# and 64 clients, leader failover over 10 SIGKILLs, and cohort's listings at
# 100,000 nodes (integration/benches/collective.rs). Prints figures and
# cohort/etcd ratios; asserts nothing.
#
#   bench/collective.sh          installs what is missing, builds, runs
#
# Takes about 2 minutes on 2 cores once built (the first release build adds
# 10-15 minutes). Run it on an otherwise idle machine: both systems run 3
# members on loopback and share the CPUs with the load generator, and the
# report prints the load average at start and end.
#
# Needs root for apt-get when etcd or protoc are missing. Debian packages:
# etcd-server (+ etcd-client for etcdctl, handy when reading the logs),
# protobuf-compiler and libprotobuf-dev (the etcd-client crate compiles
# etcd's .proto files with protoc and its well-known types at build time).
# On a host running systemd, installing etcd-server also starts a system etcd
# on 2379; the bench uses its own free ports, but stop that service for
# quiet figures.
#
# Knobs, passed through the environment: COHORT_BENCH_SECS (10),
# COHORT_BENCH_WARMUP_SECS (2), COHORT_BENCH_KILLS (10), COHORT_BENCH_NODES
# (100000), COHORT_BENCH_LEVELS (1,16,64), COHORT_BENCH_TARGET (spread |
# leader), COHORT_BENCH_ONLY (cohort | etcd), COHORT_BENCH_ETCD (etcd
# binary; not ETCD_*, which etcd itself reads as flags). See integration/benches/collective.rs.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}"

need_pkgs=()
command -v "${COHORT_BENCH_ETCD:-etcd}" >/dev/null 2>&1 || need_pkgs+=(etcd-server etcd-client)
command -v protoc >/dev/null 2>&1 || need_pkgs+=(protobuf-compiler)
[[ -e /usr/include/google/protobuf/descriptor.proto ]] || need_pkgs+=(libprotobuf-dev)
if ((${#need_pkgs[@]})); then
  echo "==> installing Debian packages: ${need_pkgs[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}"
fi

echo "==> building the release cohort binary"
cargo build --release -j"$CARGO_BUILD_JOBS" -p cohort
echo "==> running the benchmark"
# The bench target needs the `etcd-bench` feature (it pulls in etcd-client,
# which needs protoc); plain `cargo test --workspace` therefore does not.
COHORT_BIN="$PWD/target/release/cohort" cargo bench -j"$CARGO_BUILD_JOBS" \
  -p cohort-integration --features etcd-bench --bench collective
