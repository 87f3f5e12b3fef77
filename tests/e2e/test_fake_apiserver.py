"""End-to-end: the fake Kubernetes API server speaks the protocol real clients expect.

Run: python3 tests/e2e/test_fake_apiserver.py DNSD_BINARY   (the argument is not used)

dnsd's Kubernetes source is tested against tests/e2e/fake_apiserver.py, so this file holds the
fake to what real clients see: the kubectl binaries of the machine image (kubectl.1.33,
kubectl.1.30 and the oldest installed in full, every other one for a plain list), pinned by
version, each with its own empty HOME so no discovery cache carries over.

Behaviours:
  - `kubectl get services,endpointslices,namespaces -A -o json` returns exactly the objects
    applied: names, namespaces, clusterIPs, endpoint addresses.
  - `--chunk-size=2` makes kubectl page with limit=2 and continue, and still returns everything;
    `-l app=web` sends labelSelector and the server filters.
  - `kubectl get services -A --watch` prints a Service applied after it started, and its deletion.
  - A wrong token fails with Unauthorized; a denied verb fails with the RBAC Forbidden message;
    client certificates, token files and embedded *-data kubeconfig fields authenticate.
  - `get --raw` of a watch with allowWatchBookmarks shows BOOKMARK lines and ends at
    timeoutSeconds; after compact() a watch from an old resourceVersion gets the 410 ERROR event.
  - Raw HTTP: one event per chunk, each a JSON object and a newline; 429 carries Retry-After;
    a cut stream stops inside an object; pages share one resourceVersion while objects change;
    an expired continue token gets 410; selector transitions arrive as DELETED/ADDED;
    sendInitialEvents ends with the initial-events-end bookmark; restart() drops watches and
    jumps the resourceVersion; stall, empty200, garbage, huge and trickle faults do what they
    say, on open watches too where they hit the next event.
  - resourceVersionMatch=Exact lists the past, NotOlderThan the present; a future version
    times out with 504 ResourceVersionTooLarge; bad options are 422 Invalid.
  - rotate_ca(): clients holding the old CA fail, kubectl reading the CA file again works.
  - 20,000 Services list in pages of 500, each page served quickly.
  - Standalone: the command line prints its URL, serves kubectl, takes /apply on its control
    port, and exits 0 on SIGTERM.
"""

import gzip
import http.client
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from fake_apiserver import FakeApiServer  # noqa: E402
from harness import Checks  # noqa: E402

TOKEN = "secret-token"
FULL_VERSIONS = (33, 30)  # kubectl minor versions run through every scenario
KUBECTL_TIMEOUT = 30


def find_kubectls():
    """{minor: path} of the versioned kubectl binaries the kubectl package installs."""
    try:
        out = subprocess.run(["dpkg", "-L", "kubectl"], capture_output=True, text=True,
                             timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired):
        return {}
    found = {}
    for line in out.splitlines():
        m = re.search(r"/kubectl\.1\.(\d+)$", line)
        if m and os.access(line, os.X_OK):
            found[int(m.group(1))] = line
    return found


class Kubectl:
    """One pinned kubectl binary with its own HOME (no discovery cache shared between runs)."""

    def __init__(self, path, home):
        self.path = path
        self.home = home
        self.env = {"HOME": home, "PATH": os.environ.get("PATH", "/usr/bin:/bin")}

    def run(self, kubeconfig, *args, timeout=KUBECTL_TIMEOUT):
        cmd = [self.path, "--kubeconfig", kubeconfig, *args]
        try:
            p = subprocess.run(cmd, capture_output=True, text=True, env=self.env,
                               stdin=subprocess.DEVNULL, timeout=timeout)
            return p.returncode, p.stdout, p.stderr
        except subprocess.TimeoutExpired as e:
            return None, e.stdout or "", f"(killed after {timeout} s) {e.stderr or ''}"

    def popen(self, kubeconfig, *args):
        return subprocess.Popen([self.path, "--kubeconfig", kubeconfig, *args],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=self.env, stdin=subprocess.DEVNULL,
                                start_new_session=True)


def json_docs(text):
    """Every JSON value in text, one after another (kubectl -o json output, watch streams)."""
    dec = json.JSONDecoder()
    docs, i = [], 0
    while True:
        while i < len(text) and text[i] in " \t\r\n":
            i += 1
        if i >= len(text):
            return docs
        value, i = dec.raw_decode(text, i)
        docs.append(value)


# --- objects ------------------------------------------------------------------------------------


def service(ns, name, ip, labels, ports=((80, "http"),)):
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": name, "namespace": ns, "labels": dict(labels)},
            "spec": {"clusterIP": ip, "ports": [{"name": n, "port": p} for p, n in ports]}}


def slice_(ns, name, svc, addresses):
    return {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": name, "namespace": ns,
                         "labels": {"kubernetes.io/service-name": svc}},
            "addressType": "IPv4",
            "endpoints": [{"addresses": [a], "conditions": {"ready": True}} for a in addresses],
            "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}]}


def namespace(name):
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}


def pod(ns, name, ip, phase):
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": ns},
            "spec": {"containers": [{"name": "c", "image": "busybox"}]},
            "status": {"phase": phase, "podIP": ip}}


SERVICES = [
    service("default", "db", "10.96.0.20", {"app": "db"}, ((5432, "pg"),)),
    service("kube-system", "kube-dns", "10.96.0.10", {"k8s-app": "kube-dns"},
            ((53, "dns"), (9153, "metrics"))),
    service("web", "front", "10.96.0.30", {"app": "web", "tier": "frontend"}),
    service("web", "api", "10.96.0.31", {"app": "web", "tier": "backend"}),
]
SLICES = [
    slice_("web", "front-x1", "front", ["10.1.0.5", "10.1.0.6"]),
    slice_("default", "db-y2", "db", ["10.1.1.7"]),
]
NAMESPACES = [namespace(n) for n in ("default", "kube-system", "web")]
PODS = [pod("web", "front-1", "10.1.0.5", "Running"), pod("web", "job-1", "10.1.0.9", "Succeeded")]


