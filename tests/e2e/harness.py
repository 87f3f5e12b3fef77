"""Shared code for dnsd's end-to-end tests: run the real binary, ask it with dig.

Standard library only. Each test script is run by meson as

    python3 tests/e2e/test_X.py /path/to/build/dnsd

with an unspecified working directory, so data paths are resolved from this file.

- Checks: counts passes and failures; finish() prints exactly one summary line
  `NAME: N passed, N failed`, the logs of the servers when something failed,
  and exits 1 if any check failed.
- Server: starts dnsd on a free loopback port with its output in a log file,
  waits until it answers, runs dig against it, stops it by PID.
- Dig / parse_dig: dig's default output turned into rcode, flags and sections
  of (name, ttl, class, type, rdata) tuples. run_dig_query names any class;
  run_dig_batch asks many questions with one dig; match_rrs compares a section
  with expected RRs in presentation format (strings or regexes).
- raw_exchange: send hand-made bytes over UDP or TCP, for malformed packets.
"""

import ipaddress
import os
import re
import shlex
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
DATA = os.path.join(REPO, "tests", "data")
ZONES = os.path.join(REPO, "zones")

DIG_TIMEOUT = 15  # seconds for one dig subprocess (dig itself gives up after +time)
READY_TIMEOUT = 10.0


# --- checks -------------------------------------------------------------------------


class Checks:
    """Counts passes and failures. One summary line at the end."""

    def __init__(self, name):
        self.name = name
        self.passed = 0
        self.failed = 0
        self.servers = []  # every Server started, for its log on failure

    def check(self, cond, what, detail=""):
        if cond:
            self.passed += 1
        else:
            self.failed += 1
            print(f"FAIL: {what}", flush=True)
            if detail:
                for line in str(detail).rstrip("\n").split("\n"):
                    print(f"    {line}")
            sys.stdout.flush()
        return bool(cond)

    def expect_equal(self, got, want, what, detail=""):
        extra = f"got:  {got!r}\nwant: {want!r}"
        if detail:
            extra += "\n" + str(detail)
        return self.check(got == want, what, extra)

    def run(self, func, *args):
        """Runs one scenario; an exception in it counts as one failure, and the rest go on."""
        try:
            func(*args)
        except Exception:  # noqa: BLE001 - a broken scenario must not stop the others
            self.check(False, f"{func.__name__} raised", traceback.format_exc())

    def finish(self):
        for server in self.servers:
            if self.failed:
                server.print_log()
            else:
                server.remove_log()
        print(f"{self.name}: {self.passed} passed, {self.failed} failed", flush=True)
        sys.exit(1 if self.failed else 0)


# --- ports --------------------------------------------------------------------------


