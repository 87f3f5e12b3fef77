#!/usr/bin/env bash
# Zone transfer out: AXFR of the N-Service cluster zone (default 50,000) with `kdig AXFR`,
# from dnsd and from Knot DNS serving the same zone as a primary (the zone file is what
# `dnsd records` prints), best of --runs; dnsd's RSS idle and its peak during the transfers;
# UDP queries a second (dnsperf, 5 s) idle and while AXFRs run back to back. Quote ratios
# from one run: these machines are shared.
#   [DNSD=path/to/dnsd] scripts/bench-transfer.sh [N] [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-50000}
runs=${2:-3}
scripts/deps.sh knot knot-dnsutils dnsperf >/dev/null
[ -f build-release/build.ninja ] || meson setup build-release --buildtype=release -Db_lto=true
# DNSD=path runs another build (an older commit's, for a before and after in one run).
dnsd=${DNSD:-}
if [ -z "$dnsd" ]; then
  ninja -C build-release dnsd/dnsd >/dev/null
  dnsd=$(pwd)/build-release/dnsd/dnsd
fi
as_user=$([ "$(id -u)" -eq 0 ] && echo "--user root" || true)  # dnsd refuses root unless told
work=$(mktemp -d /tmp/dnsd-bench-transfer.XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

python3 bench/gen_zone.py "$n" --out "$work/data" >/dev/null
# The zone Knot serves: dnsd's own records of the cluster zone.
"$dnsd" records "$work/data/manifests" |
  awk '/^; zone /{keep = ($3 == "cluster.local.")} keep && !/^;/' >"$work/cluster.local.zone"

dport=$(free_port)
"$dnsd" $as_user --manifests "$work/data/manifests" --listen "127.0.0.1:$dport" --threads 1 \
  --no-watch --no-forward --log-level warn --transfer-to 127.0.0.1/32 &
dpid=$!
pids+=("$dpid")

kport=$(free_port)
mkdir -p "$work/knot"
cat >"$work/knot/knot.conf" <<EOF
server:
    rundir: "$work/knot"
    listen: 127.0.0.1@$kport
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
database:
    storage: "$work/knot"
log:
  - target: stderr
    any: error
acl:
  - id: local
    address: 127.0.0.1
    action: transfer
template:
  - id: default
    storage: "$work"
    zonefile-sync: -1
    journal-content: none
    acl: local
zone:
  - domain: cluster.local.
    file: "$work/cluster.local.zone"
EOF
knotd -c "$work/knot/knot.conf" 2>"$work/knot/knot.log" &
kpid=$!
pids+=("$kpid")

for port in "$dport" "$kport"; do
  for _ in $(seq 600); do
    dig +short +time=1 +tries=1 @127.0.0.1 -p "$port" cluster.local SOA | grep -q . && break
    sleep 0.2
  done
done

rss_kb() { awk '/^VmRSS/{print $2}' "/proc/$1/status"; }

# The CPU a process has used, in clock ticks (utime + stime).
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# Best wall time of `runs` AXFRs and the server's mean CPU per AXFR; prints "seconds records
# bytes cpu_ms". kdig's own parsing is in the wall time, not in the CPU figure.
axfr() {
  local port=$1 pid=$2 best="" line cpu0
  # One AXFR first: dnsd sorts each zone once per snapshot, on its journal thread, and Knot
  # reads its zone file in the background; neither is a transfer's cost.
  kdig @127.0.0.1 -p "$port" AXFR cluster.local +time=60 >/dev/null
  cpu0=$(cpu_ticks "$pid")
  for _ in $(seq "$runs"); do
    local start end
    start=$(date +%s.%N)
    line=$(kdig @127.0.0.1 -p "$port" AXFR cluster.local +time=60 | grep '^;; Received')
    end=$(date +%s.%N)
    t=$(awk "BEGIN{print $end - $start}")
    if [ -z "$best" ] || awk "BEGIN{exit !($t < $best)}"; then best=$t; fi
  done
  records=$(sed -E 's/.*, ([0-9]+) records\).*/\1/' <<<"$line")
  bytes=$(sed -E 's/;; Received ([0-9]+) B.*/\1/' <<<"$line")
  cpu_ms=$(( ($(cpu_ticks "$pid") - cpu0) * 1000 / $(getconf CLK_TCK) / runs ))
  echo "$best $records $bytes $cpu_ms"
}

idle_rss=$(rss_kb "$dpid")
# dnsd's RSS sampled every 10 ms while its AXFRs run.
(peak=0; while kill -0 "$dpid" 2>/dev/null && [ ! -f "$work/stop-sampling" ]; do
   r=$(rss_kb "$dpid"); ((r > peak)) && peak=$r; echo "$peak" >"$work/peak"; sleep 0.01
 done) &
sampler=$!
read -r dtime drecords dbytes dcpu < <(axfr "$dport" "$dpid")
touch "$work/stop-sampling"
wait "$sampler" || true
peak_rss=$(cat "$work/peak")
read -r ktime krecords kbytes kcpu < <(axfr "$kport" "$kpid")

qps() {
  dnsperf -s 127.0.0.1 -p "$dport" -d "$work/data/queries.txt" -l 5 -c 10 -q 100 2>/dev/null |
    awk '/Queries per second/{print $4}'
}
idle_qps=$(qps)
(while [ ! -f "$work/stop-axfr" ]; do
   kdig @127.0.0.1 -p "$dport" AXFR cluster.local +time=60 >/dev/null 2>&1 || true
 done) &
loop=$!
sleep 0.5
busy_qps=$(qps)
touch "$work/stop-axfr"
wait "$loop" || true

echo "AXFR of the N=$n cluster zone, best of $runs (kdig, loopback):"
printf '  dnsd  %6.2f s  %s records  %s bytes  server CPU %s ms per AXFR\n' "$dtime" "$drecords" \
  "$dbytes" "$dcpu"
printf '  knot  %6.2f s  %s records  %s bytes  server CPU %s ms per AXFR\n' "$ktime" "$krecords" \
  "$kbytes" "$kcpu"
echo "dnsd RSS: idle $((idle_rss / 1024)) MiB, peak during AXFR $((peak_rss / 1024)) MiB" \
  "(+$(( (peak_rss - idle_rss) * 100 / idle_rss )) %)"
echo "dnsd UDP qps (dnsperf, 5 s): idle $idle_qps, during back-to-back AXFRs $busy_qps" \
  "($(awk "BEGIN{printf \"%.2f\", $busy_qps / $idle_qps}")x)"
