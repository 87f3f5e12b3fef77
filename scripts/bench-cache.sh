#!/usr/bin/env bash
# Names outside the cluster, answered from the cache: dnsd and Unbound 1.17 each forward to
# the same Knot DNS upstream on loopback serving 2,000 names, and after a warm-up pass every
# query is a cache hit. dnsd's own cluster answers run in the same rounds, so that the cost
# of a cached answer reads as a ratio to a cluster answer's. Servers take turns on core 0,
# dnsblast (and Knot, which sees no query once the caches are warm) on core 1.
#   scripts/bench-cache.sh [--rounds R] [--seconds S] [--before BINARY]
# --before adds another dnsd binary (e.g. an older build) as "dnsd-before".
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=3 seconds=5 before=""
while [ $# -gt 0 ]; do
  case $1 in
    --rounds) rounds=$2; shift 2;;
    --seconds) seconds=$2; shift 2;;
    --before) before=$(realpath "$2"); shift 2;;
    *) echo "usage: $0 [--rounds R] [--seconds S] [--before BINARY]" >&2; exit 2;;
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
} > "$tmp/example.test.zone"
for i in $(seq 0 1999); do echo "host$i.example.test A"; done > "$tmp/external.txt"
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
    dnsd|dnsd-before)
      local binary=$dnsd
      [ "$name" = dnsd-before ] && binary=$before
      taskset -c 0 "$binary" $as_user --manifests zones/ --listen "127.0.0.1:$port" --threads 1 \
        --no-watch --upstream "127.0.0.1:$upstream" --log-level warn & pid=$!;;
  esac
  for _ in $(seq 100); do
    dig +short +time=1 +tries=1 -p "$port" @127.0.0.1 host0.example.test 2>/dev/null |
      grep -q '^10\.' && return
    sleep 0.1
  done
  echo "bench-cache: $name did not answer" >&2; exit 1
}
stop() { kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""; }

blast() {  # port queries seconds
  taskset -c 1 "$tmp/dnsblast" -s 127.0.0.1 -p "$1" -d "$2" -l "$3" -c 10 -q 100 -b 32 -t 2 2>&1
}

hz=$(getconf CLK_TCK)
measure() {  # label port queries: one saturating run, server CPU a query
  local u0 s0 u1 s1 out q qps
  read -r u0 s0 < <(awk '{print $14, $15}' "/proc/$pid/stat")
  out=$(blast "$2" "$3" "$seconds")
  read -r u1 s1 < <(awk '{print $14, $15}' "/proc/$pid/stat")
  q=$(awk '/Queries completed/{print $3}' <<<"$out")
  qps=$(awk '/Queries per second/{print $4}' <<<"$out")
  awk -v l="$1" -v q="$q" -v qps="$qps" -v hz="$hz" -v t="$((u1 - u0 + s1 - s0))" \
    'BEGIN { printf "%s\t%.0f\t%.2f\n", l, qps, t / hz / q * 1e6 }'
}

servers=(dnsd unbound)
[ -n "$before" ] && servers+=(dnsd-before)
results=$tmp/results.tsv
for r in $(seq "$rounds"); do
  for name in "${servers[@]}"; do
    base=$((base + 1))
    start "$name" "$base"
    blast "$base" "$tmp/external.txt" 2 >/dev/null  # warm-up: every name cached
    measure "$name cached" "$base" "$tmp/external.txt" >> "$results"
    if [ "$name" = dnsd ]; then measure "dnsd cluster" "$base" "$tmp/cluster.txt" >> "$results"; fi
    stop
  done
done

echo "# $(date -u +%Y-%m-%d), $(git rev-parse --short HEAD 2>/dev/null || echo '?'): medians of $rounds rounds of ${seconds} s"
python3 - "$results" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    label, qps, cpu = line.rstrip("\n").split("\t")
    rows.setdefault(label, []).append((float(qps), float(cpu)))
med = {k: (statistics.median(q for q, _ in v), statistics.median(c for _, c in v))
       for k, v in rows.items()}
print("| | qps | server CPU µs a query |")
print("|---|---|---|")
for label, (qps, cpu) in med.items():
    print(f"| {label} | {qps:.0f} | {cpu:.2f} |")
if "dnsd cached" in med and "dnsd cluster" in med:
    print(f"\ncached / cluster CPU: {med['dnsd cached'][1] / med['dnsd cluster'][1]:.2f}")
if "dnsd cached" in med and "unbound cached" in med:
    print(f"dnsd / Unbound CPU: {med['dnsd cached'][1] / med['unbound cached'][1]:.2f}, "
          f"qps: {med['dnsd cached'][0] / med['unbound cached'][0]:.2f}")
if "dnsd-before cached" in med:
    print(f"dnsd / dnsd-before CPU: {med['dnsd cached'][1] / med['dnsd-before cached'][1]:.2f}")
PY
