#!/usr/bin/env bash
# Installs what is missing, builds, and serves the example manifests in zones/ on
# 127.0.0.1:5353. Extra arguments go to dnsd. Try: dig @127.0.0.1 -p 5353 backend-service.default.svc.cluster.local
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
scripts/build.sh
# As root dnsd wants to be told whom to run as. The checkout may be readable by root alone,
# and dnsd re-reads zones/ when it changes, so this quick start stays root; a deployment drops
# it (--user NAME, or the systemd unit that `meson install` puts in place).
as_user=()
[ "$(id -u)" -eq 0 ] && as_user=(--user root)
exec build/dnsd/dnsd --manifests zones --listen 127.0.0.1:5353 "${as_user[@]}" "$@"
