"""Ten thousand `sleep` programs on one wardend (docs/design.md, "Never blocked by a client"):
half without logs, half with AUTO log files. All of them RUNNING, status of all (a reply over
1 MiB, in PART frames), a restart of one, an update that adds and removes some, a re-execution,
a restart of all and a stop of all; while they start, restart and stop, `status NAME` answers
within 1 s every time. wardend's fds and RSS are printed at the end.

N is 10,000 (WARDEN_SCALE_N overrides it); a sanitizer build gets 2,000: its Debug build with
AddressSanitizer spawns several times slower, and CI runs it on the same machine."""

import os
import resource
import threading
import time

import pytest

import wardenproto as wp
from conftest import WARDEND, wait_until
from test_scale import fd_count, rss_kib


def sanitized_binary(path):
    with open(path, "rb") as f:
        return b"libasan" in f.read()


SANITIZED = sanitized_binary(WARDEND)
N = int(os.environ.get("WARDEN_SCALE_N", "2000" if SANITIZED else "10000"))
UPDATE_COUNT = 50  # programs removed, and as many added, by the update


def program(name, logs):
    text = f"{name}:\n  command: sleep 100000\n  startsecs: 0\n"
    if not logs:
        text += "  stdout: {file: NONE}\n  stderr: {file: NONE}\n"
    return text


def config(names):
    # Even ones log to AUTO files (opened once they write), odd ones have no logs.
    return "".join(program(name, i % 2 == 0) for i, name in enumerate(names))


def name_of(i):
    return f"p{i:05d}"


def free_pids():
    with open("/proc/sys/kernel/pid_max") as f:
        pid_max = int(f.read())
    used = sum(1 for entry in os.listdir("/proc") if entry.isdigit())
    return pid_max - used


class Prober:
    """Asks `status NAME` on a fresh connection, again and again, from a thread, and keeps the
    time of each answer (connect, HELLO and STATUS: what a `wardenctl status NAME` waits)."""

    def __init__(self, warden, name):
        self.warden = warden
        self.name = name
        self.latencies = []
        self.states = []
        self.error = None
        self.done = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        try:
            while not self.done.is_set():
                asked = time.monotonic()
                try:
                    with wp.connect(self.warden.socket, timeout=30, hello=True) as c:
                        [process], _ = c.status([self.name])
                except (FileNotFoundError, ConnectionRefusedError):
                    self.done.wait(0.01)  # not listening yet
                    continue
                self.latencies.append(time.monotonic() - asked)
                self.states.append(process["state"])
                self.done.wait(0.01)
        except Exception as e:  # reported by finish()
            self.error = e

    def finish(self, what):
        self.done.set()
        self.thread.join(timeout=60)
        assert self.error is None, f"status {self.name} during {what}: {self.error!r}"
        latencies = sorted(self.latencies)
        assert latencies, f"status {self.name} never answered during {what}"
        p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
        print(f"{what}: status {self.name} asked {len(latencies)} times, median "
              f"{latencies[len(latencies) // 2] * 1e3:.1f} ms, p99 {p99 * 1e3:.1f} ms, "
              f"worst {latencies[-1] * 1e3:.1f} ms")
        return latencies


def sampled_command(warden, name, what, *args):
    """Runs `wardenctl ARGS...` while a Prober asks `status NAME`; asserts that every answer came
    within 1 s. Returns the command's output."""
    prober = Prober(warden, name)
    try:
        asked = time.monotonic()
        r = warden.ctl(*args, timeout=900, check=0)
        took = time.monotonic() - asked
    finally:
        latencies = prober.finish(what)
    print(f"{' '.join(args)}: {took:.1f} s")
    assert latencies[-1] < 1.0, f"slowest answers during the {what}: {latencies[-3:]}"
    return r.stdout


def counts(warden):
    """State -> number of processes, from one STATUS of all (PART frames past 1 MiB)."""
    with wp.connect(warden.socket, timeout=120, hello=True) as c:
        processes, _ = c.status([])
    out = {}
    for p in processes:
        out[p["state"]] = out.get(p["state"], 0) + 1
        if p.get("pid"):
            warden.seen_pids.add(p["pid"])  # cleanup kills them by pid if wardend cannot
    return out, processes


def all_in(warden, state, count):
    states, _ = counts(warden)
    return states.get(state, 0) == count


@pytest.mark.skipif(resource.getrlimit(resource.RLIMIT_NOFILE)[1] < 2 * N,
                    reason=f"the hard fd limit is under {2 * N}: wardend cannot hold {N} "
                           "programs' log pipes")
