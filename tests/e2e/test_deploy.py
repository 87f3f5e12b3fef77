"""End-to-end: deploy/ and the Containerfile, as a reviewer and a cluster would use them.

Run: python3 tests/e2e/test_deploy.py build/tests/dnsd-e2e

Behaviours:
  - deploy/*.yaml parse; they hold a ServiceAccount, a ClusterRole granting exactly list and
    watch on Services, Namespaces and EndpointSlices, its binding to that account, a
    Deployment, a PodDisruptionBudget and the kube-dns Service, each selecting the
    Deployment's Pods.
  - The Deployment: two replicas spread over nodes, non-root, read-only root, no privilege
    escalation, every capability dropped but NET_BIND_SERVICE, probes on /health and /ready
    at the --metrics port, container ports matching the Service's.
  - The container's arguments run as a cluster would run them: in a network namespace (the
    Pod's network), a private mount namespace holding the service account's files at
    /var/run/secrets/kubernetes.io/serviceaccount, $KUBERNETES_SERVICE_HOST and _PORT set to
    the fake API server, as the Pod's uid with only NET_BIND_SERVICE. dnsd binds :53, syncs
    from the API, answers a Service's name and says ready.
  - The Containerfile's runtime stage installs the package of every library the binary
    links (readelf NEEDED, dpkg -S), beyond what debian:12-slim has.
"""

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from harness import Checks, run_command  # noqa: E402
from fake_apiserver import FakeApiServer  # noqa: E402

DEPLOY = os.path.join(harness.REPO, "deploy")
# In debian:12-slim already (libc6, the C++ runtime).
BASE_PACKAGES = {"libc6", "libstdc++6", "libgcc-s1"}


def load_yaml():
    try:
        import yaml
    except ImportError:
        subprocess.run([os.path.join(harness.REPO, "scripts", "deps.sh"), "python3-yaml"],
                       check=True, stdin=subprocess.DEVNULL)
        import yaml
    docs = []
    for name in sorted(os.listdir(DEPLOY)):
        if name.endswith(".yaml"):
            with open(os.path.join(DEPLOY, name)) as f:
                docs += [d for d in yaml.safe_load_all(f) if d]
    return docs


def by_kind(docs, kind):
    found = [d for d in docs if d.get("kind") == kind]
    return found[0] if len(found) == 1 else None


