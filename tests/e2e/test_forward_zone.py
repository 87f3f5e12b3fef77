"""End-to-end: --forward-zone, as a cluster routes a domain elsewhere (kube-dns stubDomains,
the Kubernetes docs' "Customizing DNS Service" sending consul.local to its own server).

Run: python3 tests/e2e/test_forward_zone.py build/tests/dnsd-e2e

Behaviours:
  - Two Knot DNS servers on loopback, each authoritative for a different domain; dnsd sends
    each domain's names to its server (dig), the longest domain winning.
  - A second address in a zone's list takes over when the first does not answer.
  - Names in no forward zone, with forwarding otherwise off, get REFUSED; cluster names are
    answered from the zone as before.
  - glibc (getent) in a network namespace with a Pod's resolv.conf resolves a name of each
    domain through dnsd.
"""

import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from harness import Checks, Knot, Server, free_port, run_dig  # noqa: E402

ZONES = {
    "consul.local": ["web.service 10.150.0.5", "db.service 10.150.0.6"],
    "corp.example": ["intranet 10.151.0.7", "dc1.internal 10.151.0.8"],
    # A deeper domain of its own, on the second Knot: it wins over consul.local.
    "dc2.consul.local": ["api 10.152.0.9"],
}


def main():
    binary = harness.binary_from_argv("test_forward_zone")
    c = Checks("test_forward_zone")
    subprocess.run([os.path.join(harness.REPO, "scripts", "deps.sh"), "knot"], check=True,
                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    workdir = tempfile.mkdtemp(prefix="dnsd-forward-zone-")
    knots = []
    ns = harness.PodNamespace()
    try:
        consul = Knot(workdir, "consul", {"consul.local": ZONES["consul.local"]})
        knots.append(consul)
        corp = Knot(workdir, "corp", {z: ZONES[z] for z in ("corp.example", "dc2.consul.local")})
        knots.append(corp)
        dead = free_port()  # nothing listens here: the list fails over to the next address
        ns.create()
        args = ["--forward-zone", f"consul.local=127.0.0.1:{consul.port}",
                "--forward-zone", f"corp.example=127.0.0.1:{dead},127.0.0.1:{corp.port}",
                "--forward-zone", f"dc2.consul.local=127.0.0.1:{corp.port}",
                "--upstream-timeout", "300", "--listen", f"{ns.host_ip}:53"]
        with Server(binary, [harness.ZONES], c, extra_args=args + ["--no-forward"]) as d:
            got = run_dig(d.port, "web.service.consul.local")
            c.expect_equal(got.rdatas("answer", "A"), ["10.150.0.5"],
                           "consul.local goes to its Knot")
            got = run_dig(d.port, "intranet.corp.example")
            c.expect_equal(got.rdatas("answer", "A"), ["10.151.0.7"],
                           "corp.example goes to its list, past the address that is down")
            got = run_dig(d.port, "api.dc2.consul.local")
            c.expect_equal(got.rdatas("answer", "A"), ["10.152.0.9"],
                           "the longest domain wins: dc2.consul.local goes to the second Knot")
            got = run_dig(d.port, "nothere.consul.local")
            c.expect_equal(got.rcode, "NXDOMAIN", "the zone's own NXDOMAIN is passed on")
            got = run_dig(d.port, "www.example.org")
            c.expect_equal(got.rcode, "REFUSED",
                           "a name in no forward zone is refused when forwarding is off")
            got = run_dig(d.port, "backend-service.default.svc.cluster.local")
            c.check(got.rcode == "NOERROR" and got.rdatas("answer", "A"),
                    "cluster names are still answered from the zone", got.describe())
            for name, want in (("web.service.consul.local", "10.150.0.5"),
                               ("dc1.internal.corp.example", "10.151.0.8")):
                code, out = ns.run(["getent", "ahostsv4", name])
                c.check(code == 0 and want in out,
                        f"glibc in a Pod resolves {name} through dnsd", out)
        bad = subprocess.run([os.environ.get("DNSD_BINARY", binary), "--manifests",
                              harness.ZONES, "--forward-zone", "consul.local",
                              "--listen", "127.0.0.1:1", "--user", "root"],
                             capture_output=True, text=True, timeout=10)
        c.check(bad.returncode != 0 and "--forward-zone" in bad.stderr + bad.stdout,
                "a --forward-zone without addresses is refused, naming the flag",
                bad.stderr + bad.stdout)
    except harness.NetnsUnavailable as e:
        c.check(False, "a network namespace for the Pod", str(e))
    finally:
        for k in knots:
            k.stop()
        problems = ns.destroy()
        c.check(not problems, "cleanup of the network namespace", "\n".join(problems))
        shutil.rmtree(workdir, ignore_errors=True)
    c.finish()


if __name__ == "__main__":
    main()
