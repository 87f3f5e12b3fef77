#!/usr/bin/env python3
"""Sums the test counts of a meson test run into one line "N passed, N failed".

Doctest executables print "[doctest] test cases: T | P passed | F failed | ..."; the
end-to-end scripts print "NAME: P passed, F failed". A test whose output has neither (it
crashed, or timed out) counts as one failure. Exit status: 0 only when nothing failed.

Every failing test is named on stderr with its first failing checks ("FAIL:" lines of the
end-to-end scripts, "ERROR:" lines of doctest), so the end of a CI log says what failed.
"""
import json
import re
import sys

DOCTEST = re.compile(r"\[doctest\] test cases:\s*\d+\s*\|\s*(\d+) passed\s*\|\s*(\d+) failed")
PLAIN = re.compile(r"^\S*:? ?(\d+) passed, (\d+) failed", re.M)
FAILED_CHECK = re.compile(r"^(?:FAIL: .*|.*ERROR: .*)$", re.M)


def main():
    log, layering_failed, meson_status = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    passed, failed = (0, 1) if layering_failed else (1, 0)
    with open(log) as f:
        for line in f:
            t = json.loads(line)
            out = t.get("stdout", "") or ""
            m = DOCTEST.search(out) or PLAIN.search(out)
            if m:
                passed += int(m.group(1))
                failed += int(m.group(2))
            if t.get("result") != "OK" and (not m or int(m.group(2)) == 0):
                failed += 1
            if t.get("result") != "OK" or (m and int(m.group(2)) > 0):
                print(f"{t.get('name')}: {t.get('result')}", file=sys.stderr)
                for line in FAILED_CHECK.findall(out)[:5]:
                    print(f"    {line.strip()[:200]}", file=sys.stderr)
    if meson_status != 0 and failed == 0:
        failed = 1
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
