"""End-to-end: dnsd fed by the Kubernetes API (--kubeconfig) of the project's fake API server
(tests/e2e/fake_apiserver.py: TLS from a test CA, bearer tokens, paged lists, watches with
bookmarks, 410 after compaction, faults on command).

Run: python3 tests/e2e/test_kube.py build/tests/dnsd-e2e

Behaviours:
  - Every record type of the spec from API objects equals the same objects given as a
    manifest: `dnsd records --kubeconfig` and `dnsd records FILE` print the same zones.
  - A client certificate authenticates; Pods are watched only with --pods verified;
    --kube-namespaces watches and serves only those namespaces; --kube-labels is sent to the
    API server and only matching Services are served; objects from --manifests are served
    beside the API's, and one in both is taken from the API with a warning naming it.
  - A Pod and an EndpointSlice with dots in their names (DNS subdomains, as the API server
    allows) are served: the Pod's address under --pods verified, the slice's endpoints.
  - A manifest and a --zone-file broken on the disk: API events are still published (they
    reuse the files as the last reload read them, their names keeping their data); SIGHUP
    fails naming the file; once fixed, SIGHUP serves the new data.
  - A live dnsd follows the API: a Service added and deleted, an endpoint turning not ready,
    a slice gaining an endpoint, a Namespace deleted with its objects; each patched into
    the zone served, a burst of forty in fewer publications than changes.
  - A watch cut mid-object, history compacted meanwhile (410): dnsd lists again and applies
    the difference (a Service deleted while it was away goes, one added comes), counted in
    dnsd_kubernetes_relists_total; garbage on a watch, an event over 4 MiB, a watch that ends
    at once with nothing and a stalled watch are dropped and reconnected; 429 Retry-After is
    honoured.
  - The API down (every request failing, connections dropped) for 10 s under queries: every
    query answered from the last zone, /ready stays 200, dnsd_kubernetes_connected goes to 0;
    then the API restarts with new resourceVersions and dnsd catches up.
  - A wrong token: /ready 503, cluster names SERVFAIL (never NXDOMAIN), the log names the
    credential; a token file rotated while running is read again after the 401.
  - A missing RBAC permission: /ready 503, the log says 403 and the resource; once granted,
    dnsd syncs.
  - On a kernel without epoll_pwait2() (tests/e2e/no_epoll_pwait2.c, preloaded), dnsd
    follows the API as well: a Service added and deleted, a burst whose tail waits out the
    pause after a patch on the millisecond timer.
  - glibc (getent) in a network namespace with a Pod's resolv.conf resolves a Service
    created after dnsd started.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from harness import Checks, Server, free_port, metric_samples, run_dig  # noqa: E402
from fake_apiserver import FakeApiServer  # noqa: E402

WAIT = 10.0  # seconds a change may take to show in a test (the benchmark measures it)
# After several failures in a row a watch backs off as client-go does: 0.8 s doubling, each
# wait up to twice that with jitter, so three failures may take 11 s before the next try.
BACKOFF_WAIT = 40.0


def namespace(name):
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}


def service(ns, name, ips=None, ports=(), type_="ClusterIP", external=None, labels=None):
    """A Service as the API server holds it (ClusterIPs assigned)."""
    spec = {"type": type_, "ports": [
        {"name": n, "protocol": proto, "port": port} if n else {"protocol": proto, "port": port}
        for n, proto, port in ports]}
    if type_ == "ExternalName":
        spec["externalName"] = external
    else:
        spec["clusterIP"] = ips[0]
        spec["clusterIPs"] = list(ips)
    meta = {"name": name, "namespace": ns}
    if labels:
        meta["labels"] = labels
    return {"apiVersion": "v1", "kind": "Service", "metadata": meta, "spec": spec}


def endpoint(ip, ready=True, hostname=None, pod=None):
    e = {"addresses": [ip], "conditions": {"ready": ready, "serving": ready,
                                           "terminating": False}}
    if hostname:
        e["hostname"] = hostname
    if pod:
        e["targetRef"] = {"kind": "Pod", "name": pod, "namespace": "default"}
    return e


def endpoint_slice(ns, name, svc, endpoints, ports=(), family="IPv4"):
    return {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": name, "namespace": ns,
                         "labels": {"kubernetes.io/service-name": svc}},
            "addressType": family, "endpoints": list(endpoints),
            "ports": [{"name": n, "protocol": proto, "port": port} for n, proto, port in ports]}


def cluster_objects():
    """Every kind of name the spec has: ClusterIP (dual stack), headless with hostnames and
    without, named ports (SRV), ExternalName, LoadBalancer, a not-ready endpoint."""
    return [
        namespace("default"), namespace("shop"), namespace("kube-system"), namespace("empty"),
        service("shop", "web", ["10.96.1.10", "fd00:10::10"],
                [("http", "TCP", 80), ("dns", "UDP", 53)]),
        endpoint_slice("shop", "web-v4", "web",
                       [endpoint("10.244.1.1"), endpoint("10.244.1.2", ready=False)],
                       [("http", "TCP", 8080), ("dns", "UDP", 5353)]),
        endpoint_slice("shop", "web-v6", "web", [endpoint("fd00:244::1")],
                       [("http", "TCP", 8080)], family="IPv6"),
        service("default", "db", ["None"], [("pg", "TCP", 5432)]),
        endpoint_slice("default", "db-a", "db",
                       [endpoint("10.244.2.1", hostname="db-0", pod="db-0"),
                        endpoint("10.244.2.2", hostname="db-1", pod="db-1"),
                        endpoint("10.244.2.3")],
                       [("pg", "TCP", 5432)]),
        service("default", "ext", type_="ExternalName", external="example.com."),
        service("default", "lb", ["10.96.1.20"], [("https", "TCP", 443)], type_="LoadBalancer"),
        service("kube-system", "kube-dns", ["10.96.0.10"], [("dns", "UDP", 53)]),
    ]


def wait_for(predicate, timeout=WAIT):
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)


def http_status(port, path):
    return harness.http_status(f"http://127.0.0.1:{port}{path}")


def addresses(port, name, qtype="A"):
    return sorted(run_dig(port, name, qtype).rdatas("answer", qtype))


def rcode(port, name, qtype="A"):
    return run_dig(port, name, qtype).rcode


def metric_total(port, name):
    return sum(metric_samples(port, name).values())


class Dnsd(Server):
    """dnsd fed by the API; ready once it answers, or, with wait=False, once it runs."""

    def __init__(self, binary, kubeconfig, checks, extra=(), wait=True, env=None):
        self.metrics_port = free_port()
        super().__init__(binary, [], checks, name="dnsd-kube",
                         extra_args=["--kubeconfig", kubeconfig, "--metrics",
                                     f"127.0.0.1:{self.metrics_port}",
                                     "--kube-idle-timeout", "3"] + list(extra), env=env)
        self.wait = wait

    def wait_ready(self, timeout=harness.READY_TIMEOUT):
        if self.wait:
            return super().wait_ready(timeout)
        deadline = time.monotonic() + timeout
        while http_status(self.metrics_port, "/health") != 200:
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError("dnsd did not come up")
            time.sleep(0.05)


def test_records_equal_manifests(c, binary, api, workdir):
    manifest = os.path.join(workdir, "cluster.json")
    with open(manifest, "w") as f:
        json.dump({"apiVersion": "v1", "kind": "List", "items": cluster_objects()}, f)
    kubeconfig = os.path.join(workdir, "records.kubeconfig")
    api.write_kubeconfig(kubeconfig, token="secret-token")
    real = os.environ.get("DNSD_BINARY", binary)
    from_api = subprocess.run([real, "records", "--kubeconfig", kubeconfig], capture_output=True,
                              text=True, timeout=30)
    from_file = subprocess.run([real, "records", manifest], capture_output=True, text=True,
                               timeout=30)
    c.check(from_api.returncode == 0, "dnsd records --kubeconfig succeeds", from_api.stderr)
    c.check(from_file.returncode == 0, "dnsd records FILE succeeds", from_file.stderr)
    c.expect_equal(from_api.stdout, from_file.stdout,
                   "the zones from the API equal the zones from the same objects as a manifest")
    for want in ("web.shop.svc.cluster.local.\t5\tIN\tAAAA\tfd00:10::10",
                 "db-1.db.default.svc.cluster.local.", "_pg._tcp.db.default.svc.cluster.local.",
                 "ext.default.svc.cluster.local.\t5\tIN\tCNAME\texample.com.",
                 "10.1.96.10.in-addr.arpa."):
        c.check(want.split("\t")[0] in from_api.stdout and
                all(part in from_api.stdout for part in want.split("\t")[3:]),
                f"the API's zones hold {want.split()[0]}")
    c.check("10.244.1.2" not in from_api.stdout, "a not-ready endpoint is not served")


def test_changes(c, binary, api, workdir):
    kubeconfig = os.path.join(workdir, "live.kubeconfig")
    api.write_kubeconfig(kubeconfig, token="secret-token")
    # At debug, the log printed with a failure names every publication and its serial.
    with Dnsd(binary, kubeconfig, c, extra=["--log-level", "debug"]) as d:
        p = d.port
        c.expect_equal(addresses(p, "web.shop.svc.cluster.local"), ["10.96.1.10"],
                       "a ClusterIP Service from the API")
        c.expect_equal(http_status(d.metrics_port, "/ready"), 200, "/ready once synced")
        c.expect_equal(metric_samples(d.metrics_port, "dnsd_kubernetes_objects").get(
            '{resource="services"}'), 5.0, "dnsd_kubernetes_objects counts the Services")

        builds = metric_samples(d.metrics_port, "dnsd_zone_publications_total")
        api.apply(service("shop", "new", ["10.96.1.30"]))
        c.check(wait_for(lambda: addresses(p, "new.shop.svc.cluster.local") == ["10.96.1.30"]),
                "a Service added is served")
        c.expect_equal(addresses(p, "30.1.96.10.in-addr.arpa", "PTR"),
                       ["new.shop.svc.cluster.local."], "with its PTR")
        api.delete("Service", "shop", "new")
        c.check(wait_for(lambda: rcode(p, "new.shop.svc.cluster.local") == "NXDOMAIN"),
                "a Service deleted is gone (NXDOMAIN)")
        c.expect_equal(rcode(p, "30.1.96.10.in-addr.arpa", "PTR"), "NXDOMAIN", "and its PTR")

        db = [o for o in cluster_objects() if o["metadata"]["name"] == "db-a"][0]
        db["endpoints"][1]["conditions"]["ready"] = False
        api.apply(db)
        c.check(wait_for(lambda: rcode(p, "db-1.db.default.svc.cluster.local") == "NXDOMAIN" and
                         addresses(p, "db.default.svc.cluster.local") ==
                         ["10.244.2.1", "10.244.2.3"]),
                "an endpoint turning not ready leaves the headless answer and its name")
        db["endpoints"].append(endpoint("10.244.2.4", hostname="db-2", pod="db-2"))
        api.apply(db)
        c.check(wait_for(lambda: addresses(p, "db-2.db.default.svc.cluster.local") ==
                         ["10.244.2.4"]),
                "a slice gaining an endpoint serves its name")

        api.apply(namespace("gone"))
        api.apply(service("gone", "svc", ["10.96.1.40"]))
        c.check(wait_for(lambda: addresses(p, "svc.gone.svc.cluster.local") == ["10.96.1.40"]),
                "a Service in a new Namespace is served")
        api.delete("Service", "gone", "svc")
        api.delete("Namespace", "", "gone")
        c.check(wait_for(lambda: rcode(p, "gone.svc.cluster.local") == "NXDOMAIN"),
                "a Namespace deleted: NS.svc.DOMAIN is NXDOMAIN")
        c.expect_equal(rcode(p, "empty.svc.cluster.local"), "NOERROR",
                       "a Namespace without Services is NODATA, not NXDOMAIN")
        after = metric_samples(d.metrics_port, "dnsd_zone_publications_total")
        c.check(after.get('{build="patch"}', 0) - builds.get('{build="patch"}', 0) >= 6 and
                after.get('{build="full"}') == builds.get('{build="full"}'),
                "each change was patched into the zone served, none built it whole: "
                f"{builds} then {after}")

        # Two publications in one second: the second is served at once under the first's
        # serial, never ahead of the clock, and the serial moves on once that second is over.
        # Each change is waited for before the next is sent: two changes read together are
        # one publication, whose serial is new and has nothing to move on from. A slow
        # machine that lets the second end before both are served tries again.
        def serial():
            soa = run_dig(p, "cluster.local", "SOA").rdatas("answer", "SOA")
            return int(soa[0].split()[2]) if soa else 0

        for attempt in range(4):
            while time.time() % 1 > 0.3:
                time.sleep(0.02)
            second = int(time.time())
            ips = [f"10.96.1.{31 + 2 * attempt}", f"10.96.1.{32 + 2 * attempt}"]
            served = True
            for name, ip in zip(("held-1", "held-2"), ips):
                api.apply(service("shop", name, [ip]))
                served = served and wait_for(
                    lambda: addresses(p, f"{name}.shop.svc.cluster.local") == [ip])
            held = serial()
            if not served or int(time.time()) == second:
                break
        c.check(served, "the second change of a second is served")
        c.check(0 < held <= int(time.time()), "its serial is not ahead of the clock",
                (held, time.time()))
        c.check(wait_for(lambda: serial() > held, timeout=2.5),
                "the serial moves on once the second is over",
                (held, serial(), time.time(), attempt,
                 metric_samples(d.metrics_port, "dnsd_zone_publications_total")))

        # A burst of forty Services sent back to back: those that come during the pause
        # after a patch wait in the store and are patched in together when it ends.
        builds = metric_samples(d.metrics_port, "dnsd_zone_publications_total")
        api.apply({"kind": "List", "items": [service("shop", f"burst-{i}", [f"10.96.2.{i + 1}"])
                                             for i in range(40)]})
        c.check(wait_for(lambda: addresses(p, "burst-39.shop.svc.cluster.local") ==
                         ["10.96.2.40"]), "the last Service of a burst is served")
        c.expect_equal([addresses(p, f"burst-{i}.shop.svc.cluster.local") for i in (0, 13, 27)],
                       [["10.96.2.1"], ["10.96.2.14"], ["10.96.2.28"]],
                       "and those before it")
        after = metric_samples(d.metrics_port, "dnsd_zone_publications_total")
        patches = after.get('{build="patch"}', 0) - builds.get('{build="patch"}', 0)
        # (A zone this small grows past its compaction threshold with forty Services: it is
        # built whole once the changes pause, so whole builds are not counted here.)
        c.check(0 < patches < 40, "the burst was patched in fewer publications than changes",
                (builds, after))

        # A watch cut mid-object; while dnsd backs off, a Service goes and history is
        # compacted: it relists and applies the difference.
        relists = metric_total(d.metrics_port, "dnsd_kubernetes_relists_total")
        api.fault("cut", resource="services")
        api.apply(service("shop", "during", ["10.96.1.50"]))
        api.delete("Service", "default", "lb")
        api.compact()
        c.check(wait_for(lambda: addresses(p, "during.shop.svc.cluster.local") == ["10.96.1.50"]
                         and rcode(p, "lb.default.svc.cluster.local") == "NXDOMAIN"),
                "after a cut watch and expired history, the relist adds and removes")
        c.check(wait_for(lambda: metric_total(d.metrics_port, "dnsd_kubernetes_relists_total")
                         > relists), "the relist is counted")

        restarts = metric_total(d.metrics_port, "dnsd_kubernetes_watch_restarts_total")
        api.fault("garbage", resource="services")
        api.apply(service("shop", "after-garbage", ["10.96.1.51"]))
        c.check(wait_for(lambda: addresses(p, "after-garbage.shop.svc.cluster.local") ==
                         ["10.96.1.51"]), "a watch that sent garbage is reconnected")
        api.fault("huge", resource="services")
        api.apply(service("shop", "huge", ["10.96.1.52"]))
        c.check(wait_for(lambda: "a watch event over 4 MiB" in d.log() and
                         addresses(p, "huge.shop.svc.cluster.local") == ["10.96.1.52"]),
                "an event over 4 MiB drops the connection; the relist serves the object")
        api.fault("cut", resource="namespaces")
        api.fault("empty200", count=2, resource="namespaces")
        api.apply(namespace("after-empty"))
        c.check(wait_for(lambda: "the watch ended at once with no event" in d.log() and
                         rcode(p, "after-empty.svc.cluster.local") == "NOERROR",
                         timeout=BACKOFF_WAIT),
                "a watch that ends at once with nothing backs off, then resumes")
        # The namespaces watch is cut, and comes back stalled: no byte, not even a bookmark.
        api.fault("cut", resource="namespaces")
        api.fault("stall", resource="namespaces")
        api.apply(namespace("stalled"))
        c.check(wait_for(lambda: "namespaces: the watch was silent for 3 s" in d.log(),
                         timeout=BACKOFF_WAIT),
                "a watch silent past --kube-idle-timeout is reconnected")
        c.check(metric_total(d.metrics_port, "dnsd_kubernetes_watch_restarts_total")
                >= restarts + 2, "the restarts are counted")
        c.check(wait_for(lambda: rcode(p, "stalled.svc.cluster.local") == "NOERROR",
                         timeout=BACKOFF_WAIT),
                "the Namespace that came while the watch was cut is served")
        api.unstall()
        api.apply(namespace("late"))
        c.check(wait_for(lambda: rcode(p, "late.svc.cluster.local") == "NOERROR",
                         timeout=BACKOFF_WAIT),
                "after the stall, events are served again")

        # The API down for 10 s under queries: every answer from the last zone.
        api.fault("status", count=100000, code=503)
        api.restart()
        down_until = time.monotonic() + 10
        failures = asked = 0
        while time.monotonic() < down_until:
            asked += 1
            if addresses(p, "web.shop.svc.cluster.local") != ["10.96.1.10"]:
                failures += 1
        c.expect_equal(failures, 0, f"with the API down, all {asked} queries answered")
        c.expect_equal(http_status(d.metrics_port, "/ready"), 200,
                       "/ready stays 200 while the API is down")
        c.expect_equal(metric_samples(d.metrics_port, "dnsd_kubernetes_connected").get(""),
                       0.0, "dnsd_kubernetes_connected is 0 while the API is down")
        api.fault("status", count=0)
        api.apply(service("shop", "back", ["10.96.1.60"]))
        c.check(wait_for(lambda: addresses(p, "back.shop.svc.cluster.local") == ["10.96.1.60"],
                         timeout=BACKOFF_WAIT),
                "when the API is back, dnsd catches up")
        c.check(wait_for(lambda: metric_samples(d.metrics_port, "dnsd_kubernetes_connected")
                         .get("") == 1.0, timeout=BACKOFF_WAIT),
                "dnsd_kubernetes_connected is 1 again")

        api.fault("status", code=429, retry_after=2, resource="services")
        api.restart()
        c.check(wait_for(lambda: "retrying after 2 s as asked" in d.log(), timeout=15),
                "429 with Retry-After is honoured")


def test_unauthorized(c, binary, api, workdir):
    token_file = os.path.join(workdir, "token")
    with open(token_file, "w") as f:
        f.write("old-token\n")
    kubeconfig = os.path.join(workdir, "rotating.kubeconfig")
    api.write_kubeconfig(kubeconfig, token_file=token_file)
    api.set_tokens({"secret-token"})
    with Dnsd(binary, kubeconfig, c, ["--kube-sync-timeout", "1"], wait=False) as d:
        c.check(wait_for(lambda: "401 Unauthorized" in d.log() and token_file in d.log()),
                "a refused token is logged naming its file")
        c.check(wait_for(lambda: rcode(d.port, "web.shop.svc.cluster.local") == "SERVFAIL"),
                "unsynced: cluster names get SERVFAIL, not NXDOMAIN")
        c.expect_equal(http_status(d.metrics_port, "/ready"), 503, "unsynced: /ready is 503")
        # The kubelet rotates the token: dnsd reads the file again after the next 401.
        api.set_tokens({"secret-token", "new-token"})
        with open(token_file + ".tmp", "w") as f:
            f.write("new-token\n")
        os.rename(token_file + ".tmp", token_file)
        c.check(wait_for(lambda: http_status(d.metrics_port, "/ready") == 200, timeout=40),
                "a rotated token file is read again and dnsd syncs")
        c.expect_equal(addresses(d.port, "web.shop.svc.cluster.local"), ["10.96.1.10"],
                       "after the rotation, names are served")
    api.set_tokens({"secret-token"})


def test_forbidden(c, binary, api, workdir):
    kubeconfig = os.path.join(workdir, "rbac.kubeconfig")
    api.write_kubeconfig(kubeconfig, token="secret-token")
    api.deny("endpointslices", "list")
    with Dnsd(binary, kubeconfig, c, ["--kube-sync-timeout", "1"], wait=False) as d:
        c.check(wait_for(lambda: "403 Forbidden" in d.log() and "endpointslices" in d.log()),
                "a missing RBAC permission is logged with the resource")
        c.expect_equal(http_status(d.metrics_port, "/ready"), 503, "forbidden: /ready is 503")
        api.allow_all()
        c.check(wait_for(lambda: http_status(d.metrics_port, "/ready") == 200, timeout=40),
                "once granted, dnsd syncs")
        c.expect_equal(addresses(d.port, "web.shop.svc.cluster.local"), ["10.96.1.10"],
                       "once synced, names are served")
    # The list that completes the sync may change nothing (no slices in the namespace):
    # the zone must still be rebuilt as synced, or it answers SERVFAIL for good.
    api.deny("endpointslices", "list")
    with Dnsd(binary, kubeconfig, c, ["--kube-sync-timeout", "1", "--kube-namespaces", "empty"],
              wait=False) as d:
        c.check(wait_for(lambda: rcode(d.port, "empty.svc.cluster.local") == "SERVFAIL"),
                "unsynced: an empty namespace gets SERVFAIL")
        api.allow_all()
        c.check(wait_for(lambda: rcode(d.port, "empty.svc.cluster.local") == "NOERROR",
                         timeout=40),
                "an empty last list completes the sync: the namespace is NODATA")
        c.expect_equal(http_status(d.metrics_port, "/ready"), 200, "and /ready is 200")


def records(binary, args):
    real = os.environ.get("DNSD_BINARY", binary)
    r = subprocess.run([real, "records"] + args, capture_output=True, text=True, timeout=30)
    return r.returncode, r.stdout, r.stderr


def requested(api, since):
    """The paths dnsd asked for since request number `since`."""
    return {q["path"] for q in api.requests[since:]}


def test_scope_and_sources(c, binary, api, workdir):
    cert = api.write_kubeconfig(os.path.join(workdir, "cert.kubeconfig"), client_cert=True,
                                embed=True)
    since = len(api.requests)
    code, out, err = records(binary, ["--kubeconfig", cert])
    c.check(code == 0 and "web.shop.svc.cluster.local." in out,
            "a client certificate (embedded in the kubeconfig) authenticates", err)
    c.check("/api/v1/pods" not in requested(api, since),
            "Pods are not watched when no feature needs them")
    since = len(api.requests)
    records(binary, ["--kubeconfig", cert, "--pods", "verified"])
    c.check("/api/v1/pods" in requested(api, since), "--pods verified watches Pods")

    since = len(api.requests)
    code, out, err = records(binary, ["--kubeconfig", cert, "--kube-namespaces", "shop,empty"])
    c.check(code == 0 and "web.shop.svc.cluster.local." in out and
            "db.default.svc.cluster.local." not in out,
            "--kube-namespaces serves only those namespaces", err)
    c.check({"/api/v1/namespaces/shop/services", "/api/v1/namespaces/empty/services",
             "/apis/discovery.k8s.io/v1/namespaces/shop/endpointslices"} <=
            requested(api, since) and "/api/v1/services" not in requested(api, since),
            "and watches each of them, not the whole cluster")

    api.apply(service("shop", "labelled", ["10.96.1.80"], labels={"dns": "yes"}))
    since = len(api.requests)
    code, out, err = records(binary, ["--kubeconfig", cert, "--kube-labels", "dns=yes"])
    c.check(code == 0 and "labelled.shop.svc.cluster.local." in out and
            "web.shop.svc.cluster.local." not in out,
            "--kube-labels serves only matching Services", err)
    c.check(any(q["query"].get("labelSelector") == "dns=yes"
                for q in api.requests[since:] if q["path"] == "/api/v1/services"),
            "the selector is sent to the API server")
    api.delete("Service", "shop", "labelled")

    manifest = os.path.join(workdir, "extra.json")
    with open(manifest, "w") as f:
        json.dump({"apiVersion": "v1", "kind": "List", "items": [
            service("shop", "web", ["10.96.1.99"]),
            service("files", "only-in-files", ["10.96.1.98"])]}, f)
    kubeconfig = api.write_kubeconfig(os.path.join(workdir, "both.kubeconfig"),
                                      token="secret-token")
    zone_file = os.path.join(workdir, "corp.zone")
    write_zone(zone_file, "10.10.0.1")
    with Dnsd(binary, kubeconfig, c, ["--manifests", manifest, "--zone-file", zone_file,
                                      "--no-watch", "--log-level", "debug",
                                      "--pods", "verified"]) as d:
        c.expect_equal(addresses(d.port, "web.shop.svc.cluster.local"), ["10.96.1.10"],
                       "an object in both sources is taken from the API")
        c.expect_equal(addresses(d.port, "only-in-files.files.svc.cluster.local"),
                       ["10.96.1.98"], "manifest objects are served beside the API's")
        c.check("Service shop/web is also in the Kubernetes API" in d.log(),
                "with a warning naming the object", d.log()[-800:])
        check_dotted_names(c, api, d)
        check_files_kept(c, api, d, manifest, zone_file)


def check_dotted_names(c, api, d):
    """The API server allows dots in the names of Pods and EndpointSlices (DNS subdomains),
    which never become labels of a name served."""
    api.apply({"apiVersion": "v1", "kind": "Pod",
               "metadata": {"name": "web.v2-0", "namespace": "default"},
               "status": {"phase": "Running", "podIP": "10.244.3.9",
                          "podIPs": [{"ip": "10.244.3.9"}]}})
    api.apply(service("default", "dotted", ["None"]))
    api.apply(endpoint_slice("default", "dotted.v2-abc12", "dotted",
                             [endpoint("10.244.3.9", pod="web.v2-0")]))
    c.check(wait_for(lambda: addresses(d.port, "10-244-3-9.default.pod.cluster.local") ==
                     ["10.244.3.9"]),
            "--pods verified serves the address of a Pod whose name has dots", d.log()[-800:])
    c.check(wait_for(lambda: addresses(d.port, "dotted.default.svc.cluster.local") ==
                     ["10.244.3.9"]),
            "an EndpointSlice whose name has dots serves its endpoints")
    api.delete("EndpointSlice", "default", "dotted.v2-abc12")
    api.delete("Service", "default", "dotted")
    api.delete("Pod", "default", "web.v2-0")


def write_zone(path, www):
    with open(path, "w") as f:
        f.write("$ORIGIN corp.test.\n$TTL 60\n"
                "@ IN SOA ns.corp.test. admin.corp.test. 1 7200 900 1209600 30\n"
                "@ IN NS ns\nns IN A 10.10.0.53\n"
                f"www IN A {www}\n")


def check_files_kept(c, api, d, manifest, zone_file):
    """API events rebuild the zone from the manifests and the zone file as the last reload
    read them: files broken on the disk fail only a reload (SIGHUP), never the API's
    changes."""
    with open(manifest) as f:
        good_manifest = f.read()
    with open(manifest, "w") as f:
        f.write('{"kind": "List", "items": [')
    with open(zone_file, "w") as f:
        f.write("$ORIGIN corp.test.\nwww IN A not-an-address\n")
    api.apply(service("shop", "while-broken", ["10.96.1.81"]))
    c.check(wait_for(lambda: addresses(d.port, "while-broken.shop.svc.cluster.local") ==
                     ["10.96.1.81"]),
            "with a manifest and the zone file broken on the disk, a Service added to the API "
            "is served", d.log()[-800:])
    c.expect_equal(addresses(d.port, "www.corp.test"), ["10.10.0.1"],
                   "the zone file's names keep their data")
    c.expect_equal(addresses(d.port, "only-in-files.files.svc.cluster.local"), ["10.96.1.98"],
                   "and the manifest's Services stay")
    c.check("zone files reused from the last read" in d.log() and "reload failed" not in d.log(),
            "the API event read neither file", d.log()[-800:])
    os.kill(d.proc.pid, signal.SIGHUP)
    c.check(wait_for(lambda: "reload failed" in d.log() and "extra.json" in d.log()),
            "SIGHUP with the files broken: the reload fails naming the file", d.log()[-800:])
    api.apply(service("shop", "after-failed-reload", ["10.96.1.82"]))
    c.check(wait_for(lambda: addresses(d.port, "after-failed-reload.shop.svc.cluster.local") ==
                     ["10.96.1.82"]), "after the failed reload, the API's changes are served")
    c.expect_equal(addresses(d.port, "www.corp.test"), ["10.10.0.1"],
                   "with the zone file's last good data")
    with open(manifest, "w") as f:
        f.write(good_manifest)
    write_zone(zone_file, "10.10.0.2")
    os.kill(d.proc.pid, signal.SIGHUP)
    c.check(wait_for(lambda: addresses(d.port, "www.corp.test") == ["10.10.0.2"]),
            "the files fixed, SIGHUP serves the zone file's new data")
    api.delete("Service", "shop", "while-broken")
    api.delete("Service", "shop", "after-failed-reload")


def preload(shim):
    """LD_PRELOAD for dnsd with `shim`: after a sanitizer's runtime, which must come first."""
    real = os.environ.get("DNSD_BINARY", "")
    out = subprocess.run(["ldd", real], capture_output=True, text=True).stdout if real else ""
    runtimes = [line.split("=>")[1].split()[0] for line in out.splitlines()
                if "=>" in line and any(f"lib{s}san.so" in line for s in ("a", "t", "ub"))]
    return " ".join(runtimes + [shim])


