#!/usr/bin/env python3
"""dnsd's memory under a long run of Kubernetes API events, against the project's fake API
server (tests/e2e/fake_apiserver.py, run in this process):

  - a cluster of N Services (api_bench.objects(), without the Pods a default dnsd does not
    watch), then EVENTS random watch events sent as fast as dnsd reads them: endpoints
    turning ready and not ready, slices gaining and losing endpoints, Services added and
    deleted (with their slices) around N, and now and then a Namespace added or deleted;
  - dnsd's RSS every SAMPLE events, once a marker Service sent then is served (so dnsd has
    built every event before it), and at the end after the same pause a fresh start gets;
  - a fresh dnsd started on the final state (the same fake server), its RSS after the sync
    and the same pause: the goal is the churned RSS within 10 % of it;
  - /proc/PID/smaps_rollup of both, events/s achieved, dnsd's publications
    (`dnsd_reload_total{result="success"}`) and events received
    (`dnsd_kubernetes_events_total`).

With --rate R instead: one UDP worker's queries a second (dnsperf at saturation) and p99
(dnsblast at --latency-qps) in --rounds alternating rounds, idle and while R of those events
arrive a second; idle rounds send R Pod events a second, which dnsd does not watch, so that
this process takes the same share of the load generators' core both ways. Also dnsd's CPU
per answer, all its threads together: dnsd is pinned to one core, so one second over it is
what that core could answer at saturation, a measure the generators' own limit leaves alone.

With --pace R the memory run sends R events a second instead of as fast as dnsd reads them:
at a rate dnsd keeps up with, each event is patched into the zone alone, where a flood is
mostly coalesced into whole builds.

Usage: churn_soak.py DNSD_BINARY [N] [EVENTS] [--sample K] [--settled] [--pace R] [--seed S]
                     [--cpu C]
       churn_soak.py DNSD_BINARY N --rate R [--rounds K] [--duration S] [--latency-qps Q]
dnsd is pinned to CPU C (default 0), this script to the other one. Prints Markdown tables
and writes nothing outside a temporary directory.
"""

import argparse
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from api_bench import (SERVICES_PER_NAMESPACE, Prober, cpu_ns, free_port, objects,  # noqa: E402
                       rss_mib, start_dnsd, stop)
from fake_apiserver import FakeApiServer  # noqa: E402 (api_bench put tests/e2e on the path)

# Events queued in the fake server for dnsd's watches that it has not read yet: above this,
# the sender waits, so events go as fast as dnsd reads them and no faster.
QUEUE_BOUND = 2000
# After the last API event dnsd trims its heap once events have paused for 5 s (and its main
# loop next wakes, within a second): both measured RSS are read after this long.
SETTLE_S = 8.0
# At tens of thousands of Services the quiet spell's work takes longer (a zone grown by
# patches is built whole, seconds at 50,000, then the store is copied anew and the heap
# trimmed): the churned RSS is read once it has stopped moving, within this long.
SETTLE_MAX_S = 40.0


def settled_rss(pid):
    """RSS after SETTLE_S, once three readings a second apart agree within 0.2 MiB."""
    time.sleep(SETTLE_S)
    readings = [rss_mib(pid)]
    deadline = time.monotonic() + SETTLE_MAX_S - SETTLE_S
    while time.monotonic() < deadline:
        time.sleep(1.0)
        readings.append(rss_mib(pid))
        if len(readings) >= 3 and max(readings[-3:]) - min(readings[-3:]) <= 0.2:
            break
    return readings[-1]


def slice_of(ns, name, headless, endpoints):
    return {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": f"{name}-a", "namespace": ns,
                         "labels": {"kubernetes.io/service-name": name}},
            "addressType": "IPv4",
            "endpoints": [{"addresses": [ip], "conditions": {"ready": ready},
                           "targetRef": {"kind": "Pod", "name": f"{name}-{host}",
                                         "namespace": ns},
                           **({"hostname": host} if headless else {})}
                          for ip, host, ready in endpoints],
            "ports": [{"name": "http", "protocol": "TCP", "port": 8080}]}


def service_of(ns, name, ip):
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": ns},
            "spec": {"clusterIP": ip, "clusterIPs": [ip],
                     "ports": [{"name": "http", "protocol": "TCP", "port": 80}]}}


