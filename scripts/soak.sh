#!/usr/bin/env bash
# Soak: dnsperf at a fixed rate against dnsd for a long run, with cluster and forwarded names
# mixed, a manifest change every second and an upstream outage in the middle. Reports queries
# lost, answers per rcode, and dnsd's RSS at the start and the end. Everything runs on
# loopback and every process started is stopped by PID.
#   scripts/soak.sh [SECONDS=600] [QPS=20000] [SERVICES=1000]
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-600} qps=${2:-20000} services=${3:-1000}
bench=bench
scripts/deps.sh dnsperf
scripts/build.sh >/dev/null
dnsd=$(pwd)/build/dnsd/dnsd
as_user=$([ "$(id -u)" -eq 0 ] && echo "--user root" || true)  # dnsd refuses root unless told
work=$(mktemp -d /tmp/dnsd-soak.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

python3 "$bench/gen_zone.py" "$services" --out "$work/data" >/dev/null
mkdir -p "$work/manifests"
cp "$work/data/manifests/"*.yaml "$work/manifests/"
# One in ten queries is for a name outside the cluster, answered by the upstream: one that
# exists, and 2,000 that do not (NXDOMAIN, cached too), so the forwarder's cache fills to a
# steady size during warm-up.
awk 'NR % 9 == 0 { print (NR % 2 ? "www.example.org A" : "h" (NR % 2000) ".example.org A") } { print }' \
  "$work/data/queries.txt" > "$work/queries.txt"

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
up_port=$(port) dns_port=$(port) metrics_port=$(port)
start_upstream() {
  "$dnsd" $as_user --manifests tests/data/forward/empty --no-forward --log-level warn \
    --zone-file tests/data/forward/example.org.zone --listen "127.0.0.1:$up_port" &
  up_pid=$!
  pids+=("$up_pid")
}
start_upstream
"$dnsd" $as_user --manifests "$work/manifests" --listen "127.0.0.1:$dns_port" --upstream "127.0.0.1:$up_port" \
  --upstream-timeout 500 --metrics "127.0.0.1:$metrics_port" --log-level warn --cache-max-ttl 2 &
dnsd_pid=$!
pids+=("$dnsd_pid")
sleep 2
rss() { awk '/VmRSS/ {print $2}' "/proc/$dnsd_pid/status"; }
rss_start=$(rss)
rss_series=()

dnsperf -s 127.0.0.1 -p "$dns_port" -d "$work/queries.txt" -l "$duration" -Q "$qps" -c 4 \
  -t 2 > "$work/dnsperf.txt" 2>&1 &
perf_pid=$!
pids+=("$perf_pid")

# A manifest change every second; the upstream is down for 20 s in the middle.
flip=$(ls "$work/manifests/"*.yaml | head -1)
for ((t = 1; t <= duration; t++)); do
  sleep 1
  sed -i "s/^  name: svc-0$/  name: svc-0/" "$flip"  # a write: the reloader sees a change
  touch "$flip"
  if ((t == duration / 2)); then kill "$up_pid"; wait "$up_pid" 2>/dev/null || true; fi
  if ((t == duration / 2 + 20)); then start_upstream; fi
  ((t % 60 == 0)) && rss_series+=("$(rss)")
done
wait "$perf_pid" || true
rss_end=$(rss)
reloads=$(curl -s "127.0.0.1:$metrics_port/metrics" | awk '/^dnsd_reload_total/ {printf "%s=%s ", $1, $2}')

echo "soak: ${duration}s at ${qps} qps, ${services} Services, upstream down ${duration}/2 .. +20 s"
grep -E "Queries sent|Queries completed|Queries lost|Response codes|Average Latency" "$work/dnsperf.txt"
echo "RSS KiB: start $rss_start, each minute ${rss_series[*]:-n/a}, end $rss_end"
echo "reloads: $reloads"
