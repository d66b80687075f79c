#!/usr/bin/env bash
# cohort's HTTPS file server against nginx on this machine: one 1 GiB file
# over TLS, the same certificate for both, wrk with 1, 16 and 128
# keep-alive connections. Prints MB/s per run and the cohort/nginx ratio;
# asserts nothing.
#
#   bench/https.sh          installs what is missing, builds, runs
#
# Takes about 1.5 minutes once built (the first release build adds 10-15
# minutes on 2 cores). Both servers, and wrk, share the machine's CPUs:
# run it on an otherwise idle machine; the load average is printed.
#
# Needs root for apt-get when nginx or wrk are missing (Debian packages
# nginx, wrk). nginx runs with its own prefix, pid and temp paths under a
# scratch directory, so it touches nothing of a system nginx.
#
# Knobs, passed through the environment: BENCH_SECS (10) per run,
# BENCH_CONNS ("1 16 128"), BENCH_SIZE (1G, a head -c size),
# COHORT_HTTPS_CHUNK (bytes per file read in cohort; its default if unset),
# BENCH_ONLY (cohort | nginx), COHORT_BIN (a cohort binary to use instead
# of building target/release/cohort).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}"
secs="${BENCH_SECS:-10}"
conns="${BENCH_CONNS:-1 16 128}"
size="${BENCH_SIZE:-1G}"
only="${BENCH_ONLY:-}"

need_pkgs=()
command -v nginx >/dev/null 2>&1 || need_pkgs+=(nginx)
command -v wrk >/dev/null 2>&1 || need_pkgs+=(wrk)
command -v curl >/dev/null 2>&1 || need_pkgs+=(curl)
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

work="$(mktemp -d /tmp/cohort-bench-https.XXXXXX)"
cohort_pid=""
nginx_pid=""
cleanup() {
  # Only the processes this script started, by PID.
  for pid in $cohort_pid $nginx_pid; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

data="$work/cohort"
cohort_port="$(free_port)"
nginx_port="$(free_port)"
echo "==> starting cohort (https 127.0.0.1:$cohort_port)"
"$cohort" serve --data-dir "$data" --name bench --listen "127.0.0.1:$(free_port)" \
  --https-listen "127.0.0.1:$cohort_port" >"$work/cohort.log" 2>&1 &
cohort_pid=$!
ca="$data/member/member-ca.crt"
for _ in $(seq 200); do
  curl -sf --cacert "$ca" "https://127.0.0.1:$cohort_port/health" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -sf --cacert "$ca" "https://127.0.0.1:$cohort_port/health" \
  || { echo "cohort did not come up:"; cat "$work/cohort.log"; exit 1; }

public="$data/tree/public"
echo "==> writing a $size file of random bytes, put into the tree"
# Through `tree put`: the member serves its replicated manifest, not files
# lying in <data>/tree. The put file lands at $public/big.bin for nginx too.
head -c "$size" /dev/urandom >"$work/big.bin"
COHORT_SOCKET="$data/cohort.sock" "$cohort" tree put "$work/big.bin" public/big.bin
rm -f "$work/big.bin"
# The member places the file once the put is applied: wait until it serves it.
for _ in $(seq 600); do
  curl -sf --cacert "$ca" -o /dev/null -r 0-0 "https://127.0.0.1:$cohort_port/public/big.bin" && break
  sleep 0.1
done
# nginx's workers run as nobody: let them reach the file.
chmod 755 "$work" "$data" "$data/tree" "$public"
chmod 644 "$public/big.bin"
cat "$public/big.bin" >/dev/null # into the page cache for both

echo "==> starting nginx $(nginx -v 2>&1 | sed 's/.*\///') (127.0.0.1:$nginx_port, same leaf and key)"
mkdir -p "$work/nginx/tmp" "$work/nginx/logs"
cat >"$work/nginx/nginx.conf" <<EOF
daemon off;
worker_processes auto;
pid $work/nginx/nginx.pid;
error_log $work/nginx/logs/error.log warn;
events { worker_connections 1024; }
http {
  access_log off; sendfile on; tcp_nopush on; keepalive_requests 100000;
  client_body_temp_path $work/nginx/tmp/body; proxy_temp_path $work/nginx/tmp/proxy;
  fastcgi_temp_path $work/nginx/tmp/fastcgi; uwsgi_temp_path $work/nginx/tmp/uwsgi;
  scgi_temp_path $work/nginx/tmp/scgi;
  types { application/octet-stream bin; }
  server {
    listen 127.0.0.1:$nginx_port ssl;
    ssl_certificate $data/member/member.crt; ssl_certificate_key $data/member/member.key;
    ssl_protocols TLSv1.2 TLSv1.3; ssl_session_cache shared:SSL:10m;
    root $public;
  }
}
EOF
nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" &
nginx_pid=$!
for _ in $(seq 100); do
  curl -sf --cacert "$ca" -o /dev/null "https://127.0.0.1:$nginx_port/big.bin" -r 0-0 && break
  sleep 0.1
done

for port in "$cohort_port" "$nginx_port"; do
  printf '    127.0.0.1:%s negotiates: ' "$port"
  openssl s_client -connect "127.0.0.1:$port" </dev/null 2>/dev/null |
    awk '/^New,/ {print $2, $NF}' | head -1
done

# wrk's "Transfer/sec" (binary units; bytes of responses still in flight
# count too, which a 1 GiB body needs) in decimal MB/s.
mbps() {
  awk '/Transfer\/sec/ {
    v = $2; u = v; sub(/[0-9.]+/, "", u); sub(/[A-Za-z]+$/, "", v)
    m = (u == "GB") ? 1073741824 : (u == "MB") ? 1048576 : (u == "KB") ? 1024 : 1
    printf "%.0f", v * m / 1e6 }'
}

