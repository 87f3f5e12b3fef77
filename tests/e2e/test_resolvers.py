"""End-to-end: real resolvers (glibc, c-ares, dig +search) in a network namespace set up like
a Pod, with dnsd as their only nameserver and a second dnsd as the "upstream internet".

Run: python3 tests/e2e/test_resolvers.py build/tests/dnsd-e2e   (dnsd, told --user root when run as root)
     (as root; the c-ares client is $DNSD_CARES_CLIENT, else beside dnsd-e2e)

Setup (nothing here touches a real network):
  - upstream: a second dnsd on 127.0.0.1:PORT serving tests/data/resolvers/example.org.zone
    and company.net.zone with --no-forward (no cluster objects), the independent server that
    the cluster dnsd forwards to.
  - cluster dnsd: tests/data/resolvers/cluster.yaml plus a Pod `resolver-client` in
    `default` with the namespace's address; listens on HOST_IP:53 (the host side of the veth)
    and on a loopback port; --upstream 127.0.0.1:PORT; --metrics on a loopback port.
  - the Pod: namespace dnsd-e2e-PID, veth 10.213.X.1/24 (host) - 10.213.X.2/24 (namespace),
    /etc/netns/NS/resolv.conf = `nameserver 10.213.X.1`, `search default.svc.cluster.local
    svc.cluster.local cluster.local`, `options ndots:5`. The TCP runs add `use-vc` (glibc),
    pass --tcp (c-ares, ARES_FLAG_USEVC) or +tcp (dig).
  If `ip netns add` fails the test fails with the reason, unless DNSD_E2E_NO_NETNS=1, when it
  says SKIP and passes.

Behaviours, each over UDP and over TCP:
  - glibc (`getent hosts`, `getent ahostsv4`), c-ares (ares_gethostbyname, AF_INET) and
    `dig +search` resolve, through the Pod's search path, to exact addresses and canonical
    names: backend-service, backend-service.default, backend-service.default.svc,
    backend-service.default.svc.cluster.local (10.96.0.40); api.other (10.96.1.5, a Service
    in another namespace); orders-db (ExternalName: CNAME to orders-db.production.company.net,
    whose A 192.0.2.5 comes from the upstream); db-headless (every ready Pod: 10.244.1.10 and
    10.244.1.11, not the not-ready .12); cassandra-0.db-headless (10.244.1.10);
    www.example.org (forwarded: A 192.0.2.80; `getent hosts` asks AAAA first: 2001:db8::80).
  - A name that exists nowhere fails: `getent` exits 2, c-ares reports an error, dig gets no
    address (NXDOMAIN for nothing.example.org).
  - c-ares read the Pod's configuration: the one nameserver, the search list, ndots 5.
  - Query counts (printed, not asserted; the autopath comparison uses them) for one lookup of
    www.example.org by each client, and of backend-service by glibc: the UDP queries the Pod
    sent (captured on the veth, each listed) and dnsd_dns_requests_total before/after.
  - Upstream failure: with the upstream stopped, cluster names keep answering and an external
    name gets SERVFAIL within 4 s; once it is back (same port), forwarding recovers within 6 s.
"""

import os
import shlex
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from harness import DigResult, Server, ZoneServer  # noqa: E402

DATA = os.path.join(harness.DATA, "resolvers")
ZONE_FILES = [os.path.join(DATA, "example.org.zone"), os.path.join(DATA, "company.net.zone")]
TRANSPORTS = ("udp", "tcp")
CLIENT_TIMEOUT = 15  # seconds for one getent/c-ares/dig run inside the namespace
UPSTREAM_TIMEOUT_MS = 1000

BACKEND = "backend-service.default.svc.cluster.local"
ORDERS_TARGET = "orders-db.production.company.net"


class Name:
    """A name a Pod asks for: the IPv4 addresses it resolves to, the canonical name, and what
    `getent hosts` prints (it asks AAAA first, so a name with AAAA shows those)."""

    def __init__(self, name, v4, canonical, hosts=None):
        self.name, self.v4, self.canonical = name, sorted(v4), canonical
        self.hosts = sorted(hosts) if hosts is not None else self.v4


