#!/usr/bin/env bash
# Where a query's CPU goes, and latency at a fixed rate: Knot DNS, dnsd and the do-nothing
# responder (bench/tools/dnsnull.c) take turns, ROUNDS times, on the same synthetic
# cluster, each pinned to core 0 with dnsblast on core 1. Taking turns matters on a shared
# machine: neighbours change the cost of a query by a third within minutes, so only
# figures from the same round compare.
#   scripts/bench-cpu.sh [--n N] [--rounds R] [--seconds S]        # saturating: user/system µs a query
#   scripts/bench-cpu.sh --latency [--qps Q] [--n N] [--rounds R]  # and p50/p90/p99 at Q qps
# Needs the data and tools scripts/bench.sh makes (run it once for the same --n).
set -euo pipefail
cd "$(dirname "$0")/.."
n=1000 rounds=3 seconds=5 latency=0 qps=20000
while [ $# -gt 0 ]; do
  case $1 in
    --n) n=$2; shift 2;;
    --rounds) rounds=$2; shift 2;;
    --seconds) seconds=$2; shift 2;;
    --latency) latency=1; shift;;
    --qps) qps=$2; shift 2;;
    *) echo "usage: $0 [--n N] [--rounds R] [--seconds S] [--latency [--qps Q]]" >&2; exit 2;;
  esac
done
work=${BENCH_WORK:-/tmp/dnsd-bench}
data=$work/data/N$n tools=$work/tools/bin
for need in "$data/cluster.local.zone" "$data/queries.txt" "$tools/dnsblast" "$tools/dnsnull"; do
  [ -e "$need" ] || { echo "bench-cpu: no $need; run scripts/bench.sh --n $n --runs 1 first" >&2; exit 1; }
done
[ -f build-release/build.ninja ] || meson setup build-release --buildtype=release -Db_lto=true
ninja -C build-release dnsd/dnsd >/dev/null
dnsd=$(pwd)/build-release/dnsd/dnsd
as_user=$([ "$(id -u)" -eq 0 ] && echo "--user root" || true)  # dnsd refuses root unless told
tmp=$(mktemp -d /tmp/dnsd-bench-cpu.XXXXXX)
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT

start() {  # name port: starts the server on core 0, sets pid, waits for an answer
  local name=$1 port=$2
  case $name in
    knot)
      rm -rf "$tmp/knot"; mkdir -p "$tmp/knot/db"
      cat > "$tmp/knot/knot.conf" <<EOF
server:
    rundir: "$tmp/knot"
    listen: 127.0.0.1@$port
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
database:
    storage: "$tmp/knot/db"
log:
  - target: stderr
    any: error
template:
  - id: default
    storage: "$tmp/knot"
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: none
    semantic-checks: off
zone:
  - domain: cluster.local.
    file: "$data/cluster.local.zone"
EOF
      taskset -c 0 knotd -c "$tmp/knot/knot.conf" 2>/dev/null & pid=$!;;
    null) taskset -c 0 "$tools/dnsnull" "$port" 64 >/dev/null 2>&1 & pid=$!; sleep 0.5; return;;
    dnsd) taskset -c 0 "$dnsd" $as_user --manifests "$data/manifests" --listen "127.0.0.1:$port" --threads 1 \
            --no-watch --no-forward --log-level warn & pid=$!;;
  esac
  for _ in $(seq 300); do
    dig +short +time=1 +tries=1 -p "$port" @127.0.0.1 svc-0.ns-0.svc.cluster.local 2>/dev/null |
      grep -q '^[0-9]' && return
    sleep 0.2
  done
  echo "bench-cpu: $name did not answer" >&2; exit 1
}

stop() { kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""; }

blast() {  # port seconds [qps]
  local rate=()
  if [ -n "${3:-}" ]; then rate=(-Q "$3"); fi
  taskset -c 1 "$tools/dnsblast" -s 127.0.0.1 -p "$1" -d "$data/queries.txt" -l "$2" -c 10 -q 100 \
    -b 32 -t 2 "${rate[@]}" 2>&1
}

hz=$(getconf CLK_TCK)
port=$((20000 + RANDOM % 20000))
printf '# N=%s, %s round(s), %s\n' "$n" "$rounds" \
  "$([ $latency = 1 ] && echo "latency at $qps qps" || echo "${seconds} s saturating runs")"
for r in $(seq "$rounds"); do
  for name in knot dnsd null; do
    port=$((port + 1))
    start "$name" "$port"
    if [ $latency = 1 ]; then blast "$port" 2 >/dev/null; fi  # warm up
    read -r u0 s0 < <(awk '{print $14, $15}' "/proc/$pid/stat")
    out=$(blast "$port" "$seconds" "$([ $latency = 1 ] && echo "$qps")")
    read -r u1 s1 < <(awk '{print $14, $15}' "/proc/$pid/stat")
    q=$(awk '/Queries completed/{print $3}' <<<"$out")
    qps_done=$(awk '/Queries per second/{print $4}' <<<"$out")
    cpu=$(awk -v q="$q" -v qps="$qps_done" -v hz="$hz" -v u="$((u1 - u0))" -v s="$((s1 - s0))" \
      'BEGIN { printf "qps %7.0f  µs a query: user %.2f system %.2f total %.2f", qps,
               u / hz / q * 1e6, s / hz / q * 1e6, (u + s) / hz / q * 1e6 }')
    printf 'round %s %-5s %s' "$r" "$name" "$cpu"
    if [ $latency = 1 ]; then printf '  %s' "$(grep -o 'p50.*' <<<"$out")"; fi
    printf '\n'
    stop
  done
done
