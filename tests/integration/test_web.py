"""warden-web's JSON API in front of the real wardend (docs/web.md): the JSON equals
wardenctl --json's, actions act, errors map to HTTP statuses, streams stream, and the safety
rules of docs/security.md hold (loopback by default, authentication, CSRF, limits)."""

import json
import os
import subprocess
import threading

import pytest

from conftest import wait_until
from webtools import WARDEN_WEB, WardenWeb, basic, web  # noqa: F401 (web is a fixture)

PROGRAMS = """\
web:
  command: ["sh", "-c", "echo web up; exec sleep 1000"]
  startsecs: 0
quits:
  command: ["sh", "-c", "exit 3"]
  startsecs: 0
  autorestart: false
idle:
  command: sleep 1000
  autostart: false
"""

MOVING = ("uptime_s", "cpu_time_s", "rss_bytes", "description", "kernel_state", "children")


def steady(records):
    return [{k: v for k, v in r.items() if k not in MOVING} for r in records]


@pytest.fixture
def daemon(warden):
    warden.start(PROGRAMS)
    warden.wait_state("web", "RUNNING")
    warden.wait_state("quits", "EXITED")
    return warden


def test_processes_json_equals_wardenctl(daemon, web):
    web.start(daemon.socket)
    r = web.get("/api/v1/processes")
    assert r.status == 200 and r.headers["content-type"] == "application/json", r
    theirs = json.loads(daemon.ctl("--json", "status").stdout)
    assert steady(r.json()) == steady(theirs)
    assert [list(p) for p in r.json()] == [list(p) for p in theirs]
    stopped = [p for p in r.json() if p["name"] in ("quits", "idle")]
    assert stopped == [p for p in theirs if p["name"] in ("quits", "idle")]
    one = web.get("/api/v1/processes/web")
    assert one.status == 200 and [p["name"] for p in one.json()] == ["web"]
    missing = web.get("/api/v1/processes/nosuch")
    assert missing.status == 404
    assert missing.json() == {"error": "no such process", "code": 2,
                              "message": "nosuch: no such process"}


def test_actions_start_stop_restart_signal(daemon, web):
    web.start(daemon.socket)
    old = daemon.status("web")["web"]["pid"]
    r = web.post("/api/v1/processes/web/restart")
    assert r.status == 200, r
    assert r.json() == [{"name": "web", "ok": True, "result": "restarted", "error": None,
                         "message": ""}]
    assert daemon.status("web")["web"]["pid"] not in (None, old)
    r = web.post("/api/v1/processes/idle/start")
    assert r.status == 200 and daemon.status("idle")["idle"]["state"] == "RUNNING"
    r = web.post("/api/v1/processes/idle/start")
    assert r.status == 409, r
    assert r.json() == json.loads(daemon.ctl("--json", "start", "idle").stdout)
    r = web.post("/api/v1/processes/idle/stop")
    assert r.status == 200 and daemon.status("idle")["idle"]["state"] == "STOPPED"
    assert web.post("/api/v1/processes/idle/stop").status == 409
    assert web.post("/api/v1/processes/nosuch/start").status == 404
    r = web.post("/api/v1/processes/web/signal?signal=HUP")
    assert r.status == 200 and r.json()[0]["result"] == "signalled", r
    r = web.post("/api/v1/processes/web/signal", body=json.dumps({"signal": "USR1"}),
                 headers={"Content-Type": "application/json"})
    assert r.status == 200, r
    assert web.post("/api/v1/processes/web/signal?signal=NOPE").status == 400
    assert "warden-web: 127.0.0.1: restart web: web: stopped; web: started" in web.log()


def test_log_tail_and_follow(daemon, web):
    web.start(daemon.socket)
    wait_until(lambda: "web up" in web.get("/api/v1/processes/web/log").body.decode(),
               what="web's output through the API")
    r = web.get("/api/v1/processes/web/log?bytes=3")
    assert r.status == 200 and r.body == b"up\n"
    assert web.get("/api/v1/processes/nosuch/log").status == 404
    assert web.get("/api/v1/processes/nosuch/log?follow=1").status == 404
    assert web.get("/api/v1/processes/web/log?stream=other").status == 400
    stream = web.events("/api/v1/processes/web/log?follow=1&lines=0")
    got = []
    reader = threading.Thread(target=lambda: got.append(next(stream)), daemon=True)
    reader.start()
    wait_until(lambda: daemon.ctl("restart", "web").returncode == 0 and (reader.join(2) or got),
               what="a log event after a restart")
    event, data = got[0]
    assert event == "log" and "web up" in json.loads(data)
    stream.close()


def test_events_stream_and_metrics_without_daemon(daemon, web):
    web.start(daemon.socket)
    stream = web.events("/api/v1/events?name=idle&current=1")
    event, data = next(stream)
    assert json.loads(data)["process"] == "idle" and json.loads(data)["to"] == "STOPPED"
    daemon.ctl("start", "idle", check=0)
    seen = []
    for event, data in stream:
        e = json.loads(data)
        assert list(e) == ["time", "process", "from", "to", "pid", "reason"]
        seen.append(e["to"])
        if e["to"] == "RUNNING":
            break
    stream.close()
    assert seen[-2:] == ["STARTING", "RUNNING"]
    daemon.stop()
    r = web.get("/api/v1/processes")
    assert r.status == 502 and "cannot connect to" in r.json()["message"], r
    metrics = web.get("/metrics")
    assert metrics.status == 200 and b"warden_daemon_up 0\n" in metrics.body


