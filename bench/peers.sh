#!/usr/bin/env bash
# peers.sh - side-by-side UDP benchmark of authoritative DNS servers serving
# the synthetic cluster.local zone from gen_zone.py, plus optional candidate
# servers given with --cmd (e.g. the future dnsd).
#
#   bench/peers.sh --n 1000                      # all default peers, N=1000
#   bench/peers.sh --n 50000 --runs 5 --duration 15
#   bench/peers.sh --n 1000 --peers "knot nsd" \
#        --cmd "./build/dnsd --manifests {manifests} --listen 127.0.0.1:{port}" --cmd-name dnsd
#
# Placeholders in --cmd: {port} {zone} {manifests} {queries} {data} {workdir}.
# The command must stay in the foreground (its PID is what we track and stop)
# and answer on 127.0.0.1:{port} UDP.
#
# What it does, per peer: writes a config (one worker thread/process, since
# one core is given to the server), starts it pinned with taskset to
# --server-cpu, measures time until the last service name in the zone
# answers (load time) and RSS/PSS after load, re-pins every thread of the
# server to --server-cpu (Knot pins its UDP workers itself, to CPU 0), then
# runs the load generator (dnsperf, or bench/tools/dnsblast with --gen
# dnsblast) pinned to --gen-cpu for --duration seconds, --runs times, peers
# interleaved round-robin so drift hits all alike.  A second, rate-limited
# run (--latency-qps) records per-query latency to give p50/p99/p99.9 below
# saturation.  One dnsperf process saturates its core
# below Knot/NSD; use --gen dnsblast to rank fast servers.
# Per run it records the CPU time used by the
# server tree and by the generator and the per-CPU /proc/stat split, so you
# can see which side saturated.  Every process it starts is stopped by PID.
#
# Output: a results dir (default bench/results/<date>-N<n>) with raw logs,
# runs.tsv, summary.md; summary.md is also printed.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# generated data, built tools and results go to BENCH_WORK (default: beside this script, or
# /tmp/dnsd-bench when this folder is read-only)
WORK=${BENCH_WORK:-$HERE}
[ -w "$WORK" ] || WORK=/tmp/dnsd-bench
mkdir -p "$WORK"
N=1000
DATA=""
PEERS="knot nsd unbound pdns bind"
DUR=10
RUNS=3
CLIENTS=10
INFLIGHT=100
THREADS=1
GEN_PROCS=1
SERVER_CPU=1
GEN_CPU=0
LAT_QPS=20000
LAT_DUR=5
LOAD_RUNS=3
WARMUP=2
INSTALL=1
OUT=""
READY_TIMEOUT=300
GEN=dnsperf
BATCH=32
CMDS=()
CMD_NAMES=()

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d'; cat <<EOF

Options (defaults in brackets):
  --n N               services in the synthetic cluster [$N]
  --data DIR          use an existing gen_zone.py output dir instead of --n
  --peers "LIST"      peers among: knot nsd unbound pdns bind null [$PEERS]; "" for none
                      (null = bench/tools/dnsnull, a zone-less responder: the UDP ceiling)
  --cmd "CMD {port}"  candidate server command (repeatable)
  --cmd-name NAME     name for the preceding --cmd [cand1, cand2, ...]
  --duration S        seconds per throughput run [$DUR]
  --runs R            throughput runs per peer [$RUNS]
  --clients C         generator sockets (dnsperf -c) [$CLIENTS]
  --inflight Q        dnsperf -q (max outstanding queries, total) [$INFLIGHT]
  --threads T         dnsperf -T [$THREADS]
  --gen-procs K       parallel generator processes, each with inflight/K [$GEN_PROCS]
  --gen dnsperf|dnsblast  load generator [$GEN]; dnsblast = bench/tools/dnsblast.c
                      (sendmmsg/recvmmsg, pre-encoded queries; ~2x dnsperf's ceiling)
  --batch B           dnsblast sendmmsg batch [$BATCH]
  --server-cpu LIST   taskset CPU list for servers [$SERVER_CPU]
  --gen-cpu LIST      taskset CPU list for the generator [$GEN_CPU]
  --latency-qps Q     rate for the latency run, 0 to skip [$LAT_QPS]
  --latency-duration S  [$LAT_DUR]
  --load-runs L       cold starts used to time zone load [$LOAD_RUNS]
  --no-install        do not apt-get install missing tools
  --out DIR           results dir
EOF
}

