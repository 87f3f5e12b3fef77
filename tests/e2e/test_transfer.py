"""End-to-end: zone transfer out to real secondaries, Knot DNS and NSD, on loopback.

Run: python3 tests/e2e/test_transfer.py build/tests/dnsd-e2e

Behaviours:
  - Knot and NSD, configured as secondaries of dnsd, pull every zone dnsd serves (the cluster
    zone, its reverse zone, a zone file, an external zone) by AXFR, and their copies equal `dnsd records`.
  - A manifest change is published, NOTIFY sent, and both serve the new name within 3 s,
    having fetched it by IXFR (their logs say so), not by a whole transfer.
  - Fed by the Kubernetes API (the fake API server), where each change is patched into the
    zone, Knot follows bursts of Service and endpoint changes by IXFR alone, and its copy
    equals dnsd's own AXFR of the same serial.
  - A restart of dnsd, even right after a burst of changes ran the serial ahead of the
    clock, gives a higher serial: the secondaries move forward, never back.
  - Odd and hostile transfer queries get clear answers: IXFR without an SOA (FORMERR), a
    serial from the future (our SOA alone), a zone that is not ours (NOTAUTH), AXFR over UDP
    and a client outside --transfer-to (REFUSED).
  - A NOTIFY that is not answered is sent again, and no more once answered.
  - On a zone of 5,000 Services: transfers beyond --transfer-max are refused while clients
    that do not read hold the others; UDP and other TCP queries are answered meanwhile; a
    client that stops reading is dropped after the timeout and frees its slot.
"""

import os
import re
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from fake_apiserver import FakeApiServer  # noqa: E402
from harness import Checks, Server, free_port, metric_samples, run_command  # noqa: E402

ZONE_FILE = os.path.join(harness.ZONES, "example.internal.zone")
# Every kind of zone dnsd serves: the cluster zone, its reverse zone, a zone file and an
# external zone (the LoadBalancer Service in zones/).
ZONE_ARGS = ["--zone-file", ZONE_FILE, "--external-zone", "example.com"]

PROBE = """apiVersion: v1
kind: Service
metadata:
  name: xfr-probe
  namespace: default
spec:
  clusterIP: 10.96.77.77
  ports:
  - name: http
    port: 80
"""


def stop_process(proc):
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class Knot:
    """knotd on 127.0.0.1:PORT, a secondary of dnsd for `zones`; stopped by PID."""

    def __init__(self, workdir, primary_port, zones):
        self.dir = os.path.join(workdir, "knot")
        os.makedirs(self.dir)
        self.port = free_port()
        self.log_path = os.path.join(self.dir, "knot.log")
        zone_lines = "".join(f"  - domain: {z}\n" for z in zones)
        with open(os.path.join(self.dir, "knot.conf"), "w") as f:
            f.write(f"server:\n    rundir: \"{self.dir}\"\n    listen: 127.0.0.1@{self.port}\n"
                    f"database:\n    storage: \"{self.dir}\"\n"
                    f"log:\n  - target: \"{self.log_path}\"\n    any: info\n"
                    f"remote:\n  - id: dnsd\n    address: 127.0.0.1@{primary_port}\n"
                    "acl:\n  - id: local\n    address: 127.0.0.1\n"
                    "    action: [notify, transfer]\n"
                    f"template:\n  - id: default\n    storage: \"{self.dir}\"\n"
                    "    master: dnsd\n    acl: local\n"
                    "    zonefile-sync: -1\n    zonefile-load: none\n"
                    "    journal-content: changes\n"
                    "zone:\n" + zone_lines)
        self.proc = subprocess.Popen(["knotd", "-c", os.path.join(self.dir, "knot.conf")],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     stdin=subprocess.DEVNULL, start_new_session=True)

    def log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def stop(self):
        stop_process(self.proc)


