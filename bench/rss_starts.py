#!/usr/bin/env python3
"""dnsd's resident memory on every start, beside Knot DNS serving the same zone.

The cluster of `gen_zone.py N` (YAML manifests for dnsd, `cluster.local.zone` for Knot).
Each start: the server pinned to CPU C, VmRSS read 3 s after its first answer; for dnsd,
then a SIGHUP reload and VmRSS 3 s after the reload's log line (the heap is trimmed once
the replaced snapshot is released). Starts of every configuration alternate, so that the
machine's load falls on all alike.

Usage: rss_starts.py DNSD_BINARY N [--starts S] [--threads 1,2] [--before BINARY] [--cpu C]
--before adds another dnsd binary (a build of an earlier commit) to every round.
Knot runs with one worker of each kind and no journal (knot_churn.py's configuration).
"""
import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from api_bench import Prober, free_port, rss_mib, stop  # noqa: E402
from knot_churn import start_knot  # noqa: E402

SETTLE = 3.0  # seconds after the answer (or the reload) before VmRSS is read
NAME = "svc-0.ns-0.svc.cluster.local"


def answered(rcode, count):
    return rcode == 0 and count > 0


def wait_for(path, text, count, timeout=300):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with open(path) as f:
            if f.read().count(text) >= count:
                return True
        time.sleep(0.05)
    return False


def dnsd_start(binary, manifests, threads, cpu, workdir, label):
    port = free_port()
    log_path = os.path.join(workdir, f"{label}.log")
    argv = ["taskset", "-c", str(cpu), binary, "--manifests", manifests, "--listen",
            f"127.0.0.1:{port}", "--threads", str(threads), "--no-watch", "--no-forward",
            "--log-level", "info"]
    if os.geteuid() == 0:
        argv += ["--user", "root"]
    with open(log_path, "w") as log:
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        if Prober(port).until(NAME, answered, timeout=300) is None:
            raise RuntimeError(f"{label}: no answer; see {log_path}")
        time.sleep(SETTLE)
        first = rss_mib(proc.pid)
        proc.send_signal(signal.SIGHUP)
        if not wait_for(log_path, "reloaded:", 1):
            raise RuntimeError(f"{label}: no reload; see {log_path}")
        time.sleep(SETTLE)
        return first, rss_mib(proc.pid)
    finally:
        stop(proc)


def knot_start(zone, cpu, workdir):
    d = tempfile.mkdtemp(prefix="knot-", dir=workdir)
    port = free_port()
    with open(zone) as f:
        proc = start_knot({"cluster.local.": f.read().splitlines()}, d, cpu, port)
    try:
        if Prober(port).until(NAME, answered, timeout=300) is None:
            raise RuntimeError(f"knotd: no answer; see {d}/knotd.log")
        time.sleep(SETTLE)
        return rss_mib(proc.pid)
    finally:
        stop(proc)


def spread(values):
    lo, hi = min(values), max(values)
    return f"{lo:.1f}" if round(lo, 1) == round(hi, 1) else f"{lo:.1f}–{hi:.1f}"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("binary")
    p.add_argument("n", type=int)
    p.add_argument("--starts", type=int, default=5)
    p.add_argument("--threads", default="1,2")
    p.add_argument("--before")
    p.add_argument("--cpu", type=int, default=0)
    a = p.parse_args()
    workdir = tempfile.mkdtemp(prefix="dnsd-rss-")
    try:
        here = os.path.dirname(os.path.abspath(__file__))
        subprocess.run([sys.executable, os.path.join(here, "gen_zone.py"), str(a.n), "--out",
                        os.path.join(workdir, "data")], check=True, stdout=subprocess.DEVNULL)
        manifests = os.path.join(workdir, "data", "manifests")
        zone = os.path.join(workdir, "data", "cluster.local.zone")
        binaries = [("dnsd", a.binary)] + ([("before", a.before)] if a.before else [])
        threads = [int(t) for t in a.threads.split(",")]
        started, reloaded, knot = {}, {}, []
        for round_ in range(a.starts):
            for label, binary in binaries:
                for t in threads:
                    key = (label, t)
                    first, after = dnsd_start(binary, manifests, t, a.cpu, workdir,
                                              f"{label}-t{t}-{round_}")
                    started.setdefault(key, []).append(first)
                    reloaded.setdefault(key, []).append(after)
            knot.append(knot_start(zone, a.cpu, workdir))
            print(f"round {round_ + 1}: " + ", ".join(
                f"{label} --threads {t} {started[(label, t)][-1]:.1f}/{reloaded[(label, t)][-1]:.1f}"
                for label, _ in binaries for t in threads) + f", knot {knot[-1]:.1f} MiB",
                flush=True)
        version = subprocess.run(["knotd", "-V"], capture_output=True, text=True).stdout.split()[-1]
        print(f"\nN={a.n}, {a.starts} starts each, VmRSS {SETTLE:.0f} s after the first answer "
              f"and after a SIGHUP reload, MiB; dnsd's highest over Knot DNS {version}'s lowest")
        print("| server | started | reloaded | highest / Knot's lowest |")
        print("|---|---|---|---|")
        for (label, t), values in started.items():
            worst = max(values + reloaded[(label, t)])
            print(f"| {label} --threads {t} | {spread(values)} | {spread(reloaded[(label, t)])} | "
                  f"{worst / min(knot):.3f} |")
        print(f"| Knot DNS {version} | {spread(knot)} | | |")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
