"""End-to-end: --external-zone, the public names of LoadBalancer and external addresses
(CoreDNS k8s_external), asked with dig.

Run: python3 tests/e2e/test_external.py build/tests/dnsd-e2e

Behaviours:
  - SVC.NS.ZONE A/AAAA from status.loadBalancer.ingress[].ip and spec.externalIPs, of any
    Service type; a load balancer's hostname as a CNAME; SRV per named port to SVC.NS.ZONE
    with the target's addresses in the additional section; AA on every answer; --ttl.
  - The apex: SOA (ns1.ZONE, hostmaster.ZONE, minimum = TTL) and NS ns1.ZONE with the
    address of kube-dns's external IP as glue; --external-ns and --external-ns-ip instead.
  - With an upstream, a load balancer's hostname is answered with its address too.
  - Negative answers as in the cluster zone: a ClusterIP-only Service, an unknown name
    NXDOMAIN; another type, a namespace, `_tcp.SVC` NODATA; the SOA in the authority.
  - ClusterIPs never appear in the external zone, and external addresses never in
    cluster.local.
  - A manifest change (an address provisioned, a load balancer released) is served after the
    reload; from the Kubernetes API (the fake API server), a Service's status changing is
    served too, and `dnsd records` gives the same external zone from the API as from the
    same objects in a manifest.
  - An external zone that is or overlaps the cluster domain stops dnsd at startup with a
    message saying so; zones/ with --external-zone example.com answers the README's example.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from harness import Checks, Server, free_port, run_command  # noqa: E402
from fake_apiserver import FakeApiServer  # noqa: E402

ZONE = "example.com"
TTL = 30
WAIT = 10.0  # seconds a change may take to be served
SOA = f"ns1.{ZONE}. hostmaster.{ZONE}."
ELB = "a1b2c3.elb.us-east-1.amazonaws.example"


def namespace(name):
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}


def service(ns, name, cluster_ip, ports=(), type_="ClusterIP", external_ips=(), ingress=()):
    """A Service as the API server holds it: ClusterIP assigned, status written by the cloud's
    load balancer controller (`ingress`: {"ip": ...} or {"hostname": ...} entries)."""
    spec = {"type": type_, "clusterIP": cluster_ip, "clusterIPs": [cluster_ip],
            "ports": [{"name": n, "protocol": p, "port": port} for n, p, port in ports]}
    if external_ips:
        spec["externalIPs"] = list(external_ips)
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": name, "namespace": ns}, "spec": spec,
            "status": {"loadBalancer": {"ingress": list(ingress)} if ingress else {}}}


def objects():
    return [
        namespace("default"), namespace("shop"), namespace("quiet"), namespace("kube-system"),
        service("default", "inference-api", "10.96.5.10", [("http", "TCP", 80)], "LoadBalancer",
                external_ips=["2001:db8::23"], ingress=[{"ip": "34.120.83.23"}]),
        service("shop", "storefront", "10.96.5.20", [("https", "TCP", 443)], "LoadBalancer",
                ingress=[{"hostname": ELB}]),
        service("default", "legacy", "10.96.5.30", [("smtp", "TCP", 25)],
                external_ips=["192.0.2.44"]),
        service("default", "internal", "10.96.5.40", [("http", "TCP", 80)]),
        service("kube-system", "kube-dns", "10.96.0.10", [("dns", "UDP", 53)],
                external_ips=["203.0.113.53"]),
    ]


def write_manifest(path, items):
    # Write then rename, as kubectl-driven tools do: a reload never sees half a file.
    tmp = path + ".tmp~"
    with open(tmp, "w") as f:
        json.dump({"apiVersion": "v1", "kind": "List", "items": items}, f)
    os.rename(tmp, path)


def answer(r, rtype=None):
    return sorted(rd for rd in r.rdatas("answer", rtype))


def wait_until(predicate, timeout=WAIT):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def addresses(server, name, qtype="A"):
    r = server.dig(name, qtype)
    return answer(r, qtype) if r.rcode == "NOERROR" else r.rcode


def check_negative(c, r, rcode, what):
    """rcode, AA, an empty answer, and the zone's SOA (TTL min(TTL, minimum)) in authority."""
    c.check(r.rcode == rcode and "aa" in r.flags and not r.answer and
            [(n, t, ty) for n, t, _, ty, _ in r.authority] == [(f"{ZONE}.", TTL, "SOA")] and
            r.authority[0][4].startswith(SOA), what, r.describe())