def populate(api):
    for obj in NAMESPACES + SERVICES + SLICES + PODS:
        api.apply(obj)


def names(items):
    return sorted((i["metadata"].get("namespace", ""), i["metadata"]["name"]) for i in items)


def key_of(obj):
    return (obj["kind"], obj["metadata"].get("namespace", ""), obj["metadata"]["name"])


# --- kubectl scenarios --------------------------------------------------------------------------


def kubectl_get_all(c, api, k, kc, label):
    rc, out, err = k.run(kc, "get", "services,endpointslices,namespaces", "-A", "-o", "json")
    if not c.check(rc == 0, f"{label}: get services,endpointslices,namespaces -A succeeds", err):
        return
    items = json.loads(out)["items"]
    want = sorted(key_of(o) for o in SERVICES + SLICES + NAMESPACES)
    c.expect_equal(sorted(key_of(i) for i in items), want,
                   f"{label}: get -A -o json returns exactly the applied objects")
    ips = {i["metadata"]["name"]: i["spec"].get("clusterIP")
           for i in items if i["kind"] == "Service"}
    c.expect_equal(ips, {s["metadata"]["name"]: s["spec"]["clusterIP"] for s in SERVICES},
                   f"{label}: every Service keeps its clusterIP")
    eps = {i["metadata"]["name"]: sorted(a for e in i["endpoints"] for a in e["addresses"])
           for i in items if i["kind"] == "EndpointSlice"}
    c.expect_equal(eps, {s["metadata"]["name"]: sorted(a for e in s["endpoints"]
                                                       for a in e["addresses"]) for s in SLICES},
                   f"{label}: every EndpointSlice keeps its endpoint addresses")


def kubectl_chunks(c, api, k, kc, label):
    mark = len(api.requests)
    rc, out, err = k.run(kc, "get", "services", "-A", "--chunk-size=2", "-o", "json")
    if not c.check(rc == 0, f"{label}: get --chunk-size=2 succeeds", err):
        return
    c.expect_equal(names(json.loads(out)["items"]), names(SERVICES),
                   f"{label}: --chunk-size=2 still returns every Service")
    lists = [r for r in api.requests[mark:] if r["path"] == "/api/v1/services"]
    c.check(len(lists) >= 2 and all(r["query"].get("limit") == "2" for r in lists),
            f"{label}: kubectl sent several list requests with limit=2",
            "\n".join(str(r["query"]) for r in lists))
    c.check(any(r["query"].get("continue") for r in lists[1:]),
            f"{label}: the later pages were asked with continue")


def kubectl_label_selector(c, api, k, kc, label):
    mark = len(api.requests)
    rc, out, err = k.run(kc, "get", "services", "-A", "-l", "app=web", "-o", "json")
    if not c.check(rc == 0, f"{label}: get -l app=web succeeds", err):
        return
    c.expect_equal(names(json.loads(out)["items"]), [("web", "api"), ("web", "front")],
                   f"{label}: -l app=web returns only the app=web Services")
    sent = [r["query"].get("labelSelector") for r in api.requests[mark:]
            if r["path"] == "/api/v1/services"]
    c.check(sent and all(s == "app=web" for s in sent),
            f"{label}: kubectl sent labelSelector=app=web to the server", str(sent))


def kubectl_auth(c, api, k, tmp, label):
    bad = api.write_kubeconfig(os.path.join(tmp, f"bad-{label}.yaml"), token="wrong-token")
    rc, out, err = k.run(bad, "get", "services", "-A", "-o", "json")
    c.check(rc not in (0, None) and "Unauthorized" in err,
            f"{label}: a wrong token makes kubectl fail with Unauthorized", f"rc={rc}\n{err}")
    kc = os.path.join(tmp, "kubeconfig")
    api.deny("services", "list")
    try:
        rc, out, err = k.run(kc, "get", "services", "-A", "-o", "json")
    finally:
        api.allow_all()
    want = ('services is forbidden: User "system:serviceaccount:kube-system:dnsd" cannot list '
            'resource "services" in API group "" at the cluster scope')
    c.check(rc not in (0, None) and "Forbidden" in err and want in err,
            f"{label}: deny(services, list) makes kubectl print the RBAC Forbidden message",
            f"rc={rc}\n{err}")
    api.deny("endpointslices", "list")
    try:
        rc, out, err = k.run(kc, "get", "endpointslices", "-n", "web", "-o", "json")
    finally:
        api.allow_all()
    want = ('endpointslices.discovery.k8s.io is forbidden: User '
            '"system:serviceaccount:kube-system:dnsd" cannot list resource "endpointslices" in '
            'API group "discovery.k8s.io" in the namespace "web"')
    c.check(rc not in (0, None) and want in err,
            f"{label}: a denied namespaced list names the group and the namespace",
            f"rc={rc}\n{err}")


def kubectl_raw_bookmarks(c, api, k, kc, label):
    rc, out, err = k.run(kc, "get", "--raw",
                         "/api/v1/services?watch=1&allowWatchBookmarks=true&timeoutSeconds=2")
    if not c.check(rc == 0, f"{label}: get --raw of a watch with timeoutSeconds=2 ends cleanly",
                   f"rc={rc}\n{err}"):
        return
    events = [json.loads(line) for line in out.splitlines() if line.strip()]
    types = [e["type"] for e in events]
    c.expect_equal(sorted(e["object"]["metadata"]["name"] for e in events
                          if e["type"] == "ADDED"), sorted(s["metadata"]["name"]
                                                           for s in SERVICES),
                   f"{label}: the watch starts with an ADDED for every Service")
    marks = [e for e in events if e["type"] == "BOOKMARK"]
    c.check(marks and all(e["object"]["kind"] == "Service" and
                          e["object"]["metadata"]["resourceVersion"] ==
                          str(api.resource_version()) for e in marks),
            f"{label}: get --raw shows BOOKMARK lines carrying the current resourceVersion",
            "\n".join(out.splitlines()[-3:]))
    c.check(set(types) <= {"ADDED", "BOOKMARK"}, f"{label}: no other event types", str(types))


