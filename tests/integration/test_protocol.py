"""The control protocol as docs/protocol.md describes it, spoken by a client written with only
Python's struct and socket modules (wardenproto.py), against the real wardend."""

import socket
import struct

import pytest

import wardenproto as wp
from conftest import pid_alive, wait_until

PROGRAMS = """\
web:
  command: sleep 1000
  startsecs: 0
idle:
  command: sleep 1000
  autostart: false
"""


@pytest.fixture
def daemon(warden):
    warden.start(PROGRAMS)
    warden.wait_state("web", "RUNNING")
    return warden


def connect(daemon, hello=True):
    return wp.connect(daemon.socket, timeout=30, hello=hello)


def test_status_through_the_documented_protocol(daemon):
    with connect(daemon, hello=False) as c:
        hello = c.hello()
        assert hello["version"] == 1
        assert hello["daemon_pid"] == daemon.proc.pid
        processes, unknown = c.status()
        assert unknown == []
        by_name = {p["name"]: p for p in processes}
        web = by_name["web"]
        assert web["group"] == "web"
        assert web["state"] == "RUNNING"
        assert web["pid"] > 0 and pid_alive(web["pid"])
        assert web["kernel_state"] in ("S", "R")
        assert by_name["idle"]["state"] == "STOPPED" and by_name["idle"]["pid"] == 0
        processes, unknown = c.status(["web", "nosuch"])
        assert [p["name"] for p in processes] == ["web"] and unknown == ["nosuch"]


def test_actions_pid_and_version(daemon):
    with connect(daemon) as c:
        [r] = c.start(["idle"])
        assert r["name"] == "idle" and r["code"] == wp.OK
        [r] = c.start(["idle"])
        assert r["code"] == wp.ALREADY_STARTED
        pid = c.pid("idle")
        assert pid > 0 and pid_alive(pid)
        assert c.pid() == daemon.proc.pid
        [r] = c.stop(["idle"])
        assert r["code"] == wp.OK
        assert not pid_alive(pid)
        [r] = c.stop(["nosuch"])
        assert r["code"] == wp.NOT_FOUND
        assert c.version()
        with pytest.raises(wp.WardenError) as e:
            c.pid("nosuch")
        assert e.value.code == wp.NOT_FOUND


def test_request_before_hello_is_refused_and_closed(daemon):
    with connect(daemon, hello=False) as c:
        c.send_frame(wp.STATUS, 7, wp.encode_status_request([]))
        f = c.recv_frame(timeout=30)
        assert f.type == wp.ERROR and f.request_id == 7
        assert wp.decode_error(f.payload)[0] == wp.PROTOCOL
        assert c.is_closed_by_peer()


def test_bad_magic_gets_error_then_close(daemon):
    with connect(daemon, hello=False) as c:
        c.send_raw(b"HTTP/1.1 GET /\r\n\r\n")
        f = c.recv_frame(timeout=30)
        assert f.type == wp.ERROR
        assert wp.decode_error(f.payload)[0] == wp.PROTOCOL
        assert c.is_closed_by_peer()
    # The daemon still serves others.
    with connect(daemon) as c:
        assert c.status(["web"])[0][0]["state"] == "RUNNING"


def test_bad_version_gets_error_then_close(daemon):
    with connect(daemon) as c:
        c.send_raw(struct.pack(">4sHHII", b"WRDN", 9, wp.STATUS, 3, 0))
        f = c.recv_frame(timeout=30)
        assert f.type == wp.ERROR and wp.decode_error(f.payload)[0] == wp.PROTOCOL
        assert c.is_closed_by_peer()


def test_oversized_length_gets_error_then_close(daemon):
    with connect(daemon) as c:
        c.send_raw(struct.pack(">4sHHII", b"WRDN", 1, wp.STATUS, 4, (1 << 20) + 1))
        f = c.recv_frame(timeout=30)
        assert f.type == wp.ERROR and wp.decode_error(f.payload)[0] == wp.TOO_LARGE
        assert c.is_closed_by_peer()


def test_unknown_type_gets_error_and_connection_stays(daemon):
    with connect(daemon) as c:
        c.send_frame(0x0777, 5, b"\x00\x01")
        f = c.recv_frame(timeout=30)
        assert f.type == wp.ERROR and f.request_id == 5
        assert wp.decode_error(f.payload)[0] == wp.UNKNOWN_MESSAGE
        assert c.status(["web"])[0][0]["state"] == "RUNNING"


def test_malformed_payload_gets_error_and_connection_stays(daemon):
    with connect(daemon) as c:
        c.send_frame(wp.STATUS, 6, b"\xff\xff\xff\xff")  # a count no payload can hold
        f = c.recv_frame(timeout=30)
        assert f.type == wp.ERROR and wp.decode_error(f.payload)[0] == wp.INVALID_ARGUMENT
        assert c.status(["web"])[0][0]["state"] == "RUNNING"


def test_byte_at_a_time_request(daemon):
    with connect(daemon) as c:
        for b in wp.encode_frame(wp.STATUS, 11, wp.encode_status_request(["web"])):
            c.send_raw(bytes([b]))
        f = c.recv_frame(timeout=30)
        assert f.type == wp.STATUS | wp.REPLY_BIT and f.request_id == 11


def test_half_frame_does_not_block_others(daemon):
    stalled = connect(daemon)
    stalled.send_raw(wp.encode_frame(wp.STATUS, 1, wp.encode_status_request([]))[:10])
    try:
        with connect(daemon) as c:
            assert c.status(["web"])[0][0]["state"] == "RUNNING"
        # Answered while the half frame still waits for its rest: wardend has neither timed it
        # out (after 10 s) nor closed it. A wardend that blocked on the half frame would have
        # answered only after giving up on it.
        stalled.sock.setblocking(False)
        try:
            got = stalled.sock.recv(1)  # b"": closed; a byte: the TIMEOUT error reply
        except BlockingIOError:
            got = None  # nothing yet: still waiting for the rest of the frame
        assert got is None, f"wardend gave up on the half frame already ({got!r})"
    finally:
        stalled.close()


def test_many_clients_at_once(daemon):
    clients = []
    try:
        for _ in range(200):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(daemon.socket)
            clients.append(s)
        with connect(daemon) as c:
            assert c.status(["web"])[0][0]["state"] == "RUNNING"
    finally:
        for s in clients:
            s.close()
    # Once they are gone, a fresh client is served at once.
    wait_until(lambda: connect(daemon).status(["web"])[0], what="service after the burst")


def test_client_that_disconnects_mid_request(daemon):
    c = connect(daemon)
    c.send_frame(wp.START, 2, wp.encode_action_request(["idle"]))
    c.close()  # the reply (sent when idle is RUNNING) has nowhere to go
    wait_until(lambda: daemon.status("idle")["idle"]["state"] == "RUNNING", what="idle running")
    with connect(daemon) as c2:
        assert c2.status(["idle"])[0][0]["state"] == "RUNNING"


def test_shutdown_message(daemon):
    with connect(daemon) as c:
        c.shutdown()
    assert daemon.proc.wait(timeout=20) == 0