def test_without_epoll_pwait2(c, binary, api, workdir):
    # A kernel before Linux 5.11 has no epoll_pwait2(): the API client waits with
    # epoll_wait() in whole milliseconds instead, and must follow the API as well.
    shim = os.environ.get("DNSD_NO_EPOLL_PWAIT2", "")
    if not c.check(os.path.exists(shim), "the epoll_pwait2 shim is built (DNSD_NO_EPOLL_PWAIT2)",
                   shim):
        return
    kubeconfig = os.path.join(workdir, "old-kernel.kubeconfig")
    api.write_kubeconfig(kubeconfig, token="secret-token")
    env = dict(os.environ, LD_PRELOAD=preload(shim))
    with Dnsd(binary, kubeconfig, c, env=env) as d:
        p = d.port
        api.apply(service("shop", "old-kernel", ["10.96.1.80"]))
        c.check(wait_for(lambda: addresses(p, "old-kernel.shop.svc.cluster.local") ==
                         ["10.96.1.80"]), "without epoll_pwait2: a Service added is served")
        # Those that come during the pause after a patch are patched when the loop's timer,
        # now in whole milliseconds, calls the client back.
        api.apply({"kind": "List", "items": [service("shop", f"old-burst-{i}",
                                                     [f"10.96.3.{i + 1}"]) for i in range(20)]})
        c.check(wait_for(lambda: addresses(p, "old-burst-19.shop.svc.cluster.local") ==
                         ["10.96.3.20"]), "without epoll_pwait2: the last of a burst is served")
        for i in range(20):
            api.delete("Service", "shop", f"old-burst-{i}")
        api.delete("Service", "shop", "old-kernel")
        c.check(wait_for(lambda: rcode(p, "old-kernel.shop.svc.cluster.local") == "NXDOMAIN"),
                "without epoll_pwait2: a Service deleted is gone")
        c.check("epoll_pwait2 fails with ENOSYS" in d.log(),
                "the shim was in the process (its epoll_pwait2 was called)", d.log()[-2000:])
        c.check(d.alive(), "dnsd still runs")


