"""End-to-end: every resolver a container runs, in a network namespace set up like a Pod.

Run: python3 tests/e2e/test_resolver_matrix.py build/tests/dnsd-e2e   (as root)
     The c-ares client is $DNSD_CARES_CLIENT, else beside dnsd-e2e.

The clients, each built or installed by this test from Debian packages (scripts/deps.sh) into
a temporary directory, and run with `ip netns exec` so that they read the Pod's resolv.conf
(`search default.svc.cluster.local svc.cluster.local cluster.local`, `options ndots:5`):
  - glibc: `getent ahosts` and tests/e2e/clients/lookup.c (getaddrinfo, AF_UNSPEC);
  - musl 1.2.3: the same lookup.c, static, built with musl-gcc (Alpine's libc; before 1.2.4
    it never retries over TCP);
  - Go: tests/e2e/clients/lookup.go built with CGO_ENABLED=0 (Go's own resolver, as in most
    static Go binaries);
  - Node: tests/e2e/clients/lookup.js, `dns.lookup` (getaddrinfo) and `dns.resolve4/6`
    (c-ares, the name as given: no search path, so fully qualified names only);
  - Java: tests/e2e/clients/Lookup.java, `InetAddress.getAllByName` (OpenJDK 17);
  - c-ares: tests/e2e/cares_client.c (ares_gethostbyname, AF_INET);
  - `dig +search`.

Behaviours, for every client:
  - the ClusterIP Service `web` resolves by its short name, as `web.default` and fully
    qualified, to 10.96.0.40;
  - the headless Service `big` with 60 ready endpoints: every client gets at least one of its
    addresses and nothing else; the clients that retry over TCP on TC (all but musl) get all
    60, musl gets the whole records that fit in 512 bytes;
  - the StatefulSet Pod name `db-0.db` resolves to its endpoint's address;
  - the ExternalName `ext` (CNAME to www.example.org, served by an upstream) resolves to the
    upstream's addresses;
  - a name that exists nowhere (nothing.example.org: NXDOMAIN under every search domain and
    from the upstream) is reported as not found, well before the resolver's timeout;
  - the IPv6-only Service gives its IPv6 address and the dual-stack one both, to the clients
    that ask A and AAAA together (glibc, musl, Go, Node, Java); c-ares asks A only: the
    IPv6-only Service is not found, the dual-stack one gives its IPv4 address.
  - the example names served from zones/: backend-service, inference-api (10.0.0.52), db-service
    (ExternalName to mysql.prod.example.com, which the upstream serves) and
    cassandra-0.db-headless, by every client that uses the search path.
  - Queries one lookup costs (dnsd_dns_requests_total before and after), with and without
    --autopath, for a cluster short name and an external name: printed as a table; the test
    asserts only that --autopath does not cost more for any client and costs glibc fewer
    queries for the external name. docs/resolvers.md records the table.
"""

import ipaddress
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from harness import Server, ZoneServer  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
CLIENTS = os.path.join(HERE, "clients")
REPO = os.path.dirname(os.path.dirname(HERE))
UPSTREAM_ZONES = [os.path.join(harness.DATA, "resolvers", "example.org.zone")]
PACKAGES = ["musl-tools", "golang-go", "nodejs", "openjdk-17-jdk-headless"]
LOOKUP_TIMEOUT = 60  # seconds for one client run over every name
NOT_FOUND_WITHIN = 4.0  # a missing name must be answered, not time out (resolvers wait 5 s)

BIG = [f"10.244.2.{i}" for i in range(1, 61)]
WEB = ["10.96.0.40"]
DB0 = ["10.244.3.10"]
EXT = ["192.0.2.80", "2001:db8::80"]
V6 = ["fd00:10:96::6a"]
DUAL = ["10.96.0.50", "fd00:10:96::50"]
MYSQL = ["192.0.2.33"]
FQDN = "default.svc.cluster.local"