class Nsd:
    """nsd on 127.0.0.1:PORT, a secondary of dnsd for `zones`: no control socket, its pid,
    state and zone files in its own directory; stopped by PID."""

    def __init__(self, workdir, primary_port, zones):
        self.dir = os.path.join(workdir, "nsd")
        os.makedirs(self.dir)
        self.port = free_port()
        self.log_path = os.path.join(self.dir, "nsd.log")
        zone_text = "".join(
            f"zone:\n    name: {z}\n    zonefile: \"{self.dir}/{z}zone\"\n"
            f"    request-xfr: 127.0.0.1@{primary_port} NOKEY\n"
            "    allow-notify: 127.0.0.1 NOKEY\n    provide-xfr: 127.0.0.1 NOKEY\n"
            for z in zones)
        with open(os.path.join(self.dir, "nsd.conf"), "w") as f:
            f.write(f"server:\n    ip-address: 127.0.0.1@{self.port}\n    do-ip6: no\n"
                    f"    username: \"\"\n    chroot: \"\"\n    zonesdir: \"{self.dir}\"\n"
                    f"    database: \"\"\n    zonelistfile: \"{self.dir}/zone.list\"\n"
                    f"    pidfile: \"{self.dir}/nsd.pid\"\n"
                    f"    xfrdfile: \"{self.dir}/xfrd.state\"\n    xfrdir: \"{self.dir}\"\n"
                    f"    logfile: \"{self.log_path}\"\n    verbosity: 2\n"
                    "    server-count: 1\n"
                    "remote-control:\n    control-enable: no\n" + zone_text)
        self.proc = subprocess.Popen(["nsd", "-d", "-c", os.path.join(self.dir, "nsd.conf")],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     stdin=subprocess.DEVNULL, start_new_session=True)

    def log(self):
        if not os.path.exists(self.log_path):
            return ""
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def stop(self):
        stop_process(self.proc)


def normalized(lines):
    """Records as (owner, ttl, type, rdata) with whitespace and case of owners made equal; an
    SOA's serial is replaced by 'S' (dnsd records prints serial 1)."""
    out = set()
    for line in lines:
        line = line.strip()
        if not line or line.startswith(";"):
            continue
        owner, ttl, klass, rtype, rdata = line.split(None, 4)
        rdata = " ".join(rdata.split())
        if rtype == "SOA":
            f = rdata.split()
            f[2] = "S"
            rdata = " ".join(f)
        out.add((owner.lower(), ttl, rtype, rdata))
    return out


def records_by_zone(binary, manifests):
    code, out = run_command([binary, "records", manifests] + ZONE_ARGS)
    zones = {}
    current = None
    for line in out.splitlines():
        if line.startswith("; zone "):
            current = line.split()[2]
            zones[current] = []
        elif current:
            zones[current].append(line)
    return zones


def axfr(port, zone, source=None):
    """(rcode text or None, record lines, kdig output) of kdig AXFR."""
    argv = ["kdig", "@127.0.0.1", "-p", str(port), "AXFR", zone, "+time=5", "+retry=0"]
    if source:
        argv += ["-b", source]
    code, out = run_command(argv, timeout=20)
    lines = [l for l in out.splitlines() if l and not l.startswith(";")]
    m = re.search(r"status: (\w+)", out) or re.search(r"replied with error '(\w+)'", out)
    return (m.group(1) if m else None), lines, out


def soa_serial(port, zone):
    code, out = run_command(["dig", "+short", "+time=1", "+tries=1", "@127.0.0.1", "-p",
                             str(port), zone, "SOA"], timeout=5)
    parts = out.split()
    return int(parts[2]) if code == 0 and len(parts) >= 7 and parts[2].isdigit() else None


