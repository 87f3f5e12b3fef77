"""End-to-end: broken manifests are refused with FILE:LINE and a message, good ones pass.

Run: python3 tests/e2e/test_broken.py build/tests/dnsd-e2e   (dnsd, told --user root when run as root)

Behaviours (tests/data/broken/, each file or directory carrying one error):
  - `dnsd check PATH` exits non-zero (and does not crash) on each of them, and says where:
    the file name, a colon and the line of the error, with a message naming the problem.
  - `dnsd --manifests PATH --listen 127.0.0.1:PORT` refuses to start: it exits non-zero
    within 5 s with the same file:line and message, instead of serving a partial zone.
  - `dnsd check zones/` and `dnsd check tests/data/e2e/` exit 0.
"""

import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from harness import Checks, free_port, run_command  # noqa: E402

BROKEN = os.path.join(harness.DATA, "broken")

# (path under tests/data/broken, file named in the error, accepted lines, message pattern).
# Where the error is "an object lacks something" or "two objects clash", both the object's
# first line and the offending node's line are fair places to point at; the header comment
# of each file says which lines those are.
CASES = [
    ("syntax.yaml", "syntax.yaml", {9},
     r"illegal map value|syntax|parse|invalid yaml|malformed"),
    ("no-name.yaml", "no-name.yaml", {12, 14, 15}, r"\bname\b"),
    ("selector-list.yaml", "selector-list.yaml", {10}, r"selector"),
    ("bad-clusterip.yaml", "bad-clusterip.yaml", {9}, r"clusterIP|10\.0\.0\.300"),
    ("duplicate-clusterip", "b.yaml", {8, 10, 11, 14}, r"10\.96\.5\.5"),
]

START_TIMEOUT = 5  # seconds dnsd may take to refuse a broken manifest


def check_message(c, what, output, file_name, lines, pattern):
    where = sorted({int(n) for n in re.findall(re.escape(file_name) + r":(\d+)", output)})
    c.check(any(n in lines for n in where),
            f"{what}: says {file_name}:LINE with LINE in {sorted(lines)}",
            f"found {file_name}:{where} in:\n{output}")
    # The pattern must match the message, not the file name (syntax.yaml contains "yaml").
    message = output.replace(file_name, "FILE")
    c.check(re.search(pattern, message, re.IGNORECASE) is not None,
            f"{what}: message matches /{pattern}/", output)


def check_exit(c, what, rc, output):
    c.check(rc is not None, f"{what}: exits in time", output)
    if rc is not None:
        c.check(rc != 0, f"{what}: exits non-zero", f"exit {rc}\n{output}")
        c.check(0 <= rc < 128, f"{what}: exits, not killed by a signal (exit {rc})", output)


def test_check_mode(c, binary):
    for path, file_name, lines, pattern in CASES:
        full = os.path.join(BROKEN, path)
        what = f"dnsd check {path}"
        rc, output = run_command([binary, "check", full], timeout=10)
        check_exit(c, what, rc, output)
        check_message(c, what, output, file_name, lines, pattern)


def test_server_refuses_to_start(c, binary):
    for path, file_name, lines, pattern in CASES:
        full = os.path.join(BROKEN, path)
        what = f"dnsd --manifests {path}"
        argv = [binary, "--manifests", full, "--listen", f"127.0.0.1:{free_port()}", "--no-forward"]
        # run_command kills the process by its PID if it is still running after the timeout.
        rc, output = run_command(argv, timeout=START_TIMEOUT)
        check_exit(c, what, rc, output)
        check_message(c, what, output, file_name, lines, pattern)


def test_good_manifests_pass(c, binary):
    for path in (harness.ZONES, os.path.join(harness.DATA, "e2e")):
        rel = os.path.relpath(path, harness.REPO)
        rc, output = run_command([binary, "check", path], timeout=10)
        c.expect_equal(rc, 0, f"dnsd check {rel}: exits 0", output)


def main():
    binary = harness.binary_from_argv("test_broken")
    c = Checks("test_broken")
    for scenario in (test_check_mode, test_server_refuses_to_start, test_good_manifests_pass):
        c.run(scenario, c, binary)
    c.finish()


if __name__ == "__main__":
    main()
