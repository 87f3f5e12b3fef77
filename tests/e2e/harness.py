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
- ZoneServer: a dnsd serving zone files only, as an independent upstream; keeps its port
  across stop/start. PodNamespace: a network namespace + veth + /etc/netns resolv.conf set
  up like a Pod's (root). QueryCapture: the DNS queries arriving on an interface.
  metric_samples: one family from /metrics.
"""

import ipaddress
import os
import re
import shlex
import shutil
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
            # A message without QR is not an answer (dnsd's writer always sets it): once, a
            # batch got its own query back, flags "ad" only, while other tests ran beside it.
            # Such a batch is asked again, one dig per question.
            if "qr" not in r.flags:
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

    def __init__(self, binary, manifests, checks=None, extra_args=(), name="dnsd",
                 ready_name="cluster.local", keep_port=False, env=None):
        self.binary = binary
        self.env = env  # the environment dnsd runs in; None: this process's
        self.manifests = list(manifests)
        self.extra_args = list(extra_args)
        self.name = name
        self.ready_name = ready_name  # ready once it answers this name's SOA
        self.keep_port = keep_port    # start() after stop() comes back on the same port
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
        # Tests never reach the machine's own resolvers: forwarding only to an upstream the
        # test started itself on loopback.
        if "--upstream" not in self.extra_args and "--no-forward" not in self.extra_args:
            args.append("--no-forward")
        return args

    def start(self):
        """Starts dnsd and waits until it answers. Raises RuntimeError if it never does."""
        if self.port is None or not self.keep_port:
            self.port = free_port()
        if self.log_path is None:
            fd, self.log_path = tempfile.mkstemp(prefix=f"{self.name}-", suffix=".log")
            self._log_file = os.fdopen(fd, "w")
        else:  # restarted: one log for every run
            self._log_file = open(self.log_path, "a")
        self._log_file.write(f"$ {shlex.join(self.argv())}\n")
        self._log_file.flush()
        self.proc = subprocess.Popen(self.argv(), stdin=subprocess.DEVNULL,
                                     stdout=self._log_file, stderr=subprocess.STDOUT,
                                     start_new_session=True, env=self.env)
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
            code, out = run_command(["dig", "+short", "+norecurse", "+time=1", "+tries=1",
                                     "@127.0.0.1", "-p", str(self.port), self.ready_name,
                                     "SOA"], timeout=5)
            if code == 0 and out.strip() and not out.startswith(";;"):
                return
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} did not answer {self.ready_name} SOA within {timeout} s")

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


# --- an upstream server and a Pod's network namespace (test_resolvers.py) --------------


class ZoneServer(Server):
    """A dnsd standing in for an independent DNS server (the "upstream internet"): serves
    zone files, forwards nothing, has no cluster objects. Ready when it answers `ready_name`
    SOA. It keeps its port across stop() and start(), so a test can stop it and bring it
    back at the same address."""

    def __init__(self, binary, zone_files, ready_name, checks=None, extra_args=(),
                 name="upstream"):
        self.empty_dir = tempfile.mkdtemp(prefix=f"{name}-manifests-")
        args = ["--cluster-domain", "upstream.invalid", "--no-forward", "--no-watch"]
        for z in zone_files:
            args += ["--zone-file", z]
        super().__init__(binary, [self.empty_dir], checks, args + list(extra_args), name,
                         ready_name=ready_name, keep_port=True)

    def close(self):
        """stop(), and removes the empty manifest directory."""
        code = self.stop()
        if os.path.isdir(self.empty_dir):
            os.rmdir(self.empty_dir)
        return code


POD_SEARCH = ("default.svc.cluster.local", "svc.cluster.local", "cluster.local")


class Knot:
    """knotd on 127.0.0.1:PORT, authoritative for each zone of `records` ({zone: ["owner IP",
    ...]}, A records under the zone); stopped by PID. Needs `scripts/deps.sh knot` first."""

    def __init__(self, workdir, name, records):
        self.dir = os.path.join(workdir, name)
        os.makedirs(self.dir)
        self.port = free_port()
        entries = []
        for zone, lines in records.items():
            with open(os.path.join(self.dir, f"{zone}.zone"), "w") as f:
                f.write(f"$ORIGIN {zone}.\n$TTL 300\n"
                        f"@ SOA ns.{zone}. admin.{zone}. 1 3600 600 86400 60\n"
                        f"@ NS ns.{zone}.\nns A 127.0.0.1\n")
                for line in lines:
                    owner, ip = line.split()
                    f.write(f"{owner} A {ip}\n")
            entries.append(f"  - domain: {zone}.\n    file: \"{self.dir}/{zone}.zone\"\n")
        with open(os.path.join(self.dir, "knot.conf"), "w") as f:
            f.write(f"server:\n    rundir: \"{self.dir}\"\n    listen: 127.0.0.1@{self.port}\n"
                    f"database:\n    storage: \"{self.dir}\"\n"
                    "log:\n  - target: stderr\n    any: error\n"
                    f"template:\n  - id: default\n    storage: \"{self.dir}\"\n"
                    "    zonefile-sync: -1\n    journal-content: none\n"
                    "zone:\n" + "".join(entries))
        self.log = open(os.path.join(self.dir, "knot.log"), "w")
        self.proc = subprocess.Popen(["knotd", "-c", os.path.join(self.dir, "knot.conf")],
                                     stdout=self.log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        zone, lines = next(iter(records.items()))
        first = lines[0].split()[0] + "." + zone
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if run_dig(self.port, first).rdatas("answer", "A"):
                return
            time.sleep(0.1)
        raise RuntimeError(f"knotd {name} did not answer")

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.close()


class NetnsUnavailable(RuntimeError):
    """`ip netns add` failed: not root, or no network namespaces in this environment."""


class PodNamespace:
    """A network namespace set up like a Pod's network, for real resolvers (glibc, c-ares,
    dig) reading a Pod's /etc/resolv.conf:

    - namespace `dnsd-e2e-PID`, a veth pair: HOST_IP (10.213.X.1/24) on the host side,
      POD_IP (10.213.X.2/24) inside; X is the first /24 of 10.213.0.0/16 that no interface
      here uses, starting at 0. Only these two addresses are ever talked to.
    - /etc/netns/NAME/resolv.conf (which `ip netns exec` bind-mounts on /etc/resolv.conf):
      `nameserver HOST_IP`, the search list of a Pod in `default`, `options ndots:5`.

    create() raises NetnsUnavailable when namespaces cannot be made; destroy() removes the
    namespace, the veth, and /etc/netns/NAME, and is safe to call after a partial create()."""

    def __init__(self, search=POD_SEARCH, ndots=5):
        pid = os.getpid()
        self.name = f"dnsd-e2e-{pid}"
        self.host_if = f"dnsdh{pid}"[:15]
        self.pod_if = f"dnsdp{pid}"[:15]
        self.search = list(search)
        self.ndots = ndots
        self.host_ip = None
        self.pod_ip = None
        self.etc_dir = os.path.join("/etc/netns", self.name)
        self._made_etc_netns = False
        self._created = False

    @staticmethod
    def remove_stale():
        """Deletes the dnsd-e2e-PID namespaces (and /etc/netns entries) of test runs whose
        process is gone (killed before their cleanup ran). Returns the names removed."""
        code, out = run_command(["ip", "netns", "list"], timeout=10)
        removed = []
        for m in re.finditer(r"^dnsd-e2e-(\d+)\b", out if code == 0 else "", re.M):
            if os.path.exists(f"/proc/{m.group(1)}"):
                continue
            name = f"dnsd-e2e-{m.group(1)}"
            run_command(["ip", "netns", "del", name], timeout=10)
            etc = os.path.join("/etc/netns", name)
            if os.path.isdir(etc):
                for entry in os.listdir(etc):
                    os.unlink(os.path.join(etc, entry))
                os.rmdir(etc)
            removed.append(name)
        return removed

    def _ip(self, *args):
        code, out = run_command(["ip"] + list(args), timeout=10)
        if code != 0:
            raise RuntimeError(f"ip {' '.join(args)} failed (exit {code}): {out.strip()}")
        return out

    def _free_subnet(self):
        code, out = run_command(["ip", "-4", "-o", "addr", "show"], timeout=10)
        used = out if code == 0 else ""
        code, routes = run_command(["ip", "-4", "route", "show", "table", "all"], timeout=10)
        used += routes if code == 0 else ""
        for x in range(256):
            if f"10.213.{x}." not in used:
                return x
        raise RuntimeError("every /24 of 10.213.0.0/16 is in use")

    def create(self):
        code, out = run_command(["ip", "netns", "add", self.name], timeout=10)
        if code != 0:
            raise NetnsUnavailable(f"`ip netns add {self.name}` failed (exit {code}): "
                                   f"{out.strip()}")
        self._created = True
        x = self._free_subnet()
        self.host_ip, self.pod_ip = f"10.213.{x}.1", f"10.213.{x}.2"
        self._ip("link", "add", self.host_if, "type", "veth", "peer", "name", self.pod_if)
        self._ip("link", "set", self.pod_if, "netns", self.name)
        self._ip("addr", "add", f"{self.host_ip}/24", "dev", self.host_if)
        self._ip("link", "set", self.host_if, "up")
        self._ip("-n", self.name, "addr", "add", f"{self.pod_ip}/24", "dev", self.pod_if)
        self._ip("-n", self.name, "link", "set", "lo", "up")
        self._ip("-n", self.name, "link", "set", self.pod_if, "up")
        if not os.path.isdir("/etc/netns"):
            os.makedirs("/etc/netns")
            self._made_etc_netns = True
        os.makedirs(self.etc_dir, exist_ok=True)
        self.write_resolv_conf()
        return self

    def resolv_conf(self, options=()):
        opts = " ".join([f"ndots:{self.ndots}"] + list(options))
        return (f"nameserver {self.host_ip}\nsearch {' '.join(self.search)}\n"
                f"options {opts}\n")

    def write_resolv_conf(self, options=()):
        """The Pod's resolv.conf; `options` adds resolver options (e.g. use-vc: TCP)."""
        with open(os.path.join(self.etc_dir, "resolv.conf"), "w") as f:
            f.write(self.resolv_conf(options))

    def run(self, argv, timeout=15):
        """(exit code or None on timeout, stdout+stderr) of argv run inside the namespace."""
        return run_command(["ip", "netns", "exec", self.name] + list(argv), timeout=timeout)

    def destroy(self):
        """Removes everything create() made; returns the problems met, [] when none."""
        problems = []
        if self._created:
            code, out = run_command(["ip", "netns", "del", self.name], timeout=10)
            if code != 0:
                problems.append(f"ip netns del {self.name}: {out.strip()}")
            self._created = False
        code, out = run_command(["ip", "link", "show", self.host_if], timeout=10)
        if code == 0:  # deleting the namespace normally takes the pair with it
            run_command(["ip", "link", "del", self.host_if], timeout=10)
        if os.path.isdir(self.etc_dir):
            for entry in os.listdir(self.etc_dir):
                os.unlink(os.path.join(self.etc_dir, entry))
            os.rmdir(self.etc_dir)
        if self._made_etc_netns and os.path.isdir("/etc/netns") and not os.listdir("/etc/netns"):
            os.rmdir("/etc/netns")
        return problems

    def __enter__(self):
        try:
            return self.create()
        except BaseException:
            self.destroy()
            raise

    def __exit__(self, *exc):
        self.destroy()
        return False


