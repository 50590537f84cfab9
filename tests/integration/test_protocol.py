"""The control protocol as docs/protocol.md describes it, spoken by a client written with only
Python's struct and socket modules (wardenproto.py), against the real wardend."""

import socket
import struct
import threading
import time

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


# --- the document is the contract ---------------------------------------------------------------


def test_request_before_hello_gets_the_documented_text(daemon):
    with connect(daemon, hello=False) as c:
        c.send_frame(wp.PID, 9, wp.encode_pid_request(""))
        f = c.recv_frame(timeout=30)
        assert f.type == wp.ERROR and f.request_id == 9
        assert wp.decode_error(f.payload) == (wp.PROTOCOL, "expected HELLO as the first request")


def test_status_records_are_exactly_the_documented_fields(daemon):
    # docs/protocol.md: a ProcessInfo record is 92 + n + m + r + c + t + h bytes, the last three
    # fields (status_text, retry_in_ms, health) marked appended.
    with connect(daemon) as c:
        c.send_frame(wp.STATUS, 3, wp.encode_status_request([]))
        f = c.recv_message(timeout=30)
        assert f.type == wp.STATUS | wp.REPLY_BIT
        r = wp.Reader(f.payload)
        count = r.count(wp.PROCESS_INFO_MIN)
        assert count == 2
        for _ in range(count):
            length = r.u32()
            rec = wp.Reader(r.take(length))
            p = wp.decode_process_info(rec)
            assert rec.remaining() == 0, "bytes the document does not list"
            n, m = len(p["name"].encode()), len(p["group"].encode())
            reason, text = len(p["reason"].encode()), len(p["status_text"].encode())
            health = len(p["health"].encode())
            assert 4 + length == 92 + n + m + reason + 9 * len(p["children"]) + text + health
        assert r.str_list() == [] and r.remaining() == 0


def test_events_and_wait_are_the_documented_messages(daemon):
    with connect(daemon) as c:
        stream = c.events(["web", "idle"], timeout=30)
        snapshot = next(stream)
        assert snapshot["snapshot"] is True
        # Display order: priority, then program name.
        assert [(e["process"], e["from"], e["to"]) for e in snapshot["events"]] == [
            ("idle", "STOPPED", "STOPPED"), ("web", "RUNNING", "RUNNING")]
        with connect(daemon) as other:
            [r] = other.start(["idle"])
            assert r["code"] == wp.OK
            [w] = other.wait(["idle"], "RUNNING", timeout_ms=20000)
            assert w["process"] == "idle" and w["from"] == w["to"] == "RUNNING" and w["pid"] > 0
            with pytest.raises(wp.WardenError) as e:
                other.wait(["idle"], "FATAL", timeout_ms=200)
            assert e.value.code == wp.TIMEOUT
            assert e.value.message == "not FATAL after 0.2 s: idle is RUNNING"
            with pytest.raises(wp.WardenError) as e:
                other.wait(["nosuch"], "RUNNING")
            assert (e.value.code, e.value.message) == (wp.NOT_FOUND, "no such process: nosuch")
        changes = []
        while ("STARTING", "RUNNING") not in changes:
            reply = next(stream)
            assert reply["snapshot"] is False
            changes += [(e["from"], e["to"]) for e in reply["events"] if e["process"] == "idle"]
        assert changes[0] == ("STOPPED", "STARTING")


def test_invalid_utf8_is_refused_and_never_echoed(daemon):
    bad = b"web\xff\xfe"
    with connect(daemon) as c:
        for msg_type, payload, name in (
                (wp.STATUS, wp.encode_status_request([bad]), "STATUS"),
                (wp.START, wp.encode_action_request([bad]), "START"),
                (wp.SIGNAL, wp.encode_action_request([b"\xc0\xaf"], 15), "SIGNAL"),
                (wp.PID, wp.encode_pid_request(b"\xed\xa0\x80"), "PID"),
                (wp.TAIL, wp.pack_str(bad) + struct.pack(">BBQB", 1, 1, 10, 0), "TAIL"),
                (wp.LOGROTATE, wp.encode_log_names_request([bad]), "LOGROTATE"),
                (wp.EVENTS, wp.encode_events_request([bad]), "EVENTS"),
                (wp.WAIT, wp.pack_str_list([bad]) + struct.pack(">HI", 20, 0), "WAIT"),
                (wp.UPDATE, wp.encode_action_request([bad]), "UPDATE")):
            with pytest.raises(wp.WardenError) as e:
                c.request(msg_type, payload)
            assert e.value.code == wp.INVALID_ARGUMENT, name
            assert e.value.message == f"malformed {name} request: a string is not valid UTF-8"
        # The connection is still in step, and nothing was started.
        processes, _ = c.status(["idle"])
        assert processes[0]["state"] == "STOPPED"
    with connect(daemon, hello=False) as c:
        with pytest.raises(wp.WardenError) as e:
            c.request(wp.HELLO, struct.pack(">HH", 1, 1) + wp.pack_str(b"client \x80"))
        assert e.value.code == wp.INVALID_ARGUMENT


