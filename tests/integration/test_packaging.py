"""The Debian package: packaging/build-deb builds it (lintian must report no error), its
contents are what the spec lists, and dpkg -i / dpkg --purge work on this machine and leave
nothing behind: no files, no enablement symlinks, no wardend running.

dpkg -i installs system-wide, so the install test needs root, refuses to touch a `warden`
package that someone installed for real, and moves a pre-existing /etc/warden, /var/log/warden
or /var/lib/warden aside (to /var/tmp) for its duration, then puts them back. On a machine
shared with other checkouts it takes its turn (conftest.machine_lock "warden-system-package"),
and waits while another dpkg or apt-get holds dpkg's own lock."""

import os
import re
import shutil
import signal
import subprocess
import tarfile
import tempfile
import time

import pytest

from conftest import machine_lock, wait_until

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD_DEB = os.path.join(REPO, "packaging", "build-deb")

# Everything the package may contain, and the parts that must be there.
REQUIRED = {
    "usr/sbin/wardend", "usr/bin/wardenctl",
    "lib/systemd/system/warden.service", "lib/systemd/system/warden.socket",
    "etc/warden/warden.yaml", "etc/warden/conf.d/", "var/log/warden/",
    "usr/share/doc/warden/copyright", "usr/share/doc/warden/changelog.gz",
    "usr/share/doc/warden/systemd.md", "usr/share/doc/warden/README.md",
    "usr/share/man/man1/wardenctl.1.gz", "usr/share/man/man8/wardend.8.gz",
    "usr/share/man/man5/warden.yaml.5.gz", "usr/share/bash-completion/completions/wardenctl",
    "usr/bin/warden-web", "lib/systemd/system/warden-web.service",
    "usr/share/man/man1/warden-web.1.gz",
    "usr/share/warden/web/index.html", "usr/share/warden/web/app.js",
    "usr/share/warden/web/style.css", "usr/lib/sysusers.d/warden.conf",
    "usr/lib/python3/dist-packages/warden/__init__.py",
    "usr/lib/python3/dist-packages/warden/client.py",
    "usr/lib/python3/dist-packages/warden/protocol.py",
    "usr/share/doc/warden/web.md", "usr/share/doc/warden/python.md",
    "usr/share/doc/warden/prometheus/prometheus.yml",
    "usr/share/doc/warden/prometheus/warden-alerts.yml",
}
ALLOWED = re.compile(r"^(usr/sbin/wardend|usr/bin/wardenctl|usr/bin/warden-web|"
                     r"lib/systemd/system/warden(\.service|\.socket|-web\.service)|"
                     r"usr/share/warden/(web/(\w+\.(html|js|css))?)?|"
                     r"usr/lib/(sysusers\.d/(warden\.conf)?|python3/(dist-packages/(warden/(\w+\.py)?)?)?)|"
                     r"etc/warden/.*|var/log/warden/|usr/share/doc/warden/.*|"
                     r"usr/share/man/man[158]/(wardenctl\.1|warden-web\.1|wardend\.8|warden\.yaml\.5)\.gz|"
                     r"usr/share/bash-completion/completions/wardenctl|"
                     r"(etc|lib|lib/systemd|lib/systemd/system|usr|usr/bin|usr/sbin|usr/share|usr/lib|"
                     r"usr/share/doc|usr/share/man|usr/share/man/man[158]|usr/share/bash-completion|"
                     r"usr/share/bash-completion/completions|var|var/log)/)$")
CONFFILES = {"/etc/warden/warden.yaml", "/etc/warden/conf.d/README"}
LEFTOVERS = ["/usr/sbin/wardend", "/usr/bin/wardenctl", "/usr/bin/warden-web",
             "/usr/share/warden", "/usr/lib/python3/dist-packages/warden",
             "/lib/systemd/system/warden-web.service",
             "/etc/systemd/system/multi-user.target.wants/warden-web.service",
             "/lib/systemd/system/warden.service",
             "/lib/systemd/system/warden.socket", "/etc/warden", "/var/log/warden",
             "/var/lib/warden", "/usr/share/doc/warden",
             "/etc/systemd/system/multi-user.target.wants/warden.service",
             "/etc/systemd/system/sockets.target.wants/warden.socket"]


