"""End-to-end: forwarding names that are not ours (dnsd as a Pod's only nameserver).

Run: python3 tests/e2e/test_forward.py build/tests/dnsd-e2e   (dnsd, told --user root when run as root)

The "internet" is a second dnsd on loopback serving zone files (tests/data/forward/*.zone)
with forwarding off; the dnsd under test forwards to it with --upstream.

Behaviours (each DNS check over UDP and TCP):
  - A name outside our zones is forwarded: the upstream's answer comes back with the
    client's ID and the question in the client's case; NXDOMAIN comes back as NXDOMAIN.
  - Cluster names are still answered by us, authoritatively; RA is set (recursion available).
  - Forwarded answers are cached: asking again does not reach the upstream
    (its dnsd_dns_requests_total does not rise) and the TTL has not risen.
  - An ExternalName to a name outside the cluster is answered with the CNAME and the
    target's address from the upstream (k8s DNS spec 2.5, CoreDNS backend_lookup.go).
  - A client outside --allow-recursion gets REFUSED for other names, still answers for ours.
  - When every upstream is dead, the client gets SERVFAIL, promptly.
  - --upstream naming dnsd's own listen address is refused at startup (a loop).
  - A forwarding loop through another server is detected at startup and reported.
"""

import os
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from harness import Checks, Server, free_port, run_command  # noqa: E402

DATA = os.path.join(harness.DATA, "forward")
EMPTY = os.path.join(harness.DATA, "forward", "empty")


def upstream(binary, c):
    zones = [os.path.join(DATA, z) for z in ("example.org.zone", "company.net.zone")]
    return harness.ZoneServer(binary, zones, "example.org", c,
                              extra_args=["--metrics", f"127.0.0.1:{free_port()}"])


def requests_seen(server):
    port = server.extra_args[server.extra_args.index("--metrics") + 1].split(":")[1]
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as r:
        text = r.read().decode()
    return sum(float(l.rsplit(" ", 1)[1]) for l in text.splitlines()
               if l.startswith("dnsd_dns_requests_total{"))


def test_forwarding(c, up, s):
    for tcp in (False, True):
        proto = "TCP" if tcp else "UDP"
        r = s.dig("WwW.ExAmple.ORG", tcp=tcp)
        c.expect_equal(r.rcode, "NOERROR", f"{proto}: a forwarded name is answered", r.describe())
        c.expect_equal(r.rdatas(), ["192.0.2.80"], f"{proto}: with the upstream's address")
        c.check(r.question and r.question[0][0] == "WwW.ExAmple.ORG.",
                f"{proto}: the question keeps the client's case", r.describe())
        r = s.dig("nope.example.org", tcp=tcp)
        c.expect_equal(r.rcode, "NXDOMAIN", f"{proto}: a forwarded NXDOMAIN stays NXDOMAIN",
                       r.describe())
        r = s.dig("web.default.svc.cluster.local", tcp=tcp)
        c.expect_equal(r.rdatas(), ["10.96.0.20"], f"{proto}: cluster names are still ours")
        c.check("aa" in r.flags and "ra" in r.flags, f"{proto}: AA and RA set on our answers",
                r.describe())


def test_cache(c, up, s):
    first = s.dig("www.example.org", "AAAA")
    before = requests_seen(up)
    time.sleep(1.1)
    again = s.dig("www.example.org", "AAAA")
    c.expect_equal(again.rdatas(), ["2001:db8::80"], "a cached answer is the same answer")
    c.expect_equal(requests_seen(up), before, "the second query did not reach the upstream")
    ttl1 = first.rrs()[0][1] if first.rrs() else None
    ttl2 = again.rrs()[0][1] if again.rrs() else None
    c.check(ttl1 is not None and ttl2 is not None and ttl2 < ttl1,
            f"the cached TTL counts down ({ttl1} -> {ttl2})")


def test_external_name(c, up, s):
    for tcp in (False, True):
        proto = "TCP" if tcp else "UDP"
        r = s.dig("orders-db.default.svc.cluster.local", tcp=tcp)
        c.expect_equal(r.rcode, "NOERROR", f"{proto}: ExternalName answered", r.describe())
        types = [rr[3] for rr in r.answer]
        c.expect_equal(types, ["CNAME", "A"], f"{proto}: the CNAME, then the target's A",
                       r.describe())
        c.expect_equal(r.rdatas(rtype="A"), ["192.0.2.5"], f"{proto}: the target's address")


def test_refused_outside_allow_recursion(c, binary, up):
    with Server(binary, [DATA], c, name="no-recursion",
                extra_args=["--upstream", f"127.0.0.1:{up.port}",
                            "--allow-recursion", "10.99.0.0/16"]) as s:
        r = s.dig("www.example.org")
        c.expect_equal(r.rcode, "REFUSED", "a client outside --allow-recursion is refused",
                       r.describe())
        r = s.dig("web.default.svc.cluster.local")
        c.expect_equal(r.rdatas(), ["10.96.0.20"], "but still gets our names")


def test_dead_upstream(c, binary):
    dead = free_port()
    with Server(binary, [DATA], c, name="dead-upstream",
                extra_args=["--upstream", f"127.0.0.1:{dead}",
                            "--upstream-timeout", "200"]) as s:
        start = time.monotonic()
        r = harness.run_dig(s.port, "www.example.org", options=("+time=5",))
        took = time.monotonic() - start
        c.expect_equal(r.rcode, "SERVFAIL", "every upstream dead: SERVFAIL", r.describe())
        c.check(took < 4, f"and promptly ({took:.1f} s)")


def test_self_upstream(c, binary):
    port = free_port()
    rc, out = run_command([binary, "--manifests", DATA, "--listen", f"127.0.0.1:{port}",
                           "--upstream", f"127.0.0.1:{port}"])
    c.check(rc not in (0, None) and "own listen address" in out,
            "an upstream that is our own address is refused", out)


def test_loop(c, binary):
    a_port = free_port()
    # b forwards to a, a forwards to b: the probe a sends at startup comes back to a.
    with Server(binary, [EMPTY], c, name="loop-b",
                extra_args=["--upstream", f"127.0.0.1:{a_port}"]) as b:
        rc, out = run_command([binary, "--manifests", DATA, "--listen", f"127.0.0.1:{a_port}",
                               "--upstream", f"127.0.0.1:{b.port}"], timeout=15)
        c.check(rc not in (0, None) and "loop" in out,
                "a forwarding loop through another server is reported and stops dnsd", out)


def main():
    binary = harness.binary_from_argv("test_forward")
    c = Checks("test_forward")
    os.makedirs(EMPTY, exist_ok=True)
    up = upstream(binary, c)
    try:
        with up:
            with Server(binary, [os.path.join(DATA, "cluster.yaml")], c, name="forwarder",
                        extra_args=["--upstream", f"127.0.0.1:{up.port}"]) as s:
                c.run(test_forwarding, c, up, s)
                c.run(test_cache, c, up, s)
                c.run(test_external_name, c, up, s)
            c.run(test_refused_outside_allow_recursion, c, binary, up)
    finally:
        up.close()  # and its empty manifest directory
    c.run(test_dead_upstream, c, binary)
    c.run(test_self_upstream, c, binary)
    c.run(test_loop, c, binary)
    c.finish()


if __name__ == "__main__":
    main()
