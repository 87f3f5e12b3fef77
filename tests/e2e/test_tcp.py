"""End-to-end: DNS over TCP and listening.

Run: python3 tests/e2e/test_tcp.py build/tests/dnsd-e2e   (dnsd, told --user root when run as root)

Behaviours:
  - Several queries written at once on one TCP connection are all answered, each with its
    own ID, in order (RFC 7766 §6.2.1 pipelining); a query split across writes is answered.
  - An idle connection is closed after --tcp-idle-timeout; an active one is not.
  - More connections than --tcp-max-conns are refused while the others keep working.
  - A second dnsd on the same address fails to start and says the address is in use.
  - A malformed --listen value is refused with an example of the right form.
  - Slow senders (200 connections writing one byte at a time) do not hold their slot: a
    query that takes longer than the idle timeout to arrive closes its connection, and UDP
    and new TCP clients are answered promptly all along.
  - --tcp-max-queries closes a connection after that many answers.
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


def test_slow_senders(c, binary):
    with Server(binary, MANIFESTS, c, name="slowloris",
                extra_args=["--tcp-idle-timeout", "1000", "--tcp-max-conns", "300"]) as s:
        slow = []
        for _ in range(200):
            try:
                slow.append(socket.create_connection(("127.0.0.1", s.port), timeout=2))
            except OSError:
                break
        c.expect_equal(len(slow), 200, "200 slow connections opened")
        packet = frame(make_query(NAME, "A", qid=5))
        worst_udp = worst_tcp = 0.0
        closed = 0
        for step in range(4):
            for sock in slow:
                try:
                    sock.send(packet[step:step + 1])
                except OSError:
                    pass
            start = time.monotonic()
            c.check(parse_header(s.raw(make_query(NAME, "A", qid=6))) is not None,
                    f"UDP answered while slow senders hold connections (step {step})")
            worst_udp = max(worst_udp, time.monotonic() - start)
            start = time.monotonic()
            reply = s.raw(make_query(NAME, "A", qid=7), tcp=True, timeout=2)
            c.check(reply is not None, f"a new TCP client is answered (step {step})")
            worst_tcp = max(worst_tcp, time.monotonic() - start)
            time.sleep(0.6)
        for sock in slow:
            sock.settimeout(0.5)
            try:
                closed += sock.recv(1) == b""
            except OSError:
                closed += 1
            sock.close()
        print(f"slow senders: worst UDP {worst_udp * 1000:.0f} ms, worst new TCP "
              f"{worst_tcp * 1000:.0f} ms, {closed} of {len(slow)} slow connections closed")
        c.check(worst_udp < 0.5 and worst_tcp < 0.5, "answers stay prompt (< 0.5 s)")
        c.expect_equal(closed, len(slow), "every slow connection was closed by its deadline")


def test_max_queries(c, binary):
    with Server(binary, MANIFESTS, c, name="max-queries",
                extra_args=["--tcp-max-queries", "2"]) as s:
        with socket.create_connection(("127.0.0.1", s.port), timeout=2) as sock:
            sock.sendall(b"".join(frame(make_query(NAME, "A", qid=i)) for i in (1, 2, 3)))
            got = [read_reply(sock) for _ in range(3)]
        c.check(got[0] is not None and got[1] is not None, "the first two queries are answered")
        c.check(got[2] is None, "then the connection is closed (--tcp-max-queries 2)")


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
    c.run(test_slow_senders, c, binary)
    c.run(test_max_queries, c, binary)
    c.finish()


if __name__ == "__main__":
    main()