def test_a_non_zero_signal_field_is_refused_where_it_means_nothing(daemon):
    with connect(daemon) as c:
        for msg_type in (wp.START, wp.STOP, wp.RESTART, wp.UPDATE):
            with pytest.raises(wp.WardenError) as e:
                c.request(msg_type, wp.encode_action_request(["idle"], 9))
            assert (e.value.code, e.value.message) == (
                wp.INVALID_ARGUMENT, "the signal field is for SIGNAL only; send 0")
        processes, _ = c.status(["idle", "web"])
        assert [p["state"] for p in processes] == ["STOPPED", "RUNNING"]


def test_pid_of_a_name_matching_several_processes_is_refused(warden):
    warden.start("""\
        web:
          command: sleep 1000
          numprocs: 2
          autostart: false
        """)
    with wp.connect(warden.socket, hello=True) as c:
        with pytest.raises(wp.WardenError) as e:
            c.pid("web")
        assert e.value.code == wp.INVALID_ARGUMENT
        assert e.value.message == ("'web' names 2 processes (web:web_00, web:web_01); "
                                   "ask for one of them")
        assert c.pid("web:web_01") == 0
    result = warden.ctl("pid", "web")
    assert result.returncode != 0 and "names 2 processes" in result.stderr


def test_reload_is_empty_and_update_results_are_documented(warden):
    warden.start(PROGRAMS)
    warden.wait_state("web", "RUNNING")
    # idle is stopped, web runs: the command of both changes; broken is added and cannot stay up.
    warden.write_config("""\
        web:
          command: sleep 1001
          startsecs: 0
        idle:
          command: sleep 1001
          autostart: false
        broken:
          command: /bin/false
          startsecs: 1
          startretries: 0
        """)
    with wp.connect(warden.socket, hello=True) as c:
        changes = {ch["name"]: ch for ch in c.reread()}
        assert changes["web"]["apply"] == "restart"
        assert changes["idle"]["apply"] == "next start"
        assert changes["broken"]["kind"] == "added"
        out = warden.ctl("reread", check=0).stdout
        assert "idle: changed (command; update applies it at the next start)" in out
        assert "web: changed (command; update restarts it)" in out
        results = {r["name"]: r for r in c.reload()}  # an empty RELOAD request
    assert results["web"]["message"] == "updated process group (restarted: command)"
    assert results["idle"]["message"] == "updated process group (at the next start: command)"
    assert results["broken"]["code"] == wp.ABNORMAL_TERMINATION
    assert results["broken"]["message"] == "Exited too quickly (process log may have details)"
    assert list(results) == sorted(results)


def test_start_during_shutdown_is_error_11(warden):
    warden.start("""\
        stubborn:
          command: sh -c 'trap "" TERM; while :; do sleep 0.2; done'
          startsecs: 0
          stopwaitsecs: 60
        idle:
          command: sleep 1000
          autostart: false
        """)
    warden.wait_state("stubborn", "RUNNING")
    with wp.connect(warden.socket, hello=True) as c:
        c.shutdown()
        # stubborn ignores SIGTERM: the shutdown lasts until it is killed.
        for msg_type in (wp.START, wp.RESTART):
            with pytest.raises(wp.WardenError) as e:
                c.request(msg_type, wp.encode_action_request(["idle"]))
            assert (e.value.code, e.value.message) == (wp.SHUTTING_DOWN,
                                                       "wardend is shutting down")
        for request in (lambda: c.update(), lambda: c.reload()):
            with pytest.raises(wp.WardenError) as e:
                request()
            assert e.value.code == wp.SHUTTING_DOWN
        processes, _ = c.status(["idle", "stubborn"])
        assert [p["state"] for p in processes] == ["STOPPED", "STOPPING"]
        # SIGNAL is still served: the way to hurry a process that will not stop.
        [r] = c.signal(9, ["stubborn"])
        assert r["code"] == wp.OK
    assert warden.proc.wait(timeout=30) == 0


# --- replies over 1 MiB --------------------------------------------------------------------------

# 10001 processes (numprocs is at most 10000, so two programs), with names long enough that
# SIGNAL's and LOGROTATE's replies pass 1 MiB as well as STATUS's. Not started: the replies'
# size is the point, and 10001 live processes would take a third of the machine's pids.
LONG = "worker_with_a_rather_long_name_to_make_replies_big"  # 50 bytes