while [ $# -gt 0 ]; do
  case "$1" in
    --n) N=$2; shift 2;;
    --data) DATA=$2; shift 2;;
    --peers) PEERS=$2; shift 2;;
    --cmd) CMDS+=("$2"); CMD_NAMES+=("cand${#CMDS[@]}"); shift 2;;
    --cmd-name) [ ${#CMDS[@]} -gt 0 ] || { echo "--cmd-name must follow --cmd" >&2; exit 2; }
                CMD_NAMES[$((${#CMDS[@]}-1))]=$2; shift 2;;
    --duration) DUR=$2; shift 2;;
    --runs) RUNS=$2; shift 2;;
    --clients) CLIENTS=$2; shift 2;;
    --inflight) INFLIGHT=$2; shift 2;;
    --threads) THREADS=$2; shift 2;;
    --gen-procs) GEN_PROCS=$2; shift 2;;
    --gen) GEN=$2; shift 2;;
    --batch) BATCH=$2; shift 2;;
    --server-cpu) SERVER_CPU=$2; shift 2;;
    --gen-cpu) GEN_CPU=$2; shift 2;;
    --latency-qps) LAT_QPS=$2; shift 2;;
    --latency-duration) LAT_DUR=$2; shift 2;;
    --load-runs) LOAD_RUNS=$2; shift 2;;
    --no-install) INSTALL=0; shift;;
    --out) OUT=$2; shift 2;;
    -h|--help) usage; exit 0;;
    *) echo "unknown option $1" >&2; usage >&2; exit 2;;
  esac
done

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# ------------------------------------------------------------------ install
declare -A PKG_OF=([dnsperf]=dnsperf [kdig]=knot-dnsutils [knotd]=knot [nsd]=nsd
                   [unbound]=unbound [pdns_server]=pdns-server [named]=bind9)
need_bins="dnsperf"
for p in $PEERS; do
  case $p in
    knot) need_bins+=" knotd";; nsd) need_bins+=" nsd";; unbound) need_bins+=" unbound";;
    pdns) need_bins+=" pdns_server";; bind) need_bins+=" named";; null) ;;
    *) echo "unknown peer $p" >&2; exit 2;;
  esac
done
missing=""
for b in $need_bins; do
  command -v "$b" >/dev/null 2>&1 || [ -x "/usr/sbin/$b" ] || missing+=" ${PKG_OF[$b]}"
