#!/usr/bin/env python3
"""A change of one manifest file in a watched directory of N Services (api_bench.py's
objects, one `kind: List` JSON file per namespace of 50 Services): from the rename of the
edited file to the first answer that shows it (p50 and max), and dnsd's CPU per change
(from /proc/PID/stat, less its CPU for the queries that watched for the answer).

Each change gives one ClusterIP Service of another file a new address. dnsd runs with
--watch (its default) and whatever --dnsd-args add (e.g. --reload-cache).

Usage: manifest_bench.py DNSD_BINARY N [--changes K] [--cpu C] [--label TEXT]
                         [--dnsd-args "ARGS"]
Prints one Markdown table row and writes nothing outside a temporary directory.
"""

import argparse
import json
import os
import shlex
import shutil
import socket
import struct
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from api_bench import (SERVICES_PER_NAMESPACE, ChangeCpu, Prober, free_port, objects,  # noqa: E402
                       percentile, query_cpu_ns, start_dnsd, stop)


def write_files(directory, items):
    """One `kind: List` file per namespace, as ns-K.json; returns {namespace: items}."""
    by_ns = {}
    for item in items:
        ns = item["metadata"].get("namespace") or item["metadata"]["name"]
        by_ns.setdefault(ns, []).append(item)
    for ns, part in by_ns.items():
        write(os.path.join(directory, f"{ns}.json"), part)
    return by_ns


def write(path, items):
    # Write then rename, as editors and ConfigMap updates do.
    tmp = path + ".tmp~"
    with open(tmp, "w") as f:
        json.dump({"apiVersion": "v1", "kind": "List", "items": items}, f)
    os.rename(tmp, path)


def address(prober, name):
    """The first A record's address in dnsd's answer for `name`, or None."""
    prober.qid = (prober.qid + 1) & 0xFFFF
    prober.sent += 1
    q = struct.pack(">HHHHHH", prober.qid, 0, 1, 0, 0, 0)
    for label in name.split("."):
        q += bytes([len(label)]) + label.encode()
    prober.sock.send(q + b"\x00" + struct.pack(">HH", 1, 1))
    while True:
        try:
            reply = prober.sock.recv(4096)
        except (socket.timeout, ConnectionRefusedError):
            return None
        if struct.unpack(">H", reply[:2])[0] != prober.qid:
            continue
        if struct.unpack(">H", reply[6:8])[0] == 0:
            return None
        # One question, then the answer: its rdata ends the message (no other sections).
        return socket.inet_ntoa(reply[-4:])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("binary")
    parser.add_argument("n", type=int)
    parser.add_argument("--changes", type=int, default=20)
    parser.add_argument("--cpu", type=int, default=0)
    parser.add_argument("--label", default="")
    parser.add_argument("--dnsd-args", default="")
    args = parser.parse_args()

    work = tempfile.mkdtemp(prefix="dnsd-manifest-bench-")
    try:
        directory = os.path.join(work, "manifests")
        os.makedirs(directory)
        by_ns = write_files(directory, objects(args.n, 1))
        port = free_port()
        with open(os.path.join(work, "dnsd.log"), "w") as log:
            proc = start_dnsd(args.binary, ["--manifests", directory, "--log-level", "warn"] +
                              shlex.split(args.dnsd_args), args.cpu, port, log)
        try:
            prober = Prober(port)
            if prober.until("svc-0.ns-0.svc.cluster.local", lambda r, c: c > 0, 600) is None:
                with open(os.path.join(work, "dnsd.log")) as log:
                    sys.exit("dnsd did not answer:\n" + log.read()[-2000:])
            per_query = query_cpu_ns(proc.pid, prober, "svc-0.ns-0.svc.cluster.local", 5000)
            cpu = ChangeCpu(proc.pid, prober, per_query)
            took = []
            for k in range(args.changes):
                j = (k * 37 + 1) % ((args.n + SERVICES_PER_NAMESPACE - 1) //
                                    SERVICES_PER_NAMESPACE)
                ns, name = f"ns-{j}", f"svc-{j * SERVICES_PER_NAMESPACE}"
                ip = f"10.110.{k >> 8}.{k & 255}"
                for item in by_ns[ns]:
                    if item["kind"] == "Service" and item["metadata"]["name"] == name:
                        item["spec"]["clusterIP"] = ip
                        item["spec"]["clusterIPs"] = [ip]
                start = time.monotonic()
                write(os.path.join(directory, f"{ns}.json"), by_ns[ns])
                qname = f"{name}.{ns}.svc.cluster.local"
                while address(prober, qname) != ip:
                    if time.monotonic() - start > 60:
                        sys.exit(f"change {k} was not served within 60 s")
                took.append(time.monotonic() - start)
                time.sleep(0.3)  # the next change apart from this one's trailing work
            per_change_ms = cpu.per_change_us(args.changes) / 1000
            print(f"| {args.label or args.dnsd_args or 'dnsd'} | {args.n} | {len(by_ns)} | "
                  f"{percentile(took, 50):.1f} | {max(took) * 1000:.1f} | "
                  f"{per_change_ms:.1f} |")
        finally:
            stop(proc)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
