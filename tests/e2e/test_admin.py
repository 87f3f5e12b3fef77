"""End-to-end: /metrics, /health and /ready over HTTP (--metrics), and lame duck.

Run: python3 tests/e2e/test_admin.py build/tests/dnsd-e2e   (dnsd, told --user root when run as root)

Behaviours:
  - /health answers 200 as soon as the process is up; /ready answers 503 until the first
    zone is published and 200 after (what Kubernetes probes expect). The manifest is a FIFO
    the test writes only after checking the 503, so the order is certain.
  - /metrics is valid Prometheus text: every line a comment (# HELP / # TYPE) or a sample;
    dnsd_dns_requests_total and dnsd_dns_responses_total rise by the queries sent;
    dnsd_zone_services counts the Services; a broken reload shows in
    dnsd_reload_total{result="failure"}.
  - With --lameduck, after SIGTERM /ready says 503 while DNS is still answered.
  - A SIGTERM the moment /ready says 200 ends dnsd with exit code 0, every time.
  - --log-queries --log-format json: one JSON line per query naming client, ID, type, the
    name as asked, protocol, rcode, flags and duration; other log lines are JSON too.
"""

import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from harness import Checks, free_port, run_dig  # noqa: E402

SERVICE = "apiVersion: v1\nkind: Service\nmetadata: {{name: {name}}}\nspec: {{clusterIP: {ip}}}\n"
SAMPLE = re.compile(r'^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\])*",?)*\})? '
                    r'[-+]?([0-9.]+([eE][-+]?[0-9]+)?|Inf|NaN)$')
COMMENT = re.compile(r"^# (HELP [a-zA-Z_:][a-zA-Z0-9_:]* .*|TYPE [a-zA-Z_:][a-zA-Z0-9_:]* "
                     r"(counter|gauge|histogram|summary|untyped))$")


def http_get(port, path):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except OSError:
        return None, ""


def wait_http(port, path, status, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if http_get(port, path)[0] == status:
            return True
        time.sleep(0.02)
    return False


def metric(text, name, labels=""):
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name + ("{" if labels or "{" in line[len(name):len(name) + 1] else " ")):
            if labels and labels not in line:
                continue
            total += float(line.rsplit(" ", 1)[1])
    return total


def check_text(c, text):
    bad = [l for l in text.splitlines() if l and not (SAMPLE.match(l) or COMMENT.match(l))]
    c.check(not bad, "every /metrics line is valid Prometheus text", "\n".join(bad[:10]))


class Process:
    def __init__(self, argv):
        self.log = tempfile.NamedTemporaryFile(prefix="dnsd-admin-", suffix=".log", delete=False)
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=subprocess.STDOUT, start_new_session=True)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        with open(self.log.name) as f:
            text = f.read()
        os.unlink(self.log.name)
        return text


def test_ready_and_metrics(c, binary, workdir):
    fifo = os.path.join(workdir, "cluster.yaml")
    os.mkfifo(fifo)
    dns_port, http_port = free_port(), free_port()
    # --no-watch: writing the FIFO must not start a reload that would wait on it again.
    p = Process([binary, "--manifests", fifo, "--listen", f"127.0.0.1:{dns_port}",
                 "--metrics", f"127.0.0.1:{http_port}", "--no-forward", "--no-watch"])
    log = ""
    try:
        c.check(wait_http(http_port, "/health", 200), "/health is 200 while the zone loads")
        c.expect_equal(http_get(http_port, "/ready")[0], 503, "/ready is 503 before the first zone")
        with open(fifo, "w") as f:
            for i in range(3):
                f.write(SERVICE.format(name=f"s{i}", ip=f"10.96.5.{i + 1}") + "---\n")
        c.check(wait_http(http_port, "/ready", 200), "/ready is 200 once the zone is published")
        _, before = http_get(http_port, "/metrics")
        check_text(c, before)
        c.expect_equal(metric(before, "dnsd_zone_services"), 3.0, "dnsd_zone_services counts 3")
        for _ in range(5):
            run_dig(dns_port, "s1.default.svc.cluster.local")
        run_dig(dns_port, "nope.default.svc.cluster.local")
        run_dig(dns_port, "s1.default.svc.cluster.local", "AAAA", tcp=True)
        _, after = http_get(http_port, "/metrics")
        check_text(c, after)
        rise = lambda name, labels="": metric(after, name, labels) - metric(before, name, labels)
        c.expect_equal(rise("dnsd_dns_requests_total", 'proto="udp",type="A"'), 6.0,
                       "UDP A requests rose by the 6 sent")
        c.expect_equal(rise("dnsd_dns_requests_total", 'proto="tcp",type="AAAA"'), 1.0,
                       "TCP AAAA requests rose by 1")
        c.expect_equal(rise("dnsd_dns_responses_total", 'rcode="NXDOMAIN"'), 1.0,
                       "NXDOMAIN responses rose by 1")
        c.check(rise("dnsd_dns_request_duration_seconds_count") >= 7,
                "the duration histogram counted every query")
    finally:
        log = p.stop()
    c.check("stopping" in log, "dnsd stopped cleanly", log)


