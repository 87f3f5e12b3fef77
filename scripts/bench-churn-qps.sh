#!/usr/bin/env bash
# One UDP worker's queries a second (dnsperf at saturation) and p99 (dnsblast at a fixed
# 20,000 qps), idle and while the fake API server sends RATE random watch events a second
# (bench/churn_soak.py --rate), in alternating rounds of the same run. Quote the ratios:
# these machines are shared.
#   scripts/bench-churn-qps.sh [N...]        default: 1000 50000; RATE=1000 ROUNDS=9
# A release build in build-release/ (as scripts/bench.sh); dnsd pinned to CPU 0; the load
# generators, the script and the fake API server to CPU 1.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh dnsperf >/dev/null
[ -f build-release/build.ninja ] || meson setup build-release --buildtype=release -Db_lto=true
ninja -C build-release dnsd/dnsd
echo "dnsd $(git rev-parse --short HEAD 2>/dev/null || echo '?'), $(date -u +%Y-%m-%d)"
for n in ${@:-1000 50000}; do
  python3 bench/churn_soak.py build-release/dnsd/dnsd "$n" --rate "${RATE:-1000}" \
    --rounds "${ROUNDS:-9}"
  echo
done
