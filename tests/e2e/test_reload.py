"""End-to-end: live reload of manifests, and `dnsd records`.

Run: python3 tests/e2e/test_reload.py build/tests/dnsd-e2e   (dnsd, told --user root when run as root)

Behaviours:
  - Writing, changing and removing manifest files (new files, new directories) changes the
    answers without a restart; the propagation latency is printed (the goal, 100 ms at 1,000
    Services, is measured by scripts/bench-reload.sh, not asserted here).
  - A broken manifest keeps the last good zone serving; fixing it brings the next reload.
  - With --reload-cache an edit of one file of many is published as a patch of the zone
    (dnsd_zone_publications_total{build="patch"}), not a full build; once edits pause, a zone
    patches grew is built whole again.
  - SIGHUP reloads when watching is off (--no-watch).
  - A zone file is watched as the manifests are, wherever it lives.
  - The SOA serial rises with every change, within a second (a change in a second that already
    has its serial keeps it until the next second: a serial is never ahead of the clock).
  - Nothing is lost: while clients ask over UDP and TCP without pause, the manifests change
    50 times; every query is answered NOERROR with the old or the new address.
  - `dnsd records PATH` prints every record in presentation format, sorted, the same on
    every run.
"""

import os
import shutil
import signal
import socket
import struct
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from harness import Checks, Server, make_query, parse_header, run_command  # noqa: E402

SERVICE = """apiVersion: v1
kind: Service
metadata:
  name: {name}
  namespace: {ns}
spec:
  clusterIP: {ip}
  ports:
    - name: http
      port: 80
"""


def write(path, text):
    # Write then rename, as editors and kubectl-driven tools do.
    tmp = path + ".tmp~"
    with open(tmp, "w") as f:
        f.write(text)
    os.rename(tmp, path)


