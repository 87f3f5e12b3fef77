#!/usr/bin/env bash
# Names outside the cluster, answered from the cache: dnsd and Unbound 1.17 each forward to
# the same Knot DNS upstream on loopback serving 2,000 names, and after a warm-up pass every
# query is a cache hit. dnsd's own cluster answers run in the same rounds, so that the cost
# of a cached answer reads as a ratio to a cluster answer's. Servers take turns on core 0,
# dnsblast (and Knot, which sees no query once the caches are warm) on core 1.
#   scripts/bench-cache.sh [--rounds R] [--seconds S] [--before BINARY] [--threads N]
#                          [--misses QPS]
# --before adds another dnsd binary (e.g. an older build) as "dnsd-before".
# --threads adds dnsd with N UDP workers as "dnsd-tN", on cores 0 to N-1: with N=2 on two
# cores its second worker shares core 1 with dnsblast, so qps cannot double; what the
# cache's sharing costs shows in the CPU a query.
# --misses also runs dnsd at a fixed QPS below saturation on names never asked before (a
# wildcard in Knot's zone), each one a cache miss, beside cached names at the same rate and
# Knot asked directly (the upstream round trip): CPU a query and median latency of each.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=3 seconds=5 before="" threads=1 miss_qps=0
usage="usage: $0 [--rounds R] [--seconds S] [--before BINARY] [--threads N] [--misses QPS]"
while [ $# -gt 0 ]; do
  case $1 in
    --rounds) rounds=$2; shift 2;;
    --seconds) seconds=$2; shift 2;;
    --before) before=$(realpath "$2"); shift 2;;
    --threads) threads=$2; shift 2;;
    --misses) miss_qps=$2; shift 2;;
    *) echo "$usage" >&2; exit 2;;
  esac
done
scripts/deps.sh knot unbound gcc >/dev/null
[ -f build-release/build.ninja ] || meson setup build-release --buildtype=release -Db_lto=true
ninja -C build-release dnsd/dnsd >/dev/null
dnsd=$(pwd)/build-release/dnsd/dnsd
as_user=$([ "$(id -u)" -eq 0 ] && echo "--user root" || true)  # dnsd refuses root unless told
tmp=$(mktemp -d /tmp/dnsd-bench-cache.XXXXXX)
pids=() pid=""
cleanup() {
  for p in "${pids[@]}" $pid; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
  rm -rf "$tmp"
}
trap cleanup EXIT
gcc -O2 -o "$tmp/dnsblast" bench/tools/dnsblast.c

# The upstream's zone: 2,000 names; the queries: each of them, A.
{
  printf '$TTL 3600\n@ SOA ns.example.test. admin.example.test. 1 3600 600 86400 3600\n'
  printf '@ NS ns.example.test.\nns A 127.0.0.1\n'
  for i in $(seq 0 1999); do printf 'host%s A 10.%s.%s.1\n' "$i" $((i / 256)) $((i % 256)); done
  printf '*.miss A 10.255.0.1\n'
} > "$tmp/example.test.zone"
for i in $(seq 0 1999); do echo "host$i.example.test A"; done > "$tmp/external.txt"
# Names never asked twice in a round: more than a round's misses at --misses QPS. Each round
# restarts dnsd, so its cache starts empty.
if [ "$miss_qps" -gt 0 ]; then
  seq 1 $((miss_qps * seconds * 5 / 4)) | awk '{print "m" $1 ".miss.example.test A"}' > "$tmp/misses.txt"
fi
# Cluster names dnsd answers from its zone (zones/): every A name of the cluster zone.
"$dnsd" records zones/ | awk '$4 == "A" && $1 ~ /cluster\.local\.$/ {print $1, "A"}' |
  sort -u > "$tmp/cluster.txt"

base=$((20000 + RANDOM % 20000))
upstream=$base
mkdir -p "$tmp/knot"
cat > "$tmp/knot/knot.conf" <<EOF
server:
    rundir: "$tmp/knot"
    listen: 127.0.0.1@$upstream
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
database:
    storage: "$tmp/knot"
log:
  - target: stderr
    any: error
template:
  - id: default
    storage: "$tmp"
    zonefile-sync: -1
    journal-content: none
zone:
  - domain: example.test.
    file: "$tmp/example.test.zone"
EOF
taskset -c 1 knotd -c "$tmp/knot/knot.conf" 2>/dev/null &
pids+=($!)
knot_pid=$!
for _ in $(seq 100); do
  dig +short +time=1 +tries=1 -p "$upstream" @127.0.0.1 host1.example.test 2>/dev/null |
    grep -q '^10\.' && break
  sleep 0.1
done

start() {  # name port: starts it on core 0, sets pid, waits for an answer
  local name=$1 port=$2
  case $name in
    unbound)
      cat > "$tmp/unbound.conf" <<EOF
server:
    interface: 127.0.0.1@$port
    port: $port
    do-ip6: no
    num-threads: 1
    username: ""
    chroot: ""
    directory: "$tmp"
    pidfile: ""
    use-syslog: no
    verbosity: 0
    do-not-query-localhost: no
    module-config: "iterator"
    access-control: 127.0.0.0/8 allow
    # Unbound answers test. itself (RFC 6761 special-use names) unless told otherwise.
    local-zone: "test." nodefault
    msg-cache-size: 64m
    rrset-cache-size: 64m
remote-control:
    control-enable: no
forward-zone:
    name: "."
    forward-addr: 127.0.0.1@$upstream
