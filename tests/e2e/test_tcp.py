"""End-to-end: DNS over TCP and listening.

Run: python3 tests/e2e/test_tcp.py /path/to/build/dnsd/dnsd

Behaviours:
  - Several queries written at once on one TCP connection are all answered, each with its
    own ID, in order (RFC 7766 §6.2.1 pipelining); a query split across writes is answered.
  - An idle connection is closed after --tcp-idle-timeout; an active one is not.
  - More connections than --tcp-max-conns are refused while the others keep working.
  - A second dnsd on the same address fails to start and says the address is in use.
  - A malformed --listen value is refused with an example of the right form.
"""

import os
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from harness import Checks, Server, make_query, parse_header, run_command  # noqa: E402

MANIFESTS = [os.path.join(harness.DATA, "e2e")]
NAME = "web.default.svc.cluster.local"


def frame(packet):
    return struct.pack("!H", len(packet)) + packet


def read_reply(sock):
    head = harness._recv_exact(sock, 2)
    if head is None:
        return None
    return harness._recv_exact(sock, struct.unpack("!H", head)[0])


def test_pipelining(c, s):
    with socket.create_connection(("127.0.0.1", s.port), timeout=2) as sock:
        ids = [0x1001, 0x1002, 0x1003]
        sock.sendall(b"".join(frame(make_query(NAME, "A", qid=i)) for i in ids))
        got = [parse_header(read_reply(sock)) for _ in ids]
        c.expect_equal([h["id"] for h in got], ids, "pipelined queries answered in order")
        c.check(all(h["rcode"] == 0 and h["ancount"] == 1 for h in got),
                "each pipelined answer has the A record", str(got))
        # One query in three writes.
        data = frame(make_query(NAME, "A", qid=0x2002))
        for part in (data[:1], data[1:7], data[7:]):
            sock.sendall(part)
            time.sleep(0.05)
        h = parse_header(read_reply(sock))
        c.check(h is not None and h["id"] == 0x2002 and h["ancount"] == 1,
                "a query split across writes is answered", str(h))


def test_idle_timeout(c, s):
    with socket.create_connection(("127.0.0.1", s.port), timeout=3) as sock:
        sock.sendall(frame(make_query(NAME, "A", qid=7)))
        c.check(read_reply(sock) is not None, "an active connection is answered")
        start = time.monotonic()
        try:
            closed = sock.recv(1) == b""
        except OSError:
            closed = True
        took = time.monotonic() - start
        c.check(closed and took < 2.5, f"an idle connection is closed ({took:.2f} s, timeout 0.5 s)")


def test_max_connections(c, s):
    socks = [socket.create_connection(("127.0.0.1", s.port), timeout=2) for _ in range(4)]
    try:
        refused = 0
        for sock in socks:
            try:
                sock.sendall(frame(make_query(NAME, "A", qid=9)))
                if read_reply(sock) is None:
                    refused += 1
            except OSError:
                refused += 1
        c.expect_equal(refused, 1, "one connection over --tcp-max-conns 3 is refused")
        r = s.dig(NAME)
        c.check(r.rcode is not None, "UDP is still answered", r.describe())
    finally:
        for sock in socks:
            sock.close()


def test_address_in_use(c, binary, s):
    rc, out = run_command([binary, "--manifests", MANIFESTS[0], "--no-forward", "--listen",
                           f"127.0.0.1:{s.port}"], timeout=10)
    c.check(rc not in (0, None), "a second dnsd on the same address exits non-zero", out)
    c.check("in use" in out and f"127.0.0.1:{s.port}" in out,
            "it says the address is in use, naming it", out)


def test_bad_listen(c, binary):
    rc, out = run_command([binary, "--manifests", MANIFESTS[0], "--no-forward", "--listen", "localhost"])
    c.check(rc not in (0, None) and "ADDR:PORT" in out, "a malformed --listen is explained", out)


def main():
    binary = harness.binary_from_argv("test_tcp")
    c = Checks("test_tcp")
    with Server(binary, MANIFESTS, c, extra_args=["--tcp-idle-timeout", "500",
                                                  "--tcp-max-conns", "3"]) as s:
        c.run(test_pipelining, c, s)
        c.run(test_idle_timeout, c, s)
        c.run(test_max_connections, c, s)
        c.run(test_address_in_use, c, binary, s)
    c.run(test_bad_listen, c, binary)
    c.finish()


if __name__ == "__main__":
    main()
