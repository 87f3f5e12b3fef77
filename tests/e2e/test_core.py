"""End-to-end: the real dnsd answers dig about a test cluster, over UDP and over TCP.

Run: python3 tests/e2e/test_core.py build/tests/dnsd-e2e   (dnsd, told --user root when run as root)

Behaviours (tests/data/e2e/cluster.yaml and big.yaml; zone cluster.local, TTL 5):
  - A ClusterIP Service answers its A with exactly its ClusterIP, NOERROR, AA, TTL 5;
    the other family (AAAA) is NODATA with the zone's SOA in authority (coredns#779).
  - A Service in another namespace answers under its own namespace.
  - An IPv6 Service answers AAAA with its address, and A is NODATA.
  - A headless Service answers one A per ready Pod (the not-ready one is left out);
    each ready Pod with hostname+subdomain has its own name; a not-ready one is NXDOMAIN.
  - An ExternalName Service answers a CNAME to its externalName.
  - A headless Service with no ready endpoints is NXDOMAIN; a ClusterIP Service with no
    endpoints still answers its ClusterIP.
  - An unknown Service is NXDOMAIN with the SOA (TTL 5) in authority; `svc.cluster.local`
    and existing namespaces are NODATA; an unknown namespace is NXDOMAIN.
  - cluster.local SOA and NS are the dnsd ones.
  - A name outside the zone is REFUSED (forwarding is not configured).
  - The question's case is echoed exactly (0x20 randomisation survives).
  - 60 A records do not fit in 512 bytes: UDP without EDNS sets TC and keeps as many whole
    RRs as fit (29), not always starting at the same address; TCP gives all 60; UDP with a
    1232-byte EDNS buffer gives all 60 without TC.
  - Malformed packets do not crash the server: random bytes, qdcount=2 with garbage
    (FORMERR or silence), a reply (QR=1: silence), opcode STATUS (NOTIMP).
  - Every name the examples in zones/ define answers as they write it: my-service,
    backend-service, api, inference-api (its written ClusterIP 10.0.0.52), db-service (CNAME
    mysql.prod.example.com), orders-db (CNAME orders-db.production.company.net), db-headless and
    cassandra-N.db-headless; other addresses come from 10.96.0.0/12 and 10.244.0.0/16, the same
    on every start.
"""

import os
import random
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from harness import Checks, Server, in_cidr, make_query, parse_header  # noqa: E402

E2E_DATA = os.path.join(harness.DATA, "e2e")
TRANSPORTS = (("udp", False), ("tcp", True))
TTL = 5
SOA_OWNER = "cluster.local."
NOTIMP, FORMERR = 4, 1


def lower(name):
    """A name for comparing: lowercase, with its final dot."""
    return name.lower().rstrip(".") + "."


# --- shared expectations ------------------------------------------------------------


def expect_answer(c, srv, qname, qtype, want, options=(), rtype=None, owner=None):
    """NOERROR, AA, and the answer's `rtype` RRs are exactly `want` (any order), TTL 5."""
    rtype = rtype or qtype
    for proto, tcp in TRANSPORTS:
        what = f"{qname} {qtype} over {proto}"
        r = srv.dig(qname, qtype, options, tcp)
        c.expect_equal(r.rcode, "NOERROR", f"{what}: rcode", r.describe())
        c.check("aa" in r.flags, f"{what}: aa flag set", r.describe())
        c.expect_equal(sorted(r.rdatas("answer", rtype)), sorted(want), f"{what}: {rtype} set",
                       r.describe())
        rows = r.rrs("answer", rtype)
        c.check(all(row[1] == TTL for row in rows), f"{what}: TTL {TTL}", r.describe())
        c.check(all(lower(row[0]) == lower(owner or qname) for row in rows),
                f"{what}: owner name", r.describe())
        c.check(not r.malformed, f"{what}: well-formed", r.describe())


def expect_negative(c, srv, qname, qtype, rcode):
    """rcode (NXDOMAIN or NOERROR for NODATA), AA, empty answer, the zone SOA in authority."""
    for proto, tcp in TRANSPORTS:
        what = f"{qname} {qtype} over {proto}"
        r = srv.dig(qname, qtype, (), tcp)
        c.expect_equal(r.rcode, rcode, f"{what}: rcode", r.describe())
        c.check("aa" in r.flags, f"{what}: aa flag set", r.describe())
        c.expect_equal(r.answer, [], f"{what}: empty answer", r.describe())
        soas = r.rrs("authority", "SOA")
        c.expect_equal([lower(s[0]) for s in soas], [SOA_OWNER], f"{what}: SOA in authority",
                       r.describe())
        c.check(all(s[1] == TTL for s in soas), f"{what}: negative SOA TTL {TTL}", r.describe())


