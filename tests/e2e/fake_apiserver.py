#!/usr/bin/env python3
"""A fake Kubernetes API server for dnsd's tests and benchmarks, in the Python standard library
(plus the `openssl` command for its certificates).

No kube-apiserver can run on the test machines, so this one speaks the parts of its protocol
that dnsd's Kubernetes source uses, as kubernetes.io "API Concepts" describes them: HTTPS with a
test CA, bearer tokens and client certificates, legacy discovery, list with `limit`/`continue`
over a consistent snapshot, resourceVersion and resourceVersionMatch, watch from a
resourceVersion with bookmarks, `timeoutSeconds`, selector transitions, the in-stream 410 ERROR
after compaction, and streaming lists (`sendInitialEvents`). tests/e2e/test_fake_apiserver.py
holds it to real kubectl binaries.

In a test:

    api = FakeApiServer(workdir, bookmark_interval=1.0, history=10000, token="secret-token")
    api.start()                  # 127.0.0.1 (or host=...), a free port (or port=...)
    api.url, api.port, api.ca_file, api.client_cert_file, api.client_key_file
    api.write_kubeconfig(path, token=None, token_file=None, client_cert=False, insecure=False,
                         embed=False)   # no credential named: the default token
    api.apply(obj) / api.delete(kind, namespace, name) / api.objects(kind) / api.get(...)
    api.set_tokens({...}); api.deny(resource, verb); api.allow_all()
    api.fault(kind, count=1, **args); api.unstall()   # kinds: see fault()
    api.compact(); api.restart(rv_jump=1000000); api.rotate_ca()
    api.requests                 # [{method, path, query, watch, user, token, status, ...}]
    api.watchers(resource=None); api.resource_version(); api.stop()

Standalone: `python3 fake_apiserver.py --workdir DIR [--port P] [--control-port P]
[--objects FILE.json ...] [--bookmark-interval S] [--token T]` writes DIR/kubeconfig, prints
one line `listening https://127.0.0.1:PORT ca=... kubeconfig=... control=http://127.0.0.1:P`
and serves until SIGTERM. The plain-HTTP control port (loopback) takes POST /apply (an object
or a List), POST /delete?kind=&namespace=&name=, POST /compact, POST /restart?rv_jump=N,
GET /objects?kind=, GET /watchers.

What the real server does that clients must cope with, and this one does too:
- List items carry no kind/apiVersion (typed lists omit them); watch event objects do.
- A body over 2048 bytes is sent chunked (Go's net/http does so when a handler sets no
  Content-Length); one over 128 KiB is gzipped when the client accepts gzip.
- A DELETED event, and the DELETED sent when an object stops matching a watch's selector, carry
  the previous content with the event's resourceVersion.
- A bookmark is an empty object of the watched kind with only metadata.resourceVersion set
  (so an EndpointSlice bookmark has "endpoints":null).
- Services get the defaults the real server adds (type, sessionAffinity, a clusterIP from
  10.96.0.0/12 when none is given, clusterIPs, ipFamilies, port protocol and targetPort);
  Namespaces get status.phase Active and the kubernetes.io/metadata.name label.
- Watches without a resourceVersion, or with "0", start with a synthetic ADDED per object.
- Bad options are 422 Invalid as the apiserver words them; a future resourceVersion waits,
  then 504 with cause ResourceVersionTooLarge.
"""

import argparse
import base64
import bisect
import copy
import datetime
import email.utils
import gzip
import http.server
import ipaddress
import json
import os
import select
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid
from collections import OrderedDict, deque

DEFAULT_USER = "system:serviceaccount:kube-system:dnsd"
GZIP_THRESHOLD = 128 * 1024  # the apiserver gzips responses above this (APIResponseCompression)
CHUNKING_THRESHOLD = 2048  # Go's net/http buffers this much before switching to chunked
CHUNK_SIZE = 4096

REASONS = {
    200: "OK", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
    405: "Method Not Allowed", 410: "Gone", 422: "Unprocessable Entity",
    429: "Too Many Requests", 500: "Internal Server Error", 503: "Service Unavailable",
    504: "Gateway Timeout",
}


# --- JSON as Go's encoding/json writes it -------------------------------------------------------