def test_answers(c, binary, manifest):
    with Server(binary, [manifest], c, extra_args=["--external-zone", ZONE, "--ttl", str(TTL)],
                name="dnsd-external") as s:
        for tcp in (False, True):
            how = "TCP" if tcp else "UDP"
            r = s.dig(f"inference-api.default.{ZONE}", "A", tcp=tcp)
            c.check(r.rcode == "NOERROR" and "aa" in r.flags and
                    r.answer == [(f"inference-api.default.{ZONE}.", TTL, "IN", "A",
                                  "34.120.83.23")],
                    f"A of a LoadBalancer Service: its ingress IP, AA, --ttl ({how})",
                    r.describe())
        r = s.dig(f"inference-api.default.{ZONE}", "AAAA")
        c.expect_equal(answer(r, "AAAA"), ["2001:db8::23"],
                       "AAAA of the same Service from spec.externalIPs", r.describe())
        r = s.dig(f"legacy.default.{ZONE}", "A")
        c.expect_equal(answer(r, "A"), ["192.0.2.44"],
                       "a ClusterIP Service with spec.externalIPs is served too", r.describe())

        r = s.dig(f"storefront.shop.{ZONE}", "A")
        c.check(r.rcode == "NOERROR" and "aa" in r.flags and
                r.answer == [(f"storefront.shop.{ZONE}.", TTL, "IN", "CNAME", ELB + ".")],
                "a load balancer that gives a hostname: a CNAME to it", r.describe())
        r = s.dig(f"_https._tcp.storefront.shop.{ZONE}", "SRV")
        c.expect_equal(answer(r, "SRV"), [f"0 100 443 {ELB}."],
                       "its SRV points at the hostname itself, not at the alias (RFC 2782)",
                       r.describe())

        r = s.dig(f"_http._tcp.inference-api.default.{ZONE}", "SRV")
        c.check(r.rcode == "NOERROR" and "aa" in r.flags and
                answer(r, "SRV") == [f"0 100 80 inference-api.default.{ZONE}."],
                "SRV of a named port targets SVC.NS.ZONE with the Service port", r.describe())
        c.expect_equal(sorted(rd for _, _, _, _, rd in r.additional),
                       ["2001:db8::23", "34.120.83.23"],
                       "the SRV target's addresses are in the additional section", r.describe())

        r = s.dig(ZONE, "SOA")
        soa = answer(r, "SOA")
        c.check(r.rcode == "NOERROR" and "aa" in r.flags and len(soa) == 1 and
                soa[0].startswith(SOA) and soa[0].split()[3:] == ["7200", "1800", "86400", str(TTL)],
                "apex SOA: ns1.ZONE, hostmaster.ZONE, minimum = TTL", r.describe())
        r = s.dig(ZONE, "NS")
        c.check(answer(r, "NS") == [f"ns1.{ZONE}."] and "aa" in r.flags and
                [(n, ty, rd) for n, _, _, ty, rd in r.additional] ==
                [(f"ns1.{ZONE}.", "A", "203.0.113.53")],
                "apex NS ns1.ZONE, glue from kube-dns's external address", r.describe())
        c.expect_equal(addresses(s, f"ns1.{ZONE}"), ["203.0.113.53"],
                       "ns1.ZONE answers with that address")

        for name, qtype, rcode, what in (
                (f"internal.default.{ZONE}", "A", "NXDOMAIN",
                 "a ClusterIP-only Service is not in the external zone"),
                (f"nothing.default.{ZONE}", "A", "NXDOMAIN", "an unknown Service"),
                (f"x.inference-api.default.{ZONE}", "A", "NXDOMAIN", "nothing below a Service"),
                (f"_smtp._udp.legacy.default.{ZONE}", "SRV", "NXDOMAIN",
                 "a port under the wrong protocol"),
                (f"inference-api.default.{ZONE}", "TXT", "NOERROR",
                 "a type the name does not have"),
                (f"legacy.default.{ZONE}", "AAAA", "NOERROR", "the family a Service lacks"),
                (f"quiet.{ZONE}", "A", "NOERROR", "a namespace without external Services"),
                (f"_tcp.inference-api.default.{ZONE}", "SRV", "NOERROR",
                 "_tcp.SVC, an empty non-terminal")):
            check_negative(c, s.dig(name, qtype), rcode,
                           f"{what}: {'NODATA' if rcode == 'NOERROR' else rcode}")

        # The cluster zone is unchanged: ClusterIPs there, external addresses only here.
        c.expect_equal(addresses(s, "inference-api.default.svc.cluster.local"), ["10.96.5.10"],
                       "in cluster.local a LoadBalancer Service keeps its ClusterIP alone")
        c.expect_equal(addresses(s, "internal.default.svc.cluster.local"), ["10.96.5.40"],
                       "a ClusterIP-only Service is still in cluster.local")
        r = s.dig("23.83.120.34.in-addr.arpa", "PTR")
        c.check(r.rcode != "NOERROR" or not r.answer,
                "no PTR is made for a load balancer's address", r.describe())