def expect_nodata(c, srv, qname, qtype):
    expect_negative(c, srv, qname, qtype, "NOERROR")


def expect_nxdomain(c, srv, qname, qtype):
    expect_negative(c, srv, qname, qtype, "NXDOMAIN")


# --- scenarios on tests/data/e2e ----------------------------------------------------


def test_clusterip_service(c, srv):
    expect_answer(c, srv, "web.default.svc.cluster.local", "A", ["10.96.0.20"])
    expect_nodata(c, srv, "web.default.svc.cluster.local", "AAAA")


def test_other_namespace(c, srv):
    expect_answer(c, srv, "api.other.svc.cluster.local", "A", ["10.96.1.5"])


def test_ipv6_service(c, srv):
    expect_answer(c, srv, "v6svc.default.svc.cluster.local", "AAAA", ["fd00:10:96::5"])
    expect_nodata(c, srv, "v6svc.default.svc.cluster.local", "A")


def test_headless_service(c, srv):
    expect_answer(c, srv, "db-headless.default.svc.cluster.local", "A",
                  ["10.244.1.10", "10.244.1.11"])
    expect_answer(c, srv, "cassandra-0.db-headless.default.svc.cluster.local", "A",
                  ["10.244.1.10"])
    expect_answer(c, srv, "cassandra-1.db-headless.default.svc.cluster.local", "A",
                  ["10.244.1.11"])
    expect_nxdomain(c, srv, "cassandra-2.db-headless.default.svc.cluster.local", "A")


def test_external_name(c, srv):
    expect_answer(c, srv, "orders-db.default.svc.cluster.local", "A",
                  ["orders-db.production.company.net."], rtype="CNAME")


def test_services_without_endpoints(c, srv):
    expect_nxdomain(c, srv, "empty-headless.default.svc.cluster.local", "A")
    expect_answer(c, srv, "idle.default.svc.cluster.local", "A", ["10.96.0.30"])


def test_negative_answers(c, srv):
    expect_nxdomain(c, srv, "nope.default.svc.cluster.local", "A")
    expect_nodata(c, srv, "svc.cluster.local", "A")
    expect_nodata(c, srv, "default.svc.cluster.local", "A")
    expect_nodata(c, srv, "other.svc.cluster.local", "A")
    expect_nxdomain(c, srv, "missingns.svc.cluster.local", "A")


def test_apex(c, srv):
    soa_re = re.compile(r"^ns\.dns\.cluster\.local\. hostmaster\.cluster\.local\. "
                        r"(\d+) 7200 1800 86400 5$")
    for proto, tcp in TRANSPORTS:
        r = srv.dig("cluster.local", "SOA", (), tcp)
        what = f"cluster.local SOA over {proto}"
        c.expect_equal(r.rcode, "NOERROR", f"{what}: rcode", r.describe())
        c.check("aa" in r.flags, f"{what}: aa flag set", r.describe())
        soas = r.rrs("answer", "SOA")
        c.expect_equal(len(soas), 1, f"{what}: one SOA", r.describe())
        c.check(len(soas) == 1 and soa_re.match(soas[0][4]) is not None,
                f"{what}: rdata is 'ns.dns.cluster.local. hostmaster.cluster.local. SERIAL "
                f"7200 1800 86400 5'", r.describe())
        c.check(all(lower(s[0]) == SOA_OWNER and s[1] == TTL for s in soas),
                f"{what}: owner and TTL", r.describe())
    expect_answer(c, srv, "cluster.local", "NS", ["ns.dns.cluster.local."])


def test_out_of_zone(c, srv):
    for proto, tcp in TRANSPORTS:
        r = srv.dig("example.org", "A", (), tcp)
        c.expect_equal(r.rcode, "REFUSED", f"example.org A over {proto}: rcode", r.describe())
        c.expect_equal(r.answer, [], f"example.org A over {proto}: empty answer", r.describe())


