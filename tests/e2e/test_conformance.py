"""Conformance: dnsd against the Kubernetes DNS specification and the DNS RFCs, as a table.

Run: python3 tests/e2e/test_conformance.py build/tests/dnsd-e2e   (dnsd, told --user root when run as root)

The test cluster is tests/data/conformance/ (every address written out; each file's header
lists the names it yields). Each row of ROWS is one question with its exact expected rcode,
AA flag, answer, authority (the SOA for negatives) and, where it matters, additional section,
and a `why` citing the k8s DNS spec section (schema 1.1.0), the RFC, or the CoreDNS file or
issue it follows, or dnsd's own rule. Each row is asked three times: over UDP, over TCP,
and over UDP with the qname in random mixed case (0x20). Every reply must echo the question
byte for byte and keep its case in owner names (the qname and the zone apex of the SOA) and
in the zone part of generated SRV/NS targets; the rest is compared lowercased. Every reply to
an EDNS query carries OPT version 0 advertising 1232 bytes.

Behaviours, grouped as in ROWS:
  - dns-version TXT "1.1.0" (spec 2.2); A at that name is NODATA (RFC 2308).
  - ClusterIP Services: A/AAAA from clusterIPs (dual stack, IPv6 only, written uncompressed),
    the missing family NODATA; SRV per named port with the Service port and the right
    protocol label, target addresses in the additional section; unnamed ports no SRV;
    `_tcp.SVC` NODATA (empty non-terminal); SRV at the bare name lists every port.
  - Headless Services: one A per ready endpoint, de-duplicated across EndpointSlices (absent
    `ready` counts, `ready: false` and terminating do not), publishNotReadyAddresses and the
    tolerate-unready-endpoints annotation publish not-ready ones; legacy Endpoints only when no
    slice names the Service; per-endpoint names (hostname, else dashed IP; StatefulSet Pods;
    hostname only when subdomain matches); SRV with the endpoint port; nothing ready NXDOMAIN;
    no ports still resolves.
  - PTR for ClusterIPs (IPv4 and IPv6 nibbles) and endpoints; two Services, two PTRs;
    `--ptr-single` one; negative reverse answers carry the reverse zone's SOA.
  - ExternalName: CNAME, in-zone target chased (CNAME first), dangling target CNAME+NXDOMAIN,
    nothing below it, IP-valued not served.
  - Pod names under --pods insecure (default), disabled, verified; `NS.pod` NODATA.
  - Apex SOA and NS (with the address of ns.dns: kube-dns's ClusterIP or --dns-ip).
  - Namespaces: existing (Namespace object) NODATA, unknown NXDOMAIN.
  - ANY answered minimally (RFC 8482); EDNS: OPT 1232, BADVERS for version 1, DO copied;
    class CH and names outside our zones REFUSED.
  - Negative answers: SOA TTL min(TTL, 300) and MINIMUM = TTL (one instance with --ttl 600).
  - --external-zone (CoreDNS k8s_external): a LoadBalancer's ingress IP and externalIPs, a
    load balancer hostname as a CNAME, SRV, the apex SOA and NS with --external-ns-ip, and
    the same negative rules; ClusterIPs are not in it.
"""

import concurrent.futures
import dataclasses
import ipaddress
import os
import random
import re
import sys
import typing

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from harness import Checks, DigQuery, Server, match_rrs, rr_text, run_dig_batch  # noqa: E402

CONFORMANCE_DATA = os.path.join(harness.DATA, "conformance")
TTL = 5
ZONE = "cluster.local."
WORKERS = 4  # dig processes at a time
BATCH = 24  # questions per dig process

# The server instances: name -> extra flags. Each starts once and answers its rows.
MAIN = "main"
PTR_SINGLE = "ptr-single"
PODS_DISABLED = "pods-disabled"
PODS_VERIFIED = "pods-verified"
POD_NAMES = "endpoint-pod-names"
TTL_600 = "ttl-600"
DNS_IP = "dns-ip"
EXTERNAL = "external-zone"
EXT_ZONE = "public.example."
INSTANCES = {
    MAIN: [],
    PTR_SINGLE: ["--ptr-single"],
    PODS_DISABLED: ["--pods", "disabled"],
    PODS_VERIFIED: ["--pods", "verified"],
    POD_NAMES: ["--endpoint-pod-names"],
    TTL_600: ["--ttl", "600"],
    DNS_IP: ["--dns-ip", "10.96.0.53"],
    EXTERNAL: ["--external-zone", EXT_ZONE, "--external-ns-ip", "192.0.2.53"],
}


# --- expected records in presentation format -----------------------------------------


def svc(name, ns="default"):
    return f"{name}.{ns}.svc.{ZONE}"


def ep(host, service, ns="default"):
    return f"{host}.{svc(service, ns)}"


def pod(dashed, ns="default"):
    return f"{dashed}.{ns}.pod.{ZONE}"


def rev(ip):
    """The PTR owner of an address: in-addr.arpa, or 32 nibbles in ip6.arpa."""
    return ipaddress.ip_address(ip).reverse_pointer + "."


def rr(owner, rtype, rdata, ttl=TTL):
    return f"{owner} {ttl} IN {rtype} {rdata}"


def a(owner, *ips, ttl=TTL):
    return {rr(owner, "A", ip, ttl) for ip in ips}


def aaaa(owner, *ips, ttl=TTL):
    return {rr(owner, "AAAA", ip, ttl) for ip in ips}


def srv(owner, port, *targets, weight=None, ttl=TTL):
    """One SRV per target, priority 0, weight floor(100/n) unless given (CoreDNS)."""
    weight = 100 // len(targets) if weight is None else weight
    return {rr(owner, "SRV", f"0 {weight} {port} {t}", ttl) for t in targets}


def ptr(ip, *targets, ttl=TTL):
    return {rr(rev(ip), "PTR", t, ttl) for t in targets}


def cname(owner, target, ttl=TTL):
    return {rr(owner, "CNAME", target, ttl)}


def soa(zone=ZONE, ttl=TTL, minimum=TTL):
    """The SOA of `zone` (serial varies): mname ns.dns.ZONE, rname hostmaster.ZONE."""
    return re.compile(
        rf"{re.escape(zone)} {ttl} IN SOA ns\.dns\.cluster\.local\. "
        rf"hostmaster\.cluster\.local\. \d+ 7200 1800 86400 {minimum}", re.IGNORECASE)


def ext(name, ns="default"):
    return f"{name}.{ns}.{EXT_ZONE}"


# The external zone's SOA: mname ns1.ZONE, rname hostmaster.ZONE (serial varies).
EXT_SOA = re.compile(rf"{re.escape(EXT_ZONE)} {TTL} IN SOA ns1\.public\.example\. "
                     rf"hostmaster\.public\.example\. \d+ 7200 1800 86400 {TTL}", re.IGNORECASE)