def test_pod_resolver(c, binary, api, workdir):
    kubeconfig = os.path.join(workdir, "pod.kubeconfig")
    api.write_kubeconfig(kubeconfig, token="secret-token")
    try:
        ns = harness.PodNamespace().create()
    except harness.NetnsUnavailable as e:
        c.check(False, "a network namespace for the Pod", str(e))
        return
    try:
        with Dnsd(binary, kubeconfig, c, ["--listen", f"{ns.host_ip}:53"]) as d:
            api.apply(service("default", "created-later", ["10.96.1.70"]))
            c.check(wait_for(lambda: addresses(d.port,
                                               "created-later.default.svc.cluster.local")
                             == ["10.96.1.70"]), "the new Service is served")
            code, out = ns.run(["getent", "ahostsv4", "created-later"])
            c.check(code == 0 and "10.96.1.70" in out,
                    "glibc in a Pod resolves a Service created after dnsd started", out)
    finally:
        ns.destroy()


def main():
    binary = harness.binary_from_argv("test_kube")
    c = Checks("test_kube")
    workdir = tempfile.mkdtemp(prefix="dnsd-kube-")
    api = FakeApiServer(os.path.join(workdir, "api"), bookmark_interval=1.0)
    try:
        api.start()
        for obj in cluster_objects():
            api.apply(obj)
        for test in (test_records_equal_manifests, test_scope_and_sources, test_changes,
                     test_unauthorized, test_forbidden, test_without_epoll_pwait2,
                     test_pod_resolver):
            # In this order, on one API: each builds on the objects the ones before left,
            # and leaves tokens, permissions and faults as it found them.
            c.run(test, c, binary, api, workdir)
    finally:
        api.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    c.finish()


if __name__ == "__main__":
    main()
