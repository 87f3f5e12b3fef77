#!/usr/bin/env bash
# A change to a large cluster, dnsd against Knot DNS: for each N, event -> served latency
# and dnsd's CPU per event through the Kubernetes API (bench/api_bench.py, against the
# project's fake API server), then the same changes to the same zone (`dnsd records` of the
# same objects) sent to Knot DNS as RFC 2136 updates with knsupdate (bench/knot_churn.py):
# change -> served latency and Knot's CPU per change.
#   scripts/bench-churn.sh [N...]        default: 1000 50000
# A release build in build-release/ (as scripts/bench.sh); the server measured is pinned to
# CPU 0, the scripts and the fake API server to CPU 1.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh knot knot-dnsutils >/dev/null
[ -f build-release/build.ninja ] || meson setup build-release --buildtype=release -Db_lto=true
ninja -C build-release dnsd/dnsd
echo "dnsd $(git rev-parse --short HEAD 2>/dev/null || echo '?'), $(date -u +%Y-%m-%d)"
for n in ${@:-1000 50000}; do
  events=20
  ((n >= 10000)) && events=10
  python3 bench/api_bench.py build-release/dnsd/dnsd "$n" --events "$events"
  echo
  python3 bench/knot_churn.py build-release/dnsd/dnsd "$n" --events "$events"
  echo
done
