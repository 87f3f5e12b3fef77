#!/usr/bin/env python3
"""A Kubernetes API server of the project's own, for tests and benchmarks: no kube-apiserver
can be installed on Debian 12, and dnsd's API client must be tested against the protocol a
real one speaks (kubernetes.io "API Concepts": efficient detection of changes, watch
bookmarks, resource versions, retrieving large results sets in chunks).

Standard library only, plus the `openssl` command for its certificates.

- HTTPS from a test CA made at start (server certificate for 127.0.0.1, ::1 and localhost;
  a client certificate CN=dnsd), HTTP/1.1; bearer tokens or the client certificate;
  401 and 403 answered with a Status object as the real server words them.
- Discovery enough for kubectl: /version, /api, /apis, /api/v1, /apis/discovery.k8s.io/v1.
- Services, Namespaces, Pods (v1) and EndpointSlices (discovery.k8s.io/v1), cluster-wide and
  per namespace; one global resourceVersion counter.
- Lists: `limit` and `continue` over a consistent snapshot (every page has the list's
  resourceVersion), label and field selectors filtered here; a continue token older than a
  compaction gets 410 Expired.
- Watches: chunked JSON, one event per line; from a resourceVersion (older than the history:
  an ERROR event with code 410 on the 200 stream, then the end); "0" or none sends the
  current objects as ADDED first; `sendInitialEvents=true` ends those with the
  `k8s.io/initial-events-end` bookmark; bookmarks every `bookmark_interval` when allowed;
  `timeoutSeconds`; an object that stops or starts matching a selector is DELETED or ADDED.
- Faults on command: a status code (429 with Retry-After, 500, 503), a stream cut in the
  middle of an object, a stalled stream, an empty 200, a line that is not JSON, an event of
  5 MiB; restart()
  drops every connection and moves the resourceVersions to a new epoch.

In a test:
    api = FakeApiServer(workdir); api.start(); api.apply({...}); api.write_kubeconfig(path)
Standalone (benchmarks), serving until SIGTERM:
    fake_apiserver.py --workdir DIR [--port P] [--objects FILE.json ...]
prints `listening URL kubeconfig=PATH control=http://127.0.0.1:PORT`; the control port takes
POST /apply (an object or a List) and POST /delete?kind=K&namespace=NS&name=N.
"""

import argparse
import base64
import bisect
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

# resource -> (kind, apiVersion, group path, namespaced, short names)
RESOURCES = {
    "services": ("Service", "v1", "/api/v1", True, ["svc"]),
    "namespaces": ("Namespace", "v1", "/api/v1", False, ["ns"]),
    "pods": ("Pod", "v1", "/api/v1", True, ["po"]),
    "endpointslices": ("EndpointSlice", "discovery.k8s.io/v1", "/apis/discovery.k8s.io/v1",
                       True, []),
}
KIND_TO_RESOURCE = {v[0]: k for k, v in RESOURCES.items()}
GROUP = {"services": "", "namespaces": "", "pods": "", "endpointslices": "discovery.k8s.io"}


def dumps(obj):
    return json.dumps(obj, separators=(",", ":")).encode()


def status(code, reason, message):
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": reason, "code": code}


# --- selectors (kubectl -l syntax; field selectors on metadata and status.phase) ------------

def split_terms(text):
    terms, depth, current = [], 0, ""
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            terms.append(current.strip())
            current = ""
        else:
            current += ch
    if current.strip():
        terms.append(current.strip())
    return terms


def label_matcher(selector):
    if not selector:
        return lambda labels: True
    checks = []
    for term in split_terms(selector):
        if " notin " in term or " in " in term:
            neg = " notin " in term
            key, values = term.split(" notin " if neg else " in ", 1)
            values = {v.strip() for v in values.strip().strip("()").split(",")}
            key = key.strip()
            checks.append(lambda l, k=key, v=values, n=neg:
                          (l.get(k) not in v) if n else (l.get(k) in v))
        elif "!=" in term:
            key, value = term.split("!=", 1)
            checks.append(lambda l, k=key.strip(), v=value.strip(): l.get(k) != v)
        elif "=" in term:
            key, value = term.replace("==", "=").split("=", 1)
            checks.append(lambda l, k=key.strip(), v=value.strip(): l.get(k) == v)
        elif term.startswith("!"):
            checks.append(lambda l, k=term[1:].strip(): k not in l)
        else:
            checks.append(lambda l, k=term: k in l)
    return lambda labels: all(c(labels) for c in checks)