def wait_for(what, timeout, step=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = what()
        if value:
            return value
        time.sleep(step)
    return None


def encode_name(name):
    return harness.encode_name(name)


def transfer_query(zone, qtype, qid=0x4242, serial=None):
    """AXFR (252) or IXFR (251) of `zone`; IXFR with an SOA of `serial` in its authority
    section when given (RFC 1995 §3)."""
    nscount = 0 if serial is None else 1
    q = struct.pack("!HHHHHH", qid, 0, 1, 0, nscount, 0) + encode_name(zone)
    q += struct.pack("!HH", qtype, 1)
    if serial is not None:
        rdata = b"\x00\x00" + struct.pack("!IIIII", serial, 0, 0, 0, 0)
        q += b"\xc0\x0c" + struct.pack("!HHIH", 6, 1, 0, len(rdata)) + rdata
    return q


def read_messages(sock, limit=10000):
    """Framed messages until the connection closes or a message's answer ends with the second
    SOA; returns a list of (rcode, [answer types], soa serial of the first answer)."""
    out = []
    soas = 0
    while len(out) < limit:
        head = harness._recv_exact(sock, 2)
        if head is None:
            break
        msg = harness._recv_exact(sock, struct.unpack("!H", head)[0])
        if msg is None:
            break
        h = harness.parse_header(msg)
        types, serial = answer_types(msg)
        out.append((h["rcode"], types, serial))
        soas += types.count(6)
        if h["rcode"] != 0 or soas >= 2 or (soas == 1 and len(types) == 1 and len(out) == 1):
            break
    return out


def skip_name(msg, at):
    while True:
        n = msg[at]
        if n == 0:
            return at + 1
        if n & 0xC0 == 0xC0:
            return at + 2
        at += n + 1


def answer_types(msg):
    qd, an = struct.unpack("!HH", msg[4:8])
    at = 12
    for _ in range(qd):
        at = skip_name(msg, at) + 4
    types = []
    first_serial = None
    for _ in range(an):
        at = skip_name(msg, at)
        rtype, _, _, rdlen = struct.unpack("!HHIH", msg[at:at + 10])
        rdata_at = at + 10
        if rtype == 6 and first_serial is None:
            p = skip_name(msg, skip_name(msg, rdata_at))
            first_serial = struct.unpack("!I", msg[p:p + 4])[0]
        types.append(rtype)
        at = rdata_at + rdlen
    return types, first_serial


def tcp_exchange(port, query, source=None, timeout=5.0):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        if source:
            s.bind((source, 0))
        s.connect(("127.0.0.1", port))
        s.sendall(struct.pack("!H", len(query)) + query)
        return read_messages(s)


def test_secondaries(c, binary, workdir):
    manifests = os.path.join(workdir, "manifests")
    shutil.copytree(harness.ZONES, manifests, ignore=shutil.ignore_patterns("*.zone"))
    want = records_by_zone(binary, manifests)
    zones = list(want)
    c.check(len(zones) >= 4 and "example.com." in zones,
            "dnsd records lists the cluster zone, a reverse zone, the zone file and the "
            "external zone", zones)
    dnsd_port = free_port()
    # The secondaries' ports are known before dnsd starts (it NOTIFYs them), and dnsd's
    # before they do (they pull from it).
    knot = Knot(workdir, dnsd_port, zones)
    nsd = Nsd(workdir, dnsd_port, zones)
    secondaries = [("Knot", knot), ("NSD", nsd)]
    d = Server(binary, [manifests], c, name="dnsd-primary", keep_port=True,
               extra_args=ZONE_ARGS + ["--transfer-to", "127.0.0.1/32",
                           "--notify", f"127.0.0.1:{knot.port}", "--notify",
                           f"127.0.0.1:{nsd.port}"])
    d.port = dnsd_port
    try:
        d.start()
        serials = {zone: soa_serial(d.port, zone) for zone in zones}
        c.check(all(serials.values()), "dnsd answers each zone's SOA", serials)
        # Pulled by AXFR at start (and told by NOTIFY): each zone equals `dnsd records`.
        for name, s in secondaries:
            for zone in zones:
                got = wait_for(lambda: soa_serial(s.port, zone) == serials[zone], 10)
                c.check(got, f"{name} serves {zone} at dnsd's serial",
                        f"serial {soa_serial(s.port, zone)}, dnsd's {serials[zone]}")
                rcode, lines, out = axfr(s.port, zone)
                c.expect_equal(normalized(lines), normalized(want[zone]),
                               f"{name}'s copy of {zone} equals dnsd records", out[-2000:])
        serial = serials["cluster.local."]
        knot_before = len(knot.log())
        nsd_before = len(nsd.log())
        dnsd_before = len(d.log())

        # A new Service: published, NOTIFY, IXFR.
        with open(os.path.join(manifests, "xfr-probe.yaml"), "w") as f:
            f.write(PROBE)
        start = time.monotonic()
        for name, s in secondaries:
            got = wait_for(lambda: "10.96.77.77" in run_command(
                ["dig", "+short", "+time=1", "+tries=1", "@127.0.0.1", "-p", str(s.port),
                 "xfr-probe.default.svc.cluster.local", "A"])[1], 3.5 - (time.monotonic() - start))
            c.check(got, f"{name} serves the new Service within 3 s of the change",
                    f"after {time.monotonic() - start:.2f} s")
        new_serial = soa_serial(d.port, "cluster.local")
        c.check(new_serial and new_serial > serial, "the change raised the serial",
                f"{serial} -> {new_serial}")
        time.sleep(0.5)  # the reverse zone's transfer may come right after
        knot_log = knot.log()[knot_before:]
        c.check(re.search(r"\[cluster\.local\.\] IXFR, incoming, remote [^,]+, finished",
                          knot_log) and "AXFR" not in knot_log,
                "Knot fetched the change by IXFR, not AXFR", knot_log)
        # NSD does not log which kind it received; dnsd logs what it sent: after the change,
        # an IXFR of each changed zone to each secondary, and no whole zone.
        sent = re.findall(r"transfer: (.*?) of (\S+) serial", d.log()[dnsd_before:])
        c.expect_equal(sorted(sent), sorted([("IXFR", "10.in-addr.arpa."),
                                             ("IXFR", "cluster.local.")] * 2),
                       "dnsd sent both secondaries IXFRs of the changed zones", d.log())
        c.check("cluster.local. received update" in nsd.log()[nsd_before:],
                "NSD took the update", nsd.log()[nsd_before:])
        for name, s in secondaries:
            rcode, lines, out = axfr(s.port, "cluster.local")
            c.expect_equal(normalized(lines),
                           normalized(records_by_zone(binary, manifests)["cluster.local."]),
                           f"{name}'s copy after the IXFR equals dnsd records", out[-2000:])

        # A burst of changes, several a second: each is served at once, but the serial
        # never runs ahead of the clock (a change in a second that already has its serial
        # keeps it, and the serial moves on in the next second), and the secondaries end
        # with the burst's last change.
        ahead = []
        for i in range(12):
            with open(os.path.join(manifests, "xfr-probe.yaml"), "w") as f:
                f.write(PROBE.replace("10.96.77.77", f"10.96.78.{i + 1}"))
            time.sleep(0.08)
            seen = soa_serial(d.port, "cluster.local")
            if seen and seen > int(time.time()):
                ahead.append((seen, time.time()))
        c.check(not ahead, "during a burst of changes the serial is never ahead of the clock",
                ahead)
        last = "10.96.78.12"
        got = wait_for(lambda: last in run_command(
            ["dig", "+short", "+time=1", "+tries=1", "@127.0.0.1", "-p", str(d.port),
             "xfr-probe.default.svc.cluster.local", "A"])[1], 3)
        c.check(got, "dnsd serves the burst's last change")
        # The burst's NOTIFYs come while the secondary is still fetching the ones before: it
        # is given longer than a single change's 3 s, as a loaded machine slows NSD's xfrd.
        held = {}
        for name, s in secondaries:
            got = wait_for(lambda: last in run_command(
                ["dig", "+short", "+time=1", "+tries=1", "@127.0.0.1", "-p", str(s.port),
                 "xfr-probe.default.svc.cluster.local", "A"])[1], 10)
            held[name] = soa_serial(s.port, "cluster.local")
            c.check(got and held[name] == soa_serial(d.port, "cluster.local"),
                    f"{name} ends with the burst's last change, at dnsd's serial",
                    f"{held[name]}, dnsd's {soa_serial(d.port, 'cluster.local')}")
        before_restart = soa_serial(d.port, "cluster.local")
        d.stop()
        d.start()
        after_restart = soa_serial(d.port, "cluster.local")
        c.check(after_restart and after_restart > before_restart,
                "dnsd's serial after a restart is above every serial it served",
                f"{before_restart} -> {after_restart}")
        for name, s in secondaries:
            seen = []
            got = wait_for(lambda: (seen.append(soa_serial(s.port, "cluster.local")) or
                                    seen[-1] == after_restart), 5)
            c.check(got and all(x is None or x >= (held[name] or 0) for x in seen),
                    f"{name} follows the restarted dnsd forward, never back",
                    f"serials seen {sorted(set(x for x in seen if x))}, held before "
                    f"{held[name]}, after {after_restart}")
    finally:
        d.stop()
        for name, s in secondaries:
            s.stop()
        if c.failed:
            print("----- knot log -----\n" + knot.log()[-4000:])
            print("----- nsd log -----\n" + nsd.log()[-4000:])


def api_service(ns, name, ip, endpoints):
    """A Service with a named port and its EndpointSlice, as the API server holds them."""
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": ns},
           "spec": {"type": "ClusterIP", "clusterIP": ip, "clusterIPs": [ip],
                    "ports": [{"name": "http", "protocol": "TCP", "port": 80}]}}
    eps = {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
           "metadata": {"name": name + "-a", "namespace": ns,
                        "labels": {"kubernetes.io/service-name": name}},
           "addressType": "IPv4",
           "endpoints": [{"addresses": [e], "conditions": {"ready": True}} for e in endpoints],
           "ports": [{"name": "http", "protocol": "TCP", "port": 8080}]}
    return svc, eps