def kubectl_raw_expired(c, api, k, kc, label):
    old = api.resource_version()
    api.apply(service("default", f"tmp-{label}", "10.96.5.5", {"app": "tmp"}))
    api.delete("Service", "default", f"tmp-{label}")
    api.compact()
    start = time.monotonic()
    rc, out, err = k.run(kc, "get", "--raw",
                         f"/api/v1/services?watch=1&resourceVersion={old}&timeoutSeconds=10")
    took = time.monotonic() - start
    events = [json.loads(line) for line in out.splitlines() if line.strip()]
    want = {"type": "ERROR", "object": {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": f"too old resource version: {old} ({api.resource_version()})",
        "reason": "Expired", "code": 410}}
    c.expect_equal(events, [want],
                   f"{label}: after compact() a watch from an old RV shows the 410 ERROR event",
                   err)
    c.check(took < 8, f"{label}: the 410 stream ends at once, not at timeoutSeconds",
            f"{took:.1f} s")


def kubectl_watch(c, api, k, kc, label):
    proc = k.popen(kc, "get", "services", "-A", "--watch", "-o", "json", "--output-watch-events")
    chunks = []

    def reader():
        for line in proc.stdout:
            chunks.append(line)

    t = threading.Thread(target=reader, daemon=True)
    t.start()

    def wait_for(pred, timeout=15):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                docs = json_docs("".join(chunks))
            except ValueError:
                docs = None  # in the middle of an object
            if docs is not None and pred(docs):
                return docs
            time.sleep(0.05)
        return None

    name = f"late-{label}"
    try:
        ok = wait_for(lambda d: len(d) >= len(SERVICES)) is not None
        c.check(ok, f"{label}: kubectl --watch prints the existing Services first",
                "".join(chunks)[-2000:])
        deadline = time.monotonic() + 10
        while api.watchers("services") < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        c.check(api.watchers("services") >= 1, f"{label}: kubectl --watch opened a watch")
        api.apply(service("web", name, "10.96.7.7", {"app": "late"}))
        docs = wait_for(lambda d: any(e.get("type") == "ADDED" and
                                      e["object"]["metadata"]["name"] == name for e in d))
        c.check(docs is not None, f"{label}: kubectl --watch prints a Service applied later",
                "".join(chunks)[-2000:])
        api.delete("Service", "web", name)
        docs = wait_for(lambda d: any(e.get("type") == "DELETED" and
                                      e["object"]["metadata"]["name"] == name for e in d))
        c.check(docs is not None, f"{label}: kubectl --watch prints the deletion",
                "".join(chunks)[-2000:])
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        t.join(timeout=5)
        proc.stdout.close()
        proc.stderr.close()


def kubectl_credentials(c, api, k, tmp, label):
    """Client certificates, token files and embedded data authenticate as they would in a
    real cluster."""
    token_file = os.path.join(tmp, "token")
    with open(token_file, "w") as f:
        f.write(TOKEN + "\n")
    variants = [
        ("client certificate", dict(client_cert=True), "dnsd"),
        ("client certificate embedded", dict(client_cert=True, embed=True), "dnsd"),
        ("tokenFile", dict(token_file=token_file), "system:serviceaccount:kube-system:dnsd"),
        ("insecure-skip-tls-verify", dict(insecure=True),
         "system:serviceaccount:kube-system:dnsd"),
    ]
    for what, kwargs, user in variants:
        kc = api.write_kubeconfig(os.path.join(tmp, f"kc-{label}-{what.replace(' ', '-')}"),
                                  **kwargs)
        mark = len(api.requests)
        rc, out, err = k.run(kc, "get", "namespaces", "-o", "json")
        ok = rc == 0 and names(json.loads(out)["items"]) == names(NAMESPACES)
        c.check(ok, f"{label}: a kubeconfig with {what} lists the namespaces", err)
        users = {r["user"] for r in api.requests[mark:] if r["path"] == "/api/v1/namespaces"}
        c.expect_equal(users, {user}, f"{label}: {what} authenticates as {user}")


# --- raw HTTP -----------------------------------------------------------------------------------


class Raw:
    """HTTP/1.1 over TLS by hand, to see the framing kubectl hides."""

    def __init__(self, api, token=TOKEN):
        self.api = api
        self.token = token
        self.ctx = ssl.create_default_context(cafile=api.ca_file)

    def conn(self, timeout=10):
        return http.client.HTTPSConnection("127.0.0.1", self.api.port, context=self.ctx,
                                           timeout=timeout)

    def get(self, path, headers=None):
        conn = self.conn()
        h = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        h.update(headers or {})
        try:
            conn.request("GET", path, headers=h)
            r = conn.getresponse()
            body = r.read()
            return r.status, dict(r.getheaders()), body
        finally:
            conn.close()

    def get_json(self, path):
        status, headers, body = self.get(path)
        return status, json.loads(body) if body else None

    def socket(self, path, timeout=5):
        """A TLS socket with the request sent; returns (sock, header text)."""
        raw = socket.create_connection(("127.0.0.1", self.api.port), timeout=timeout)
        sock = self.ctx.wrap_socket(raw, server_hostname="127.0.0.1")
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer "
                     f"{self.token}\r\nAccept: application/json\r\n\r\n".encode())
        data = b""
        while b"\r\n\r\n" not in data:
            more = sock.recv(65536)
            if not more:
                break
            data += more
        head, _, rest = data.partition(b"\r\n\r\n")
        return sock, head.decode(), rest