def field_value(obj, path):
    value = obj
    for part in path.split("."):
        value = value.get(part, {}) if isinstance(value, dict) else {}
    return value if isinstance(value, str) else ""


def field_matcher(selector):
    if not selector:
        return lambda obj: True
    checks = []
    for term in split_terms(selector):
        if "!=" in term:
            path, value = term.split("!=", 1)
            checks.append(lambda o, p=path, v=value: field_value(o, p) != v)
        else:
            path, value = term.replace("==", "=").split("=", 1)
            checks.append(lambda o, p=path, v=value: field_value(o, p) == v)
    return lambda obj: all(c(obj) for c in checks)


# --- certificates ----------------------------------------------------------------------------

def make_certificates(workdir, extra_ips=()):
    """A CA, a server certificate for loopback (and `extra_ips`) and a client certificate,
    with openssl."""
    paths = {n: os.path.join(workdir, n) for n in
             ("ca.crt", "ca.key", "server.crt", "server.key", "client.crt", "client.key")}
    if all(os.path.exists(p) for p in paths.values()):
        return paths
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]

    def run(*argv):
        subprocess.run(["openssl"] + list(argv), check=True, capture_output=True, cwd=workdir)

    run("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "3",
        "-subj", "/CN=fake-kubernetes-ca", "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    for name, subject, ext in (
            ("server", "/CN=kube-apiserver",
             "subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost,DNS:kubernetes.default" +
             "".join(f",IP:{ip}" for ip in extra_ips) + "\n"
             "extendedKeyUsage=serverAuth\n"),
            ("client", "/CN=dnsd/O=system:serviceaccounts", "extendedKeyUsage=clientAuth\n")):
        run("req", *ec, "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", subject)
        with open(os.path.join(workdir, f"{name}.ext"), "w") as f:
            f.write(ext)
        run("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
            "-CAcreateserial", "-out", f"{name}.crt", "-days", "3", "-extfile", f"{name}.ext")
    return paths


# --- the server ------------------------------------------------------------------------------

class Fault:
    def __init__(self, kind, count, args):
        self.kind, self.count, self.args = kind, count, args

    def matches(self, resource, watch):
        if self.args.get("resource") not in (None, resource):
            return False
        if self.kind in ("cut", "stall", "empty200", "garbage", "huge") and not watch:
            return self.kind == "cut" and self.args.get("lists", False)
        return True