REV4 = "10.in-addr.arpa."  # the reverse zone of --service-cidr 10.96.0.0/12 (and the Pod CIDR)
REV6 = "0.0.0.0.6.9.0.0.0.1.0.0.0.0.d.f.ip6.arpa."  # the /64 of fd00:10:96::50 and ::60
SOA5 = soa()
NEG_SOA_600 = soa(ttl=300, minimum=600)  # --ttl 600: negative TTL min(600, 300)

KUBE_DNS = svc("kube-dns", "kube-system")
PEERS = svc("peers")
PEER_NAMES = [ep(h, "peers") for h in
              ("peer-a", "peer-b", "dup", "10-244-2-2", "10-244-2-9", "10-244-2-10")]
PEER_ADDRESSES = ["10.244.2.1", "10.244.2.2", "10.244.2.5", "10.244.2.6", "10.244.2.7",
                  "10.244.2.9", "10.244.2.10"]
PEER_EXTRAS = (a(ep("peer-a", "peers"), "10.244.2.1") | a(ep("peer-b", "peers"), "10.244.2.5")
               | a(ep("dup", "peers"), "10.244.2.6", "10.244.2.7")
               | a(ep("10-244-2-2", "peers"), "10.244.2.2")
               | a(ep("10-244-2-9", "peers"), "10.244.2.9")
               | a(ep("10-244-2-10", "peers"), "10.244.2.10"))
CASSANDRA_NAMES = [ep(h, "db-headless") for h in ("cassandra-0", "cassandra-1", "10-244-1-13")]
CASSANDRA_EXTRAS = (a(ep("cassandra-0", "db-headless"), "10.244.1.10")
                    | a(ep("cassandra-1", "db-headless"), "10.244.1.11")
                    | a(ep("10-244-1-13", "db-headless"), "10.244.1.13"))


# --- the table ------------------------------------------------------------------------


@dataclasses.dataclass
class Row:
    """One question and its exact expected reply. Sections hold RRs as "name ttl class type
    rdata" strings (or regexes, for the SOA serial), compared lowercased and in any order;
    None leaves a section unchecked."""
    qname: str
    qtype: str
    rcode: str
    answer: typing.Optional[set]
    authority: typing.Optional[set]
    why: str
    additional: typing.Optional[set] = None  # None: not checked
    server: str = MAIN
    aa: typing.Optional[bool] = True
    options: tuple = ()
    qclass: str = "IN"
    edns: str = "echo"  # "echo": OPT v0 advertising 1232 (DO as asked); "absent": no OPT
    extra: typing.Optional[typing.Callable] = None  # (row, sent, result) -> (ok, what) or None


def ok(qname, qtype, answer, why, **kw):
    """NOERROR with exactly `answer`; authority not checked."""
    return Row(qname, qtype, "NOERROR", answer, None, why, **kw)


def nodata(qname, qtype, why, soa_rr=SOA5, **kw):
    """NOERROR, empty answer, the zone's SOA alone in authority (RFC 2308 §2.2)."""
    return Row(qname, qtype, "NOERROR", set(), {soa_rr}, why, **kw)


def nxdomain(qname, qtype, why, soa_rr=SOA5, answer=None, **kw):
    """NXDOMAIN, empty answer (or the CNAME chain), the zone's SOA in authority (RFC 2308 §2.1)."""
    return Row(qname, qtype, "NXDOMAIN", answer or set(), {soa_rr}, why, **kw)


def refused(qname, qtype, why, **kw):
    """REFUSED, nothing in any section, AA clear (we are not an authority for it)."""
    return Row(qname, qtype, "REFUSED", set(), set(), why, aa=False, **kw)


def cname_first(row, sent, r):
    """RFC 1034 §4.3.2 / CoreDNS loadbalance README: the CNAME comes before the records it points to."""
    types = [x[3] for x in r.answer]
    good = bool(types) and types[0] == "CNAME" and types.count("CNAME") == 1
    return good, f"answer order {types}: the CNAME first"


def minimal_any(rrsets):
    """RFC 8482 §4.1: at least one whole RRset of the name (or a synthesized HINFO)."""
    def check(row, sent, r):
        got = {}
        for x in r.answer:
            got.setdefault(x[3], set()).add(rr_text(x).lower())
        good = bool(got)
        for rtype, rrs in got.items():
            if rtype == "HINFO":
                continue
            want = {s.lower() for s in rrsets.get(rtype, ())}
            good = good and rrs == want
        return good, f"one or more whole RRsets of {sorted(rrsets)} (or HINFO), got {sorted(got)}"
    return check