def test_case_is_echoed(c, srv):
    qname = "WeB.DeFaUlT.sVc.ClUsTeR.lOcAl"
    expect_answer(c, srv, qname, "A", ["10.96.0.20"])
    for proto, tcp in TRANSPORTS:
        r = srv.dig(qname, "A", (), tcp)
        c.expect_equal(r.question, [(qname + ".", "IN", "A")],
                       f"{qname} A over {proto}: question echoed with its case", r.describe())


def test_truncation(c, srv):
    qname = "big.default.svc.cluster.local"
    every = sorted(f"10.244.2.{i}" for i in range(1, 61))

    r = srv.dig(qname, "A", ("+noedns", "+ignore"), tcp=False)
    what = f"{qname} A over udp, no EDNS"
    c.expect_equal(r.rcode, "NOERROR", f"{what}: rcode", r.describe())
    c.check("tc" in r.flags, f"{what}: tc flag set", r.describe())
    # As many whole RRs as fit (12-byte header, 35-byte question, 16 bytes an A RR): a
    # client that never retries over TCP (musl before 1.2.4) still gets addresses.
    c.expect_equal(len(r.rdatas("answer", "A")), (512 - 12 - 35) // 16,
                   f"{what}: as many A RRs as fit in 512 bytes", r.describe())
    # Each worker rotates its own answers: of six queries some worker answers two, so at
    # least two different first addresses show up.
    firsts = [srv.dig(qname, "A", ("+noedns", "+ignore"), tcp=False).rdatas("answer", "A")[:1]
              for _ in range(6)]
    c.check(len({tuple(f) for f in firsts if f}) >= 2,
            f"{what}: truncated answers start at different addresses ({firsts})", r.describe())
    c.check(r.msg_size is not None and r.msg_size <= 512, f"{what}: at most 512 bytes",
            r.describe())
    c.check(not r.malformed, f"{what}: whole RRs, well-formed", r.describe())
    c.check(set(r.rdatas("answer", "A")) <= set(every), f"{what}: only big's addresses",
            r.describe())

    r = srv.dig(qname, "A", ("+noedns",), tcp=True)
    what = f"{qname} A over tcp"
    c.expect_equal(r.rcode, "NOERROR", f"{what}: rcode", r.describe())
    c.check("tc" not in r.flags, f"{what}: tc flag clear", r.describe())
    c.expect_equal(sorted(r.rdatas("answer", "A")), every, f"{what}: all 60 addresses",
                   r.describe())

    r = srv.dig(qname, "A", ("+bufsize=1232", "+ignore"), tcp=False)
    what = f"{qname} A over udp, EDNS 1232"
    n = len(r.rdatas("answer", "A"))
    c.expect_equal(r.rcode, "NOERROR", f"{what}: rcode", r.describe())
    c.check("tc" not in r.flags and n == 60,
            f"{what}: all 60 answers fit, tc clear ({n} answers, flags {sorted(r.flags)})",
            r.describe())
    c.check(r.msg_size is not None and r.msg_size <= 1232, f"{what}: at most 1232 bytes",
            r.describe())
    c.check(r.edns is not None, f"{what}: OPT in the reply", r.describe())
    c.check(not r.malformed, f"{what}: well-formed", r.describe())


def still_answers(c, srv, what):
    c.check(srv.alive(), f"{what}: server still running")
    for proto, tcp in TRANSPORTS:
        r = srv.dig("web.default.svc.cluster.local", "A", (), tcp)
        c.check(r.rcode == "NOERROR" and r.rdatas("answer", "A") == ["10.96.0.20"],
                f"{what}: a valid query over {proto} is still answered", r.describe())