def test_api_changes(c, binary, workdir):
    """The API path patches the zone instead of building it: the journal's diffs come from
    those patches, and a secondary must still end with exactly dnsd's zone by IXFR alone."""
    api = FakeApiServer(os.path.join(workdir, "api"), bookmark_interval=1.0)
    knot = None
    d = None
    try:
        api.start()
        for ns in ("default", "shop", "kube-system"):
            api.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
        api.apply(api_service("kube-system", "kube-dns", "10.96.0.10", [])[0])
        for i in range(20):
            for obj in api_service("shop", f"s{i}", f"10.96.5.{i + 1}", [f"10.244.5.{i + 1}"]):
                api.apply(obj)
        kubeconfig = os.path.join(workdir, "xfr.kubeconfig")
        api.write_kubeconfig(kubeconfig)
        code, out = run_command([binary, "records", "--kubeconfig", kubeconfig], timeout=30)
        zones = [line.split()[2] for line in out.splitlines() if line.startswith("; zone ")]
        c.check(code == 0 and "cluster.local." in zones and len(zones) >= 2,
                "dnsd records --kubeconfig lists the cluster zone and a reverse zone", out[-2000:])
        dnsd_port = free_port()
        metrics_port = free_port()
        knot = Knot(os.path.join(workdir, "api-secondary"), dnsd_port, zones)
        d = Server(binary, [], c, name="dnsd-api-primary", keep_port=True,
                   extra_args=["--kubeconfig", kubeconfig, "--transfer-to", "127.0.0.1/32",
                               "--notify", f"127.0.0.1:{knot.port}",
                               "--metrics", f"127.0.0.1:{metrics_port}"])
        d.port = dnsd_port
        d.start()

        def same_copy(zone):
            """Knot's copy of `zone` holds dnsd's records. Serials are not compared: a serial
            that moved with no record changed is not NOTIFYed, so Knot may hold the one before."""
            _, ours, _ = axfr(d.port, zone)
            _, theirs, _ = axfr(knot.port, zone)
            return ours and normalized(theirs) == normalized(ours)

        for zone in zones:
            c.check(wait_for(lambda: same_copy(zone), 10), f"Knot holds dnsd's {zone}")
        knot_before = len(knot.log())
        dnsd_before = len(d.log())
        builds = metric_samples(metrics_port, "dnsd_zone_publications_total")

        # Rounds of changes, several a second, so that some serials carry several patches:
        # Services come and go, endpoints move, one record comes and goes within a round.
        for r in range(6):
            svc, eps = api_service("shop", f"new{r}", f"10.96.6.{r + 1}", [f"10.244.6.{r + 1}"])
            api.apply(svc)
            api.apply(eps)
            _, moved = api_service("shop", f"s{r}", "", [f"10.244.7.{r + 1}", "10.244.7.200"])
            api.apply(moved)
            api.delete("Service", "shop", f"s{10 + r}")
            if r % 2:
                api.delete("Service", "shop", f"new{r - 1}")
                _, back = api_service("shop", f"s{r}", "", [f"10.244.7.{r + 1}"])
                api.apply(back)
            time.sleep(0.3)
        last = "new5.shop.svc.cluster.local"
        c.check(wait_for(lambda: "10.96.6.6" in run_command(
            ["dig", "+short", "+time=1", "+tries=1", "@127.0.0.1", "-p", str(d.port), last,
             "A"])[1], 5), "dnsd serves the last change")
        for zone in zones:
            c.check(wait_for(lambda: same_copy(zone), 10),
                    f"Knot's copy of {zone} after the changes equals dnsd's AXFR",
                    f"dnsd's serial {soa_serial(d.port, zone)}, Knot's "
                    f"{soa_serial(knot.port, zone)}")
        after = metric_samples(metrics_port, "dnsd_zone_publications_total")
        c.check(after.get('{build="patch"}', 0) > builds.get('{build="patch"}', 0) and
                after.get('{build="full"}') == builds.get('{build="full"}'),
                f"each change was patched into the zone, none built it whole: {builds} then "
                f"{after}")
        knot_log = knot.log()[knot_before:]
        c.check(re.search(r"\[cluster\.local\.\] IXFR, incoming, remote [^,]+, finished",
                          knot_log) and "AXFR, incoming" not in knot_log,
                "Knot fetched every change by IXFR, never the whole zone", knot_log[-3000:])
        dnsd_log = d.log()[dnsd_before:]
        c.check("transfer: IXFR of cluster.local." in dnsd_log and "IXFR as AXFR" not in dnsd_log,
                "dnsd answered Knot's IXFRs with differences, never the whole zone", dnsd_log)
    finally:
        if d:
            d.stop()
        if knot:
            knot.stop()
            if c.failed:
                print("----- knot log -----\n" + knot.log()[-4000:])
        api.stop()


