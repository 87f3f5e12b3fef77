"""End-to-end: the fake API server (fake_apiserver.py) is checked against real clients, so
that what test_kube.py proves of dnsd holds against a real cluster: the kubectl binaries of
the machine image (1.33 and an older one, each pinned, never the dispatcher).

Run: python3 tests/e2e/test_fake_apiserver.py build/tests/dnsd-e2e   (the argument is unused)

Behaviours, for each kubectl:
  - `get services,endpointslices,namespaces -A -o json` returns exactly the objects applied.
  - `--chunk-size=2` pages with limit=2 and continue tokens (the server's log shows them)
    and still returns everything.
  - `get services -A --watch -o json` prints a Service applied after it started, and the
    deleted one's last state.
  - `-l app=web` sends a labelSelector and gets only the matching Services.
  - A wrong token: Unauthorized; a denied verb: Forbidden with the RBAC wording.
  - `get --raw` of a watch with bookmarks shows BOOKMARK events; from a resourceVersion
    older than a compaction, the ERROR event with code 410.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import Checks  # noqa: E402
from fake_apiserver import FakeApiServer  # noqa: E402


def kubectl_binaries():
    """kubectl.1.33 and the oldest other version the image's kubectl package ships."""
    out = subprocess.run(["dpkg", "-L", "kubectl"], capture_output=True, text=True).stdout
    found = {}
    for line in out.split():
        name = os.path.basename(line)
        if name.startswith("kubectl.1.") and name[10:].isdigit() and os.access(line, os.X_OK):
            found[int(name[10:])] = line
    if not found:
        return []
    picks = [found[max(found)]]
    if min(found) != max(found):
        picks.append(found[min(found)])
    return picks


def service(name, ip, labels):
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": name, "namespace": "default", "labels": labels},
            "spec": {"clusterIP": ip, "clusterIPs": [ip],
                     "ports": [{"name": "http", "protocol": "TCP", "port": 80}]}}


def check_kubectl(c, kubectl, api, workdir):
    version = os.path.basename(kubectl)
    env = dict(os.environ, HOME=os.path.join(workdir, "home-" + version))
    config = api.write_kubeconfig(os.path.join(workdir, "kubeconfig"), token=api.token)

    def run(*args, config_path=config, timeout=30):
        return subprocess.run([kubectl, "--kubeconfig", config_path] + list(args),
                              capture_output=True, text=True, env=env, timeout=timeout)

    r = run("get", "services,endpointslices,namespaces", "-A", "-o", "json")
    c.check(r.returncode == 0, f"{version}: get -A -o json succeeds", r.stderr)
    items = json.loads(r.stdout)["items"] if r.returncode == 0 else []
    got = sorted((i["kind"], i["metadata"].get("namespace", ""), i["metadata"]["name"])
                 for i in items)
    want = sorted([("Service", "default", f"svc-{i}") for i in range(5)] +
                  [("EndpointSlice", "default", "svc-0-a"), ("Namespace", "", "default")])
    c.expect_equal(got, want, f"{version}: the objects applied, exactly")
    ips = {i["metadata"]["name"]: i["spec"]["clusterIP"] for i in items if i["kind"] == "Service"}
    c.expect_equal(ips.get("svc-3"), "10.96.9.3", f"{version}: with their ClusterIPs")

    before = len(api.requests)
    r = run("get", "services", "-A", "-o", "json", "--chunk-size=2")
    pages = [q for q in api.requests[before:] if q["path"] == "/api/v1/services"]
    c.check(r.returncode == 0 and len(json.loads(r.stdout)["items"]) == 5,
            f"{version}: --chunk-size=2 still returns every Service", r.stderr)
    c.check(len(pages) == 3 and all(q["query"].get("limit") == "2" for q in pages) and
            all("continue" in q["query"] for q in pages[1:]),
            f"{version}: in three pages of limit=2 with continue tokens",
            str([q["query"] for q in pages]))

    r = run("get", "services", "-A", "-l", "app=web", "-o", "json")
    names = sorted(i["metadata"]["name"] for i in json.loads(r.stdout)["items"]) \
        if r.returncode == 0 else []
    c.expect_equal(names, ["svc-1", "svc-3"], f"{version}: -l app=web filters on the server")

    watch = subprocess.Popen([kubectl, "--kubeconfig", config, "get", "services", "-A",
                              "--watch", "-o", "json"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=env,
                             start_new_session=True)
    try:
        deadline = time.monotonic() + 10
        while api.watchers("services") == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        api.apply(service("watched", "10.96.9.50", {"app": "new"}))
        api.delete("Service", "default", "watched")
        time.sleep(1)
    finally:
        os.killpg(watch.pid, signal.SIGTERM)
        out, err = watch.communicate(timeout=10)
    c.check(out.count('"name": "watched"') >= 2,
            f"{version}: get --watch prints a Service applied and then deleted", err)

    bad = api.write_kubeconfig(os.path.join(workdir, "bad"), token="wrong")
    r = run("get", "services", "-A", config_path=bad)
    c.check(r.returncode != 0 and "Unauthorized" in r.stderr,
            f"{version}: a wrong token is Unauthorized", r.stderr)
    api.deny("endpointslices", "list")
    r = run("get", "endpointslices", "-A")
    api.allow_all()
    c.check(r.returncode != 0 and "forbidden" in r.stderr and
            'cannot list resource "endpointslices"' in r.stderr,
            f"{version}: a denied verb is Forbidden in RBAC's words", r.stderr)

    r = run("get", "--raw",
            "/api/v1/services?watch=1&allowWatchBookmarks=true&timeoutSeconds=2"
            f"&resourceVersion={api.rv}")
    c.check(r.returncode == 0 and '"type":"BOOKMARK"' in r.stdout,
            f"{version}: a watch with bookmarks allowed sends BOOKMARK events", r.stderr)
    old = api.rv
    api.apply(service("later", "10.96.9.60", {}))
    api.compact()
    r = run("get", "--raw", f"/api/v1/services?watch=1&resourceVersion={old - 1}")
    c.check('"type":"ERROR"' in r.stdout and '"code":410' in r.stdout,
            f"{version}: a watch from before a compaction gets ERROR 410",
            r.stdout[-300:] + r.stderr)
    api.delete("Service", "default", "later")


def main():
    c = Checks("test_fake_apiserver")
    workdir = tempfile.mkdtemp(prefix="dnsd-fake-api-")
    api = FakeApiServer(os.path.join(workdir, "api"), bookmark_interval=0.5)
    try:
        api.start()
        api.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "default"}})
        for i in range(5):
            api.apply(service(f"svc-{i}", f"10.96.9.{i}", {"app": "web" if i % 2 else "db"}))
        api.apply({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                   "metadata": {"name": "svc-0-a", "namespace": "default",
                                "labels": {"kubernetes.io/service-name": "svc-0"}},
                   "addressType": "IPv4",
                   "endpoints": [{"addresses": ["10.244.9.1"], "conditions": {"ready": True}}],
                   "ports": [{"name": "http", "protocol": "TCP", "port": 8080}]})
        binaries = kubectl_binaries()
        c.check(bool(binaries), "the machine image's kubectl package is installed "
                                "(dpkg -L kubectl lists kubectl.1.XX)")
        for kubectl in binaries:
            c.run(check_kubectl, c, kubectl, api, workdir)
    finally:
        api.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    c.finish()


if __name__ == "__main__":
    main()
