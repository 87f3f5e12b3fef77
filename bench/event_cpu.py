#!/usr/bin/env python3
"""dnsd's CPU per Kubernetes API event at a sustained rate, thread by thread, against the
project's fake API server (tests/e2e/fake_apiserver.py, run in this process): the cluster and
random events of churn_soak.py (endpoints turning ready and not ready, slices gaining and
losing endpoints, Services added and deleted, now and then a Namespace), RATE a second for
SECONDS, with no queries. For each dnsd thread that worked: its CPU over the events (from
/proc/PID/task/TID/schedstat) per event; and how many zones were published, patched or built
whole (`dnsd_zone_publications_total`).

The threads: the main one, which applies the changes to the zone and publishes it, and the
API client's, which reads the watches (TLS, JSON) into its store; the workers answer no
queries here.

Usage: event_cpu.py DNSD_BINARY N [--rate R] [--seconds S] [--cpu C]
dnsd is pinned to CPU C (default 0), this script to the other one. Prints one Markdown table.
"""

import argparse
import os
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import churn_soak  # noqa: E402
from api_bench import stop  # noqa: E402


def thread_cpu_ns(pid):
    """{tid: (name, ns)} of every thread of `pid`."""
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/comm") as f:
                name = f.read().strip()
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                out[int(tid)] = (name, int(f.read().split()[0]))
        except (FileNotFoundError, ProcessLookupError):
            pass
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("binary")
    parser.add_argument("n", type=int)
    parser.add_argument("--rate", type=int, default=1000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--cpu", type=int, default=0)
    a = parser.parse_args()
    os.sched_setaffinity(0, {1 - a.cpu} if os.cpu_count() > 1 else {0})
    workdir = tempfile.mkdtemp(prefix="dnsd-bench-events-")
    api = churn_soak.FakeApiServer(os.path.join(workdir, "api"), bookmark_interval=60.0)
    proc = None
    try:
        api.start()
        cluster = churn_soak.Cluster(api, a.n, 1)
        cluster.load()
        kubeconfig = api.write_kubeconfig(os.path.join(workdir, "kubeconfig"))
        proc, prober, metrics_port = churn_soak.start(a.binary, kubeconfig, a.cpu, workdir,
                                                      "events")
        churn_soak.served(prober, cluster.mark(0), proc)
        time.sleep(1)

        def publications(build):
            return churn_soak.metric(metrics_port,
                                     f'dnsd_zone_publications_total{{build="{build}"}}')

        before = thread_cpu_ns(proc.pid)
        full, patch = publications("full"), publications("patch")
        churn = churn_soak.Churn(cluster, a.rate)
        churn.start()
        time.sleep(a.seconds)
        churn.stop()
        time.sleep(0.5)  # the last events applied
        after = thread_cpu_ns(proc.pid)
        full, patch = publications("full") - full, publications("patch") - patch
        events = churn.sent
        main_tid = proc.pid  # the main thread's id is the process's
        print(f"| N={a.n}, {events} events at {events / churn.elapsed:.0f} a second | "
              f"CPU per event, µs |")
        print("|---|---|")
        total = 0
        for tid, (name, ns) in sorted(after.items()):
            spent = ns - before.get(tid, (name, 0))[1]
            if spent < 1_000_000:  # under 1 ms over the run: idle
                continue
            total += spent
            what = "main (applies, publishes)" if tid == main_tid else name
            print(f"| thread {tid}, {what} | {spent / events / 1000:.1f} |")
        print(f"| all threads | {total / events / 1000:.1f} |")
        print(f"| zones published: patched, built whole | {patch:.0f}, {full:.0f} |")
    finally:
        if proc:
            stop(proc)
        api.stop()


if __name__ == "__main__":
    main()
