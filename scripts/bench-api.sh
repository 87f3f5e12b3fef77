#!/usr/bin/env bash
# The Kubernetes API source measured (bench/api_bench.py): time to the first answer and RSS
# through the API against the same objects as a manifest, and event -> served latency
# (p50/p99) for each kind of change, against the project's fake API server on loopback.
#   scripts/bench-api.sh [N...]        default: 1000 50000
# A release build in build-release/ (as scripts/bench.sh); dnsd pinned to CPU 0, the
# generator and the fake API server to CPU 1.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
[ -f build-release/build.ninja ] || meson setup build-release --buildtype=release -Db_lto=true
ninja -C build-release dnsd/dnsd
echo "dnsd $(git rev-parse --short HEAD 2>/dev/null || echo '?'), $(date -u +%Y-%m-%d)"
for n in "${@:-1000 50000}"; do
  for size in $n; do
    events=20
    ((size >= 10000)) && events=10
    python3 bench/api_bench.py build-release/dnsd/dnsd "$size" --events "$events"
    echo
  done
done
