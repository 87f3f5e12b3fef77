"""End-to-end: a spoofing flood at the forwarder. The upstream here is a small UDP server of
the test's own that, before the genuine reply, sends dnsd's forwarder a flood of forged
replies from the upstream's own address and port (what an off-path attacker must forge):
every ID but the right one, the question asked, and a poisoned address.

Run: python3 tests/e2e/test_spoof.py build/tests/dnsd-e2e

Behaviours:
  - Every client gets the genuine answer, never the poisoned one, under 4,000 forged replies
    a query; nothing is lost.
  - The cache holds the genuine answer: later asks, over UDP and TCP (cache hits, answered
    by the UDP workers and the TCP thread), return it without asking the upstream again.
  - A forged reply with the right ID but another question is refused too (the forwarder
    checks the question), and the client still gets the genuine answer.
"""

import os
import random
import socket
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from harness import Checks, Server, run_dig  # noqa: E402

GENUINE = "192.0.2.10"
POISON = "203.0.113.66"
FLOOD = 4000


def qname(query):
    labels, at = [], 12
    while query[at] != 0:
        labels.append(query[at + 1:at + 1 + query[at]].decode(errors="replace").lower())
        at += query[at] + 1
    return ".".join(labels)


def reply(query, qid, address, question=None):
    """A response to `query` (its question, or `question`) with one A record."""
    end = 12
    while query[end] != 0:
        end += query[end] + 1
    q = question if question is not None else query[12:end + 5]
    header = struct.pack("!HHHHHH", qid, 0x8180, 1, 1, 0, 0)
    rr = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 300, 4) + socket.inet_aton(address)
    return header + q + rr


class FloodingUpstream:
    """Answers each query after `delay`, first flooding the asker with forged replies."""

    def __init__(self, delay=0.2):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.delay = delay
        self.wrong_question = False
        self.asked = []  # the names asked, in order (dnsd's loop probe included)
        self.stop = False
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        self.sock.settimeout(0.2)
        while not self.stop:
            try:
                query, peer = self.sock.recvfrom(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            self.asked.append(qname(query))
            qid = struct.unpack("!H", query[:2])[0]
            ids = [i for i in random.sample(range(65536), FLOOD + 1) if i != qid][:FLOOD]
            for forged in ids:
                self.sock.sendto(reply(query, forged, POISON), peer)
            if self.wrong_question:
                other = harness.encode_name("other.example.org") + struct.pack("!HH", 1, 1)
                self.sock.sendto(reply(query, qid, POISON, question=other), peer)
            time.sleep(self.delay)
            self.sock.sendto(reply(query, qid, GENUINE), peer)

    def close(self):
        self.stop = True
        self.thread.join()
        self.sock.close()


def main():
    binary = harness.binary_from_argv("test_spoof")
    c = Checks("test_spoof")
    upstream = FloodingUpstream()
    try:
        with Server(binary, [harness.ZONES], c,
                    extra_args=["--upstream", f"127.0.0.1:{upstream.port}",
                                "--upstream-timeout", "2000"]) as d:
            names = [f"host{i}.example.org" for i in range(5)]
            for name in names:
                got = run_dig(d.port, name, options=("+recurse",))
                c.expect_equal(got.rdatas("answer", "A"), [GENUINE],
                               f"{name}: the genuine answer through a flood of forged replies")
            for i, name in enumerate(names):
                tcp = i % 2 == 1  # over TCP too: hits are answered by the TCP thread as well
                got = run_dig(d.port, name, options=("+recurse",), tcp=tcp)
                c.expect_equal(got.rdatas("answer", "A"), [GENUINE],
                               f"{name}: the cache holds the genuine answer"
                               f"{' (TCP)' if tcp else ''}")
            c.expect_equal(sorted(n for n in upstream.asked if n.startswith("host")), names,
                           "each name went upstream once; the second asks were cache hits")
            upstream.wrong_question = True
            got = run_dig(d.port, "checked.example.org", options=("+recurse",))
            c.expect_equal(got.rdatas("answer", "A"), [GENUINE],
                           "a forged reply with the right ID but another question is refused")
            c.check(d.alive(), "dnsd is still running")
    finally:
        upstream.close()
    c.finish()


if __name__ == "__main__":
    main()
