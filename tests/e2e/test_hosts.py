"""End-to-end: --hosts, a file in the /etc/hosts format served as CoreDNS's hosts plugin does
(k3s gives CoreDNS every node's name this way).

Run: python3 tests/e2e/test_hosts.py build/tests/dnsd-e2e

Behaviours:
  - A listed name gets its A and AAAA records with the --ttl TTL, in any case; several names
    on a line, a name on several lines; the type a listed name lacks is NODATA; the reverse
    name of a listed address gets every name of it (PTR), IPv4 and IPv6. Over UDP and TCP.
  - A name the file does not list goes where it went before: upstream names to the upstream
    (Knot DNS on loopback), cluster names to the zone.
  - The file is re-read when it changes, in place or replaced by a rename; a broken or
    missing file on reload keeps the last good answers and logs the error with its line.
  - glibc (getent) in a network namespace with a Pod's resolv.conf resolves a node's name
    through the search list, both families, and an address back to its name.
  - With --no-watch the file is re-read on SIGHUP only.
  - At startup a missing or broken file stops dnsd with a message naming it.
"""

import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from harness import Checks, Knot, Server, run_dig  # noqa: E402

HOSTS = """\
# node names, as k3s writes NodeHosts
10.0.0.5   node-a  Node-A.lab.example   # the server
10.0.0.6   node-b
fd00::6    node-b
10.0.0.7   node-a
192.0.2.9  pinned.upstream.example
"""

TTL = 30
RELOAD_WAIT = 10  # seconds; dnsd checks the file about once a second


def write(path, text, replace=False):
    """Writes `text` to `path` in place, or (replace) as a new file renamed over it, as a
    ConfigMap volume's update does."""
    target = path + ".new" if replace else path
    with open(target, "w") as f:
        f.write(text)
    if replace:
        os.replace(target, path)


def wait_for(port, name, qtype, want):
    """The A/AAAA rdatas of `name` once they are `want`, or the last seen after RELOAD_WAIT."""
    deadline = time.monotonic() + RELOAD_WAIT
    while True:
        got = sorted(run_dig(port, name, qtype).rdatas("answer", qtype))
        if got == sorted(want) or time.monotonic() > deadline:
            return got
        time.sleep(0.2)


def static_answers(c, d):
    for tcp in (False, True):
        via = "TCP" if tcp else "UDP"
        got = run_dig(d.port, "node-a", "A", tcp=tcp)
        c.expect_equal(sorted(got.rdatas("answer", "A")), ["10.0.0.5", "10.0.0.7"],
                       f"a name on two lines has both addresses ({via})", got.describe())
        c.check(got.rrs("answer") and all(rr[1] == TTL for rr in got.rrs("answer")),
                f"hosts records carry --ttl ({via})", got.describe())
        c.check("aa" in got.flags, f"the answer is authoritative, as CoreDNS hosts' ({via})",
                got.describe())
        got = run_dig(d.port, "NODE-a.LAB.example", "A", tcp=tcp)
        c.expect_equal(got.rdatas("answer", "A"), ["10.0.0.5"],
                       f"a second name on the line, asked in another case ({via})",
                       got.describe())
        got = run_dig(d.port, "node-b", "AAAA", tcp=tcp)
        c.expect_equal(got.rdatas("answer", "AAAA"), ["fd00::6"], f"IPv6 ({via})",
                       got.describe())
        got = run_dig(d.port, "node-a", "AAAA", tcp=tcp)
        c.check(got.rcode == "NOERROR" and not got.answer,
                f"the family a listed name lacks is NODATA ({via})", got.describe())
        got = run_dig(d.port, "node-b", "MX", tcp=tcp)
        c.check(got.rcode == "NOERROR" and not got.answer,
                f"another type at a listed name is NODATA ({via})", got.describe())
        got = run_dig(d.port, "5.0.0.10.in-addr.arpa", "PTR", tcp=tcp)
        c.expect_equal(got.rdatas("answer", "PTR"), ["node-a.", "node-a.lab.example."],
                       f"PTR: every name of an IPv4 address, in file order ({via})",
                       got.describe())
        got = run_dig(d.port, "-x", "fd00::6", tcp=tcp)
        c.expect_equal(got.rdatas("answer", "PTR"), ["node-b."],
                       f"PTR of an IPv6 address ({via})", got.describe())


def fallthrough(c, d):
    got = run_dig(d.port, "www.upstream.example")
    c.expect_equal(got.rdatas("answer", "A"), ["10.160.0.5"],
                   "a name the file does not list is forwarded to the upstream", got.describe())
    got = run_dig(d.port, "pinned.upstream.example")
    c.expect_equal(got.rdatas("answer", "A"), ["192.0.2.9"],
                   "a listed name under an upstream's domain is answered from the file",
                   got.describe())
    got = run_dig(d.port, "node-z.upstream.example")
    c.check(got.rcode == "NXDOMAIN", "an unlisted name gets the upstream's NXDOMAIN",
            got.describe())
    got = run_dig(d.port, "backend-service.default.svc.cluster.local")
    c.check(got.rcode == "NOERROR" and got.rdatas("answer", "A"),
            "cluster names are still answered from the zone", got.describe())