def project_version():
    with open(os.path.join(REPO, "CMakeLists.txt")) as f:
        return re.search(r"^project\(warden VERSION ([0-9.]+)", f.read(), re.M).group(1)


def run(*argv, check=True, timeout=120):
    r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                       stdin=subprocess.DEVNULL,
                       env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
    if check:
        assert r.returncode == 0, f"{' '.join(argv)} exited {r.returncode}\n{r.stdout}\n{r.stderr}"
    return r


@pytest.fixture(scope="module")
def deb():
    """Builds the package once for this module: {'deb': path, 'output': build-deb's output}."""
    missing = [tool for tool, package in (("dpkg-buildpackage", "dpkg-dev"), ("dh", "debhelper"),
                                          ("lintian", "lintian"))
               if shutil.which(tool) is None]
    if missing:
        pytest.fail(f"{', '.join(missing)} not found: install dpkg-dev, debhelper and lintian "
                    "(scripts/install-deps)")
    with tempfile.TemporaryDirectory(prefix="warden-deb-") as out:
        # Its own session, so that a timeout stops the whole build (make, compilers, dwz, ...).
        build = subprocess.Popen([BUILD_DEB, out], stdin=subprocess.DEVNULL,
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                 start_new_session=True)
        try:
            output, _ = build.communicate(timeout=1300)
        except subprocess.TimeoutExpired:
            os.killpg(build.pid, signal.SIGKILL)
            output, _ = build.communicate()
            pytest.fail(f"packaging/build-deb took over 1300 s:\n{output[-6000:]}")
        assert build.returncode == 0, (
            f"packaging/build-deb failed ({build.returncode}):\n{output[-6000:]}")
        arch = run("dpkg", "--print-architecture").stdout.strip()
        path = os.path.join(out, f"warden_{project_version()}_{arch}.deb")
        assert os.path.exists(path), f"no {path}; build-deb made {os.listdir(out)}"
        yield {"deb": path, "output": output}


def control_file(deb_path, name):
    """The text of one control file (control, conffiles, postinst, ...), or None."""
    with subprocess.Popen(["dpkg-deb", "--ctrl-tarfile", deb_path], stdout=subprocess.PIPE) as p:
        with tarfile.open(fileobj=p.stdout, mode="r|") as tar:
            for member in tar:
                if member.name.lstrip("./") == name:
                    return tar.extractfile(member).read().decode()
    return None


def data_files(deb_path):
    """{path without './': (TarInfo, bytes or None)} of the package's files."""
    out = {}
    with subprocess.Popen(["dpkg-deb", "--fsys-tarfile", deb_path], stdout=subprocess.PIPE) as p:
        with tarfile.open(fileobj=p.stdout, mode="r|") as tar:
            for member in tar:
                name = member.name[2:] if member.name.startswith("./") else member.name
                if name in ("", "."):
                    continue
                if member.isdir():
                    name += "/"
                data = tar.extractfile(member).read() if member.isfile() else None
                out[name] = (member, data)
    return out


def test_build_is_lintian_clean(deb):
    assert "build-deb: lintian" in deb["output"], "build-deb must run lintian"
    errors = re.findall(r"^E: .*$", deb["output"], re.M)
    assert not errors, "\n".join(errors)


