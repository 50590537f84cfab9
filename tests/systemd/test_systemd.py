"""The Debian package under a real systemd: the machine's systemd 252 booted as PID 1 of
private namespaces on a throw-away overlay of / (systemd_box.py), the package installed
there with dpkg, and what a user relies on checked through systemctl, journalctl and
wardenctl: the units started by the package, READY=1 only with every program started,
reload (applied, or refused while the service stays up), the watchdog, socket activation,
stop (every program and an escaped grandchild gone, each program stopped by wardend with
its own stopsignal), journal priorities, a reinstall re-executing wardend in place, purge.

The tests run in file order on one box and one installation (each builds on the state the
previous one left). The box is torn down at the end, and the host must then be as it was:
no mounts, no cgroup, no processes left (checked by the `box` fixture).

WARDEN_TEST_DEB=PATH uses that .deb instead of building one with packaging/build-deb."""

import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time

import pytest

from systemd_box import BootedSystemd, can_boot

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD_DEB = os.path.join(REPO, "packaging", "build-deb")

SLEEPERS = 20  # a worker pool: READY=1 must come only after all of them were spawned
PROGRAMS = [f"sleeper:sleeper_{i:02d}" for i in range(SLEEPERS)] + ["trapper", "forker"]
TEST_CONF = "/etc/warden/conf.d/test.yaml"
SIGNALS = "/run/warden-test/trapper.signals"
ESCAPED = "/run/warden-test/escaped.pid"

# Records every signal it gets. wardend stops it with SIGINT (its stopsignal); it then stays
# one more second, so that a SIGTERM sent along is recorded too: with KillMode=mixed it gets
# SIGINT from wardend and nothing else, with control-group systemd would also SIGTERM it
# directly (as every other process of the unit).
TRAPPER = """\
#!/usr/bin/python3
import os, signal, time
os.makedirs("/run/warden-test", exist_ok=True)
wanted = {signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT}
signal.pthread_sigmask(signal.SIG_BLOCK, wanted)
deadline = None
while deadline is None or time.monotonic() < deadline:
    info = (signal.sigwaitinfo(wanted) if deadline is None
            else signal.sigtimedwait(wanted, max(0, deadline - time.monotonic())))
    if info is None:
        continue
    with open("/run/warden-test/trapper.signals", "a") as f:
        f.write(signal.Signals(info.si_signo).name + "\\n")
    if info.si_signo == signal.SIGINT and deadline is None:
        deadline = time.monotonic() + 1.0
"""

# Leaves a grandchild behind in a session of its own: the subshell exits, so the grandchild
# is re-parented to wardend (the subreaper) and outside the program's process group.
FORKER = """\
#!/bin/sh
mkdir -p /run/warden-test
(setsid sh -c 'echo $$ > /run/warden-test/escaped.pid.new &&
  mv /run/warden-test/escaped.pid.new /run/warden-test/escaped.pid; exec sleep infinity' &)
exec sleep infinity
"""


def config_text(extra=""):
    return f"""\
programs:
  sleeper:
    command: sleep infinity
    numprocs: {SLEEPERS}
    startsecs: 1
  trapper:
    command: /usr/local/lib/warden-test/trapper
    stopsignal: INT
    startsecs: 1
  forker:
    command: /usr/local/lib/warden-test/forker
    startsecs: 1
{extra}"""


EXTRA = """\
  extra:
    command: sleep infinity
    startsecs: 0
"""