ROWS = [
    # --- k8s spec 2.2: the schema version ---
    ok("dns-version.cluster.local", "TXT", {rr("dns-version.cluster.local.", "TXT", '"1.1.0"',
                                              ttl=28800)},
       "k8s spec 2.2; CoreDNS kubernetes.go dns-version (TTL 28800 as CoreDNS)"),
    nodata("dns-version.cluster.local", "A",
           "RFC 2308 §2.2: the name owns a TXT (CoreDNS kubernetes.go dns-version; RFC 8020; CoreDNS: NXDOMAIN)"),

    # --- k8s spec 2.3.1: ClusterIP A/AAAA ---
    ok(KUBE_DNS, "A", a(KUBE_DNS, "10.96.0.10"), "k8s spec 2.3.1"),
    nodata(KUBE_DNS, "AAAA", "CoreDNS object/service.go / coredns#779: the missing family is NODATA"),
    ok(svc("dual"), "A", a(svc("dual"), "10.96.0.50"), "k8s spec 2.3.1; CoreDNS object/service.go clusterIPs"),
    ok(svc("dual"), "AAAA", aaaa(svc("dual"), "fd00:10:96::50"),
       "k8s spec 2.3.1; CoreDNS object/service.go clusterIPs (dual stack)"),
    ok(svc("v6only"), "AAAA", aaaa(svc("v6only"), "fd00:10:96::60"),
       "k8s spec 2.3.1; addresses are canonicalized (written uncompressed)"),
    nodata(svc("v6only"), "A", "CoreDNS object/service.go / coredns#779: IPv6-only Service, A is NODATA"),
    ok(svc("idle"), "A", a(svc("idle"), "10.96.0.80"),
       "CoreDNS object/service.go (CoreDNS handler_test svcempty): no endpoints, still the ClusterIP"),
    ok(svc("cassandra"), "A", a(svc("cassandra"), "10.96.0.70"), "k8s spec 2.3.1"),
    nodata(KUBE_DNS, "MX", "RFC 2308 §2.2 / CoreDNS handler.go: existing name, missing type"),
    nodata(KUBE_DNS, "HTTPS", "RFC 2308 §2.2 / CoreDNS handler.go: HTTPS at an existing name"),
    nodata(KUBE_DNS, "SOA", "RFC 2308 §2.2 / CoreDNS handler.go: SOA below the apex"),

    # --- k8s spec 2.3.2: ClusterIP SRV ---
    ok(f"_dns._udp.{KUBE_DNS}", "SRV", srv(f"_dns._udp.{KUBE_DNS}", 53, KUBE_DNS),
       "k8s spec 2.3.2 (target's A in additional)", additional=a(KUBE_DNS, "10.96.0.10")),
    ok(f"_dns-tcp._tcp.{KUBE_DNS}", "SRV", srv(f"_dns-tcp._tcp.{KUBE_DNS}", 53, KUBE_DNS),
       "k8s spec 2.3.2", additional=a(KUBE_DNS, "10.96.0.10")),
    ok(f"_metrics._tcp.{KUBE_DNS}", "SRV", srv(f"_metrics._tcp.{KUBE_DNS}", 9153, KUBE_DNS),
       "k8s spec 2.3.2", additional=a(KUBE_DNS, "10.96.0.10")),
    nxdomain(f"_dns._tcp.{KUBE_DNS}", "SRV",
             "k8s spec 2.3.2 / CoreDNS backend_lookup.go SRV: the protocol label must match (dns is UDP)"),
    nxdomain(f"_metrics._udp.{KUBE_DNS}", "SRV", "k8s spec 2.3.2 / CoreDNS backend_lookup.go SRV"),
    nxdomain(f"_nope._tcp.{KUBE_DNS}", "SRV", "CoreDNS handler.go: unknown port name"),
    nodata(f"_tcp.{KUBE_DNS}", "SRV",
           "RFC 8020 §2 / RFC 2308: empty non-terminal (docs/answers.md; CoreDNS: NXDOMAIN)"),
    nodata(f"_udp.{KUBE_DNS}", "A", "RFC 8020 §2: empty non-terminal"),
    nodata(f"_dns._udp.{KUBE_DNS}", "A", "RFC 2308 §2.2: the name owns an SRV (RFC 8020)"),
    ok(KUBE_DNS, "SRV", srv(KUBE_DNS, 53, KUBE_DNS, weight=50) | srv(KUBE_DNS, 9153, KUBE_DNS,
                                                                     weight=50),
       "CoreDNS xfr.go (CoreDNS xfr.go, peer finders): every port; the two 53s collapse",
       additional=a(KUBE_DNS, "10.96.0.10")),
    ok(f"_cql._tcp.{svc('cassandra')}", "SRV",
       srv(f"_cql._tcp.{svc('cassandra')}", 7000, svc("cassandra")),
       "k8s spec 2.3.2 / CoreDNS backend_lookup.go SRV: the Service port (7000), not the targetPort",
       additional=a(svc("cassandra"), "10.96.0.70")),
    ok(f"_http._tcp.{svc('dual')}", "SRV", srv(f"_http._tcp.{svc('dual')}", 80, svc("dual")),
       "k8s spec 2.3.2; CoreDNS object/endpoint.go ports; k8s DNS spec §2.3.2: both families of the target in additional",
       additional=a(svc("dual"), "10.96.0.50") | aaaa(svc("dual"), "fd00:10:96::50")),
    nxdomain(f"_udp.{svc('dual')}", "SRV", "k8s spec 2.3.2: no UDP port, no such name"),
    ok(f"_http._tcp.{svc('idle')}", "SRV", srv(f"_http._tcp.{svc('idle')}", 80, svc("idle")),
       "k8s spec 2.3.2: SRV does not need endpoints", additional=a(svc("idle"), "10.96.0.80")),
    nxdomain(f"_tcp.{svc('v6only')}", "SRV",
             "k8s spec 2.3.2: unnamed ports get no SRV, so no _tcp either"),
    nxdomain(f"_https._tcp.{svc('v6only')}", "SRV", "k8s spec 2.3.2: unnamed port"),
    ok(svc("v6only"), "SRV", srv(svc("v6only"), 443, svc("v6only")),
       "CoreDNS xfr.go: the bare name lists unnamed ports too",
       additional=aaaa(svc("v6only"), "fd00:10:96::60")),

    # --- k8s spec 2.4.1: headless A records, readiness (2.1), EndpointSlices ---
    ok(PEERS, "A", a(PEERS, *PEER_ADDRESSES),
       "k8s spec 2.4.1, 2.1; CoreDNS object/endpoint.go: ready only (absent ready counts; false and "
       "terminating do not), 10.244.2.2 in two slices once"),
    nodata(PEERS, "AAAA", "RFC 2308 §2.2: headless IPv4 only"),
    ok(ep("peer-a", "peers"), "A", a(ep("peer-a", "peers"), "10.244.2.1"),
       "k8s spec 2.4.1: the endpoint's hostname"),
    ok(ep("peer-b", "peers"), "A", a(ep("peer-b", "peers"), "10.244.2.5"), "k8s spec 2.4.1"),
    ok(ep("dup", "peers"), "A", a(ep("dup", "peers"), "10.244.2.6", "10.244.2.7"),
       "k8s spec 2.4.1 / CoreDNS endpointHostname dup-name: a hostname with two IPs, two A"),
    ok(ep("10-244-2-2", "peers"), "A", a(ep("10-244-2-2", "peers"), "10.244.2.2"),
       "CoreDNS endpointHostname: no hostname, dashed IP"),
    ok(ep("10-244-2-9", "peers"), "A", a(ep("10-244-2-9", "peers"), "10.244.2.9"),
       "CoreDNS endpointHostname: dashed IP"),
    ok(ep("10-244-2-10", "peers"), "A", a(ep("10-244-2-10", "peers"), "10.244.2.10"),
       "CoreDNS endpointHostname: dashed IP"),
    nxdomain(ep("10-244-2-3", "peers"), "A", "k8s spec 2.4.1: ready: false has no name"),
    nxdomain(ep("10-244-2-4", "peers"), "A",
             "CoreDNS object/endpoint.go (object/endpoint.go): terminating has no name"),
    nxdomain(ep("10-244-2-8", "peers"), "A",
             "readiness: terminating (ready absent) does not count"),
    nxdomain(ep("peers-7f9c-xyz", "peers"), "A",
             "CoreDNS endpointHostname / coredns#2640: the Pod name is no DNS name by default"),
    nodata(ep("peer-a", "peers"), "AAAA", "RFC 2308 §2.2"),
    nxdomain(f"x.{ep('peer-a', 'peers')}", "A", "CoreDNS handler.go: nothing below an endpoint"),
    ok(f"_http._tcp.{PEERS}", "SRV", srv(f"_http._tcp.{PEERS}", 8080, *PEER_NAMES),
       "k8s spec 2.4.2 / CoreDNS object/endpoint.go ports: per ready endpoint, the endpoint port (targetPort), "
       "dup once; targets' A in additional", additional=PEER_EXTRAS),
    ok(f"_gossip._udp.{PEERS}", "SRV", srv(f"_gossip._udp.{PEERS}", 7946, *PEER_NAMES),
       "k8s spec 2.4.2 (UDP port)", additional=PEER_EXTRAS),
    nxdomain(f"_http._udp.{PEERS}", "SRV", "k8s spec 2.4.2 / CoreDNS backend_lookup.go SRV: protocol label"),
    nodata(f"_tcp.{PEERS}", "SRV", "RFC 8020 §2: empty non-terminal (docs/answers.md)"),
    ok(PEERS, "SRV", {rr(PEERS, "SRV", f"0 8 {port} {t}") for t in PEER_NAMES
                      for port in (8080, 7946)},
       "CoreDNS xfr.go: every endpoint name with every port", additional=PEER_EXTRAS),
    ok(svc("legacy"), "A", a(svc("legacy"), "10.244.3.1", "10.244.3.2"),
       "k8s spec 2.1: v1 Endpoints `addresses` are ready (no slice names the Service)"),
    ok(ep("legacy-0", "legacy"), "A", a(ep("legacy-0", "legacy"), "10.244.3.1"),
       "k8s spec 2.4.1: hostname from v1 Endpoints"),
    nxdomain(ep("10-244-3-3", "legacy"), "A", "k8s spec 2.1: notReadyAddresses are not ready"),
    ok(f"_web._tcp.{svc('legacy')}", "SRV",
       srv(f"_web._tcp.{svc('legacy')}", 8080, ep("legacy-0", "legacy"),
           ep("10-244-3-2", "legacy")),
       "k8s spec 2.4.2 from v1 Endpoints",
       additional=a(ep("legacy-0", "legacy"), "10.244.3.1")
       | a(ep("10-244-3-2", "legacy"), "10.244.3.2")),
    ok(svc("mixed"), "A", a(svc("mixed"), "10.244.4.2"),
       "coredns PR #6147: EndpointSlices win over v1 Endpoints"),
    nxdomain(ep("10-244-4-1", "mixed"), "A", "a Service with slices: its v1 Endpoints are ignored"),
    ok(svc("pnr"), "A", a(svc("pnr"), "10.244.5.1", "10.244.5.2"),
       "k8s spec 2.1 / CoreDNS object/endpoint.go: publishNotReadyAddresses publishes not-ready"),
    ok(ep("10-244-5-2", "pnr"), "A", a(ep("10-244-5-2", "pnr"), "10.244.5.2"),
       "CoreDNS object/endpoint.go: a published not-ready endpoint has its name"),
    ok(svc("tolerant"), "A", a(svc("tolerant"), "10.244.5.11", "10.244.5.12"),
       "k8s spec 2.1: the tolerate-unready-endpoints annotation"),
    nxdomain(svc("down"), "A", "k8s spec 2.4.1 / kubernetes/dns#234: headless, none ready"),
    nxdomain(svc("down"), "AAAA", "k8s spec 2.4.1: the name does not exist"),
    nxdomain(f"_http._tcp.{svc('down')}", "SRV", "RFC 1034: nothing below a missing name"),
    ok(svc("noports"), "A", a(svc("noports"), "10.244.6.1"),
       "kubernetes/dns#234 (CoreDNS hdlsprtls): headless without ports still resolves"),
    ok(ep("10-244-6-1", "noports"), "A", a(ep("10-244-6-1", "noports"), "10.244.6.1"),
       "k8s spec 2.4.1: per-endpoint name without ports"),
    nodata(svc("noports"), "SRV", "CoreDNS xfr.go: headless without ports, SRV NODATA"),

    # --- StatefulSet Pods: hostname + subdomain ---
    ok(svc("db-headless"), "A",
       a(svc("db-headless"), "10.244.1.10", "10.244.1.11", "10.244.1.13"),
       "k8s spec 2.4.1: ready Pods only (cassandra-2 is not ready)"),
    ok(ep("cassandra-0", "db-headless"), "A",
       a(ep("cassandra-0", "db-headless"), "10.244.1.10"),
       "k8s spec 2.4.1 / CoreDNS endpointHostname: StatefulSet Pod hostname.subdomain"),
    ok(ep("cassandra-1", "db-headless"), "A",
       a(ep("cassandra-1", "db-headless"), "10.244.1.11"), "k8s spec 2.4.1 / CoreDNS endpointHostname"),
    nxdomain(ep("cassandra-2", "db-headless"), "A", "k8s spec 2.4.1: the Pod is not ready"),
    ok(ep("10-244-1-13", "db-headless"), "A",
       a(ep("10-244-1-13", "db-headless"), "10.244.1.13"),
       "CoreDNS endpointHostname (k8s docs): subdomain names another Service, so the dashed IP"),
    nxdomain(ep("stray", "db-headless"), "A",
             "CoreDNS endpointHostname (k8s docs): hostname counts only when subdomain = the Service"),
    ok(f"_cql._tcp.{svc('db-headless')}", "SRV",
       srv(f"_cql._tcp.{svc('db-headless')}", 9042, *CASSANDRA_NAMES),
       "k8s spec 2.4.2 / CoreDNS object/endpoint.go ports; CoreDNS object/endpoint.go: targetPort `cql` = container port 9042, not 19042",
       additional=CASSANDRA_EXTRAS),
    nxdomain(ep("orphan", "nosvc"), "A",
             "CoreDNS endpointHostname (k8s docs, case orphan.nosvc): subdomain names no Service"),
    nxdomain(svc("nosvc"), "A", "CoreDNS handler.go: no such Service"),

    # --- k8s spec 2.3.3 / 2.4.3: PTR ---
    ok(rev("10.96.0.10"), "PTR", ptr("10.96.0.10", KUBE_DNS), "k8s spec 2.3.3"),
    ok(rev("10.96.0.50"), "PTR", ptr("10.96.0.50", svc("dual")), "k8s spec 2.3.3"),
    ok(rev("fd00:10:96::50"), "PTR", ptr("fd00:10:96::50", svc("dual")),
       "k8s spec 2.3.3: IPv6, 32 nibbles in ip6.arpa"),
    ok(rev("fd00:10:96::60"), "PTR", ptr("fd00:10:96::60", svc("v6only")),
       "k8s spec 2.3.3 / CoreDNS reverse.go: the canonical address of an uncompressed clusterIP"),
    ok(rev("10.244.2.1"), "PTR", ptr("10.244.2.1", ep("peer-a", "peers")), "k8s spec 2.4.3"),
    ok(rev("10.244.2.2"), "PTR", ptr("10.244.2.2", ep("10-244-2-2", "peers")),
       "k8s spec 2.4.3 / CoreDNS reverse.go: one IP in two slices, one PTR"),
    ok(rev("10.244.2.6"), "PTR", ptr("10.244.2.6", ep("dup", "peers")), "k8s spec 2.4.3"),
    ok(rev("10.244.3.1"), "PTR", ptr("10.244.3.1", ep("legacy-0", "legacy")),
       "k8s spec 2.4.3 (v1 Endpoints)"),
    nxdomain(rev("10.244.2.3"), "PTR", "CoreDNS reverse.go: a not-ready endpoint has no PTR",
             soa_rr=soa(REV4)),
    ok(rev("10.244.1.10"), "PTR",
       ptr("10.244.1.10", ep("cassandra-0", "db-headless"), ep("10-244-1-10", "cassandra")),
       "CoreDNS reverse.go: one PTR per Service selecting the Pod"),
    ok(rev("10.244.0.5"), "PTR", ptr("10.244.0.5", ep("10-244-0-5", "kube-dns", "kube-system")),
       "CoreDNS reverse.go; CoreDNS findServices: endpoints of ClusterIP Services have PTRs"),
    nxdomain(rev("10.244.1.30"), "PTR",
             "CoreDNS reverse.go (kubernetes#50495): a Pod behind no Service has no PTR",
             soa_rr=soa(REV4)),
    nxdomain(rev("10.99.99.99"), "PTR", "RFC 2308 §3: the reverse zone's SOA",
             soa_rr=soa(REV4)),
    nxdomain(rev("fd00:10:96::1"), "PTR", "RFC 2308 §3: the reverse zone's SOA (IPv6)",
             soa_rr=soa(REV6)),
    ok(REV4, "SOA", {soa(REV4)}, "RFC 1035 §3.5: authoritative for the Service CIDR's reverse zone"),
    nodata(rev("10.96.0.10"), "A", "RFC 2308 §2.2: the name owns a PTR", soa_rr=soa(REV4)),
    refused(rev("192.168.1.1"), "PTR",
            "CoreDNS server.go / README: outside our zones, no forwarding configured"),
    ok(rev("10.244.1.10"), "PTR", ptr("10.244.1.10", ep("cassandra-0", "db-headless")),
       "--ptr-single: the most specific name (the headless endpoint; kubernetes/dns#770)",
       server=PTR_SINGLE),
    ok(rev("10.96.0.10"), "PTR", ptr("10.96.0.10", KUBE_DNS), "k8s spec 2.3.3 (--ptr-single)",
       server=PTR_SINGLE),

    # --- k8s spec 2.5: ExternalName ---
    ok(svc("ext-out"), "A", cname(svc("ext-out"), "orders.production.example.com."),
       "k8s spec 2.5: CNAME (out of zone, not chased without forwarding)"),
    ok(svc("ext-out"), "CNAME", cname(svc("ext-out"), "orders.production.example.com."),
       "k8s spec 2.5"),
    ok(svc("ext-out"), "TXT", cname(svc("ext-out"), "orders.production.example.com."),
       "RFC 1034 §3.6.2, §4.3.2: the CNAME for any type (CoreDNS backend_lookup.go; RFC 8020; CoreDNS: NODATA)"),
    nxdomain(f"x.{svc('ext-out')}", "A", "CoreDNS backend_lookup.go / coredns#5733: nothing below it"),
    nxdomain(f"_http._tcp.{svc('ext-out')}", "SRV",
             "CoreDNS backend_lookup.go: no SRV for ExternalName ports"),
    ok(svc("ext-in"), "A", cname(svc("ext-in"), svc("dual")) | a(svc("dual"), "10.96.0.50"),
       "k8s spec 2.5 example / CoreDNS backend_lookup.go: in-zone target chased; CNAME first (CoreDNS loadbalance README)",
       extra=cname_first),
    ok(svc("ext-in"), "AAAA",
       cname(svc("ext-in"), svc("dual")) | aaaa(svc("dual"), "fd00:10:96::50"),
       "k8s spec 2.5 / CoreDNS backend_lookup.go: chased, AAAA", extra=cname_first),
    nxdomain(svc("ext-dangling"), "A",
             "RFC 6604 §2-3 (docs/answers.md: CNAME + NXDOMAIN; CoreDNS: NODATA without the CNAME)",
             answer=cname(svc("ext-dangling"), svc("gone"))),
    nxdomain(svc("ext-ip"), "A", "CoreDNS backend_lookup.go / coredns#2324: an IP externalName is not served"),

    # --- CoreDNS kubernetes README, pods: Pod names (--pods insecure, the default) ---
    ok(pod("10-244-1-10"), "A", a(pod("10-244-1-10"), "10.244.1.10"),
       "CoreDNS kubernetes README, pods: pods insecure (kubeadm default)"),
    ok(pod("10-1-2-3", "empty"), "A", a(pod("10-1-2-3", "empty"), "10.1.2.3"),
       "CoreDNS kubernetes README, pods: insecure answers any well-formed IP in an existing namespace"),
    ok(pod("fd00-10-244-7--1"), "AAAA", aaaa(pod("fd00-10-244-7--1"), "fd00:10:244:7::1"),
       "CoreDNS kubernetes README, pods: the IPv6 form"),
    nodata(pod("10-244-1-10"), "AAAA", "RFC 2308 §2.2: the other family"),
    nxdomain(pod("10-244-1-300"), "A", "CoreDNS kubernetes README, pods: invalid IP"),
    nxdomain(pod("10-244-1-10", "nons"), "A",
             "CoreDNS kubernetes README, pods (coredns/ci pods_test): the namespace must exist"),
    nxdomain(f"x.{pod('10-244-1-10')}", "A", "CoreDNS kubernetes README, pods (dnsd follows RFC 1034)"),
    nodata(f"default.pod.{ZONE}", "A", "CoreDNS kubernetes README, pods / coredns#1228: NS.pod is NODATA"),
    nodata(f"empty.pod.{ZONE}", "A", "CoreDNS kubernetes README, pods: a Namespace object makes NS.pod exist"),
    nodata(f"pod.{ZONE}", "A", "CoreDNS handler.go: pod.DOMAIN is NODATA"),
    nxdomain(f"nons.pod.{ZONE}", "A", "CoreDNS kubernetes README, pods; CoreDNS handler.go: unknown namespace"),
    nxdomain(pod("10-244-1-10"), "A", "CoreDNS kubernetes README, pods: pods disabled", server=PODS_DISABLED),
    nxdomain(f"default.pod.{ZONE}", "A", "CoreDNS kubernetes README, pods: NS.pod is NXDOMAIN when disabled",
             server=PODS_DISABLED),
    ok(KUBE_DNS, "A", a(KUBE_DNS, "10.96.0.10"), "k8s spec 2.3.1 (pods disabled)",
       server=PODS_DISABLED),
    ok(pod("10-244-1-10"), "A", a(pod("10-244-1-10"), "10.244.1.10"),
       "CoreDNS kubernetes README, pods: pods verified, a Pod in default has it", server=PODS_VERIFIED),
    ok(pod("fd00-10-244-7--1"), "AAAA", aaaa(pod("fd00-10-244-7--1"), "fd00:10:244:7::1"),
       "pods verified: answers when a Pod in the namespace has the IP (status.podIPs)",
       server=PODS_VERIFIED),
    nxdomain(pod("10-1-2-3"), "A", "CoreDNS kubernetes README, pods: verified, no Pod has it",
             server=PODS_VERIFIED),
    nxdomain(pod("10-244-1-10", "kube-system"), "A",
             "CoreDNS kubernetes README, pods: verified, the Pod is in another namespace", server=PODS_VERIFIED),
    nxdomain(pod("10-244-2-1"), "A", "CoreDNS kubernetes README, pods: verified, an endpoint IP is not a Pod",
             server=PODS_VERIFIED),
    nodata(f"default.pod.{ZONE}", "A", "CoreDNS kubernetes README, pods / coredns#1228 (verified)",
           server=PODS_VERIFIED),

    # --- CoreDNS endpoint_pod_names: --endpoint-pod-names ---
    ok(ep("peers-7f9c-xyz", "peers"), "A", a(ep("peers-7f9c-xyz", "peers"), "10.244.2.2"),
       "CoreDNS endpoint_pod_names: no hostname, named by the targetRef Pod", server=POD_NAMES),
    nxdomain(ep("10-244-2-2", "peers"), "A", "CoreDNS endpoint_pod_names: the Pod name replaces the dashed IP",
             server=POD_NAMES),
    ok(ep("peer-a", "peers"), "A", a(ep("peer-a", "peers"), "10.244.2.1"),
       "CoreDNS endpoint_pod_names: hostname still wins", server=POD_NAMES),
    ok(ep("10-244-2-9", "peers"), "A", a(ep("10-244-2-9", "peers"), "10.244.2.9"),
       "CoreDNS endpoint_pod_names: no targetRef, the dashed IP", server=POD_NAMES),
    ok(ep("10-244-2-10", "peers"), "A", a(ep("10-244-2-10", "peers"), "10.244.2.10"),
       "CoreDNS endpoint_pod_names (PR coredns#4908): Pod name of 64+ chars, the dashed IP",
       server=POD_NAMES),
    ok(rev("10.244.2.2"), "PTR", ptr("10.244.2.2", ep("peers-7f9c-xyz", "peers")),
       "CoreDNS endpoint_pod_names: the PTR follows the name", server=POD_NAMES),
    ok(ep("10-244-0-5", "kube-dns", "kube-system"), "A",
       a(ep("10-244-0-5", "kube-dns", "kube-system"), "10.244.0.5"),
       "CoreDNS findServices: endpoint names under ClusterIP Services (CoreDNS answers them, and the "
       "PTR of 10.244.0.5 points here)"),

    # --- CoreDNS ns.go: the apex ---
    ok(ZONE, "SOA", {SOA5}, "RFC 2308 §3; CoreDNS ns.go (SOA fields, minimum = TTL)"),
    ok(ZONE, "NS", {rr(ZONE, "NS", "ns.dns.cluster.local.")},
       "CoreDNS ns.go: NS ns.dns, its address (kube-dns's ClusterIP) in additional",
       additional=a("ns.dns.cluster.local.", "10.96.0.10")),
    ok("ns.dns.cluster.local", "A", a("ns.dns.cluster.local.", "10.96.0.10"), "CoreDNS ns.go"),
    nodata("dns.cluster.local", "A", "RFC 8020 §2: empty non-terminal above ns.dns"),
    nodata(ZONE, "A", "CoreDNS handler.go: the apex, any other type"),
    nodata(ZONE, "TXT", "CoreDNS handler.go"),
    ok(ZONE, "NS", {rr(ZONE, "NS", "ns.dns.cluster.local.")}, "--dns-ip: the apex NS target's address",
       additional=a("ns.dns.cluster.local.", "10.96.0.53"), server=DNS_IP),
    ok("ns.dns.cluster.local", "A", a("ns.dns.cluster.local.", "10.96.0.53"),
       "--dns-ip: the apex NS target's address", server=DNS_IP),

    # --- namespaces and other negatives (CoreDNS handler.go; coredns#4984) ---
    nodata(f"svc.{ZONE}", "A", "CoreDNS handler.go"),
    nodata(f"empty.svc.{ZONE}", "A", "CoreDNS namespace.go: a Namespace object without Services exists"),
    nodata(f"default.svc.{ZONE}", "A", "CoreDNS handler.go"),
    nodata(f"kube-system.svc.{ZONE}", "SRV", "CoreDNS handler.go; coredns#4984: a namespace lists nothing"),
    nxdomain(f"nons.svc.{ZONE}", "A", "CoreDNS handler.go: unknown namespace"),
    nxdomain(f"nope.default.svc.{ZONE}", "A", "CoreDNS handler.go: unknown Service"),
    nxdomain(f"nope.empty.svc.{ZONE}", "A", "CoreDNS handler.go: unknown Service"),
    nxdomain(f"x.{ZONE}", "A", "CoreDNS handler.go: second label neither svc nor pod"),
    nxdomain(f"*.default.svc.{ZONE}", "A", "coredns#4984: wildcards are ordinary labels"),
    nxdomain(f"a.b.c.{svc('peers')}", "A", "CoreDNS handler.go: too many labels"),

    # --- RFC 8482: ANY ---
    ok(KUBE_DNS, "ANY", None, "RFC 8482 §4.1: a minimal answer, not NXDOMAIN (RFC 8482)",
       extra=minimal_any({"A": a(KUBE_DNS, "10.96.0.10"),
                          "SRV": srv(KUBE_DNS, 53, KUBE_DNS, weight=50)
                          | srv(KUBE_DNS, 9153, KUBE_DNS, weight=50)})),
    ok(PEERS, "ANY", None, "RFC 8482 §4.1 (headless)",
       extra=minimal_any({"A": a(PEERS, *PEER_ADDRESSES)})),
    ok(svc("ext-out"), "ANY", cname(svc("ext-out"), "orders.production.example.com."),
       "RFC 1034 §4.3.2 / RFC 8482: the CNAME is the name's only RRset"),
    nxdomain(f"nope.default.svc.{ZONE}", "ANY", "RFC 8482: a missing name stays NXDOMAIN"),

    # --- EDNS(0), RFC 6891 / 3225; classes and zones (CoreDNS server.go; RFC 6891) ---
    ok(KUBE_DNS, "A", a(KUBE_DNS, "10.96.0.10"),
       "RFC 6891 §6.2.5: our size 1232, whatever the client offers",
       options=("+bufsize=4096",)),
    ok(KUBE_DNS, "A", a(KUBE_DNS, "10.96.0.10"), "RFC 6891 §6.2.5: 512 offered, 1232 said",
       options=("+bufsize=512",)),
    ok(KUBE_DNS, "A", a(KUBE_DNS, "10.96.0.10"),
       "RFC 6891 §7: no OPT in the query, none in the reply", options=("+noedns",),
       edns="absent"),
    Row(KUBE_DNS, "A", "BADVERS", set(), set(),
        "RFC 6891 §6.1.3: EDNS version 1 gets BADVERS with an OPT of version 0",
        aa=None, options=("+edns=1", "+noednsnegotiation")),
    ok(KUBE_DNS, "A", a(KUBE_DNS, "10.96.0.10"),
       "RFC 3225 §3: 'The DO bit of the query MUST be copied in the response' (no DNSSEC "
       "records are added; CoreDNS clears it)", options=("+dnssec",)),
    refused(KUBE_DNS, "A", "CoreDNS server.go: class CH is REFUSED", qclass="CH"),
    refused("version.bind", "TXT", "CoreDNS server.go: CHAOS version.bind is REFUSED",
            qclass="CH"),
    refused("example.com", "A", "CoreDNS server.go: outside our zones, no forwarding"),
    refused("local", "SOA", "CoreDNS server.go: the parent of our zone is not ours"),

    # --- CoreDNS k8s_external: --external-zone public.example ---
    ok(ext("public-api"), "A", a(ext("public-api"), "198.51.100.90"),
       "CoreDNS plugin/kubernetes/object/service.go: status.loadBalancer.ingress[].ip",
       server=EXTERNAL),
    ok(ext("public-api"), "AAAA", aaaa(ext("public-api"), "2001:db8::90"),
       "CoreDNS plugin/kubernetes/object/service.go: spec.externalIPs", server=EXTERNAL),
    ok(f"_http._tcp.{ext('public-api')}", "SRV",
       srv(f"_http._tcp.{ext('public-api')}", 80, ext("public-api")),
       "CoreDNS plugin/kubernetes/external.go: SRV per named port to SVC.NS.ZONE",
       additional=a(ext("public-api"), "198.51.100.90") | aaaa(ext("public-api"), "2001:db8::90"),
       server=EXTERNAL),
    ok(ext("public-shop"), "A", cname(ext("public-shop"), "lb-1234.elb.example.net."),
       "a load balancer's hostname: a CNAME (not chased: outside our zones)", server=EXTERNAL),
    ok(f"_https._tcp.{ext('public-shop')}", "SRV",
       srv(f"_https._tcp.{ext('public-shop')}", 443, "lb-1234.elb.example.net."),
       "RFC 2782: the SRV target is the hostname, never the alias", server=EXTERNAL),
    ok(EXT_ZONE, "SOA", {EXT_SOA}, "CoreDNS plugin/k8s_external/apex.go: the apex SOA",
       server=EXTERNAL),
    ok(EXT_ZONE, "NS", {rr(EXT_ZONE, "NS", f"ns1.{EXT_ZONE}")},
       "CoreDNS plugin/k8s_external/apex.go: NS ns1, its address (--external-ns-ip) in additional",
       additional=a(f"ns1.{EXT_ZONE}", "192.0.2.53"), server=EXTERNAL),
    nxdomain(ext("dual"), "A", "CoreDNS plugin/kubernetes/external.go: a ClusterIP is not external",
             soa_rr=EXT_SOA, server=EXTERNAL),
    nxdomain(ext("nope"), "A", "an unknown Service", soa_rr=EXT_SOA, server=EXTERNAL),
    nodata(ext("public-api"), "TXT", "RFC 2308 §2.2: a type the name lacks", soa_rr=EXT_SOA,
           server=EXTERNAL),
    nodata(f"default.{EXT_ZONE}", "A", "CoreDNS plugin/kubernetes/external.go: a namespace",
           soa_rr=EXT_SOA, server=EXTERNAL),
    nodata(f"_tcp.{ext('public-api')}", "SRV", "RFC 8020 §2: empty non-terminal",
           soa_rr=EXT_SOA, server=EXTERNAL),
    ok(svc("public-api"), "A", a(svc("public-api"), "10.96.0.90"),
       "k8s spec 2.3.1: in the cluster zone a LoadBalancer Service is its ClusterIP alone",
       server=EXTERNAL),

    # --- CoreDNS ttl; RFC 2308 §3: TTLs with --ttl 600 (negative TTL min(TTL, 300)) ---
    ok(KUBE_DNS, "A", a(KUBE_DNS, "10.96.0.10", ttl=600), "CoreDNS ttl: --ttl", server=TTL_600),
    ok(ZONE, "SOA", {soa(ttl=600, minimum=600)}, "RFC 2308 §3: SOA TTL and MINIMUM = TTL",
       server=TTL_600),
    nxdomain(f"nope.default.svc.{ZONE}", "A",
             "RFC 2308 §5 / RFC 2308 §3: negative SOA TTL min(TTL, 300), MINIMUM = TTL",
             soa_rr=NEG_SOA_600, server=TTL_600),
    nodata(KUBE_DNS, "AAAA", "RFC 2308 §5 / RFC 2308 §3 (NODATA)", soa_rr=NEG_SOA_600,
           server=TTL_600),
    nxdomain(rev("10.99.99.99"), "PTR", "RFC 2308 §5 / RFC 2308 §3 (reverse zone)",
             soa_rr=soa(REV4, ttl=300, minimum=600), server=TTL_600),
    ok(pod("10-244-1-10"), "A", a(pod("10-244-1-10"), "10.244.1.10", ttl=600),
       "CoreDNS ttl: Pod names use the TTL", server=TTL_600),
    ok("dns-version.cluster.local", "TXT", {rr("dns-version.cluster.local.", "TXT", '"1.1.0"',
                                              ttl=28800)},
       "CoreDNS kubernetes.go dns-version; CoreDNS ttl: dns-version is fixed at 28800", server=TTL_600),
]