def test_malformed_packets(c, srv):
    rng = random.Random(20240605)  # fixed: the same "random" bytes on every run
    for proto, tcp in TRANSPORTS:
        # Random bytes: shorter than a header, a header's worth, a little more.
        for length in (5, 12, 17, 40):
            packet = bytes(rng.randrange(256) for _ in range(length))
            reply = srv.raw(packet, tcp)
            h = parse_header(reply)
            c.check(reply is None or (h is not None and h["qr"]),
                    f"{length} random bytes over {proto}: no reply or a reply with QR",
                    f"sent {packet.hex()}, got {reply.hex() if reply else None}")
        still_answers(c, srv, f"after random bytes over {proto}")

        # A header that claims two questions, then garbage.
        packet = make_query("", qid=0xBEEF, qdcount=2, tail=b"\x03abc\xff\xfe\x01")
        reply = srv.raw(packet, tcp)
        h = parse_header(reply)
        c.check(reply is None or (h is not None and h["id"] == 0xBEEF and h["qr"]
                                  and h["rcode"] == FORMERR),
                f"qdcount=2 and garbage over {proto}: FORMERR or no reply",
                f"got {h} ({reply.hex() if reply else None})")

        # QR set: this is a reply, and a server must never answer a reply.
        packet = make_query("web.default.svc.cluster.local", "A", qid=0x0A0A, flags=0x8000)
        reply = srv.raw(packet, tcp)
        c.check(reply is None, f"a packet with QR=1 over {proto}: no reply",
                f"got {parse_header(reply)} ({reply.hex() if reply else None})")

        # Opcode 2 (STATUS) with a valid question.
        packet = make_query("web.default.svc.cluster.local", "A", qid=0x5151, flags=2 << 11)
        reply = srv.raw(packet, tcp)
        h = parse_header(reply)
        c.check(h is not None and h["id"] == 0x5151 and h["qr"] and h["rcode"] == NOTIMP,
                f"opcode STATUS over {proto}: NOTIMP",
                f"got {h} ({reply.hex() if reply else None})")
        c.check(h is not None and h["opcode"] == 2, f"opcode STATUS over {proto}: opcode echoed",
                f"got {h}")
        still_answers(c, srv, f"after malformed packets over {proto}")


# --- scenario on zones/ -------------------------------------------------------------

ZONE_NAMES = [
    ("backend-service.default.svc.cluster.local", "A"),
    ("inference-api.default.svc.cluster.local", "A"),
    ("fraud-model-service.default.svc.cluster.local", "A"),
    ("mysql.default.svc.cluster.local", "A"),
    ("my-service.default.svc.cluster.local", "A"),
    ("api.default.svc.cluster.local", "A"),
    ("db-service.default.svc.cluster.local", "A"),
    ("orders-db.default.svc.cluster.local", "A"),
    ("db-headless.default.svc.cluster.local", "A"),
    ("cassandra-0.db-headless.default.svc.cluster.local", "A"),
    ("cassandra-1.db-headless.default.svc.cluster.local", "A"),
    ("cassandra-2.db-headless.default.svc.cluster.local", "A"),
]


def ask_zones(c, srv, run):
    """{(qname, qtype): sorted rdatas} over UDP; checks TCP says the same."""
    answers = {}
    for qname, qtype in ZONE_NAMES:
        per_proto = {}
        for proto, tcp in TRANSPORTS:
            r = srv.dig(qname, qtype, (), tcp)
            c.expect_equal(r.rcode, "NOERROR", f"zones/ {run}: {qname} {qtype} over {proto}: "
                           "rcode", r.describe())
            per_proto[proto] = sorted(row[3] + " " + row[4] for row in r.answer)
        c.expect_equal(per_proto["tcp"], per_proto["udp"],
                       f"zones/ {run}: {qname} {qtype}: same answer over udp and tcp")
        answers[(qname, qtype)] = per_proto["udp"]
    return answers


def addresses(answer):
    return [rr.split(" ", 1)[1] for rr in answer if rr.startswith("A ")]


