#!/usr/bin/env bash
# dnsd's memory after a long run of Kubernetes API events (bench/churn_soak.py, against the
# project's fake API server): a cluster of N Services, EVENTS random watch events as fast as
# dnsd reads them, RSS every 100,000 events, and at the end against a fresh dnsd started on
# the same final state.
#   scripts/soak-churn.sh [N=1000] [EVENTS=1000000] [--pace RATE]
# --pace: RATE events a second rather than as fast as dnsd reads them (each then patched in
# alone, where a flood is mostly built whole); further options go to bench/churn_soak.py.
# A release build in build-release/ (as scripts/bench.sh); dnsd pinned to CPU 0, the script
# and the fake API server to CPU 1.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh >/dev/null
[ -f build-release/build.ninja ] || meson setup build-release --buildtype=release -Db_lto=true
ninja -C build-release dnsd/dnsd
echo "dnsd $(git rev-parse --short HEAD 2>/dev/null || echo '?'), $(date -u +%Y-%m-%d)"
python3 bench/churn_soak.py build-release/dnsd/dnsd "${1:-1000}" "${2:-1000000}" "${@:3}"