def cluster_yaml(pod_ip):
    eps = "\n".join(f"  - addresses: [\"{a}\"]\n    conditions: {{ready: true}}" for a in BIG)
    return f"""\
apiVersion: v1
kind: Service
metadata: {{name: web, namespace: default}}
spec:
  clusterIP: 10.96.0.40
  ports: [{{name: http, port: 80}}]
---
apiVersion: v1
kind: Service
metadata: {{name: big, namespace: default}}
spec:
  clusterIP: None
  ports: [{{name: http, port: 80}}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: big-1
  namespace: default
  labels: {{kubernetes.io/service-name: big}}
addressType: IPv4
ports: [{{name: http, port: 80, protocol: TCP}}]
endpoints:
{eps}
---
apiVersion: v1
kind: Service
metadata: {{name: db, namespace: default}}
spec:
  clusterIP: None
  ports: [{{name: cql, port: 9042}}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: db-1
  namespace: default
  labels: {{kubernetes.io/service-name: db}}
addressType: IPv4
ports: [{{name: cql, port: 9042, protocol: TCP}}]
endpoints:
  - addresses: ["{DB0[0]}"]
    hostname: db-0
    conditions: {{ready: true}}
---
apiVersion: v1
kind: Service
metadata: {{name: ext, namespace: default}}
spec:
  type: ExternalName
  externalName: www.example.org
---
apiVersion: v1
kind: Service
metadata: {{name: v6only, namespace: default}}
spec:
  clusterIP: {V6[0]}
  clusterIPs: ["{V6[0]}"]
  ipFamilies: [IPv6]
  ports: [{{port: 80}}]
---
apiVersion: v1
kind: Service
metadata: {{name: dual, namespace: default}}
spec:
  clusterIP: {DUAL[0]}
  clusterIPs: ["{DUAL[0]}", "{DUAL[1]}"]
  ipFamilies: [IPv4, IPv6]
  ports: [{{port: 80}}]
---
apiVersion: v1
kind: Pod
metadata: {{name: matrix-client, namespace: default}}
spec:
  containers: [{{name: client, image: debian:stable-slim}}]
status:
  phase: Running
  podIP: {pod_ip}
  conditions: [{{type: Ready, status: "True"}}]
"""


EXAMPLE_COM = """\
$ORIGIN example.com.
$TTL 300
@        IN  SOA   ns1.example.com. hostmaster.example.com. 1 7200 900 1209600 60
         IN  NS    ns1
ns1      IN  A     192.0.2.53
mysql.prod IN A    192.0.2.33
"""


# --- the clients ----------------------------------------------------------------------


class Client:
    """One resolver: `argv` + names gives one "NAME ok|notfound|error ..." line per name."""

    def __init__(self, key, label, argv, unspec=True, search=True, tcp_retry=True):
        self.key, self.label, self.argv = key, label, argv
        self.unspec = unspec        # asks A and AAAA together
        self.search = search        # uses the Pod's search path
        self.tcp_retry = tcp_retry  # retries over TCP when an answer has TC

    def resolve(self, ns, names):
        """{name: ("ok", [addresses]) | ("notfound", []) | ("error", [text])}, seconds."""
        start = time.monotonic()
        code, out = ns.run(self.argv + list(names), timeout=LOOKUP_TIMEOUT)
        took = time.monotonic() - start
        return parse_lines(names, out), took, f"$ {' '.join(self.argv)} ...\n(exit {code})\n{out}"


def normalize(address):
    try:
        return ipaddress.ip_address(address.split("%")[0]).compressed
    except ValueError:
        return address


def parse_lines(names, out):
    results = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0] in names and parts[0] not in results:
            kind, rest = parts[1], parts[2:]
            if kind == "ok":
                results[parts[0]] = ("ok", [normalize(a) for a in rest])
            elif kind in ("notfound", "error"):
                results[parts[0]] = (kind, rest)
    return results


