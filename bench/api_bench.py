#!/usr/bin/env python3
"""The Kubernetes API source, measured against the project's fake API server
(tests/e2e/fake_apiserver.py, run in this process):

  - sync: from dnsd's start to its first answer, through the API and from the same objects
    as a manifest file;
  - RSS after the sync, both ways (the API path holds the trimmed objects besides the zone);
  - event -> served: from the moment an object is handed to the API server to the first
    answer that shows it, for a Service added, a Service deleted, an endpoint turning not
    ready, a slice gaining an endpoint and a Namespace deleted; p50 and p99;
  - dnsd's CPU per event over those events (from /proc/PID/stat), less its CPU for the
    queries that watched for them.

Usage: api_bench.py DNSD_BINARY N [--events K] [--pods-per-service P] [--cpu C]
dnsd is pinned to CPU C (default 0), this script to the other one. Prints one Markdown
table row per measure and writes nothing outside a temporary directory.
"""

import argparse
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests", "e2e"))

from fake_apiserver import FakeApiServer  # noqa: E402

SERVICES_PER_NAMESPACE = 50


def objects(n, pods_per_service):
    """N Services in namespaces of 50: three in four ClusterIP, one in four headless with
    hostnames, each with one EndpointSlice of `pods_per_service` ready Pods (and the Pods)."""
    out = []
    for ns in range((n + SERVICES_PER_NAMESPACE - 1) // SERVICES_PER_NAMESPACE):
        out.append({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": f"ns-{ns}"}})
    for i in range(n):
        ns = f"ns-{i // SERVICES_PER_NAMESPACE}"
        headless = i % 4 == 3
        ip = f"10.{96 + (i >> 16)}.{(i >> 8) & 255}.{i & 255}"
        spec = {"ports": [{"name": "http", "protocol": "TCP", "port": 80}]}
        spec["clusterIP"] = "None" if headless else ip
        spec["clusterIPs"] = [spec["clusterIP"]]
        out.append({"apiVersion": "v1", "kind": "Service",
                    "metadata": {"name": f"svc-{i}", "namespace": ns}, "spec": spec})
        endpoints = []
        for k in range(pods_per_service):
            p = i * pods_per_service + k
            pod_ip = f"10.{128 + (p >> 16)}.{(p >> 8) & 255}.{p & 255}"
            e = {"addresses": [pod_ip], "conditions": {"ready": True},
                 "targetRef": {"kind": "Pod", "name": f"svc-{i}-{k}", "namespace": ns}}
            if headless:
                e["hostname"] = f"pod-{k}"
            endpoints.append(e)
            out.append({"apiVersion": "v1", "kind": "Pod",
                        "metadata": {"name": f"svc-{i}-{k}", "namespace": ns},
                        "status": {"phase": "Running", "podIP": pod_ip,
                                   "podIPs": [{"ip": pod_ip}]}})
        out.append({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                    "metadata": {"name": f"svc-{i}-a", "namespace": ns,
                                 "labels": {"kubernetes.io/service-name": f"svc-{i}"}},
                    "addressType": "IPv4", "endpoints": endpoints,
                    "ports": [{"name": "http", "protocol": "TCP", "port": 8080}]})
    return out


def query(name, qid=1):
    q = struct.pack(">HHHHHH", qid, 0, 1, 0, 0, 0)
    for label in name.rstrip(".").split("."):
        q += bytes([len(label)]) + label.encode()
    return q + b"\x00" + struct.pack(">HH", 1, 1)


class Prober:
    """Asks dnsd one name over UDP as fast as it answers: (rcode, answer count)."""

    def __init__(self, port):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.connect(("127.0.0.1", port))
        self.sock.settimeout(0.5)
        self.qid = 0
        self.sent = 0  # queries asked, for cpu_per_change()

    def ask(self, name):
        self.qid = (self.qid + 1) & 0xFFFF
        self.sent += 1
        try:
            self.sock.send(query(name, self.qid))
        except ConnectionRefusedError:  # not listening yet
            return None, 0
        while True:
            try:
                reply = self.sock.recv(4096)
            except (socket.timeout, ConnectionRefusedError):
                return None, 0
            if struct.unpack(">H", reply[:2])[0] == self.qid:
                flags, _, ancount = struct.unpack(">HHH", reply[2:8])
                return flags & 0xF, ancount

    def until(self, name, want, timeout=30.0):
        """Seconds until the answer for `name` is `want` (rcode, count) or count > 0."""
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            rcode, count = self.ask(name)
            if want(rcode, count):
                return time.monotonic() - start
        return None


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def cpu_ns(pid, per_thread=False):
    """CPU time of `pid` so far, in ns. By default from /proc/PID/stat, which counts threads
    that have ended (a large reload of dnsd's starts and ends some), in 10 ms ticks; with
    `per_thread`, the sum of /proc/PID/task/*/schedstat, exact but blind to ended threads
    (right for a server that keeps its threads, as Knot does)."""
    if not per_thread:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) * 1_000_000_000 // os.sysconf("SC_CLK_TCK")
    total = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/schedstat") as f:
                total += int(f.read().split()[0])
        except (FileNotFoundError, ProcessLookupError):
            pass
    return total


def query_cpu_ns(pid, prober, name, count=20000, per_thread=False):
    """A server's CPU per query of `name`, to take the watching queries out of a change's CPU."""
    before = cpu_ns(pid, per_thread)
    for _ in range(count):
        prober.ask(name)
    return (cpu_ns(pid, per_thread) - before) / count


class ChangeCpu:
    """A server's CPU per change over a run of changes, less what it spent answering the
    queries that watched for them (each measured apart, as query_cpu_ns())."""

    def __init__(self, pid, prober, per_query_ns, per_thread=False):
        self.pid, self.prober, self.per_query_ns = pid, prober, per_query_ns
        self.per_thread = per_thread
        self.cpu, self.sent = cpu_ns(pid, per_thread), prober.sent

    def per_change_us(self, changes):
        spent = cpu_ns(self.pid, self.per_thread) - self.cpu
        queries = self.prober.sent - self.sent
        return (spent - queries * self.per_query_ns) / changes / 1000


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_dnsd(binary, args, cpu, port, log):
    argv = ["taskset", "-c", str(cpu), binary, "--listen", f"127.0.0.1:{port}", "--no-forward",
            "--threads", "1", "--kube-sync-timeout", "600"] + args
    if os.geteuid() == 0:
        argv += ["--user", "root"]
    return subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            start_new_session=True)


def stop(proc):
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))] * 1000


