#!/usr/bin/env python3
"""The changes of api_bench.py applied to Knot DNS serving the same zone, through dynamic
update (RFC 2136) with knsupdate: change -> served latency and Knot's CPU per change.

The cluster is api_bench.objects(N); `dnsd records` of it is the zone Knot loads (the
cluster zone and its reverse zones, one file each). Each change of api_bench.events() (a
Service added, a Service deleted, an endpoint turning not ready, a slice gaining an
endpoint) becomes the difference of `dnsd records` before and after it, sent as one UPDATE
per zone it touches from one knsupdate process kept open (so no process start is timed).
Latency runs from writing the update to the first answer that shows it; Knot's CPU is
read per thread from /proc (Knot keeps its threads), less its CPU for the queries that
watched for the changes. A Namespace without Services has no records, so its creation and
deletion are nothing RFC 2136 can send: that row is left out.

Usage: knot_churn.py DNSD_BINARY N [--events K] [--pods-per-service P] [--cpu C]
Knot is pinned to CPU C (default 0) with one worker of each kind, the zone file never
rewritten and no journal (dnsd keeps neither); this script runs on the other CPU.
"""

import collections
import copy
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from api_bench import (SERVICES_PER_NAMESPACE, ChangeCpu, Prober, arguments,  # noqa: E402
                       free_port, last_name, latency_cell, objects, query_cpu_ns, rss_mib, stop)


def zones_of(text):
    """`dnsd records` text -> {apex: [lines]}."""
    zones = collections.OrderedDict()
    apex = None
    for line in text.splitlines():
        if line.startswith("; zone "):
            apex = line[len("; zone "):]
            zones[apex] = []
        elif line and apex:
            zones[apex].append(line)
    return zones


def records(binary, objs, workdir):
    path = os.path.join(workdir, "records-input.json")
    with open(path, "w") as f:
        json.dump({"apiVersion": "v1", "kind": "List", "items": objs}, f)
    out = subprocess.run([binary, "records", path], check=True, capture_output=True, text=True)
    return zones_of(out.stdout)


def start_knot(zones, workdir, cpu, port):
    os.makedirs(os.path.join(workdir, "db"), exist_ok=True)
    zone_conf = ""
    for apex, lines in zones.items():
        path = os.path.join(workdir, f"{apex}zone")
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        zone_conf += f"  - domain: {apex}\n    file: {path}\n    acl: update\n"
    conf = os.path.join(workdir, "knot.conf")
    with open(conf, "w") as f:
        f.write(f"""server:
    rundir: {workdir}
    listen: 127.0.0.1@{port}
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
database:
    storage: {workdir}/db
acl:
  - id: update
    address: 127.0.0.1
    action: update
template:
  - id: default
    storage: {workdir}
    zonefile-sync: -1
    journal-content: none
    semantic-checks: off
zone:
{zone_conf}""")
    log = open(os.path.join(workdir, "knotd.log"), "w")
    return subprocess.Popen(["taskset", "-c", str(cpu), "knotd", "-c", conf], stdout=log,
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            start_new_session=True)


def update_text(before, after):
    """RFC 2136 updates (knsupdate commands) turning zones `before` into `after`; the SOA
    and the apex's NS stay as Knot keeps them."""
    out = []
    for apex in after:
        old, new = set(before.get(apex, [])), set(after[apex])
        gone = [line for line in old - new if " IN SOA " not in line]
        added = [line for line in new - old if " IN SOA " not in line]
        if not gone and not added:
            continue
        out.append(f"zone {apex}")
        out += [f"update delete {line}" for line in sorted(gone)]
        out += [f"update add {line}" for line in sorted(added)]
        out.append("send")
    return "\n".join(out) + "\n"


class Cluster:
    """api_bench's objects by namespace, so that a change's records are made from its
    namespace alone: every name and PTR of a Service, a slice or a Pod depends on its own
    namespace's objects only (no ExternalName or autopath in this cluster)."""

    def __init__(self, objs):
        self.by_ns = collections.defaultdict(dict)
        for o in objs:
            ns = o["metadata"].get("namespace", o["metadata"]["name"])
            self.by_ns[ns][(o["kind"], o["metadata"]["name"])] = o

    def items(self, ns):
        return list(self.by_ns[ns].values())