def test_ten_thousand_programs(warden):
    if free_pids() < N + 2 * UPDATE_COUNT + 2000:
        pytest.skip(f"{free_pids()} free pids on this machine, {N} programs need more")
    names = [name_of(i) for i in range(N)]
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    began = time.monotonic()
    warden.start(config(names), wait_ready=False, nofile=(1024, hard))
    pid = warden.proc.pid

    # Start-up: every status NAME answered within 1 s while the programs start.
    prober = Prober(warden, names[-1])
    try:
        wait_until(lambda: prober.states and prober.states[-1] == "RUNNING", timeout=900,
                   interval=0.2, what=f"{names[-1]} (the last to start) RUNNING")
    finally:
        latencies = prober.finish(f"start-up of {N}")
    assert len(latencies) >= 5, latencies
    assert latencies[-1] < 1.0, f"slowest answers during start-up: {latencies[-3:]}"
    warden.wait_notify("READY=1", timeout=300)
    wait_until(lambda: all_in(warden, "RUNNING", N), timeout=300, interval=1,
               what=f"{N} programs RUNNING")
    print(f"{N} RUNNING after {time.monotonic() - began:.1f} s")

    # Status of all through wardenctl: over 1 MiB, in PART frames.
    asked = time.monotonic()
    r = warden.ctl("status", timeout=120, check=0)
    lines = [line for line in r.stdout.splitlines() if line.startswith("p")]
    assert len(lines) == N and all("RUNNING" in line for line in lines), r.stdout[-2000:]
    print(f"wardenctl status of {N}: {(time.monotonic() - asked) * 1e3:.0f} ms, "
          f"{len(r.stdout)} bytes")

    # A restart of one: a new pid, the others untouched.
    _, before = counts(warden)
    pids = {p["name"]: p["pid"] for p in before}
    asked = time.monotonic()
    warden.ctl("restart", names[42], check=0)
    print(f"restart of one: {(time.monotonic() - asked) * 1e3:.0f} ms")
    _, after = counts(warden)
    changed = [p["name"] for p in after if p["pid"] != pids[p["name"]]]
    assert changed == [names[42]], changed[:10]

    # An update that removes some and adds as many.
    removed = names[:UPDATE_COUNT]
    added = [name_of(N + i) for i in range(UPDATE_COUNT)]
    names = names[UPDATE_COUNT:] + added
    warden.write_config(config(names))
    asked = time.monotonic()
    r = warden.ctl("reread", timeout=120, check=0)
    assert r.stdout.count("added") >= UPDATE_COUNT and r.stdout.count("removed") >= UPDATE_COUNT, (
        r.stdout[-2000:])
    print(f"reread: {(time.monotonic() - asked) * 1e3:.0f} ms")
    asked = time.monotonic()
    warden.ctl("update", timeout=300, check=0)
    print(f"update (-{UPDATE_COUNT} +{UPDATE_COUNT}): {(time.monotonic() - asked) * 1e3:.0f} ms")
    states, processes = counts(warden)
    assert states == {"RUNNING": N}, states
    assert {p["name"] for p in processes} == set(names)

    # A re-execution keeps every program and pid.
    pids = {p["name"]: p["pid"] for p in processes}
    asked = time.monotonic()
    warden.ctl("reexec", timeout=300, check=0)
    wait_until(lambda: warden.ctl("status", names[0]).returncode == 0, timeout=300,
               what="wardend to answer after reexec")
    print(f"reexec: answering after {(time.monotonic() - asked) * 1e3:.0f} ms")
    assert warden.proc.poll() is None
    states, processes = counts(warden)
    assert states == {"RUNNING": N}, states
    assert {p["name"]: p["pid"] for p in processes} == pids

    fds, rss = fd_count(pid), rss_kib(pid)

    # Restart of all: status NAME answered within 1 s while they stop and start again, and each
    # one runs as a new process afterwards.
    out = sampled_command(warden, names[-1], f"restart of {N}", "restart", "all")
    assert "ERROR" not in out and out.count(": started") == N, out[-2000:]
    states, processes = counts(warden)
    assert states == {"RUNNING": N}, states
    same = [p["name"] for p in processes if p["pid"] == pids[p["name"]]]
    assert not same, f"{len(same)} kept their pid through restart all: {same[:10]}"

    # Stop of all: status NAME answered within 1 s while they stop.
    out = sampled_command(warden, names[-1], f"stop of {N}", "stop", "all")
    assert out.count(": stopped") == N, out[-2000:]
    assert all_in(warden, "STOPPED", N)
    print(f"wardend with {N} programs RUNNING: {fds} fds, RSS {rss} KiB; "
          f"all stopped: {fd_count(pid)} fds, RSS {rss_kib(pid)} KiB")