def test_restart_without_notify(c, binary, workdir):
    """With no --notify secondary to ask, the clock alone keeps the serial from going back
    over a restart: so a burst of changes must not run the serial ahead of it, and an
    AXFR during the burst must be the content its serial names."""
    manifests = os.path.join(workdir, "manifests-restart")
    shutil.copytree(harness.ZONES, manifests, ignore=shutil.ignore_patterns("*.zone"))
    d = Server(binary, [manifests], c, name="dnsd-restart",
               extra_args=["--transfer-to", "127.0.0.1/32"])
    try:
        d.start()
        highest = soa_serial(d.port, "cluster.local")
        by_serial = {}
        for i in range(12):
            with open(os.path.join(manifests, "xfr-probe.yaml"), "w") as f:
                f.write(PROBE.replace("10.96.77.77", f"10.96.79.{i + 1}"))
            time.sleep(0.08)
            highest = max(highest, soa_serial(d.port, "cluster.local") or 0)
            rcode, lines, out = axfr(d.port, "cluster.local")
            soa = [l.split() for l in lines if l.split()[3:4] == ["SOA"]]
            if soa:
                probe = sorted(l for l in lines if l.startswith("xfr-probe.default.svc"))
                by_serial.setdefault(int(soa[0][6]), set()).add(tuple(probe))
        c.check(highest <= int(time.time()), "after the burst the serial is not ahead of the clock",
                f"serial {highest}, clock {int(time.time())}")
        c.check(by_serial and all(len(v) == 1 for v in by_serial.values()),
                "every AXFR of one serial has the same content",
                {k: sorted(v) for k, v in by_serial.items()})
        d.stop()
        d.start()
        after = soa_serial(d.port, "cluster.local")
        c.check(after and after > highest,
                "at once after a restart the serial is above every serial served before",
                f"{highest} -> {after}")
    finally:
        d.stop()


