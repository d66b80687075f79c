#!/usr/bin/env bash
# The synchronized tree against rsync on this machine (issue 4, point 6): a
# tree of mixed file sizes (2 GiB by default) reaches a freshly joined
# member, side by side with `rsync -a` from an rsync daemon over loopback.
# Prints bytes, files, seconds, MB/s, CPU seconds and the cohort/rsync
# throughput ratio; asserts nothing.
#
#   bench/tree.sh          installs what is missing, builds, runs
#
# The tree: a few large files (40% of the bytes), a few hundred medium ones
# (1-10 MiB, 50%) and thousands of small ones (1-64 KiB, 10%), sizes drawn
# log-uniformly from a fixed seed and contents cut from one AES-CTR key
# stream (deterministic, incompressible, no two files alike).
#
# cohort: member m1 (a collective of one) takes the tree with `cohort tree
# put` (timed apart), then a fresh m2 joins; the clock runs from the `join`
# command until m2's `tree status` reports every file in place (polled
# every 100 ms, then confirmed by counting m2's files). cohort makes
# fetched blobs durable with a syncfs per round of fetches, in the
# background, so the clock stops after a `sync -f` of m2's data, as the
# rsync figure includes a `sync -f` of its destination. Both copies are compared with `diff -r`
# against the source afterwards (not timed).
#
# Takes about 8 minutes at 2 GiB once built (two rounds), most of it the untimed `tree
# put` (the first release build adds 10-15 minutes on 2 cores); needs
# about 7x the tree size free on the disk of COHORT_TREE_BENCH_DIR. Run it
# on an otherwise idle machine: the load average is printed at start and
# end.
#
# Needs root for apt-get when rsync or jq are missing (and linux-perf with
# COHORT_TREE_BENCH_PERF=1).
#
# Knobs, passed through the environment: COHORT_TREE_BENCH_MB (2048, the
# tree's size in MiB), COHORT_TREE_BENCH_DIR (/var/tmp; where the scratch
# directory goes: a disk, not tmpfs), COHORT_TREE_BENCH_ONLY (cohort |
# rsync), COHORT_TREE_BENCH_PERF (1: `perf record -g` both members during
# the sync and print the top symbols of each), COHORT_TREE_BENCH_KEEP (1:
# keep the scratch directory), COHORT_TREE_BENCH_TIMEOUT (1800 s for the
# sync), COHORT_TREE_BENCH_ROUNDS (2), COHORT_BIN (a cohort binary to use
# instead of building target/release/cohort).
#
# Rounds alternate the order (cohort first, then rsync first, ...), each run
# into new, empty destinations. On these virtual machines whoever writes
# second runs on memory the first one brought in (the guest hands cold and
# freed pages back to the host, and touching them again is slow): measured
# at 1 GiB, rsync alone took 5.45 s and rsync right after cohort 2.65 s.
# Nothing is deleted until the end: for about 30 s after thousands of files
# are deleted, ext4 skips their inodes when allocating new ones, one inode
# table lookup each (`recently_deleted` and `find_get_block_common` were a
# quarter of the fetching member's profile in a run that followed a
# deletion). The summary gives every run and each system's mean; the ratio
# is of the means.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}"
mib="${COHORT_TREE_BENCH_MB:-2048}"
base="${COHORT_TREE_BENCH_DIR:-/var/tmp}"
only="${COHORT_TREE_BENCH_ONLY:-}"
perf="${COHORT_TREE_BENCH_PERF:-}"
timeout="${COHORT_TREE_BENCH_TIMEOUT:-1800}"
rounds="${COHORT_TREE_BENCH_ROUNDS:-2}"

