#!/usr/bin/env python3
"""The IXFR journal's CPU per publication with zone transfers on, against the project's fake
API server (tests/e2e/fake_apiserver.py, run in this process): dnsd fed N Services through
--kubeconfig with --transfer-to, then K changes of one Service each (added, then deleted), each
waited for until the SOA serial moves, so that every change is a serial of its own. The CPU
of dnsd's journal thread (named dnsd-journal) is read from /proc/PID/task/TID/schedstat
before and after, and divided by the serials it took in.

Usage: journal_bench.py DNSD_BINARY N [--events K] [--pods-per-service P] [--cpu C]
dnsd is pinned to CPU C (default 0), this script to the other one. Prints one Markdown table
row and writes nothing outside a temporary directory.
"""

import os
import shutil
import socket
import struct
import tempfile
import time

import api_bench
from api_bench import FakeApiServer, Prober, free_port, objects, start_dnsd, stop


def soa_serial(port, zone="cluster.local"):
    """The serial of `zone`'s SOA as dnsd answers it over UDP, or None."""
    q = struct.pack(">HHHHHH", 0x5353, 0, 1, 0, 0, 0)
    for label in zone.split("."):
        q += bytes([len(label)]) + label.encode()
    q += b"\x00" + struct.pack(">HH", 6, 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(0.5)
        try:
            s.sendto(q, ("127.0.0.1", port))
            reply = s.recv(4096)
        except (socket.timeout, ConnectionRefusedError):
            return None
    if struct.unpack(">H", reply[6:8])[0] == 0:
        return None

    def skip(at):
        while reply[at] != 0:
            if reply[at] & 0xC0 == 0xC0:
                return at + 2
            at += reply[at] + 1
        return at + 1

    at = skip(12) + 4        # the question
    at = skip(at) + 10       # the answer's owner, type, class, TTL, rdlength
    at = skip(skip(at))      # MNAME, RNAME
    return struct.unpack(">I", reply[at:at + 4])[0]


def journal_tid(pid):
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/comm") as f:
            if f.read().strip() == "dnsd-journal":
                return task
    raise RuntimeError("no dnsd-journal thread: is this dnsd built with transfers?")


def thread_cpu_ns(pid, tid):
    with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
        return int(f.read().split()[0])


def main():
    a = api_bench.arguments()
    workdir = tempfile.mkdtemp(prefix="dnsd-bench-journal-")
    api = FakeApiServer(os.path.join(workdir, "api"), bookmark_interval=60.0)
    proc = None
    try:
        api.start()
        for o in objects(a.n, a.pods_per_service):
            api.apply(o)
        kubeconfig = os.path.join(workdir, "kubeconfig")
        api.write_kubeconfig(kubeconfig, token="secret-token")
        port = free_port()
        with open(os.path.join(workdir, "dnsd.log"), "w") as log:
            proc = start_dnsd(a.binary, ["--kubeconfig", kubeconfig, "--transfer-to",
                                         "127.0.0.1/32"], a.cpu, port, log)
        prober = Prober(port)
        while prober.ask(api_bench.last_name(a.n))[1] == 0:
            if proc.poll() is not None:
                raise RuntimeError("dnsd exited")
            time.sleep(0.05)
        time.sleep(2)  # the journal takes in the first zone
        tid = journal_tid(proc.pid)
        before = thread_cpu_ns(proc.pid, tid)
        serial = soa_serial(port)
        serials = 0
        for j in range(a.events):
            name = f"journal-{j // 2}"
            if j % 2 == 0:
                api.apply({"apiVersion": "v1", "kind": "Service",
                           "metadata": {"name": name, "namespace": "ns-0"},
                           "spec": {"clusterIP": f"10.111.{j >> 9}.{(j >> 1) & 255}",
                                    "clusterIPs": [f"10.111.{j >> 9}.{(j >> 1) & 255}"]}})
            else:
                api.delete("Service", "ns-0", name)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                now = soa_serial(port)
                if now is not None and now != serial:
                    serial = now
                    serials += 1
                    break
                time.sleep(0.01)
        time.sleep(1)  # the last serial's diff
        spent = thread_cpu_ns(proc.pid, tid) - before
        print(f"| N={a.n}, {a.events} changes | {serials} serials | journal thread CPU per "
              f"serial {spent / max(1, serials) / 1e6:.2f} ms |")
    finally:
        if proc:
            stop(proc)
        api.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
