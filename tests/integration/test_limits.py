"""wardend at its own limits (docs/security.md, "Limits"): the client cap, a client that never
reads, a frame that never completes, and running out of file descriptors. At each one the
daemon gives a clear error, keeps serving the others, and recovers."""

import resource
import selectors
import socket
import struct
import subprocess
import time

import pytest

import wardenproto as wp
from conftest import WARDENCTL, wait_until

MAX_CLIENTS = 256

PROGRAMS = """\
steady:
  command: sleep 1000
  startsecs: 0
web:
  command: sleep 1000
  startsecs: 0
  autostart: false
"""


@pytest.fixture
def daemon(warden):
    warden.start(PROGRAMS)
    warden.wait_state("steady", "RUNNING")
    return warden


@pytest.fixture
def many_fds():
    """Lets this test process hold a few thousand sockets."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 4096 if hard == resource.RLIM_INFINITY else min(hard, 4096)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, wanted), hard))
    yield
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def read_frame(sock):
    sock.settimeout(5)
    return wp.Connection(sock).recv_frame(timeout=5)


def test_a_thousand_clients_at_once_past_the_cap_get_busy(daemon, many_fds):
    clients = []
    sel = selectors.DefaultSelector()
    try:
        for _ in range(1000):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(daemon.socket)
            clients.append(s)
            sel.register(s, selectors.EVENT_READ)
        # Every connection past the cap hears why at once; those within it hear nothing.
        refused = set()
        deadline = time.monotonic() + 20
        while len(refused) < 1000 - MAX_CLIENTS and time.monotonic() < deadline:
            for key, _ in sel.select(timeout=0.5):
                refused.add(key.fileobj)
                sel.unregister(key.fileobj)
        for _ in sel.select(timeout=0.5):
            pass
        assert len(refused) + len(sel.get_map()) == 1000
        assert len(refused) == 1000 - MAX_CLIENTS
        for s in list(refused)[:20]:
            f = read_frame(s)
            assert f.type == wp.ERROR and f.request_id == 0
            code, message = wp.decode_error(f.payload)
            assert code == wp.BUSY and f"too many clients ({MAX_CLIENTS})" in message
        # wardenctl says so too, in one line.
        r = daemon.ctl("status")
        assert r.returncode == 1 and "too many clients" in r.stderr, r
    finally:
        sel.close()
        for s in clients:
            s.close()
    # Once they are gone, clients are served again.
    wait_until(lambda: daemon.ctl("status", "steady").returncode == 0,
               what="service after the flood")


def test_client_that_never_reads_its_replies_is_dropped(daemon):
    hog = wp.connect(daemon.socket, timeout=10, hello=True)
    try:
        request = wp.encode_frame(wp.STATUS, 1, wp.encode_status_request([]))
        hog.sock.settimeout(0.5)
        sent = 0
        # Replies pile up in wardend (never read here) until it gives up on this client.
        try:
            while sent < 200000 and "does not read its replies" not in daemon.log():
                hog.sock.sendall(request * 100)
                sent += 100
        except (BrokenPipeError, ConnectionResetError, socket.timeout):
            pass
        wait_until(lambda: "does not read its replies" in daemon.log(), timeout=20,
                   what="wardend to drop the client that does not read")
        # Meanwhile and after, everyone else is served at once.
        started = time.monotonic()
        assert daemon.status("steady")["steady"]["state"] == "RUNNING"
        assert time.monotonic() - started < 2
    finally:
        hog.close()


def test_frame_that_never_completes_times_out(daemon):
    with wp.connect(daemon.socket, timeout=20, hello=True) as c:
        c.send_raw(wp.encode_frame(wp.STATUS, 4, wp.encode_status_request([]))[:10])
        started = time.monotonic()
        f = c.recv_frame(timeout=20)
        assert f.type == wp.ERROR and wp.decode_error(f.payload)[0] == wp.TIMEOUT
        assert 9 <= time.monotonic() - started < 15
        assert c.is_closed_by_peer()


def test_out_of_fds_refuses_new_work_clearly_and_recovers(daemon):
    pid = daemon.proc.pid
    resource.prlimit(pid, resource.RLIMIT_NOFILE, (64, 64))
    held = []
    try:
        # Use up wardend's fds with idle clients until it says it has none left.
        refusal = None
        for _ in range(80):
            try:
                held.append(wp.connect(daemon.socket, timeout=5, hello=True))
            except wp.WardenError as e:
                refusal = e
                break
        assert refusal is not None, "64 fds and still accepting"
        assert refusal.code == wp.BUSY and "out of file descriptors" in str(refusal)
        r = subprocess.run([WARDENCTL, "-s", daemon.socket, "status"], capture_output=True,
                           text=True, timeout=30)
        assert r.returncode == 1 and "out of file descriptors" in r.stderr, r
        # A spawn that needs fds fails with the reason, the daemon keeps going.
        [result] = held[0].start(["web"])
        assert result["code"] == wp.SPAWN_ERROR, result
        assert "Too many open files" in result["message"]
        processes, _ = held[1].status(["steady"])
        assert processes[0]["state"] == "RUNNING"
        assert "refusing control connections" in daemon.log()
    finally:
        for c in held:
            c.close()
    # fds are back: new clients are served and the program starts.
    wait_until(lambda: daemon.ctl("status", "steady").returncode == 0, timeout=10,
               what="service once fds are free again")
    wait_until(lambda: daemon.ctl("start", "web").returncode == 0
               or daemon.status("web")["web"]["state"] == "RUNNING", timeout=15,
               what="web to start once fds are free again")
    daemon.wait_state("web", "RUNNING")
    assert "file descriptors available again" in daemon.log()
    assert daemon.proc.poll() is None
