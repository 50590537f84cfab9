"""wardend under systemd, without systemd as PID 1: a fake NOTIFY_SOCKET (the conftest's
datagram socket) receives what sd_notify sends, systemd-socket-activate plays the .socket unit,
and `systemd-analyze verify` checks units/."""

import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time

import pytest

from conftest import (SO_TIMESTAMPNS, WARDEND, WARDENCTL, descendants, machine_lock, pid_alive,
                      wait_until)

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
UNITS = os.path.join(REPO, "units")

SLEEPER = """\
sleeper:
  command: sleep 1000
  startsecs: 0
"""

# Variables that belong to wardend (set by systemd for it), never to its programs.
SYSTEMD_VARIABLES = ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "LISTEN_FDS", "LISTEN_PID",
                     "LISTEN_FDNAMES")


class Notifications:
    """What wardend sent to the fake NOTIFY_SOCKET of a Warden: one (time, lines) entry per
    datagram, read in order. wait_for() looks at entries after the last match first, then
    reads more until the deadline."""

    def __init__(self, warden):
        self.warden = warden
        # (when wardend sent it, [KEY=VALUE lines]). The time is the kernel's stamp on the
        # datagram (SO_TIMESTAMPNS, set by conftest; seconds since the epoch), so how late the
        # test gets round to reading it does not count.
        self.messages = []
        self.cursor = 0      # index of the first message wait_for has not matched past

    def _read(self, timeout):
        sock = self.warden.notify
        if timeout <= 0:
            sock.setblocking(False)
        else:
            sock.settimeout(timeout)
        try:
            data, ancillary, _, _ = sock.recvmsg(4096, socket.CMSG_SPACE(16))
        except (socket.timeout, BlockingIOError):
            return False
        sent = time.time()
        for level, kind, value in ancillary:
            if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
                seconds, nanoseconds = struct.unpack("qq", value[:16])
                sent = seconds + nanoseconds / 1e9
        self.messages.append((sent, data.decode().split("\n")))
        return True

    def lines(self, prefix=""):
        return [line for _, lines in self.messages for line in lines if line.startswith(prefix)]

    def wait_for(self, predicate, timeout=30.0, what="a notification"):
        """Returns (time, line) of the first line after the cursor that satisfies predicate."""
        deadline = time.monotonic() + timeout
        while True:
            for i in range(self.cursor, len(self.messages)):
                t, lines = self.messages[i]
                for line in lines:
                    if predicate(line):
                        self.cursor = i + 1
                        return t, line
            self.cursor = len(self.messages)
            if self.warden.proc.poll() is not None:
                # Whatever it sent before exiting is still queued in the socket.
                if self._read(0):
                    continue
                raise AssertionError(f"wardend exited ({self.warden.proc.returncode}) before "
                                     f"{what}; it sent {self.lines()}\n{self.warden.log()}")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no {what} within {timeout}s; wardend sent {self.lines()}"
                                     f"\n{self.warden.log()}")
            self._read(min(remaining, 0.2))

    def wait_exit(self, timeout=20.0):
        """Waits for wardend to exit, reading what it sends meanwhile; returns its exit status.
        (Nobody reading a full notify socket would block wardend in sd_notify.)"""
        deadline = time.monotonic() + timeout
        while self.warden.proc.poll() is None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"wardend still running after {timeout}s\n{self.warden.log()}")
            self._read(min(remaining, 0.05))
        while self._read(0):
            pass
        return self.warden.proc.returncode

    def collect(self, seconds):
        """Reads everything sent in the next `seconds`; returns those messages."""
        first = len(self.messages)
        deadline = time.monotonic() + seconds
        while (remaining := deadline - time.monotonic()) > 0:
            self._read(remaining)
        return self.messages[first:]