def go_json(value):
    """Compact JSON with Go's HTML-safe escapes (<, >, & and the two line separators)."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    if any(c in text for c in "<>&\u2028\u2029"):
        text = (text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
                .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))
    return text.encode()


def status_object(code, reason, message, details=None, metadata=None):
    body = {"kind": "Status", "apiVersion": "v1", "metadata": metadata or {},
            "status": "Failure", "message": message, "reason": reason}
    if details is not None:
        body["details"] = details
    body["code"] = code
    return body


def now_rfc3339():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- resources ----------------------------------------------------------------------------------


def _path_value(obj, dotted):
    cur = obj
    for part in dotted.split("."):
        if not isinstance(cur, dict):
            return ""
        cur = cur.get(part)
    if cur is None:
        return ""
    if isinstance(cur, bool):
        return "true" if cur else "false"
    return str(cur)


class Resource:
    """One API resource: where it is served, its kind, and its supported field selectors."""

    def __init__(self, name, group, kind, namespaced, short_names, fields, verbs=None,
                 singular=None, categories=None):
        self.name = name
        self.group = group
        self.kind = kind
        self.namespaced = namespaced
        self.short_names = short_names
        self.api_version = f"{group}/v1" if group else "v1"
        self.list_kind = kind + "List"
        self.fields = {"metadata.name", "metadata.namespace"} if namespaced else {"metadata.name"}
        self.fields |= set(fields)
        self.verbs = verbs or ["create", "delete", "deletecollection", "get", "list", "patch",
                               "update", "watch"]
        self.singular = singular or kind.lower()
        self.categories = categories
        self.full_name = f"{name}.{group}" if group else name  # as in RBAC messages
        self.kind_prefix = b'{"kind":' + go_json(kind) + b',"apiVersion":' + go_json(
            self.api_version) + b","
        self.bookmark_template = {
            "Service": {"spec": {}, "status": {"loadBalancer": {}}},
            "EndpointSlice": {"addressType": "", "endpoints": None, "ports": None},
            "Namespace": {"spec": {}, "status": {}},
            "Pod": {"spec": {"containers": None}, "status": {}},
            "Endpoints": {},
        }[kind]

    def field_value(self, obj, field):
        if field == "metadata.namespace" and not self.namespaced:
            return ""
        return _path_value(obj, field)

    def discovery(self):
        d = {"name": self.name, "singularName": self.singular, "namespaced": self.namespaced,
             "kind": self.kind, "verbs": self.verbs}
        if self.short_names:
            d["shortNames"] = self.short_names
        if self.categories:
            d["categories"] = self.categories
        return d


RESOURCES = [
    Resource("services", "", "Service", True, ["svc"], ["spec.clusterIP", "spec.type"],
             categories=["all"]),
    Resource("endpoints", "", "Endpoints", True, ["ep"], []),
    Resource("namespaces", "", "Namespace", False, ["ns"], ["status.phase"],
             verbs=["create", "delete", "get", "list", "patch", "update", "watch"]),
    Resource("pods", "", "Pod", True, ["po"],
             ["spec.nodeName", "spec.restartPolicy", "spec.schedulerName",
              "spec.serviceAccountName", "spec.hostNetwork", "status.phase", "status.podIP",
              "status.nominatedNodeName"], categories=["all"]),
    Resource("endpointslices", "discovery.k8s.io", "EndpointSlice", True, [], []),
]
BY_KIND = {r.kind: r for r in RESOURCES}
BY_GROUP = {}
for _r in RESOURCES:
    BY_GROUP.setdefault(_r.group, {})[_r.name] = _r


# --- selectors ----------------------------------------------------------------------------------


class SelectorError(ValueError):
    pass


def _split_top(text):
    """Splits at commas outside parentheses."""
    parts, depth, cur = [], 0, []
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur))
    return [p.strip() for p in parts if p.strip()]


def parse_label_selector(text):
    """(key, op, values) tuples from the `-l` syntax: =, ==, !=, in, notin, exists, !key, <, >."""
    reqs = []
    if not text:
        return reqs
    for part in _split_top(text):
        lowered = part
        for op in (" notin ", " in "):
            idx = lowered.find(op)
            if idx > 0:
                key = part[:idx].strip()
                rest = part[idx + len(op):].strip()
                if not (rest.startswith("(") and rest.endswith(")")):
                    raise SelectorError(f"unable to parse requirement: {part}")
                values = {v.strip() for v in rest[1:-1].split(",") if v.strip()}
                reqs.append((key, op.strip(), values))
                break
        else:
            if part.startswith("!"):
                reqs.append((part[1:].strip(), "!", None))
            elif "!=" in part:
                k, v = part.split("!=", 1)
                reqs.append((k.strip(), "!=", v.strip()))
            elif "==" in part:
                k, v = part.split("==", 1)
                reqs.append((k.strip(), "=", v.strip()))
            elif "=" in part:
                k, v = part.split("=", 1)
                reqs.append((k.strip(), "=", v.strip()))
            elif ">" in part or "<" in part:
                op = ">" if ">" in part else "<"
                k, v = part.split(op, 1)
                try:
                    reqs.append((k.strip(), op, int(v.strip())))
                except ValueError:
                    raise SelectorError(f"unable to parse requirement: {part}") from None
            else:
                reqs.append((part, "exists", None))
        key = reqs[-1][0]
        if not key or any(c in key for c in " ()=!<>,"):
            raise SelectorError(f"unable to parse requirement: invalid label key {key!r}")
    return reqs


def labels_match(reqs, labels):
    for key, op, value in reqs:
        have = labels.get(key)
        if op == "=":
            if have != value:
                return False
        elif op == "!=":
            if have == value:
                return False
        elif op == "in":
            if have not in value:
                return False
        elif op == "notin":
            if have in value:
                return False
        elif op == "exists":
            if have is None:
                return False
        elif op == "!":
            if have is not None:
                return False
        else:
            try:
                n = int(have)
            except (TypeError, ValueError):
                return False
            if (op == ">" and not n > value) or (op == "<" and not n < value):
                return False
    return True


def parse_field_selector(text, res):
    reqs = []
    if not text:
        return reqs
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        if "!=" in part:
            k, v = part.split("!=", 1)
            op = "!="
        elif "==" in part:
            k, v = part.split("==", 1)
            op = "="
        elif "=" in part:
            k, v = part.split("=", 1)
            op = "="
        else:
            raise SelectorError(f"invalid selector: '{text}'; can't understand '{part}'")
        k = k.strip()
        if k not in res.fields:
            raise SelectorError(f'field label not supported: {k}')
        reqs.append((k, op, v.strip()))
    return reqs


# --- store --------------------------------------------------------------------------------------


class Entry:
    """One stored version of an object: its dict, its list-item JSON (no kind/apiVersion)."""

    __slots__ = ("res", "key", "obj", "item", "rv", "labels", "_full")

    def __init__(self, res, key, obj):
        self.res = res
        self.key = key
        self.obj = obj
        self.rv = int(obj["metadata"]["resourceVersion"])
        self.labels = obj["metadata"].get("labels") or {}
        body = {"metadata": obj["metadata"]}
        for k, v in obj.items():
            if k not in ("kind", "apiVersion", "metadata"):
                body[k] = v
        self.item = go_json(body)
        self._full = None

    @property
    def full(self):
        """The object's JSON with kind and apiVersion, as in a watch event or a GET."""
        if self._full is None:
            self._full = self.res.kind_prefix + self.item[1:]
        return self._full

    def with_rv(self, rv):
        obj = copy.deepcopy(self.obj)
        obj["metadata"]["resourceVersion"] = str(rv)
        return Entry(self.res, self.key, obj)


class Event:
    __slots__ = ("rv", "res", "new", "prev", "_prev_at_rv")

    def __init__(self, rv, res, new, prev):
        self.rv = rv
        self.res = res
        self.new = new
        self.prev = prev
        self._prev_at_rv = None

    def prev_at_rv(self):
        """The previous content with this event's resourceVersion (what DELETED carries)."""
        if self._prev_at_rv is None:
            self._prev_at_rv = self.prev.with_rv(self.rv)
        return self._prev_at_rv


def event_line(kind, body):
    return b'{"type":"' + kind.encode() + b'","object":' + body + b"}\n"


class Watcher:
    """One open watch stream: what it selects and the event lines queued for it."""

    def __init__(self, res, namespace, label_reqs, field_reqs):
        self.res = res
        self.namespace = namespace
        self.label_reqs = label_reqs
        self.field_reqs = field_reqs
        self.cond = threading.Condition()
        self.queue = []
        self.closed = False
        self.clean_end = False

    def matches(self, entry):
        if self.namespace is not None and entry.obj["metadata"].get("namespace") != self.namespace:
            return False
        if self.label_reqs and not labels_match(self.label_reqs, entry.labels):
            return False
        for field, op, value in self.field_reqs:
            have = self.res.field_value(entry.obj, field)
            if (op == "=") != (have == value):
                return False
        return True

    def line_for(self, ev):
        cur = ev.new is not None and self.matches(ev.new)
        old = ev.prev is not None and self.matches(ev.prev)
        if cur and not old:
            return event_line("ADDED", ev.new.full)
        if cur:
            return event_line("MODIFIED", ev.new.full)
        if old:
            return event_line("DELETED", ev.prev_at_rv().full)
        return None

    def push(self, lines):
        with self.cond:
            self.queue.extend(lines)
            self.cond.notify()

    def close(self):
        with self.cond:
            self.closed = True
            self.cond.notify()


def _object_key(res, obj):
    meta = obj["metadata"]
    return f"{meta['namespace']}/{meta['name']}" if res.namespaced else meta["name"]