def free_port():
    """A loopback port free for both UDP and TCP right now."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t:
            t.bind(("127.0.0.1", 0))
            port = t.getsockname()[1]
            try:
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
                    u.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free loopback port for UDP and TCP")


# --- dig ----------------------------------------------------------------------------


class DigResult:
    """dig's answer: rcode (None when no answer), flags, and the four sections.

    question: list of (name, class, type), names exactly as dig printed them.
    answer/authority/additional: list of (name, ttl, class, type, rdata); ttl is an int,
    rdata is the rest of the line with runs of whitespace made single spaces.
    """

    def __init__(self, cmd, output, returncode):
        self.cmd = cmd
        self.output = output
        self.returncode = returncode
        self.opcode = None
        self.rcode = None
        self.id = None
        self.flags = set()
        self.counts = {}
        self.edns = None  # the "; EDNS: ..." line, when the reply had OPT
        self.question = []
        self.answer = []
        self.authority = []
        self.additional = []
        self.malformed = False
        self.msg_size = None  # ";; MSG SIZE  rcvd: N"
        self.truncated_retry = False  # dig saw TC and retried over TCP
        parse_dig(output, self)

    def describe(self):
        return f"$ {self.cmd}\n(exit {self.returncode})\n{self.output}"

    def rrs(self, section="answer", rtype=None):
        rows = getattr(self, section)
        return [r for r in rows if rtype is None or r[3] == rtype]

    def rdatas(self, section="answer", rtype=None):
        return [r[4] for r in self.rrs(section, rtype)]


_HEADER = re.compile(r"->>HEADER<<- opcode: (\S+), status: (\S+), id: (\d+)")
_FLAGS = re.compile(
    r"^;; flags:([^;]*); QUERY: (\d+), ANSWER: (\d+), AUTHORITY: (\d+), ADDITIONAL: (\d+)")
_SECTIONS = {
    ";; QUESTION SECTION:": "question",
    ";; ANSWER SECTION:": "answer",
    ";; AUTHORITY SECTION:": "authority",
    ";; ADDITIONAL SECTION:": "additional",
}


def parse_dig(output, result):
    """Fills result from dig's default (or +comments) output."""
    section = None
    for raw in output.split("\n"):
        line = raw.rstrip()
        if not line:
            section = None
            continue
        m = _HEADER.search(line)
        if m:
            result.opcode, result.rcode, result.id = m.group(1), m.group(2), int(m.group(3))
            continue
        m = _FLAGS.match(line)
        if m:
            result.flags = set(m.group(1).split())
            result.counts = {
                "query": int(m.group(2)), "answer": int(m.group(3)),
                "authority": int(m.group(4)), "additional": int(m.group(5)),
            }
            continue
        if line in _SECTIONS:
            section = _SECTIONS[line]
            continue
        if line.startswith("; EDNS:"):
            result.edns = line
            continue
        if "malformed" in line.lower() or "got bad packet" in line.lower():
            result.malformed = True
        m = re.match(r";; MSG SIZE\s+rcvd: (\d+)", line)
        if m:
            result.msg_size = int(m.group(1))
        if line.startswith(";; Truncated"):
            result.truncated_retry = True
        if section == "question" and line.startswith(";"):
            fields = line[1:].split()
            if len(fields) >= 3:
                result.question.append((fields[0], fields[1], fields[2]))
            continue
        if line.startswith(";"):
            continue
        if section in ("answer", "authority", "additional"):
            fields = line.split()
            if len(fields) >= 4 and fields[1].isdigit():
                rr = (fields[0], int(fields[1]), fields[2], fields[3], " ".join(fields[4:]))
                getattr(result, section).append(rr)


def run_dig(port, qname, qtype="A", options=(), tcp=False, server="127.0.0.1"):
    """Asks dnsd with dig: +norecurse +nocookie, one try, 2 s per try."""
    cmd = ["dig", "+norecurse", "+nocookie", "+time=2", "+tries=1", "+retry=0",
           f"@{server}", "-p", str(port)]
    if tcp:
        cmd.append("+tcp")
    cmd += list(options)
    cmd += [qname, qtype]
    try:
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              timeout=DIG_TIMEOUT, text=True, errors="replace")
        return DigResult(shlex.join(cmd), proc.stdout, proc.returncode)
    except subprocess.TimeoutExpired as e:
        out = e.stdout if isinstance(e.stdout, str) else (e.stdout or b"").decode(errors="replace")
        return DigResult(shlex.join(cmd), out + f"\n(dig killed after {DIG_TIMEOUT} s)", None)


def run_dig_query(port, qname, qtype="A", qclass="IN", options=(), tcp=False,
                  server="127.0.0.1"):
    """Like run_dig, but names the question with -q/-t/-c: any class can be asked, and a
    qname that reads like a type or class (`a`, `ch`) is still the qname."""
    cmd = ["dig", "+norecurse", "+nocookie", "+time=2", "+tries=1", "+retry=0",
           f"@{server}", "-p", str(port)]
    if tcp:
        cmd.append("+tcp")
    cmd += list(options)
    cmd += ["-q", qname, "-t", qtype, "-c", qclass]
    try:
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              timeout=DIG_TIMEOUT, text=True, errors="replace")
        return DigResult(shlex.join(cmd), proc.stdout, proc.returncode)
    except subprocess.TimeoutExpired as e:
        out = e.stdout if isinstance(e.stdout, str) else (e.stdout or b"").decode(errors="replace")
        return DigResult(shlex.join(cmd), out + f"\n(dig killed after {DIG_TIMEOUT} s)", None)


class DigQuery:
    """One question for run_dig_batch: name, type, class, dig options, transport."""

    def __init__(self, qname, qtype="A", qclass="IN", options=(), tcp=False):
        self.qname, self.qtype, self.qclass = qname, qtype, qclass
        self.options, self.tcp = tuple(options), tcp

    def args(self):
        out = ["-q", self.qname, "-t", self.qtype, "-c", self.qclass] + list(self.options)
        return out + (["+tcp"] if self.tcp else [])


