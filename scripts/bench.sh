#!/usr/bin/env bash
# Benchmarks dnsd against Knot DNS and NSD (and a do-nothing responder) serving the same
# synthetic cluster, with the harness in bench/ (bench/peers.sh). Quote ratios from one
# run, not absolute numbers: these machines are shared.
#   scripts/bench.sh                      # N=1000, dnsblast, 3 runs of 10 s
#   scripts/bench.sh --n 50000 --runs 5   # any peers.sh option passes through
set -euo pipefail
cd "$(dirname "$0")/.."
bench=bench
export BENCH_WORK=${BENCH_WORK:-/tmp/dnsd-bench}  # data, tools and results

scripts/deps.sh
[ -f build-release/build.ninja ] || meson setup build-release --buildtype=release -Db_lto=true
ninja -C build-release dnsd/dnsd
dnsd=$(pwd)/build-release/dnsd/dnsd
as_user=$([ "$(id -u)" -eq 0 ] && echo "--user root" || true)  # dnsd refuses root unless told
exec "$bench/peers.sh" --n 1000 --gen dnsblast --peers "knot nsd null" \
  --cmd "$dnsd $as_user --manifests {manifests} --listen 127.0.0.1:{port} --threads 1 --no-watch --no-forward --log-level warn" \
  --cmd-name dnsd "$@"