NAMES = [
    Name("backend-service", ["10.96.0.40"], BACKEND),
    Name("backend-service.default", ["10.96.0.40"], BACKEND),
    Name("backend-service.default.svc", ["10.96.0.40"], BACKEND),
    Name("backend-service.default.svc.cluster.local", ["10.96.0.40"], BACKEND),
    Name("api.other", ["10.96.1.5"], "api.other.svc.cluster.local"),
    Name("orders-db", ["192.0.2.5"], ORDERS_TARGET),
    Name("db-headless", ["10.244.1.10", "10.244.1.11"], "db-headless.default.svc.cluster.local"),
    Name("cassandra-0.db-headless", ["10.244.1.10"],
         "cassandra-0.db-headless.default.svc.cluster.local"),
    Name("www.example.org", ["192.0.2.80"], "www.example.org", hosts=["2001:db8::80"]),
]
MISSING = ["no-such-service", "nothing.example.org"]

CLIENT_POD = """\
# Written by tests/e2e/test_resolvers.py: the Pod whose network namespace asks dnsd.
apiVersion: v1
kind: Pod
metadata:
  name: resolver-client
  namespace: default
  labels:
    app: resolver-client
spec:
  containers:
    - name: client
      image: debian:stable-slim
status:
  phase: Running
  podIP: {pod_ip}
  conditions:
    - type: Ready
      status: "True"
"""


def transport_options(transport):
    return ("use-vc",) if transport == "tcp" else ()


def describe(argv, code, out):
    return f"$ {shlex.join(argv)}\n(exit {code})\n{out}"


# --- glibc --------------------------------------------------------------------------


def getent(ns, database, name):
    """(exit code, addresses sorted, first line's names, transcript) of `getent DB NAME`."""
    argv = ["getent", database, name]
    code, out = ns.run(argv, timeout=CLIENT_TIMEOUT)
    addrs, names = set(), []
    for line in out.split("\n"):
        fields = line.split()
        if not fields:
            continue
        addrs.add(fields[0])
        if not names:
            names = [f for f in fields[1:] if f not in ("STREAM", "DGRAM", "RAW")]
    return code, sorted(addrs), names, describe(["ip", "netns", "exec", ns.name] + argv, code, out)


def test_glibc(c, ns):
    for transport in TRANSPORTS:
        ns.write_resolv_conf(transport_options(transport))
        try:
            for n in NAMES:
                code, addrs, names, text = getent(ns, "hosts", n.name)
                # a name with AAAA is printed under its AAAA answer, canonical name unchecked
                canonical = names[:1] if n.hosts == n.v4 else [n.canonical]
                c.expect_equal((code, addrs, canonical), (0, n.hosts, [n.canonical]),
                               f"glibc over {transport}: getent hosts {n.name}: (exit, "
                               f"addresses, canonical name)", text)
                code, addrs, names, text = getent(ns, "ahostsv4", n.name)
                c.expect_equal((code, addrs, names[:1]), (0, n.v4, [n.canonical]),
                               f"glibc over {transport}: getent ahostsv4 {n.name}: (exit, "
                               f"addresses, canonical name)", text)
            for name in MISSING:
                code, addrs, _, text = getent(ns, "hosts", name)
                c.expect_equal(code, 2, f"glibc over {transport}: getent hosts {name}: exit 2 "
                                        f"(not found)", text)
        finally:
            ns.write_resolv_conf()


# --- c-ares -------------------------------------------------------------------------


def run_cares(ns, client, names, tcp=False):
    """({name: (addresses sorted, canonical) or ('ERROR', text)}, config line, transcript)."""
    argv = [client] + (["--tcp"] if tcp else []) + list(names)
    code, out = ns.run(argv, timeout=CLIENT_TIMEOUT)
    results, canonical, config = {}, {}, ""
    for line in out.split("\n"):
        fields = line.split()
        if not fields:
            continue
        if line.startswith("# servers"):
            config = line
        elif fields[0] == "#" and len(fields) == 4 and fields[2] == "canonical":
            canonical[fields[1]] = fields[3]
        elif len(fields) >= 2 and fields[1] == "ERROR":
            results[fields[0]] = ("ERROR", " ".join(fields[2:]))
        elif fields[0] in names:
            results[fields[0]] = sorted(fields[1:])
    for name, value in results.items():
        if isinstance(value, list):
            results[name] = (value, canonical.get(name))
    return results, config, describe(["ip", "netns", "exec", ns.name] + argv, code, out)


def test_cares(c, ns, client):
    if not c.check(client and os.access(client, os.X_OK),
                   f"the c-ares client is built ({client!r}; set DNSD_CARES_CLIENT, or build "
                   f"the cares_client target)"):
        return
    want_config = (f"# servers {ns.host_ip}:53 search {' '.join(harness.POD_SEARCH)} "
                   f"ndots 5")
    for transport in TRANSPORTS:
        names = [n.name for n in NAMES] + MISSING
        results, config, text = run_cares(ns, client, names, tcp=transport == "tcp")
        c.expect_equal(config, want_config, f"c-ares over {transport}: read the Pod's "
                                            f"resolv.conf", text)
        for n in NAMES:
            what = f"c-ares over {transport}: {n.name}"
            got = results.get(n.name)
            c.expect_equal(got, (n.v4, n.canonical), f"{what}: addresses and canonical name",
                           text)
        for name in MISSING:
            got = results.get(name)
            c.check(got is not None and got[0] == "ERROR", f"c-ares over {transport}: {name} "
                                                           f"fails", text)