def test_odd_queries(c, binary, workdir):
    metrics_port = free_port()
    with Server(binary, [harness.ZONES], c, name="dnsd-odd",
                extra_args=["--transfer-to", "127.0.0.1/32",
                            "--metrics", f"127.0.0.1:{metrics_port}"]) as d:
        serial = soa_serial(d.port, "cluster.local")
        got = tcp_exchange(d.port, transfer_query("cluster.local", 251))
        c.check(got and got[0][0] == 1, "IXFR without an SOA in the authority section: FORMERR",
                got)
        got = tcp_exchange(d.port, transfer_query("cluster.local", 251, serial=serial + 1000))
        c.check(got and got[0][0] == 0 and got[0][1] == [6] and got[0][2] == serial,
                "IXFR from a serial ahead of ours: our SOA alone (RFC 1995 §2)", got)
        got = tcp_exchange(d.port, transfer_query("cluster.local", 251, serial=serial))
        c.check(got and got[0][1] == [6] and got[0][2] == serial,
                "IXFR from our own serial: our SOA alone", got)
        got = tcp_exchange(d.port, transfer_query("cluster.local", 251, serial=serial - 5))
        types = [t for m in got for t in m[1]]
        c.check(got and types[0] == 6 and types[-1] == 6 and len(types) > 3 and
                types.count(6) == 2,
                "IXFR from a serial we have no history for: the whole zone (RFC 1995 §4)", got)
        got = tcp_exchange(d.port, transfer_query("example.org", 252))
        c.check(got and got[0][0] == 9, "AXFR of a zone that is not ours: NOTAUTH", got)
        got = tcp_exchange(d.port, transfer_query("svc.cluster.local", 252))
        c.check(got and got[0][0] == 9, "AXFR of a name inside our zone, not its apex: NOTAUTH",
                got)
        reply = harness.raw_exchange(d.port, transfer_query("cluster.local", 252))
        c.check(reply and harness.parse_header(reply)["rcode"] == 5, "AXFR over UDP: REFUSED")
        reply = harness.raw_exchange(d.port, transfer_query("cluster.local", 251, serial=1))
        c.check(reply and harness.parse_header(reply)["rcode"] == 5, "IXFR over UDP: REFUSED")
        rcode, lines, out = axfr(d.port, "cluster.local", source="127.0.0.2")
        c.expect_equal(rcode, "REFUSED", "a client outside --transfer-to is refused", out)
        rcode, lines, out = axfr(d.port, "cluster.local")
        c.check(lines and len(lines) > 10, "kdig AXFR from an allowed client", out[-1000:])
        # /metrics counts each transfer above by its result (refreshed once a second). Over
        # UDP the queries never reach the transfer server: they are not transfers.
        want = {"axfr": 1, "ixfr": 0, "ixfr_as_axfr": 1, "up_to_date": 2, "refused": 1,
                "error": 3, "cut": 0}
        seen = {}

        def counted():
            seen.clear()
            for labels, value in harness.metric_samples(metrics_port,
                                                        "dnsd_zone_transfers_total").items():
                seen[labels.split('"')[1]] = value
            return seen == want
        c.check(wait_for(counted, 3), "/metrics counts the transfers by result",
                f"{seen}, want {want}")
        c.expect_equal(harness.metric_samples(metrics_port, "dnsd_notify_sent_total"),
                       {"": 0.0}, "no --notify: no NOTIFY sent")
    with Server(binary, [harness.ZONES], c, name="dnsd-nobody") as d:
        rcode, lines, out = axfr(d.port, "cluster.local")
        c.expect_equal(rcode, "REFUSED", "without --transfer-to nobody may transfer", out)