def deadline_loop(timeout, what):
    """Yields until `timeout` seconds passed, then raises AssertionError(what)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        yield
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


# -- fixtures ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def deb():
    given = os.environ.get("WARDEN_TEST_DEB")
    if given:
        assert os.path.isfile(given), f"WARDEN_TEST_DEB={given}: no such file"
        yield given
        return
    with tempfile.TemporaryDirectory(prefix="warden-systemd-deb-") as out:
        # Its own session, so that a timeout stops the whole build. lintian is
        # test_packaging's business.
        build = subprocess.Popen([BUILD_DEB, out], stdin=subprocess.DEVNULL,
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                 start_new_session=True,
                                 env=dict(os.environ, LINTIAN="0",
                                          JOBS=os.environ.get("JOBS", "2")))
        try:
            output, _ = build.communicate(timeout=1500)
        except subprocess.TimeoutExpired:
            os.killpg(build.pid, signal.SIGKILL)
            output, _ = build.communicate()
            pytest.fail(f"packaging/build-deb took over 1500 s:\n{output[-6000:]}")
        assert build.returncode == 0, f"packaging/build-deb failed:\n{output[-6000:]}"
        debs = [f for f in os.listdir(out) if re.match(r"warden_[^_]+_[^_]+\.deb$", f)]
        assert len(debs) == 1, os.listdir(out)
        yield os.path.join(out, debs[0])


def host_mounts():
    with open("/proc/self/mountinfo") as f:
        return sorted(line.split(" ", 4)[4] for line in f)


@pytest.fixture(scope="module")
def box(deb):
    reason = can_boot()
    if reason:
        pytest.skip(f"cannot boot systemd in namespaces on this machine: {reason}")
    mounts_before = host_mounts()
    b = BootedSystemd()
    try:
        b.start()
        shutil.copy(deb, b.share)
        b.deb = "/mnt/warden-test/" + os.path.basename(deb)
        # systemd logs every sd_notify message it gets at debug level: what the checks of
        # RELOADING=1 / READY=1 / WATCHDOG=1 read from the journal.
        b.run("systemd-analyze", "log-level", "debug")
        yield b
    finally:
        pids = b.host_pids()
        problems = b.stop()
        # The host as it was: no mount, no cgroup, no process of the box's left.
        assert not problems, problems
        assert host_mounts() == mounts_before, "mounts changed on the host"
        assert not os.path.exists(b.cgroup), b.cgroup
        assert not os.path.exists(b.scratch), b.scratch
        left = [p for p in pids if os.path.exists(f"/proc/{p}")]
        assert not left, f"box processes still running on the host: {left}"


# -- helpers -----------------------------------------------------------------------------------

def show(box, unit="warden.service", *props):
    r = box.run("systemctl", "show", unit, *[f"--property={p}" for p in props])
    return dict(line.split("=", 1) for line in r.stdout.splitlines() if "=" in line)


def main_pid(box):
    return int(show(box, "warden.service", "MainPID")["MainPID"])


def wardenctl_status(box):
    r = box.run("wardenctl", "status", "--json", check=False)
    assert r.returncode in (0, 3), f"wardenctl status: {r.returncode}\n{r.stdout}{r.stderr}"
    return {p["name"]: p for p in json.loads(r.stdout)}


def wait_all_running(box, names, timeout=30):
    for _ in deadline_loop(timeout, f"{names} RUNNING"):
        procs = wardenctl_status(box)
        if all(procs.get(n, {}).get("state") == "RUNNING" for n in names):
            return procs


UNIT_CGROUP = "/sys/fs/cgroup/system.slice/warden.service"
# Every cgroup.procs of the unit's cgroup and the ones below it (Delegate=yes: wardend in
# supervisor/, each process in programs/NAME), one pid a line.
ALL_PROCS = f"find {UNIT_CGROUP} -name cgroup.procs -exec cat {{}} +"


def cgroup_pids(box):
    r = box.sh(ALL_PROCS, check=False)
    return {int(p) for p in r.stdout.split()} if r.returncode == 0 else set()


def pids_of_cgroup(box, relative):
    r = box.run("cat", f"{UNIT_CGROUP}/{relative}/cgroup.procs", check=False)
    return {int(p) for p in r.stdout.split()} if r.returncode == 0 else set()


def alive(box, pids):
    """The pids (of the box's PID namespace) that still run (zombies do not count)."""
    if not pids:
        return set()
    r = box.sh("for p in " + " ".join(map(str, pids)) + "; do "
               "s=$(sed 's/.*) //' /proc/$p/stat 2>/dev/null | cut -c1); "
               "[ -n \"$s\" ] && [ \"$s\" != Z ] && echo $p; done; true")
    return {int(p) for p in r.stdout.split()}


def cursor(box):
    r = box.run("journalctl", "-n", "0", "--show-cursor", "-q")
    return r.stdout.strip().removeprefix("-- cursor: ")


def journal(box, after=None, *args):
    argv = ["journalctl", "-u", "warden.service", "-o", "json", "--no-pager", *args]
    if after:
        argv.append(f"--after-cursor={after}")
    r = box.run(*argv)
    return [json.loads(line) for line in r.stdout.splitlines() if line.strip()]


def messages(entries):
    return [e.get("MESSAGE", "") for e in entries if isinstance(e.get("MESSAGE"), str)]


def wait_journal(box, after, pattern, timeout=15):
    """Waits for a warden.service journal line after `after` matching `pattern`."""
    for _ in deadline_loop(timeout, f"a journal line matching {pattern!r}"):
        found = [m for m in messages(journal(box, after)) if re.search(pattern, m)]
        if found:
            return found


def notifications(box, after, pid):
    """The sd_notify messages systemd logged (debug level) from `pid`, in order."""
    out = []
    for m in messages(journal(box, after)):
        hit = re.match(rf"warden\.service: Got notification message from PID {pid} \((.*)\)$", m)
        if hit:
            out.extend(hit.group(1).split(", "))
    return out


def assert_active_running(box):
    s = show(box, "warden.service", "ActiveState", "SubState", "Result")
    assert (s["ActiveState"], s["SubState"]) == ("active", "running"), s


# -- the tests, in order -----------------------------------------------------------------------

def test_install_starts_the_units(box):
    box.write("/usr/local/lib/warden-test/trapper", TRAPPER, 0o755)
    box.write("/usr/local/lib/warden-test/forker", FORKER, 0o755)
    # conf.d/ is not a conffile: a drop-in put there before installing is picked up by the
    # package's warden.yaml (include: conf.d/*.yaml).
    box.write(TEST_CONF, config_text())
    r = box.run("dpkg", "-i", box.deb, timeout=120)
    assert "warden.service" in r.stdout + r.stderr  # the enablement symlinks
    r = box.run("systemctl", "is-enabled", "warden.service", "warden.socket", check=False)
    assert r.stdout.split() == ["enabled", "enabled"], r.stdout + r.stderr
    # Started by the postinst, with systemd as PID 1 (none of this happens in a chroot).
    r = box.run("systemctl", "is-active", "warden.service", "warden.socket", check=False)
    assert r.stdout.split() == ["active", "active"], r.stdout + r.stderr
    assert show(box, "warden.socket", "SubState")["SubState"] == "running"
    procs = wait_all_running(box, PROGRAMS)
    assert set(procs) == set(PROGRAMS)


def test_ready_only_once_every_program_started(box):
    # Type=notify: `systemctl restart` returns on READY=1, and wardend sends it only once every
    # autostart program has been spawned. So at that very moment the unit's cgroup already
    # holds wardend and all its programs (with Type=simple it would return right after the
    # fork, before wardend even read its configuration).
    r = box.sh(f"systemctl restart warden.service && {ALL_PROCS}")
    in_cgroup = {int(p) for p in r.stdout.split()}
    assert len(in_cgroup) >= 1 + len(PROGRAMS), (
        f"when `systemctl restart` returned, the cgroup held {len(in_cgroup)} processes, not "
        f"wardend and its {len(PROGRAMS)} programs: READY=1 came too early")
    mainpid = main_pid(box)
    assert mainpid in in_cgroup
    assert box.run("readlink", f"/proc/{mainpid}/exe").stdout.strip() == "/usr/sbin/wardend"
    # Answered at once (already listening on the socket systemd passed).
    procs = wardenctl_status(box)
    assert set(procs) == set(PROGRAMS)
    assert all(p.get("pid") in in_cgroup for p in procs.values()), (procs, in_cgroup)

    status = box.run("systemctl", "status", "--no-pager", "warden.service").stdout
    assert re.search(r"Active: active \(running\)", status), status
    assert f"Main PID: {mainpid} (wardend)" in status, status
    assert "TriggeredBy: ● warden.socket" in status or "TriggeredBy:" in status, status
    procs = wait_all_running(box, PROGRAMS)
    for _ in deadline_loop(10, "STATUS= to say every program runs"):
        text = show(box, "warden.service", "StatusText")["StatusText"]
        if text == f"{len(PROGRAMS)} running":
            break
    # The escaped grandchild is in the service's cgroup too.
    for _ in deadline_loop(10, ESCAPED):
        escaped = box.run("cat", ESCAPED, check=False).stdout.strip()
        if escaped:
            break
    assert int(escaped) in cgroup_pids(box)
    # Delegate=yes: wardend in its leaf, each process in a cgroup of its own, the escaped
    # grandchild in its program's, and status says so.
    assert pids_of_cgroup(box, "supervisor") == {mainpid}
    assert pids_of_cgroup(box, "") == set(), "no process in the unit's own cgroup"
    assert pids_of_cgroup(box, "programs/sleeper.sleeper_00") == {procs["sleeper:sleeper_00"]["pid"]}
    assert int(escaped) in pids_of_cgroup(box, "programs/forker")
    assert {p.get("tracking") for p in procs.values()} == {"cgroup"}, procs


def test_start_fails_on_an_invalid_config(box):
    # Type=notify again: wardend exits 1 before READY=1, so `systemctl restart` itself fails
    # (with Type=simple it would have returned 0 right after the fork).
    box.write("/etc/warden/conf.d/broken.yaml", "programs:\n  broken: {command: [1, 2\n")
    try:
        r = box.run("systemctl", "restart", "warden.service", check=False)
        assert r.returncode != 0, "systemctl restart succeeded with an invalid config"
        s = show(box, "warden.service", "ActiveState", "Result", "ExecMainStatus", "NRestarts")
        # RestartPreventExitStatus=1: not retried.
        assert s == {"ActiveState": "failed", "Result": "exit-code", "ExecMainStatus": "1",
                     "NRestarts": "0"}, s
    finally:
        box.run("rm", "-f", "/etc/warden/conf.d/broken.yaml")
    box.run("systemctl", "start", "warden.service")
    assert_active_running(box)
    wait_all_running(box, PROGRAMS)


def test_reload_applies_or_refuses(box):
    mainpid = main_pid(box)
    before = {n: p["pid"] for n, p in wait_all_running(box, PROGRAMS).items()}
    c = cursor(box)
    box.write(TEST_CONF, config_text(EXTRA))
    box.run("systemctl", "reload", "warden.service")
    # Applied by the time `systemctl reload` returns: the new program has a process.
    procs = wardenctl_status(box)
    assert "extra" in procs and procs["extra"].get("pid"), procs.get("extra")
    assert {n: procs[n]["pid"] for n in PROGRAMS} == before, "untouched programs were restarted"
    assert main_pid(box) == mainpid
    assert_active_running(box)
    for _ in deadline_loop(10, "RELOADING=1 then READY=1 from wardend in the journal"):
        seen = [n for n in notifications(box, c, mainpid)
                if n in ("RELOADING=1", "READY=1")]
        if seen[:2] == ["RELOADING=1", "READY=1"]:
            break
    wait_journal(box, c, r"^Reloaded warden\.service")

    # Invalid: refused, `systemctl reload` fails, the service stays up on the old config.
    c = cursor(box)
    box.write(TEST_CONF, config_text(EXTRA) + "  bad: {command: [1, 2\n")
    r = box.run("systemctl", "reload", "warden.service", check=False)
    assert r.returncode != 0, "systemctl reload succeeded with an invalid config"
    assert_active_running(box)
    assert main_pid(box) == mainpid
    procs = wardenctl_status(box)
    assert "bad" not in procs and procs["extra"]["state"] == "RUNNING"
    wait_journal(box, c, rf"^{re.escape(TEST_CONF)}:\d+:\d+: ")
    assert "RELOADING=1" not in notifications(box, c, mainpid)
    box.write(TEST_CONF, config_text())
    box.run("systemctl", "reload", "warden.service")
    assert "extra" not in wardenctl_status(box)


def test_watchdog_is_fed(box):
    box.write("/etc/systemd/system/warden.service.d/watchdog.conf",
              "[Service]\nWatchdogSec=2s\n")
    box.run("systemctl", "daemon-reload")
    box.run("systemctl", "restart", "warden.service")
    assert show(box, "warden.service", "WatchdogUSec")["WatchdogUSec"] == "2s"
    mainpid = main_pid(box)
    c = cursor(box)
    # Over three periods: still the same wardend, never restarted.
    end = time.monotonic() + 6.5
    while time.monotonic() < end:
        assert_active_running(box)
        assert main_pid(box) == mainpid
        time.sleep(0.2)
    assert show(box, "warden.service", "NRestarts")["NRestarts"] == "0"
    pings = notifications(box, c, mainpid).count("WATCHDOG=1")
    assert pings >= 5, f"{pings} WATCHDOG=1 in 6.5 s with WatchdogSec=2s"
    bad = [m for m in messages(journal(box, c)) if re.search(r"[Ww]atchdog timeout", m)]
    assert not bad, bad


def test_stop_stops_every_program(box):
    procs = wait_all_running(box, PROGRAMS)
    escaped = int(box.run("cat", ESCAPED).stdout)
    pids = cgroup_pids(box)
    assert {p["pid"] for p in procs.values()} | {escaped, main_pid(box)} <= pids
    box.run("truncate", "-s", "0", SIGNALS)
    r = box.run("systemctl", "stop", "warden.service")
    # systemd 252: "Warning: Stopping warden.service, but it can still be activated by:
    #   warden.socket"
    assert re.search(r"can still be activated by:\s+warden\.socket", r.stderr), r.stderr
    s = show(box, "warden.service", "ActiveState", "Result", "ExecMainStatus")
    assert s == {"ActiveState": "inactive", "Result": "success", "ExecMainStatus": "0"}, s
    assert not alive(box, pids), f"still running after stop: {alive(box, pids)}"
    assert not cgroup_pids(box)
    # KillMode=mixed: wardend alone got SIGTERM, and stopped each program its own way.
    assert box.run("cat", SIGNALS).stdout.split() == ["SIGINT"], (
        "the trapper program must get its stopsignal (INT) from wardend, and no SIGTERM")


def test_socket_activation(box):
    assert show(box, "warden.service", "ActiveState")["ActiveState"] == "inactive"
    s = show(box, "warden.socket", "ActiveState", "SubState")
    assert (s["ActiveState"], s["SubState"]) == ("active", "listening"), s
    # The first connection starts wardend, and that very wardenctl gets its answer.
    procs = wardenctl_status(box)
    assert set(procs) == set(PROGRAMS)
    # The socket answers during start-up (it is served between slices of spawns); READY=1, and
    # so `active`, comes once every autostart program was launched.
    for _ in deadline_loop(30, "warden.service active (running) after the activation"):
        s = show(box, "warden.service", "ActiveState", "SubState")
        if (s["ActiveState"], s["SubState"]) == ("active", "running"):
            break
    assert_active_running(box)
    wait_all_running(box, PROGRAMS)


def test_journal_priorities(box):
    every = [e for e in journal(box) if e.get("SYSLOG_IDENTIFIER") == "wardend"]
    assert every, "no lines from wardend in the journal"
    for e in every:
        assert not re.match(r"<\d>", e["MESSAGE"]), e["MESSAGE"]
    listening = [e for e in every if " listening on /run/warden/warden.sock" in e["MESSAGE"]]
    if not listening:  # what the journal holds of it, whatever the unit, to tell why
        r = box.run("journalctl", "-o", "json", "--no-pager", "SYSLOG_IDENTIFIER=wardend")
        anywhere = [line for line in r.stdout.splitlines() if "listening on" in line]
        raise AssertionError(f"no 'listening on' line of warden.service among {len(every)} lines "
                             f"from {every[0].get('__REALTIME_TIMESTAMP')}; "
                             f"with any unit: {anywhere[:3]}")
    assert all(e["PRIORITY"] == "6" for e in listening), [
        (e["PRIORITY"], e["MESSAGE"]) for e in every]
    errors = [e for e in every if re.match(r"/etc/warden/conf\.d/\w+\.yaml:\d+:\d+: ", e["MESSAGE"])]
    assert errors and all(e["PRIORITY"] == "3" for e in errors), errors
    # -p warning filters: wardend's errors in, its info lines out.
    warnings = [e for e in journal(box, None, "-p", "warning") if e.get("SYSLOG_IDENTIFIER") == "wardend"]
    assert warnings and all(int(e["PRIORITY"]) <= 4 for e in warnings), warnings
    got = messages(warnings)
    assert all(e["MESSAGE"] in got for e in errors)
    assert not any(" listening on " in m for m in got)


JOURNAL_PROGRAMS = """\
  journaler:
    command: ["sh", "-c", "echo journal-out-$$; echo '<4>journal-warn' >&2; echo journal-err >&2; exec sleep infinity"]
    startsecs: 0
    stdout: {journal: true}
    stderr: {journal: true}
  devstdout:
    command: ["sh", "-c", "echo devstdout-line; exec sleep infinity"]
    startsecs: 0
    stdout: {file: /dev/stdout}
"""


def test_programs_write_to_the_journal(box):
    """`stdout: {journal: true}`: the program's own stream, named after it, priority 6 for stdout,
    3 for stderr, or its own `<N>` prefix. `file: /dev/stdout`: wardend's stdout, which systemd
    made a journal stream socket (opening the path would fail with ENXIO)."""
    box.write(TEST_CONF, config_text(JOURNAL_PROGRAMS))
    box.run("systemctl", "reload", "warden.service")
    try:
        procs = wait_all_running(box, PROGRAMS + ["journaler", "devstdout"])
        pid = procs["journaler"]["pid"]
        for _ in deadline_loop(15, "the journaler's three lines in the journal"):
            r = box.run("journalctl", "-t", "journaler", "-o", "json", "--no-pager")
            entries = [json.loads(line) for line in r.stdout.splitlines() if line.strip()]
            got = {e["MESSAGE"]: e for e in entries if isinstance(e.get("MESSAGE"), str)}
            if {f"journal-out-{pid}", "journal-warn", "journal-err"} <= got.keys():
                break
        assert got[f"journal-out-{pid}"]["PRIORITY"] == "6", got
        assert got["journal-warn"]["PRIORITY"] == "4", got
        assert got["journal-err"]["PRIORITY"] == "3", got
        # The program's own entries, from its own pid, in warden.service's cgroup.
        assert got["journal-err"].get("_PID") == str(pid), got["journal-err"]
        assert got["journal-err"].get("_SYSTEMD_UNIT") == "warden.service", got["journal-err"]
        for _ in deadline_loop(15, "devstdout's line in warden.service's journal"):
            if "devstdout-line" in messages(journal(box)):
                break
        assert wardenctl_status(box)["devstdout"]["state"] == "RUNNING"
    finally:
        box.write(TEST_CONF, config_text())
        box.run("systemctl", "reload", "warden.service")
    assert "journaler" not in wardenctl_status(box)


def test_reinstall_reexecutes_in_place(box):
    mainpid = main_pid(box)
    procs = wait_all_running(box, PROGRAMS)
    before = {n: p["pid"] for n, p in procs.items()}
    started = box.run("sh", "-c", f"cut -d' ' -f22 /proc/{mainpid}/stat").stdout.strip()
    c = cursor(box)
    r = box.run("dpkg", "-i", box.deb, timeout=120)
    assert "restarting warden.service" not in r.stderr, r.stderr
    # Same process (pid and start time), now running the binary just unpacked, not the
    # deleted one; every program kept its process.
    assert main_pid(box) == mainpid
    assert box.run("sh", "-c", f"cut -d' ' -f22 /proc/{mainpid}/stat").stdout.strip() == started
    exe = box.run("readlink", f"/proc/{mainpid}/exe").stdout.strip()
    assert exe == "/usr/sbin/wardend", exe
    inode = box.run("stat", "-L", "-c", "%i", f"/proc/{mainpid}/exe").stdout
    assert inode == box.run("stat", "-c", "%i", "/usr/sbin/wardend").stdout
    assert_active_running(box)
    procs = wardenctl_status(box)
    assert {n: p["pid"] for n, p in procs.items()} == before
    wait_journal(box, c, r"re-executed, listening on /run/warden/warden\.sock")
    for _ in deadline_loop(10, "RELOADING=1 then READY=1 around the re-execution"):
        seen = [n for n in notifications(box, c, mainpid) if n in ("RELOADING=1", "READY=1")]
        if seen[:2] == ["RELOADING=1", "READY=1"]:
            break


def test_purge_cleans_up(box):
    procs = wait_all_running(box, PROGRAMS)
    pids = cgroup_pids(box) | {p["pid"] for p in procs.values()}
    box.run("rm", "-rf", TEST_CONF, "/etc/systemd/system/warden.service.d")
    box.run("dpkg", "--purge", "warden", timeout=120)
    r = box.run("dpkg-query", "-W", "warden", check=False)
    assert r.returncode != 0, r.stdout
    assert not alive(box, pids), f"still running after purge: {alive(box, pids)}"
    for unit in ("warden.service", "warden.socket"):
        s = show(box, unit, "LoadState", "ActiveState")
        assert s == {"LoadState": "not-found", "ActiveState": "inactive"}, (unit, s)
    left = box.sh("for f in /usr/sbin/wardend /usr/bin/wardenctl /lib/systemd/system/warden.service "
                  "/lib/systemd/system/warden.socket /etc/warden /var/log/warden /var/lib/warden "
                  "/etc/systemd/system/multi-user.target.wants/warden.service "
                  "/etc/systemd/system/sockets.target.wants/warden.socket; do "
                  "[ -e $f ] || [ -L $f ] && echo $f; done; true").stdout.split()
    assert not left, f"left behind by dpkg --purge: {left}"
