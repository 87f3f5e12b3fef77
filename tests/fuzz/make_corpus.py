#!/usr/bin/env python3
"""Writes the seed corpora under tests/fuzz/corpus/TARGET/ (run from anywhere; rerun after
editing). Queries and replies are built by hand so every edge case is explicit; manifests and
zone files are copied from zones/ and tests/data/ beside a few hostile ones written here."""
import pathlib
import shutil
import struct

ROOT = pathlib.Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "fuzz" / "corpus"

TYPES = {"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "PTR": 12, "HINFO": 13, "MX": 15, "TXT": 16,
         "AAAA": 28, "SRV": 33, "OPT": 41, "IXFR": 251, "AXFR": 252, "ANY": 255, "TYPE999": 999}


def name(text):
    if text in (".", ""):
        return b"\0"
    out = b""
    for label in text.rstrip(".").split("."):
        raw = label.encode()
        out += bytes([len(raw)]) + raw
    return out + b"\0"


def header(qid, flags=0x0100, qd=1, an=0, ns=0, ar=0):
    return struct.pack("!HHHHHH", qid, flags, qd, an, ns, ar)


def opt(size=1232, version=0, do=False, rcode_hi=0, options=b""):
    ttl = (rcode_hi << 24) | (version << 16) | (0x8000 if do else 0)
    return b"\0" + struct.pack("!HHIH", 41, size, ttl, len(options)) + options


def query(qname, qtype="A", qid=0x1234, qclass=1, edns=None, flags=0x0100):
    """qid even: the responder target answers within the UDP limit; odd: 65535 (TCP)."""
    q = (name(qname) if isinstance(qname, str) else qname) + struct.pack("!HH", TYPES[qtype], qclass)
    ar = 1 if edns is not None else 0
    return header(qid, flags, 1, 0, 0, ar) + q + (edns if edns is not None else b"")


def rr(owner, rtype, rdata, ttl=300, rclass=1):
    owner = name(owner) if isinstance(owner, str) else owner
    return owner + struct.pack("!HHIH", TYPES[rtype], rclass, ttl, len(rdata)) + rdata


def soa_rdata(minimum=60):
    return name("ns.example.com") + name("hostmaster.example.com") + struct.pack(
        "!IIIII", 1, 7200, 1800, 86400, minimum)


def write(target, files):
    d = CORPUS / target
    if d.exists():
        shutil.rmtree(d)
    d.mkdir(parents=True)
    for fname, data in files.items():
        (d / fname).write_bytes(data)


