"""Fixtures for integration tests: a real wardend on a scratch config, driven by the real
wardenctl. Each test gets its own folder (socket, logs, config) and everything it starts is
stopped by pid at the end, never by name."""

import contextlib
import fcntl
import json
import os
import resource
import select
import signal
import socket
import subprocess
import tempfile
import textwrap
import time

import pytest

BIN = os.environ.get("WARDEN_BIN") or os.path.join(
    os.path.dirname(__file__), "..", "..", "build", "bin")
WARDEND = os.path.join(BIN, "wardend")
WARDENCTL = os.path.join(BIN, "wardenctl")

# What a sanitizer build (SANITIZE=1 scripts/test) prints when it finds something: ASan, LSan
# (leaks, reported when the process exits) and UBSan. Any of these in wardend's or wardenctl's
# output fails the test.
SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                   "ERROR: UndefinedBehaviorSanitizer")


# Linux's SO_TIMESTAMPNS (asm-generic/socket.h; Python 3.11 does not name it): the kernel stamps
# each datagram with the time it was sent, handed over as a struct timespec (SCM_TIMESTAMPNS, the
# same number) by recvmsg.
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)


def sanitizer_report(text):
    """The sanitizer's report in `text`, or None."""
    for mark in SANITIZER_MARKS:
        at = text.find(mark)
        if at >= 0:
            return text[max(0, at - 200):at + 4000]
    return None


