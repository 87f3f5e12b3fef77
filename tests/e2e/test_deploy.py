"""End-to-end: deploy/ and the Containerfile, as a reviewer and a cluster would use them.

Run: python3 tests/e2e/test_deploy.py build/tests/dnsd-e2e   (or build/dnsd/dnsd)
     The dnsd binary itself is $DNSD_BINARY (meson test sets it), else the argument if it is
     one, else the build's dnsd/dnsd beside the wrapper.

Behaviours:
  - deploy/*.yaml parse; they hold a ServiceAccount, a ClusterRole granting exactly list and
    watch on Services, Namespaces and EndpointSlices (the Pod rule there only as a comment),
    its binding to that account, a Deployment, a PodDisruptionBudget and the kube-dns
    Service in kube-system, each selecting the Deployment's Pods.
  - The Deployment: two replicas spread over nodes, system-cluster-critical, tolerating
    CriticalAddonsOnly and control-plane nodes, dnsPolicy Default, non-root with a numeric
    uid, read-only root, no privilege escalation, every capability dropped but
    NET_BIND_SERVICE, seccomp RuntimeDefault, probes on /health and /ready at the --metrics
    port, memory requested and limited, container ports matching the Service's, the image
    tagged with dnsd's version. Every --flag of its arguments is one `dnsd --help` lists.
  - The container's arguments run as a cluster would run them: in a network namespace (the
    Pod's network), a private mount namespace holding the service account's files at
    /var/run/secrets/kubernetes.io/serviceaccount, $KUBERNETES_SERVICE_HOST and _PORT set to
    the fake API server, the root read-only, as the Pod's uid with only NET_BIND_SERVICE and
    no new privileges. dnsd binds :53, syncs from the API, answers a Service's name and says
    ready.
  - The Containerfile: a debian:12 build stage with every -dev package scripts/deps.sh
    installs (and libcurl's), a release build installed into a DESTDIR; a debian:12-slim
    runtime stage that installs, without recommends, the package of every library the binary
    links (readelf NEEDED, dpkg -S) beyond what debian:12-slim has, copies the installed
    binary to the ENTRYPOINT's path and runs as the Deployment's numeric uid.

Not checked: `kubectl apply --dry-run=client` needs an API server even so (discovery, and
the OpenAPI schema to validate against), so the kinds' fields are checked here instead.
"""

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from harness import Checks, http_status, run_command  # noqa: E402
from fake_apiserver import FakeApiServer  # noqa: E402

DEPLOY = os.path.join(harness.REPO, "deploy")
# In debian:12-slim already (libc6, the C++ runtime).
BASE_PACKAGES = {"libc6", "libstdc++6", "libgcc-s1"}


def real_binary(binary):
    """The dnsd executable itself, not the e2e wrapper script: readelf needs the ELF."""
    path = os.environ.get("DNSD_BINARY")
    if path:
        return path
    with open(binary, "rb") as f:
        if f.read(4) == b"\x7fELF":
            return binary
    return os.path.join(os.path.dirname(os.path.dirname(binary)), "dnsd", "dnsd")