def test_load(c, binary, workdir):
    data = os.path.join(workdir, "big")
    subprocess.run([sys.executable, os.path.join(harness.REPO, "bench", "gen_zone.py"), "5000",
                    "--out", data], check=True, stdout=subprocess.DEVNULL)
    with Server(binary, [os.path.join(data, "manifests")], c, name="dnsd-load",
                extra_args=["--transfer-to", "127.0.0.1/32", "--transfer-max", "2",
                            "--tcp-idle-timeout", "1500"]) as d:
        # Two clients ask for the zone and read nothing, with small buffers: both transfers
        # stall, holding both slots.
        stalled = []
        for _ in range(2):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.connect(("127.0.0.1", d.port))
            q = transfer_query("cluster.local", 252)
            s.sendall(struct.pack("!H", len(q)) + q)
            stalled.append(s)
        time.sleep(0.3)
        got = tcp_exchange(d.port, transfer_query("cluster.local", 252))
        c.check(got and got[0][0] == 5, "a transfer beyond --transfer-max: REFUSED", got)
        answered = 0
        for i in range(50):
            r = d.dig("svc-1.ns-0.svc.cluster.local")
            answered += r.rcode == "NOERROR"
        c.expect_equal(answered, 50, "UDP queries are answered while transfers stall")
        r = d.dig("svc-1.ns-0.svc.cluster.local", tcp=True)
        c.expect_equal(r.rcode, "NOERROR", "a TCP query is answered while transfers stall")
        # The stalled clients are dropped once nothing moves for --tcp-idle-timeout.
        time.sleep(2.5)
        start = time.monotonic()
        rcode, lines, out = axfr(d.port, "cluster.local")
        c.check(len(lines) > 10000, "slots freed by dropping the stalled readers: a whole AXFR",
                f"{len(lines)} lines; {out[-500:]}")
        print(f"AXFR of 5,000 Services: {len(lines)} records in "
              f"{time.monotonic() - start:.2f} s")
        c.check("stopped reading" in d.log(), "dnsd logs the readers it dropped")
        for s in stalled:
            s.close()


def receive_for_zone(sock, seconds):
    """The messages about cluster.local that arrive at `sock` within `seconds`."""
    got = []
    sock.settimeout(0.2)
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            msg, _ = sock.recvfrom(512)
            if b"\x07cluster\x05local\x00" in msg[12:30]:
                got.append(msg)
        except socket.timeout:
            pass
    return got


def soa_reply(query, serial):
    """The answer to an SOA query: the question echoed, one SOA with `serial`."""
    reply = bytearray(query)
    reply[2] |= 0x80
    reply[6:8] = struct.pack("!H", 1)
    rdata = b"\x00\x00" + struct.pack("!IIIII", serial, 7200, 1800, 86400, 5)
    return bytes(reply) + b"\xc0\x0c" + struct.pack("!HHIH", 6, 1, 5, len(rdata)) + rdata