class GetentAhosts(Client):
    def resolve(self, ns, names):
        results, text = {}, []
        start = time.monotonic()
        for name in names:
            code, out = ns.run(["getent", "ahosts", name], timeout=LOOKUP_TIMEOUT)
            text.append(f"$ getent ahosts {name}\n(exit {code})\n{out}")
            if code == 0:
                addrs = []
                for line in out.splitlines():
                    a = normalize(line.split()[0]) if line.split() else ""
                    if a and a not in addrs:
                        addrs.append(a)
                results[name] = ("ok", addrs)
            elif code == 2:
                results[name] = ("notfound", [])
            else:
                results[name] = ("error", [out.strip()])
        return results, time.monotonic() - start, "\n".join(text)


class CaresClient(Client):
    def resolve(self, ns, names):
        start = time.monotonic()
        code, out = ns.run(self.argv + list(names), timeout=LOOKUP_TIMEOUT)
        results = {}
        for line in out.splitlines():
            parts = line.split()
            if not parts or parts[0] == "#" or parts[0] not in names:
                continue
            if parts[1:2] == ["ERROR"]:
                # ARES_ENODATA (1) and ARES_ENOTFOUND (4): the name or its addresses do not exist
                results[parts[0]] = ("notfound", []) if parts[2] in ("1", "4") else \
                    ("error", parts[2:])
            else:
                results[parts[0]] = ("ok", [normalize(a) for a in parts[1:]])
        return results, time.monotonic() - start, f"$ {self.argv[0]} ...\n(exit {code})\n{out}"


class DigSearch(Client):
    def resolve(self, ns, names):
        results, text = {}, []
        start = time.monotonic()
        for name in names:
            addrs, rcodes = [], []
            for qtype in ("A", "AAAA"):
                argv = ["dig", "+search", "+time=2", "+tries=1", name, qtype]
                code, out = ns.run(argv, timeout=LOOKUP_TIMEOUT)
                text.append(f"$ {' '.join(argv)}\n{out}")
                r = harness.DigResult(" ".join(argv), out, code)
                rcodes.append(r.rcode)
                addrs += [normalize(a) for a in r.rdatas("answer", qtype)]
            if addrs:
                results[name] = ("ok", addrs)
            elif "NXDOMAIN" in rcodes or rcodes == ["NOERROR", "NOERROR"]:
                results[name] = ("notfound", [])
            else:
                results[name] = ("error", rcodes)
        return results, time.monotonic() - start, "\n".join(text)


def build_clients(c, workdir, cares_client):
    """The clients this machine can run; a client that cannot be built fails the test."""
    code, out = harness.run_command([os.path.join(REPO, "scripts", "deps.sh")] + PACKAGES,
                                    timeout=900)
    c.check(code == 0, "scripts/deps.sh installs the clients' packages", out[-3000:])
    src = CLIENTS
    env = dict(os.environ, GOCACHE=os.path.join(workdir, "gocache"),
               GOPATH=os.path.join(workdir, "gopath"), GO111MODULE="off", CGO_ENABLED="0",
               GOFLAGS="")
    builds = [
        ("glibc", ["cc", "-O2", "-o", os.path.join(workdir, "lookup-glibc"),
                   os.path.join(src, "lookup.c")], os.environ),
        ("musl", ["musl-gcc", "-static", "-O2", "-o", os.path.join(workdir, "lookup-musl"),
                  os.path.join(src, "lookup.c")], os.environ),
        ("go", ["go", "build", "-o", os.path.join(workdir, "lookup-go"),
                os.path.join(src, "lookup.go")], env),
        ("java", ["javac", "-d", workdir, os.path.join(src, "Lookup.java")], os.environ),
    ]
    built = set()
    for key, argv, environment in builds:
        proc = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, env=environment, timeout=600)
        c.check(proc.returncode == 0, f"build the {key} client", f"$ {' '.join(argv)}\n"
                f"{proc.stdout}")
        if proc.returncode == 0:
            built.add(key)
    clients = [
        GetentAhosts("getent", "glibc getent ahosts", []),
        Client("glibc", "glibc getaddrinfo", [os.path.join(workdir, "lookup-glibc")]),
        Client("musl", "musl 1.2.3 getaddrinfo", [os.path.join(workdir, "lookup-musl")],
               tcp_retry=False),
        Client("go", "Go pure resolver", [os.path.join(workdir, "lookup-go")]),
        Client("node-lookup", "Node dns.lookup", ["node", os.path.join(src, "lookup.js"),
                                                   "lookup"]),
        Client("node-resolve", "Node dns.resolve4/6", ["node", os.path.join(src, "lookup.js"),
                                                        "resolve"], search=False),
        Client("java", "Java InetAddress", ["java", "-Dsun.net.inetaddr.ttl=0",
                                            "-Dsun.net.inetaddr.negative.ttl=0", "-cp", workdir,
                                            "Lookup"]),
        CaresClient("cares", "c-ares gethostbyname", [cares_client], unspec=False),
        DigSearch("dig", "dig +search", []),
    ]
    needs = {"glibc": "glibc", "musl": "musl", "go": "go", "java": "java"}
    return [cl for cl in clients if needs.get(cl.key, cl.key) in built or cl.key not in needs]