def project_version():
    with open(os.path.join(harness.REPO, "meson.build")) as f:
        return re.search(r"version\s*:\s*'([^']+)'", f.read()).group(1)


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
    with open(os.path.join(DEPLOY, "rbac.yaml")) as f:
        c.check(re.search(r"^\s*#\s*resources: \[pods\]", f.read(), flags=re.M) is not None,
                "the Pod rule is in rbac.yaml as a comment, for --pods verified and --autopath")
    c.check(binding["roleRef"]["name"] == role["metadata"]["name"] and
            binding["subjects"][0]["name"] == account["metadata"]["name"] and
            binding["subjects"][0]["namespace"] == account["metadata"]["namespace"],
            "the binding gives the role to dnsd's ServiceAccount")
    pod = deployment["spec"]["template"]
    spec = pod["spec"]
    labels = pod["metadata"]["labels"]
    c.expect_equal(spec["serviceAccountName"], account["metadata"]["name"],
                   "the Pods run as that ServiceAccount")
    c.expect_equal({d["metadata"].get("namespace") for d in docs if d["kind"] not in
                    ("ClusterRole", "ClusterRoleBinding")}, {"kube-system"},
                   "everything namespaced is in kube-system")
    c.expect_equal(service["metadata"]["name"], "kube-dns", "the Service is kube-dns")
    c.check(bool(service["spec"].get("clusterIP")), "the Service names the cluster's DNS address")
    c.expect_equal(deployment["spec"]["replicas"], 2, "two replicas")
    c.expect_equal(spec.get("priorityClassName"), "system-cluster-critical",
                   "the Pods are system-cluster-critical")
    tolerated = {t.get("key") for t in spec.get("tolerations", [])}
    c.check({"CriticalAddonsOnly", "node-role.kubernetes.io/control-plane"} <= tolerated,
            "CriticalAddonsOnly and control-plane nodes are tolerated", str(tolerated))
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
    seccomp = security.get("seccompProfile") or pod_security.get("seccompProfile") or {}
    c.expect_equal(seccomp.get("type"), "RuntimeDefault", "the runtime's default seccomp profile")
    image = container["image"]
    c.expect_equal(image.rsplit(":", 1)[-1] if ":" in image else None, project_version(),
                   "the image is tagged with dnsd's version", image)
    args = container["args"]
    metrics = args[args.index("--metrics") + 1]
    metrics_port = int(metrics.rsplit(":", 1)[1])
    c.check(container["livenessProbe"]["httpGet"] == {"path": "/health", "port": metrics_port}
            and container["readinessProbe"]["httpGet"] == {"path": "/ready",
                                                            "port": metrics_port},
            "liveness on /health and readiness on /ready at the --metrics port")
    c.check("--lameduck" in args, "a lame duck, so that a rollout drains")
    resources = container.get("resources", {})
    c.check("memory" in resources.get("requests", {}) and "cpu" in resources.get("requests", {})
            and "memory" in resources.get("limits", {}),
            "CPU and memory are requested and memory is limited", str(resources))
    budget = pdb["spec"]
    c.check(budget.get("maxUnavailable") == 1 or budget.get("minAvailable") == 1,
            "the PodDisruptionBudget keeps one of the two replicas up", str(budget))
    container_ports = {(p["containerPort"], p["protocol"]) for p in container["ports"]}
    service_ports = {(p["targetPort"], p["protocol"]) for p in service["spec"]["ports"]}
    c.expect_equal(service_ports, container_ports,
                   "the kube-dns Service's ports are the container's (UDP, TCP 53; 9153)")
    c.check(selects(service["spec"]["selector"], labels), "kube-dns selects dnsd's Pods")
    c.check(selects(pdb["spec"]["selector"]["matchLabels"], labels),
            "the PodDisruptionBudget covers dnsd's Pods")
    # During the swap CoreDNS's Pods (kubeadm labels them k8s-app: kube-dns) run beside
    # dnsd's: the budget, the spread and the Deployment must not take them for dnsd's.
    coredns = {"k8s-app": "kube-dns"}
    c.check(selects(service["spec"]["selector"], coredns),
            "kube-dns keeps selecting CoreDNS's Pods too, until they are scaled down")
    own = [("PodDisruptionBudget", pdb["spec"]["selector"]["matchLabels"]),
           ("Deployment", deployment["spec"]["selector"]["matchLabels"])] + [
        ("topologySpreadConstraints", t["labelSelector"]["matchLabels"]) for t in spread]
    c.expect_equal([kind for kind, selector in own if selects(selector, coredns)], [],
                   "the budget, the spread and the Deployment select dnsd's Pods, not CoreDNS's")
    c.check(selects(deployment["spec"]["selector"]["matchLabels"], labels),
            "the Deployment selects its own Pods")
    return container, pod_security


def test_flags(c, real, container):
    """Each --flag of the Deployment is one this dnsd has: a renamed flag fails here by name."""
    code, out = run_command([real, "--help"])
    known = set(re.findall(r"(?<![\w-])(--[a-z0-9][a-z0-9-]*)", out))
    c.check(code == 0 and "--kubernetes" in known, "dnsd --help lists --kubernetes", out[-500:])
    args = container["args"]
    c.check("--kubernetes" in args, "the Deployment reads the cluster from the API")
    unknown = [a for a in args if a.startswith("--") and a.split("=", 1)[0] not in known]
    c.expect_equal(unknown, [], "every flag of the Deployment's args is in dnsd --help")


def test_in_cluster(c, real, container, pod_security, workdir):
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
        security = container.get("securityContext", {})
        # A private /run (so /var/run) with the account's files, read-only as the kubelet
        # mounts them; the root read-only if the container's is; then the container's uid
        # with NET_BIND_SERVICE alone and no way to gain privileges.
        read_only = "mount -o remount,bind,ro / && " if security.get(
            "readOnlyRootFilesystem") else ""
        no_new_privs = "--no-new-privs " if security.get(
            "allowPrivilegeEscalation") is False else ""
        script = ("mount -t tmpfs tmpfs /run && "
                  "mkdir -p /run/secrets/kubernetes.io/serviceaccount && "
                  f"cp {account}/* /run/secrets/kubernetes.io/serviceaccount/ && "
                  "mount -o remount,ro /run && " + read_only +
                  f"exec setpriv {no_new_privs}--reuid={uid} --regid={gid} --clear-groups "
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
                "the Deployment's arguments, in a Pod's namespaces on a read-only root as its "
                "uid with NET_BIND_SERVICE, serve the API's Service on :53", text)
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


