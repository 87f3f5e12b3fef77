#!/usr/bin/env bash
# Propagation latency: from writing a manifest to dnsd serving the new answer, with N
# Services already loaded (default 1000 and 50000). A Python client polls over UDP every
# millisecond; each trial adds one new Service file. Reports min/median/max per N.
#   scripts/bench-reload.sh [N...]
#   DNSD_ARGS=--reload-cache scripts/bench-reload.sh 50000   # extra dnsd flags
# With --rss, the resident memory of every start instead (bench/rss_starts.py): dnsd with
# --threads 1 and 2, after the load and after a SIGHUP reload, beside Knot DNS serving the
# same zone; options after --rss pass through (default N 50000):
#   scripts/bench-reload.sh --rss [--starts S] [--before OTHER_DNSD_BINARY] [N]
set -euo pipefail
cd "$(dirname "$0")/.."
bench=bench
scripts/deps.sh $([ "${1:-}" = --rss ] && echo knot) >/dev/null
[ -f build-release/build.ninja ] || meson setup build-release --buildtype=release -Db_lto=true
ninja -C build-release dnsd/dnsd >/dev/null
dnsd=$(pwd)/build-release/dnsd/dnsd
if [ "${1:-}" = --rss ]; then
  shift
  echo "dnsd $(git rev-parse --short HEAD 2>/dev/null || echo '?'), $(date -u +%Y-%m-%d)"
  n=50000
  [[ "${*: -1}" =~ ^[0-9]+$ ]] && n=${*: -1} && set -- "${@:1:$#-1}"
  exec python3 "$bench/rss_starts.py" "$dnsd" "$n" "$@"
fi
as_user=$([ "$(id -u)" -eq 0 ] && echo "--user root" || true)  # dnsd refuses root unless told
sizes=("$@")
((${#sizes[@]})) || sizes=(1000 50000)
for n in "${sizes[@]}"; do
  work=$(mktemp -d /tmp/dnsd-reload.XXXXXX)
  python3 "$bench/gen_zone.py" "$n" --out "$work/data" >/dev/null
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  "$dnsd" $as_user --manifests "$work/data/manifests" --listen "127.0.0.1:$port" --no-forward \
    --log-level warn --threads 1 ${DNSD_ARGS:-} &
  pid=$!
  python3 - "$port" "$work/data/manifests" "$n" <<'PY' || true
import os, socket, statistics, struct, sys, time
port, manifests, n = int(sys.argv[1]), sys.argv[2], sys.argv[3]
def query(name, qid):
    q = struct.pack("!HHHHHH", qid, 0, 1, 0, 0, 0)
    for label in name.split("."):
        q += bytes([len(label)]) + label.encode()
    return q + b"\0" + struct.pack("!HH", 1, 1)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(0.05)
def answered(name):
    q = query(name, 7)
    s.sendto(q, ("127.0.0.1", port))
    while True:
        try:
            data = s.recv(512)
        except socket.timeout:
            return False
        # A late answer to an earlier query (one that timed out) is not this one's.
        if data[12:len(q)] == q[12:]:
            return (data[3] & 0xF) == 0 and struct.unpack("!H", data[6:8])[0] > 0
deadline = time.monotonic() + 600
while not answered("svc-0.ns-0.svc.cluster.local") and time.monotonic() < deadline:
    time.sleep(0.05)
times = []
for trial in range(5):
    name = f"fresh-{trial}"
    path = os.path.join(manifests, f"zz-{name}.yaml")
    with open(path + ".tmp", "w") as f:
        f.write(f"apiVersion: v1\nkind: Service\nmetadata: {{name: {name}, namespace: ns-0}}\n"
                f"spec: {{clusterIP: 10.96.250.{trial + 1}}}\n")
    start = time.monotonic()
    os.rename(path + ".tmp", path)
    while not answered(f"{name}.ns-0.svc.cluster.local"):
        if time.monotonic() - start > 120:
            break
        time.sleep(0.001)
    times.append((time.monotonic() - start) * 1000)
    time.sleep(0.5)
print(f"reload N={n}: write -> served in ms: min {min(times):.0f}, median "
      f"{statistics.median(times):.0f}, max {max(times):.0f} ({len(times)} trials)")
PY
  kill "$pid"; wait "$pid" 2>/dev/null || true
  rm -rf "$work"
done