# --- running a row ----------------------------------------------------------------------


def mixed_case(name, rng):
    """The name with each letter's case flipped at random, and at least one upper."""
    if not any(ch.isalpha() for ch in name):
        return name
    while True:
        out = "".join(ch.upper() if ch.isalpha() and rng.random() < 0.5 else ch for ch in name)
        if out != name.lower():
            return out


def fqdn(name):
    return name.rstrip(".") + "."


def owner_case_problems(sent, r):
    """Owners that are the qname or one of its ancestors (the SOA apex) but are not spelled
    as the question spelled them."""
    problems = []
    sent_f = fqdn(sent)
    for section in ("answer", "authority"):
        for x in getattr(r, section):
            owner = x[0]
            lo = owner.lower()
            if lo == sent_f.lower() or (lo != "." and sent_f.lower().endswith("." + lo)):
                want = sent_f[len(sent_f) - len(owner):]
                if owner != want:
                    problems.append(f"{section} owner {owner} (want {want})")
    return problems


def target_case_problems(sent, r):
    """Generated SRV/NS targets in the question's zone (the cluster zone or the external
    one) whose zone part is not in the question's case (the protocol rules; CoreDNS
    handler_case_test)."""
    sent_f = fqdn(sent)
    zones = [z for z in (ZONE, EXT_ZONE) if sent_f.lower().endswith("." + z) or
             sent_f.lower() == z]
    if not zones:
        return []
    zone = zones[0]
    zone_as_sent = sent_f[len(sent_f) - len(zone):]
    problems = []
    for x in r.answer:
        if x[3] not in ("SRV", "NS"):
            continue
        target = x[4].split()[-1]
        if target.lower().endswith("." + zone) and target[-len(zone):] != zone_as_sent:
            problems.append(f"{x[3]} target {target} (zone part should read {zone_as_sent})")
    return problems