def http_status(url):
    """The HTTP status of GET url (e.g. /ready), or None when nothing answers."""
    import urllib.error  # only the tests of the admin endpoints need it
    import urllib.request
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
    except OSError:
        return None


def metric_samples(port, name, timeout=5):
    """{labels: value} of one metric family from dnsd's /metrics on 127.0.0.1:port."""
    import urllib.request  # only the tests reading /metrics need it
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=timeout) as r:
        text = r.read().decode(errors="replace")
    out = {}
    for line in text.split("\n"):
        m = re.match(r"^" + re.escape(name) + r"(\{[^}]*\})?\s+(\S+)$", line)
        if m:
            out[m.group(1) or ""] = float(m.group(2))
    return out


class QueryCapture:
    """The DNS queries (IPv4 UDP to port 53) that arrive on one interface, seen with an
    AF_PACKET socket (root): what a client really sent, whatever the server counts. Use
    drain() before and after the client runs; as a context manager it closes the socket."""

    ETH_P_IP = 0x0800
    PACKET_OUTGOING = 4

    def __init__(self, ifname):
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(self.ETH_P_IP))
        self.sock.bind((ifname, self.ETH_P_IP))
        self.sock.setblocking(False)

    def drain(self):
        """[(qname, qtype name)] of the queries received since the last drain, in order."""
        out = []
        while True:
            try:
                frame, addr = self.sock.recvfrom(65535)
            except BlockingIOError:
                return out
            if addr[2] == self.PACKET_OUTGOING:
                continue
            query = self._query(frame[14:])
            if query is not None:
                out.append(query)

    @staticmethod
    def _query(ip):
        if len(ip) < 20 or ip[0] >> 4 != 4 or ip[9] != 17:
            return None
        udp = ip[(ip[0] & 0xF) * 4:]
        if len(udp) < 8 + 12 or struct.unpack("!H", udp[2:4])[0] != 53:
            return None
        dns = udp[8:]
        if dns[2] & 0x80:  # a reply, not a query
            return None
        labels, pos = [], 12
        while pos < len(dns) and dns[pos] != 0:
            length = dns[pos]
            if length > 63:
                return None
            labels.append(dns[pos + 1:pos + 1 + length].decode(errors="replace"))
            pos += 1 + length
        if pos + 3 > len(dns):
            return None
        (qtype,) = struct.unpack("!H", dns[pos + 1:pos + 3])
        names = {v: k for k, v in QTYPES.items()}
        return ".".join(labels) + ".", names.get(qtype, f"TYPE{qtype}")

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