done
case " $PEERS " in *" pdns "*) [ -e /usr/lib/x86_64-linux-gnu/pdns/libbindbackend.so ] || \
  ls /usr/lib/*/pdns/libbindbackend.so >/dev/null 2>&1 || missing+=" pdns-backend-bind";; esac
if [ -n "$missing" ]; then
  if [ $INSTALL = 1 ]; then
    log "installing:$missing"
    # Debian's maintainer scripts would start system-wide daemons on :53;
    # policy-rc.d (exit 101) forbids that where it is not already in place.
    prc=0; if [ ! -e /usr/sbin/policy-rc.d ]; then printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; prc=1; fi
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
    [ $prc = 1 ] && rm -f /usr/sbin/policy-rc.d
  else
    echo "missing:$missing (rerun without --no-install)" >&2; exit 1
  fi
fi
export PATH=$PATH:/usr/sbin:/sbin

# Small C tools (load generator, null responder): build on demand.
build_tool() {
  local t=$1 src=$HERE/tools/$1.c bin=$WORK/tools/bin/$1
  if [ ! -x "$bin" ] || [ "$src" -nt "$bin" ]; then
    mkdir -p "$WORK/tools/bin"
    command -v cc >/dev/null || { [ $INSTALL = 1 ] && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gcc libc6-dev >/dev/null; }
    cc -O2 -Wall -o "$bin" "$src"
  fi
}
case $GEN in dnsperf) ;; dnsblast) build_tool dnsblast;; *) echo "unknown --gen $GEN" >&2; exit 2;; esac
case " $PEERS " in *" null "*) build_tool dnsnull;; esac

# --------------------------------------------------------------------- data
if [ -z "$DATA" ]; then
  DATA=$WORK/data/N$N
  if [ ! -s "$DATA/cluster.local.zone" ]; then
    log "generating data for N=$N"
    python3 "$HERE/gen_zone.py" "$N" --out "$DATA" >/dev/null
  fi
fi
DATA=$(cd "$DATA" && pwd)
ZONE=$DATA/cluster.local.zone
QUERIES=$DATA/queries.txt
MANIFESTS=$DATA/manifests
N=$(python3 -c 'import json,sys;print(json.load(open(sys.argv[1]))["n_services"])' "$DATA/meta.json")
# Probe name: the last ClusterIP service, i.e. (near) the end of the zone file.
i=$((N-1)); while [ $i -gt 0 ] && { [ $((i%10)) = 9 ] || [ $((i%50)) = 7 ]; }; do i=$((i-1)); done
PER_NS=$(python3 -c 'import json,sys;print(json.load(open(sys.argv[1]))["services_per_ns"])' "$DATA/meta.json")
PROBE="svc-$i.ns-$((i/PER_NS)).svc.cluster.local"
PROBE_WANT=$(awk -v n="svc-$i.ns-$((i/PER_NS)).svc" '$1==n && $3=="A"{print $4; exit}' "$ZONE")

[ -n "$OUT" ] || OUT=$WORK/results/$(date +%Y%m%d-%H%M%S)-N$N
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
W=$(mktemp -d /tmp/dnsbench.XXXXXX)

# ------------------------------------------------------------- bookkeeping
declare -a STARTED=()      # every PID we started (servers), for cleanup
declare -A PID_OF=() PORT_OF=()

tree_pids() {  # PID and all its descendants
  local p=$1 c
  [ -d /proc/$p ] || return 0
  echo "$p"
  for c in $(cat /proc/$p/task/*/children 2>/dev/null); do tree_pids "$c"; done
}

stop_pid() {  # stop one server we started, and its descendants, by PID
  local p=$1 all q k
  all=$(tree_pids "$p" | tac)
  [ -n "$all" ] || return 0
  for q in $all; do kill -TERM "$q" 2>/dev/null || true; done
  for k in $(seq 50); do
    local alive=0
    for q in $all; do [ -d /proc/$q ] && ! grep -q '^State:.*Z' /proc/$q/status 2>/dev/null && alive=1; done
    [ $alive = 0 ] && break
    sleep 0.1
  done
  for q in $all; do [ -d /proc/$q ] && kill -KILL "$q" 2>/dev/null || true; done
  wait "$p" 2>/dev/null || true
}

cleanup() {
  local p
  for p in "${STARTED[@]}"; do stop_pid "$p"; done
  STARTED=()
  [ -n "${W:-}" ] && rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

cpu_ticks_tree() {  # utime+stime (ticks) summed over the tree of $1
  local s=0 q v
  for q in $(tree_pids "$1"); do
    # comm may contain spaces ("nsd: server 1"): parse after the last ") "
    v=$(sed 's/.*) //' /proc/$q/stat 2>/dev/null | awk '{print $12+$13}')
    s=$((s+${v:-0}))
  done
  echo $s
}

mem_tree() {  # "rss_kb pss_kb nprocs" over the tree of $1
  local r=0 ps=0 n=0 q a b
  for q in $(tree_pids "$1"); do
    a=$(awk '/^VmRSS:/{print $2}' /proc/$q/status 2>/dev/null || echo 0)
    b=$(awk '/^Pss:/{print $2}' /proc/$q/smaps_rollup 2>/dev/null || echo 0)
    r=$((r+${a:-0})); ps=$((ps+${b:-0})); n=$((n+1))
  done
  echo "$r $ps $n"
}

pin_tree() {  # re-pin every thread of the tree (servers may set their own affinity)
  local q
  for q in $(tree_pids "$1"); do taskset -a -pc "$SERVER_CPU" "$q" >/dev/null 2>&1 || true; done
}

affinity_report() {
  local q t
  for q in $(tree_pids "$1"); do
    for t in /proc/$q/task/*; do
      printf '%s/%s %s cpus=%s\n' "$q" "${t##*/}" "$(cat $t/comm 2>/dev/null)" \
        "$(awk '/Cpus_allowed_list/{print $2}' $t/status 2>/dev/null)"
    done
  done
}