def _encode_continue(rv, start):
    raw = json.dumps({"v": "meta.k8s.io/v1", "rv": rv, "start": start},
                     separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _decode_continue(token):
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data = json.loads(raw)
        if data.get("v") != "meta.k8s.io/v1" or not isinstance(data.get("rv"), int):
            raise ValueError
        return data["rv"], str(data["start"])
    except (ValueError, TypeError, AttributeError):
        return None


class HttpError(Exception):
    def __init__(self, code, reason, message, details=None, metadata=None, headers=()):
        super().__init__(message)
        self.code = code
        self.body = status_object(code, reason, message, details, metadata)
        self.headers = list(headers)


# --- the server ---------------------------------------------------------------------------------


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        self.request.settimeout(10)
        self.request.do_handshake()
        self.request.settimeout(None)
        super().setup()
        self.server.api._track(self.request, True)

    def finish(self):
        try:
            super().finish()
        finally:
            self.server.api._track(self.request, False)

    def handle(self):
        try:
            super().handle()
        except (OSError, ssl.SSLError, ValueError):
            self.close_connection = True

    def log_message(self, *args):
        pass

    def do_GET(self):
        self.server.api._handle(self, "GET")

    def do_POST(self):
        self.server.api._handle(self, "POST")

    def do_PUT(self):
        self.server.api._handle(self, "PUT")

    def do_PATCH(self):
        self.server.api._handle(self, "PATCH")

    def do_DELETE(self):
        self.server.api._handle(self, "DELETE")


class _TLSServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, api, context):
        self.api = api
        self.context = context
        super().__init__(address, _Handler)

    def get_request(self):
        sock, addr = self.socket.accept()
        # As Go's net/http: no Nagle delay, or an event written right after another waits
        # for the client's delayed ACK.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        # The handshake runs in the connection's own thread (_Handler.setup), not here.
        return self.context.wrap_socket(sock, server_side=True,
                                        do_handshake_on_connect=False), addr

    def handle_error(self, request, client_address):
        pass