EOF
      taskset -c 0 unbound -d -c "$tmp/unbound.conf" 2>/dev/null & pid=$!;;
    dnsd|dnsd-before|dnsd-t*)
      local binary=$dnsd n=1
      [ "$name" = dnsd-before ] && binary=$before
      [[ $name == dnsd-t* ]] && n=$threads
      taskset -c 0-$((n - 1)) "$binary" $as_user --manifests zones/ --listen "127.0.0.1:$port" \
        --threads "$n" --no-watch --upstream "127.0.0.1:$upstream" --log-level warn & pid=$!;;
  esac
  for _ in $(seq 100); do
    dig +short +time=1 +tries=1 -p "$port" @127.0.0.1 host0.example.test 2>/dev/null |
      grep -q '^10\.' && return
    sleep 0.1
  done
  echo "bench-cache: $name did not answer" >&2; exit 1
}
stop() { kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""; }

blast() {  # port queries seconds [dnsblast options]
  taskset -c 1 "$tmp/dnsblast" -s 127.0.0.1 -p "$1" -d "$2" -l "$3" -c 10 -q 100 -b 32 -t 2 \
    "${@:4}" 2>&1
}

hz=$(getconf CLK_TCK)
measure() {  # label port queries [dnsblast options]: one run (saturating unless -Q), the
  # CPU a query of process $pid, and the median latency
  local u0 s0 u1 s1 out q qps p50
  read -r u0 s0 < <(awk '{print $14, $15}' "/proc/$pid/stat")
  out=$(blast "$2" "$3" "$seconds" "${@:4}")
  read -r u1 s1 < <(awk '{print $14, $15}' "/proc/$pid/stat")
  q=$(awk '/Queries completed/{print $3}' <<<"$out")
  qps=$(awk '/Queries per second/{print $4}' <<<"$out")
  p50=$(awk '/Latency percentiles/{for (i = 1; i < NF; i++) if ($i == "p50") print $(i + 1)}' <<<"$out")
  awk -v l="$1" -v q="$q" -v qps="$qps" -v hz="$hz" -v t="$((u1 - u0 + s1 - s0))" -v p50="$p50" \
    'BEGIN { printf "%s\t%.0f\t%.2f\t%.3f\n", l, qps, t / hz / q * 1e6, p50 * 1e3 }'
}

servers=(dnsd unbound)
[ -n "$before" ] && servers+=(dnsd-before)
[ "$threads" -gt 1 ] && servers+=("dnsd-t$threads")
results=$tmp/results.tsv
for r in $(seq "$rounds"); do
  for name in "${servers[@]}"; do
    base=$((base + 1))
    start "$name" "$base"
    blast "$base" "$tmp/external.txt" 2 >/dev/null  # warm-up: every name cached
    measure "$name cached" "$base" "$tmp/external.txt" >> "$results"
    # Cluster names too, for dnsd with more workers: what more workers cost without the cache.
    if [[ $name == dnsd || $name == dnsd-t* ]]; then
      measure "$name cluster" "$base" "$tmp/cluster.txt" >> "$results"
    fi
    if [ "$name" = dnsd ] && [ "$miss_qps" -gt 0 ]; then
      measure "dnsd cached, $miss_qps qps" "$base" "$tmp/external.txt" -Q "$miss_qps" >> "$results"
      measure "dnsd miss, $miss_qps qps" "$base" "$tmp/misses.txt" -Q "$miss_qps" >> "$results"
      server_pid=$pid pid=$knot_pid  # the upstream itself, on core 1 with dnsblast
      measure "knot direct, $miss_qps qps" "$upstream" "$tmp/external.txt" -Q "$miss_qps" >> "$results"
      pid=$server_pid
    fi
    stop
  done
done

echo "# $(date -u +%Y-%m-%d), $(git rev-parse --short HEAD 2>/dev/null || echo '?'): medians of $rounds rounds of ${seconds} s"
python3 - "$results" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    label, *values = line.rstrip("\n").split("\t")
    rows.setdefault(label, []).append([float(v) for v in values])
med = {k: [statistics.median(r[i] for r in v) for i in range(3)] for k, v in rows.items()}
print("| | qps | server CPU µs a query | median latency ms |")
print("|---|---|---|---|")
for label, (qps, cpu, p50) in med.items():
    print(f"| {label} | {qps:.0f} | {cpu:.2f} | {p50:.3f} |")
if "dnsd cached" in med and "dnsd cluster" in med:
    print(f"\ncached / cluster CPU: {med['dnsd cached'][1] / med['dnsd cluster'][1]:.2f}")
if "dnsd cached" in med and "unbound cached" in med:
    print(f"dnsd / Unbound CPU: {med['dnsd cached'][1] / med['unbound cached'][1]:.2f}, "
          f"qps: {med['dnsd cached'][0] / med['unbound cached'][0]:.2f}")
if "dnsd-before cached" in med:
    print(f"dnsd / dnsd-before CPU: {med['dnsd cached'][1] / med['dnsd-before cached'][1]:.2f}")
for label in med:
    if label.startswith("dnsd-t"):
        n, path = label.split()
        print(f"{n} / dnsd, {path}: CPU {med[label][1] / med['dnsd ' + path][1]:.2f}, "
              f"qps {med[label][0] / med['dnsd ' + path][0]:.2f}")
hit = next((v for k, v in med.items() if k.startswith("dnsd cached, ")), None)
miss = next((v for k, v in med.items() if k.startswith("dnsd miss, ")), None)
knot = next((v for k, v in med.items() if k.startswith("knot direct, ")), None)
if hit and miss and knot:
    print(f"miss / hit CPU: {miss[1] / hit[1]:.2f}; median latency: miss {miss[2]:.3f} ms, "
          f"hit {hit[2]:.3f} ms + the upstream asked directly {knot[2]:.3f} ms = "
          f"{hit[2] + knot[2]:.3f} ms")
PY