def test_ns_flags(c, binary, manifest):
    with Server(binary, [manifest], c, name="dnsd-external-ns",
                extra_args=["--external-zone", ZONE, "--external-ns", f"dns1.{ZONE}",
                            "--external-ns-ip", "192.0.2.53",
                            "--external-ns-ip", "2001:db8::53"]) as s:
        r = s.dig(ZONE, "NS")
        c.check(answer(r, "NS") == [f"dns1.{ZONE}."] and
                sorted((ty, rd) for _, _, _, ty, rd in r.additional) ==
                [("A", "192.0.2.53"), ("AAAA", "2001:db8::53")],
                "--external-ns names the NS, --external-ns-ip gives its addresses", r.describe())
        c.check(answer(s.dig(ZONE, "SOA"), "SOA")[0].startswith(f"dns1.{ZONE}. hostmaster."),
                "the SOA names it as the primary")
        c.check(s.dig(f"ns1.{ZONE}", "A").rcode == "NXDOMAIN", "ns1.ZONE is then no name")


def test_hostname_chased(c, binary, workdir, manifest):
    """A client allowed recursion gets the hostname's address from upstream with the CNAME,
    as CoreDNS's k8s_external looks it up: stub resolvers do not chase CNAMEs themselves."""
    zone_file = os.path.join(workdir, "elb.zone")
    with open(zone_file, "w") as f:
        f.write(f"$ORIGIN {ELB.split('.', 1)[1]}.\n$TTL 60\n"
                "@ IN SOA ns hostmaster 1 7200 1800 86400 60\n@ IN NS ns\n"
                "ns IN A 192.0.2.1\n"
                f"{ELB.split('.', 1)[0]} IN A 198.51.100.200\n")
    upstream = harness.ZoneServer(binary, [zone_file], ELB.split(".", 1)[1], c)
    try:
        upstream.start()
        with Server(binary, [manifest], c, name="dnsd-external-upstream",
                    extra_args=["--external-zone", ZONE,
                                "--upstream", f"127.0.0.1:{upstream.port}"]) as s:
            r = s.dig(f"storefront.shop.{ZONE}", "A")
            c.check(r.rcode == "NOERROR" and
                    [(ty, rd) for _, _, _, ty, rd in r.answer] ==
                    [("CNAME", ELB + "."), ("A", "198.51.100.200")],
                    "a load balancer's hostname: the CNAME, then its address from upstream",
                    r.describe())
    finally:
        upstream.close()