# --- the checks -----------------------------------------------------------------------


def expected(client):
    """[(name as asked, kind, want)]: kind "exact", "subset" (at least one, nothing else,
    fewer than all), "all" or "notfound"."""
    both = client.unspec

    def fam(addrs):
        return addrs if both else [a for a in addrs if ":" not in a]

    def n(short):
        return short if client.search else f"{short}.{FQDN}"

    rows = [
        (n("web"), "exact", WEB),
        (n("db-0.db"), "exact", DB0),
        (n("ext"), "exact", fam(EXT)),
        (n("big"), "all" if client.tcp_retry else "subset", BIG),
        ("nothing.example.org", "notfound", []),
        (n("dual"), "exact", fam(DUAL)),
        # A client that asks A only gets NODATA for the IPv6-only Service; asked with the
        # search path it would then go on to `v6only.`, which only the real internet's root
        # answers (the test's upstream serves example.org and example.com alone).
        (n("v6only") if both else f"v6only.{FQDN}.", "exact" if both else "notfound", fam(V6)),
    ]
    if client.search:
        rows += [("web.default", "exact", WEB), (f"web.{FQDN}", "exact", WEB)]
    return rows


def check_rows(c, client, rows, results, took, detail, what):
    for name, kind, want in rows:
        got_kind, got = results.get(name, ("missing", []))
        label = f"{what}{client.label}: {name}"
        if kind == "notfound":
            c.expect_equal(got_kind, "notfound", f"{label} is not found", detail)
        elif got_kind != "ok":
            c.check(False, f"{label} resolves", f"{got_kind} {got}\n{detail}")
        elif kind == "exact":
            c.expect_equal(sorted(got), sorted(want), f"{label}: its addresses", detail)
        elif kind == "all":
            c.expect_equal(sorted(got), sorted(want), f"{label}: all {len(want)} addresses "
                           "(retried over TCP)", detail)
        else:
            c.check(0 < len(got) < len(want) and set(got) <= set(want),
                    f"{label}: some of its {len(want)} addresses, nothing else "
                    f"({len(got)}; no TCP retry)", f"{got}\n{detail}")
    print(f"  {client.label}: {len(rows)} names in {took:.2f} s", flush=True)


def check_missing_is_prompt(c, ns, client):
    # Through the whole search path (ndots:5), then the upstream's NXDOMAIN.
    name = "nothing.example.org"
    results, took, detail = client.resolve(ns, [name])
    c.check(results.get(name, ("",))[0] == "notfound" and took < NOT_FOUND_WITHIN,
            f"{client.label}: a missing name is reported not found within "
            f"{NOT_FOUND_WITHIN} s ({took:.2f} s)", detail)


def requests_total(port):
    return sum(harness.metric_samples(port, "dnsd_dns_requests_total").values())


def count_queries(ns, port, client, name):
    before = requests_total(port)
    client.resolve(ns, [name if client.search else f"{name}."])
    time.sleep(0.2)  # the counters are summed on scrape; let the last answer land
    return int(requests_total(port) - before)