def big_config():
    logs = "  stdout:\n    file: NONE\n  stderr:\n    file: NONE\n"
    return (f"{LONG}:\n  command: sleep 1000\n  numprocs: 10000\n  autostart: false\n{logs}"
            f"web:\n  command: sleep 1000\n  startsecs: 0\n{logs}")


def test_replies_over_one_mib_come_in_parts(warden):
    warden.start(big_config())
    warden.wait_state("web", "RUNNING", timeout=60)
    with wp.connect(warden.socket, timeout=60, hello=True) as c:
        # The frames as they come: PART frames of exactly 1 MiB, then the reply.
        c.send_frame(wp.STATUS, 5, wp.encode_status_request([]))
        frames = [c.recv_frame(timeout=60)]
        while frames[-1].type == wp.PART:
            frames.append(c.recv_frame(timeout=60))
        assert len(frames) >= 2, "a STATUS of 10001 processes fits in one frame?"
        assert all(f.request_id == 5 for f in frames)
        assert all(len(f.payload) == wp.MAX_PAYLOAD for f in frames[:-1])
        assert frames[-1].type == wp.STATUS | wp.REPLY_BIT and 0 < len(frames[-1].payload)
        processes, unknown = wp.decode_status_reply(b"".join(f.payload for f in frames))
        assert len(processes) == 10001 and unknown == []
        # Display order: program name (web before worker_...), then process name.
        assert processes[0]["name"] == "web" and processes[0]["state"] == "RUNNING"
        # Then by process number: _00 .. _99, _100 .. _9999.
        assert [p["name"] for p in processes[1:]] == [f"{LONG}_{i:02d}" for i in range(10000)]

        results = c.signal(1, ["all"])
        assert len(results) == 10001
        assert sum(r["code"] == wp.OK for r in results) == 1  # web; the others: NOT_RUNNING
        assert {r["code"] for r in results} == {wp.OK, wp.NOT_RUNNING}

        results = c.logrotate(["all"])
        assert len(results) == 10001 and {r["code"] for r in results} == {wp.OK}
        # Still in step after the big replies.
        assert c.pid("web") > 0

    result = warden.ctl("status", timeout=120)
    assert "reply too large" not in result.stderr, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 10001, result.stderr
    assert lines[0].startswith("web ") and "RUNNING" in lines[0]
    result = warden.ctl("logrotate", "all", timeout=120)
    assert result.returncode == 0, result.stderr


# --- fairness ------------------------------------------------------------------------------------


def test_a_pipelining_client_does_not_hold_up_another(warden):
    # 100 programs (not started): each STATUS costs the daemon some work. One client pipelines
    # 20,000 of them; another's STATUS must still be answered promptly.
    warden.start("".join(f"p{i:03d}:\n  command: sleep 1000\n  autostart: false\n"
                         for i in range(100)))
    count = 20000
    request = wp.encode_status_request([])
    batch = b"".join(wp.encode_frame(wp.STATUS, i + 1, request) for i in range(count))
    flood = wp.connect(warden.socket, timeout=120, hello=True)
    other = wp.connect(warden.socket, timeout=120, hello=True)
    done = threading.Event()
    received = []

    def drain():  # reads the flood's replies so that they do not pile up in wardend
        try:
            n = 0
            while n < count:
                f = flood.recv_frame(timeout=120)
                assert f.type == wp.STATUS | wp.REPLY_BIT, f
                n += 1
                if n == 1:
                    received.append(time.monotonic())
            received.append(time.monotonic())
        finally:
            done.set()

    reader = threading.Thread(target=drain)
    writer = threading.Thread(target=flood.send_raw, args=(batch,))
    try:
        began = time.monotonic()
        reader.start()
        writer.start()
        wait_until(lambda: received, timeout=60, what="the flood's first reply")
        latencies = []
        while not done.is_set() and len(latencies) < 200:
            t = time.monotonic()
            processes, _ = other.status(["p000"])
            latencies.append(time.monotonic() - t)
            assert processes[0]["name"] == "p000"
        writer.join(timeout=120)
        reader.join(timeout=120)
        assert len(received) == 2, "the flood was not answered in full"
        flood_time = received[-1] - began
        worst = max(latencies)
        # Served in turn, the other client waits for at most one turn of the flood (16
        # requests, about a millisecond of work); served one connection at a time, it waited
        # for most of the flood. The bound leaves room for a loaded machine's scheduling.
        assert worst < max(0.25, flood_time / 10), (
            f"another client's STATUS took {worst * 1000:.0f} ms while 20,000 pipelined "
            f"requests took {flood_time:.2f} s (latencies: {len(latencies)})")
        assert len(latencies) >= 3, f"the flood took only {flood_time:.2f} s: too little to measure"
    finally:
        flood.close()
        other.close()
        writer.join(timeout=30)
        reader.join(timeout=30)