def test_package_contents(deb):
    files = data_files(deb["deb"])
    assert REQUIRED <= set(files), f"missing: {sorted(REQUIRED - set(files))}"
    unexpected = [name for name in files if not ALLOWED.match(name)]
    assert not unexpected, f"unexpected files in the package: {unexpected}"
    for name, (info, _) in files.items():
        assert (info.uname, info.gname) == ("root", "root"), name
    assert files["usr/sbin/wardend"][0].mode == 0o755
    assert files["usr/bin/wardenctl"][0].mode == 0o755
    assert files["usr/bin/warden-web"][0].mode == 0o755
    assert files["etc/warden/warden.yaml"][0].mode == 0o644
    # The files are the project's own, unchanged (the units already name /usr paths).
    for packaged, source in (("etc/warden/warden.yaml", "config/warden.yaml"),
                             ("lib/systemd/system/warden.service", "units/warden.service"),
                             ("lib/systemd/system/warden.socket", "units/warden.socket"),
                             ("lib/systemd/system/warden-web.service", "units/warden-web.service"),
                             ("usr/share/warden/web/app.js", "web/static/app.js"),
                             ("usr/lib/python3/dist-packages/warden/client.py",
                              "python/warden/client.py"),
                             ("usr/share/doc/warden/systemd.md", "docs/systemd.md")):
        with open(os.path.join(REPO, source), "rb") as f:
            assert files[packaged][1] == f.read(), f"{packaged} differs from {source}"


def test_package_metadata(deb):
    control = dict(re.findall(r"^([\w-]+): (.*)$", control_file(deb["deb"], "control"), re.M))
    assert control["Package"] == "warden"
    assert control["Version"] == project_version()
    assert control["Architecture"] == run("dpkg", "--print-architecture").stdout.strip()
    # shlibs: what the binaries link (wardend speaks systemd's protocols itself). yaml-cpp and
    # libedit are linked in (WARDEN_STATIC_LIBS, CMakeLists.txt): no package of theirs is needed.
    assert "libc6" in control["Depends"] and "libspdlog" in control["Depends"]
    assert "libyaml-cpp" not in control["Depends"] and "libedit" not in control["Depends"]
    assert "libsystemd0" not in control["Depends"]
    conffiles = set(control_file(deb["deb"], "conffiles").split())
    assert conffiles == CONFFILES
    postinst = control_file(deb["deb"], "postinst")
    for unit in ("warden.service", "warden.socket"):
        assert f"deb-systemd-helper enable '{unit}'" in postinst
    # warden-web is shipped disabled: configured first, then enabled by the admin (an upgrade
    # keeps it enabled only if it was).
    assert "deb-systemd-helper --quiet was-enabled 'warden-web.service'" in postinst
    assert (postinst.count("deb-systemd-helper enable 'warden-web.service'")
            == postinst.count("was-enabled 'warden-web.service'") == 1)
    assert "systemd-sysusers" in postinst
    # The Python module is byte-compiled on install and its byte code removed before removal.
    assert "py3compile -p warden" in postinst
    assert "py3clean -p warden" in control_file(deb["deb"], "prerm")
    assert control["Recommends"].startswith("python3")
    assert "rm -rf /var/log/warden" in control_file(deb["deb"], "postrm")


def wardend_pids():
    """Processes running the installed wardend (also after its file was removed)."""
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                exe = os.readlink(f"/proc/{entry}/exe")
            except OSError:
                continue
            if exe.startswith("/usr/sbin/wardend"):
                pids.append(int(entry))
    return pids


def dpkg(*args):
    """dpkg ARGS; while another dpkg or apt-get holds dpkg's lock (another build installing its
    packages), tries again, for up to 5 minutes."""
    deadline = time.monotonic() + 300
    while True:
        r = run("dpkg", *args, check=False)
        if r.returncode == 0 or "lock" not in r.stderr or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert r.returncode == 0, f"dpkg {' '.join(args)} exited {r.returncode}\n{r.stdout}\n{r.stderr}"
    return r


def package_installed():
    r = run("dpkg-query", "-W", "-f=${Status}", "warden", check=False)
    return r.returncode == 0 and "installed" in r.stdout.split()[-1:]


def test_install_and_purge(deb):
    if os.geteuid() != 0:
        pytest.skip("dpkg -i needs root")
    with machine_lock("warden-system-package"):
        install_and_purge(deb)