def pod_test_main(name, scenario):
    """The main() of a test run in a Pod's network namespace: makes the namespace (or reports
    why not; DNSD_E2E_NO_NETNS=1 turns that into a skip), runs
    scenario(c, binary, ns, workdir, servers), then stops every server in `servers` and
    removes the namespace and the work directory whatever happened, and prints the summary."""
    # meson's timeout sends SIGTERM: leave through the finally below, which cleans up
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    binary = binary_from_argv(name)
    c = Checks(name)
    started = time.monotonic()
    ns = PodNamespace()
    servers = []
    workdir = tempfile.mkdtemp(prefix=f"dnsd-{name}-")
    try:
        for stale in PodNamespace.remove_stale():
            print(f"removed the namespace {stale} left by a test run that was killed", flush=True)
        try:
            ns.create()
        except NetnsUnavailable as e:
            if os.environ.get("DNSD_E2E_NO_NETNS") == "1":
                print(f"SKIP: no network namespace, so no real resolver can be tested: {e} "
                      f"(DNSD_E2E_NO_NETNS=1)", flush=True)
            else:
                c.check(False, "a network namespace for the Pod (run as root, or set "
                               "DNSD_E2E_NO_NETNS=1 to skip this test)", str(e))
        else:
            print(f"pod namespace {ns.name}: {ns.pod_ip} -> dnsd on {ns.host_ip}:53", flush=True)
            scenario(c, binary, ns, workdir, servers)
    except Exception:  # noqa: BLE001 - setup failed: report it, clean up, summarise
        c.check(False, "setup", traceback.format_exc())
    finally:
        for server in reversed(servers):
            if isinstance(server, ZoneServer):
                server.close()
            else:
                server.stop()
        created = ns.host_ip is not None
        problems = ns.destroy()
        if created:
            c.check(not problems, "cleanup of the network namespace", "\n".join(problems))
        shutil.rmtree(workdir, ignore_errors=True)
        print(f"took {time.monotonic() - started:.1f} s", flush=True)
    c.finish()
