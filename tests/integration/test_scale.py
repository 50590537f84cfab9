"""wardend with many programs and under pressure (docs/design.md, "Never blocked by a client"):
hundreds of programs under systemd's default fd limit, an operator who still gets in when
wardend's fds are gone, a control socket that answers while thousands of programs start, and
a memory budget that holds however many followers stop reading."""

import os
import resource
import socket
import time

import pytest

import wardenproto as wp
from conftest import wait_until


def sleepers(count, extra=""):
    return "".join(f"p{i:04d}:\n  command: sleep 100000\n  startsecs: 0\n{extra}"
                   for i in range(count))


def fd_count(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def all_running(warden, count):
    states = [p["state"] for p in warden.status().values()]
    return len(states) == count and all(s == "RUNNING" for s in states)


def test_240_programs_under_1024_fds_and_an_operator_gets_in_when_fds_run_out(warden):
    """systemd's default (soft 1024) once left 54 of 240 programs unspawned and every wardenctl
    refused. Now a program that writes nothing holds no log file open: all 240 run. Then
    wardend's fds run out (its limit lowered to what it holds, idle clients take the rest and
    the reserve): status and stop still work, a start that needs fds fails saying so, and all
    is well once the clients leave."""
    warden.start(sleepers(240), nofile=(1024, 1024))
    pid = warden.proc.pid
    wait_until(lambda: all_running(warden, 240), timeout=120, what="240 programs RUNNING")
    held = fd_count(pid)
    assert held < 1024 - 200, f"{held} fds for 240 programs that write nothing"

    resource.prlimit(pid, resource.RLIMIT_NOFILE, (held + 6, 1024))
    hogs = []
    try:
        # Clients that connect and never send: 6 take the free fds, 4 the reserve, the rest
        # wait in the backlog.
        for _ in range(14):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(warden.socket)
            hogs.append(s)
        wait_until(lambda: "serving control clients from the reserve" in warden.log()
                   and fd_count(pid) >= held + 6, what="wardend out of fds")
        # Connections idle for kEvictableIdle (2 s) may make room for a new client.
        time.sleep(2.5)
        r = warden.ctl("status", "p0000", check=0)
        assert "RUNNING" in r.stdout
        r = warden.ctl("stop", "p0001", check=0)
        assert "p0001: stopped" in r.stdout
        assert "closing idle control client" in warden.log()
        # Starting needs fds for pipes: it fails with the reason (or gets one the reserve gave
        # back), and wardend goes on.
        r = warden.ctl("start", "p0001")
        if r.returncode != 0:
            assert "spawn error" in r.stdout, r
            description = warden.status("p0001")["p0001"]["description"]
            assert "Too many open files" in description, description
        assert warden.proc.poll() is None
    finally:
        for s in hogs:
            s.close()
    resource.prlimit(pid, resource.RLIMIT_NOFILE, (1024, 1024))
    wait_until(lambda: warden.ctl("start", "p0001").returncode == 0
               or warden.status("p0001")["p0001"]["state"] == "RUNNING",
               what="p0001 to start once fds are back")
    wait_until(lambda: all_running(warden, 240), timeout=60, what="240 programs RUNNING again")


def test_status_answers_within_a_second_while_2000_programs_start(warden):
    """Start-up was deaf: the socket answered only once every autostart program had been
    spawned (7-9 s for 2000). Now the spawns go in slices with the loop served in between:
    a client connecting at any moment of the start-up gets its status within 1 s (on an idle
    machine, within a few ms). READY=1 still comes once all of them are spawned."""
    count = 2000
    last = f"p{count - 1:04d}"
    warden.start(sleepers(count, "  stdout: {file: NONE}\n  stderr: {file: NONE}\n"),
                 wait_ready=False)
    latencies = []
    started = time.monotonic()
    while True:
        assert time.monotonic() - started < 300, "2000 programs not started in 300 s"
        asked = time.monotonic()
        try:
            with wp.connect(warden.socket, timeout=30, hello=True) as c:
                [process], _ = c.status([last])
        except (FileNotFoundError, ConnectionRefusedError):
            assert warden.proc.poll() is None, warden.log()
            time.sleep(0.01)  # not listening yet
            continue
        latencies.append(time.monotonic() - asked)
        if process["state"] == "RUNNING":
            break
    # Asked at least a few times while the programs started, and answered within 1 s each.
    assert len(latencies) >= 5, latencies
    latencies.sort()
    assert latencies[-1] < 1.0, f"slowest {latencies[-3:]}, median {latencies[len(latencies) // 2]}"
    warden.wait_notify("READY=1", timeout=60)
    assert len(warden.status()) == count



CHATTY = """\
import os, time
line = b"x" * 127 + b"\\n"
block = line * 512
while True:
    os.write(1, block)
    time.sleep(0.002)
"""


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_200_followers_that_never_read_stay_within_the_output_budget(warden):
    """200 `tail -f` clients that never read once took wardend from 5.6 MiB to 1.4 GiB (8 MiB
    each). Output queued for all clients together is capped at 64 MiB: past it the client with
    the most queued is dropped first and told why, and wardend's RSS stays under its size
    without them plus twice the budget (a queue's vector may hold twice what it queues)."""
    script = os.path.join(warden.root, "chatty.py")
    with open(script, "w") as f:
        f.write(CHATTY)
    warden.start(f"""\
chatty:
  command: ["python3", "{script}"]
  autostart: false
  startsecs: 0
  stdout: {{file: AUTO, max_bytes: 20MB, backups: 1}}
""")
    pid = warden.proc.pid
    base = rss_kib(pid)
    # Under SANITIZE=1 AddressSanitizer keeps freed memory in its quarantine (256 MiB by
    # default), so RSS says nothing about what wardend holds: there the drops are checked, the
    # bound is not.
    with open(f"/proc/{pid}/maps") as f:
        sanitized = "libasan" in f.read()
    followers = []
    try:
        for i in range(200):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.connect(warden.socket)
            s.sendall(wp.encode_frame(wp.HELLO, 1, wp.encode_hello(1, 1, "follower"))
                      + wp.encode_frame(wp.TAIL, 2, wp.encode_tail_request("chatty",
                                                                           follow=True)))
            followers.append(s)
        warden.ctl("start", "chatty", check=0)
        budget_kib = 2 * 64 * 1024
        peak = base
        deadline = time.monotonic() + 120
        while warden.log().count("dropping control client") < 200:
            assert time.monotonic() < deadline, (
                f"{warden.log().count('dropping control client')} of 200 followers dropped")
            peak = max(peak, rss_kib(pid))
            assert sanitized or peak < base + budget_kib, (
                f"RSS {peak} KiB, {base} KiB without followers")
            time.sleep(0.02)
        print(f"peak RSS {peak} KiB, {base} KiB without followers")
        assert "while the output queued for all clients passed 64 MiB" in warden.log()
        # A dropped follower reads whole frames, then why; one that still held the most while
        # the total was over the budget was closed at once (the log says so), and hears nothing.
        told = 0
        for s in followers:
            conn = wp.Connection(s)
            try:
                while True:
                    f = conn.recv_frame(timeout=30)
                    if f.type == wp.ERROR:
                        break
                    assert f.type in (wp.HELLO | wp.REPLY_BIT, wp.TAIL | wp.REPLY_BIT), f
            except (ConnectionError, EOFError):
                continue
            code, message = wp.decode_error(f.payload)
            assert code == wp.BUSY and message.startswith("dropped: it reads slowest"), message
            told += 1
            if told == 3:
                break
        assert told == 3, "fewer than 3 dropped followers were told why"
        # The service goes on.
        assert warden.status("chatty")["chatty"]["state"] == "RUNNING"
    finally:
        for s in followers:
            s.close()
    warden.ctl("stop", "chatty", check=0)