def queries():
    c = "cluster.local"
    e = opt()
    qs = {
        "clusterip-a": query(f"web.default.svc.{c}", "A"),
        "clusterip-aaaa-nodata": query(f"web.default.svc.{c}", "AAAA", edns=e),
        "dual-a": query(f"dual.default.svc.{c}", "A", qid=0x0101),
        "dual-aaaa": query(f"dual.default.svc.{c}", "AAAA", edns=e),
        "headless-a-udp512": query(f"many.default.svc.{c}", "A"),
        "headless-a-edns": query(f"many.default.svc.{c}", "A", edns=opt(4096)),
        "headless-aaaa-tcp": query(f"many.default.svc.{c}", "AAAA", qid=0x0203),
        "headless-srv-edns": query(f"_cql._tcp.many.default.svc.{c}", "SRV", edns=opt(1232, do=True)),
        "headless-srv-tcp": query(f"_gossip._udp.many.default.svc.{c}", "SRV", qid=0x0305),
        "endpoint-hostname": query(f"node-1.many.default.svc.{c}", "AAAA"),
        "srv-clusterip": query(f"_http._tcp.web.default.svc.{c}", "SRV", edns=e),
        "externalname-out": query(f"orders-db.default.svc.{c}", "A"),
        "externalname-in": query(f"alias.default.svc.{c}", "A"),
        "externalname-chain": query(f"chain.other.svc.{c}", "AAAA"),
        "externalname-loop": query(f"loop-a.other.svc.{c}", "A", edns=e),
        "externalname-dangling": query(f"dangling.default.svc.{c}", "A"),
        "externalname-static": query(f"intranet.default.svc.{c}", "A"),
        "pod-insecure": query(f"10-244-1-10.default.pod.{c}", "A"),
        "pod-v6": query(f"fd00-10-244--5.default.pod.{c}", "AAAA"),
        "pod-bad": query(f"10-244-1-999.default.pod.{c}", "A"),
        "reverse-ptr": query("20.0.96.10.in-addr.arpa", "PTR"),
        "reverse-v6": query("0.3." + "0." * 26 + "6.9.0.0.0.1.0.0.d.f.ip6.arpa", "PTR", edns=e),
        "nxdomain": query(f"nope.default.svc.{c}", "A"),
        "empty-namespace": query(f"empty-ns.svc.{c}", "A"),
        "apex-soa": query(c, "SOA", edns=e),
        "apex-ns": query(c, "NS"),
        "any": query(f"web.default.svc.{c}", "ANY"),
        "txt-schema": query(f"dns-version.{c}", "TXT"),
        "case-0x20": query(f"WeB.dEfAuLt.SvC.cLuStEr.LoCaL", "A"),
        "static-mx": query("corp.internal", "MX", edns=e),
        "static-any": query("corp.internal", "ANY"),
        "static-cname": query("intranet.corp.internal", "A"),
        "static-back": query("back.corp.internal", "A"),
        "static-srv": query("_ldap._tcp.corp.internal", "SRV"),
        "static-wild": query("x.wild.corp.internal", "A"),
        "forward": query("example.com", "A", edns=e),
        "root": query(".", "NS"),
        "class-chaos": query("version.bind", "TXT", qclass=3),
        "class-any": query(f"web.default.svc.{c}", "A", qclass=255),
        "axfr": query(c, "AXFR"),
        "qtype-opt": query(c, "OPT"),
        "unknown-type": query(f"web.default.svc.{c}", "TYPE999"),
        "edns-small": query(f"many.default.svc.{c}", "A", edns=opt(100)),
        "edns-big": query(f"many.default.svc.{c}", "A", edns=opt(65535)),
        "edns-options": query(f"web.default.svc.{c}", "A",
                              edns=opt(options=struct.pack("!HH", 10, 8) + b"\1" * 8)),
        "badvers": query(f"web.default.svc.{c}", "A", edns=opt(version=1)),
        "opt-not-root": query(f"web.default.svc.{c}", "A",
                              edns=name("x") + opt()[1:]),
        "label-63": query("a" * 63 + f".{c}", "A"),
        "label-64": query(b"\x40" + b"a" * 64 + name(c), "A"),
        "name-255": query(".".join(["a" * 62] * 3 + ["b" * 60]), "A"),
        "name-256": query(".".join(["a" * 62] * 3 + ["b" * 61]), "A"),
        "compressed-qname": query(b"\xc0\x0c", "A"),
        "notimp-opcode": query(f"web.default.svc.{c}", "A", flags=0x1100),
        "response-qr": query(f"web.default.svc.{c}", "A", flags=0x8100),
        "header-only": header(0x1234, 0x0100, 0),
        "short-header": b"\x12\x34\x01",
        "trailing-garbage": query(f"web.default.svc.{c}", "A") + b"\0\0\0",
        "an-count": header(0x1234, 0x0100, 1, 1) + name(c) + b"\0\1\0\1",
    }
    # qdcount 2 and two OPTs, built by hand.
    q1 = name(f"web.default.svc.{c}") + b"\0\1\0\1"
    qs["qdcount-2"] = header(0x1234, 0x0100, 2) + q1 + q1
    qs["two-opts"] = header(0x1234, 0x0100, 1, 0, 0, 2) + q1 + opt() + opt()
    qs["opt-in-authority"] = header(0x1234, 0x0100, 1, 0, 1, 0) + q1 + opt()
    # IXFR carries the client's SOA in its authority section; its rdata is read by the
    # transfer code, not the parser, so a short one must still be a well-formed query.
    ixfr = name(c) + struct.pack("!HH", TYPES["IXFR"], 1)
    qs["ixfr-soa"] = header(0x1234, 0, 1, 0, 1, 0) + ixfr + rr(b"\xc0\x0c", "SOA", soa_rdata())
    qs["ixfr-short-soa"] = header(0x1234, 0, 1, 0, 1, 1) + ixfr + rr(b"\xc0\x0c", "SOA", b"abc") + opt()
    return qs