# ------------------------------------------------------------ peer configs
write_conf() {  # name port -> prints the command line to exec
  local name=$1 port=$2 d=$W/$1
  rm -rf "$d"; mkdir -p "$d"
  case $name in
  knot)
    mkdir -p "$d/db"
    cat > "$d/knot.conf" <<EOF
server:
    rundir: "$d"
    listen: 127.0.0.1@$port
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
database:
    storage: "$d/db"
log:
  - target: stderr
    any: notice
template:
  - id: default
    storage: "$d"
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: none
    semantic-checks: off
zone:
  - domain: cluster.local.
    file: "$ZONE"
EOF
    echo "knotd -c $d/knot.conf";;
  nsd)
    cat > "$d/nsd.conf" <<EOF
server:
    ip-address: 127.0.0.1@$port
    port: $port
    do-ip6: no
    server-count: 1
    username: ""
    chroot: ""
    zonesdir: "$d"
    database: ""
    zonelistfile: "$d/zone.list"
    xfrdfile: "$d/xfrd.state"
    xfrdir: "$d"
    pidfile: "$d/nsd.pid"
    logfile: "$d/nsd.log"
    verbosity: 0
    minimal-responses: yes
    round-robin: no
    # Debian builds NSD with response rate limiting on; a benchmark from one
    # source address would be throttled (NXDOMAINs first).
    rrl-ratelimit: 0
    rrl-whitelist-ratelimit: 0
remote-control:
    control-enable: no
zone:
    name: cluster.local
    zonefile: "$ZONE"
EOF
    echo "nsd -d -c $d/nsd.conf";;
  unbound)
    cat > "$d/unbound.conf" <<EOF
server:
    interface: 127.0.0.1@$port
    port: $port
    do-ip6: no
    num-threads: 1
    do-daemonize: no
    chroot: ""
    username: ""
    directory: "$d"
    pidfile: "$d/unbound.pid"
    use-syslog: no
    logfile: ""
    verbosity: 0
    access-control: 127.0.0.0/8 allow
    module-config: "iterator"
    minimal-responses: yes
    so-rcvbuf: 4m
    so-sndbuf: 4m
auth-zone:
    name: "cluster.local."
    zonefile: "$ZONE"
    for-downstream: yes
    for-upstream: no
    fallback-enabled: no
remote-control:
    control-enable: no
EOF
    echo "unbound -d -c $d/unbound.conf";;
  pdns)
    cat > "$d/named.conf" <<EOF
zone "cluster.local" { type master; file "$ZONE"; };
EOF
    cat > "$d/pdns.conf" <<EOF
launch=bind
bind-config=$d/named.conf
bind-check-interval=0
local-address=127.0.0.1
local-port=$port
receiver-threads=1
distributor-threads=1
reuseport=no
daemon=no
guardian=no
disable-syslog=yes
socket-dir=$d
write-pid=no
loglevel=4
webserver=no
api=no
EOF
    echo "pdns_server --config-dir=$d";;
  bind)
    cat > "$d/named.conf" <<EOF
options {
    directory "$d";
    pid-file "$d/named.pid";
    session-keyfile "$d/session.key";
    managed-keys-directory "$d";
    listen-on port $port { 127.0.0.1; };
    listen-on-v6 { none; };
    recursion no;
    minimal-responses yes;
    notify no;
    dnssec-validation no;
};
controls { };
zone "cluster.local" { type primary; file "$ZONE"; };
EOF
    echo "named -g -n 1 -U 1 -c $d/named.conf";;
  null)
    echo "$WORK/tools/bin/dnsnull $port 64";;
  esac
}