need_pkgs=()
command -v rsync >/dev/null 2>&1 || need_pkgs+=(rsync)
command -v jq >/dev/null 2>&1 || need_pkgs+=(jq)
command -v openssl >/dev/null 2>&1 || need_pkgs+=(openssl)
[[ -n "$perf" ]] && ! command -v perf >/dev/null 2>&1 && need_pkgs+=(linux-perf)
if ((${#need_pkgs[@]})); then
  echo "==> installing Debian packages: ${need_pkgs[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}"
fi

if [[ -n "${COHORT_BIN:-}" ]]; then
  cohort="$COHORT_BIN"
else
  echo "==> building the release cohort binary"
  cargo build --release -j"$CARGO_BUILD_JOBS" -p cohort
  cohort="$PWD/target/release/cohort"
fi

fstype="$(df --output=fstype "$base" | tail -1 | tr -d ' ')"
if [[ "$fstype" == tmpfs ]]; then
  echo "$base is tmpfs: set COHORT_TREE_BENCH_DIR to a directory on a disk" >&2
  exit 1
fi
work="$(mktemp -d "$base/cohort-bench-tree.XXXXXX")"
pids=()
cleanup() {
  # Only the processes this script started, by PID.
  for pid in "${pids[@]}"; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  if [[ -n "${COHORT_TREE_BENCH_KEEP:-}" ]]; then
    echo "==> kept $work"
  else
    rm -rf "$work"
  fi
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
now() { echo "$EPOCHREALTIME"; }
# CPU time (user + system, and reaped children's) of processes, in ticks.
ticks() {
  local t=0 f
  for p in "$@"; do
    read -r -a f <"/proc/$p/stat" || continue
    t=$((t + f[13] + f[14] + f[15] + f[16]))
  done
  echo "$t"
}
hz="$(getconf CLK_TCK)"
cpu_s() { awk -v d="$1" -v hz="$hz" 'BEGIN { printf "%.1f", d / hz }'; }
count_files() { find "$1" -type f 2>/dev/null | wc -l; }

# ---------------------------------------------------------------- the tree
src="$work/src"
echo "==> generating a $mib MiB tree in $src ($fstype)"
gen_t0="$(now)"
cat >"$work/gen.py" <<'EOF'
import math, os, random, sys
root, total = sys.argv[1], int(sys.argv[2])
keystream = sys.stdin.buffer
rng = random.Random(6)
KiB, MiB = 1 << 10, 1 << 20

def loguniform(lo, hi):
    return int(math.exp(rng.uniform(math.log(lo), math.log(hi))))

plan = []  # (relative path, size)
large = total * 40 // 100
for i, share in enumerate((3, 2, 1)):
    plan.append((f"large/image{i}.img", large * share // 6))
budget = total * 50 // 100
i = 0
while budget >= MiB:
    size = min(loguniform(MiB, 10 * MiB), budget)
    plan.append((f"medium/d{i // 50:02d}/f{i:04d}.bin", size))
    budget -= size
    i += 1
budget = total - sum(size for _, size in plan)
i = 0
while budget > 0:
    size = min(loguniform(KiB, 64 * KiB), budget)
    plan.append((f"small/d{i // 500:03d}/f{i:05d}", size))
    budget -= size
    i += 1
for path, size in plan:
    full = os.path.join(root, path)
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, "wb") as f:
        while size > 0:
            data = keystream.read(min(size, 4 * MiB))
            if not data:
                sys.exit("the key stream ended early")
            f.write(data)
            size -= len(data)
EOF
head -c "$((mib << 20))" /dev/zero |
  openssl enc -aes-128-ctr -nosalt -K 000102030405060708090a0b0c0d0e0f \
    -iv 00000000000000000000000000000000 |
  python3 "$work/gen.py" "$src" "$((mib << 20))"
files="$(count_files "$src")"
bytes="$(find "$src" -type f -printf '%s\n' | awk '{ s += $1 } END { printf "%.0f\n", s }')"
printf '    %d files, %d bytes in %.1f s (large %d, medium %d, small %d files)\n' \
  "$files" "$bytes" "$(awk -v a="$gen_t0" -v b="$(now)" 'BEGIN { print b - a }')" \
  "$(count_files "$src/large")" "$(count_files "$src/medium")" "$(count_files "$src/small")"
sync

echo "==> load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
results=()

# ------------------------------------------------------------------ cohort
run_cohort() {
  local d1="$work/m1-$round" d2="$work/m2-$round" p1 m1 m2 t0 t1 put_t0 put_t1 token c0 c1 perf1 perf2
  p1="$(free_port)"
  c1() { COHORT_SOCKET="$d1/cohort.sock" "$cohort" "$@"; }
  c2() { COHORT_SOCKET="$d2/cohort.sock" "$cohort" "$@"; }
  # 0 when `tree status` on that member shows the whole tree on `name`.
  synced() { # c1|c2 name
    "$1" tree status --json 2>/dev/null | jq -e --argjson n "$files" --arg m "$2" \
      '.entries == $n and any(.members[]; .name == $m and .reachable
       and .files_missing == 0 and .bytes_to_fetch == 0)' >/dev/null
  }
  up() { # c1|c2 log
    for _ in $(seq 300); do
      "$1" tree status --json >/dev/null 2>&1 && return 0
      sleep 0.1
    done
    echo "member did not come up:" >&2
    tail -20 "$2" >&2
    exit 1
  }

  echo "==> cohort: starting m1 (127.0.0.1:$p1)"
  "$cohort" serve --data-dir "$d1" --name m1 --listen "127.0.0.1:$p1" \
    --https-listen "127.0.0.1:$(free_port)" >"$work/m1-$round.log" 2>&1 &
  m1=$!
  pids+=("$m1")
  up c1 "$work/m1-$round.log"
  put_t0="$(now)"
  c1 tree put "$src" public/bench | sed 's/^/    /'
  until synced c1 m1 && (($(count_files "$d1/tree/public/bench") == files)); do sleep 0.1; done
  put_t1="$(now)"
  printf '    put and placed on m1 in %.1f s (hash, upload over the admin socket, fsync, link)\n' \
    "$(awk -v a="$put_t0" -v b="$put_t1" 'BEGIN { print b - a }')"

  echo "==> cohort: starting m2, joining it to m1"
  "$cohort" serve --data-dir "$d2" --name m2 --listen "127.0.0.1:$(free_port)" \
    --https-listen "127.0.0.1:$(free_port)" >"$work/m2-$round.log" 2>&1 &
  m2=$!
  pids+=("$m2")
  up c2 "$work/m2-$round.log"
  token="$(c1 collective invite m2 --ttl 10m)"
  sync
  if [[ -n "$perf" ]]; then
    perf record -q -g -o "$work/perf-m1-$round.data" -p "$m1" 2>/dev/null &
    perf1=$!
    perf record -q -g -o "$work/perf-m2-$round.data" -p "$m2" 2>/dev/null &
    perf2=$!
    pids+=("$perf1" "$perf2")
    sleep 1
  fi
  c0="$(ticks "$m1" "$m2")"
  t0="$(now)"
  COHORT_INVITE_TOKEN="$token" c2 collective join "127.0.0.1:$p1" >/dev/null
  local last="$t0"
  while :; do
    if synced c2 m2; then
      t1="$(now)"
      # Before m2's first pass after the join its status says 0 missing.
      (($(count_files "$d2/tree/public/bench") == files)) && break
    fi
    t1="$(now)"
    if awk -v a="$t0" -v b="$t1" -v l="$timeout" 'BEGIN { exit !(b - a > l) }'; then
      echo "m2 did not sync within $timeout s:" >&2
      c2 tree status >&2 || true
      tail -20 "$work/m2-$round.log" >&2
      exit 1
    fi
    if awk -v a="$last" -v b="$t1" 'BEGIN { exit !(b - a >= 10) }'; then
      last="$t1"
      printf '    %.0f s: %s\n' "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" \
        "$(c2 tree status 2>/dev/null | grep '^m2:' || true)"
    fi
    sleep 0.1
  done
  # The same durability as rsync's figure: m2 flushes fetched blobs in the
  # background, so the clock stops after a sync -f of its data directory.
  sync -f "$d2/member/blobs"
  t1="$(now)"
  local cpu=$(($(ticks "$m1" "$m2") - c0))
  if [[ -n "$perf" ]]; then
    kill -INT "$perf1" "$perf2" 2>/dev/null || true
    wait "$perf1" "$perf2" 2>/dev/null || true
    for m in m1 m2; do
      echo "==> perf: top symbols of $m during the sync (self time)"
      perf report -q -i "$work/perf-$m-$round.data" --no-children --sort dso,symbol --stdio \
        -g none --percent-limit 1 2>/dev/null | grep -v '^$' |
        sed -E 's/[[:space:]]+-[[:space:]]+-[[:space:]]*$//' | cut -c1-120 | head -25
    done
  fi
  echo "==> cohort: comparing m2's tree with the source"
  diff -r "$src" "$d2/tree/public/bench" >/dev/null && echo "    identical" ||
    echo "    DIFFERENT (the figure below is meaningless)"
  results+=("cohort $(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }') $cpu")
  stop "$m1" "$m2"
}

# ------------------------------------------------------------------- rsync
run_rsync() {
  local port conf dest daemon t0 t1 ts c0 s0 rs
  port="$(free_port)"
  conf="$work/rsyncd.conf"
  dest="$work/rsync-dest-$round"
  mkdir -p "$dest"
  cat >"$conf" <<EOF
pid file = $work/rsyncd.pid
lock file = $work/rsyncd.lock
log file = $work/rsyncd.log
use chroot = no
[bench]
  path = $src
  read only = yes
  uid = $(id -u)
  gid = $(id -g)
EOF
  echo "==> rsync $(rsync --version | awk 'NR == 1 { print $3, $4, $5, $6 }'): daemon on 127.0.0.1:$port"
  rsync --daemon --no-detach --config="$conf" --port="$port" --address=127.0.0.1 &
  daemon=$!
  pids+=("$daemon")
  for _ in $(seq 100); do
    rsync "rsync://127.0.0.1:$port/" >/dev/null 2>&1 && break
    sleep 0.1
  done
  sync
  # The client is this shell's child: its CPU lands in our cutime/cstime.
  s0="$(ticks $$)"
  c0="$(ticks "$daemon")"
  t0="$(now)"
  rsync -a "rsync://127.0.0.1:$port/bench/" "$dest/"
  ts="$(now)"
  sync -f "$dest"
  t1="$(now)"
  sleep 0.2 # the daemon reaps its connection's process
  rs=$(($(ticks $$) - s0 + $(ticks "$daemon") - c0))
  printf '    of which sync -f: %.1f s\n' "$(awk -v a="$ts" -v b="$t1" 'BEGIN { print b - a }')"
  echo "==> rsync: comparing the copy with the source"
  diff -r "$src" "$dest" >/dev/null && echo "    identical" ||
    echo "    DIFFERENT (the figure below is meaningless)"
  results+=("rsync $(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }') $rs")
  stop "$daemon"
}

# Stops processes this script started (by PID) and waits for them.
stop() {
  kill "$@" 2>/dev/null || true
  for pid in "$@"; do wait "$pid" 2>/dev/null || true; done
}

for ((round = 1; round <= rounds; round++)); do
  echo "==> round $round of $rounds"
  if ((round % 2)); then
    [[ "$only" != rsync ]] && run_cohort
    [[ "$only" != cohort ]] && run_rsync
  else
    [[ "$only" != cohort ]] && run_rsync
    [[ "$only" != rsync ]] && run_cohort
  fi
done

echo "==> load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "==> $files files, $bytes bytes ($mib MiB), loopback, same disk"
printf '%-8s %10s %10s %12s %10s\n' system seconds "MB/s" "files/s" "CPU s"
declare -A rate sum_secs sum_cpu runs
row() { # name seconds cpu-ticks
  printf '%-8s %10.2f %10s %12.0f %10s\n' "$1" "$2" \
    "$(awk -v b="$bytes" -v s="$2" 'BEGIN { printf "%.1f", b / s / 1e6 }')" \
    "$(awk -v f="$files" -v s="$2" 'BEGIN { print f / s }')" "$(cpu_s "$3")"
}
for r in "${results[@]}"; do
  read -r name secs cpu <<<"$r"
  row "$name" "$secs" "$cpu"
  sum_secs[$name]="$(awk -v a="${sum_secs[$name]:-0}" -v b="$secs" 'BEGIN { print a + b }')"
  sum_cpu[$name]=$((${sum_cpu[$name]:-0} + cpu))
  runs[$name]=$((${runs[$name]:-0} + 1))
done
echo "mean of each system's runs:"
for name in cohort rsync; do
  [[ -n "${runs[$name]:-}" ]] || continue
  secs="$(awk -v a="${sum_secs[$name]}" -v n="${runs[$name]}" 'BEGIN { print a / n }')"
  row "$name" "$secs" $((sum_cpu[$name] / runs[$name]))
  rate[$name]="$(awk -v b="$bytes" -v s="$secs" 'BEGIN { printf "%.1f", b / s / 1e6 }')"
done
if [[ -n "${rate[cohort]:-}" && -n "${rate[rsync]:-}" ]]; then
  printf 'cohort/rsync throughput ratio: %s (goal: at least 1.0)\n' \
    "$(awk -v a="${rate[cohort]}" -v b="${rate[rsync]}" 'BEGIN { printf "%.2f", a / b }')"
fi
echo "(cohort: m1 + m2 CPU, from the join; rsync: daemon + client CPU. Both times"
echo " include a sync -f of the copy.)"