def test_csrf_host_check_and_limits(daemon, web):
    web.start(daemon.socket)
    r = web.request("POST", "/api/v1/processes/web/stop")
    assert r.status == 403 and "X-CSRF-Token" in r.json()["message"], r
    r = web.request("POST", "/api/v1/processes/web/stop", headers={"X-CSRF-Token": "forged"})
    assert r.status == 403
    assert daemon.status("web")["web"]["state"] == "RUNNING"
    # DNS rebinding: a page on evil.example resolved to 127.0.0.1 sends its own Host.
    r = web.get("/api/v1/processes", headers={"Host": f"evil.example:{web.port}"})
    assert r.status == 403 and "loopback" in r.json()["message"]
    assert web.get("/api/v1/processes", headers={"Host": f"localhost:{web.port}"}).status == 200
    r = web.post("/api/v1/processes/web/signal", body=b"x" * (65 * 1024))
    assert r.status == 413, r
    for header in ("x-content-type-options", "content-security-policy", "x-frame-options"):
        assert header in web.get("/api/v1/processes").headers
    page = web.get("/")
    assert page.status == 200 and b"<title>warden</title>" in page.body
    assert web.get("/../../etc/passwd").status in (400, 404)


def test_refuses_open_non_loopback_and_bad_auth_files(daemon, tmp_path):
    r = subprocess.run([WARDEN_WEB, "-s", daemon.socket, "--listen", "0.0.0.0:0"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 2 and "without authentication" in r.stderr, r
    short = tmp_path / "token"
    short.write_text("short\n")
    short.chmod(0o600)
    r = subprocess.run([WARDEN_WEB, "-s", daemon.socket, "--token-file", str(short)],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 1 and str(short) in r.stderr, r
    plain = tmp_path / "passwords"
    plain.write_text("alice:secret\n")
    plain.chmod(0o600)
    r = subprocess.run([WARDEN_WEB, "-s", daemon.socket, "--password-file", str(plain)],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 1 and f"{plain}:1: " in r.stderr, r
    r = subprocess.run([WARDEN_WEB, "--listen", "nope"], capture_output=True, text=True)
    assert r.returncode == 2 and "--listen" in r.stderr


def test_token_and_password_authentication(daemon, web, tmp_path):
    token = tmp_path / "token"
    token.write_text("0123456789abcdef0123456789abcdef\n")
    r = subprocess.run([WARDEN_WEB, "-s", daemon.socket, "--token-file", str(token)],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 1 and f"chmod o-rw {token}" in r.stderr, r
    token.chmod(0o600)
    hashed = subprocess.run(["openssl", "passwd", "-6", "wonderland"], capture_output=True,
                            text=True, check=True).stdout.strip()
    passwords = tmp_path / "passwords"
    passwords.write_text(f"# who may log in\nalice:{hashed}\n")
    passwords.chmod(0o640)
    web.start(daemon.socket, "--token-file", str(token), "--password-file", str(passwords),
              listen="0.0.0.0:0")
    r = web.get("/api/v1/processes")
    assert r.status == 401 and r.headers["www-authenticate"].startswith("Basic"), r
    assert web.get("/metrics").status == 401
    assert web.get("/", headers={"Authorization": basic("alice", "wrong")}).status == 401
    assert web.get("/api/v1/processes", headers={"Authorization": basic("alice", "wonderland")}
                   ).status == 200
    # A bearer-token client needs no CSRF token: a browser never adds the header on its own.
    bearer = {"Authorization": "Bearer 0123456789abcdef0123456789abcdef"}
    r = web.request("POST", "/api/v1/processes/idle/start", headers=bearer)
    assert r.status == 200, r
    # A password login (a browser's) does.
    web.headers = {"Authorization": basic("alice", "wonderland")}
    assert web.request("POST", "/api/v1/processes/idle/stop").status == 403
    assert web.post("/api/v1/processes/idle/stop").status == 200
    assert "alice from 127.0.0.1: stop idle: idle: stopped" in web.log()
    # With authentication, any Host is fine (it is no longer what keeps pages out).
    assert web.get("/api/v1/processes", headers={"Host": "warden.example"}).status == 200


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to switch users")
def test_wardend_access_rules_apply_to_warden_web(warden, tmp_path):
    """warden-web acts with its own uid: wardend's access rules decide, and a refusal is 403."""
    from conftest import machine_lock
    from test_access import ALICE, BOB, GLOBAL, PROGRAMS as ACCESS_PROGRAMS, READERS, \
        ensure_group, ensure_user, write_config
    with machine_lock("warden-test-users"):
        ensure_group(READERS)
        ensure_user(ALICE)
        ensure_user(BOB)
    os.chmod(warden.root, 0o711)
    write_config(warden, ACCESS_PROGRAMS, GLOBAL)  # api: alice may read; web: bob may control
    warden.start()
    warden.wait_state("web", "RUNNING")
    as_alice = WardenWeb(str(tmp_path))  # its log is opened by the test, as root
    try:
        as_alice.start(warden.socket, user=ALICE)
        assert [p["name"] for p in as_alice.get("/api/v1/processes").json()] == ["api"]
        r = as_alice.post("/api/v1/processes/api/stop")
        assert r.status == 403, r
        assert r.json()["error"] == "permission denied" and r.json()["code"] == 12
        assert "(wardentest-alice) may not stop api" in r.json()["message"]
        assert warden.status("api")["api"]["state"] == "RUNNING"
    finally:
        as_alice.stop()
    as_bob = WardenWeb(str(tmp_path))
    try:
        as_bob.start(warden.socket, user=BOB)
        assert as_bob.post("/api/v1/processes/web/stop").status == 200
        assert warden.status("web")["web"]["state"] == "STOPPED"
    finally:
        as_bob.stop()