def test_zones_examples(c, binary):
    runs = []
    for run in ("first start", "second start"):
        srv = Server(binary, [harness.ZONES], c, name=f"dnsd-zones-{len(runs) + 1}")
        try:
            srv.start()
            runs.append(ask_zones(c, srv, run))
        finally:
            srv.stop()
    first = runs[0]

    cluster_ips = []
    for name in ("backend-service", "fraud-model-service", "mysql", "my-service", "api"):
        ips = addresses(first[(f"{name}.default.svc.cluster.local", "A")])
        c.check(len(ips) == 1 and in_cidr(ips[0], "10.96.0.0/12"),
                f"zones/: {name} has one A in 10.96.0.0/12", f"got {ips}")
        cluster_ips += ips
    c.expect_equal(len(set(cluster_ips)), len(cluster_ips), "zones/: ClusterIPs are distinct")

    c.expect_equal(addresses(first[("inference-api.default.svc.cluster.local", "A")]),
                   ["10.0.0.52"], "zones/: inference-api has its written ClusterIP")
    c.expect_equal(first[("db-service.default.svc.cluster.local", "A")][:1],
                   ["CNAME mysql.prod.example.com."], "zones/: db-service CNAME (an ExternalName)")
    c.expect_equal(first[("orders-db.default.svc.cluster.local", "A")][:1],
                   ["CNAME orders-db.production.company.net."], "zones/: orders-db CNAME")

    pods = addresses(first[("db-headless.default.svc.cluster.local", "A")])
    c.check(len(set(pods)) == 3 and all(in_cidr(ip, "10.244.0.0/16") for ip in pods),
            "zones/: db-headless has 3 distinct A in 10.244.0.0/16", f"got {pods}")
    named = []
    for i in range(3):
        ips = addresses(first[(f"cassandra-{i}.db-headless.default.svc.cluster.local", "A")])
        c.check(len(ips) == 1 and in_cidr(ips[0], "10.244.0.0/16"),
                f"zones/: cassandra-{i}.db-headless has one A in 10.244.0.0/16", f"got {ips}")
        named += ips
    c.expect_equal(sorted(named), sorted(pods),
                   "zones/: the cassandra-N names are the addresses of db-headless")

    if len(runs) == 2:
        c.expect_equal(runs[1], runs[0], "zones/: a restart gives the same addresses")


def test_every_listen_address(c, binary):
    """Two --listen addresses, two workers each: every worker answers, over UDP and TCP on
    both, and SIGTERM ends them all, with exit code 0, before the harness's SIGKILL. (Each
    worker waits in recvmmsg; the stop shuts its socket down for reading to end the wait.
    Without that, a worker would still notice within its one-second idle wake-up, so this
    test does not tell the two apart: it catches a worker that never returns.)"""
    second = harness.free_port()
    srv = Server(binary, [E2E_DATA], c, name="dnsd-listens",
                 extra_args=["--listen", f"127.0.0.1:{second}", "--threads", "2"])
    try:
        srv.start()
        for port in (srv.port, second):
            for proto, tcp in TRANSPORTS:
                r = harness.run_dig(port, "web.default.svc.cluster.local", "A", (), tcp)
                c.expect_equal(r.rdatas("answer", "A"), ["10.96.0.20"],
                               f"port {port} over {proto}: web's A", r.describe())
            # Each exchange comes from a new source port, and SO_REUSEPORT spreads source
            # ports over the address's two workers: 24 all on one would happen once in 8M.
            answered = 0
            for qid in range(24):
                packet = make_query("web.default.svc.cluster.local", "A", qid=qid)
                h = parse_header(harness.raw_exchange(port, packet, timeout=2.0))
                answered += h is not None and h["id"] == qid and h["ancount"] == 1
            c.expect_equal(answered, 24, f"port {port}: 24 queries from 24 source ports answered")
    except RuntimeError as e:
        c.check(False, f"dnsd with two --listen addresses: {e}")
    finally:
        started = time.monotonic()
        code = srv.stop()
        took = time.monotonic() - started
    c.expect_equal(code, 0, "two --listen addresses: exit code after SIGTERM")
    # Not a speed figure: a worker that never returned would meet the harness's SIGKILL at 5 s.
    c.check(took < 3.0, "two --listen addresses: SIGTERM stops dnsd within 3 s",
            f"took {took:.2f} s")


# --- main ---------------------------------------------------------------------------

SCENARIOS = [
    test_clusterip_service,
    test_other_namespace,
    test_ipv6_service,
    test_headless_service,
    test_external_name,
    test_services_without_endpoints,
    test_negative_answers,
    test_apex,
    test_out_of_zone,
    test_case_is_echoed,
    test_truncation,
    test_malformed_packets,
]


def main():
    binary = harness.binary_from_argv("test_core")
    c = Checks("test_core")
    srv = Server(binary, [E2E_DATA], c, name="dnsd-core")
    try:
        srv.start()
        for scenario in SCENARIOS:
            if not srv.alive():
                c.check(False, f"{scenario.__name__}: skipped, dnsd exited "
                               f"({srv.proc.returncode})")
                continue
            c.run(scenario, c, srv)
    except RuntimeError as e:
        c.check(False, f"dnsd on tests/data/e2e: {e}")
    finally:
        srv.stop()
    c.run(test_zones_examples, c, binary)
    c.run(test_every_listen_address, c, binary)
    c.finish()


if __name__ == "__main__":
    main()