def test_notify_retries(c, binary, workdir):
    """A secondary that does not answer is sent the NOTIFY again until it does."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(3)
    port = sock.getsockname()[1]
    metrics_port = free_port()

    def notify_metrics():
        return (harness.metric_samples(metrics_port, "dnsd_notify_sent_total").get(""),
                harness.metric_samples(metrics_port, "dnsd_notify_pending").get(""))
    try:
        with Server(binary, [harness.ZONES], c, name="dnsd-notify",
                    extra_args=["--transfer-to", "127.0.0.1/32",
                                "--notify", f"127.0.0.1:{port}",
                                "--metrics", f"127.0.0.1:{metrics_port}"]) as d:
            serial = soa_serial(d.port, "cluster.local")
            seen = []  # (time, id, zone) of each NOTIFY for cluster.local
            deadline = time.monotonic() + 4
            while time.monotonic() < deadline and len(seen) < 2:
                try:
                    msg, peer = sock.recvfrom(512)
                except socket.timeout:
                    break
                h = harness.parse_header(msg)
                if b"\x07cluster\x05local\x00" in msg[12:30] and h["opcode"] == 4:
                    seen.append((time.monotonic(), h["id"], peer, msg))
            c.check(len(seen) == 2 and seen[0][3][2] & 0x04 and seen[1][0] - seen[0][0] < 2.5,
                    "an unanswered NOTIFY (opcode 4, AA) is sent again within 2 s",
                    [(round(t, 2), i) for t, i, _, _ in seen])
            if seen:
                types, first = answer_types(seen[-1][3])
                c.expect_equal(first, serial, "the NOTIFY carries the zone's SOA")
                # Acknowledged: QR set, same ID, opcode NOTIFY.
                ack = bytearray(seen[-1][3][:12]) + seen[-1][3][12:]
                ack[2] |= 0x80
                sock.sendto(bytes(ack), seen[-1][2])
                # Then dnsd asks for the secondary's serial; one below the notified serial
                # (a secondary that lost the transfer, as NSD's xfrd can) is notified again,
                # one at it is left alone.
                for held, want in ((serial - 1, "notified again"), (serial, "left alone")):
                    got = receive_for_zone(sock, 6)
                    notifies = [m for m in got if harness.parse_header(m)["opcode"] == 4]
                    queries = [m for m in got if harness.parse_header(m)["opcode"] == 0]
                    c.check(not notifies and queries,
                            "once acknowledged, no NOTIFY again, but an SOA query",
                            [harness.parse_header(m) for m in got])
                    if not queries:
                        break
                    sock.sendto(soa_reply(queries[0], held), seen[-1][2])
                    got = receive_for_zone(sock, 2.5)
                    notifies = [m for m in got if harness.parse_header(m)["opcode"] == 4]
                    if want == "notified again":
                        c.check(notifies, "a secondary below the serial is notified again", got)
                        if not notifies:
                            break
                        ack = bytearray(notifies[0])
                        ack[2] |= 0x80
                        sock.sendto(bytes(ack), seen[-1][2])
                    else:
                        c.expect_equal(len(got), 0, "a secondary at the serial is left alone")
                        # The other zones' NOTIFYs were never answered: still pending, and
                        # sent again and again.
                        code, out = run_command([binary, "records", harness.ZONES])
                        zones = out.count("; zone ")
                        got = wait_for(lambda: notify_metrics()[1] == zones - 1 and
                                       notify_metrics()[0] >= 2 * zones + 1, 3)
                        c.check(got, "/metrics: the NOTIFYs sent, and the zones pending but "
                                "the one the secondary holds", f"{notify_metrics()} for {zones} zones")
    finally:
        sock.close()


def main():
    binary = harness.binary_from_argv("test_transfer")
    c = Checks("test_transfer")
    subprocess.run([os.path.join(harness.REPO, "scripts", "deps.sh"), "knot", "nsd"],
                   check=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    workdir = tempfile.mkdtemp(prefix="dnsd-transfer-")
    try:
        c.run(test_odd_queries, c, binary, workdir)
        c.run(test_load, c, binary, workdir)
        c.run(test_notify_retries, c, binary, workdir)
        c.run(test_restart_without_notify, c, binary, workdir)
        c.run(test_secondaries, c, binary, workdir)
        c.run(test_api_changes, c, binary, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    c.finish()


if __name__ == "__main__":
    main()