def sync_and_rss(binary, args, cpu, workdir, label, last_name):
    port = free_port()
    with open(os.path.join(workdir, f"{label}.log"), "w") as log:
        started = time.monotonic()
        proc = start_dnsd(binary, args, cpu, port, log)
        prober = Prober(port)
        while prober.ask(last_name)[1] == 0:
            if proc.poll() is not None:
                raise RuntimeError(f"dnsd ({label}) exited; see {log.name}")
            time.sleep(0.01)
        synced = time.monotonic() - started
        time.sleep(2)
        return proc, port, synced, rss_mib(proc.pid)


def events(api, prober, n, k, slices):
    """Event -> served latencies (seconds) of each kind, k of each."""
    kinds = {"Service added": [], "Service deleted": [], "endpoint not ready": [],
             "slice gains an endpoint": [], "Namespace deleted": []}
    for j in range(k):
        ns = f"ns-{(j * 7) % max(1, n // SERVICES_PER_NAMESPACE)}"
        name = f"bench-{j}"
        fqdn = f"{name}.{ns}.svc.cluster.local"
        api.apply({"apiVersion": "v1", "kind": "Service",
                   "metadata": {"name": name, "namespace": ns},
                   "spec": {"clusterIP": f"10.111.{j >> 8}.{j & 255}",
                            "clusterIPs": [f"10.111.{j >> 8}.{j & 255}"]}})
        kinds["Service added"].append(prober.until(fqdn, lambda r, c: c > 0))
        api.delete("Service", ns, name)
        kinds["Service deleted"].append(prober.until(fqdn, lambda r, c: r == 3))

        # A headless Service's endpoint turns not ready, then comes back with another.
        i = (j * 4 + 3) % (n - n % 4)  # a headless one: i % 4 == 3
        sns = f"ns-{i // SERVICES_PER_NAMESPACE}"
        slice_ = json.loads(json.dumps(slices[(sns, f"svc-{i}-a")]))
        slice_["endpoints"][0]["conditions"]["ready"] = False
        api.apply(slice_)
        kinds["endpoint not ready"].append(
            prober.until(f"pod-0.svc-{i}.{sns}.svc.cluster.local", lambda r, c: r == 3))
        slice_["endpoints"][0]["conditions"]["ready"] = True
        extra = dict(slice_["endpoints"][0], hostname=f"extra-{j}",
                     addresses=[f"10.112.{j >> 8}.{j & 255}"])
        slice_["endpoints"].append(extra)
        api.apply(slice_)
        kinds["slice gains an endpoint"].append(
            prober.until(f"extra-{j}.svc-{i}.{sns}.svc.cluster.local", lambda r, c: c > 0))

        gone = f"gone-{j}"
        api.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": gone}})
        prober.until(f"{gone}.svc.cluster.local", lambda r, c: r == 0)
        api.delete("Namespace", "", gone)
        kinds["Namespace deleted"].append(
            prober.until(f"{gone}.svc.cluster.local", lambda r, c: r == 3))
    return kinds