def main():
    a = arguments()
    workdir = tempfile.mkdtemp(prefix="dnsd-bench-knot-")
    knot = updater = None
    try:
        objs = objects(a.n, a.pods_per_service)
        zones = records(a.binary, objs, workdir)
        port = free_port()
        started = time.monotonic()
        knot = start_knot(zones, workdir, a.cpu, port)
        prober = Prober(port)
        last = last_name(a.n)
        if prober.until(last, lambda r, c: c > 0, timeout=600) is None:
            raise RuntimeError(f"knotd did not load the zone; see {workdir}/knotd.log")
        loaded = time.monotonic() - started
        time.sleep(2)
        rss = rss_mib(knot.pid)
        # Knot pins its UDP worker itself; every thread goes to the benchmark's CPU.
        subprocess.run(["taskset", "-a", "-p", "-c", str(a.cpu), str(knot.pid)],
                       check=True, capture_output=True)

        cluster = Cluster(objs)
        updater = subprocess.Popen(["knsupdate"], stdin=subprocess.PIPE, text=True,
                                   stdout=open(os.path.join(workdir, "knsupdate.log"), "w"),
                                   stderr=subprocess.STDOUT)
        updater.stdin.write(f"server 127.0.0.1 {port}\n")
        kinds = {"Service added": [], "Service deleted": [], "endpoint not ready": [],
                 "slice gains an endpoint": []}

        # The updates are worked out first (dnsd records of the namespace, before and after),
        # so that only Knot's work is timed.
        plan = []

        def change(kind, ns, apply, name, want):
            before = records(a.binary, cluster.items(ns), workdir)
            apply()
            after = records(a.binary, cluster.items(ns), workdir)
            plan.append((kind, update_text(before, after), name, want))

        for j in range(a.events):
            ns = f"ns-{(j * 7) % max(1, a.n // SERVICES_PER_NAMESPACE)}"
            name = f"bench-{j}"
            fqdn = f"{name}.{ns}.svc.cluster.local"
            service = {"apiVersion": "v1", "kind": "Service",
                       "metadata": {"name": name, "namespace": ns},
                       "spec": {"clusterIP": f"10.111.{j >> 8}.{j & 255}",
                                "clusterIPs": [f"10.111.{j >> 8}.{j & 255}"]}}
            key = ("Service", name)
            change("Service added", ns, lambda: cluster.by_ns[ns].__setitem__(key, service),
                   fqdn, lambda r, c: c > 0)
            change("Service deleted", ns, lambda: cluster.by_ns[ns].pop(key), fqdn,
                   lambda r, c: r == 3)
            i = (j * 4 + 3) % (a.n - a.n % 4)
            sns = f"ns-{i // SERVICES_PER_NAMESPACE}"
            slice_key = ("EndpointSlice", f"svc-{i}-a")
            slice_ = copy.deepcopy(cluster.by_ns[sns][slice_key])
            slice_["endpoints"][0]["conditions"]["ready"] = False
            change("endpoint not ready", sns,
                   lambda s=copy.deepcopy(slice_): cluster.by_ns[sns].__setitem__(slice_key, s),
                   f"pod-0.svc-{i}.{sns}.svc.cluster.local", lambda r, c: r == 3)
            slice_["endpoints"][0]["conditions"]["ready"] = True
            slice_["endpoints"].append(dict(slice_["endpoints"][0], hostname=f"extra-{j}",
                                            addresses=[f"10.112.{j >> 8}.{j & 255}"]))
            change("slice gains an endpoint", sns,
                   lambda s=copy.deepcopy(slice_): cluster.by_ns[sns].__setitem__(slice_key, s),
                   f"extra-{j}.svc-{i}.{sns}.svc.cluster.local", lambda r, c: c > 0)

        per_query = query_cpu_ns(knot.pid, prober, last, per_thread=True)
        cpu = ChangeCpu(knot.pid, prober, per_query, per_thread=True)
        for kind, text, name, want in plan:
            start = time.monotonic()
            updater.stdin.write(text)
            updater.stdin.flush()
            waited = prober.until(name, want, timeout=10)
            kinds[kind].append(None if waited is None else time.monotonic() - start)
        cpu_per_change = cpu.per_change_us(len(plan))

        version = subprocess.run(["knotd", "-V"], capture_output=True, text=True).stdout.split()[-1]
        print(f"| N={a.n}, Knot DNS {version} | |")
        print("|---|---|")
        print(f"| zone loaded (first answer after start), s | {loaded:.2f} |")
        print(f"| RSS after load, MiB | {rss:.1f} |")
        for kind, values in kinds.items():
            print(f"| change -> served, ms: {kind} | {latency_cell(values)} |")
        print(f"| Knot CPU per change, µs (its answers to the watching queries taken out) | "
              f"{cpu_per_change:.0f} |")
    finally:
        if updater:
            updater.stdin.close()
            updater.wait(10)
        if knot:
            stop(knot)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