def reloads(c, d, path):
    write(path, HOSTS.replace("10.0.0.7   node-a", "10.0.0.8   node-c"))
    c.expect_equal(wait_for(d.port, "node-c", "A", ["10.0.0.8"]), ["10.0.0.8"],
                   "a name added in place is answered once the file changes")
    c.expect_equal(run_dig(d.port, "node-a").rdatas("answer", "A"), ["10.0.0.5"],
                   "a line removed takes its address away")
    write(path, HOSTS + "10.0.0.10 node-d\n", replace=True)
    c.expect_equal(wait_for(d.port, "node-d", "A", ["10.0.0.10"]), ["10.0.0.10"],
                   "a file replaced by a rename is re-read")
    write(path, HOSTS + "10.0.0.11 node-e\n10.0.0.300 node-f\n")
    time.sleep(3)
    c.expect_equal(run_dig(d.port, "node-d").rdatas("answer", "A"), ["10.0.0.10"],
                   "a broken file on reload keeps the last good answers")
    got = run_dig(d.port, "node-e")
    c.check(not got.answer, "nothing of the broken file is served", got.describe())
    c.check(f"{path}:8: \"10.0.0.300\" is not an IP address" in d.log(),
            "the broken line is logged with file and line", d.log()[-2000:])
    os.unlink(path)
    time.sleep(2)
    c.expect_equal(run_dig(d.port, "node-d").rdatas("answer", "A"), ["10.0.0.10"],
                   "a file removed keeps the last good answers")
    write(path, HOSTS)
    c.expect_equal(wait_for(d.port, "node-d", "A", []), [],
                   "a good file again is served again")
    c.check(d.alive(), "dnsd is still running")


def sighup_only(c, binary, path):
    write(path, HOSTS)
    with Server(binary, [harness.ZONES], c, name="dnsd-no-watch",
                extra_args=["--hosts", path, "--no-watch"]) as d:
        write(path, HOSTS + "10.0.0.12 node-g\n")
        time.sleep(2.5)
        c.check(not run_dig(d.port, "node-g").answer,
                "with --no-watch a changed file is not re-read by itself")
        os.kill(d.proc.pid, signal.SIGHUP)
        c.expect_equal(wait_for(d.port, "node-g", "A", ["10.0.0.12"]), ["10.0.0.12"],
                       "SIGHUP re-reads it")


def pod_resolves(c, ns):
    code, out = ns.run(["getent", "ahostsv4", "node-b"])
    c.check(code == 0 and "10.0.0.6" in out,
            "glibc in a Pod resolves a node's name through the search list", out)
    code, out = ns.run(["getent", "hosts", "node-b"])
    c.check(code == 0 and "fd00::6" in out, "glibc gets the node's IPv6 address", out)
    code, out = ns.run(["getent", "hosts", "10.0.0.6"])
    c.check(code == 0 and "node-b" in out, "glibc maps the address back to the name", out)


def start_fails(c, binary, args, what, want):
    proc = subprocess.run([os.environ.get("DNSD_BINARY", binary), "--manifests", harness.ZONES,
                           "--listen", "127.0.0.1:1", "--user", "root", "--no-forward"] + args,
                          capture_output=True, text=True, timeout=10, stdin=subprocess.DEVNULL)
    out = proc.stdout + proc.stderr
    c.check(proc.returncode != 0 and want in out, what, out)


def scenario(c, binary, ns, workdir, servers):
    subprocess.run([os.path.join(harness.REPO, "scripts", "deps.sh"), "knot"], check=True,
                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    path = os.path.join(workdir, "hosts")
    write(path, HOSTS)
    knot = Knot(workdir, "knot", {"upstream.example": ["www 10.160.0.5"]})
    servers.append(knot)
    args = ["--hosts", path, "--ttl", str(TTL), "--upstream", f"127.0.0.1:{knot.port}",
            "--listen", f"{ns.host_ip}:53"]
    with Server(binary, [harness.ZONES], c, extra_args=args) as d:
        static_answers(c, d)
        fallthrough(c, d)
        pod_resolves(c, ns)
        reloads(c, d, path)
    sighup_only(c, binary, path)
    start_fails(c, binary, ["--hosts", os.path.join(workdir, "missing")],
                "a missing file at startup stops dnsd, naming it",
                f"{workdir}/missing: No such file or directory")
    write(path, "10.0.0.1 ok\n10.0.0.2\n")
    start_fails(c, binary, ["--hosts", path], "a broken file at startup stops dnsd",
                f"{path}:2: address 10.0.0.2 without a name")


if __name__ == "__main__":
    harness.pod_test_main("test_hosts", scenario)