def test_reload(c, binary, workdir):
    path = os.path.join(workdir, "live.json")
    items = objects()
    write_manifest(path, items)
    with Server(binary, [path], c, extra_args=["--external-zone", ZONE],
                name="dnsd-external-reload") as s:
        serial = int(answer(s.dig(ZONE, "SOA"), "SOA")[0].split()[2])
        # The cloud provisions an address for `internal` (now a LoadBalancer) and releases
        # the storefront's load balancer.
        changed = [o for o in items if o["metadata"]["name"] not in ("internal", "storefront")]
        changed.append(service("default", "internal", "10.96.5.40", [("http", "TCP", 80)],
                               "LoadBalancer", ingress=[{"ip": "34.120.83.99"}]))
        changed.append(service("shop", "storefront", "10.96.5.20", [("https", "TCP", 443)],
                               "LoadBalancer"))
        write_manifest(path, changed)
        c.check(wait_until(lambda: addresses(s, f"internal.default.{ZONE}") == ["34.120.83.99"]),
                "a provisioned address is served after the manifest changes",
                s.dig(f"internal.default.{ZONE}").describe())
        c.check(wait_until(lambda: s.dig(f"storefront.shop.{ZONE}").rcode == "NXDOMAIN"),
                "a released load balancer's name goes (NXDOMAIN)")
        # Within the second the zone was published in, the serial is kept until the next.
        c.check(wait_until(lambda: int(answer(s.dig(ZONE, "SOA"), "SOA")[0].split()[2]) > serial),
                "the external zone's serial grows with the reload",
                f"{serial} -> {answer(s.dig(ZONE, 'SOA'), 'SOA')}")


def records(binary, args):
    real = os.environ.get("DNSD_BINARY", binary)
    r = subprocess.run([real, "records"] + args, capture_output=True, text=True, timeout=30)
    return r.returncode, r.stdout, r.stderr