def install_and_purge(deb):
    if package_installed():
        pytest.fail("a warden package is installed on this machine; this test installs and "
                    "purges its own, so remove that one first (dpkg --purge warden)")
    before = set(wardend_pids())
    backup = tempfile.mkdtemp(prefix="warden-pkgtest-backup-", dir="/var/tmp")
    moved = []
    try:
        for path in ("/etc/warden", "/var/log/warden", "/var/lib/warden"):
            if os.path.lexists(path):
                shutil.move(path, os.path.join(backup, path.strip("/").replace("/", "_")))
                moved.append(path)

        dpkg("-i", deb["deb"])
        assert package_installed()
        for path in ("/usr/sbin/wardend", "/usr/bin/wardenctl", "/etc/warden/warden.yaml",
                     "/lib/systemd/system/warden.service", "/lib/systemd/system/warden.socket"):
            assert os.path.isfile(path), path
        assert os.path.isdir("/etc/warden/conf.d") and os.path.isdir("/var/log/warden")
        # The installed daemon accepts the installed config, found at its default path.
        r = run("/usr/sbin/wardend", "--check")
        assert "/etc/warden/warden.yaml: ok" in r.stdout
        run("/usr/bin/wardenctl", "--version")
        # The units as installed (their ExecStart= paths exist now).
        r = run("systemd-analyze", "verify", "--man=no", "/lib/systemd/system/warden.service",
                "/lib/systemd/system/warden.socket", "/lib/systemd/system/warden-web.service",
                check=False)
        assert r.returncode == 0 and not (r.stdout + r.stderr).strip(), r.stdout + r.stderr
        # Enabled through deb-systemd-helper, which works without systemd running; warden-web
        # is not, and its user exists.
        r = run("systemctl", "is-enabled", "warden.service", "warden.socket",
                "warden-web.service", check=False)
        assert r.stdout.split() == ["enabled", "enabled", "disabled"], r.stdout + r.stderr
        run("getent", "passwd", "warden-web")
        run("/usr/bin/warden-web", "--version")
        # The Python module, for Debian's python3.
        r = run("/usr/bin/python3", "-c", "import warden; print(warden.Client.__name__)")
        assert r.stdout.strip() == "Client"
        if not os.path.isdir("/run/systemd/system"):
            # No systemd: the maintainer scripts must not have started anything.
            assert set(wardend_pids()) == before

        # A local change to a conffile survives reinstalling (dpkg keeps it, no prompt).
        with open("/etc/warden/warden.yaml", "a") as f:
            f.write("# local change\n")
        dpkg("-i", deb["deb"])
        with open("/etc/warden/warden.yaml") as f:
            assert f.read().endswith("# local change\n")

        # What running it leaves: program logs, and StateDirectory= (made by systemd). Purge
        # removes both; remove alone keeps them.
        with open("/var/log/warden/web.stdout.log", "w") as f:
            f.write("hello\n")
        os.makedirs("/var/lib/warden", exist_ok=True)
        dpkg("--remove", "warden")
        assert os.path.exists("/var/log/warden/web.stdout.log")
        assert os.path.exists("/etc/warden/warden.yaml"), "remove must keep the configuration"
        dpkg("--purge", "warden")
        assert not package_installed()
        left = [path for path in LEFTOVERS if os.path.lexists(path)]
        assert not left, f"left behind by dpkg --purge: {left}"
        helper_state = "/var/lib/systemd/deb-systemd-helper-enabled"
        stale = [os.path.join(d, f) for d, _, fs in os.walk(helper_state) for f in fs
                 if f.startswith("warden.")]
        assert not stale, stale
        wait_until(lambda: set(wardend_pids()) <= before, what="no installed wardend running")
    finally:
        if package_installed():
            run("dpkg", "--purge", "warden", check=False)
        for pid in set(wardend_pids()) - before:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        # Whatever is at these paths now was made during the test; then put back what was there.
        for path in ("/etc/warden", "/var/log/warden", "/var/lib/warden"):
            if os.path.lexists(path):
                shutil.rmtree(path)
            if path in moved:
                shutil.move(os.path.join(backup, path.strip("/").replace("/", "_")), path)
        os.rmdir(backup)
