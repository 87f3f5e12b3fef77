#!/usr/bin/env bash
# Runs the test suite under sanitizers, with g++.
#   scripts/sanitize.sh            AddressSanitizer + UndefinedBehaviorSanitizer: every meson
#                                  test (unit and end-to-end) from ./build-asan
#   scripts/sanitize.sh --thread   ThreadSanitizer: the unit tests, e2e test_reload (reloads
#                                  under load) and e2e test_kube (the API client's thread
#                                  feeding the zone) from ./build-tsan
# Ends with "sanitize: N passed, N failed" counting meson tests; non-zero exit on a failure.
# Sanitizer reports go to BUILD/sanitizer-logs/ (the e2e tests' dnsd logs are temporary
# files, so a report there would otherwise go unseen) and are printed at the end; any report
# fails the run.
set -uo pipefail
cd "$(dirname "$0")/.."
mode=address
case "${1:-}" in
  "") ;;
  --thread) mode=thread ;;
  *) echo "usage: scripts/sanitize.sh [--thread]" >&2; exit 2 ;;
esac
scripts/deps.sh || exit 1

if [ "$mode" = address ]; then
  build=build-asan
  sanitize=address,undefined
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:log_path=$PWD/$build/sanitizer-logs/asan
  export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:log_path=$PWD/$build/sanitizer-logs/ubsan
  tests=()
  # -O1, as the AddressSanitizer manual advises: gcc compiles ASan+UBSan code far faster
  # than at -O2, and less optimization removes none of the checks.
  optimization=1
else
  build=build-tsan
  sanitize=thread
  # second_deadlock_stack: both stacks of a lock-order inversion.
  export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1:log_path=$PWD/$build/sanitizer-logs/tsan
  tests=(reload)  # filled in after the build: every unit test, then the e2e tests above
  optimization=2  # the unit tests race threads for a while: -O1 would slow them down
fi

# -g1: line tables, all a report's stack needs, for much less compile time than -g.
# -Dbench=false: the tests do not run the benchmark binaries, so they are not built.
if [ ! -f "$build/build.ninja" ]; then
  CC=gcc CXX=g++ meson setup "$build" -Doptimization="$optimization" -Ddebug=true \
    -Dc_args=-g1 -Dcpp_args=-g1 -Dbench=false -Db_sanitize="$sanitize" -Db_lundef=false ||
    { echo "sanitize: 0 passed, 1 failed (meson setup)"; exit 1; }
fi
ninja -C "$build" || { echo "sanitize: 0 passed, 1 failed (build)"; exit 1; }
if [ "$mode" = thread ]; then
  # Names, not --suite: meson runs the tests that match both a suite and a name.
  mapfile -t tests < <(meson test -C "$build" --list --suite unit 2>/dev/null | grep ' / ' | sed 's#.* / ##')
  tests+=(e2e_test_reload e2e_test_kube)
fi

rm -rf "$build/sanitizer-logs"
mkdir -p "$build/sanitizer-logs"
meson test -C "$build" --no-rebuild --print-errorlogs --num-processes 2 --timeout-multiplier 3 \
  "${tests[@]}"
status=$?

python3 - "$build/meson-logs/testlog.json" "$status" "$build/sanitizer-logs" <<'PY'
import json, pathlib, sys
passed = failed = skipped = 0
try:
    with open(sys.argv[1]) as f:
        for line in f:
            result = json.loads(line).get("result")
            if result in ("OK", "EXPECTEDFAIL"):
                passed += 1
            elif result == "SKIP":
                skipped += 1
            else:
                failed += 1
                print(f"sanitize: {json.loads(line)['name']}: {result}")
except OSError:
    pass
reports = sorted(pathlib.Path(sys.argv[3]).glob("*"))
for report in reports:
    print(f"sanitize: report {report}:")
    print("".join(report.read_text(errors="replace").splitlines(True)[:40]))
if passed + failed == 0 or (failed == 0 and (sys.argv[2] != "0" or reports)):
    failed += 1
if skipped:
    print(f"sanitize: {skipped} skipped")
print(f"sanitize: {passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
PY
