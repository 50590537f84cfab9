"""The Python module (python/warden, `import warden`) against the real wardend: its records
equal wardenctl --json's, its actions act, its streams stream."""

import json
import os
import sys
import threading

import pytest

from conftest import wait_until

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "python"))
import warden as wardenpy  # noqa: E402  (the module under test, from the source tree)

PROGRAMS = """\
web:
  command: ["sh", "-c", "echo web up; exec sleep 1000"]
  startsecs: 0
quits:
  command: ["sh", "-c", "exit 3"]
  startsecs: 0
  autorestart: false
broken:
  command: /nonexistent/program
  startretries: 0
idle:
  command: sleep 1000
  autostart: false
pool:
  command: sleep 1000
  numprocs: 2
  startsecs: 0
"""

# Values that move between two looks at a live process.
MOVING = ("uptime_s", "cpu_time_s", "rss_bytes", "description", "kernel_state", "children")


@pytest.fixture
def daemon(warden):
    warden.start(PROGRAMS)
    warden.wait_state("web", "RUNNING")
    warden.wait_state("quits", "EXITED")
    warden.wait_state("broken", "FATAL")
    return warden


def ctl_json(warden, *args, check=None):
    r = warden.ctl("--json", *args, check=check)
    return json.loads(r.stdout)


def test_status_records_equal_wardenctl_json(daemon):
    client = wardenpy.Client(daemon.socket)
    mine = client.status()
    theirs = ctl_json(daemon, "status")
    assert [p["name"] for p in mine] == [p["name"] for p in theirs]
    assert len(mine) == 6
    for a, b in zip(mine, theirs):
        assert list(a) == list(b), "same keys in the same order"
        if a["state"] in ("RUNNING", "STARTING", "STOPPING"):
            assert {k: v for k, v in a.items() if k not in MOVING} == \
                   {k: v for k, v in b.items() if k not in MOVING}
            assert a["description"].startswith(f"pid {a['pid']}, uptime ")
        else:
            assert a == b, a["name"]
    pool = client.status("pool:*")
    assert [p["name"] for p in pool] == ["pool:pool_00", "pool:pool_01"]
    with pytest.raises(wardenpy.Error) as e:
        client.status("nosuch")
    assert e.value.name == "NOT_FOUND" and e.value.code == 2
    client.close()


def test_actions_equal_wardenctl_json_and_act(daemon):
    with wardenpy.Client(daemon.socket) as client:
        old = client.pid("web")
        assert old == daemon.status("web")["web"]["pid"]
        assert client.restart("web") == [
            {"name": "web", "ok": True, "result": "restarted", "error": None, "message": ""}]
        new = client.pid("web")
        assert new and new != old
        assert client.stop("web") == [
            {"name": "web", "ok": True, "result": "stopped", "error": None, "message": ""}]
        assert client.pid("web") is None
        # A failure is a record, as wardenctl --json prints it.
        assert client.stop("web") == ctl_json(daemon, "stop", "web", check=1)
        assert client.start("web")[0]["ok"]
        assert client.start("nosuch") == ctl_json(daemon, "start", "nosuch", check=4)
        assert client.signal("HUP", "pool:*") == ctl_json(daemon, "signal", "HUP", "pool:*")
        assert client.pid() == daemon.proc.pid
        assert "wardend " + client.version() in daemon.ctl("version", check=0).stdout
        with pytest.raises(ValueError):
            client.signal("NOPE", "web")


def test_tail_and_follow(daemon):
    client = wardenpy.Client(daemon.socket, timeout=30)
    wait_until(lambda: b"web up\n" in client.tail("web"), what="web's first line")
    assert client.tail("web", nbytes=3) == b"up\n"
    follow = client.tail("web", lines=0, follow=True)
    got = []
    reader = threading.Thread(target=lambda: got.append(next(follow)), daemon=True)
    reader.start()
    client.restart("web")  # writes "web up" again
    reader.join(30)
    assert got and b"web up" in got[0]
    follow.close()  # ends the stream: its connection closes
    with pytest.raises(wardenpy.Error) as e:
        client.tail("nosuch")
    assert e.value.name == "NOT_FOUND"


def test_events_and_wait(daemon):
    client = wardenpy.Client(daemon.socket, timeout=30)
    events = client.events("idle", current=True)
    first = next(events)
    assert (first["process"], first["from"], first["to"]) == ("idle", "STOPPED", "STOPPED")
    client.start("idle")
    seen = []
    for e in events:
        seen.append((e["from"], e["to"]))
        if e["to"] == "RUNNING":
            assert e["pid"] == client.pid("idle")
            break
    events.close()
    assert seen[-1] == ("STARTING", "RUNNING"), seen
    waited = client.wait("idle", "RUNNING", timeout=10)
    assert waited[0]["process"] == "idle" and waited[0]["to"] == "RUNNING"
    with pytest.raises(wardenpy.Error) as e:
        client.wait("broken", "RUNNING", timeout=0.2)
    assert e.value.name == "TIMEOUT"


def test_socket_rules_and_connection_errors(daemon, monkeypatch, tmp_path):
    monkeypatch.setenv("WARDEN_SOCKET", daemon.socket)
    assert wardenpy.default_socket() == daemon.socket
    assert wardenpy.Client().status("web")[0]["name"] == "web"
    missing = str(tmp_path / "none.sock")
    with pytest.raises(wardenpy.ConnectionError) as e:
        wardenpy.Client(missing).status()
    assert missing in str(e.value) and "is wardend running?" in str(e.value)