run() { # url conns
  local threads=2
  (($2 < 2)) && threads=1
  local out
  out="$(wrk -t"$threads" -c"$2" -d"${secs}s" --timeout 120s "$1")"
  # Errors would make the figure meaningless: show them.
  grep -E 'errors|Non-2xx' <<<"$out" | sed "s|^|    $1 c=$2: |" >&2 || true
  mbps <<<"$out"
}

# CPU time (user + system, clock ticks) of a server's processes: on a
# shared machine, throughput follows whatever else runs, CPU per byte much
# less.
ticks() {
  local t=0 f
  for p in "$@"; do
    read -r -a f <"/proc/$p/stat" || continue
    t=$((t + f[13] + f[14]))
  done
  echo "$t"
}
hz="$(getconf CLK_TCK)"
nginx_procs() { echo "$nginx_pid" $(ps --ppid "$nginx_pid" -o pid= 2>/dev/null); }

measure() { # url conns pids... -> "MB/s CPU-s/GB"
  local url="$1" c="$2" t0 t1 rate
  shift 2
  t0="$(ticks "$@")"
  rate="$(run "$url" "$c")"
  t1="$(ticks "$@")"
  awk -v r="$rate" -v d="$((t1 - t0))" -v hz="$hz" -v s="$secs" \
    'BEGIN { gb = r * s / 1000; printf "%s %s", r, (gb > 0) ? sprintf("%.2f", d / hz / gb) : "-" }'
}

echo "==> load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-6s %12s %12s %7s %15s %15s\n' conns "cohort MB/s" "nginx MB/s" ratio \
  "cohort CPU s/GB" "nginx CPU s/GB"
for c in $conns; do
  a="- -"; b="- -"
  [[ "$only" != nginx ]] && a="$(measure "https://127.0.0.1:$cohort_port/public/big.bin" "$c" "$cohort_pid")"
  # shellcheck disable=SC2046
  [[ "$only" != cohort ]] && b="$(measure "https://127.0.0.1:$nginx_port/big.bin" "$c" $(nginx_procs))"
  read -r a_rate a_cpu <<<"$a"
  read -r b_rate b_cpu <<<"$b"
  ratio="-"
  [[ "$a_rate" != "-" && "$b_rate" != "-" && "$b_rate" != 0 ]] &&
    ratio="$(awk -v a="$a_rate" -v b="$b_rate" 'BEGIN { printf "%.2f", a / b }')"
  printf '%-6s %12s %12s %7s %15s %15s\n' "$c" "$a_rate" "$b_rate" "$ratio" "$a_cpu" "$b_cpu"
done
echo "==> load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
