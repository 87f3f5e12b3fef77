#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test:
#   1. the layering check, the unit tests (doctest, one executable per module) and the
#      end-to-end tests (the real binary asked with dig, glibc, c-ares), from ./build;
#   2. the same suite under AddressSanitizer + UndefinedBehaviorSanitizer (scripts/sanitize.sh),
#      and the unit tests and the reload-under-load test under ThreadSanitizer
#      (scripts/sanitize.sh --thread);
#   3. each libFuzzer target for a bounded time (scripts/fuzz.sh, DNSD_FUZZ_SECONDS, default 60).
# DNSD_QUICK=1 runs only step 1. Ends with one line "N passed, N failed" counting test
# cases, end-to-end checks, sanitizer test programs and fuzz targets.
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh || exit 1
scripts/build.sh || { echo "0 passed, 1 failed"; exit 1; }

layering_failed=0
scripts/check-layering.sh || layering_failed=1

meson test -C build --print-errorlogs --num-processes 2 --timeout-multiplier 2
meson_status=$?
# Each part's summary line is read back from its own log, after it finished: nothing
# printed later can land below the closing total.
python3 scripts/count_tests.py build/meson-logs/testlog.json "$layering_failed" "$meson_status" \
  > build/main-summary.txt 2> build/main-failures.txt
main=$(tail -1 build/main-summary.txt)
echo "main build: $main"
summaries=("main build: $main")
if [ "${DNSD_QUICK:-0}" != 1 ]; then
  scripts/sanitize.sh > build/sanitize.log 2>&1
  cat build/sanitize.log
  sanitize=$(grep -E '^sanitize: [0-9]+ passed, [0-9]+ failed' build/sanitize.log | tail -1)
  summaries+=("${sanitize:-sanitize: 0 passed, 1 failed}")
  scripts/sanitize.sh --thread > build/tsan.log 2>&1
  cat build/tsan.log
  tsan=$(grep -E '^sanitize: [0-9]+ passed, [0-9]+ failed' build/tsan.log | tail -1)
  summaries+=("thread ${tsan:-sanitize: 0 passed, 1 failed}")
  scripts/fuzz.sh "${DNSD_FUZZ_SECONDS:-60}" > build/fuzz.log 2>&1
  cat build/fuzz.log
  fuzz=$(grep -E '^fuzz: [0-9]+ passed, [0-9]+ failed' build/fuzz.log | tail -1)
  summaries+=("${fuzz:-fuzz: 0 passed, 1 failed}")
fi
passed=0
failed=0
for s in "${summaries[@]}"; do
  read -r p f < <(grep -oE '[0-9]+ passed, [0-9]+ failed' <<<"$s" | tail -1 | awk '{print $1, $3}')
  passed=$((passed + p))
  failed=$((failed + f))
done
# What failed in the main build is named again here, at the end, where a CI excerpt sees it.
if [ -s build/main-failures.txt ]; then
  echo "main build, failed:"
  head -40 build/main-failures.txt
fi
printf '  (%s)\n' "${summaries[@]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