class Cluster:
    """The cluster's Services and slices as the churn changes them; every change is sent to
    the API server as one watch event (a Service added or deleted is two: it and its slice)."""

    def __init__(self, api, n, seed):
        self.api, self.n, self.rng = api, n, random.Random(seed)
        self.namespaces = [f"ns-{k}" for k in range((n + SERVICES_PER_NAMESPACE - 1) //
                                                     SERVICES_PER_NAMESPACE)]
        self.services = {}  # (ns, name) -> [headless, cluster IP, [[pod IP, host, ready]...]]
        self.keys = []  # the keys of self.services, for a random pick
        self.where = {}  # key -> index in self.keys
        self.free_ips = []
        self.next_ip = 0  # Service addresses from 10.104.0.0/14, Pod addresses from 10.160/11
        self.next_pod = 0
        self.added = 0
        self.extra_namespaces = []
        self.sent = 0
        self.steps = 0
        self.counts = {}

    def load(self):
        for o in objects(self.n, 3):
            if o["kind"] == "Pod":
                continue
            if o["kind"] == "EndpointSlice":
                meta = o["metadata"]
                name = meta["labels"]["kubernetes.io/service-name"]
                key = (meta["namespace"], name)
                self.services[key][2] = [[e["addresses"][0], e.get("hostname", e["targetRef"][
                    "name"].rsplit("-", 1)[1]), True] for e in o["endpoints"]]
            elif o["kind"] == "Service":
                meta = o["metadata"]
                key = (meta["namespace"], meta["name"])
                self._add_key(key, [o["spec"]["clusterIP"] == "None", o["spec"]["clusterIP"], []])
            self.api.apply(o, owned=True)

    def _add_key(self, key, value):
        self.services[key] = value
        self.where[key] = len(self.keys)
        self.keys.append(key)

    def _remove_key(self, key):
        i = self.where.pop(key)
        last = self.keys.pop()
        if last != key:
            self.keys[i] = last
            self.where[last] = i
        return self.services.pop(key)

    def _pod_ip(self):
        p = self.next_pod = (self.next_pod + 1) % (1 << 21)
        return f"10.{160 + (p >> 16)}.{(p >> 8) & 255}.{p & 255}"

    def _service_ip(self):
        if self.free_ips:
            return self.free_ips.pop()
        i = self.next_ip
        self.next_ip += 1
        return f"10.{104 + (i >> 16)}.{(i >> 8) & 255}.{i & 255}"

    def _count(self, what, events=1):
        self.counts[what] = self.counts.get(what, 0) + events
        self.sent += events

    def _send_slice(self, key):
        headless, _, endpoints = self.services[key]
        self.api.apply(slice_of(key[0], key[1], headless, endpoints), owned=True)

    def add_service(self):
        ns = self.rng.choice(self.namespaces)
        self.added += 1
        name = f"churn-{self.added}"
        headless = self.rng.random() < 0.25
        ip = self._service_ip()
        endpoints = [[self._pod_ip(), f"pod-{k}", True] for k in range(self.rng.randint(1, 4))]
        self._add_key((ns, name), [headless, ip, endpoints])
        self.api.apply(service_of(ns, name, "None" if headless else ip), owned=True)
        self._send_slice((ns, name))
        self._count("Service added (and its slice)", 2)

    def mark(self, k):
        """The marker Service soak-mark-K in ns-0 (the one before it deleted), kept out of the
        random changes: three events."""
        if k:
            self.api.delete("Service", "ns-0", f"soak-mark-{k - 1}")
        ip = f"10.103.{(k >> 8) & 255}.{k & 255}"
        self.api.apply(service_of("ns-0", f"soak-mark-{k}", ip), owned=True)
        self.api.apply(slice_of("ns-0", f"soak-mark-{k}", False, [[ip.replace(
            "10.103", "10.159"), "pod-0", True]]), owned=True)
        if k:
            self.api.delete("EndpointSlice", "ns-0", f"soak-mark-{k - 1}-a")
        self._count("marker Service replaced (4 events each)" if k else "marker", 4 if k else 2)
        return f"soak-mark-{k}.ns-0.svc.cluster.local"

    def delete_service(self):
        key = self.keys[self.rng.randrange(len(self.keys))]
        _, ip, _ = self._remove_key(key)
        self.free_ips.append(ip)
        self.api.delete("EndpointSlice", key[0], f"{key[1]}-a")
        self.api.delete("Service", key[0], key[1])
        self._count("Service deleted (and its slice)", 2)

    def pod_step(self):
        """A Pod changed: an event a default dnsd does not watch, so it reaches no watch and
        costs this process about what a change does, without dnsd seeing it."""
        k = self.steps = self.steps + 1
        ip = self._pod_ip()
        self.api.apply({"apiVersion": "v1", "kind": "Pod",
                        "metadata": {"name": f"idle-{k % 1000}", "namespace": "ns-0"},
                        "status": {"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}]}},
                       owned=True)
        self.sent += 1

    def step(self):
        """One random change."""
        r = self.rng.random()
        self.steps += 1
        if self.steps % 5000 == 0:
            # A Namespace now and then: one added, later deleted (empty, so no cascade).
            if len(self.extra_namespaces) < 3:
                name = f"churn-ns-{self.sent}"
                self.extra_namespaces.append(name)
                self.api.apply({"apiVersion": "v1", "kind": "Namespace",
                                "metadata": {"name": name}}, owned=True)
                self._count("Namespace added")
            else:
                self.api.delete("Namespace", "", self.extra_namespaces.pop(0))
                self._count("Namespace deleted")
            return
        if r < 0.1:
            # Services come and go, the count staying within 5 % of N.
            count = len(self.keys)
            if count < self.n * 0.95 or (count <= self.n * 1.05 and r < 0.05):
                self.add_service()
            else:
                self.delete_service()
            return
        key = self.keys[self.rng.randrange(len(self.keys))]
        endpoints = self.services[key][2]
        if r < 0.6 or (r < 0.8 and len(endpoints) >= 8) or (r >= 0.8 and len(endpoints) <= 1):
            e = endpoints[self.rng.randrange(len(endpoints))]
            e[2] = not e[2]
            self._count("endpoint ready <-> not ready")
        elif r < 0.8:
            used = {host for _, host, _ in endpoints}
            k = 0
            while f"pod-{k}" in used:
                k += 1
            endpoints.append([self._pod_ip(), f"pod-{k}", True])
            self._count("slice gains an endpoint")
        else:
            endpoints.pop(self.rng.randrange(len(endpoints)))
            self._count("slice loses an endpoint")
        self._send_slice(key)


def backlog(api):
    with api.lock:
        watchers = list(api.watchers_set)
    return sum(len(w.queue) for w in watchers)


def metric(port, prefix):
    """The sum of the /metrics lines that start with `prefix`."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        text = r.read().decode()
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith(prefix))


def smaps_rollup(pid):
    """kB figures of /proc/PID/smaps_rollup that say where the RSS is."""
    out = {}
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            parts = line.split()
            if len(parts) == 3 and parts[2] == "kB":
                out[parts[0].rstrip(":")] = int(parts[1])
    return out


def heap_kb(pid):
    """Rss of the main heap ([heap]) and of anonymous mappings (thread arenas, large blocks)."""
    heap = anon = 0
    name = None
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            parts = line.split()
            if "-" in parts[0] and len(parts) >= 5 and ":" not in parts[0]:
                name = parts[5] if len(parts) > 5 else ""
            elif parts[0] == "Rss:":
                if name == "[heap]":
                    heap += int(parts[1])
                elif name == "":
                    anon += int(parts[1])
    return heap, anon


def start(binary, kubeconfig, cpu, workdir, label):
    port, metrics_port = free_port(), free_port()
    log = open(os.path.join(workdir, f"{label}.log"), "w")
    proc = start_dnsd(binary, ["--kubeconfig", kubeconfig, "--log-level", "warn",
                               "--metrics", f"127.0.0.1:{metrics_port}"], cpu, port, log)
    prober = Prober(port)
    prober.port = port
    return proc, prober, metrics_port


def served(prober, name, proc, timeout=600.0):
    got = prober.until(name, lambda r, c: c > 0, timeout)
    if got is None or proc.poll() is not None:
        raise RuntimeError(f"dnsd never served {name}")
    return got


class Churn(threading.Thread):
    """Sends the cluster's random changes (or Pod changes, with `pods`) at `rate` events a
    second until stopped."""

    def __init__(self, cluster, rate, pods=False):
        super().__init__(daemon=True)
        self.cluster, self.rate = cluster, rate
        self.step = cluster.pod_step if pods else cluster.step
        self.halt = threading.Event()
        self.sent = 0
        self.elapsed = 0.0

    def run(self):
        start = time.monotonic()
        first = self.cluster.sent
        while not self.halt.is_set():
            due = start + (self.cluster.sent - first) / self.rate
            wait = due - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            self.step()
        self.sent = self.cluster.sent - first
        self.elapsed = time.monotonic() - start

    def stop(self):
        self.halt.set()
        self.join()


def dnsperf_qps(port, queries, seconds, cpu):
    out = subprocess.run(["taskset", "-c", str(cpu), "dnsperf", "-s", "127.0.0.1", "-p",
                          str(port), "-d", queries, "-l", str(seconds), "-c", "10", "-q", "100"],
                         capture_output=True, text=True, check=True).stdout
    return float(re.search(r"Queries per second:\s+([\d.]+)", out).group(1))


def dnsblast_p99(dnsblast, port, queries, seconds, qps, cpu):
    out = subprocess.run(["taskset", "-c", str(cpu), dnsblast, "-s", "127.0.0.1", "-p",
                          str(port), "-d", queries, "-l", str(seconds), "-Q", str(qps), "-t", "2"],
                         capture_output=True, text=True, check=True).stdout
    return float(re.search(r"p99 ([\d.]+)", out).group(1)) * 1000


def under_load(a, api, cluster, kubeconfig, workdir, procs):
    """One worker's qps (dnsperf at saturation) and p99 (dnsblast at a fixed rate) idle and
    while `a.rate` events a second arrive, in alternating rounds."""
    dnsblast = os.path.join(workdir, "dnsblast")
    subprocess.run(["cc", "-O2", "-o", dnsblast, os.path.join(HERE, "tools", "dnsblast.c")],
                   check=True)
    queries = os.path.join(workdir, "queries.txt")
    with open(queries, "w") as f:
        for i, (ns, name) in enumerate(cluster.keys):
            f.write(f"{name}.{ns}.svc.cluster.local A\n")
            if i % 6 == 5:  # about 15 % NXDOMAIN, as bench/gen_zone.py's mix
                f.write(f"nx-{i}.{ns}.svc.cluster.local A\n")
    proc, prober, metrics_port = start(a.binary, kubeconfig, a.cpu, workdir, "under-load")
    procs.append(proc)
    served(prober, cluster.mark(0), proc)
    gen_cpu = 1 - a.cpu if os.cpu_count() > 1 else 0
    rows = {"idle": [], "churn": []}
    for _ in range(a.rounds):
        for mode in ("idle", "churn"):
            # Idle, the same rate of Pod events, which dnsd does not watch: the sender takes
            # the same share of the generators' core both ways.
            churn = Churn(cluster, a.rate, pods=mode == "idle")
            churn.start()
            time.sleep(1)
            published = metric(metrics_port, 'dnsd_reload_total{result="success"}')
            answered = metric(metrics_port, "dnsd_dns_responses_total")
            cpu, own = cpu_ns(proc.pid), time.process_time()
            t = time.monotonic()
            qps = dnsperf_qps(prober.port, queries, a.duration, gen_cpu)
            p99 = dnsblast_p99(dnsblast, prober.port, queries, a.duration, a.latency_qps,
                               gen_cpu)
            wall = time.monotonic() - t
            spent = cpu_ns(proc.pid) - cpu
            answers = metric(metrics_port, "dnsd_dns_responses_total") - answered
            row = {"qps": qps, "p99": p99, "dnsd_cpu": spent / 1e9 / wall,
                   "cpu_per_answer": spent / max(answers, 1) / 1000,
                   "own_cpu": (time.process_time() - own) / wall,
                   "published": (metric(metrics_port, 'dnsd_reload_total{result="success"}') -
                                 published) / wall}
            churn.stop()
            row["rate"] = churn.sent / churn.elapsed
            rows[mode].append(row)
            print(f"  {mode}: {row}", file=sys.stderr, flush=True)

    def med(mode, key):
        return statistics.median(r[key] for r in rows[mode])

    print(f"N={a.n}, one worker; dnsperf (-c 10 -q 100, {a.duration} s) for qps, dnsblast at "
          f"{a.latency_qps} qps ({a.duration} s) for p99; medians of {a.rounds} alternating "
          f"rounds")
    print()
    print(f"| | idle | {a.rate} events/s | ratio |")
    print("|---|---|---|---|")
    print(f"| qps | {med('idle', 'qps'):,.0f} | {med('churn', 'qps'):,.0f} | "
          f"{med('churn', 'qps') / med('idle', 'qps'):.2f} |")
    print(f"| p99, ms | {med('idle', 'p99'):.3f} | {med('churn', 'p99'):.3f} | "
          f"{med('churn', 'p99') / med('idle', 'p99'):.2f} |")
    # dnsd is pinned to one core, so all its threads (the worker, the API client, the
    # publications) share it: one core over its CPU per answer is the rate it would answer
    # at saturation, whether or not the generators, which share the other core with the
    # fake API server, can reach it.
    idle_cpa, churn_cpa = med("idle", "cpu_per_answer"), med("churn", "cpu_per_answer")
    print(f"| dnsd CPU per answer, all its threads, µs | {idle_cpa:.2f} | {churn_cpa:.2f} | "
          f"{churn_cpa / idle_cpa:.2f} |")
    print(f"| answers a second its core allows (1 s / CPU per answer) | {1e6 / idle_cpa:,.0f} | "
          f"{1e6 / churn_cpa:,.0f} | {idle_cpa / churn_cpa:.2f} |")
    print(f"| dnsd CPU, % of a core | {100 * med('idle', 'dnsd_cpu'):.0f} | "
          f"{100 * med('churn', 'dnsd_cpu'):.0f} | |")
    print(f"| fake API server and sender CPU (on the generator's core), % | "
          f"{100 * med('idle', 'own_cpu'):.0f} | {100 * med('churn', 'own_cpu'):.0f} | |")
    print(f"| zones published a second | {med('idle', 'published'):.1f} | "
          f"{med('churn', 'published'):.1f} | |")
    print(f"| events a second achieved (idle: Pod events, not watched) | "
          f"{med('idle', 'rate'):.0f} | {med('churn', 'rate'):.0f} | |")
    print()
    # Each round's churn against the idle round just before it: the idle p99 drifts between
    # rounds with whatever else the machine runs, and a ratio of two medians taken rounds
    # apart carries that drift, where the median of paired ratios does not.
    print("| round | idle qps | churn qps | ratio | idle p99, ms | churn p99, ms | ratio |")
    print("|---|---|---|---|---|---|---|")
    for k, (i, c) in enumerate(zip(rows["idle"], rows["churn"])):
        print(f"| {k + 1} | {i['qps']:,.0f} | {c['qps']:,.0f} | {c['qps'] / i['qps']:.2f} | "
              f"{i['p99']:.3f} | {c['p99']:.3f} | {c['p99'] / i['p99']:.2f} |")
    pairs = list(zip(rows["idle"], rows["churn"]))
    print(f"| median of the rounds' ratios | | | "
          f"{statistics.median(c['qps'] / i['qps'] for i, c in pairs):.2f} | | | "
          f"{statistics.median(c['p99'] / i['p99'] for i, c in pairs):.2f} |")


def arguments():
    parser = argparse.ArgumentParser()
    parser.add_argument("binary")
    parser.add_argument("n", type=int, nargs="?", default=1000)
    parser.add_argument("events", type=int, nargs="?", default=1_000_000)
    parser.add_argument("--sample", type=int, default=100_000)
    parser.add_argument("--settled", action="store_true",
                        help="read each sample once dnsd has trimmed its heap, as the final one")
    parser.add_argument("--pace", type=int, default=0,
                        help="the memory run: send PACE events a second, not as fast as dnsd "
                        "reads them")
    parser.add_argument("--rate", type=int, default=0,
                        help="instead of the memory run: qps and p99 idle, then with RATE "
                        "events a second")
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--latency-qps", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--cpu", type=int, default=0)
    a = parser.parse_args()
    os.sched_setaffinity(0, {1 - a.cpu} if os.cpu_count() > 1 else {0})
    return a


def main():
    a = arguments()
    workdir = tempfile.mkdtemp(prefix="dnsd-churn-soak-")
    # Bookmarks once a minute; a history as deep as the default's, which dnsd's watches only
    # need when one restarts.
    api = FakeApiServer(os.path.join(workdir, "api"), bookmark_interval=60.0)
    procs = []
    try:
        api.start()
        cluster = Cluster(api, a.n, a.seed)
        cluster.load()
        kubeconfig = api.write_kubeconfig(os.path.join(workdir, "kubeconfig"))
        (under_load if a.rate else memory)(a, api, cluster, kubeconfig, workdir, procs)
    finally:
        for p in procs:
            stop(p)
        api.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def memory(a, api, cluster, kubeconfig, workdir, procs):
    proc, prober, metrics_port = start(a.binary, kubeconfig, a.cpu, workdir, "churned")
    procs.append(proc)
    marker = cluster.mark(0)
    served(prober, marker, proc)
    time.sleep(SETTLE_S)
    rows = [(0, rss_mib(proc.pid), heap_kb(proc.pid)[0] / 1024, 0.0)]
    cluster.sent = 0
    cluster.counts = {}
    started = time.monotonic()
    waited = 0.0
    paused = 0.0  # --settled: the pauses before the samples, not counted in the rate
    next_sample = a.sample
    mark = 0
    while cluster.sent < a.events:
        if a.pace:
            wait = started + paused + cluster.sent / a.pace - time.monotonic()
            if wait > 0:
                time.sleep(wait)
        cluster.step()
        if cluster.steps & 63 == 0:
            while backlog(api) > QUEUE_BOUND:
                t = time.monotonic()
                time.sleep(0.001)
                waited += time.monotonic() - t
                if proc.poll() is not None:
                    raise RuntimeError("dnsd exited; see churned.log")
        if cluster.sent >= next_sample or cluster.sent >= a.events:
            # The marker: this Service served means every event before it was built.
            mark += 1
            name = cluster.mark(mark)
            latency = served(prober, name, proc)
            if a.settled:
                time.sleep(SETTLE_S)
                paused += SETTLE_S
            rows.append((cluster.sent, rss_mib(proc.pid), heap_kb(proc.pid)[0] / 1024, latency))
            print(f"  {cluster.sent} events, {time.monotonic() - started:.0f} s, "
                  f"RSS {rows[-1][1]:.1f} MiB", file=sys.stderr, flush=True)
            next_sample += a.sample
    elapsed = time.monotonic() - started - paused
    publications = metric(metrics_port, 'dnsd_reload_total{result="success"}')
    received = metric(metrics_port, "dnsd_kubernetes_events_total")
    hwm = 0.0
    with open(f"/proc/{proc.pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                hwm = int(line.split()[1]) / 1024
    churned_rss = settled_rss(proc.pid)
    churned_smaps = smaps_rollup(proc.pid)
    churned_heap = heap_kb(proc.pid)
    stop(proc)
    procs.remove(proc)

    proc, prober, _ = start(a.binary, kubeconfig, a.cpu, workdir, "fresh")
    procs.append(proc)
    served(prober, f"soak-mark-{mark}.ns-0.svc.cluster.local", proc)
    fresh_rss = settled_rss(proc.pid)
    fresh_smaps = smaps_rollup(proc.pid)
    fresh_heap = heap_kb(proc.pid)

    print(f"N={a.n}: {cluster.sent} events in {elapsed:.0f} s ({cluster.sent / elapsed:.0f}"
          f"/s{f', paced at {a.pace}/s' if a.pace else ''}; the sender waited for dnsd "
          f"{waited:.0f} s), dnsd received {received:.0f}, "
          f"published {publications:.0f} zones ({cluster.sent / max(1, publications):.1f} "
          f"events a publication); final state {len(cluster.keys)} Services")
    print()
    when = f"{SETTLE_S:.0f} s after the marker" if a.settled else "at the marker"
    print(f"| events | dnsd RSS {when}, MiB | of it [heap], MiB | marker event -> served, ms |")
    print("|---|---|---|---|")
    for sent, rss, heap, latency in rows:
        print(f"| {sent:,} | {rss:.1f} | {heap:.1f} | {latency * 1000:.0f} |")
    print()
    print("| after the events, settled | churned | fresh start, same state | ratio |")
    print("|---|---|---|---|")
    print(f"| RSS, MiB | {churned_rss:.1f} | {fresh_rss:.1f} | "
          f"{churned_rss / fresh_rss:.3f} |")
    print(f"| peak RSS (VmHWM), MiB | {hwm:.1f} | | |")
    for field in ("Anonymous", "Private_Dirty", "Shared_Clean", "Private_Clean"):
        c, f = churned_smaps.get(field, 0), fresh_smaps.get(field, 0)
        print(f"| smaps_rollup {field}, MiB | {c / 1024:.1f} | {f / 1024:.1f} | "
              f"{c / max(1, f):.3f} |")
    for label, c, f in (("[heap]", churned_heap[0], fresh_heap[0]),
                        ("anonymous mappings (arenas, large blocks)", churned_heap[1],
                         fresh_heap[1])):
        print(f"| Rss of {label}, MiB | {c / 1024:.1f} | {f / 1024:.1f} | "
              f"{c / max(1, f):.3f} |")
    print()
    print("| event kind | sent |")
    print("|---|---|")
    for kind, count in sorted(cluster.counts.items()):
        print(f"| {kind} | {count:,} |")


if __name__ == "__main__":
    main()