def test_broken_reload_metric(c, binary, workdir):
    path = os.path.join(workdir, "a.yaml")
    with open(path, "w") as f:
        f.write(SERVICE.format(name="a", ip="10.96.5.1"))
    dns_port, http_port = free_port(), free_port()
    p = Process([binary, "--manifests", workdir, "--listen", f"127.0.0.1:{dns_port}",
                 "--metrics", f"127.0.0.1:{http_port}", "--no-forward"])
    try:
        c.check(wait_http(http_port, "/ready", 200), "ready")
        with open(path, "w") as f:
            f.write("kind: Service\nmetadata: {name: a\n")
        deadline = time.monotonic() + 5
        failures = 0.0
        while time.monotonic() < deadline and failures < 1:
            failures = metric(http_get(http_port, "/metrics")[1], "dnsd_reload_total",
                              'result="failure"')
            time.sleep(0.05)
        c.check(failures >= 1, "a broken reload shows in dnsd_reload_total{result=\"failure\"}")
        r = run_dig(dns_port, "a.default.svc.cluster.local")
        c.expect_equal(r.rdatas(), ["10.96.5.1"], "and the old zone still answers")
    finally:
        p.stop()


def test_lameduck(c, binary, workdir):
    path = os.path.join(workdir, "a.yaml")
    with open(path, "w") as f:
        f.write(SERVICE.format(name="a", ip="10.96.5.1"))
    dns_port, http_port = free_port(), free_port()
    p = Process([binary, "--manifests", path, "--listen", f"127.0.0.1:{dns_port}",
                 "--metrics", f"127.0.0.1:{http_port}", "--no-forward", "--lameduck", "1500"])
    try:
        c.check(wait_http(http_port, "/ready", 200), "ready before SIGTERM")
        p.proc.send_signal(signal.SIGTERM)
        c.check(wait_http(http_port, "/ready", 503, timeout=1), "/ready is 503 in lame duck")
        r = run_dig(dns_port, "a.default.svc.cluster.local")
        c.expect_equal(r.rdatas(), ["10.96.5.1"], "DNS still answers in lame duck")
        p.proc.wait(timeout=10)
        c.expect_equal(p.proc.returncode, 0, "exits 0 after the lame duck")
    finally:
        p.stop()


def test_sigterm_once_ready(c, binary, workdir):
    """A SIGTERM sent the moment /ready says 200 ends dnsd cleanly, every time: the admin
    server's threads, started before the main thread blocks SIGTERM, must not take it (the
    process would die of the signal, skipping the lame duck)."""
    path = os.path.join(workdir, "a.yaml")
    with open(path, "w") as f:
        f.write(SERVICE.format(name="a", ip="10.96.5.1"))
    codes = []
    for _ in range(10):
        dns_port, http_port = free_port(), free_port()
        p = Process([binary, "--manifests", path, "--listen", f"127.0.0.1:{dns_port}",
                     "--metrics", f"127.0.0.1:{http_port}", "--no-forward", "--lameduck", "100"])
        try:
            # Polled every millisecond, not wait_http's 20: the signal must come right away.
            deadline = time.monotonic() + 10
            ready = False
            while not ready and time.monotonic() < deadline:
                ready = http_get(http_port, "/ready")[0] == 200
                if not ready:
                    time.sleep(0.001)
            if not ready:
                codes.append("not ready within 10 s")
                continue
            p.proc.send_signal(signal.SIGTERM)
            try:
                codes.append(p.proc.wait(timeout=10))
            except subprocess.TimeoutExpired:
                codes.append("still running after 10 s")
        finally:
            p.stop()
    c.expect_equal(codes, [0] * 10, "SIGTERM as soon as /ready is 200: exit code 0, 10 times")


def test_query_log(c, binary, workdir):
    import json
    path = os.path.join(workdir, "a.yaml")
    with open(path, "w") as f:
        f.write(SERVICE.format(name="a", ip="10.96.5.1"))
    dns_port, http_port = free_port(), free_port()
    p = Process([binary, "--manifests", path, "--listen", f"127.0.0.1:{dns_port}", "--no-forward",
                 "--metrics", f"127.0.0.1:{http_port}", "--log-queries", "--log-format", "json"])
    try:
        c.check(wait_http(http_port, "/ready", 200), "ready")
        run_dig(dns_port, "A.Default.svc.cluster.local")
        run_dig(dns_port, "nope.default.svc.cluster.local", "AAAA", tcp=True)
        time.sleep(0.3)
    finally:
        log = p.stop()
    lines = [l for l in log.splitlines() if l.strip()]
    try:
        records = [json.loads(l) for l in lines]
    except ValueError as e:
        c.check(False, "every log line is JSON", f"{e}\n{log}")
        return
    queries = [r["msg"] for r in records if r.get("logger") == "query"]
    c.expect_equal(len(queries), 2, "one query log line per query", log)
    if len(queries) == 2:
        c.check(re.search(r'^127\.0\.0\.1:\d+ - \d+ "A IN A\.Default\.svc\.cluster\.local\. udp '
                          r'\d+ false \d+" NOERROR qr,aa \d+ [0-9.]+s$', queries[0]),
                "the UDP line: client, id, type, name as asked, proto, rcode, flags", queries[0])
        c.check(re.search(r'^127\.0\.0\.1:\d+ - \d+ "AAAA IN nope\.default\.svc\.cluster\.local\. '
                          r'tcp \d+ false \d+" NXDOMAIN ', queries[1]),
                "the TCP line: client (kept from accept), id, AAAA, tcp, NXDOMAIN", queries[1])


def main():
    binary = harness.binary_from_argv("test_admin")
    c = Checks("test_admin")
    for test in (test_ready_and_metrics, test_broken_reload_metric, test_lameduck,
                 test_sigterm_once_ready, test_query_log):
        with tempfile.TemporaryDirectory(prefix="dnsd-admin-") as workdir:
            c.run(test, c, binary, workdir)
    c.finish()


if __name__ == "__main__":
    main()