def read_until_close(sock, initial=b"", timeout=5):
    data = initial
    sock.settimeout(timeout)
    try:
        while True:
            more = sock.recv(65536)
            if not more:
                break
            data += more
    except (socket.timeout, ssl.SSLError, OSError):
        pass
    return data


def parse_chunks(data):
    """(chunks, complete): the chunk payloads, and whether the terminating chunk arrived."""
    chunks, i = [], 0
    while True:
        end = data.find(b"\r\n", i)
        if end < 0:
            return chunks, False
        size = int(data[i:end].split(b";")[0], 16)
        if size == 0:
            return chunks, True
        payload = data[end + 2:end + 2 + size]
        if len(payload) < size or data[end + 2 + size:end + 4 + size] != b"\r\n":
            chunks.append(payload)
            return chunks, False
        chunks.append(payload)
        i = end + 4 + size


def raw_framing(c, api, raw):
    sock, head, rest = raw.socket("/api/v1/namespaces/web/services?watch=true&resourceVersion=0"
                                  "&allowWatchBookmarks=true&timeoutSeconds=1")
    data = read_until_close(sock, rest, timeout=1.5)  # keep-alive: the socket stays open
    sock.close()
    c.check(head.startswith("HTTP/1.1 200") and "Transfer-Encoding: chunked" in head and
            "Content-Type: application/json" in head,
            "a watch answers 200, chunked, application/json", head)
    chunks, complete = parse_chunks(data)
    c.check(complete, "the watch ends with the terminating chunk at timeoutSeconds")
    good = all(ch.endswith(b"\n") and ch.count(b"\n") == 1 and
               set(json.loads(ch)) == {"type", "object"} for ch in chunks)
    c.check(chunks and good, "each chunk is exactly one JSON event and a newline",
            repr(chunks[:3]))
    adds = [json.loads(ch)["object"]["metadata"]["name"] for ch in chunks
            if json.loads(ch)["type"] == "ADDED"]
    c.expect_equal(sorted(adds), ["api", "front"],
                   "a namespaced watch from resourceVersion=0 sends ADDED for that namespace only")


