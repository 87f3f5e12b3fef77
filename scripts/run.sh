#!/usr/bin/env bash
# Installs what is missing, builds, and serves the example manifests in zones/ on
# 127.0.0.1:5353. Extra arguments go to dnsd. Try: dig @127.0.0.1 -p 5353 backend-service.default.svc.cluster.local
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
scripts/build.sh
exec build/dnsd/dnsd --manifests zones --listen 127.0.0.1:5353 "$@"