cand_cmd() {  # expand placeholders
  local c=$1 port=$2
  c=${c//\{port\}/$port}; c=${c//\{zone\}/$ZONE}; c=${c//\{manifests\}/$MANIFESTS}
  c=${c//\{queries\}/$QUERIES}; c=${c//\{data\}/$DATA}; c=${c//\{workdir\}/$W}
  echo "$c"
}

ALL=()
port=15301
for p in $PEERS; do ALL+=("$p"); PORT_OF[$p]=$port; port=$((port+1)); done
k=0
for c in "${CMDS[@]}"; do
  nm=${CMD_NAMES[$k]}; ALL+=("$nm"); PORT_OF[$nm]=$((15310+k)); k=$((k+1))
done
[ ${#ALL[@]} -gt 0 ] || { echo "nothing to run" >&2; exit 2; }

cmd_for() {  # name -> command
  local nm=$1 k
  for k in "${!CMD_NAMES[@]}"; do
    if [ "${CMD_NAMES[$k]}" = "$nm" ]; then cand_cmd "${CMDS[$k]}" "${PORT_OF[$nm]}"; return; fi
  done
  write_conf "$nm" "${PORT_OF[$nm]}"
}

start_server() {  # name -> sets PID_OF[name]; returns non-zero if not ready
  local nm=$1 port=${PORT_OF[$1]} cmd t0
  cmd=$(cmd_for "$nm")
  echo "$cmd" > "$OUT/$nm.cmd"
  t0=$(date +%s.%N)
  # shellcheck disable=SC2086
  taskset -c "$SERVER_CPU" bash -c "exec $cmd" >> "$OUT/$nm.log" 2>&1 &
  PID_OF[$nm]=$!
  STARTED+=("${PID_OF[$nm]}")
  local want=$PROBE_WANT; case $nm in null*) want=-;; esac   # zone-less responders
  if ! LOAD_S=$(python3 "$HERE/probe.py" "$port" "$PROBE" "$want" "$READY_TIMEOUT" "$t0" "${PID_OF[$nm]}"); then
    log "$nm did not answer $PROBE with $PROBE_WANT (exited or >${READY_TIMEOUT}s); see $OUT/$nm.log"
    return 1
  fi
  return 0
}

stop_server() {
  local nm=$1 p=${PID_OF[$1]:-}
  [ -n "$p" ] || return 0
  stop_pid "$p"
  local keep=() q
  for q in "${STARTED[@]}"; do [ "$q" = "$p" ] || keep+=("$q"); done
  STARTED=("${keep[@]}")
  unset 'PID_OF[$nm]'
}

# -------------------------------------------------------------------- env
{
  echo "date: $(date -Is)"; echo "kernel: $(uname -r)"; echo "cpus: $(nproc) $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
  echo "data: $DATA"; cat "$DATA/meta.json"; echo
  echo "probe: $PROBE -> $PROBE_WANT"
  echo "dnsperf: $(dnsperf -h 2>&1 | grep -m1 Version)"
  for p in $PEERS; do case $p in
    knot) echo "knot: $(knotd -V 2>&1)";; nsd) echo "nsd: $(nsd -v 2>&1 | head -1)";;
    unbound) echo "unbound: $(unbound -V 2>&1 | head -1)";;
    pdns) echo "pdns: $(pdns_server --version 2>&1 | grep -m1 -o 'PowerDNS.*')";;
    bind) echo "bind: $(named -v)";; esac; done
  echo "generator=$GEN batch=$BATCH"
  echo "server_cpu=$SERVER_CPU gen_cpu=$GEN_CPU duration=$DUR runs=$RUNS clients=$CLIENTS inflight=$INFLIGHT threads=$THREADS gen_procs=$GEN_PROCS latency_qps=$LAT_QPS"
} > "$OUT/env.txt"

# --------------------------------------------------- phase 1: load + memory
printf 'peer\tload_run\tload_s\trss_kb\tpss_kb\tnprocs\n' > "$OUT/load.tsv"
READY=()
for nm in "${ALL[@]}"; do
  ok=1
  for lr in $(seq "$LOAD_RUNS"); do
    if ! start_server "$nm"; then ok=0; stop_server "$nm"; break; fi
    sleep 0.5   # let post-load allocations settle
    read -r rss pss np < <(mem_tree "${PID_OF[$nm]}")
    printf '%s\t%s\t%.3f\t%s\t%s\t%s\n' "$nm" "$lr" "$LOAD_S" "$rss" "$pss" "$np" >> "$OUT/load.tsv"
    log "$nm load #$lr: ${LOAD_S}s rss=${rss}kB pss=${pss}kB procs=$np"
    [ "$lr" = "$LOAD_RUNS" ] || stop_server "$nm"
  done
  if [ $ok = 1 ]; then
    pin_tree "${PID_OF[$nm]}"
    affinity_report "${PID_OF[$nm]}" > "$OUT/$nm.affinity"
    READY+=("$nm")
  fi