class FakeApiServer:
    def __init__(self, workdir, bookmark_interval=1.0, history=10000, token="secret-token",
                 port=0, version="v1.33.0", host="127.0.0.1"):
        self.workdir = workdir
        os.makedirs(workdir, exist_ok=True)
        self.bookmark_interval = bookmark_interval
        self.history_size = history
        self.tokens = {token}
        self.token = token
        self.version = version
        self.requested_port = port
        self.host = host  # another address (a Pod network's) is in the certificate too
        self.cond = threading.Condition()
        self.rv = 1000
        self.objects = {r: {} for r in RESOURCES}   # resource -> {(ns, name): (obj, bytes)}
        self.history = {r: [] for r in RESOURCES}   # resource -> [(rv, type, old, new, bytes)]
        self.history_rvs = {r: [] for r in RESOURCES}
        self.min_rv = {r: 0 for r in RESOURCES}     # a watch from before this gets 410
        self.snapshots = {}                         # continue id -> (rv, [bytes])
        self.faults = []
        self.denied = set()
        self.requests = []
        self.connections = set()
        self.stalled = threading.Event()
        self.open_watches = []
        self.stopping = False
        self.epoch = 0
        self.httpd = None
        self.port = None

    # --- lifecycle ---

    def start(self):
        paths = make_certificates(self.workdir,
                                  [] if self.host == "127.0.0.1" else [self.host])
        self.ca_file = paths["ca.crt"]
        self.client_cert_file, self.client_key_file = paths["client.crt"], paths["client.key"]
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(paths["server.crt"], paths["server.key"])
        context.load_verify_locations(self.ca_file)
        context.verify_mode = ssl.CERT_OPTIONAL
        self.context = context
        server = self

        class Httpd(ThreadingHTTPServer):
            daemon_threads = True
            allow_reuse_address = True
            request_queue_size = 128

            def get_request(self):
                sock, addr = self.socket.accept()
                # As Go's net/http (so the API server): no Nagle delay, or an event written
                # right after another waits for the client's delayed ACK.
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                return context.wrap_socket(sock, server_side=True,
                                           do_handshake_on_connect=False), addr

        handler = type("Handler", (_Handler,), {"api": server})
        self.httpd = Httpd((self.host, self.requested_port or self.port or 0), handler)
        self.port = self.httpd.server_address[1]
        self.url = f"https://{self.host}:{self.port}"
        self.stopping = False
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        return self

    def stop(self):
        with self.cond:
            self.stopping = True
            self.cond.notify_all()
        self.stalled.set()
        if self.httpd:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.httpd = None
        self._drop_connections()

    def _drop_connections(self):
        with self.cond:
            conns = list(self.connections)
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def restart(self, rv_jump=1000000):
        """A new API server process over a restored etcd: connections dropped, history gone,
        resourceVersions moved on. The objects stay."""
        with self.cond:
            self.epoch += 1
            self.rv += rv_jump
            for r in RESOURCES:
                self.history[r].clear()
                self.history_rvs[r].clear()
                self.min_rv[r] = self.rv
            self.snapshots.clear()
            self.cond.notify_all()
        self._drop_connections()

    def compact(self):
        """Forget the watch history (etcd compaction): watches from older versions and
        continue tokens issued before get 410. Open watches go on, as on a real server
        (they read from its watch cache)."""
        with self.cond:
            for r in RESOURCES:
                self.min_rv[r] = self.rv
            self.snapshots.clear()

    # --- objects ---

    def apply(self, obj):
        obj = json.loads(json.dumps(obj))
        resource = KIND_TO_RESOURCE[obj["kind"]]
        meta = obj.setdefault("metadata", {})
        if RESOURCES[resource][3]:
            meta.setdefault("namespace", "default")
        key = (meta.get("namespace", ""), meta["name"])
        with self.cond:
            self.rv += 1
            old = self.objects[resource].get(key)
            meta["resourceVersion"] = str(self.rv)
            meta.setdefault("uid", f"uid-{resource}-{key[0]}-{key[1]}")
            meta.setdefault("creationTimestamp", "2026-01-01T00:00:00Z")
            data = dumps(obj)
            self.objects[resource][key] = (obj, data)
            self._record(resource, "MODIFIED" if old else "ADDED", old[0] if old else None, obj,
                         data)
        return obj

    def delete(self, kind, namespace, name):
        resource = KIND_TO_RESOURCE[kind]
        with self.cond:
            old = self.objects[resource].pop((namespace or "", name), None)
            if old is None:
                return None
            self.rv += 1
            obj = json.loads(old[1])
            obj["metadata"]["resourceVersion"] = str(self.rv)
            self._record(resource, "DELETED", old[0], obj, dumps(obj))
            return obj

    def objects_of(self, kind):
        with self.cond:
            return [o for o, _ in self.objects[KIND_TO_RESOURCE[kind]].values()]

    def _record(self, resource, type_, old, new, data):
        history = self.history[resource]
        history.append((self.rv, type_, old, new, data))
        self.history_rvs[resource].append(self.rv)
        if len(history) > self.history_size:
            drop = len(history) - self.history_size
            self.min_rv[resource] = history[drop - 1][0]
            del history[:drop]
            del self.history_rvs[resource][:drop]
        self.cond.notify_all()

    # --- access and faults ---

    def set_tokens(self, tokens):
        with self.cond:
            self.tokens = set(tokens)

    def deny(self, resource, verb):
        with self.cond:
            self.denied.add((resource, verb))

    def allow_all(self):
        with self.cond:
            self.denied.clear()

    def fault(self, kind, count=1, **args):
        """The next `count` matching requests misbehave; count=0 clears faults of `kind`."""
        with self.cond:
            self.faults = [f for f in self.faults if f.kind != kind]
            if count > 0:
                self.faults.append(Fault(kind, count, args))
            if kind == "stall":
                self.stalled.clear()

    def unstall(self):
        self.stalled.set()

    def take_fault(self, resource, watch):
        with self.cond:
            for f in self.faults:
                if f.count > 0 and f.matches(resource, watch):
                    f.count -= 1
                    if f.count == 0:
                        self.faults.remove(f)
                    return f
        return None

    def take_stream_fault(self, resource):
        """A "cut" or "garbage" fault for the next event of an open watch, if one waits."""
        with self.cond:
            for f in self.faults:
                if f.kind in ("cut", "garbage", "huge") and f.count > 0 and f.matches(resource, True):
                    f.count -= 1
                    if f.count == 0:
                        self.faults.remove(f)
                    return f
        return None

    def watchers(self, resource=None):
        with self.cond:
            return sum(1 for r in self.open_watches if resource in (None, r))

    def write_kubeconfig(self, path, token=None, token_file=None, client_cert=False,
                         insecure=False, embed=False):
        def b64(p):
            with open(p, "rb") as f:
                return base64.b64encode(f.read()).decode()

        cluster = {"server": self.url}
        if insecure:
            cluster["insecure-skip-tls-verify"] = True
        elif embed:
            cluster["certificate-authority-data"] = b64(self.ca_file)
        else:
            cluster["certificate-authority"] = self.ca_file
        user = {}
        if token:
            user["token"] = token
        if token_file:
            user["tokenFile"] = token_file
        if client_cert:
            if embed:
                user["client-certificate-data"] = b64(self.client_cert_file)
                user["client-key-data"] = b64(self.client_key_file)
            else:
                user["client-certificate"] = self.client_cert_file
                user["client-key"] = self.client_key_file
        config = {"apiVersion": "v1", "kind": "Config", "current-context": "fake",
                  "contexts": [{"name": "fake", "context": {"cluster": "fake", "user": "fake"}}],
                  "clusters": [{"name": "fake", "cluster": cluster}],
                  "users": [{"name": "fake", "user": user}]}
        with open(path, "w") as f:
            json.dump(config, f, indent=1)  # JSON is YAML
        return path