def selects(selector, labels):
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def test_manifests(c, docs):
    kinds = sorted(d["kind"] for d in docs)
    c.expect_equal(kinds, sorted(["ServiceAccount", "ClusterRole", "ClusterRoleBinding",
                                  "Deployment", "PodDisruptionBudget", "Service"]),
                   "deploy/ holds one of each kind a CoreDNS replacement needs")
    account, role = by_kind(docs, "ServiceAccount"), by_kind(docs, "ClusterRole")
    binding, deployment = by_kind(docs, "ClusterRoleBinding"), by_kind(docs, "Deployment")
    pdb, service = by_kind(docs, "PodDisruptionBudget"), by_kind(docs, "Service")
    if None in (account, role, binding, deployment, pdb, service):
        c.check(False, "every kind once")
        return None
    grants = {}
    for rule in role["rules"]:
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                grants[(group, resource)] = sorted(rule["verbs"])
    c.expect_equal(grants, {("", "services"): ["list", "watch"],
                            ("", "namespaces"): ["list", "watch"],
                            ("discovery.k8s.io", "endpointslices"): ["list", "watch"]},
                   "the ClusterRole grants exactly list and watch on what DNS reads")
    c.check(binding["roleRef"]["name"] == role["metadata"]["name"] and
            binding["subjects"][0]["name"] == account["metadata"]["name"] and
            binding["subjects"][0]["namespace"] == account["metadata"]["namespace"],
            "the binding gives the role to dnsd's ServiceAccount")
    pod = deployment["spec"]["template"]
    spec = pod["spec"]
    labels = pod["metadata"]["labels"]
    c.expect_equal(spec["serviceAccountName"], account["metadata"]["name"],
                   "the Pods run as that ServiceAccount")
    c.expect_equal(deployment["spec"]["replicas"], 2, "two replicas")
    spread = spec.get("topologySpreadConstraints", [])
    c.check(any(t["topologyKey"] == "kubernetes.io/hostname" and
                selects(t["labelSelector"]["matchLabels"], labels) for t in spread),
            "the replicas are spread across nodes")
    c.expect_equal(spec.get("dnsPolicy"), "Default", "dnsd does not resolve through itself")
    container = spec["containers"][0]
    pod_security = spec.get("securityContext", {})
    security = container.get("securityContext", {})
    c.check(pod_security.get("runAsNonRoot") is True and
            isinstance(pod_security.get("runAsUser"), int) and pod_security["runAsUser"] > 0,
            "runAsNonRoot with a numeric uid")
    c.check(security.get("readOnlyRootFilesystem") is True and
            security.get("allowPrivilegeEscalation") is False, "read-only root, no escalation")
    c.expect_equal(security.get("capabilities"),
                   {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]},
                   "every capability dropped but NET_BIND_SERVICE")
    args = container["args"]
    metrics = args[args.index("--metrics") + 1]
    metrics_port = int(metrics.rsplit(":", 1)[1])
    c.check(container["livenessProbe"]["httpGet"] == {"path": "/health", "port": metrics_port}
            and container["readinessProbe"]["httpGet"] == {"path": "/ready",
                                                            "port": metrics_port},
            "liveness on /health and readiness on /ready at the --metrics port")
    c.check("--lameduck" in args, "a lame duck, so that a rollout drains")
    c.check("requests" in container.get("resources", {}), "resource requests are set")
    container_ports = {(p["containerPort"], p["protocol"]) for p in container["ports"]}
    service_ports = {(p["targetPort"], p["protocol"]) for p in service["spec"]["ports"]}
    c.expect_equal(service_ports, container_ports,
                   "the kube-dns Service's ports are the container's (UDP, TCP 53; 9153)")
    c.check(selects(service["spec"]["selector"], labels), "kube-dns selects dnsd's Pods")
    c.check(selects(pdb["spec"]["selector"]["matchLabels"], labels),
            "the PodDisruptionBudget covers dnsd's Pods")
    c.check(selects(deployment["spec"]["selector"]["matchLabels"], labels),
            "the Deployment selects its own Pods")
    return container, pod_security


def http_status(url):
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
    except OSError:
        return None