def arguments():
    """The command line shared with knot_churn.py; this process goes to the other CPU."""
    parser = argparse.ArgumentParser()
    parser.add_argument("binary")
    parser.add_argument("n", type=int)
    parser.add_argument("--events", type=int, default=20)
    parser.add_argument("--pods-per-service", type=int, default=3)
    parser.add_argument("--cpu", type=int, default=0)
    a = parser.parse_args()
    os.sched_setaffinity(0, {1 - a.cpu} if os.cpu_count() > 1 else {0})
    return a


def last_name(n):
    """A name of the last Service objects() makes that has an address (not headless)."""
    return (f"svc-{n - 2 if (n - 1) % 4 == 3 else n - 1}."
            f"ns-{(n - 1) // SERVICES_PER_NAMESPACE}.svc.cluster.local")


def latency_cell(values):
    """'p50 X, p99 Y' in ms of the latencies that were served, and how many never were."""
    ok = [v for v in values if v is not None]
    missed = len(values) - len(ok)
    text = f"p50 {percentile(ok, 50):.1f}, p99 {percentile(ok, 99):.1f}" if ok else "-"
    return text + (f" ({missed} never served)" if missed else "")


def main():
    a = arguments()
    workdir = tempfile.mkdtemp(prefix="dnsd-bench-api-")
    api = FakeApiServer(os.path.join(workdir, "api"), bookmark_interval=60.0)
    procs = []
    try:
        api.start()
        objs = objects(a.n, a.pods_per_service)
        for o in objs:
            api.apply(o)
        manifest = os.path.join(workdir, "cluster.json")
        with open(manifest, "w") as f:
            json.dump({"apiVersion": "v1", "kind": "List", "items": objs}, f)
        kubeconfig = os.path.join(workdir, "kubeconfig")
        api.write_kubeconfig(kubeconfig, token="secret-token")
        last = last_name(a.n)

        # Memory and sync with every Pod read (--pods verified watches them), both ways.
        pod_flags = ["--pods", "verified"]
        proc, _, file_sync, file_rss = sync_and_rss(
            a.binary, ["--manifests", manifest] + pod_flags, a.cpu, workdir, "manifests", last)
        stop(proc)
        proc, _, api_sync, api_rss = sync_and_rss(
            a.binary, ["--kubeconfig", kubeconfig] + pod_flags, a.cpu, workdir, "api", last)
        stop(proc)
        # Changes as a default dnsd sees them (Pods not watched).
        proc, port, _, _ = sync_and_rss(a.binary, ["--kubeconfig", kubeconfig], a.cpu, workdir,
                                        "api-default", last)
        procs.append(proc)
        slices = {(o["metadata"]["namespace"], o["metadata"]["name"]): o
                  for o in objs if o["kind"] == "EndpointSlice"}
        prober = Prober(port)
        # Per thread (schedstat): exact, where /proc/PID/stat counts 10 ms ticks, a few over
        # a run of changes; patches start no thread whose CPU it would miss.
        per_query = query_cpu_ns(proc.pid, prober, last, per_thread=True)
        cpu = ChangeCpu(proc.pid, prober, per_query, per_thread=True)
        latencies = events(api, prober, a.n, a.events, slices)
        # Each round sends six events: the five measured and the Namespace's creation.
        cpu_per_event = cpu.per_change_us(6 * a.events)
        pods = a.n * a.pods_per_service
        print(f"| N={a.n}, {pods} Pods | manifests | API |")
        print("|---|---|---|")
        print(f"| first answer after start (`--pods verified`), s | {file_sync:.2f} | "
              f"{api_sync:.2f} |")
        print(f"| RSS after sync (`--pods verified`), MiB | {file_rss:.1f} | {api_rss:.1f} |")
        for kind, values in latencies.items():
            print(f"| event -> served, ms: {kind} | | {latency_cell(values)} |")
        print(f"| dnsd CPU per event, µs (its answers to the watching queries taken out) | | "
              f"{cpu_per_event:.0f} |")
    finally:
        for p in procs:
            stop(p)
        api.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