_DIG_GLOBAL = ["+norecurse", "+nocookie", "+time=2", "+tries=1", "+retry=0"]


def run_dig_batch(port, queries, server="127.0.0.1"):
    """Asks many questions with one dig process (a dig per question costs more than the
    question on a loaded machine): one DigResult per query, in order. dig's output is cut at
    each ";; Got answer:"; when that does not give one reply per query, each echoing its
    question, the queries are asked again one dig each."""
    queries = list(queries)
    cmd = ["dig"] + _DIG_GLOBAL + [f"@{server}", "-p", str(port)]
    for q in queries:
        cmd += q.args()
    try:
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              timeout=DIG_TIMEOUT + 3 * len(queries), text=True,
                              errors="replace")
        chunks = proc.stdout.split(";; Got answer:\n")[1:]
    except subprocess.TimeoutExpired:
        chunks = []
    results = []
    if len(chunks) == len(queries):
        for q, chunk in zip(queries, chunks):
            single = ["dig"] + _DIG_GLOBAL + [f"@{server}", "-p", str(port)] + q.args()
            r = DigResult(shlex.join(single) + "   # asked in a batch", chunk, proc.returncode)
            echoed = [(n.lower(), c, t) for n, c, t in r.question]
            if echoed != [(q.qname.lower().rstrip(".") + ".", q.qclass, q.qtype)]:
                break
            results.append(r)
    if len(results) == len(queries):
        return results
    return [run_dig_query(port, q.qname, q.qtype, q.qclass, q.options, q.tcp, server)
            for q in queries]


def match_rrs(got, want):
    """Whether the strings `got` are exactly `want`, a collection of strings and compiled
    regexes (each regex stands for one string it fully matches). Returns (ok, missing,
    unexpected): the wanted items not found and the strings nothing wanted."""
    rest = list(got)
    missing = []
    for item in sorted((w for w in want if isinstance(w, str))):
        if item in rest:
            rest.remove(item)
        else:
            missing.append(item)
    for item in (w for w in want if not isinstance(w, str)):
        hit = next((s for s in rest if item.fullmatch(s)), None)
        if hit is None:
            missing.append(item.pattern)
        else:
            rest.remove(hit)
    return not missing and not rest, missing, rest


def rr_text(rr):
    """One (name, ttl, class, type, rdata) tuple as `name ttl class type rdata`."""
    return f"{rr[0]} {rr[1]} {rr[2]} {rr[3]} {rr[4]}"


# --- raw packets --------------------------------------------------------------------


def encode_name(name):
    out = b""
    for label in name.rstrip(".").split("."):
        if label:
            b = label.encode()
            out += bytes([len(b)]) + b
    return out + b"\x00"