def replies():
    """Upstream replies, each after one control byte (see fuzz_upstream_reply.cc)."""
    q = name("Example.COM") + b"\0\1\0\1"
    ptr = b"\xc0\x0c"
    a = lambda ip, ttl=300: rr(ptr, "A", bytes(ip), ttl)
    rs = {
        "noerror-a": header(1, 0x8180, 1, 1) + q + a([93, 184, 216, 34]),
        "noerror-2a-edns": header(1, 0x8180, 1, 2, 0, 1) + q + a([1, 2, 3, 4]) + a([5, 6, 7, 8], 60) + opt(),
        "nxdomain-soa": header(1, 0x8183, 1, 0, 1) + q + rr(name("com"), "SOA", soa_rdata(), 900),
        "nodata-soa": header(1, 0x8180, 1, 0, 1) + q + rr(ptr, "SOA", soa_rdata(30), 3600),
        "nxdomain-no-soa": header(1, 0x8183, 1) + q,
        "cname-chain": header(1, 0x8180, 1, 2) + q + rr(ptr, "CNAME", name("www.example.net"), 100)
        + rr(b"\xc0\x29", "A", bytes([10, 0, 0, 1]), 50),
        "servfail": header(1, 0x8182, 1) + q,
        "refused": header(1, 0x8185, 1) + q,
        "truncated": header(1, 0x8380, 1) + q,
        "badvers-ext-rcode": header(1, 0x8180, 1, 0, 0, 1) + q + opt(rcode_hi=1),
        "ttl-top-bit": header(1, 0x8180, 1, 1) + q + a([1, 1, 1, 1], 0x80000001),
        "ttl-zero": header(1, 0x8180, 1, 1) + q + a([1, 1, 1, 1], 0),
        "big-udp": header(1, 0x8180, 1, 60) + q + b"".join(a([10, 0, 0, i]) for i in range(60)),
        "compression-loop": header(1, 0x8180, 1, 1) + q + rr(b"\xc0\x1d", "CNAME", b"\xc0\x1d"),
        "forward-pointer": header(1, 0x8180, 1, 1) + q + rr(b"\xc0\xff", "A", b"\1\2\3\4"),
        "rdlength-past-end": header(1, 0x8180, 1, 1) + q + ptr + b"\0\1\0\1\0\0\0\1\0\x40\1\2",
        "other-question": header(1, 0x8180, 1, 1) + name("example.org") + b"\0\1\0\1" + a([1, 2, 3, 4]),
        "query-not-response": header(1, 0x0100, 1) + q,
        "qdcount-0": header(1, 0x8180, 0),
        "soa-short-rdata": header(1, 0x8183, 1, 0, 1) + q + rr(ptr, "SOA", b"\0\0" + b"\0" * 10),
    }
    out = {}
    for n, data in rs.items():
        out[n + "-udp"] = b"\x00" + data
        out[n + "-edns-tcp"] = b"\x33" + data
    out["big-udp-edns-1200"] = b"\x86" + rs["big-udp"]
    out["noerror-a-fixed-query"] = b"\x08" + rs["noerror-a"]
    out["nxdomain-soa-aged"] = b"\xf2" + rs["nxdomain-soa"]
    return out


def copy_files(patterns):
    files = {}
    for pattern in patterns:
        for p in sorted(ROOT.glob(pattern)):
            files[p.parent.name + "-" + p.name] = p.read_bytes()
    return files


