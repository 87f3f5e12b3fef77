"""End-to-end: hostile and broken manifests. Each is written by the test into a
temporary directory and given to `dnsd check`; none may crash or hang dnsd, each gets the
message a user would see, and memory stays bounded.

Run: python3 tests/e2e/test_hostile.py build/tests/dnsd-e2e   (dnsd, told --user root when run as root)

Behaviours:
  - Deeply nested YAML (lists and maps 5,000 levels deep): "YAML nested too deeply", with
    file:line.
  - A wrong type in every field dnsd reads: the field's path and what was found.
  - A 10 MB string as a Service name: no crash; the name is no DNS label, so the Service is
    skipped with a warning naming the file.
  - YAML aliases that would expand a billion-fold: refused or read without expanding,
    in bounded time and memory.
  - 100,000 Services in one file: loaded, in bounded time and memory.
"""

import os
import resource
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from harness import Checks  # noqa: E402

# Sanitizer builds (scripts/sanitize.sh sets these) run several times slower.
SLOW = 4 if ("ASAN_OPTIONS" in os.environ or "TSAN_OPTIONS" in os.environ) else 1
TIMEOUT = 120 * SLOW


def check_file(c, binary, workdir, name, text, want_rc, patterns, max_seconds=30):
    """Runs `dnsd check` on one file; returns (rc, output, seconds, max RSS in MiB)."""
    path = os.path.join(workdir, name)
    with open(path, "w") as f:
        f.write(text)
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.monotonic()
    try:
        r = subprocess.run([binary, "check", path], capture_output=True, text=True,
                           timeout=TIMEOUT, stdin=subprocess.DEVNULL)
        rc, out = r.returncode, (r.stdout + r.stderr)
    except subprocess.TimeoutExpired:
        rc, out = None, "timed out"
    took = time.monotonic() - start
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    short = out if len(out) < 2000 else out[:2000] + "..."
    c.check(rc is not None and 0 <= rc < 128, f"{name}: dnsd exits by itself (rc {rc})", short)
    if want_rc is not None:
        c.check((rc == 0) == (want_rc == 0), f"{name}: exit {'0' if want_rc == 0 else 'non-zero'}",
                short)
    for p in patterns:
        c.check(p in out, f"{name}: says {p!r}", short)
    c.check(took < max_seconds * SLOW, f"{name}: done in {took:.1f} s (< {max_seconds * SLOW} s)")
    print(f"{name}: rc {rc}, {took:.2f} s, max RSS so far {rss:.0f} MiB (previous {before / 1024:.0f})")
    return rc, out, took, rss


SERVICE = "apiVersion: v1\nkind: Service\nmetadata:\n  name: x\nspec:\n"

WRONG_TYPES = [
    # (field text under a Service, the message fragment)
    ("metadata: [a]", "metadata: not a map"),
    ("metadata: {name: {a: b}}", "metadata.name: not a string"),
    ("metadata: {name: x, namespace: [a]}", "metadata.namespace: not a string"),
    ("metadata: {name: x, labels: [a]}", "metadata.labels: not a map"),
    ("metadata: {name: x}\nspec: {clusterIP: {a: b}}", "spec.clusterIP: not a string"),
    ("metadata: {name: x}\nspec: {clusterIPs: 3}", "spec.clusterIPs: not a list"),
    ("metadata: {name: x}\nspec: {type: [a]}", "spec.type: not a string"),
    ("metadata: {name: x}\nspec: {selector: [a]}", "spec.selector: not a map"),
    ("metadata: {name: x}\nspec: {ports: {a: b}}", "spec.ports: not a list"),
    ("metadata: {name: x}\nspec: {ports: [{port: abc}]}", "spec.ports[0].port"),
    ("metadata: {name: x}\nspec: {ports: [{port: 70000}]}", "spec.ports[0].port"),
    ("metadata: {name: x}\nspec: {ports: [{port: 80, targetPort: [1]}]}", "spec.ports[0].targetPort"),
    ("metadata: {name: x}\nspec: {publishNotReadyAddresses: [1]}", "spec.publishNotReadyAddresses"),
]


def test_deep_nesting(c, binary, workdir):
    check_file(c, binary, workdir, "deep-list.yaml",
               SERVICE + "  ports: " + "[" * 5000 + "]" * 5000 + "\n", 1,
               ["nested too deeply", "deep-list.yaml:6"])
    check_file(c, binary, workdir, "deep-map.yaml",
               "kind: Service\nmetadata:\n  name: x\n  labels: " + "{a: " * 5000 + "b" +
               "}" * 5000 + "\n", 1, ["nested too deeply", "deep-map.yaml:4"])


def test_wrong_types(c, binary, workdir):
    for i, (fields, message) in enumerate(WRONG_TYPES):
        check_file(c, binary, workdir, f"wrong-{i}.yaml",
                   "apiVersion: v1\nkind: Service\n" + fields + "\n", 1,
                   [f"wrong-{i}.yaml:", message])


def test_huge_string(c, binary, workdir):
    check_file(c, binary, workdir, "huge-name.yaml",
               "apiVersion: v1\nkind: Service\nmetadata:\n  name: " + "a" * 10_000_000 + "\n",
               0, ["huge-name.yaml", "skipped"])


def test_alias_expansion(c, binary, workdir):
    # Ten levels of ten-fold aliases: 10^10 entries if expanded; used where a list is read.
    lines = ["a0: &a0 [{port: 80}, {port: 81}, {port: 82}, {port: 83}, {port: 84},"
             " {port: 85}, {port: 86}, {port: 87}, {port: 88}, {port: 89}]"]
    for level in range(1, 10):
        refs = ", ".join([f"*a{level - 1}"] * 10)
        lines.append(f"a{level}: &a{level} [{refs}]")
    text = "\n".join(lines) + "\napiVersion: v1\nkind: Service\nmetadata: {name: x}\n" \
                              "spec: {ports: *a9}\n"
    rc, out, took, rss = check_file(c, binary, workdir, "alias-bomb.yaml", text, None, [],
                                    max_seconds=30)
    print(f"alias-bomb.yaml says: {out.strip()[:300]}")
    c.check(rss < 2048 * SLOW, f"alias-bomb.yaml: memory stays bounded ({rss:.0f} MiB max RSS)")


def test_many_services(c, binary, workdir):
    text = "".join(f"---\napiVersion: v1\nkind: Service\nmetadata: {{name: s{i}}}\n"
                   f"spec: {{clusterIP: None}}\n" for i in range(100_000))
    rc, out, took, rss = check_file(c, binary, workdir, "100k-services.yaml", text, 0,
                                    ["100000 Service"], max_seconds=100)
    c.check(rss < 3072 * SLOW, f"100k-services.yaml: memory stays bounded ({rss:.0f} MiB max RSS)")


def main():
    binary = harness.binary_from_argv("test_hostile")
    c = Checks("test_hostile")
    with tempfile.TemporaryDirectory(prefix="dnsd-hostile-") as workdir:
        for test in (test_deep_nesting, test_wrong_types, test_huge_string,
                     test_alias_expansion, test_many_services):
            c.run(test, c, binary, workdir)
    c.finish()


if __name__ == "__main__":
    main()
