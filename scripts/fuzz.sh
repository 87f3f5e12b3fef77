#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz/ with clang into ./build-fuzz and runs each for
# SECONDS (default 60) over a fresh copy of its seed corpus, tests/fuzz/corpus/TARGET/, as many
# targets at a time as there are cores.
# Prints one line per target and ends with "fuzz: N passed, N failed"; exits non-zero when a
# target crashed, leaked, hung or ran out of memory. What it found is left in
# build-fuzz/crashes/TARGET/ (named in the output; replay: build-fuzz/tests/fuzz/TARGET FILE)
# and its log in build-fuzz/fuzz-logs/TARGET.log.
set -uo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || [ "$seconds" -eq 0 ]; then
  echo "usage: scripts/fuzz.sh [SECONDS]   (per target, default 60)" >&2
  exit 2
fi

# clang and its runtimes (libFuzzer, ASan, UBSan) from Debian.
scripts/deps.sh clang libclang-rt-14-dev || exit 1

# fuzzer-no-link on every file gives the dnsd libraries the coverage libFuzzer steers by.
build=build-fuzz
if [ ! -f "$build/build.ninja" ]; then
  CC=clang CXX=clang++ meson setup "$build" --buildtype=debugoptimized -Dfuzz=true \
    -Db_sanitize=address,undefined -Db_lundef=false -Dcpp_args=-fsanitize=fuzzer-no-link ||
    { echo "fuzz: 0 passed, 1 failed (meson setup)"; exit 1; }
fi
mapfile -t targets < <(meson introspect --targets "$build" | python3 -c '
import json, sys
print("\n".join(sorted(t["name"] for t in json.load(sys.stdin) if t["name"].startswith("fuzz_"))))')
if ((${#targets[@]} == 0)); then
  echo "fuzz: no targets (is -Dfuzz=true set in $build?)"
  echo "fuzz: 0 passed, 1 failed"
  exit 1
fi
meson compile -C "$build" "${targets[@]}" || { echo "fuzz: 0 passed, 1 failed (build)"; exit 1; }

# One target per core at a time, each still for SECONDS; results are printed in target order.
run() {
  local t=$1 corpus="$build/fuzz-corpus/$1" crashes="$build/crashes/$1" log="$build/fuzz-logs/$1.log"
  rm -rf "$corpus" "$crashes"
  mkdir -p "$corpus" "$crashes"
  [ -d "tests/fuzz/corpus/$t" ] && cp tests/fuzz/corpus/"$t"/* "$corpus"/
  local start=$SECONDS status took stats found why
  "$build/tests/fuzz/$t" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 \
    -artifact_prefix="$crashes/" -print_final_stats=1 "$corpus" >"$log" 2>&1
  status=$?
  took=$((SECONDS - start))
  stats=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -1 |
    sed -E 's/^#([0-9]+)[[:space:]]+DONE +cov: ([0-9]+) +ft: ([0-9]+) +corp: ([0-9]+).*/\1 runs, cov \2, ft \3, corpus \4/')
  found=$(find "$crashes" -type f ! -name 'slow-unit-*' | sort | tr '\n' ' ')
  if [ "$status" -eq 0 ] && [ -z "$found" ]; then
    echo "$t: ok in ${took}s (${stats:-no stats})" >"$build/fuzz-logs/$t.result"
  else
    why=$(grep -m1 -E 'ERROR: (AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|libFuzzer)|runtime error:|fuzz check failed' "$log")
    echo "$t: FAILED in ${took}s, exit $status: ${why:-see $log}; input: ${found:-none}(log $log)" \
      >"$build/fuzz-logs/$t.result"
  fi
}

passed=0
failed=0
rm -rf "$build/fuzz-logs"
mkdir -p "$build/fuzz-logs"
at_once=$(nproc)
for ((i = 0; i < ${#targets[@]}; i += at_once)); do
  batch=("${targets[@]:i:at_once}")
  for t in "${batch[@]}"; do run "$t" & done
  wait
  for t in "${batch[@]}"; do
    line=$(cat "$build/fuzz-logs/$t.result" 2>/dev/null)
    echo "${line:-$t: FAILED: no result (log $build/fuzz-logs/$t.log)}"
    if [[ "$line" == "$t: ok in "* ]]; then
      passed=$((passed + 1))
    else
      failed=$((failed + 1))
    fi
  done
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