def apt_installed(stage):
    """Package names of a stage's `apt-get install` lines, continuations joined."""
    names = set()
    for line in re.findall(r"apt-get install ([^&\n]*)", stage.replace("\\\n", " ")):
        names |= {w for w in line.split() if not w.startswith("-")}
    return names


def deps_packages():
    """The packages scripts/deps.sh installs (its packages=( ... ) list, without "$@")."""
    with open(os.path.join(harness.REPO, "scripts", "deps.sh")) as f:
        listed = re.search(r"^packages=\((.*?)^\)", f.read(), flags=re.M | re.S).group(1)
    return [w for w in listed.split() if not w.startswith('"')]


def test_containerfile(c, real, pod_security):
    with open(os.path.join(harness.REPO, "Containerfile")) as f:
        text = f.read()
    stages = re.split(r"^FROM ", text, flags=re.M)[1:]
    c.expect_equal(len(stages), 2, "the Containerfile has a build and a runtime stage")
    if len(stages) != 2:
        return
    build, runtime = stages
    c.check(re.match(r"debian:12 AS (\w+)", build) is not None,
            "the build stage is debian:12, named", build.splitlines()[0])
    c.check(runtime.startswith("debian:12-slim"), "the runtime stage is debian:12-slim")
    # What dnsd builds against, as the repository's own script installs it, and libcurl's
    # headers for the API source.
    wanted = [p for p in deps_packages() if p.endswith("-dev")] + [
        "g++", "meson", "ninja-build", "pkg-config", "libcurl4-openssl-dev"]
    c.expect_equal(sorted(set(wanted) - apt_installed(build)), [],
                   "the build stage installs every -dev package of scripts/deps.sh")
    with open(os.path.join(harness.REPO, "meson.build")) as f:
        read = {"meson.build", "meson_options.txt"} | {
            d.split("/")[0] for d in re.findall(r"^subdir\('([^']+)'\)", f.read(), flags=re.M)}
    copied = set()
    for sources in re.findall(r"^COPY (?!--)(.+) \S+$", build, flags=re.M):
        copied |= {p.rstrip("/") for p in sources.split()}
    c.expect_equal(sorted(read - copied), [],
                   "the build stage copies every file and directory meson.build reads")
    c.check("--buildtype=release" in build and re.search(r"DESTDIR=(\S+) meson install", build),
            "the build stage installs a release build into a DESTDIR")
    c.check(re.search(r"apt-get install -y --no-install-recommends", runtime) is not None,
            "the runtime stage installs without recommends")
    copied = re.search(r"^COPY --from=\w+ (\S+) (\S+)", runtime, flags=re.M)
    entry = re.search(r'^ENTRYPOINT \["([^"]+)"', runtime, flags=re.M)
    c.check(copied and entry and copied.group(2) == entry.group(1) and
            copied.group(1).endswith(entry.group(1)),
            "the runtime stage copies the installed binary to the ENTRYPOINT's path")
    installed = apt_installed(runtime)
    code, out = run_command(["readelf", "-d", real])
    needed = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", out)
    c.check(code == 0 and needed, "readelf lists the binary's libraries", out[-500:])
    missing = []
    # A sanitizer build links its runtime too; a release image never has it.
    sanitizers = ("libasan.", "libubsan.", "libtsan.", "liblsan.")
    # libcurl is not linked but loaded when the API source starts (kube/curl_library.h).
    for library in [n for n in needed if not n.startswith(sanitizers)] + ["libcurl.so.4"]:
        code, owner = run_command(["dpkg", "-S", f"*/{library}"])
        packages = {line.split(":")[0] for line in owner.splitlines() if ":" in line}
        if not packages & (installed | BASE_PACKAGES):
            missing.append(f"{library} ({', '.join(sorted(packages)) or 'no package'})")
    c.expect_equal(missing, [], "the runtime stage installs every library dnsd links")
    user = re.search(r"^USER ([0-9]+)", runtime, flags=re.M)
    c.check(user is not None and int(user.group(1)) > 0,
            "the image runs as a numeric non-root user")
    c.expect_equal(int(user.group(1)) if user else None, pod_security["runAsUser"],
                   "the image's uid is the Deployment's runAsUser")


def main():
    binary = harness.binary_from_argv("test_deploy")
    c = Checks("test_deploy")
    workdir = tempfile.mkdtemp(prefix="dnsd-deploy-")
    try:
        real = real_binary(binary)
        docs = load_yaml()
        result = test_manifests(c, docs)
        if result:
            c.run(test_flags, c, real, result[0])
            c.run(test_in_cluster, c, real, result[0], result[1], workdir)
            c.run(test_containerfile, c, real, result[1])
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    c.finish()


if __name__ == "__main__":
    main()