def manifests():
    files = copy_files(["zones/*.yaml", "tests/data/**/*.yaml"])
    files["alias-bomb.yaml"] = b"""apiVersion: v1
kind: List
items:
- &a [x, x, x, x, x, x, x, x, x]
- &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
- &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
- &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
"""
    files["alias-labels.yaml"] = b"""apiVersion: v1
kind: Service
metadata: {name: web, labels: &l {a: b, c: d}, annotations: *l}
spec: {selector: *l, ports: [{name: http, port: 80}]}
"""
    files["found-comma-document.yaml"] = b"apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\n,\n"
    files["deep.yaml"] = b"a: " + b"[" * 200 + b"]" * 200 + b"\n"
    files["json.json"] = b"""{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "j",
 "namespace": "x"}, "spec": {"clusterIP": "None", "ports": [{"name": "p", "port": 1}]}}"""
    files["endpoints.yaml"] = b"""apiVersion: v1
kind: Endpoints
metadata: {name: db, namespace: default}
subsets:
- addresses: [{ip: 10.244.0.5, hostname: db-0}, {ip: "fd00::5"}]
  notReadyAddresses: [{ip: 10.244.0.6}]
  ports: [{name: sql, port: 5432, protocol: TCP}]
---
apiVersion: v1
kind: Service
metadata: {name: db}
spec: {clusterIP: None, ports: [{name: sql, port: 5432}]}
"""
    files["wrong-types.yaml"] = b"""apiVersion: v1
kind: Service
metadata: {name: [1], namespace: {a: b}}
spec: {ports: 7, clusterIP: 5, selector: [a]}
"""
    return files


def zonefiles():
    files = copy_files(["zones/*.zone", "tests/data/zonefile/*.zone"])
    files["relative-origin.zone"] = b"""$TTL 60
@ IN SOA ns hostmaster 1 2 3 4 5
@ IN NS ns
ns IN A 192.0.2.1
ns IN AAAA 2001:db8::1
a IN CNAME ns
_x._udp IN SRV 1 2 3 ns
txt IN TXT "a" "b\\"c" \\# 0
p IN PTR ns
"""
    files["types.zone"] = b"""$ORIGIN example.org.
$TTL 1h
@ SOA ns.example.org. h.example.org. ( 1 2 3 4 5 )
@ NS ns
ns A 192.0.2.1
caa CAA 0 issue "ca.example"
ds DS 60485 5 1 2BB183AF5F22588179A53B0A98631FAD1A292118
key TYPE65534 \\# 3 010203
"""
    return files


# What the fuzzers found (see the fuzz_regressions_test.cc files), kept as seeds.
FOUND_QUERIES = {
    "found-pointer-past-end": "123401000001000000000002037765620764656661756c740373766307636c75"
    "53746572056c6f63616c0000002904d000000000000000000000000000000000000000000000",
    "found-pointer-past-end-2": "12350101000100000000000107636c757312348100743900fafa61727001000000"
    "00000000",
    "found-tsig-not-last": "12340100000100000000000200000100010000fa565b2bfd7f00000000002904d0"
    "000000000000",
    "found-rdata-past-fields": "123401000001000000000003000001015b000004d0002900020e00030000f80000"
    "29002f000000000037123401000001000000000003004d9451ff7f00000001015b000004d0002900020e0003ffff"
    "f8000029002f00000000000000000000d00000000000000000d0000000",
}
FOUND_REPLIES = {
    "found-a-rdlength-5": "330001818000010002000000010745786131706c6503434f4d0000010001c00c00"
    "0100010000012c00040a0006c0040a000006c00c000100010000012c0005812b000100000000000007b800000000"
    "0000000000000000000000000000000000000000",
}


def main():
    qs = queries()
    qs.update({n: bytes.fromhex(h) for n, h in FOUND_QUERIES.items()})
    write("fuzz_query", qs)
    write("fuzz_responder", qs)
    write("fuzz_upstream_reply", {**replies(), **{n: bytes.fromhex(h) for n, h in FOUND_REPLIES.items()}})
    write("fuzz_manifest", manifests())
    write("fuzz_zonefile", zonefiles())
    for d in sorted(CORPUS.iterdir()):
        print(f"{d.name}: {len(list(d.iterdir()))} seeds")


if __name__ == "__main__":
    main()