@pytest.fixture
def warden(warden):
    """conftest's Warden, stopped here first while its notifications are drained: the conftest
    reads the notify socket only in wait_notify(), and once ten datagrams wait unread there,
    sd_notify blocks wardend in sendmsg() (as it would block on a stuck systemd)."""
    yield warden
    proc, notify = warden.proc, getattr(warden, "notify", None)
    if proc is None or proc.poll() is not None:
        return
    tree = [pid for pid, _ in descendants(proc.pid)]
    if notify is not None:
        proc.send_signal(signal.SIGTERM)
        try:
            Notifications(warden).wait_exit(timeout=30)
            return
        except AssertionError:
            pass
    for pid in [proc.pid] + [pid for pid, _ in descendants(proc.pid)] + tree:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def is_line(expected):
    return lambda line: line == expected


def read_env_file(path):
    wait_until(lambda: os.path.exists(path) and open(path).read().endswith("\n"),
               what=f"{path} to be written")
    with open(path) as f:
        return dict(line.split("=", 1) for line in f.read().splitlines() if "=" in line)


def socket_inodes(pid):
    """The 'socket:[N]' targets of every fd `pid` holds."""
    out = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except FileNotFoundError:
            continue
        if target.startswith("socket:"):
            out.add(target)
    return out


def bind_notify_socket(warden):
    path = os.path.join(warden.root, "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    return sock, path


# --- sd_notify ------------------------------------------------------------------------------

def test_ready_only_once_the_socket_answers_and_autostart_programs_started(warden):
    programs = "".join(f"auto{i:02}:\n  command: sleep 1000\n  startsecs: 30\n  priority: {i}\n"
                       for i in range(20))
    programs += "manual:\n  command: sleep 1000\n  autostart: false\n"
    warden.start(programs, wait_ready=False)
    notes = Notifications(warden)
    notes.wait_for(is_line("READY=1"), what="READY=1")
    # No retry, no delay: the moment READY=1 arrives, the control socket must answer, and every
    # autostart program must have been started (STARTING with a pid: startsecs is 30 s).
    processes = warden.status()
    for i in range(20):
        p = processes[f"auto{i:02}"]
        assert p["state"] == "STARTING" and p["pid"], p
    assert processes["manual"]["state"] == "STOPPED"
    status = notes.lines("STATUS=")
    assert status and status[-1] != "STATUS=", "STATUS= must be sent by the time of READY=1"
    # READY=1 is sent once (again only after RELOADING=1).
    notes.collect(0.3)
    assert notes.lines("READY=1") == ["READY=1"]


def test_ready_is_sent_after_listen_and_every_autostart_spawn(warden):
    """The same order, seen from the inside: wardend runs under strace, and in its trace the
    control socket's listen() and the fork of every autostart program come before the
    sendmsg() of READY=1. (Checking from outside once READY=1 has arrived cannot tell a
    daemon that listens a moment after READY=1 from one that listens before.)"""
    strace = shutil.which("strace")
    if strace is None:
        pytest.fail("strace not found: install the Debian package 'strace' (scripts/install-deps)")
    programs = "".join(f"auto{i:02}:\n  command: sleep 1000\n  startsecs: 30\n" for i in range(20))
    programs += "manual:\n  command: sleep 1000\n  autostart: false\n"
    warden.write_config(programs)
    trace = os.path.join(warden.root, "strace.txt")
    warden.notify, notify_path = bind_notify_socket(warden)
    warden.stderr = open(warden.stderr_path, "wb")
    warden.proc = subprocess.Popen(
        [strace, "-f", "-qq", "-o", trace, "-s", "256", "-e", "signal=none",
         "-e", "trace=listen,clone,clone3,fork,vfork,execve,sendmsg,sendto", WARDEND, "-c", warden.config],
        env=dict(os.environ, NOTIFY_SOCKET=notify_path), stdin=subprocess.DEVNULL,
        stdout=warden.stderr, stderr=warden.stderr)
    def started():
        # strace forks helpers of its own before the traced command: find the one that is wardend.
        for pid, _ in descendants(warden.proc.pid):
            try:
                if os.readlink(f"/proc/{pid}/exe") == os.path.realpath(WARDEND):
                    return pid
            except OSError:
                pass
        return None

    daemon = wait_until(started, what="strace to start wardend")
    notes = Notifications(warden)
    try:
        notes.wait_for(is_line("READY=1"), what="READY=1")
        warden.status()  # records the programs' pids for cleanup
    finally:
        if pid_alive(daemon):
            os.kill(daemon, signal.SIGTERM)
        notes.wait_exit(timeout=30)  # strace exits with wardend
    with open(trace) as f:
        text = f.read()
    # "PID  call(args) = result", the pid padded to a width of strace's choosing.
    events = [(int(m.group(1)), m.group(2)) for m in re.finditer(r"^\s*(\d+)\s+(.*)$", text, re.M)]

    def index(predicate, what):
        found = [i for i, (pid, call) in enumerate(events) if pid == daemon and predicate(call)]
        assert found, f"no {what} by wardend (pid {daemon}) in the trace:\n{text[:20000]}"
        return found[0]

    ready = index(lambda c: c.startswith(("sendmsg(", "sendto(")) and "READY=1" in c, "send of READY=1")
    listened = index(lambda c: re.match(r"listen\(\d+, \d+\)\s+= 0$", c), "listen()")
    assert listened < ready, "READY=1 was sent before the control socket listened"
    programs = {pid for pid, call in events if re.match(r'execve\("[^"]*", \["sleep"', call)}
    spawned_before_ready = set()
    for i, (pid, call) in enumerate(events[:ready]):
        m = re.search(r"(?:^|<\.\.\. )(clone3?|v?fork)\b.*=\s+(\d+)$", call)
        if pid == daemon and m and int(m.group(2)) in programs:
            spawned_before_ready.add(int(m.group(2)))
    assert len(spawned_before_ready) == 20, (
        f"{len(spawned_before_ready)} of the 20 autostart programs were forked before READY=1")


def test_status_line_follows_state_changes(warden):
    warden.start(SLEEPER, wait_ready=False)
    notes = Notifications(warden)
    notes.wait_for(is_line("READY=1"), what="READY=1")
    warden.wait_state("sleeper", "RUNNING")

    def status_with(word, without=None):
        return lambda line: (line.startswith("STATUS=") and word in line.lower()
                             and (without is None or without not in line.lower()))

    notes.cursor = 0
    notes.wait_for(status_with("running", without="stopped"), what="STATUS= with 1 running")
    warden.ctl("stop", "sleeper", check=0)
    _, line = notes.wait_for(status_with("stopped", without="running"),
                             what="STATUS= saying the program stopped")
    assert "1" in line
    warden.ctl("start", "sleeper", check=0)
    notes.wait_for(status_with("running", without="stopped"), what="STATUS= back to running")


def test_watchdog_pings_every_half_period(warden, monkeypatch):
    monkeypatch.setenv("WATCHDOG_USEC", "1000000")
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    warden.start(SLEEPER, wait_ready=False)
    notes = Notifications(warden)
    ready_at, _ = notes.wait_for(is_line("READY=1"), what="READY=1")
    pings = [notes.wait_for(is_line("WATCHDOG=1"), what=f"WATCHDOG=1 number {i + 1}")[0]
             for i in range(6)]
    # By when wardend sent them: every 0.5 s; never as late as the 1 s timeout, never a burst.
    assert pings[0] - ready_at < 0.9
    gaps = [b - a for a, b in zip(pings, pings[1:])]
    assert all(0.35 <= g <= 0.9 for g in gaps), gaps


def test_no_watchdog_pings_without_watchdog_usec(warden, monkeypatch):
    monkeypatch.delenv("WATCHDOG_USEC", raising=False)
    warden.start(SLEEPER, wait_ready=False)
    notes = Notifications(warden)
    notes.wait_for(is_line("READY=1"), what="READY=1")
    notes.collect(1.2)
    assert not notes.lines("WATCHDOG=")


def drain(notes):
    """Everything already queued on the notify socket, read without waiting (and so consumed:
    a later wait_for looks only at what comes after)."""
    first = len(notes.messages)
    while notes._read(0):
        pass
    notes.cursor = len(notes.messages)
    return [line for _, lines in notes.messages[first:] for line in lines]


def test_reload_is_bracketed_by_reloading_and_ready(warden):
    warden.start(SLEEPER, wait_ready=False)
    notes = Notifications(warden)
    notes.wait_for(is_line("READY=1"), what="READY=1")
    warden.wait_state("sleeper", "RUNNING")
    drain(notes)
    warden.write_config(SLEEPER + "added:\n  command: sleep 1000\n  startsecs: 0\n")
    before = time.monotonic()
    warden.ctl("reload", check=0)
    after = time.monotonic()
    # ExecReload=wardenctl reload is synchronous: by the time wardenctl returns, wardend has
    # sent both (they are already queued here, nothing to wait for).
    lines = drain(notes)
    assert "RELOADING=1" in lines and "READY=1" in lines[lines.index("RELOADING=1"):], lines
    reloading = next(ls for _, ls in notes.messages if "RELOADING=1" in ls)
    stamps = [int(l.split("=", 1)[1]) for l in reloading if l.startswith("MONOTONIC_USEC=")]
    assert len(stamps) == 1, f"MONOTONIC_USEC= must come in the RELOADING=1 datagram: {reloading}"
    assert before - 0.01 <= stamps[0] / 1e6 <= after + 0.01, (before, stamps[0], after)
    assert warden.status("added")["added"]["state"] in ("STARTING", "RUNNING")

    # SIGHUP does the same.
    warden.write_config(SLEEPER)
    warden.proc.send_signal(signal.SIGHUP)
    notes.wait_for(is_line("RELOADING=1"), what="RELOADING=1 after SIGHUP")
    notes.wait_for(is_line("READY=1"), what="READY=1 after the SIGHUP reload")
    assert "added" not in warden.status()


def test_invalid_reload_fails_and_leaves_the_service_ready(warden):
    warden.start(SLEEPER, wait_ready=False)
    notes = Notifications(warden)
    notes.wait_for(is_line("READY=1"), what="READY=1")
    pid = warden.wait_state("sleeper", "RUNNING")["pid"]
    drain(notes)
    with open(warden.config, "a") as f:
        f.write("  broken:\n    comand: sleep 1\n")
    r = warden.ctl("reload", check=1)
    assert "comand" in r.stdout + r.stderr
    lines = drain(notes)
    # Either nothing at all, or a reload that ends in READY=1: never stuck in "reloading".
    if "RELOADING=1" in lines:
        assert "READY=1" in lines[lines.index("RELOADING=1"):], lines
    assert warden.status("sleeper")["sleeper"]["pid"] == pid


@pytest.mark.parametrize("how", ["SIGTERM", "wardenctl shutdown"])
def test_stopping_is_sent_when_shutdown_begins(warden, how):
    # The program takes 2 s to stop, so the shutdown is visibly in progress.
    warden.start("""\
        slow:
          command: ["sh", "-c", "trap 'sleep 2; exit 0' TERM; while :; do sleep 0.1; done"]
          startsecs: 0
        """, wait_ready=False)
    notes = Notifications(warden)
    notes.wait_for(is_line("READY=1"), what="READY=1")
    child = warden.wait_state("slow", "RUNNING")["pid"]
    ctl = None
    try:
        if how == "SIGTERM":
            warden.proc.send_signal(signal.SIGTERM)
        else:
            ctl = subprocess.Popen([WARDENCTL, "-s", warden.socket, "shutdown"],
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        notes.wait_for(is_line("STOPPING=1"), what="STOPPING=1")
        assert pid_alive(child), "STOPPING=1 must come when the shutdown starts, not at its end"
        assert notes.wait_exit() == 0
        if ctl is not None:
            assert ctl.wait(timeout=30) == 0, ctl.stdout.read()
    finally:
        if ctl is not None and ctl.poll() is None:
            ctl.kill()
            ctl.wait()
        if ctl is not None:
            ctl.stdout.close()
    assert not pid_alive(child)
    assert "READY=1" not in [l for _, ls in notes.messages[notes.cursor:] for l in ls]


def test_programs_inherit_none_of_the_systemd_variables(warden, monkeypatch):
    monkeypatch.setenv("WATCHDOG_USEC", "30000000")
    # A stale set meant for another process (LISTEN_PID is not wardend's): ignored, not passed on.
    monkeypatch.setenv("LISTEN_PID", "1")
    monkeypatch.setenv("LISTEN_FDS", "1")
    monkeypatch.setenv("LISTEN_FDNAMES", "control")
    # The programs' output goes to wardend, not to the journal; the invocation is wardend's.
    monkeypatch.setenv("JOURNAL_STREAM", "8:12345")
    monkeypatch.setenv("INVOCATION_ID", "0123456789abcdef0123456789abcdef")
    env_file = os.path.join(warden.root, "env.txt")
    dump_env = f"env > {env_file}.tmp && mv {env_file}.tmp {env_file}"
    warden.start(f"""\
        envdump:
          command: ["sh", "-c", "{dump_env}; exec sleep 1000"]
          startsecs: 0
        """, wait_ready=False)
    notes = Notifications(warden)
    notes.wait_for(is_line("READY=1"), what="READY=1")
    env = read_env_file(env_file)
    assert "PATH" in env
    leaked = {k: env[k] for k in SYSTEMD_VARIABLES + ("JOURNAL_STREAM", "INVOCATION_ID")
              if k in env}
    assert not leaked, f"programs must not see wardend's systemd variables: {leaked}"
    assert os.path.exists(warden.socket), "a stale LISTEN_* set must not stop wardend binding"


# --- socket activation ----------------------------------------------------------------------

def socket_activate_tool():
    tool = shutil.which("systemd-socket-activate")
    if tool is None:
        pytest.fail("systemd-socket-activate not found: install the Debian package 'systemd' "
                    "(scripts/install-deps)")
    return tool


def test_socket_activation_starts_wardend_on_first_connect(warden):
    tool = socket_activate_tool()
    env_file = os.path.join(warden.root, "env.txt")
    dump_env = f"env > {env_file}.tmp && mv {env_file}.tmp {env_file}"
    warden.write_config(f"""\
        envdump:
          command: ["sh", "-c", "{dump_env}; exec sleep 1000"]
          startsecs: 0
        """)
    config_socket = warden.socket
    activated = os.path.join(warden.root, "activated.sock")
    warden.notify, notify_path = bind_notify_socket(warden)
    passed = ["-E", "PATH", "-E", f"NOTIFY_SOCKET={notify_path}"]
    for name in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"):
        if name in os.environ:
            passed += ["-E", name]
    warden.stderr = open(warden.stderr_path, "wb")
    warden.proc = subprocess.Popen([tool, "-l", activated, "--fdname=control", *passed,
                                    WARDEND, "-c", warden.config],
                                   stdin=subprocess.DEVNULL, stdout=warden.stderr,
                                   stderr=warden.stderr)
    pid = warden.proc.pid
    wait_until(lambda: os.path.exists(activated), what="systemd-socket-activate to listen")

    # Nobody has connected: wardend has not been started yet.
    assert os.readlink(f"/proc/{pid}/exe").endswith("systemd-socket-activate")
    notes = Notifications(warden)
    assert not notes.collect(0.3)

    # The first connection execs wardend in place, and wardenctl's request is answered.
    warden.socket = activated
    r = warden.ctl("status", "--json", check=0)
    assert [p["name"] for p in json.loads(r.stdout)] == ["envdump"]
    assert os.readlink(f"/proc/{pid}/exe") == os.path.realpath(WARDEND)
    notes.wait_for(is_line("READY=1"), what="READY=1")
    assert not os.path.exists(config_socket), "with a socket passed in, wardend must not bind"
    assert "socket activation" in warden.log()

    # The program gets neither the LISTEN_* variables nor the listening socket itself.
    child = warden.wait_state("envdump", "RUNNING")["pid"]
    env = read_env_file(env_file)
    leaked = {k: env[k] for k in SYSTEMD_VARIABLES if k in env}
    assert not leaked, leaked
    listening = socket_inodes(pid) & {os.readlink(f"/proc/{pid}/fd/3")}
    assert listening, "wardend keeps the passed socket at fd 3"
    assert not socket_inodes(child) & listening, "the listening socket leaked into a program"

    # On exit the socket belongs to systemd: wardend must not unlink it.
    warden.proc.send_signal(signal.SIGTERM)
    assert notes.wait_exit() == 0
    notes.wait_for(is_line("STOPPING=1"), timeout=1, what="STOPPING=1")
    assert os.path.exists(activated)
    assert not pid_alive(child)


def test_passed_fd_that_is_not_a_listening_stream_socket_is_refused(warden):
    warden.write_config(SLEEPER)
    dgram = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        dgram.bind(os.path.join(warden.root, "dgram.sock"))
        warden.notify, _ = bind_notify_socket(warden)
        warden.stderr = open(warden.stderr_path, "wb")
        # fd 3 is a datagram socket; LISTEN_PID is the pid that becomes wardend (exec).
        script = ("import os, sys; os.dup2(int(sys.argv[1]), 3); "
                  "os.environ.update(LISTEN_PID=str(os.getpid()), LISTEN_FDS='1'); "
                  "os.execv(sys.argv[2], sys.argv[2:])")
        warden.proc = subprocess.Popen([sys.executable, "-c", script, str(dgram.fileno()),
                                        WARDEND, "-c", warden.config],
                                       pass_fds=(dgram.fileno(),), stdin=subprocess.DEVNULL,
                                       stdout=warden.stderr, stderr=warden.stderr)
        assert warden.proc.wait(timeout=20) == 1
    finally:
        dgram.close()
    assert "LISTEN_FDS" in warden.log()
    assert not os.path.exists(warden.socket)


# --- units/ -------------------------------------------------------------------------------------

def parse_unit(path):
    """{section: {key: [values]}} of a unit file (keys may repeat)."""
    sections, current = {}, None
    with open(path) as f:
        for raw in f:
            line = raw.strip()
            if not line or line[0] in "#;":
                continue
            if line.startswith("[") and line.endswith("]"):
                current = sections.setdefault(line[1:-1], {})
                continue
            key, _, value = line.partition("=")
            current.setdefault(key.strip(), []).append(value.strip())
    return sections


def units_for_this_machine(dest):
    """Copies of units/ that name the built binaries (verify wants ExecStart= to exist)."""
    paths = []
    for name in ("warden.service", "warden.socket"):
        with open(os.path.join(UNITS, name)) as f:
            text = f.read()
        text = text.replace("/usr/sbin/wardend", os.path.realpath(WARDEND))
        text = text.replace("/usr/bin/wardenctl", os.path.realpath(WARDENCTL))
        path = os.path.join(dest, name)
        with open(path, "w") as f:
            f.write(text)
        paths.append(path)
    return paths


def systemd_analyze_verify(paths):
    tool = shutil.which("systemd-analyze")
    if tool is None:
        pytest.fail("systemd-analyze not found: install the Debian package 'systemd' "
                    "(scripts/install-deps)")
    r = subprocess.run([tool, "verify", "--man=no", *paths], capture_output=True, text=True,
                       timeout=60)
    return r.returncode, (r.stdout + r.stderr).strip()


def test_units_pass_systemd_analyze_verify(scratch):
    service, sock = units_for_this_machine(scratch)
    rc, out = systemd_analyze_verify([service, sock])
    assert rc == 0 and out == "", f"systemd-analyze verify (rc {rc}):\n{out}"
    # The check itself must see problems: a misspelt key is only a warning with rc 0.
    with open(service) as f:
        text = f.read()
    with open(service, "w") as f:
        f.write(text.replace("KillMode=", "KillMod="))
    rc, out = systemd_analyze_verify([service, sock])
    assert "KillMod" in out


def test_service_unit_settings():
    unit = parse_unit(os.path.join(UNITS, "warden.service"))
    service = {k: v[-1] for k, v in unit["Service"].items()}
    expected = {
        "Type": "notify", "NotifyAccess": "main", "KillMode": "mixed", "OOMPolicy": "continue",
        "Restart": "on-failure", "ExecStart": "/usr/sbin/wardend",
        "ExecReload": "/usr/bin/wardenctl reload",
        "RuntimeDirectory": "warden", "RuntimeDirectoryPreserve": "yes",
        "StateDirectory": "warden", "LogsDirectory": "warden",
        "ConfigurationDirectory": "warden",
    }
    assert {k: service.get(k) for k in expected} == expected
    watchdog = re.fullmatch(r"(\d+)s?", service.get("WatchdogSec", ""))
    assert watchdog and int(watchdog.group(1)) > 0
    # Everything in the service's execution environment is inherited by every program.
    inherited = ("NoNewPrivileges", "SystemCallFilter", "SystemCallArchitectures",
                 "CapabilityBoundingSet", "MemoryDenyWriteExecute", "LockPersonality",
                 "ReadOnlyPaths", "InaccessiblePaths", "IPAddressDeny", "User", "Group",
                 "DynamicUser", "RemoveIPC", "ProcSubset", "UMask", "LimitNOFILE",
                 "OOMScoreAdjust")
    bad = [k for k in service if k in inherited or k.startswith(("Protect", "Private",
                                                                 "Restrict"))]
    assert not bad, f"hardening that supervised programs would inherit: {bad}"
    assert "warden.socket" in unit["Unit"]["After"][0].split()
    assert unit["Install"]["WantedBy"] == ["multi-user.target"]


def test_socket_unit_matches_the_default_config():
    unit = parse_unit(os.path.join(UNITS, "warden.socket"))
    listen = unit["Socket"]["ListenStream"]
    assert listen == ["/run/warden/warden.sock"]
    assert unit["Socket"]["SocketMode"] == ["0600"]
    # wardenctl finds the daemon by the config's socket: it must be the one systemd holds.
    with open(os.path.join(REPO, "config", "warden.yaml")) as f:
        configured = re.search(r"^\s+socket:\s*(\S+)", f.read(), re.M)
    assert configured and configured.group(1) == listen[0]
    assert unit["Install"]["WantedBy"] == ["sockets.target"]


# --- paths from systemd (RuntimeDirectory=, LogsDirectory=, ConfigurationDirectory=, ...) ------

def systemd_directories(root):
    dirs = {name: os.path.join(root, sub) for name, sub in (
        ("RUNTIME_DIRECTORY", "run"), ("LOGS_DIRECTORY", "log"),
        ("CONFIGURATION_DIRECTORY", "etc"), ("STATE_DIRECTORY", "state"))}
    for path in dirs.values():
        os.makedirs(path)
    return dirs


def test_default_paths_come_from_systemd_directories(warden):
    dirs = systemd_directories(warden.root)
    config = os.path.join(dirs["CONFIGURATION_DIRECTORY"], "warden.yaml")
    # No `warden:` section at all: every setting is a default. The name is this run's own, so
    # that what a wardend ignoring $LOGS_DIRECTORY writes to /var/log/warden can be removed.
    name = f"hello_{os.getpid()}"
    with open(config, "w") as f:
        f.write(f"programs:\n  {name}:\n"
                '    command: ["sh", "-c", "echo hello; exec sleep 1000"]\n'
                "    startsecs: 0\n    stdout: {file: AUTO}\n")
    env = dict(os.environ, **dirs)
    # No -c: the configuration is $CONFIGURATION_DIRECTORY/warden.yaml. (Checked with --check
    # first, so that a wardend that does not know the variable never starts on /etc/warden.)
    r = subprocess.run([WARDEND, "--check"], env=env, capture_output=True, text=True, timeout=30)
    assert r.returncode == 0 and r.stdout.startswith(f"{config}: ok"), r.stdout + r.stderr

    system_log_dir = "/var/log/warden"
    # test_packaging's dpkg -i makes (and checks) /var/log/warden, which the cleanup below may
    # remove: not at the same time, from this checkout or another.
    with machine_lock("warden-system-package"):
        had_system_log_dir = os.path.exists(system_log_dir)
        try:
            warden.notify, notify_path = bind_notify_socket(warden)
            warden.stderr = open(warden.stderr_path, "wb")
            warden.proc = subprocess.Popen([WARDEND], env=dict(env, NOTIFY_SOCKET=notify_path),
                                           stdin=subprocess.DEVNULL, stdout=warden.stderr,
                                           stderr=warden.stderr)
            Notifications(warden).wait_for(is_line("READY=1"), what="READY=1")
            # The control socket is $RUNTIME_DIRECTORY/warden.sock, AUTO logs go to
            # $LOGS_DIRECTORY.
            warden.socket = os.path.join(dirs["RUNTIME_DIRECTORY"], "warden.sock")
            warden.wait_state(name, "RUNNING")
            log = os.path.join(dirs["LOGS_DIRECTORY"], f"{name}.stdout.log")
            wait_until(lambda: os.path.exists(log) and "hello" in open(log).read(), what=log)
        finally:
            for stream in ("stdout", "stderr"):
                stray = os.path.join(system_log_dir, f"{name}.{stream}.log")
                if os.path.exists(stray):
                    os.unlink(stray)
            if not had_system_log_dir and os.path.isdir(system_log_dir) \
                    and not os.listdir(system_log_dir):
                os.rmdir(system_log_dir)


def test_explicit_settings_win_over_systemd_directories(warden, monkeypatch):
    dirs = systemd_directories(warden.root)
    for name, path in dirs.items():
        monkeypatch.setenv(name, path)
    warden.start("""\
        hello:
          command: ["sh", "-c", "echo hello; exec sleep 1000"]
          startsecs: 0
          stdout: {file: AUTO}
        """)
    warden.wait_state("hello", "RUNNING")  # on warden.socket, the config's own
    log = os.path.join(warden.log_dir, "hello.stdout.log")
    wait_until(lambda: os.path.exists(log) and "hello" in open(log).read(), what=log)
    assert not os.listdir(dirs["RUNTIME_DIRECTORY"]) and not os.listdir(dirs["LOGS_DIRECTORY"])


def test_ready_and_reloading_wait_for_room_in_a_full_notify_queue(warden):
    """STATUS= lines may be dropped when the receiver's queue is full; READY=1 and RELOADING=1
    are queued and retried until it takes them."""
    flappers = "".join(
        f"""
        flap{i}:
          command: ["sh", "-c", "sleep 0.1; exit 1"]
          startsecs: 0
          autorestart: true
          backoff: {{initial: 0.05, max: 0.1}}
        """ for i in range(4))
    warden.start(flappers)
    # Nobody reads the notify socket while the flappers' STATUS= lines fill its queue (10
    # datagrams here; 40 restarts send far more), then a reload sends RELOADING=1 and READY=1
    # into the full queue.
    wait_until(lambda: sum(p["restarts"] for p in warden.status().values()) >= 40,
               timeout=120, what="40 restarts of the flappers")
    # The reload adds a program: once status shows it, the reload has run (and met the full
    # queue), and only then does the test read the socket.
    warden.write_config(flappers + """
        marker:
          command: sleep 1000
          autostart: false
        """)
    os.kill(warden.proc.pid, signal.SIGHUP)
    wait_until(lambda: "marker" in warden.status(), what="the reload to be applied")
    seen = warden.wait_notify("READY=1")
    assert any(line.startswith("RELOADING=1") for line in seen), seen