# --- dig +search --------------------------------------------------------------------


def ns_dig(ns, name, qtype="A", transport="udp", options=(), time_s=2):
    argv = ["dig", "+search", f"+time={time_s}", "+tries=1"] + \
        (["+tcp"] if transport == "tcp" else []) + list(options) + [name, qtype]
    code, out = ns.run(argv, timeout=CLIENT_TIMEOUT)
    return DigResult(shlex.join(["ip", "netns", "exec", ns.name] + argv), out, code)


def test_dig_search(c, ns):
    for transport in TRANSPORTS:
        for n in NAMES:
            r = ns_dig(ns, n.name, "A", transport)
            owners = sorted({rr[0].lower() for rr in r.rrs("answer", "A")})
            c.expect_equal((r.rcode, sorted(r.rdatas("answer", "A")), owners),
                           ("NOERROR", n.v4, [n.canonical + "."]),
                           f"dig +search over {transport}: {n.name}: (rcode, A set, A owner)",
                           r.describe())
            if n.name == "orders-db":
                cnames = [(rr[0].lower(), rr[4].lower()) for rr in r.rrs("answer", "CNAME")]
                c.expect_equal(cnames, [("orders-db.default.svc.cluster.local.",
                                         ORDERS_TARGET + ".")],
                               f"dig +search over {transport}: orders-db: CNAME to the "
                               f"externalName", r.describe())
        for name in MISSING:
            r = ns_dig(ns, name, "A", transport)
            c.expect_equal(r.rdatas("answer", "A"), [], f"dig +search over {transport}: "
                                                        f"{name}: no address", r.describe())
            if name.endswith(".example.org"):
                c.expect_equal(r.rcode, "NXDOMAIN", f"dig +search over {transport}: {name}: "
                                                    f"rcode", r.describe())


# --- query counts -------------------------------------------------------------------


def requests_by_type(metrics_port):
    samples = harness.metric_samples(metrics_port, "dnsd_dns_requests_total")
    out = {}
    for labels, value in samples.items():
        qtype = labels.split('type="', 1)[1].split('"', 1)[0] if 'type="' in labels else "?"
        out[qtype] = out.get(qtype, 0) + int(value)
    return out


def count_queries(c, ns, metrics_port, capture, what, argv):
    capture.drain()
    before = requests_by_type(metrics_port)
    code, out = ns.run(argv, timeout=CLIENT_TIMEOUT)
    time.sleep(0.2)  # let the workers' counters settle
    after = requests_by_type(metrics_port)
    sent = capture.drain()
    delta = {t: after.get(t, 0) - before.get(t, 0) for t in after}
    delta = {t: v for t, v in delta.items() if v}
    counted = sum(delta.values())
    detail = ", ".join(f"{t} {v}" for t, v in sorted(delta.items())) or "none"
    print(f"query count: {what}: the Pod sent {len(sent)} UDP queries; dnsd_dns_requests_total "
          f"+{counted} ({detail}); client exit {code}", flush=True)
    for qname, qtype in sent:
        print(f"    {qtype:5} {qname}")
    c.check(code == 0 and sent, f"query count: {what} resolved and its queries were seen",
            describe(argv, code, out))
    return len(sent)


def test_query_counts(c, ns, metrics_port, client):
    ns.write_resolv_conf()
    runs = [
        ("glibc `getent hosts www.example.org`", ["getent", "hosts", "www.example.org"]),
        ("glibc `getent ahostsv4 www.example.org`", ["getent", "ahostsv4", "www.example.org"]),
        ("glibc `getent hosts backend-service`", ["getent", "hosts", "backend-service"]),
        ("`dig +search www.example.org`", ["dig", "+search", "+time=2", "+tries=1",
                                           "www.example.org", "A"]),
    ]
    if client and os.access(client, os.X_OK):
        runs.append(("c-ares gethostbyname(www.example.org, AF_INET)",
                     [client, "www.example.org"]))
    with harness.QueryCapture(ns.host_if) as capture:
        return [count_queries(c, ns, metrics_port, capture, what, argv) for what, argv in runs]


