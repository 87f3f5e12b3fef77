"""End-to-end: what an operator installs and how dnsd gives up root.

Run: python3 tests/e2e/test_install.py build/tests/dnsd-e2e   (dnsd, told --user root when run as root)
     DNSD_BINARY is the dnsd binary itself (meson test sets it); else it is found in the build.

Behaviours:
  - `dnsd --version` prints "dnsd VERSION" with meson.build's project version.
  - Started as root without --user, dnsd refuses to serve: exit 2, a message naming --user.
  - `--user nobody` as root: once bound, the process's real, effective, saved and file-system
    uid and gid are nobody's and its groups are nobody's; it still answers over UDP and TCP,
    and a manifest changed after the drop (in a directory nobody can read) is served.
  - `meson install --destdir DIR` installs sbin/dnsd (which runs), share/man/man8/dnsd.8,
    generated from --help so that it names every flag --help prints, and the hardened
    lib/systemd/system/dnsd.service pointing at the installed binary.
(As a user other than root only the checks that do not need root run.)
"""

import os
import pwd
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from harness import Checks, Server, free_port, run_command  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SERVICE = """apiVersion: v1
kind: Service
metadata:
  name: {name}
  namespace: default
spec:
  clusterIP: {ip}
  ports:
    - port: 80
"""


def real_binary(wrapper):
    path = os.environ.get("DNSD_BINARY")
    if path:
        return path
    return os.path.join(os.path.dirname(os.path.dirname(wrapper)), "dnsd", "dnsd")


def project_version():
    with open(os.path.join(REPO, "meson.build")) as f:
        return re.search(r"version\s*:\s*'([^']+)'", f.read()).group(1)


def test_version(c, dnsd):
    code, out = run_command([dnsd, "--version"])
    c.expect_equal(code, 0, "--version exits 0", out)
    c.expect_equal(out.strip(), f"dnsd {project_version()}", "--version prints meson's version")


def test_root_needs_user(c, dnsd, workdir):
    if os.geteuid() != 0:
        return
    path = os.path.join(workdir, "svc.yaml")
    with open(path, "w") as f:
        f.write(SERVICE.format(name="web", ip="10.96.0.20"))
    code, out = run_command([dnsd, "--manifests", path, "--listen", f"127.0.0.1:{free_port()}",
                             "--no-forward"], timeout=10)
    c.expect_equal(code, 2, "as root without --user: exit 2", out)
    c.check("refusing to run as root" in out and "--user" in out,
            "as root without --user: the message says why and names --user", out)


def ids(pid):
    fields = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("Uid", "Gid", "Groups"):
                fields[key] = value.split()
    return fields


def test_drop_to_nobody(c, wrapper, workdir):
    if os.geteuid() != 0:
        return
    nobody = pwd.getpwnam("nobody")
    manifests = os.path.join(workdir, "manifests")
    os.mkdir(manifests)
    os.chmod(workdir, 0o755)
    os.chmod(manifests, 0o755)  # nobody reads it after the drop, on every reload
    path = os.path.join(manifests, "svc.yaml")
    with open(path, "w") as f:
        f.write(SERVICE.format(name="web", ip="10.96.0.20"))
    os.chmod(path, 0o644)
    srv = Server(wrapper, [manifests], c, extra_args=["--user", "nobody"], name="dnsd-nobody")
    with srv:
        status = ids(srv.proc.pid)
        c.expect_equal(status.get("Uid"), [str(nobody.pw_uid)] * 4, "Uid: nobody's, all four",
                       srv.log())
        c.expect_equal(status.get("Gid"), [str(nobody.pw_gid)] * 4, "Gid: nobody's, all four",
                       srv.log())
        groups = sorted(int(g) for g in status.get("Groups", []))
        want = sorted({nobody.pw_gid} | {g.gr_gid for g in __import__("grp").getgrall()
                                         if "nobody" in g.gr_mem})
        c.expect_equal(groups, want, "Groups: nobody's groups only", srv.log())
        for tcp in (False, True):
            r = srv.dig("web.default.svc.cluster.local", "A", (), tcp)
            c.expect_equal(r.rdatas("answer", "A"), ["10.96.0.20"],
                           f"as nobody: answers over {'tcp' if tcp else 'udp'}", r.describe())
        second = os.path.join(manifests, "api.yaml")
        with open(second + ".tmp", "w") as f:
            f.write(SERVICE.format(name="api", ip="10.96.0.21"))
        os.chmod(second + ".tmp", 0o644)
        os.rename(second + ".tmp", second)
        deadline = time.monotonic() + 10
        got = []
        while time.monotonic() < deadline:
            got = srv.dig("api.default.svc.cluster.local", "A").rdatas("answer", "A")
            if got:
                break
            time.sleep(0.1)
        c.expect_equal(got, ["10.96.0.21"], "as nobody: a manifest added later is served",
                       srv.log())


