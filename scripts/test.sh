#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test: the layering check, the unit tests
# (doctest, one executable per module) and the end-to-end tests (the real binary asked with
# dig). Ends with one line "N passed, N failed" counting test cases and end-to-end checks.
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh || exit 1
scripts/build.sh || { echo "0 passed, 1 failed"; exit 1; }

layering_failed=0
scripts/check-layering.sh || layering_failed=1

meson test -C build --print-errorlogs --num-processes 2 --timeout-multiplier 2
meson_status=$?

python3 scripts/count_tests.py build/meson-logs/testlog.json "$layering_failed" "$meson_status"