QTYPES = {"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "PTR": 12, "TXT": 16, "AAAA": 28, "SRV": 33}


def make_query(qname, qtype="A", qid=0x1234, flags=0x0000, qdcount=1, tail=None):
    """A DNS query in wire form. flags is the 16-bit flags word (QR, opcode, RD, ...)."""
    header = struct.pack("!HHHHHH", qid, flags, qdcount, 0, 0, 0)
    if tail is not None:
        return header + tail
    return header + encode_name(qname) + struct.pack("!HH", QTYPES.get(qtype, qtype), 1)


def parse_header(packet):
    """(id, qr, opcode, tc, rcode) of a reply, or None if shorter than a header."""
    if packet is None or len(packet) < 12:
        return None
    qid, flags = struct.unpack("!HH", packet[:4])
    return {"id": qid, "qr": bool(flags & 0x8000), "opcode": (flags >> 11) & 0xF,
            "aa": bool(flags & 0x0400), "tc": bool(flags & 0x0200), "rcode": flags & 0xF,
            "qdcount": struct.unpack("!H", packet[4:6])[0],
            "ancount": struct.unpack("!H", packet[6:8])[0]}


def raw_exchange(port, packet, tcp=False, timeout=1.0, server="127.0.0.1"):
    """Sends bytes, returns the reply bytes or None (no reply in time, or connection closed)."""
    if not tcp:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(timeout)
            s.sendto(packet, (server, port))
            try:
                data, _ = s.recvfrom(65535)
                return data
            except (socket.timeout, ConnectionError, OSError):
                return None
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        try:
            s.connect((server, port))
            s.sendall(struct.pack("!H", len(packet)) + packet)
            head = _recv_exact(s, 2)
            if head is None:
                return None
            (length,) = struct.unpack("!H", head)
            return _recv_exact(s, length)
        except (socket.timeout, ConnectionError, OSError):
            return None


def _recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


# --- the server ---------------------------------------------------------------------


class Server:
    """One dnsd process on 127.0.0.1:PORT. Use as a context manager, or call stop()."""

    def __init__(self, binary, manifests, checks=None, extra_args=(), name="dnsd"):
        self.binary = binary
        self.manifests = list(manifests)
        self.extra_args = list(extra_args)
        self.name = name
        self.port = None
        self.proc = None
        self.log_path = None
        self._log_file = None
        if checks is not None:
            checks.servers.append(self)

    def argv(self):
        args = [self.binary]
        for m in self.manifests:
            args += ["--manifests", m]
        args += ["--listen", f"127.0.0.1:{self.port}"] + self.extra_args
        return args

    def start(self):
        """Starts dnsd and waits until it answers. Raises RuntimeError if it never does."""
        self.port = free_port()
        fd, self.log_path = tempfile.mkstemp(prefix=f"{self.name}-", suffix=".log")
        self._log_file = os.fdopen(fd, "w")
        self._log_file.write(f"$ {shlex.join(self.argv())}\n")
        self._log_file.flush()
        self.proc = subprocess.Popen(self.argv(), stdin=subprocess.DEVNULL,
                                     stdout=self._log_file, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        try:
            self.wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def wait_ready(self, timeout=READY_TIMEOUT):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode} before it "
                                   f"answered")
            try:
                out = subprocess.run(
                    ["dig", "+short", "+time=1", "+tries=1", "+retry=0", "@127.0.0.1", "-p",
                     str(self.port), "cluster.local", "SOA"],
                    stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                    timeout=5).stdout
            except subprocess.TimeoutExpired:
                out = ""
            if out.strip() and not out.startswith(";;"):
                return
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} did not answer cluster.local SOA within {timeout} s")

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def dig(self, qname, qtype="A", options=(), tcp=False):
        return run_dig(self.port, qname, qtype, options, tcp)

    def raw(self, packet, tcp=False, timeout=1.0):
        return raw_exchange(self.port, packet, tcp, timeout)

    def stop(self):
        """SIGTERM by PID, wait up to 5 s, then SIGKILL. Returns the exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            try:
                os.kill(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
            except ProcessLookupError:
                pass
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None
        return self.proc.returncode

    def log(self):
        if not self.log_path or not os.path.exists(self.log_path):
            return ""
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def remove_log(self):
        if self.log_path and os.path.exists(self.log_path):
            os.unlink(self.log_path)

    def print_log(self, max_lines=200):
        lines = self.log().rstrip("\n").split("\n")
        print(f"----- log of {self.name} (port {self.port}, {self.log_path}) -----")
        if len(lines) > max_lines:
            print(f"... ({len(lines) - max_lines} earlier lines left out)")
            lines = lines[-max_lines:]
        print("\n".join(lines))
        print(f"----- end of log of {self.name} -----", flush=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False


def run_command(argv, timeout=10):
    """(exit code or None on timeout, stdout+stderr) of a short command."""
    try:
        proc = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, timeout=timeout, text=True,
                              errors="replace")
        return proc.returncode, proc.stdout
    except subprocess.TimeoutExpired as e:
        out = e.stdout if isinstance(e.stdout, str) else (e.stdout or b"").decode(errors="replace")
        return None, out


def in_cidr(address, cidr):
    try:
        return ipaddress.ip_address(address) in ipaddress.ip_network(cidr)
    except ValueError:
        return False


def binary_from_argv(name):
    """The dnsd path from argv[1]; exits 1 with a summary line when it is missing."""
    if len(sys.argv) < 2 or not os.access(sys.argv[1], os.X_OK):
        print(f"usage: python3 {sys.argv[0]} /path/to/build/dnsd (not an executable: "
              f"{sys.argv[1] if len(sys.argv) > 1 else '-'})")
        print(f"{name}: 0 passed, 1 failed")
        sys.exit(1)
    return os.path.abspath(sys.argv[1])