def section_texts(r, section):
    return [rr_text(x).lower() for x in getattr(r, section)]


def lowered(want):
    return [w.lower() if isinstance(w, str) else w for w in want]


def check_section(c, r, section, want, what, detail):
    if want is None:
        return
    good, missing, unexpected = match_rrs(section_texts(r, section), lowered(want))
    note = ""
    if missing:
        note += "missing:\n  " + "\n  ".join(missing) + "\n"
    if unexpected:
        note += "unexpected:\n  " + "\n  ".join(unexpected) + "\n"
    c.check(good, f"{what}: {section} section", note + detail)


def check_edns(c, row, r, what, detail):
    if row.edns == "absent":
        c.check(r.edns is None, f"{what}: no OPT in the reply", detail)
        return
    line = r.edns or ""
    c.check("version: 0," in line and re.search(r"udp: 1232\b", line) is not None,
            f"{what}: OPT version 0, udp 1232", detail)
    asked_do = "+dnssec" in row.options
    has_do = re.search(r"flags:[^;]*\bdo\b", line) is not None
    c.check(has_do == asked_do, f"{what}: DO bit {'copied' if asked_do else 'clear'}",
            detail)


def evaluate(c, row, variant, sent, r, seed):
    what = f"[{row.server}, {variant}] {sent} {row.qclass} {row.qtype}"
    detail = f"why: {row.why}\n(mixed-case seed {seed})\n{r.describe()}"
    c.expect_equal(r.rcode, row.rcode, f"{what}: rcode", detail)
    if row.aa is not None:
        c.check(("aa" in r.flags) == row.aa, f"{what}: aa flag {'set' if row.aa else 'clear'}",
                detail)
    c.expect_equal(r.question, [(fqdn(sent), row.qclass, row.qtype)],
                   f"{what}: question echoed byte for byte", detail)
    check_section(c, r, "answer", row.answer, what, detail)
    check_section(c, r, "authority", row.authority, what, detail)
    check_section(c, r, "additional", row.additional, what, detail)
    problems = owner_case_problems(sent, r)
    c.check(not problems, f"{what}: owners keep the question's case (0x20)",
            "\n".join(problems) + "\n" + detail)
    if variant == "udp, mixed case":
        problems = target_case_problems(sent, r)
        c.check(not problems, f"{what}: generated targets keep the zone's case (0x20)",
                "\n".join(problems) + "\n" + detail)
    check_edns(c, row, r, what, detail)
    c.check(not r.malformed, f"{what}: well-formed", detail)
    if row.extra is not None:
        good, text = row.extra(row, sent, r)
        c.check(good, f"{what}: {text}", detail)