def test_meson_install(c, dnsd):
    build = os.path.dirname(os.path.dirname(dnsd))
    if not os.path.exists(os.path.join(build, "build.ninja")):
        c.check(False, "meson install: the build directory of the binary", build)
        return
    dest = tempfile.mkdtemp(prefix="dnsd-install-")
    try:
        code, out = run_command(["meson", "install", "-C", build, "--no-rebuild", "--quiet",
                                 "--destdir", dest], timeout=120)
        c.expect_equal(code, 0, "meson install --destdir exits 0", out)
        found = {}
        for root, _, files in os.walk(dest):
            for name in files:
                found[os.path.relpath(os.path.join(root, name), dest)] = os.path.join(root, name)
        binary = next((p for rel, p in found.items() if rel.endswith("sbin/dnsd")), None)
        page = next((p for rel, p in found.items() if rel.endswith("share/man/man8/dnsd.8")), None)
        unit = next((p for rel, p in found.items()
                     if rel.endswith("lib/systemd/system/dnsd.service")), None)
        c.check(binary and page and unit, "sbin/dnsd, the man page and the unit are installed",
                "\n".join(sorted(found)))
        if binary:
            code, out = run_command([binary, "--version"])
            c.expect_equal(out.strip(), f"dnsd {project_version()}", "the installed dnsd runs")
        if page:
            _, help_text = run_command([dnsd, "--help"])
            flags = sorted(set(re.findall(r"^\s+(?:-h,)?(--[a-z0-9-]+)", help_text, re.M)))
            with open(page) as f:
                text = f.read().replace("\\-", "-")
            missing = [flag for flag in flags if flag not in text]
            c.check(len(flags) > 20 and not missing,
                    f"the man page names every flag --help prints ({len(flags)})",
                    f"missing: {missing}")
        if unit:
            with open(unit) as f:
                text = f.read()
            prefix = os.path.dirname(os.path.dirname(binary[len(dest):])) if binary else ""
            c.check(f"ExecStart={prefix}/sbin/dnsd " in text,
                    "the unit starts the installed binary", text)
            for line in ("DynamicUser=yes", "AmbientCapabilities=CAP_NET_BIND_SERVICE",
                         "ProtectSystem=strict", "NoNewPrivileges=yes"):
                c.check(line in text.splitlines(), f"the unit has {line}", text)
    finally:
        shutil.rmtree(dest, ignore_errors=True)


def main():
    wrapper = harness.binary_from_argv("test_install")
    dnsd = real_binary(wrapper)
    c = Checks("test_install")
    c.run(test_version, c, dnsd)
    with tempfile.TemporaryDirectory(prefix="dnsd-install-") as workdir:
        c.run(test_root_needs_user, c, dnsd, workdir)
    with tempfile.TemporaryDirectory(prefix="dnsd-install-") as workdir:
        c.run(test_drop_to_nobody, c, wrapper, workdir)
    c.run(test_meson_install, c, dnsd)
    c.finish()


if __name__ == "__main__":
    main()