def wait_until(predicate, timeout=30.0, interval=0.02, what="condition"):
    """Polls `predicate` until it returns a truthy value or the deadline passes. The deadline is
    generous on purpose: it only bounds how long a broken test takes to fail, and a loaded
    machine (other builds, the ASan pass) may take many times longer than an idle one."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


@contextlib.contextmanager
def machine_lock(name, timeout=1800.0):
    """Holds the flock /run/lock/NAME while the block runs. A test that changes the machine
    itself (dpkg -i warden) takes turns with the same test run from any other checkout or
    build on this machine; CTest's RESOURCE_LOCK only orders the tests of one ctest run."""
    folder = "/run/lock" if os.path.isdir("/run/lock") else tempfile.gettempdir()
    fd = os.open(os.path.join(folder, name), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        wait_until(lambda: try_flock(fd), timeout=timeout, interval=0.5,
                   what=f"the machine-wide lock {folder}/{name}")
        yield
    finally:
        os.close(fd)  # releases the lock


def try_flock(fd):
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False


def wait_sleeping(pid, timeout=None):
    """Waits until `pid` (a `sleep`) is in its nanosleep: RUNNING comes as its exec is done, and
    for a moment after that the dynamic loader runs (fd 3 open, state R or D)."""
    def sleeping():
        with open(f"/proc/{pid}/syscall") as f:
            return f.read().split()[0] in ("230", "35")  # x86_64 clock_nanosleep, nanosleep
    kwargs = {} if timeout is None else {"timeout": timeout}
    wait_until(sleeping, what=f"pid {pid} in its nanosleep", **kwargs)


def start_time(pid):
    """Field 22 of /proc/PID/stat (None once gone): a pid and its start time name one process."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[19])
    except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
        return None


def descendants(pid):
    """(pid, start time) of every process below `pid`, from /proc/PID/task/*/children."""
    found, todo = [], [pid]
    while todo:
        parent = todo.pop()
        try:
            tasks = os.listdir(f"/proc/{parent}/task")
        except FileNotFoundError:
            continue
        for task in tasks:
            try:
                with open(f"/proc/{parent}/task/{task}/children") as f:
                    kids = [int(x) for x in f.read().split()]
            except FileNotFoundError:
                continue
            for kid in kids:
                found.append((kid, start_time(kid)))
                todo.append(kid)
    return found


def kill_if_same(processes):
    """SIGKILL each (pid, start time) that is still that process."""
    for pid, started in processes:
        if started is not None and start_time(pid) == started:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass


def pid_alive(pid):
    """True if `pid` exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        return state not in ("Z", "X")
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False


class Warden:
    """One wardend instance on its own scratch folder."""

    def __init__(self, root):
        self.root = root
        self.socket = os.path.join(root, "warden.sock")
        self.log_dir = os.path.join(root, "logs")
        self.config = os.path.join(root, "warden.yaml")
        self.stderr_path = os.path.join(root, "wardend.stderr")
        self.proc = None
        self.seen_pids = set()

    def write_config(self, programs_yaml, extra=""):
        text = (f"warden:\n  socket: {self.socket}\n  log_dir: {self.log_dir}\n"
                f"  log_level: debug\n{textwrap.dedent(extra)}programs:\n")
        text += textwrap.indent(textwrap.dedent(programs_yaml), "  ")
        with open(self.config, "w") as f:
            f.write(text)
        return self.config

    def start(self, programs_yaml=None, extra="", wait_ready=True, args=(), nofile=None):
        """`nofile`: (soft, hard) RLIMIT_NOFILE to start wardend with."""
        if programs_yaml is not None:
            self.write_config(programs_yaml, extra)
        notify_path = os.path.join(self.root, "notify.sock")
        notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        # The kernel stamps each datagram when it is sent (read with recvmsg; test_systemd.py).
        notify.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        notify.bind(notify_path)
        env = dict(os.environ, NOTIFY_SOCKET=notify_path)
        # A restart truncates the log: the previous wardend's leak report must not go with it.
        report = sanitizer_report(self.log())
        assert report is None, f"wardend (before a restart): sanitizer report:\n{report}"
        self.stderr = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen([WARDEND, "-c", self.config, *args], env=env,
                                     stdin=subprocess.DEVNULL, stdout=self.stderr,
                                     stderr=self.stderr,
                                     preexec_fn=None if nofile is None else lambda: resource.setrlimit(
                                         resource.RLIMIT_NOFILE, nofile))
        self.notify = notify
        if wait_ready:
            self.wait_notify("READY=1")
        return self

    def wait_notify(self, line, timeout=30.0):
        """Reads sd_notify datagrams until one carries `line`; returns all lines seen."""
        deadline = time.monotonic() + timeout
        seen = []
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no {line} from wardend within {timeout}s; saw {seen}; "
                                     f"stderr:\n{self.log()}")
            exited = self.proc.poll() is not None
            # After an exit, whatever it sent is already queued: drain without waiting.
            self.notify.settimeout(0 if exited else min(remaining, 0.5))
            try:
                data = self.notify.recv(4096).decode()
            except (socket.timeout, BlockingIOError):
                if exited:
                    raise AssertionError(f"wardend exited with {self.proc.returncode} before "
                                         f"{line}; saw {seen}:\n{self.log()}")
                continue
            seen.extend(data.split("\n"))
            if line in data.split("\n"):
                return seen

    def log(self):
        try:
            with open(self.stderr_path, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def ctl(self, *args, check=None, timeout=60):
        result = subprocess.run([WARDENCTL, "-s", self.socket, *args], capture_output=True,
                                text=True, timeout=timeout)
        report = sanitizer_report(result.stderr)
        assert report is None, f"wardenctl {' '.join(args)}: sanitizer report:\n{report}"
        if check is not None:
            assert result.returncode == check, (
                f"wardenctl {' '.join(args)} exited {result.returncode}, wanted {check}\n"
                f"stdout: {result.stdout}\nstderr: {result.stderr}\nwardend:\n{self.log()}")
        return result

    def status(self, *names):
        result = self.ctl("status", "--json", *names)
        assert result.returncode in (0, 3), result.stderr
        processes = json.loads(result.stdout)
        for p in processes:
            if p.get("pid"):
                self.seen_pids.add(p["pid"])
            for child in p.get("children") or []:
                self.seen_pids.add(child["pid"])
        return {p["name"]: p for p in processes}

    def wait_state(self, name, state, timeout=30.0):
        return wait_until(lambda: (self.status(name).get(name) or {}).get("state") == state
                          and self.status(name)[name], timeout=timeout,
                          what=f"{name} to be {state}")

    def stop(self, timeout=30):
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                # Its programs would outlive it (reparented, or kept in its cgroups): note its
                # descendants while they are still its, then kill them by pid with it.
                left = descendants(self.proc.pid)
                self.proc.kill()
                self.proc.wait()
                kill_if_same(left)
        self.stderr.close()
        self.notify.close()
        return self.proc.returncode

    def cleanup(self):
        self.stop()
        for pid in self.seen_pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        # Under SANITIZE=1, LeakSanitizer reports wardend's leaks when it exits (shutdown by
        # SIGTERM above, or by the test): a report fails the test, whatever it asserted.
        report = sanitizer_report(self.log())
        assert report is None, f"wardend: sanitizer report:\n{report}"


@pytest.fixture
def warden():
    """Yields a factory-free Warden; call .start(programs_yaml)."""
    with tempfile.TemporaryDirectory(prefix="warden-test-") as root:
        w = Warden(root)
        try:
            yield w
        finally:
            w.cleanup()


@pytest.fixture
def scratch():
    with tempfile.TemporaryDirectory(prefix="warden-test-") as root:
        yield root


class EventReader:
    """`wardenctl events --json` running in the background; lines are read with deadlines."""

    def __init__(self, warden, *names):
        self.proc = subprocess.Popen([WARDENCTL, "-s", warden.socket, "events", "--json",
                                      "--current", *names],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.buf = b""
        self.seen = []
        # The current states come first, once the daemon holds the subscription: from then on
        # no change is missed. They are not kept in `seen`.
        self.current = [self.next() for _ in range(len(warden.status(*names)))]
        self.seen = []

    def next(self, timeout=30.0):
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buf:
            remaining = deadline - time.monotonic()
            ready, _, _ = select.select([self.proc.stdout], [], [], max(0, remaining))
            if not ready:
                raise AssertionError(f"no event within {timeout}s; saw {self.seen}")
            chunk = os.read(self.proc.stdout.fileno(), 65536)
            if not chunk:
                raise AssertionError(f"events ended: {self.proc.stderr.read()}; saw {self.seen}")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        event = json.loads(line)
        self.seen.append(event)
        return event

    def until(self, predicate, timeout=30.0):
        deadline = time.monotonic() + timeout
        while True:
            event = self.next(max(0.01, deadline - time.monotonic()))
            if predicate(event):
                return event

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