def wait_for(server, qname, want, qtype="A", timeout=5.0):
    """Seconds until dig shows `want` (a list of rdata, [] for NXDOMAIN), or None."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        r = server.dig(qname, qtype)
        got = sorted(r.rdatas()) if r.rcode == "NOERROR" else []
        if got == sorted(want):
            return time.monotonic() - start
        time.sleep(0.005)
    return None


def soa_serial(server):
    r = server.dig("cluster.local", "SOA")
    return int(r.rdatas()[0].split()[2]) if r.rdatas() else None


def test_files_change_answers(c, binary, workdir, extra_args=()):
    write(os.path.join(workdir, "a.yaml"), SERVICE.format(name="alpha", ns="default", ip="10.96.3.1"))
    with Server(binary, [workdir], c, extra_args=list(extra_args), name="reload") as s:
        serial = soa_serial(s)
        write(os.path.join(workdir, "b.yaml"), SERVICE.format(name="beta", ns="default", ip="10.96.3.2"))
        took = wait_for(s, "beta.default.svc.cluster.local", ["10.96.3.2"])
        c.check(took is not None, "a new file's Service is served", s.dig("beta.default.svc.cluster.local").describe())
        print(f"propagation: new Service served after {took * 1000 if took else -1:.0f} ms")
        deadline = time.monotonic() + 2.5
        while (new_serial := soa_serial(s)) == serial and time.monotonic() < deadline:
            time.sleep(0.05)
        c.check(serial is not None and new_serial is not None and new_serial > serial,
                f"the SOA serial rises within a second or two ({serial} -> {new_serial})")
        write(os.path.join(workdir, "b.yaml"), SERVICE.format(name="beta", ns="default", ip="10.96.3.9"))
        c.check(wait_for(s, "beta.default.svc.cluster.local", ["10.96.3.9"]) is not None,
                "a changed ClusterIP is served")
        os.makedirs(os.path.join(workdir, "sub", "deeper"))
        time.sleep(0.1)
        write(os.path.join(workdir, "sub", "deeper", "g.yaml"),
              SERVICE.format(name="gamma", ns="other", ip="10.96.3.3"))
        c.check(wait_for(s, "gamma.other.svc.cluster.local", ["10.96.3.3"]) is not None,
                "a file in a new directory is served")
        os.unlink(os.path.join(workdir, "b.yaml"))
        c.check(wait_for(s, "beta.default.svc.cluster.local", []) is not None,
                "a removed file's Service is NXDOMAIN")
        shutil.rmtree(os.path.join(workdir, "sub"))
        c.check(wait_for(s, "gamma.other.svc.cluster.local", []) is not None,
                "a removed directory's Service is NXDOMAIN")
        c.check(s.alive(), "dnsd still runs")


def test_files_change_answers_with_cache(c, binary, workdir):
    """--reload-cache re-reads only changed files: the same changes must show all the same."""
    test_files_change_answers(c, binary, workdir, ["--reload-cache"])


def test_one_file_patched(c, binary, workdir):
    """With --reload-cache, an edit of one file of many is applied to the zone served as a
    patch (the metric says so), never by building every Service again, and a broken edit in
    between keeps the zone and loses nothing."""
    def services(f, extra=()):
        items = [("default" if i % 2 else f"ns-{f}", f"svc-{f}-{i}", f"10.96.{10 + f}.{i + 1}")
                 for i in range(5)] + list(extra)
        return "---\n".join(SERVICE.format(ns=ns, name=name, ip=ip) for ns, name, ip in items)

    for f in range(20):
        write(os.path.join(workdir, f"f{f:02}.yaml"), services(f))
    metrics = harness.free_port()
    args = ["--reload-cache", "--metrics", f"127.0.0.1:{metrics}"]
    with Server(binary, [workdir], c, extra_args=args, name="patch-reload") as s:
        c.expect_equal(s.dig("svc-7-0.ns-7.svc.cluster.local").rdatas(), ["10.96.17.1"],
                       "a Service of the files is served")
        before = harness.metric_samples(metrics, "dnsd_zone_publications_total")
        write(os.path.join(workdir, "f07.yaml"),
              services(7, [("fresh", "new", "10.96.99.1")]).replace("10.96.17.1", "10.96.17.99"))
        c.check(wait_for(s, "svc-7-0.ns-7.svc.cluster.local", ["10.96.17.99"]) is not None,
                "a changed ClusterIP in the edited file is served")
        c.check(wait_for(s, "new.fresh.svc.cluster.local", ["10.96.99.1"]) is not None,
                "a Service added to it, in a new namespace, is served")
        c.expect_equal(s.dig("99.17.96.10.in-addr.arpa", "PTR").rdatas(),
                       ["svc-7-0.ns-7.svc.cluster.local."], "with the new address's PTR")
        c.expect_equal(s.dig("1.17.96.10.in-addr.arpa", "PTR").rcode, "NXDOMAIN",
                       "the old address's PTR is gone")
        write(os.path.join(workdir, "f03.yaml"), "kind: Service\nmetadata: {name: svc-3-0\n")
        deadline = time.monotonic() + 10
        while "reload failed" not in s.log() and time.monotonic() < deadline:
            time.sleep(0.05)
        c.expect_equal(s.dig("svc-3-0.ns-3.svc.cluster.local").rdatas(), ["10.96.13.1"],
                       "a broken edit keeps the file's Services served")
        write(os.path.join(workdir, "f03.yaml"), services(3).split("---\n", 1)[1])
        c.check(wait_for(s, "svc-3-0.ns-3.svc.cluster.local", []) is not None,
                "the next good edit applies: a Service removed from the file is NXDOMAIN")
        c.expect_equal(s.dig("svc-3-1.default.svc.cluster.local").rdatas(), ["10.96.13.2"],
                       "and the file's other Services stay")
        os.unlink(os.path.join(workdir, "f07.yaml"))
        c.check(wait_for(s, "new.fresh.svc.cluster.local", []) is not None and
                s.dig("fresh.svc.cluster.local").rcode == "NXDOMAIN",
                "a removed file takes its Services and their namespace away")
        c.expect_equal(s.dig("svc-8-0.ns-8.svc.cluster.local").rdatas(), ["10.96.18.1"],
                       "the other files' Services stay")
        after = harness.metric_samples(metrics, "dnsd_zone_publications_total")
        patches = after.get('{build="patch"}', 0) - before.get('{build="patch"}', 0)
        # A slow machine may pause long enough for the quiet-time rebuild of a grown zone
        # (test_grown_zone_rebuilt); that is the only full build allowed here (logged as it
        # starts, so it may not be published yet).
        rebuilds = s.log().count(GROWN_REBUILT)
        full = after.get('{build="full"}', 0) - before.get('{build="full"}', 0)
        c.check(patches >= 3 and 0 <= full <= rebuilds,
                f"every edit was published as a patch, none built whole: {before} then {after}")
        c.check("changed services applied" in s.log(), "the log says what a reload applied",
                s.log()[-2000:])


GROWN_REBUILT = "building whole the zone that patches have grown"


def test_grown_zone_rebuilt(c, binary, workdir):
    """Patches only ever add to the zone's arena; once edits pause for a few seconds, a zone
    they grew is built whole again (one full publication), and it answers as before."""
    def services(f, count):
        return "---\n".join(SERVICE.format(ns=f"ns-{f}", name=f"svc-{i}", ip=f"10.96.{f}.{i + 1}")
                             for i in range(count))

    for f in range(16):
        write(os.path.join(workdir, f"f{f:02}.yaml"), services(f, 40))
    metrics = harness.free_port()
    args = ["--reload-cache", "--metrics", f"127.0.0.1:{metrics}"]
    with Server(binary, [workdir], c, extra_args=args, name="grown-rebuilt") as s:
        before = harness.metric_samples(metrics, "dnsd_zone_publications_total")
        # Each edit adds 16 Services to one file: under an eighth of the cluster, so a patch,
        # and within the room a full build leaves in the name table.
        for f in range(3):
            write(os.path.join(workdir, f"f{f:02}.yaml"), services(f, 56))
            c.check(wait_for(s, f"svc-55.ns-{f}.svc.cluster.local", [f"10.96.{f}.56"])
                    is not None, f"the Services added to f{f:02}.yaml are served")
        # A serial that catches up with the clock is published too, as a patch of nothing: at
        # least one patch an edit, and no full build.
        patched = harness.metric_samples(metrics, "dnsd_zone_publications_total")
        c.check(patched.get('{build="patch"}', 0) - before.get('{build="patch"}', 0) >= 3 and
                patched.get('{build="full"}', 0) == before.get('{build="full"}', 0),
                f"each edit was published as a patch: {before} then {patched}")
        # The log line comes when the build starts; the publication it counts, after it.
        deadline = time.monotonic() + 20
        while True:
            after = harness.metric_samples(metrics, "dnsd_zone_publications_total")
            if (after.get('{build="full"}', 0) > patched.get('{build="full"}', 0)
                    or time.monotonic() >= deadline):
                break
            time.sleep(0.1)
        c.check(GROWN_REBUILT in s.log(), "the grown zone is built whole once edits pause",
                s.log()[-2000:])
        c.expect_equal(after.get('{build="full"}', 0) - patched.get('{build="full"}', 0), 1,
                       "as one full publication")
        c.expect_equal(s.dig("svc-55.ns-2.svc.cluster.local").rdatas(), ["10.96.2.56"],
                       "a patched-in Service is still served")
        c.expect_equal(s.dig("svc-39.ns-15.svc.cluster.local").rdatas(), ["10.96.15.40"],
                       "and a Service of the first build")
        write(os.path.join(workdir, "f05.yaml"), services(5, 41))
        c.check(wait_for(s, "svc-40.ns-5.svc.cluster.local", ["10.96.5.41"]) is not None,
                "the rebuilt zone takes the next edit")
        last = harness.metric_samples(metrics, "dnsd_zone_publications_total")
        c.check(last.get('{build="patch"}', 0) > after.get('{build="patch"}', 0) and
                last.get('{build="full"}', 0) == after.get('{build="full"}', 0),
                f"as a patch: {after} then {last}")


def test_broken_file_keeps_old_zone(c, binary, workdir):
    write(os.path.join(workdir, "a.yaml"), SERVICE.format(name="alpha", ns="default", ip="10.96.3.1"))
    with Server(binary, [workdir], c, name="broken-reload") as s:
        write(os.path.join(workdir, "a.yaml"), "kind: Service\nmetadata: {name: alpha\n")
        # The temporary file's own events may start a reload that still reads the old a.yaml
        # (a slow machine can pause between write and rename); the rename's reload follows.
        deadline = time.monotonic() + 10
        while "reload failed" not in s.log() and time.monotonic() < deadline:
            time.sleep(0.05)
        r = s.dig("alpha.default.svc.cluster.local")
        c.expect_equal(r.rdatas(), ["10.96.3.1"], "a broken file keeps the last good answer")
        c.check("reload failed" in s.log() and "a.yaml:" in s.log(),
                "the failed reload is logged with file:line", s.log())
        write(os.path.join(workdir, "a.yaml"), SERVICE.format(name="alpha", ns="default", ip="10.96.3.7"))
        c.check(wait_for(s, "alpha.default.svc.cluster.local", ["10.96.3.7"]) is not None,
                "fixing the file brings the next reload through")


ZONE = """$ORIGIN corp.internal.
$TTL 300
@     IN SOA ns1 hostmaster {serial} 7200 900 1209600 300
      IN NS  ns1