def raw_status_faults(c, api, raw):
    api.fault("status", code=429, retry_after=3, resource="services")
    status, headers, body = raw.get("/api/v1/services")
    c.expect_equal((status, headers.get("Retry-After")), (429, "3"),
                   "fault 429 answers Too Many Requests with Retry-After")
    doc = json.loads(body)
    c.expect_equal((doc["kind"], doc["reason"], doc["code"], doc["details"]),
                   ("Status", "TooManyRequests", 429, {"retryAfterSeconds": 3}),
                   "the 429 body is a TooManyRequests Status")
    status, _, _ = raw.get("/api/v1/services")
    c.expect_equal(status, 200, "the fault hits only the next request")
    api.fault("status", count=2, code=503, resource="endpointslices")
    c.expect_equal(raw.get("/api/v1/services")[0], 200,
                   "a fault for endpointslices spares services")
    got = [raw.get("/apis/discovery.k8s.io/v1/endpointslices")[0] for _ in range(3)]
    c.expect_equal(got, [503, 503, 200], "count=2 makes two requests fail with 503")
    api.fault("status", code=500)
    status, _, body = raw.get("/api/v1/namespaces/web/pods")
    c.expect_equal((status, json.loads(body)["reason"]), (500, "InternalError"),
                   "fault 500 answers an InternalError Status")
    status, _, body = Raw(api, token="").get("/api/v1/services")
    c.expect_equal((status, json.loads(body)), (401, {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": "Unauthorized", "reason": "Unauthorized", "code": 401}),
        "no credentials: 401 with an Unauthorized Status")
    status, doc = raw.get_json("/api/v1/namespaces/web/services/nope")
    c.expect_equal((status, doc["reason"], doc["message"]), (404, "NotFound",
                                                             'services "nope" not found'),
                   "a missing object: 404 NotFound Status")
    status, doc = raw.get_json("/api/v1/namespaces/web/services/front")
    c.expect_equal((status, doc["kind"], doc["spec"]["clusterIP"]), (200, "Service", "10.96.0.30"),
                   "GET of one object returns it with kind and apiVersion")


def raw_cut(c, api, raw):
    rv = api.resource_version()
    sock, head, rest = raw.socket(f"/api/v1/services?watch=1&resourceVersion={rv}")
    wait_watchers(api, 1)
    api.fault("cut", resource="services")  # an open watch is cut at its next event
    api.apply(service("web", "cut-me", "10.96.9.9", {"app": "cut"}))
    data = read_until_close(sock, rest, timeout=3)
    sock.close()
    chunks, complete = parse_chunks(data)
    bad = not complete and len(chunks) == 1
    if bad:
        try:
            json.loads(chunks[0])
            bad = False
        except ValueError:
            pass
    c.check(head.startswith("HTTP/1.1 200") and bad,
            "fault cut: the watch stream stops inside the next event's JSON", repr(data[:200]))
    api.delete("Service", "web", "cut-me")
    api.fault("cut", lists=True, resource="services")
    conn = raw.conn()
    try:
        conn.request("GET", "/api/v1/services", headers={"Authorization": f"Bearer {TOKEN}"})
        r = conn.getresponse()
        try:
            r.read()
            cut = False
        except http.client.IncompleteRead:
            cut = True
        r.close()
    finally:
        conn.close()
    c.check(cut, "fault cut on a list: the body ends early")


def raw_pagination(c, api, raw):
    status, page1 = raw.get_json("/api/v1/services?limit=2")
    rv = page1["metadata"]["resourceVersion"]
    token = page1["metadata"].get("continue")
    c.check(status == 200 and token and page1["metadata"].get("remainingItemCount") == 2,
            "a first page of 2 has continue and remainingItemCount", json.dumps(page1)[:300])
    c.check(all("kind" not in i and "apiVersion" not in i for i in page1["items"]),
            "list items carry no kind/apiVersion, as the real typed lists")
    api.apply(service("zzz", "new", "10.96.8.8", {"app": "new"}))
    api.apply(dict(SERVICES[3], spec=dict(SERVICES[3]["spec"], clusterIP="10.96.0.99")))
    got = list(page1["items"])
    rvs = [rv]
    while token:
        q = urllib.parse.urlencode({"limit": 2, "continue": token})
        status, page = raw.get_json(f"/api/v1/services?{q}")
        if not c.check(status == 200, "a continue page answers 200", json.dumps(page)):
            return
        rvs.append(page["metadata"]["resourceVersion"])
        got += page["items"]
        token = page["metadata"].get("continue")
    c.expect_equal(names(got), names(SERVICES), "the pages together are the snapshot of the "
                   "first page: no object created after it")
    c.check(set(rvs) == {rv}, "every page carries the first page's resourceVersion", str(rvs))
    ips = {i["metadata"]["name"]: i["spec"]["clusterIP"] for i in got}
    c.expect_equal(ips.get("api"), "10.96.0.31", "a later page shows the object as it was")
    status, full = raw.get_json("/api/v1/services")
    c.check(("zzz", "new") in names(full["items"]) and
            int(full["metadata"]["resourceVersion"]) > int(rv),
            "a fresh list sees the new object at a newer resourceVersion")
    api.apply(SERVICES[3])
    api.delete("Service", "zzz", "new")
    # An expired token: compaction forgets the snapshot.
    status, page1 = raw.get_json("/api/v1/services?limit=1")
    api.apply(service("zzz", "newer", "10.96.8.9", {}))
    api.compact()
    q = urllib.parse.urlencode({"limit": 1, "continue": page1["metadata"]["continue"]})
    status, doc = raw.get_json(f"/api/v1/services?{q}")
    c.check(status == 410 and doc["reason"] == "Expired" and doc["metadata"].get("continue"),
            "a continue token older than the compaction gets 410 Expired with a fresh token",
            json.dumps(doc))
    api.delete("Service", "zzz", "newer")
    status, doc = raw.get_json("/api/v1/pods?fieldSelector=status.phase%21%3DSucceeded")
    c.expect_equal(names(doc["items"]), [("web", "front-1")],
                   "fieldSelector status.phase!=Succeeded filters pods on the server")
    status, doc = raw.get_json("/api/v1/services?labelSelector=" + urllib.parse.quote(
        "app in (web,db),tier!=backend"))
    c.expect_equal(names(doc["items"]), [("default", "db"), ("web", "front")],
                   "labelSelector 'app in (web,db),tier!=backend' filters on the server")
    status, doc = raw.get_json("/apis/discovery.k8s.io/v1/endpointslices?labelSelector="
                               "kubernetes.io%2Fservice-name")
    c.expect_equal(len(doc["items"]), len(SLICES), "an existence labelSelector matches")
    status, doc = raw.get_json("/api/v1/services?labelSelector=" + urllib.parse.quote("!app"))
    c.expect_equal(names(doc["items"]), [("kube-system", "kube-dns")],
                   "labelSelector '!app' selects Services without the label")


def read_events(resp, n, timeout=5):
    """n watch events from an http.client response (chunked decoding by http.client)."""
    events = []
    deadline = time.monotonic() + timeout
    while len(events) < n and time.monotonic() < deadline:
        line = resp.readline()
        if not line:
            break
        events.append(json.loads(line))
    return events


def wait_watchers(api, n, resource=None, timeout=5):
    """Waits until exactly n watches are open (clients that closed are noticed)."""
    deadline = time.monotonic() + timeout
    while api.watchers(resource) != n and time.monotonic() < deadline:
        time.sleep(0.02)
    return api.watchers(resource) == n


def close_watch(conn, resp):
    resp.close()
    conn.close()


def open_watch(raw, path, timeout=5):
    conn = raw.conn(timeout=timeout)
    conn.request("GET", path, headers={"Authorization": f"Bearer {TOKEN}"})
    return conn, conn.getresponse()


def raw_transitions(c, api, raw):
    rv = api.resource_version()
    conn, resp = open_watch(raw, f"/api/v1/services?watch=1&resourceVersion={rv}&"
                            "labelSelector=app%3Dweb")
    try:
        front = SERVICES[2]
        api.apply(dict(front, metadata=dict(front["metadata"], labels={"app": "old"})))
        api.apply(dict(front, metadata=dict(front["metadata"], labels={"app": "web", "x": "1"})))
        api.apply(front)
        events = read_events(resp, 3)
        got = [(e["type"], e["object"]["metadata"]["name"],
                e["object"]["metadata"]["labels"].get("app")) for e in events]
        c.expect_equal(got, [("DELETED", "front", "web"), ("ADDED", "front", "web"),
                             ("MODIFIED", "front", "web")],
                       "leaving a watch's selector is DELETED (last matching state), "
                       "entering it ADDED")
        rvs = [int(e["object"]["metadata"]["resourceVersion"]) for e in events]
        c.check(rvs == sorted(rvs) and rvs[0] > rv, "events carry increasing resourceVersions",
                str(rvs))
    finally:
        close_watch(conn, resp)
    # Streaming list.
    conn, resp = open_watch(raw, "/api/v1/services?watch=1&sendInitialEvents=true&"
                            "resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true")
    try:
        events = read_events(resp, len(SERVICES) + 1)
        types = [e["type"] for e in events]
        c.expect_equal(types, ["ADDED"] * len(SERVICES) + ["BOOKMARK"],
                       "sendInitialEvents: synthetic ADDED for each object, then a BOOKMARK")
        c.check(events and events[-1]["object"]["metadata"].get("annotations") ==
                {"k8s.io/initial-events-end": "true"},
                "the bookmark is marked k8s.io/initial-events-end")
    finally:
        close_watch(conn, resp)
    status, _, body = raw.get("/api/v1/services?watch=1&sendInitialEvents=true&"
                              "resourceVersionMatch=NotOlderThan&timeoutSeconds=1")
    types = [json.loads(line)["type"] for line in body.splitlines()]
    c.expect_equal((status, types), (200, ["ADDED"] * len(SERVICES)),
                   "sendInitialEvents without allowWatchBookmarks: no end marker")
    conn, resp = open_watch(raw, "/api/v1/services?watch=1&allowWatchBookmarks=true")
    try:
        events = read_events(resp, len(SERVICES) + 1)
        c.check(len(events) == len(SERVICES) + 1 and events[-1]["type"] == "BOOKMARK" and
                events[-1]["object"]["metadata"].get("annotations") ==
                {"k8s.io/initial-events-end": "true"},
                "with the WatchList gate on, a watch without resourceVersion is a streaming list")
    finally:
        close_watch(conn, resp)
    rv = api.resource_version()
    conn, resp = open_watch(raw, "/api/v1/services?watch=1&sendInitialEvents=false&"
                            "resourceVersionMatch=NotOlderThan")
    try:
        wait_watchers(api, 1, "services")
        api.apply(service("web", "fresh", "10.96.9.14", {}))
        events = read_events(resp, 1)
        c.check([(e["type"], e["object"]["metadata"]["name"]) for e in events] ==
                [("ADDED", "fresh")] and
                int(events[0]["object"]["metadata"]["resourceVersion"]) == rv + 1,
                "sendInitialEvents=false: only changes from now on", str(events)[:300])
    finally:
        close_watch(conn, resp)
    api.delete("Service", "web", "fresh")
    gated = FakeApiServer(os.path.join(os.path.dirname(api.workdir), "gated"),
                          watch_list=False)
    gated.start()
    try:
        status, doc = Raw(gated).get_json("/api/v1/services?watch=1&sendInitialEvents=true&"
                                          "resourceVersionMatch=NotOlderThan&"
                                          "allowWatchBookmarks=true")
        c.check(status == 422 and doc["reason"] == "Invalid" and "WatchList feature gate" in
                doc["message"], "watch_list=False (1.33's default): sendInitialEvents is Invalid",
                json.dumps(doc))
    finally:
        gated.stop()
    status, doc = raw.get_json("/api/v1/services?watch=1&sendInitialEvents=true&"
                               "allowWatchBookmarks=true")
    c.expect_equal((status, doc["reason"]), (422, "Invalid"),
                   "sendInitialEvents without resourceVersionMatch=NotOlderThan is Invalid")


def raw_restart_and_faults(c, api, raw):
    c.check(wait_watchers(api, 0), "watchers() drops to 0 once the clients closed their watches")
    sock, head, data = raw.socket("/api/v1/services?watch=1&resourceVersion=0")
    sock.settimeout(3)
    while len(parse_chunks(data)[0]) < len(SERVICES):  # the synthetic ADDEDs first
        more = sock.recv(65536)
        if not more:
            break
        data += more
    c.expect_equal(api.watchers("services"), 1, "watchers() counts the open watch")
    old = api.resource_version()
    api.restart(rv_jump=1000000)
    data = read_until_close(sock, data, timeout=3)
    sock.close()
    chunks, complete = parse_chunks(data)
    c.check(len(chunks) == len(SERVICES) and not complete,
            "restart() drops an open watch without the terminating chunk", repr(data[-100:]))
    status, doc = raw.get_json("/api/v1/services")
    c.check(status == 200 and int(doc["metadata"]["resourceVersion"]) >= old + 1000000 and
            names(doc["items"]) == names(SERVICES),
            "after restart() objects remain and the resourceVersion jumped",
            json.dumps(doc["metadata"]))
    conn, resp = open_watch(raw, f"/api/v1/services?watch=1&resourceVersion={old}")
    events = read_events(resp, 2)
    close_watch(conn, resp)
    c.check(len(events) == 1 and events[0]["type"] == "ERROR" and
            events[0]["object"]["code"] == 410,
            "a watch from before the restart gets the 410 ERROR event", str(events))
    c.check(wait_watchers(api, 0), "watchers() is 0 again after the 410")

    rv = api.resource_version()
    api.fault("empty200", resource="services")
    sock, head, rest = raw.socket(f"/api/v1/services?watch=1&resourceVersion={rv}")
    data = read_until_close(sock, rest, timeout=3)
    sock.close()
    c.check(head.startswith("HTTP/1.1 200") and parse_chunks(data) == ([], True),
            "fault empty200: 200 with an empty body", repr(data))
    api.fault("garbage", resource="services")
    conn, resp = open_watch(raw, f"/api/v1/services?watch=1&resourceVersion={rv}")
    api.apply(service("web", "garbled", "10.96.9.11", {}))
    line = resp.readline()
    rest = resp.read()
    close_watch(conn, resp)
    try:
        json.loads(line)
        garbage = False
    except ValueError:
        garbage = True
    c.check(garbage and line.endswith(b"\n") and rest == b"",
            "fault garbage: a line that is not JSON in place of the next event, then the end",
            repr(line + rest))
    api.delete("Service", "web", "garbled")
    rv = api.resource_version()
    api.fault("huge", resource="services")
    conn, resp = open_watch(raw, f"/api/v1/services?watch=1&resourceVersion={rv}")
    api.apply(service("web", "huge", "10.96.9.12", {}))
    events = read_events(resp, 1)
    close_watch(conn, resp)
    c.check(len(events) == 1 and events[0]["object"]["metadata"]["name"] == "huge" and
            len(events[0]["object"]["metadata"]["annotations"]["padding"]) == 5 << 20,
            "fault huge: the next event carries 5 MiB of annotation")
    api.delete("Service", "web", "huge")
    rv = api.resource_version()
    api.fault("stall", resource="services")
    sock, head, rest = raw.socket(f"/api/v1/services?watch=1&resourceVersion={rv}"
                                  "&allowWatchBookmarks=true")
    api.apply(service("web", "stalled", "10.96.9.10", {}))
    sock.settimeout(1.0)
    try:
        more = rest + sock.recv(65536)
    except socket.timeout:
        more = rest
    c.check(head.startswith("HTTP/1.1 200") and more == b"",
            "fault stall: headers, then nothing (no event, no bookmark)", repr(more))
    api.unstall()
    data = read_until_close(sock, b"", timeout=3)
    sock.close()
    c.expect_equal(data, b"", "unstall() closes the stalled stream")
    api.delete("Service", "web", "stalled")


def raw_versions(c, api, raw):
    """resourceVersion semantics of a list, and a trickled watch."""
    before = api.resource_version()
    api.apply(dict(SERVICES[3], spec=dict(SERVICES[3]["spec"], clusterIP="10.96.0.77")))
    status, doc = raw.get_json(f"/api/v1/services?resourceVersion={before}"
                               "&resourceVersionMatch=Exact")
    ips = {i["metadata"]["name"]: i["spec"]["clusterIP"] for i in doc["items"]}
    c.check(status == 200 and doc["metadata"]["resourceVersion"] == str(before) and
            ips.get("api") == "10.96.0.31",
            "resourceVersionMatch=Exact lists the objects as they were at that version",
            json.dumps(doc["metadata"]))
    status, doc = raw.get_json(f"/api/v1/services?resourceVersion={before}"
                               "&resourceVersionMatch=NotOlderThan")
    ips = {i["metadata"]["name"]: i["spec"]["clusterIP"] for i in doc["items"]}
    c.check(status == 200 and ips.get("api") == "10.96.0.77",
            "resourceVersionMatch=NotOlderThan lists the current objects")
    api.apply(SERVICES[3])
    status, doc = raw.get_json("/api/v1/services?resourceVersionMatch=Exact")
    c.expect_equal((status, doc["reason"]), (422, "Invalid"),
                   "resourceVersionMatch without resourceVersion is Invalid")
    api.too_large_rv_wait = 0.2
    try:
        status, doc = raw.get_json(f"/api/v1/services?resourceVersion="
                                   f"{api.resource_version() + 100}")
    finally:
        api.too_large_rv_wait = 3.0
    c.expect_equal((status, doc["reason"], doc["details"]["causes"][0]["reason"]),
                   (504, "Timeout", "ResourceVersionTooLarge"),
                   "a list at a future resourceVersion times out with ResourceVersionTooLarge")
    rv = api.resource_version()
    api.fault("trickle", resource="services")
    sock, head, rest = raw.socket(f"/api/v1/services?watch=1&resourceVersion={rv}")
    api.apply(service("web", "slow", "10.96.9.13", {}))
    data, reads = rest, 0
    sock.settimeout(3)
    try:
        while b"}}\n\r\n" not in data:
            more = sock.recv(65536)
            if not more:
                break
            data += more
            reads += 1
    except (socket.timeout, OSError):
        pass
    sock.close()
    chunks, _ = parse_chunks(data)
    c.check(len(chunks) == 1 and json.loads(chunks[0])["object"]["metadata"]["name"] == "slow"
            and reads >= 10, "fault trickle: the event arrives whole, a few bytes at a time",
            f"{reads} reads: {data[:120]!r}")
    api.delete("Service", "web", "slow")


def ca_rotation(c, api, raw, k, tmp):
    """rotate_ca(): new certificates in the same files; a client holding the old CA fails."""
    kc = api.write_kubeconfig(os.path.join(tmp, "rotation.kubeconfig"))
    api.rotate_ca()
    try:
        raw.get("/version")
        old_fails = False
    except ssl.SSLCertVerificationError:
        old_fails = True
    c.check(old_fails, "after rotate_ca() a client with the old CA fails verification")
    status, _, _ = Raw(api).get("/version")
    c.expect_equal(status, 200, "a client reading the CA file again connects")
    rc, out, err = k.run(kc, "get", "namespaces", "-o", "json")
    c.check(rc == 0 and names(json.loads(out)["items"]) == names(NAMESPACES),
            "kubectl with a kubeconfig naming the CA file works after the rotation", err)
    rc, out, err = k.run(api.write_kubeconfig(os.path.join(tmp, "rotation-cert.kubeconfig"),
                                              client_cert=True, embed=True),
                         "get", "namespaces", "-o", "name")
    c.check(rc == 0, "the new client certificate authenticates", err)


def raw_scale(c, tmp):
    api = FakeApiServer(os.path.join(tmp, "scale"), bookmark_interval=60)
    api.start()
    try:
        n = 20000
        start = time.monotonic()
        for i in range(n):
            api.apply(service(f"ns{i % 100}", f"svc{i}", f"10.{100 + i // 65536}."
                              f"{i // 256 % 256}.{i % 256}", {"app": f"a{i % 10}"}))
        applied = time.monotonic() - start
        raw = Raw(api)
        token, total, slowest, rvs = None, 0, 0.0, set()
        while True:
            q = {"limit": 500}
            if token:
                q["continue"] = token
            t0 = time.monotonic()
            status, _, body = raw.get("/api/v1/services?" + urllib.parse.urlencode(q),
                                      headers={"Accept-Encoding": "gzip"})
            slowest = max(slowest, time.monotonic() - t0)
            doc = json.loads(body if body[:1] == b"{" else gzip.decompress(body))
            total += len(doc["items"])
            rvs.add(doc["metadata"]["resourceVersion"])
            token = doc["metadata"].get("continue")
            if not token or status != 200:
                break
        c.expect_equal(total, n, f"{n} Services list completely in pages of 500")
        c.check(len(rvs) == 1, "every page of the large list has one resourceVersion")
        c.check(slowest < 0.5, "each page of 500 is served in under 0.5 s",
                f"slowest {slowest:.3f} s; applying {n} took {applied:.1f} s")
    finally:
        api.stop()


def standalone(c, tmp, k):
    objects = os.path.join(tmp, "objects.json")
    with open(objects, "w") as f:
        json.dump({"kind": "List", "items": NAMESPACES + SERVICES}, f)
    workdir = os.path.join(tmp, "standalone")
    proc = subprocess.Popen([sys.executable, os.path.join(os.path.dirname(
        os.path.abspath(__file__)), "fake_apiserver.py"), "--workdir", workdir, "--objects",
        objects, "--bookmark-interval", "0.5"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL, text=True, start_new_session=True)
    try:
        line = proc.stdout.readline()
        m = re.match(r"listening (https://127\.0\.0\.1:\d+) ca=(\S+) kubeconfig=(\S+) "
                     r"control=(http://127\.0\.0\.1:\d+)$", line.strip())
        if not c.check(m, "standalone: prints its listening line", line + proc.stderr.read()
                       if proc.poll() is not None else line):
            return
        kc = m.group(3)
        rc, out, err = k.run(kc, "get", "services", "-A", "-o", "json")
        c.check(rc == 0 and names(json.loads(out)["items"]) == names(SERVICES),
                "standalone: kubectl lists the --objects Services through its kubeconfig", err)
        body = json.dumps({"kind": "List", "items": [
            service("web", "added", "10.96.3.3", {})]}).encode()
        req = urllib.request.Request(m.group(4) + "/apply", data=body, method="POST")
        with urllib.request.urlopen(req, timeout=5) as r:
            c.expect_equal(r.status, 200, "standalone: POST /apply answers 200")
        rc, out, err = k.run(kc, "get", "services", "-n", "web", "added", "-o", "json")
        c.check(rc == 0 and json.loads(out)["spec"]["clusterIP"] == "10.96.3.3",
                "standalone: kubectl sees the object applied on the control port", err)
        req = urllib.request.Request(m.group(4) + "/delete?kind=Service&namespace=web&name=added",
                                     data=b"", method="POST")
        with urllib.request.urlopen(req, timeout=5) as r:
            c.expect_equal(r.status, 200, "standalone: POST /delete answers 200")
        rc, out, err = k.run(kc, "get", "services", "-n", "web", "added")
        c.check(rc != 0 and "NotFound" in err, "standalone: the deleted Service is gone", err)
        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            code = None
        c.expect_equal(code, 0, "standalone: SIGTERM ends it with exit code 0")
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        proc.stdout.close()
        proc.stderr.close()


def main():
    c = Checks("test_fake_apiserver")
    if shutil.which("openssl") is None:
        subprocess.run([os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
            os.path.abspath(__file__)))), "scripts", "deps.sh"), "openssl"], check=False)
    kubectls = find_kubectls()
    missing = [m for m in FULL_VERSIONS if m not in kubectls]
    if missing or not c.check(shutil.which("openssl"), "the openssl CLI is installed"):
        c.check(not missing, "kubectl 1.33 and 1.30 are installed (package kubectl, "
                "`dpkg -L kubectl`)", f"found: {kubectls}")
        c.finish()
    tmp = tempfile.mkdtemp(prefix="fake-apiserver-")
    api = FakeApiServer(os.path.join(tmp, "api"), bookmark_interval=0.5)
    try:
        api.start()
        populate(api)
        kc = api.write_kubeconfig(os.path.join(tmp, "kubeconfig"))
        raw = Raw(api)
        for minor in sorted(kubectls, reverse=True):
            label = f"kubectl 1.{minor}"
            k = Kubectl(kubectls[minor], tempfile.mkdtemp(prefix=f"home-1.{minor}-", dir=tmp))
            c.run(kubectl_get_all, c, api, k, kc, label)
            if minor not in FULL_VERSIONS and minor != min(kubectls):
                continue
            c.run(kubectl_chunks, c, api, k, kc, label)
            c.run(kubectl_label_selector, c, api, k, kc, label)
            c.run(kubectl_auth, c, api, k, tmp, label)
            c.run(kubectl_raw_bookmarks, c, api, k, kc, label)
            c.run(kubectl_raw_expired, c, api, k, kc, label)
            c.run(kubectl_watch, c, api, k, kc, label)
            c.run(kubectl_credentials, c, api, k, tmp, label)
        c.run(raw_framing, c, api, raw)
        c.run(raw_status_faults, c, api, raw)
        c.run(raw_cut, c, api, raw)
        c.run(raw_pagination, c, api, raw)
        c.run(raw_transitions, c, api, raw)
        c.run(raw_restart_and_faults, c, api, raw)
        c.run(raw_versions, c, api, raw)
        c.run(raw_scale, c, tmp)
        k33 = Kubectl(kubectls[33], tempfile.mkdtemp(prefix="home-standalone-", dir=tmp))
        c.run(standalone, c, tmp, k33)
        c.run(ca_rotation, c, api, raw, k33, tmp)
    finally:
        api.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    c.finish()


if __name__ == "__main__":
    main()