def test_api(c, binary, workdir, manifest):
    api = FakeApiServer(os.path.join(workdir, "api"), bookmark_interval=1.0)
    try:
        api.start()
        for obj in objects():
            api.apply(obj)
        kubeconfig = os.path.join(workdir, "kubeconfig")
        api.write_kubeconfig(kubeconfig, token="secret-token")
        code, from_api, err = records(binary, ["--kubeconfig", kubeconfig,
                                               "--external-zone", ZONE])
        _, from_file, _ = records(binary, [manifest, "--external-zone", ZONE])
        c.check(code == 0 and f"; zone {ZONE}." in from_api and
                f"inference-api.default.{ZONE}. 5 IN A 34.120.83.23" in from_api,
                "dnsd records --kubeconfig prints the external zone", err + from_api)
        c.expect_equal(from_api, from_file,
                       "the zones from the API equal those from the same objects as a manifest")

        metrics = free_port()
        with Server(binary, [], c, name="dnsd-external-kube",
                    extra_args=["--kubeconfig", kubeconfig, "--external-zone", ZONE,
                                "--metrics", f"127.0.0.1:{metrics}"]) as s:
            c.expect_equal(addresses(s, f"inference-api.default.{ZONE}"), ["34.120.83.23"],
                           "from the API: a LoadBalancer Service's ingress IP")
            lb = service("default", "inference-api", "10.96.5.10", [("http", "TCP", 80)],
                         "LoadBalancer", external_ips=["2001:db8::23"],
                         ingress=[{"ip": "34.120.83.24"}, {"ip": "34.120.83.25"}])
            api.apply(lb)
            c.check(wait_until(lambda: addresses(s, f"inference-api.default.{ZONE}") ==
                               ["34.120.83.24", "34.120.83.25"]),
                    "a new load balancer status from the API is served",
                    s.dig(f"inference-api.default.{ZONE}").describe())
            api.apply(service("default", "internal", "10.96.5.40", [("http", "TCP", 80)],
                              "LoadBalancer", ingress=[{"hostname": ELB}]))
            c.check(wait_until(lambda: s.dig(f"internal.default.{ZONE}").rdatas("answer",
                                                                                "CNAME") ==
                               [ELB + "."]),
                    "a hostname written to a Service's status becomes a CNAME")
            api.apply(service("default", "inference-api", "10.96.5.10", [("http", "TCP", 80)],
                              "LoadBalancer"))
            c.check(wait_until(lambda: addresses(s, f"inference-api.default.{ZONE}") ==
                               "NXDOMAIN"),
                    "a Service whose external addresses are gone is NXDOMAIN")
            c.expect_equal(addresses(s, "inference-api.default.svc.cluster.local"),
                           ["10.96.5.10"], "its ClusterIP name stays")
            # A bad address from the API is left out with a warning naming the object.
            api.apply(service("default", "legacy", "10.96.5.30", [("smtp", "TCP", 25)],
                              external_ips=["192.0.2.300", "192.0.2.45"]))
            c.check(wait_until(lambda: addresses(s, f"legacy.default.{ZONE}") ==
                               ["192.0.2.45"]),
                    "a bad external address is left out, the good one served")
            c.check(wait_until(lambda: "default/legacy: spec.externalIPs \"192.0.2.300\" is "
                               "not an IP address" in s.log()),
                    "the log names the object and the bad field", s.log()[-2000:])
    finally:
        api.stop()


def test_startup_errors(c, binary, manifest):
    for zone, want in (("cluster.local", "overlaps the cluster domain"),
                       ("svc.cluster.local", "overlaps the cluster domain"),
                       ("local", "overlaps the cluster domain"),
                       ("10.in-addr.arpa", "overlaps the reverse zones")):
        code, out = run_command([binary, "--manifests", manifest, "--listen",
                                 f"127.0.0.1:{free_port()}", "--no-forward",
                                 "--external-zone", zone], timeout=20)
        c.check(code not in (0, None) and want in out,
                f"--external-zone {zone}: dnsd stops at startup saying it {want}", out)
    code, out = run_command([binary, "--manifests", manifest, "--external-zone", ZONE,
                             "--external-zone", f"lb.{ZONE}", "--listen",
                             f"127.0.0.1:{free_port()}", "--no-forward"], timeout=20)
    c.check(code not in (0, None) and "overlaps --external-zone" in out,
            "two external zones that overlap: dnsd stops", out)


def test_readme_example(c, binary):
    """The README serves zones/ with --external-zone example.com."""
    code, out, err = records(binary, [harness.ZONES, "--external-zone", "example.com"])
    c.check(code == 0 and "inference-api.default.example.com. 5 IN A 34.120.83.23" in out,
            "zones/: inference-api.default.example.com is 34.120.83.23", err + out[-3000:])


def main():
    binary = harness.binary_from_argv("test_external")
    c = Checks("test_external")
    workdir = tempfile.mkdtemp(prefix="dnsd-external-")
    try:
        manifest = os.path.join(workdir, "cluster.json")
        write_manifest(manifest, objects())
        c.run(test_answers, c, binary, manifest)
        c.run(test_ns_flags, c, binary, manifest)
        c.run(test_hostname_chased, c, binary, workdir, manifest)
        c.run(test_reload, c, binary, workdir)
        c.run(test_api, c, binary, workdir, manifest)
        c.run(test_startup_errors, c, binary, manifest)
        c.run(test_readme_example, c, binary)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    c.finish()


if __name__ == "__main__":
    main()