def plan(rows, rng):
    """(row index, variant, qname as sent, tcp) for every query to ask."""
    jobs = []
    for i, row in enumerate(rows):
        jobs.append((i, "udp", row.qname, False))
        jobs.append((i, "tcp", row.qname, True))
        jobs.append((i, "udp, mixed case", mixed_case(row.qname, rng), False))
    return jobs


def ask_all(servers, jobs):
    """The DigResult of every job, asked in batches (one dig per batch) on a few threads."""
    batches = []
    for name in servers:
        mine = [j for j in jobs if ROWS[j[0]].server == name]
        for k in range(0, len(mine), BATCH):
            batches.append((name, mine[k:k + BATCH]))

    def ask(batch):
        name, batch_jobs = batch
        queries = [DigQuery(sent, ROWS[i].qtype, ROWS[i].qclass, ROWS[i].options, tcp)
                   for i, _, sent, tcp in batch_jobs]
        return dict(zip(batch_jobs, run_dig_batch(servers[name].port, queries)))

    answers = {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=WORKERS) as pool:
        for part in pool.map(ask, batches):
            answers.update(part)
    return [answers[j] for j in jobs]


def start_servers(c, binary):
    servers = {}
    for name, flags in INSTANCES.items():
        server = Server(binary, [CONFORMANCE_DATA], c, extra_args=flags,
                        name=f"dnsd-conformance-{name}")
        try:
            servers[name] = server.start()
        except RuntimeError as e:
            c.check(False, f"dnsd {' '.join(flags) or '(default flags)'}: {e}")
    return servers


def main():
    binary = harness.binary_from_argv("test_conformance")
    c = Checks("test_conformance")
    seed = int(os.environ.get("CONFORMANCE_SEED", random.SystemRandom().randrange(1 << 30)))
    servers = {}
    try:
        servers = start_servers(c, binary)
        jobs = [j for j in plan(ROWS, random.Random(seed)) if ROWS[j[0]].server in servers]
        for row in ROWS:
            if row.server not in servers:
                c.check(False, f"[{row.server}] {row.qname} {row.qtype}: skipped, no server")

        results = ask_all(servers, jobs)
        for (i, variant, sent, _), r in zip(jobs, results):
            evaluate(c, ROWS[i], variant, sent, r, seed)
        for name, server in servers.items():
            c.check(server.alive(), f"dnsd {name}: still running after its queries")
    finally:
        for server in servers.values():
            server.stop()
    c.finish()


if __name__ == "__main__":
    main()