def query_counts(ns, port, clients):
    return {cl.key: (count_queries(ns, port, cl, "web"),
                     count_queries(ns, port, cl, "www.example.org"))
            for cl in clients if cl.search}


# --- main -----------------------------------------------------------------------------


def start_cluster(binary, c, ns, manifests, upstream, extra=(), name="dnsd-matrix"):
    metrics_port = harness.free_port()
    srv = Server(binary, manifests, c,
                 extra_args=["--listen", f"{ns.host_ip}:53", "--upstream",
                             f"127.0.0.1:{upstream.port}", "--metrics",
                             f"127.0.0.1:{metrics_port}", "--no-watch"] + list(extra),
                 name=name)
    srv.start()
    return srv, metrics_port


def run(c, binary, ns, workdir, servers):
    cares = os.environ.get("DNSD_CARES_CLIENT") or os.path.join(os.path.dirname(binary),
                                                                 "cares_client")
    clients = build_clients(c, workdir, cares)
    example_com = os.path.join(workdir, "example.com.zone")
    with open(example_com, "w") as f:
        f.write(EXAMPLE_COM)
    upstream = ZoneServer(binary, UPSTREAM_ZONES + [example_com], "example.org", c)
    servers.append(upstream)
    upstream.start()
    manifest = os.path.join(workdir, "cluster.yaml")
    with open(manifest, "w") as f:
        f.write(cluster_yaml(ns.pod_ip))

    cluster, port = start_cluster(binary, c, ns, [manifest], upstream)
    servers.append(cluster)
    print("the matrix:", flush=True)
    for client in clients:
        rows = expected(client)
        results, took, detail = client.resolve(ns, [r[0] for r in rows])
        c.run(check_rows, c, client, rows, results, took, detail, "")
        c.run(check_missing_is_prompt, c, ns, client)
    without = query_counts(ns, port, clients)
    cluster.stop()

    autopath, port = start_cluster(binary, c, ns, [manifest], upstream, ["--autopath"],
                                   name="dnsd-matrix-autopath")
    servers.append(autopath)
    with_autopath = query_counts(ns, port, clients)
    autopath.stop()
    print("queries one lookup costs (web | www.example.org), without -> with --autopath:")
    for cl in clients:
        if cl.key in without:
            (w0, e0), (w1, e1) = without[cl.key], with_autopath[cl.key]
            print(f"  {cl.label:24} {w0} -> {w1} | {e0} -> {e1}", flush=True)
            c.check(w1 <= w0 and e1 <= e0, f"{cl.label}: --autopath costs no more queries",
                    f"web {w0} -> {w1}, www.example.org {e0} -> {e1}")
    if "getent" in without:
        c.check(with_autopath["getent"][1] < without["getent"][1],
                "glibc: --autopath costs fewer queries for an external name",
                f"{without['getent'][1]} -> {with_autopath['getent'][1]}")

    seed, _ = start_cluster(binary, c, ns, [harness.ZONES], upstream, name="dnsd-matrix-seed")
    servers.append(seed)
    fqdn = {n: seed.dig(f"{n}.{FQDN}", "A").rdatas("answer", "A")
            for n in ("backend-service", "cassandra-0.db-headless")}
    seed_rows = [("backend-service", "exact", fqdn["backend-service"]),
                 ("inference-api", "exact", ["10.0.0.52"]),
                 ("db-service", "exact", MYSQL),
                 ("cassandra-0.db-headless", "exact", fqdn["cassandra-0.db-headless"])]
    print("the example names from zones/:", flush=True)
    for client in clients:
        if client.search:
            results, took, detail = client.resolve(ns, [r[0] for r in seed_rows])
            c.run(check_rows, c, client, seed_rows, results, took, detail, "zones/, ")
    seed.stop()


def main():
    harness.pod_test_main("test_resolver_matrix", run)


if __name__ == "__main__":
    main()