ns1   IN A   10.10.0.53
www   IN A   {www}
"""


def test_zone_file_change(c, binary, workdir):
    """A zone file outside the manifests' directory is watched too (CoreDNS `file` reloads
    a changed zone); with --no-watch only SIGHUP reads it again."""
    manifests, zones = os.path.join(workdir, "manifests"), os.path.join(workdir, "zones")
    os.makedirs(manifests)
    os.makedirs(zones)
    write(os.path.join(manifests, "a.yaml"),
          SERVICE.format(name="alpha", ns="default", ip="10.96.3.1"))
    zone = os.path.join(zones, "corp.internal.zone")
    write(zone, ZONE.format(serial=1, www="10.10.5.1"))
    with Server(binary, [manifests], c, extra_args=["--zone-file", zone],
                name="zonefile-reload") as s:
        c.expect_equal(s.dig("www.corp.internal").rdatas(), ["10.10.5.1"],
                       "the zone file is served")
        write(zone, ZONE.format(serial=2, www="10.10.5.2"))
        c.check(wait_for(s, "www.corp.internal", ["10.10.5.2"]) is not None,
                "an edited zone file is served without a SIGHUP",
                s.dig("www.corp.internal").describe())
    write(zone, ZONE.format(serial=3, www="10.10.5.3"))
    with Server(binary, [manifests], c, extra_args=["--zone-file", zone, "--no-watch"],
                name="zonefile-nowatch") as s:
        write(zone, ZONE.format(serial=4, www="10.10.5.4"))
        time.sleep(0.3)
        c.expect_equal(s.dig("www.corp.internal").rdatas(), ["10.10.5.3"],
                       "--no-watch: an edited zone file waits for SIGHUP")
        os.kill(s.proc.pid, signal.SIGHUP)
        c.check(wait_for(s, "www.corp.internal", ["10.10.5.4"]) is not None,
                "SIGHUP reads the zone file again")


def test_sighup(c, binary, workdir):
    write(os.path.join(workdir, "a.yaml"), SERVICE.format(name="alpha", ns="default", ip="10.96.3.1"))
    with Server(binary, [workdir], c, extra_args=["--no-watch"], name="sighup") as s:
        write(os.path.join(workdir, "a.yaml"), SERVICE.format(name="alpha", ns="default", ip="10.96.3.5"))
        time.sleep(0.3)
        c.expect_equal(s.dig("alpha.default.svc.cluster.local").rdatas(), ["10.96.3.1"],
                       "--no-watch: a change alone does not reload")
        os.kill(s.proc.pid, signal.SIGHUP)
        c.check(wait_for(s, "alpha.default.svc.cluster.local", ["10.96.3.5"]) is not None,
                "SIGHUP reloads")


class Asker(threading.Thread):
    """Asks one name without pause, over UDP or TCP, and records every outcome."""

    def __init__(self, port, qname, tcp, stop):
        super().__init__(daemon=True)
        self.port, self.qname, self.tcp, self.stop = port, qname, tcp, stop
        self.sent = self.answered = 0
        self.bad = []
        self.addresses = set()

    def run(self):
        qid = 0
        sock = self.connect()
        while not self.stop.is_set():
            qid = (qid + 1) & 0xFFFF
            self.sent += 1
            reply = self.exchange(sock, make_query(self.qname, "A", qid=qid, flags=0x0100), qid)
            if reply is None:
                self.bad.append(f"query {qid}: no answer")
                sock = self.connect()
                continue
            self.record(reply, qid)
        sock.close()

    def connect(self):
        if self.tcp:
            s = socket.create_connection(("127.0.0.1", self.port), timeout=2)
        else:
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.connect(("127.0.0.1", self.port))
        s.settimeout(2)
        return s

    def exchange(self, sock, packet, qid):
        try:
            if self.tcp:
                sock.sendall(struct.pack("!H", len(packet)) + packet)
                head = harness._recv_exact(sock, 2)
                return harness._recv_exact(sock, struct.unpack("!H", head)[0]) if head else None
            sock.send(packet)
            while True:
                data = sock.recv(4096)
                if parse_header(data)["id"] == qid:
                    return data
        except (OSError, TypeError):
            return None

    def record(self, reply, qid):
        h = parse_header(reply)
        if h["rcode"] != 0 or h["ancount"] != 1:
            self.bad.append(f"query {qid}: rcode {h['rcode']} ancount {h['ancount']}")
            return
        self.answered += 1
        self.addresses.add(socket.inet_ntoa(reply[-4:]))


def test_nothing_lost(c, binary, workdir):
    path = os.path.join(workdir, "flip.yaml")
    ips = ["10.96.4.1", "10.96.4.2"]
    write(path, SERVICE.format(name="flip", ns="default", ip=ips[0]))
    with Server(binary, [workdir], c, name="no-loss") as s:
        stop = threading.Event()
        askers = [Asker(s.port, "flip.default.svc.cluster.local", tcp, stop)
                  for tcp in (False, False, True)]
        for a in askers:
            a.start()
        for i in range(50):
            write(path, SERVICE.format(name="flip", ns="default", ip=ips[(i + 1) % 2]))
            time.sleep(0.06)
        time.sleep(0.2)
        stop.set()
        for a in askers:
            a.join(timeout=10)
        for a in askers:
            proto = "TCP" if a.tcp else "UDP"
            print(f"no-loss {proto}: {a.sent} sent, {a.answered} answered, {len(a.bad)} bad, "
                  f"addresses seen {sorted(a.addresses)}")
            c.check(a.sent >= 200, f"{proto}: the client kept asking ({a.sent} queries)")
            c.check(not a.bad, f"{proto}: every query answered NOERROR with one address",
                    "\n".join(a.bad[:20]))
            c.check(a.addresses <= set(ips), f"{proto}: only the old or the new address",
                    str(a.addresses))
        c.check(any(len(a.addresses) == 2 for a in askers), "the clients saw both addresses")
        c.check("reloaded" in s.log(), "the server reloaded", s.log()[-2000:])


def test_records(c, binary):
    rc, out = run_command([binary, "records", os.path.join(harness.DATA, "e2e")])
    c.expect_equal(rc, 0, "dnsd records exits 0", out)
    lines = [l for l in out.splitlines() if not l.startswith(";")]
    c.check("web.default.svc.cluster.local. 5 IN A 10.96.0.20" in lines,
            "records shows a ClusterIP A in presentation format", out[:3000])
    c.check("20.0.96.10.in-addr.arpa. 5 IN PTR web.default.svc.cluster.local." in lines,
            "records shows the ClusterIP's PTR", out[:3000])
    c.check(any(l.startswith("cluster.local. 5 IN SOA ns.dns.cluster.local. "
                             "hostmaster.cluster.local. 1 7200 1800 86400 5") for l in lines),
            "records shows the SOA with a fixed serial", out[:3000])
    rc2, out2 = run_command([binary, "records", os.path.join(harness.DATA, "e2e")])
    c.expect_equal(out2, out, "records prints the same output on every run")
    rc, out = run_command([binary, "records", os.path.join(harness.DATA, "broken", "syntax.yaml")])
    c.check(rc not in (0, None) and "syntax.yaml:9" in out, "records on a broken file fails with file:line", out)


def main():
    binary = harness.binary_from_argv("test_reload")
    c = Checks("test_reload")
    for test in (test_files_change_answers, test_files_change_answers_with_cache,
                 test_one_file_patched, test_grown_zone_rebuilt,
                 test_broken_file_keeps_old_zone, test_zone_file_change, test_sighup,
                 test_nothing_lost):
        workdir = tempfile.mkdtemp(prefix="dnsd-reload-")
        try:
            c.run(test, c, binary, workdir)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
    c.run(test_records, c, binary)
    c.finish()


if __name__ == "__main__":
    main()