def _discovery(api):
    resources = []
    for name, (kind, version, group, namespaced, short) in RESOURCES.items():
        if version == "v1":
            resources.append({"name": name, "singularName": kind.lower(), "namespaced": namespaced,
                              "kind": kind, "verbs": ["get", "list", "watch", "create",
                                                      "update", "delete"],
                              "shortNames": short})
    resources.append({"name": "endpoints", "singularName": "endpoints", "namespaced": True,
                      "kind": "Endpoints", "verbs": ["get", "list", "watch"], "shortNames": ["ep"]})
    return {
        "/version": {"major": "1", "minor": api.version.split(".")[1], "gitVersion": api.version,
                     "platform": "linux/amd64"},
        "/api": {"kind": "APIVersions", "versions": ["v1"],
                 "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0",
                                                 "serverAddress": "127.0.0.1"}]},
        "/apis": {"kind": "APIGroupList", "apiVersion": "v1", "groups": [
            {"name": "discovery.k8s.io",
             "versions": [{"groupVersion": "discovery.k8s.io/v1", "version": "v1"}],
             "preferredVersion": {"groupVersion": "discovery.k8s.io/v1", "version": "v1"}}]},
        "/api/v1": {"kind": "APIResourceList", "groupVersion": "v1", "resources": resources},
        "/apis/discovery.k8s.io/v1": {
            "kind": "APIResourceList", "apiVersion": "v1", "groupVersion": "discovery.k8s.io/v1",
            "resources": [{"name": "endpointslices", "singularName": "endpointslice",
                           "namespaced": True, "kind": "EndpointSlice",
                           "verbs": ["get", "list", "watch", "create", "update", "delete"]}]},
    }


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    api = None  # set per server

    def log_message(self, *args):
        pass

    def setup(self):
        super().setup()
        with self.api.cond:
            self.api.connections.add(self.request)

    def finish(self):
        try:
            super().finish()
        finally:
            with self.api.cond:
                self.api.connections.discard(self.request)

    def handle(self):
        try:
            self.request.do_handshake()
        except (ssl.SSLError, OSError):
            return
        try:
            super().handle()
        except (ssl.SSLError, OSError):
            pass

    # --- responses ---

    def send_json(self, code, body, headers=()):
        data = body if isinstance(body, bytes) else dumps(body)
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)
        self.log_request_entry(code)

    def log_request_entry(self, code):
        self.entry["status"] = code
        with self.api.cond:
            self.api.requests.append(self.entry)

    def chunk(self, data):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    # --- routing ---

    def do_GET(self):
        api = self.api
        url = urlparse(self.path)
        query = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        watch = query.get("watch") in ("1", "true")
        auth = self.headers.get("Authorization", "")
        token = auth[7:] if auth.startswith("Bearer ") else None
        self.entry = {"method": "GET", "path": url.path, "query": query, "watch": watch,
                      "token": token, "time": time.monotonic()}
        cert = self.request.getpeercert() if hasattr(self.request, "getpeercert") else None
        with api.cond:
            authorized = (token in api.tokens) or (token is None and bool(cert))
        if not authorized:
            return self.send_json(401, status(401, "Unauthorized", "Unauthorized"))
        discovery = _discovery(api)
        if url.path.rstrip("/") in discovery:
            return self.send_json(200, discovery[url.path.rstrip("/")])
        parsed = self.route(url.path)
        if parsed is None:
            return self.send_json(404, status(404, "NotFound", "the server could not find the "
                                                               "requested resource"))
        resource, namespace, name = parsed
        verb = "watch" if watch else ("get" if name else "list")
        with api.cond:
            denied = (resource, verb) in api.denied
        if denied:
            group = GROUP[resource]
            what = f"{resource}.{group}" if group else resource
            scope = f'in the namespace "{namespace}"' if namespace else "at the cluster scope"
            return self.send_json(403, status(
                403, "Forbidden",
                f'{what} is forbidden: User "system:serviceaccount:kube-system:dnsd" cannot '
                f'{verb} resource "{resource}" in API group "{group}" {scope}'))
        # "cut" and "garbage" hit the next event of a watch (open or not): taken there.
        fault = None
        with api.cond:
            waiting = [f for f in api.faults if f.count > 0 and f.matches(resource, watch)]
        if waiting and not (watch and waiting[0].kind in ("cut", "garbage", "huge")):
            fault = api.take_fault(resource, watch)
        if fault and fault.kind == "status":
            code = fault.args.get("code", 500)
            headers = []
            if "retry_after" in fault.args:
                headers.append(("Retry-After", str(fault.args["retry_after"])))
            reasons = {429: "TooManyRequests", 500: "InternalError", 503: "ServiceUnavailable"}
            return self.send_json(code, status(code, reasons.get(code, "Unknown"),
                                               f"fake fault {code}"), headers)
        if name:
            return self.get_one(resource, namespace, name)
        if watch:
            return self.watch(resource, namespace, query, fault)
        return self.list(resource, namespace, query, fault)

    def route(self, path):
        parts = [p for p in path.split("/") if p]
        # api/v1/... or apis/discovery.k8s.io/v1/...
        if parts[:2] == ["api", "v1"]:
            rest = parts[2:]
        elif parts[:3] == ["apis", "discovery.k8s.io", "v1"]:
            rest = parts[3:]
        else:
            return None
        namespace = name = ""
        if len(rest) >= 3 and rest[0] == "namespaces":
            namespace, rest = rest[1], rest[2:]
        elif len(rest) == 2 and rest[0] == "namespaces":
            return ("namespaces", "", rest[1])
        if not rest or rest[0] not in RESOURCES:
            return None
        resource = rest[0]
        group = RESOURCES[resource][2]
        if not path.startswith(group + "/"):
            return None
        if len(rest) == 2:
            name = rest[1]
        elif len(rest) > 2:
            return None
        return resource, namespace, name

    def matcher(self, resource, namespace, query):
        labels = label_matcher(query.get("labelSelector", ""))
        fields = field_matcher(query.get("fieldSelector", ""))

        def match(obj):
            if obj is None:
                return False
            meta = obj.get("metadata", {})
            if namespace and meta.get("namespace") != namespace:
                return False
            return labels(meta.get("labels") or {}) and fields(obj)
        return match

    def get_one(self, resource, namespace, name):
        with self.api.cond:
            entry = self.api.objects[resource].get((namespace, name))
        if entry is None:
            return self.send_json(404, status(404, "NotFound",
                                              f'{resource} "{name}" not found'))
        return self.send_json(200, entry[1])

    def list(self, resource, namespace, query, fault):
        api = self.api
        kind, version = RESOURCES[resource][0], RESOURCES[resource][1]
        limit = int(query.get("limit") or 0)
        token = query.get("continue", "")
        with api.cond:
            if token:
                snap = api.snapshots.get(token.split(":")[0])
                if snap is None:
                    return self.send_json(410, status(
                        410, "Expired", "The provided continue parameter is too old to display "
                        "a consistent list result. You can start a new list without the "
                        "continue parameter."))
                rv, items = snap
                offset = int(token.split(":")[1])
            else:
                match = self.matcher(resource, namespace, query)
                rv = api.rv
                items = [data for key, (obj, data) in sorted(api.objects[resource].items())
                         if match(obj)]
                offset = 0
            page = items[offset:offset + limit] if limit else items[offset:]
            meta = {"resourceVersion": str(rv)}
            if limit and offset + limit < len(items):
                snap_id = token.split(":")[0] if token else f"s{len(api.snapshots)}e{api.epoch}"
                api.snapshots[snap_id] = (rv, items)
                meta["continue"] = f"{snap_id}:{offset + limit}"
                meta["remainingItemCount"] = len(items) - offset - limit
        body = (b'{"kind":"' + kind.encode() + b'List","apiVersion":"' + version.encode() +
                b'","metadata":' + dumps(meta) + b',"items":[' + b",".join(page) + b"]}")
        if fault and fault.kind == "cut":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[:len(body) // 2])
            self.close_connection = True
            self.log_request_entry(200)
            self.request.shutdown(socket.SHUT_RDWR)
            return
        self.send_json(200, body)

    def watch(self, resource, namespace, query, fault):
        api = self.api
        kind, version = RESOURCES[resource][0], RESOURCES[resource][1]
        match = self.matcher(resource, namespace, query)
        bookmarks = query.get("allowWatchBookmarks") == "true"
        timeout = float(query["timeoutSeconds"]) if query.get("timeoutSeconds") else None
        rv_text = query.get("resourceVersion", "")
        initial = query.get("sendInitialEvents") == "true"
        if initial and not bookmarks:
            return self.send_json(400, status(
                400, "BadRequest", "sendInitialEvents is forbidden for watch unless "
                "allowWatchBookmarks=true"))
        self.close_connection = True
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.log_request_entry(200)
        start = time.monotonic()
        epoch = api.epoch

        def bookmark(annotations=None):
            meta = {"resourceVersion": str(api.rv)}
            if annotations:
                meta["annotations"] = annotations
            return dumps({"type": "BOOKMARK", "object": {"kind": kind, "apiVersion": version,
                                                          "metadata": meta}}) + b"\n"

        if fault and fault.kind == "empty200":
            self.wfile.write(b"0\r\n\r\n")
            return
        if fault and fault.kind == "stall":
            api.stalled.wait()
            return
        with api.cond:
            if rv_text in ("", "0") or initial:
                last = api.rv
                first = [b'{"type":"ADDED","object":' + data + b"}\n"
                         for key, (obj, data) in sorted(api.objects[resource].items())
                         if match(obj)]
            else:
                last = int(rv_text)
                first = []
                if last < api.min_rv[resource]:
                    first = None
        if first is None:
            self.chunk(dumps({"type": "ERROR", "object": status(
                410, "Expired", f"too old resource version: {rv_text} ({api.min_rv[resource]})")})
                + b"\n")
            self.wfile.write(b"0\r\n\r\n")
            return
        for line in first:
            self.chunk(line)
        if initial:
            self.chunk(bookmark({"k8s.io/initial-events-end": "true"}))
        next_bookmark = time.monotonic() + api.bookmark_interval
        with api.cond:
            api.open_watches.append(resource)
        try:
            while True:
                with api.cond:
                    while True:
                        if api.stopping or api.epoch != epoch:
                            return
                        rvs = api.history_rvs[resource]
                        i = bisect.bisect_right(rvs, last)
                        if i < len(rvs):
                            events = api.history[resource][i:]
                            break
                        now = time.monotonic()
                        wake = next_bookmark if bookmarks else now + 1
                        if timeout is not None:
                            wake = min(wake, start + timeout)
                        if now >= wake:
                            events = []
                            break
                        api.cond.wait(wake - now)
                for rv, type_, old, new, data in events:
                    last = rv
                    was, now_matches = match(old), match(new)
                    if type_ == "DELETED":
                        if not was:
                            continue
                    elif was and not now_matches:
                        type_ = "DELETED"
                    elif now_matches and not was:
                        type_ = "ADDED"
                    elif not now_matches:
                        continue
                    line = b'{"type":"' + type_.encode() + b'","object":' + data + b"}\n"
                    stream_fault = api.take_stream_fault(resource)
                    if stream_fault and stream_fault.kind == "huge":
                        # The object again, with 5 MiB of annotation: over any sane bound.
                        big = json.loads(data)
                        big["metadata"].setdefault("annotations", {})["padding"] = "x" * (5 << 20)
                        line = b'{"type":"' + type_.encode() + b'","object":' + dumps(big) + b"}\n"
                        stream_fault = None
                    if stream_fault and stream_fault.kind == "garbage":
                        self.chunk(b"this is not JSON\n")
                        self.wfile.write(b"0\r\n\r\n")
                        return
                    if stream_fault:  # cut in the middle of the object
                        self.wfile.write(b"%x\r\n%s" % (len(line), line[:len(line) // 2]))
                        self.wfile.flush()
                        self.request.shutdown(socket.SHUT_RDWR)
                        return
                    self.chunk(line)
                now = time.monotonic()
                if bookmarks and now >= next_bookmark:
                    self.chunk(bookmark())
                    next_bookmark = now + api.bookmark_interval
                if timeout is not None and now >= start + timeout:
                    self.wfile.write(b"0\r\n\r\n")
                    return
        finally:
            with api.cond:
                api.open_watches.remove(resource)


# --- standalone --------------------------------------------------------------------------------

def _control_server(api, port):
    class Control(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_POST(self):
            url = urlparse(self.path)
            q = {k: v[-1] for k, v in parse_qs(url.query).items()}
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if url.path == "/apply":
                obj = json.loads(body)
                for item in obj.get("items", []) if obj.get("kind") == "List" else [obj]:
                    api.apply(item)
            elif url.path == "/delete":
                api.delete(q["kind"], q.get("namespace", ""), q["name"])
            else:
                self.send_response(404)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

    httpd = ThreadingHTTPServer(("127.0.0.1", port), Control)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd


def main():
    parser = argparse.ArgumentParser(description="a fake Kubernetes API server on loopback")
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--control-port", type=int, default=0)
    parser.add_argument("--objects", nargs="*", default=[])
    parser.add_argument("--bookmark-interval", type=float, default=60.0)
    parser.add_argument("--token", default="secret-token")
    a = parser.parse_args()
    api = FakeApiServer(a.workdir, bookmark_interval=a.bookmark_interval, token=a.token,
                        port=a.port)
    for path in a.objects:
        with open(path) as f:
            obj = json.load(f)
        for item in obj.get("items", []) if obj.get("kind") == "List" else [obj]:
            api.apply(item)
    api.start()
    control = _control_server(api, a.control_port)
    kubeconfig = api.write_kubeconfig(os.path.join(a.workdir, "kubeconfig"), token=a.token)
    print(f"listening {api.url} kubeconfig={kubeconfig} "
          f"control=http://127.0.0.1:{control.server_address[1]}", flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    done.wait()
    api.stop()


if __name__ == "__main__":
    sys.exit(main())