def test_in_cluster(c, binary, container, pod_security, workdir):
    """The Deployment's arguments, run the way the kubelet would."""
    ns = harness.PodNamespace()
    proc = None
    api = None
    try:
        ns.create()
        api = FakeApiServer(os.path.join(workdir, "api"), bookmark_interval=1.0,
                            host=ns.host_ip)
        api.start()
        api.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "default"}})
        api.apply({"apiVersion": "v1", "kind": "Service",
                   "metadata": {"name": "web", "namespace": "default"},
                   "spec": {"clusterIP": "10.96.3.3", "clusterIPs": ["10.96.3.3"],
                            "ports": [{"name": "http", "protocol": "TCP", "port": 80}]}})
        account = os.path.join(workdir, "serviceaccount")
        os.makedirs(account)
        shutil.copy(api.ca_file, os.path.join(account, "ca.crt"))
        with open(os.path.join(account, "token"), "w") as f:
            f.write(api.token + "\n")
        with open(os.path.join(account, "namespace"), "w") as f:
            f.write("kube-system\n")
        os.chmod(workdir, 0o755)
        for name in os.listdir(account):
            os.chmod(os.path.join(account, name), 0o644)
        uid, gid = pod_security["runAsUser"], pod_security.get("runAsGroup", 65532)
        real = os.environ.get("DNSD_BINARY", binary)
        # A private /run (so /var/run) with the account's files, as the kubelet mounts them;
        # then the container's uid with NET_BIND_SERVICE alone.
        script = ("mount -t tmpfs tmpfs /run && "
                  "mkdir -p /run/secrets/kubernetes.io/serviceaccount && "
                  f"cp {account}/* /run/secrets/kubernetes.io/serviceaccount/ && "
                  f"exec setpriv --reuid={uid} --regid={gid} --clear-groups "
                  "--inh-caps=-all,+net_bind_service --ambient-caps=+net_bind_service "
                  "--bounding-set=-all,+net_bind_service \"$@\"")
        env = dict(os.environ, KUBERNETES_SERVICE_HOST=ns.host_ip,
                   KUBERNETES_SERVICE_PORT=str(api.port))
        log = open(os.path.join(workdir, "dnsd.log"), "w")
        proc = subprocess.Popen(["ip", "netns", "exec", ns.name, "unshare", "--mount",
                                 "--propagation", "private", "sh", "-c", script, "sh", real]
                                + container["args"] + ["--no-forward"],
                                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                env=env, start_new_session=True)
        answered = None
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and proc.poll() is None:
            answered = harness.run_dig(53, "web.default.svc.cluster.local", server=ns.pod_ip)
            if answered.rcode == "NOERROR" and answered.rdatas("answer", "A"):
                break
            time.sleep(0.2)
        with open(log.name) as f:
            text = f.read()
        c.check(answered is not None and answered.rdatas("answer", "A") == ["10.96.3.3"],
                "the Deployment's arguments, in a Pod's namespaces as its uid with "
                "NET_BIND_SERVICE, serve the API's Service on :53", text)
        c.expect_equal(http_status(f"http://{ns.pod_ip}:9153/ready"), 200,
                       "and /ready says 200 at the probes' port")
        c.check("kubernetes: synced" in text, "in-cluster credentials were used", text)
    except harness.NetnsUnavailable as e:
        c.check(False, "a network namespace for the Pod", str(e))
    finally:
        if proc and proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        if api:
            api.stop()
        problems = ns.destroy()
        c.check(not problems, "cleanup of the network namespace", "\n".join(problems))


def test_containerfile(c, binary):
    real = os.environ.get("DNSD_BINARY", binary)
    with open(os.path.join(harness.REPO, "Containerfile")) as f:
        text = f.read()
    stages = re.split(r"^FROM ", text, flags=re.M)[1:]
    c.expect_equal(len(stages), 2, "the Containerfile has a build and a runtime stage")
    runtime = stages[-1]
    c.check(runtime.startswith("debian:12-slim"), "the runtime stage is debian:12-slim")
    installed = set(re.findall(r"\b(lib[a-z0-9.+-]+|zlib1g)\b", runtime))
    code, out = run_command(["readelf", "-d", real])
    needed = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", out)
    c.check(code == 0 and needed, "readelf lists the binary's libraries", out[-500:])
    missing = []
    # A sanitizer build links its runtime too; a release image never has it.
    sanitizers = ("libasan.", "libubsan.", "libtsan.", "liblsan.")
    for library in [n for n in needed if not n.startswith(sanitizers)]:
        code, owner = run_command(["dpkg", "-S", f"*/{library}"])
        packages = {line.split(":")[0] for line in owner.splitlines() if ":" in line}
        if not packages & (installed | BASE_PACKAGES):
            missing.append(f"{library} ({', '.join(sorted(packages)) or 'no package'})")
    c.expect_equal(missing, [], "the runtime stage installs every library dnsd links")
    c.check(re.search(r"^USER [1-9][0-9]*", runtime, flags=re.M) is not None,
            "the image runs as a numeric non-root user")


def main():
    binary = harness.binary_from_argv("test_deploy")
    c = Checks("test_deploy")
    workdir = tempfile.mkdtemp(prefix="dnsd-deploy-")
    try:
        docs = load_yaml()
        result = test_manifests(c, docs)
        if result:
            c.run(test_in_cluster, c, binary, result[0], result[1], workdir)
        c.run(test_containerfile, c, binary)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    c.finish()


if __name__ == "__main__":
    main()