done
[ ${#READY[@]} -gt 0 ] || { log "no server came up"; exit 1; }

# ----------------------------------------------------------- dnsperf runs
stat01() { awk '/^cpu[0-9]+ /{printf "%s %d %d %d %d %d %d %d %d\n",$1,$2,$3,$4,$5,$6,$7,$8,$9}' /proc/stat; }

run_perf() {  # name tag duration [rate]; writes $OUT/<name>.<tag>.dnsperf.<k>
  local nm=$1 tag=$2 dur=$3 rate=${4:-0}
  local port=${PORT_OF[$nm]} sp=${PID_OF[$nm]} s0 s1 c0 c1 q k pids=()
  q=$(( INFLIGHT / GEN_PROCS )); [ $q -ge 1 ] || q=1
  s0=$(stat01); c0=$(cpu_ticks_tree "$sp")
  for k in $(seq "$GEN_PROCS"); do
    local gen
    if [ "$GEN" = dnsblast ]; then
      gen=("$WORK/tools/bin/dnsblast" -s 127.0.0.1 -p "$port" -d "$QUERIES" -l "$dur" -c "$CLIENTS" -q "$q" -b "$BATCH" -t 2)
      [ "$rate" != 0 ] && gen+=(-Q "$rate")
    else
      gen=(dnsperf -s 127.0.0.1 -p "$port" -d "$QUERIES" -l "$dur" -c "$CLIENTS" -q "$q" -T "$THREADS" -t 2)
      [ "$rate" != 0 ] && gen+=(-Q "$rate" -v)   # -v: per-query latency lines
    fi
    /usr/bin/time -f 'gen_cpu_s %U %S %e' -o "$OUT/$nm.$tag.time.$k" \
      taskset -c "$GEN_CPU" "${gen[@]}" > "$OUT/$nm.$tag.dnsperf.$k" 2>&1 &
    pids+=($!)
  done
  for k in "${pids[@]}"; do wait "$k" || true; done
  c1=$(cpu_ticks_tree "$sp"); s1=$(stat01)
  { echo "server_ticks $((c1-c0))"; echo "clk_tck $(getconf CLK_TCK)"
    paste <(echo "$s0") <(echo "$s1") | awk '{printf "stat %s user=%d nice=%d sys=%d idle=%d iowait=%d irq=%d softirq=%d steal=%d\n",$1,$11-$2,$12-$3,$13-$4,$14-$5,$15-$6,$16-$7,$17-$8,$18-$9}'
  } > "$OUT/$nm.$tag.cpu"
}

printf '' > "$OUT/runs.list"
for nm in "${READY[@]}"; do
  log "$nm warmup ${WARMUP}s"; run_perf "$nm" warm "$WARMUP"
done
for r in $(seq "$RUNS"); do
  for nm in "${READY[@]}"; do
    log "$nm run $r/$RUNS (${DUR}s)"
    run_perf "$nm" "r$r" "$DUR"
    echo "$nm r$r" >> "$OUT/runs.list"
  done
done
if [ "$LAT_QPS" != 0 ]; then
  for nm in "${READY[@]}"; do
    log "$nm latency run at ${LAT_QPS} qps (${LAT_DUR}s)"
    GEN_PROCS_SAVE=$GEN_PROCS; GEN_PROCS=1
    run_perf "$nm" lat "$LAT_DUR" "$LAT_QPS"
    GEN_PROCS=$GEN_PROCS_SAVE
  done
fi
for nm in "${READY[@]}"; do
  read -r rss pss np < <(mem_tree "${PID_OF[$nm]}")
  printf '%s\t%s\t%s\t%s\t%s\n' "$nm" after_runs "$rss" "$pss" "$np" >> "$OUT/mem_after.tsv"
  stop_server "$nm"
done

python3 "$HERE/summarize.py" "$OUT" --compact | tee "$OUT/summary.md"