def test_autopath(c, ns, metrics_port, client, without):
    """--autopath: the same names resolve, and an external name takes fewer queries."""
    test_glibc(c, ns)
    with_autopath = test_query_counts(c, ns, metrics_port, client)
    print(f"autopath: queries per lookup without {without}, with {with_autopath}", flush=True)
    c.check(with_autopath[0] < without[0],
            f"autopath: glibc sends fewer queries for www.example.org "
            f"({without[0]} -> {with_autopath[0]})")


# --- upstream failure ---------------------------------------------------------------


def test_upstream_failure(c, ns, upstream):
    upstream.stop()
    try:
        for transport in TRANSPORTS:
            r = ns_dig(ns, "backend-service", "A", transport)
            c.expect_equal(sorted(r.rdatas("answer", "A")), ["10.96.0.40"],
                           f"upstream down, over {transport}: backend-service still answers",
                           r.describe())
            start = time.monotonic()
            r = ns_dig(ns, "status.example.org.", "A", transport, time_s=5)
            took = time.monotonic() - start
            c.expect_equal(r.rcode, "SERVFAIL", f"upstream down, over {transport}: "
                                                f"status.example.org. is SERVFAIL", r.describe())
            c.check(took < 4.0, f"upstream down, over {transport}: SERVFAIL within 4 s "
                                f"(took {took:.2f} s)", r.describe())
        ns.write_resolv_conf()
        code, addrs, _, text = getent(ns, "ahostsv4", "backend-service")
        c.expect_equal(addrs, ["10.96.0.40"], "upstream down: glibc still resolves "
                                              "backend-service", text)
    finally:
        upstream.start()
    for transport in TRANSPORTS:
        for name, want in (("status.example.org.", ["192.0.2.81"]),
                           ("back.example.org.", ["192.0.2.82"])):
            start = time.monotonic()
            deadline = start + 6.0
            while True:
                r = ns_dig(ns, name, "A", transport)
                if sorted(r.rdatas("answer", "A")) == want or time.monotonic() > deadline:
                    break
                time.sleep(0.25)
            c.expect_equal(sorted(r.rdatas("answer", "A")), want,
                           f"upstream back, over {transport}: {name} answers again "
                           f"(after {time.monotonic() - start:.2f} s)", r.describe())


# --- main ---------------------------------------------------------------------------


def cares_client_path(binary):
    path = os.environ.get("DNSD_CARES_CLIENT")
    if path:
        return path
    return os.path.join(os.path.dirname(binary), "cares_client")  # BUILD/tests/dnsd-e2e


def run_scenarios(c, binary, ns, workdir, servers):
    client = cares_client_path(binary)
    upstream = ZoneServer(binary, ZONE_FILES, "example.org", c)
    servers.append(upstream)
    upstream.start()
    pod_manifest = os.path.join(workdir, "resolver-client.yaml")
    with open(pod_manifest, "w") as f:
        f.write(CLIENT_POD.format(pod_ip=ns.pod_ip))
    metrics_port = harness.free_port()
    cluster = Server(binary, [os.path.join(DATA, "cluster.yaml"), pod_manifest], c,
                     extra_args=["--listen", f"{ns.host_ip}:53",
                                 "--upstream", f"127.0.0.1:{upstream.port}",
                                 "--upstream-timeout", str(UPSTREAM_TIMEOUT_MS),
                                 "--metrics", f"127.0.0.1:{metrics_port}", "--no-watch"],
                     name="dnsd-cluster")
    servers.append(cluster)
    cluster.start()
    c.run(test_glibc, c, ns)
    c.run(test_cares, c, ns, client)
    c.run(test_dig_search, c, ns)
    without = test_query_counts(c, ns, metrics_port, client)
    # The same cluster with --autopath: the Pod's search path walked by dnsd.
    cluster.stop()
    metrics_port = harness.free_port()
    autopath = Server(binary, [os.path.join(DATA, "cluster.yaml"), pod_manifest], c,
                      extra_args=["--listen", f"{ns.host_ip}:53",
                                  "--upstream", f"127.0.0.1:{upstream.port}",
                                  "--upstream-timeout", str(UPSTREAM_TIMEOUT_MS),
                                  "--metrics", f"127.0.0.1:{metrics_port}", "--no-watch",
                                  "--autopath"],
                      name="dnsd-autopath")
    servers.append(autopath)
    autopath.start()
    c.run(test_autopath, c, ns, metrics_port, client, without)
    c.run(test_upstream_failure, c, ns, upstream)


def main():
    harness.pod_test_main("test_resolvers", run_scenarios)


if __name__ == "__main__":
    main()