class FakeApiServer:
    """A kube-apiserver stand-in on 127.0.0.1; see the module docstring."""

    def __init__(self, workdir, bookmark_interval=1.0, history=10000, token="secret-token",
                 watch_list=True, port=0, version="v1.33.0", host="127.0.0.1"):
        self.workdir = os.path.abspath(workdir)
        os.makedirs(self.workdir, exist_ok=True)
        self.bookmark_interval = bookmark_interval
        self.history_size = history
        self.token = token
        # The WatchList feature gate (on in 1.32 and from 1.34, off in 1.33): sendInitialEvents
        # allowed, and a watch from resourceVersion ""/"0" made a streaming list.
        self.watch_list = watch_list
        # How long a list waits for a resourceVersion from the future before its 504, as the
        # apiserver's watch cache does.
        self.too_large_rv_wait = 3.0
        self.version = version
        self._want_port = port
        self.host = host  # another address (a Pod network's) goes in the certificate too
        self.port = None
        self.url = None
        self.ca_file = os.path.join(self.workdir, "ca.crt")
        self.ca_key_file = os.path.join(self.workdir, "ca.key")
        self.server_cert_file = os.path.join(self.workdir, "server.crt")
        self.server_key_file = os.path.join(self.workdir, "server.key")
        self.client_cert_file = os.path.join(self.workdir, "client.crt")
        self.client_key_file = os.path.join(self.workdir, "client.key")

        self.lock = threading.RLock()
        self.rv = 1
        self.floor = 1  # watches from an RV below this get 410: their history is gone
        self.objs = {r.name: {} for r in RESOURCES}
        self.history = deque()
        self.watchers_set = set()
        self.snapshots = OrderedDict()
        self.next_cluster_ip = int(ipaddress.ip_address("10.96.0.10"))
        self.used_ips = set()

        self.tokens = {token: DEFAULT_USER} if token else {}
        self.denied = set()
        self.faults = []
        self.requests = []
        self._requests_lock = threading.Lock()
        self._conns = set()
        self._conns_lock = threading.Lock()
        self._unstall = threading.Event()
        self._stopping = False
        self._server = None
        self._thread = None

    # --- lifecycle ---

    def _tls_context(self):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(self.server_cert_file, self.server_key_file)
        ctx.load_verify_locations(self.ca_file)
        ctx.verify_mode = ssl.CERT_OPTIONAL
        ctx.set_alpn_protocols(["http/1.1"])
        return ctx

    def start(self):
        self._make_certs()
        self._server = _TLSServer((self.host, self._want_port or self.port or 0), self,
                                  self._tls_context())
        self.port = self._server.server_address[1]
        self.url = f"https://[{self.host}]:{self.port}" if ":" in self.host else \
            f"https://{self.host}:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.1}, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self._stopping = True
        self._unstall.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        self._drop_everything()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def restart(self, rv_jump=1000000):
        """A new etcd under the same objects: every connection dropped, history gone, RVs jump."""
        with self.lock:
            self.rv += rv_jump
            self.floor = self.rv
            self.history.clear()
            self.snapshots.clear()
        self._drop_everything()

    def compact(self):
        """Forgets the watch history and every list snapshot (continue tokens expire)."""
        with self.lock:
            self.floor = self.rv
            self.history.clear()
            self.snapshots.clear()

    def _drop_everything(self):
        with self.lock:
            watchers = list(self.watchers_set)
        for w in watchers:
            w.close()
        with self._conns_lock:
            conns = list(self._conns)
        for sock in conns:
            _abort_socket(sock)

    def _track(self, sock, add):
        with self._conns_lock:
            if add:
                self._conns.add(sock)
            else:
                self._conns.discard(sock)

    # --- certificates and kubeconfig ---

    def _openssl(self, *args):
        subprocess.run(["openssl", *args], check=True, cwd=self.workdir,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def rotate_ca(self, drop=True):
        """A new CA, server and client certificate, written over the same files (as the
        kube-root-ca.crt ConfigMap changes under a Pod). New connections get the new server
        certificate; with drop, open connections are closed too."""
        self._make_certs(force=True)
        if self._server is not None:
            self._server.context = self._tls_context()
        if drop:
            self._drop_everything()

    def _make_certs(self, force=False):
        if not force and all(os.path.exists(f) for f in (
                self.ca_file, self.server_cert_file, self.client_cert_file,
                self.client_key_file)):
            return  # a second start() in the same workdir keeps its CA
        ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        self._openssl("req", "-x509", *ec, "-keyout", self.ca_key_file, "-out", self.ca_file,
                      "-days", "3650", "-subj", "/CN=fake-apiserver-ca",
                      "-addext", "basicConstraints=critical,CA:TRUE",
                      "-addext", "keyUsage=critical,keyCertSign,cRLSign")
        self._sign("server", "/CN=kube-apiserver",
                   "extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,IP:::1,"
                   "DNS:localhost,DNS:kubernetes.default.svc" +
                   ("" if self.host in ("127.0.0.1", "::1") else f",IP:{self.host}") + "\n")
        self._sign("client", "/O=dnsd/CN=dnsd", "extendedKeyUsage=clientAuth\n")

    def _sign(self, name, subject, extensions):
        key = os.path.join(self.workdir, f"{name}.key")
        csr = os.path.join(self.workdir, f"{name}.csr")
        ext = os.path.join(self.workdir, f"{name}.ext")
        with open(ext, "w") as f:
            f.write("basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,"
                    "keyEncipherment\n" + extensions)
        self._openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                      "-nodes", "-keyout", key, "-out", csr, "-subj", subject)
        self._openssl("x509", "-req", "-in", csr, "-CA", self.ca_file, "-CAkey", self.ca_key_file,
                      "-set_serial", "0x" + os.urandom(8).hex(), "-days", "365",
                      "-extfile", ext, "-out", os.path.join(self.workdir, f"{name}.crt"))

    def write_kubeconfig(self, path, token=None, token_file=None, client_cert=False,
                         insecure=False, embed=False, server=None, namespace="default"):
        """A kubeconfig for this server. With no credential named, it carries the default token;
        token="" writes none at all."""
        if token is None and token_file is None and not client_cert:
            token = self.token
        q = json.dumps  # a JSON string is a valid YAML double-quoted scalar

        def file_field(name, file):
            if embed:
                with open(file, "rb") as f:
                    return f"{name}-data: {q(base64.b64encode(f.read()).decode())}"
            return f"{name}: {q(file)}"

        cluster = [f"    server: {q(server or self.url)}"]
        if insecure:
            cluster.append("    insecure-skip-tls-verify: true")
        else:
            cluster.append("    " + file_field("certificate-authority", self.ca_file))
        user = []
        if token:
            user.append(f"    token: {q(token)}")
        if token_file:
            user.append(f"    tokenFile: {q(token_file)}")
        if client_cert:
            user.append("    " + file_field("client-certificate", self.client_cert_file))
            user.append("    " + file_field("client-key", self.client_key_file))
        text = "\n".join([
            "apiVersion: v1", "kind: Config", "clusters:", "- cluster:", *cluster,
            "  name: fake", "contexts:", "- context:", "    cluster: fake",
            f"    namespace: {q(namespace)}", "    user: dnsd", "  name: fake",
            "current-context: fake", "preferences: {}", "users:", "- name: dnsd",
            "  user:" + ("" if user else " {}"), *user, ""])
        with open(path, "w") as f:
            f.write(text)
        return path

    # --- test controls ---

    def set_tokens(self, tokens):
        """The accepted bearer tokens: a set (user: the dnsd service account) or {token: user}."""
        with self.lock:
            if isinstance(tokens, dict):
                self.tokens = dict(tokens)
            else:
                self.tokens = {t: DEFAULT_USER for t in tokens}

    def deny(self, resource, verb="*"):
        with self.lock:
            self.denied.add((resource, verb))

    def allow_all(self):
        with self.lock:
            self.denied.clear()

    def fault(self, kind, count=1, **args):
        """The next `count` matching requests (or events) misbehave; count=0 clears every
        fault of that kind. args: resource="services"... limits it to one resource; for
        "status" code=429|500|503 and retry_after=SECONDS; for "cut" lists=True (or
        watch=False) cuts list bodies instead of watch events.

        At a request: "status", "stall" (headers, then nothing until unstall() or stop()),
        "empty200" (a watch answers 200 with an empty body), "trickle" (a watch's bytes
        come a few at a time). At the next event of any watch, open or new: "cut" (part of
        the event, then the TCP connection closes), "garbage" (a line that is not JSON,
        then the stream ends), "huge" (the object padded with 5 MiB of annotation)."""
        if kind not in ("status", "cut", "stall", "empty200", "garbage", "trickle", "huge"):
            raise ValueError(f"unknown fault {kind}")
        with self.lock:
            if count <= 0:
                self.faults = [f for f in self.faults if f["kind"] != kind]
                return
            if kind == "stall":
                self._unstall.clear()
            self.faults.append({"kind": kind, "count": count, "args": args})

    def clear_faults(self):
        with self.lock:
            self.faults.clear()

    def unstall(self):
        self._unstall.set()

    def watchers(self, resource=None):
        with self.lock:
            return sum(1 for w in self.watchers_set if resource in (None, w.res.name))

    def resource_version(self):
        with self.lock:
            return self.rv

    def objects(self, kind):
        res = BY_KIND[kind]
        with self.lock:
            entries = sorted(self.objs[res.name].items())
        return [copy.deepcopy(e.obj) for _, e in entries]

    def objects_of(self, kind):
        return self.objects(kind)

    def get(self, kind, namespace, name):
        res = BY_KIND[kind]
        key = f"{namespace}/{name}" if res.namespaced else name
        with self.lock:
            e = self.objs[res.name].get(key)
        return copy.deepcopy(e.obj) if e else None

    def _record(self, rec):
        with self._requests_lock:
            self.requests.append(rec)

    # --- writes ---

    def apply(self, obj, owned=False):
        """Creates or replaces by (kind, namespace, name); returns the stored object. With
        owned, the caller hands `obj` over (it must not touch it again) and gets nothing back:
        no copies, for a benchmark that sends events by the million."""
        kind = obj.get("kind")
        if kind in ("List",) or (kind or "").endswith("List") and "items" in obj:
            return [self.apply(item, owned) for item in obj["items"]]
        res = BY_KIND.get(kind)
        if res is None:
            raise ValueError(f"unsupported kind {kind!r}")
        if not owned:
            obj = copy.deepcopy(obj)
        obj["apiVersion"] = res.api_version
        meta = obj.setdefault("metadata", {})
        if not meta.get("name"):
            raise ValueError("metadata.name is required")
        if res.namespaced:
            meta["namespace"] = meta.get("namespace") or "default"
        else:
            meta.pop("namespace", None)
        key = _object_key(res, obj)
        with self.lock:
            prev = self.objs[res.name].get(key)
            self._default(res, obj, prev)
            self.rv += 1
            stored = OrderedDict()
            for k in ("name", "generateName", "namespace", "uid", "resourceVersion",
                      "generation", "creationTimestamp"):
                if k == "uid":
                    stored[k] = prev.obj["metadata"]["uid"] if prev else str(uuid.uuid4())
                elif k == "resourceVersion":
                    stored[k] = str(self.rv)
                elif k == "creationTimestamp":
                    stored[k] = prev.obj["metadata"]["creationTimestamp"] if prev else \
                        now_rfc3339()
                elif k in meta:
                    stored[k] = meta[k]
            for k, v in meta.items():
                if k not in stored:
                    stored[k] = v
            obj["metadata"] = dict(stored)
            ordered = {"kind": res.kind, "apiVersion": res.api_version,
                       "metadata": obj["metadata"]}
            for k, v in obj.items():
                if k not in ordered:
                    ordered[k] = v
            entry = Entry(res, key, ordered)
            self.objs[res.name][key] = entry
            self._emit(Event(self.rv, res, entry, prev))
            return None if owned else copy.deepcopy(entry.obj)

    def delete(self, kind, namespace, name):
        """Deletes; emits DELETED with the last state at the new RV, and returns that state
        (None when there was no such object)."""
        res = BY_KIND[kind]
        key = f"{namespace}/{name}" if res.namespaced else name
        with self.lock:
            prev = self.objs[res.name].pop(key, None)
            if prev is None:
                return None
            self.rv += 1
            ev = Event(self.rv, res, None, prev)
            self._emit(ev)
            return copy.deepcopy(ev.prev_at_rv().obj)

    def _default(self, res, obj, prev):
        if res.kind == "Service":
            spec = obj.setdefault("spec", {})
            stype = spec.setdefault("type", "ClusterIP")
            if stype != "ExternalName":
                if not spec.get("clusterIP"):
                    old = prev.obj.get("spec", {}).get("clusterIP") if prev else None
                    spec["clusterIP"] = old or self._allocate_ip()
                self.used_ips.add(spec["clusterIP"])
                spec.setdefault("clusterIPs", [spec["clusterIP"]])
                if spec["clusterIP"] != "None":
                    fams = ["IPv6" if ":" in ip else "IPv4" for ip in spec["clusterIPs"]]
                else:
                    fams = ["IPv4"]
                spec.setdefault("ipFamilies", fams)
                spec.setdefault("ipFamilyPolicy", "SingleStack" if len(fams) == 1 else
                                "PreferDualStack")
                spec.setdefault("internalTrafficPolicy", "Cluster")
            spec.setdefault("sessionAffinity", "None")
            for port in spec.get("ports") or []:
                port.setdefault("protocol", "TCP")
                if "port" in port:
                    port.setdefault("targetPort", port["port"])
            obj.setdefault("status", {"loadBalancer": {}})
        elif res.kind == "Namespace":
            obj.setdefault("spec", {"finalizers": ["kubernetes"]})
            obj.setdefault("status", {"phase": "Active"})
            labels = obj["metadata"].setdefault("labels", {})
            labels.setdefault("kubernetes.io/metadata.name", obj["metadata"]["name"])

    def _allocate_ip(self):
        while True:
            ip = str(ipaddress.ip_address(self.next_cluster_ip))
            self.next_cluster_ip += 1
            if ip not in self.used_ips:
                return ip

    def _emit(self, ev):
        self.history.append(ev)
        while len(self.history) > self.history_size:
            self.floor = self.history.popleft().rv
        for w in self.watchers_set:
            if w.res is ev.res:
                line = w.line_for(ev)
                if line is not None:
                    w.push([line])

    # --- snapshots for paginated lists ---

    def _snapshot(self, res, rv):
        """(keys, entries) of res as of rv, sorted by key; rv must be >= floor. Under lock."""
        cache_key = (res.name, rv)
        snap = self.snapshots.get(cache_key)
        if snap is not None:
            self.snapshots.move_to_end(cache_key)
            return snap
        state = dict(self.objs[res.name])
        for ev in reversed(self.history):
            if ev.rv <= rv:
                break
            if ev.res is not res:
                continue
            key = (ev.new or ev.prev).key
            if ev.prev is not None:
                state[key] = ev.prev
            else:
                state.pop(key, None)
        keys = sorted(state)
        snap = (keys, [state[k] for k in keys])
        self.snapshots[cache_key] = snap
        while len(self.snapshots) > 16:
            self.snapshots.popitem(last=False)
        return snap

    # --- HTTP ---

    def _handle(self, h, method):
        url = urllib.parse.urlsplit(h.path)
        path = url.path
        query = dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True))
        rec = {"method": method, "path": path, "query": query,
               "watch": query.get("watch") in ("1", "true"), "user": None, "token": None,
               "status": None, "accept": h.headers.get("Accept", ""),
               "user_agent": h.headers.get("User-Agent", ""), "time": time.time()}
        length = int(h.headers.get("Content-Length") or 0)
        if length:
            h.rfile.read(length)
        try:
            self._authenticate(h, rec, path)
            self._route(h, rec, method, path, query)
        except HttpError as e:
            self._respond(h, rec, e.code, go_json(e.body) + b"\n", headers=e.headers)
        except (OSError, ssl.SSLError):
            h.close_connection = True

    def _authenticate(self, h, rec, path):
        auth = h.headers.get("Authorization", "")
        with self.lock:
            tokens = dict(self.tokens)
        if auth.startswith("Bearer "):
            token = auth[len("Bearer "):].strip()
            rec["token"] = token
            if token not in tokens:
                raise HttpError(401, "Unauthorized", "Unauthorized")
            rec["user"] = tokens[token]
            return
        cert = h.connection.getpeercert()
        if cert:
            for rdn in cert.get("subject", ()):
                for k, v in rdn:
                    if k == "commonName":
                        rec["user"] = v
            if rec["user"]:
                return
        if path in ("/version", "/healthz", "/livez", "/readyz"):
            rec["user"] = "system:anonymous"
            return
        raise HttpError(401, "Unauthorized", "Unauthorized")

    def _take_fault(self, kinds, res, watch):
        if not self.faults:
            return None
        with self.lock:
            for f in self.faults:
                if f["kind"] not in kinds:
                    continue
                want_res = f["args"].get("resource")
                if want_res is not None and res.name != want_res:
                    continue
                want_watch = f["args"].get("watch")
                if f["kind"] == "cut" and not watch:
                    if not (f["args"].get("lists") or want_watch is False):
                        continue
                elif want_watch is not None and bool(want_watch) != watch:
                    continue
                f["count"] -= 1
                if f["count"] <= 0:
                    self.faults.remove(f)
                return f
        return None

    def _route(self, h, rec, method, path, query):
        parts = [p for p in path.split("/") if p]
        if path in ("/healthz", "/livez", "/readyz"):
            return self._respond(h, rec, 200, b"ok", ctype="text/plain; charset=utf-8")
        if path == "/version":
            return self._respond_json(h, rec, self._version())
        if path in ("/api", "/api/"):
            return self._respond_json(h, rec, {
                "kind": "APIVersions", "versions": ["v1"],
                "serverAddressByClientCIDRs": [
                    {"clientCIDR": "0.0.0.0/0", "serverAddress": f"127.0.0.1:{self.port}"}]})
        if path in ("/apis", "/apis/"):
            return self._respond_json(h, rec, {"kind": "APIGroupList", "apiVersion": "v1",
                                               "groups": [self._group("discovery.k8s.io")]})
        if parts[:2] == ["api", "v1"]:
            group, rest = "", parts[2:]
        elif len(parts) >= 3 and parts[0] == "apis" and parts[1] in BY_GROUP and parts[2] == "v1":
            group, rest = parts[1], parts[3:]
        elif len(parts) == 2 and parts[0] == "apis" and parts[1] in BY_GROUP:
            return self._respond_json(h, rec, dict(self._group(parts[1]), kind="APIGroup",
                                                   apiVersion="v1"))
        else:
            raise HttpError(404, "NotFound", "the server could not find the requested resource",
                            details={})
        resources = BY_GROUP[group]
        if not rest:
            return self._respond_json(h, rec, {
                "kind": "APIResourceList", "apiVersion": "v1",
                "groupVersion": f"{group}/v1" if group else "v1",
                "resources": [r.discovery() for r in resources.values()]})
        if rest[0] == "watch":  # the deprecated /watch/ paths
            rest = rest[1:]
            query["watch"] = "true"
            rec["watch"] = True
        namespace = name = None
        if len(rest) >= 3 and rest[0] == "namespaces":
            namespace, rest = rest[1], rest[2:]
        if not rest or rest[0] not in resources or len(rest) > 2:
            raise HttpError(404, "NotFound", "the server could not find the requested resource",
                            details={})
        res = resources[rest[0]]
        if len(rest) == 2:
            name = rest[1]
        if namespace is not None and not res.namespaced:
            raise HttpError(404, "NotFound", "the server could not find the requested resource",
                            details={})
        watch = rec["watch"]
        fault = self._take_fault(("status",), res, watch)
        if fault is not None:
            self._status_fault(fault)
        if method != "GET":
            raise HttpError(405, "MethodNotAllowed",
                            f"the server does not allow this method on the requested resource",
                            details={})
        verb = "get" if name else ("watch" if watch else "list")
        self._authorize(rec, res, verb, namespace, name)
        if name:
            return self._get(h, rec, res, namespace or "", name)
        if watch:
            return self._watch(h, rec, res, namespace, query)
        return self._list(h, rec, res, namespace, query)

    def _status_fault(self, fault):
        code = int(fault["args"].get("code", 503))
        headers = []
        retry = fault["args"].get("retry_after")
        if code == 429:
            retry = 1 if retry is None else retry
            raise HttpError(429, "TooManyRequests", "Too many requests, please try again later.",
                            details={"retryAfterSeconds": int(retry)},
                            headers=[("Retry-After", str(int(retry)))])
        if retry is not None:
            headers.append(("Retry-After", str(int(retry))))
        if code == 500:
            raise HttpError(500, "InternalError",
                            "Internal error occurred: injected by the fake apiserver",
                            details={"causes": [{"message": "injected by the fake apiserver"}]},
                            headers=headers)
        if code == 503:
            raise HttpError(503, "ServiceUnavailable",
                            "the server is currently unable to handle the request", details={},
                            headers=headers)
        raise HttpError(code, "Unknown", "injected by the fake apiserver", headers=headers)

    def _authorize(self, rec, res, verb, namespace, name):
        with self.lock:
            denied = (res.name, verb) in self.denied or (res.name, "*") in self.denied
        if not denied:
            return
        what = f'{res.full_name} "{name}"' if name else res.full_name
        scope = f'in the namespace "{namespace}"' if namespace else "at the cluster scope"
        details = {"kind": res.name}
        if name:
            details = {"name": name, "kind": res.name}
        if res.group:
            details["group"] = res.group
        raise HttpError(403, "Forbidden",
                        f'{what} is forbidden: User "{rec["user"]}" cannot {verb} resource '
                        f'"{res.name}" in API group "{res.group}" {scope}', details=details)

    def _version(self):
        major, minor = self.version.lstrip("v").split(".")[:2]
        return {"major": major, "minor": minor, "emulationMajor": major, "emulationMinor": minor,
                "minCompatibilityMajor": major, "minCompatibilityMinor": str(int(minor) - 1),
                "gitVersion": self.version, "gitCommit": "0" * 40, "gitTreeState": "clean",
                "buildDate": "2025-04-23T00:00:00Z", "goVersion": "go1.24.2", "compiler": "gc",
                "platform": "linux/amd64"}

    @staticmethod
    def _group(group):
        gv = {"groupVersion": f"{group}/v1", "version": "v1"}
        return {"name": group, "versions": [gv], "preferredVersion": gv}

    def _respond_json(self, h, rec, value):
        return self._respond(h, rec, 200, go_json(value) + b"\n")

    def _head(self, code, ctype, extra):
        lines = [f"HTTP/1.1 {code} {REASONS.get(code, 'Unknown')}",
                 f"Audit-Id: {uuid.uuid4()}", "Cache-Control: no-cache, private",
                 f"Content-Type: {ctype}", f"Date: {email.utils.formatdate(usegmt=True)}"]
        lines += [f"{k}: {v}" for k, v in extra]
        return lines

    def _respond(self, h, rec, code, body, ctype="application/json", headers=(), cut=False):
        rec["status"] = code
        self._record(rec)
        extra = list(headers)
        if len(body) > GZIP_THRESHOLD and "gzip" in h.headers.get("Accept-Encoding", ""):
            body = gzip.compress(body, 1)
            extra += [("Content-Encoding", "gzip"), ("Vary", "Accept-Encoding")]
        if len(body) < CHUNKING_THRESHOLD:
            extra.append(("Content-Length", str(len(body))))
            payload = body
        else:
            extra.append(("Transfer-Encoding", "chunked"))
            payload = b"".join(_chunk(body[i:i + CHUNK_SIZE])
                               for i in range(0, len(body), CHUNK_SIZE)) + b"0\r\n\r\n"
        head = ("\r\n".join(self._head(code, ctype, extra)) + "\r\n\r\n").encode()
        if cut:
            h.wfile.write(head + payload[:max(1, len(payload) // 2)])
            self._abort(h)
            return
        h.wfile.write(head + payload)

    def _abort(self, h):
        h.close_connection = True
        _abort_socket(h.connection)

    # --- GET one object ---

    def _get(self, h, rec, res, namespace, name):
        key = f"{namespace}/{name}" if res.namespaced else name
        with self.lock:
            e = self.objs[res.name].get(key)
        if e is None:
            details = {"name": name, "kind": res.name}
            if res.group:
                details["group"] = res.group
            raise HttpError(404, "NotFound", f'{res.full_name} "{name}" not found',
                            details=details)
        self._respond(h, rec, 200, e.full + b"\n")

    # --- list ---

    @staticmethod
    def _selectors(res, query):
        try:
            return (parse_label_selector(query.get("labelSelector", "")),
                    parse_field_selector(query.get("fieldSelector", ""), res))
        except SelectorError as e:
            raise HttpError(400, "BadRequest", str(e)) from None

    @staticmethod
    def _invalid(problems):
        causes = [{"reason": "FieldValueForbidden", "message": f"Forbidden: {m}", "field": f}
                  for f, m in problems]
        msg = "ListOptions.meta.k8s.io \"\" is invalid: " + ", ".join(
            f"{f}: Forbidden: {m}" for f, m in problems)
        if len(problems) > 1:
            msg = "ListOptions.meta.k8s.io \"\" is invalid: [" + ", ".join(
                f"{f}: Forbidden: {m}" for f, m in problems) + "]"
        raise HttpError(422, "Invalid", msg, details={"group": "meta.k8s.io",
                                                      "kind": "ListOptions", "causes": causes})

    def _parse_rv(self, text):
        try:
            rv = int(text)
            if rv < 0:
                raise ValueError
            return rv
        except ValueError:
            raise HttpError(400, "BadRequest", f"invalid resource version: {text}") from None

    def _wait_for_rv(self, rv):
        deadline = time.monotonic() + self.too_large_rv_wait
        while time.monotonic() < deadline:
            with self.lock:
                if self.rv >= rv:
                    return
            time.sleep(0.02)
        with self.lock:
            current = self.rv
        raise HttpError(504, "Timeout",
                        f"Timeout: Too large resource version: {rv}, current: {current}",
                        details={"causes": [{"reason": "ResourceVersionTooLarge",
                                             "message": "Too large resource version"}],
                                 "retryAfterSeconds": 1})

    def _list(self, h, rec, res, namespace, query):
        label_reqs, field_reqs = self._selectors(res, query)
        match = query.get("resourceVersionMatch", "")
        rv_text = query.get("resourceVersion", "")
        cont = query.get("continue", "")
        problems = []
        if match:
            if not rv_text:
                problems.append(("resourceVersionMatch", "resourceVersionMatch is forbidden "
                                 "unless resourceVersion is provided"))
            if cont:
                problems.append(("resourceVersionMatch", "resourceVersionMatch is forbidden "
                                 "when continue is provided"))
            if match not in ("Exact", "NotOlderThan"):
                raise HttpError(422, "Invalid", f'ListOptions.meta.k8s.io "" is invalid: '
                                f'resourceVersionMatch: Unsupported value: "{match}": supported '
                                f'values: "Exact", "NotOlderThan"')
            if match == "Exact" and rv_text == "0":
                problems.append(("resourceVersionMatch", 'resourceVersionMatch "exact" is '
                                 'forbidden for resourceVersion "0"'))
        if "sendInitialEvents" in query:
            problems.append(("sendInitialEvents", "sendInitialEvents is forbidden for list"))
        if problems:
            self._invalid(problems)
        try:
            limit = int(query.get("limit") or 0)
        except ValueError:
            raise HttpError(400, "BadRequest", "invalid limit") from None
        fault = self._take_fault(("cut",), res, False)
        if cont:
            if rv_text and rv_text != "0":
                raise HttpError(400, "BadRequest", "specifying resource version is not allowed "
                                "when using continue")
            decoded = _decode_continue(cont)
            if decoded is None:
                raise HttpError(400, "BadRequest", "continue key is not valid: incorrect "
                                "encoded start resourceVersion (version meta.k8s.io/v1)")
            rv, start = decoded
        else:
            start = ""
            if rv_text and rv_text != "0":
                want = self._parse_rv(rv_text)
                with self.lock:
                    too_large = want > self.rv
                if too_large:
                    self._wait_for_rv(want)
                exact = match == "Exact" or (not match and limit > 0)
                with self.lock:
                    if exact and want < self.floor:
                        raise HttpError(410, "Expired", "The resourceVersion for the provided "
                                        "list is too old.")
                    rv = want if exact else self.rv
            else:
                with self.lock:
                    rv = self.rv
        with self.lock:
            if rv < self.floor and rv != self.rv:
                token = _encode_continue(self.rv, start)
                raise HttpError(410, "Expired", CONTINUE_EXPIRED, metadata={"continue": token})
            keys, entries = self._snapshot(res, rv)
        lo, hi = 0, len(keys)
        if res.namespaced and namespace is not None:
            lo = bisect.bisect_left(keys, namespace + "/")
            hi = bisect.bisect_left(keys, namespace + "0")  # "0" sorts right after "/"
        i = max(lo, bisect.bisect_left(keys, start)) if start else lo
        filt = Watcher(res, None, label_reqs, field_reqs)
        items = []
        while i < hi:
            e = entries[i]
            i += 1
            if (label_reqs or field_reqs) and not filt.matches(e):
                continue
            items.append(e.item)
            if limit and len(items) >= limit:
                break
        meta = b'{"resourceVersion":"' + str(rv).encode() + b'"'
        if limit and len(items) >= limit and i < hi:
            meta += b',"continue":"' + _encode_continue(rv, keys[i - 1] + "\x00").encode() + b'"'
            if not (label_reqs or field_reqs):
                meta += b',"remainingItemCount":' + str(hi - i).encode()
        body = (b'{"kind":"' + res.list_kind.encode() + b'","apiVersion":"' +
                res.api_version.encode() + b'","metadata":' + meta + b'},"items":[' +
                b",".join(items) + b"]}\n")
        self._respond(h, rec, 200, body, cut=fault is not None)

    # --- watch ---

    def _watch(self, h, rec, res, namespace, query):
        label_reqs, field_reqs = self._selectors(res, query)
        match = query.get("resourceVersionMatch", "")
        rv_text = query.get("resourceVersion", "")
        bookmarks = query.get("allowWatchBookmarks") in ("1", "true")
        sie_text = query.get("sendInitialEvents")
        if self.watch_list and sie_text is None and not match and rv_text in ("", "0"):
            # SetListOptionsDefaults with the WatchList gate on: such a watch is a streaming
            # list, so it ends its synthetic ADDEDs with the initial-events-end bookmark.
            sie_text, match = "true", "NotOlderThan"
        send_initial = sie_text in ("1", "true")
        problems = []
        if sie_text is not None:
            if match != "NotOlderThan":
                problems.append(("resourceVersionMatch", "sendInitialEvents requires setting "
                                 "resourceVersionMatch to NotOlderThan"))
            if not self.watch_list:
                problems.append(("sendInitialEvents", "sendInitialEvents is forbidden for watch "
                                 "unless the WatchList feature gate is enabled"))
        elif match:
            problems.append(("resourceVersionMatch", "resourceVersionMatch is forbidden for "
                             "watch unless sendInitialEvents is provided"))
        if problems:
            self._invalid(problems)
        timeout = None
        if query.get("timeoutSeconds"):
            try:
                timeout = float(query["timeoutSeconds"])
            except ValueError:
                raise HttpError(400, "BadRequest", "invalid timeoutSeconds") from None
        start_rv = None if rv_text in ("", "0") else self._parse_rv(rv_text)
        fault = self._take_fault(("stall", "empty200", "trickle"), res, True)
        w = Watcher(res, namespace, label_reqs, field_reqs)
        initial = []
        with self.lock:
            if sie_text is not None and not send_initial and start_rv is None:
                pass  # sendInitialEvents=false: from now on, nothing before
            elif send_initial or start_rv is None:
                for key in sorted(self.objs[res.name]):
                    e = self.objs[res.name][key]
                    if w.matches(e):
                        initial.append(event_line("ADDED", e.full))
                if send_initial and bookmarks:  # without bookmarks the end is never marked
                    initial.append(self._bookmark(res, self.rv, initial_end=True))
            elif start_rv < self.floor:
                initial.append(event_line("ERROR", go_json(status_object(
                    410, "Expired", f"too old resource version: {start_rv} ({self.floor})"))))
                w.closed = w.clean_end = True
            else:
                evs = []
                for ev in reversed(self.history):
                    if ev.rv <= start_rv:
                        break
                    if ev.res is res:
                        evs.append(ev)
                for ev in reversed(evs):
                    line = w.line_for(ev)
                    if line is not None:
                        initial.append(line)
            w.queue.extend(initial)
            if not w.closed:
                self.watchers_set.add(w)
        try:
            self._stream(h, rec, w, bookmarks, timeout, fault)
        finally:
            with self.lock:
                self.watchers_set.discard(w)

    def _bookmark(self, res, rv, initial_end=False):
        meta = {"resourceVersion": str(rv), "creationTimestamp": None}
        if initial_end:
            meta["annotations"] = {"k8s.io/initial-events-end": "true"}
        obj = {"kind": res.kind, "apiVersion": res.api_version, "metadata": meta}
        obj.update(res.bookmark_template)
        return event_line("BOOKMARK", go_json(obj))

    def _stream(self, h, rec, w, bookmarks, timeout, fault):
        rec["status"] = 200
        self._record(rec)
        head = self._head(200, "application/json", [("Transfer-Encoding", "chunked")])
        h.wfile.write(("\r\n".join(head) + "\r\n\r\n").encode())
        kind = fault["kind"] if fault else None
        if kind == "empty200":
            h.wfile.write(b"0\r\n\r\n")
            return self._abort(h)
        if kind == "stall":
            while not self._unstall.wait(0.1) and not w.closed and not self._stopping:
                pass
            return self._abort(h)
        sock = h.connection
        now = time.monotonic()
        deadline = now + timeout if timeout is not None else None
        next_bookmark = now + self.bookmark_interval if bookmarks else None
        while True:
            with w.cond:
                if not w.queue and not w.closed:
                    wait = 0.1
                    if deadline is not None:
                        wait = min(wait, max(0.0, deadline - time.monotonic()))
                    if next_bookmark is not None:
                        wait = min(wait, max(0.0, next_bookmark - time.monotonic()))
                    if wait > 0:
                        w.cond.wait(wait)
                batch, w.queue = w.queue, []
                closed = w.closed
            if batch and self.faults:
                for i, line in enumerate(batch):
                    if line.startswith((b'{"type":"BOOKMARK"', b'{"type":"ERROR"')):
                        continue
                    f = self._take_fault(("cut", "garbage", "huge"), w.res, True)
                    if f is None:
                        continue
                    if f["kind"] == "huge":
                        batch[i] = _huge(line)
                        continue
                    h.wfile.write(b"".join(_chunk(x) for x in batch[:i]))
                    if f["kind"] == "garbage":
                        h.wfile.write(_chunk(b"this is not JSON\n") + b"0\r\n\r\n")
                        h.close_connection = True
                        return
                    h.wfile.write(f"{len(line):x}\r\n".encode() + line[:max(1, len(line) // 2)])
                    return self._abort(h)
            if batch:
                if kind == "trickle":
                    for line in batch:
                        data = _chunk(line)
                        for i in range(0, len(data), 7):
                            h.wfile.write(data[i:i + 7])
                            time.sleep(0.01)
                else:
                    h.wfile.write(b"".join(_chunk(line) for line in batch))
            if closed:
                if w.clean_end:  # after the in-stream 410 the response ends properly
                    h.wfile.write(b"0\r\n\r\n")
                    return
                return self._abort(h)  # restart() or stop(): the connection just drops
            now = time.monotonic()
            if deadline is not None and now >= deadline:
                h.wfile.write(b"0\r\n\r\n")
                return
            if next_bookmark is not None and now >= next_bookmark:
                with self.lock:
                    w.push([self._bookmark(w.res, self.rv)])
                next_bookmark = now + self.bookmark_interval
                continue
            if _peer_gone(sock):
                h.close_connection = True
                return


CONTINUE_EXPIRED = (
    "The provided continue parameter is too old to display a consistent list result. You can "
    "start a new list without the continue parameter, or use the continue token in this "
    "response to retrieve the remainder of the results. Continuing with the provided token "
    "results in an inconsistent list - objects that were created, modified, or deleted between "
    "the time the first chunk was returned and now may show up in the list.")


def _huge(line):
    """The event again, its object padded with 5 MiB of annotation: over any sane bound."""
    event = json.loads(line)
    meta = event["object"].setdefault("metadata", {})
    meta.setdefault("annotations", {})["padding"] = "x" * (5 << 20)
    return go_json(event) + b"\n"


def _chunk(data):
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


def _abort_socket(sock):
    """Closes the TCP connection under a TLS socket at once (no close_notify)."""
    try:
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
    except OSError:
        pass


def _peer_gone(sock):
    """True when the client closed a watch: on a streaming response it sends nothing else."""
    try:
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


# --- standalone ---------------------------------------------------------------------------------


def load_objects(path):
    with open(path) as f:
        data = json.load(f)
    if data.get("kind") == "List" or "items" in data:
        return data["items"]
    return [data]


def _control_handler(api):
    class Control(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def _reply(self, code, value):
            body = json.dumps(value).encode() + b"\n"
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            url = urllib.parse.urlsplit(self.path)
            q = dict(urllib.parse.parse_qsl(url.query))
            if url.path == "/objects" and q.get("kind") in BY_KIND:
                return self._reply(200, {"items": api.objects(q["kind"])})
            if url.path == "/watchers":
                return self._reply(200, {"watchers": api.watchers(q.get("resource"))})
            self._reply(404, {"error": "not found"})

        def do_POST(self):
            url = urllib.parse.urlsplit(self.path)
            q = dict(urllib.parse.parse_qsl(url.query))
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                if url.path == "/apply":
                    data = json.loads(body)
                    items = data["items"] if "items" in data else [data]
                    for item in items:
                        api.apply(item)
                    return self._reply(200, {"applied": len(items),
                                             "resourceVersion": str(api.resource_version())})
                if url.path == "/delete":
                    found = api.delete(q["kind"], q.get("namespace", ""), q["name"])
                    return self._reply(200 if found else 404, {"deleted": found})
                if url.path == "/compact":
                    api.compact()
                    return self._reply(200, {})
                if url.path == "/restart":
                    api.restart(int(q.get("rv_jump", 1000000)))
                    return self._reply(200, {"resourceVersion": str(api.resource_version())})
            except (ValueError, KeyError) as e:
                return self._reply(400, {"error": str(e)})
            self._reply(404, {"error": "not found"})

    return Control


def main(argv=None):
    p = argparse.ArgumentParser(description="A fake Kubernetes API server for dnsd's tests.")
    p.add_argument("--workdir", required=True)
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--control-port", type=int, default=0)
    p.add_argument("--objects", nargs="*", default=[], action="extend")
    p.add_argument("--bookmark-interval", type=float, default=1.0)
    p.add_argument("--history", type=int, default=10000)
    p.add_argument("--token", default="secret-token")
    args = p.parse_args(argv)
    api = FakeApiServer(args.workdir, bookmark_interval=args.bookmark_interval,
                        history=args.history, token=args.token, port=args.port)
    for path in args.objects:
        for obj in load_objects(path):
            api.apply(obj)
    api.start()
    kubeconfig = api.write_kubeconfig(os.path.join(api.workdir, "kubeconfig"))
    control = http.server.ThreadingHTTPServer(("127.0.0.1", args.control_port),
                                              _control_handler(api))
    control.daemon_threads = True
    threading.Thread(target=control.serve_forever, daemon=True).start()
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    print(f"listening {api.url} ca={api.ca_file} kubeconfig={kubeconfig} "
          f"control=http://127.0.0.1:{control.server_address[1]}", flush=True)
    while not done.wait(1.0):
        pass
    control.shutdown()
    control.server_close()
    api.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
