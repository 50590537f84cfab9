"""Health checks (`healthcheck:` http, exec, tcp) and the watchdog (`watchdog_sec`): real
wardend, real processes, real sockets; a failing check restarts the program with the reason in
status, events and wardend's log. Every process seen is killed by pid at the end (conftest)."""

import json
import os
import socket
import textwrap

from conftest import EventReader, wait_until

HTTP_SERVER = """\
import http.server, os, sys
port, flag = int(sys.argv[1]), sys.argv[2]
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        # 503 while the flag file exists; the Host header must be there (HTTP/1.0 + Host).
        code = 503 if os.path.exists(flag) else 200
        if self.path != "/health" or not self.headers.get("Host"):
            code = 400
        self.send_response(code)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *args):
        pass
http.server.HTTPServer(("127.0.0.1", port), Handler).serve_forever()
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def health_of(warden, name):
    return (warden.status(name).get(name) or {}).get("health")


def test_http_check_that_answers_503_restarts_after_retries(warden, scratch):
    port = free_port()
    flag = os.path.join(scratch, "sick")
    server = os.path.join(scratch, "server.py")
    with open(server, "w") as f:
        f.write(HTTP_SERVER)
    url = f"http://127.0.0.1:{port}/health"
    warden.start(f"""\
        web:
          command: ["/usr/bin/python3", "{server}", "{port}", "{flag}"]
          startsecs: 0
          autorestart: false
          healthcheck: {{http: "{url}", interval: 0.2, timeout: 5, retries: 3}}
        """)
    first = warden.wait_state("web", "RUNNING")["pid"]
    wait_until(lambda: health_of(warden, "web") == "healthy", what="web healthy")
    assert ", healthy" in warden.ctl("status", "web", check=0).stdout
    events = EventReader(warden, "web")
    try:
        open(flag, "w").close()
        wait_until(lambda: (health_of(warden, "web") or "").startswith("unhealthy"),
                   what="web unhealthy")
        reason = f"restarted: health check failed 3 times: {url}: 503"
        exited = events.until(lambda e: e["to"] == "EXITED")
        assert exited["reason"] == reason
        assert exited["pid"] == first
        os.unlink(flag)
        # Restarted although autorestart is false: a failed check restarts as a crash.
        running = events.until(lambda e: e["to"] == "RUNNING")
        assert running["pid"] != first
    finally:
        events.close()
    assert f"web: restarted: health check failed 3 times: {url}: 503" in warden.log()
    assert "unhealthy 1/3" in warden.log() and "unhealthy 2/3" in warden.log()
    p = warden.wait_state("web", "RUNNING")
    assert p["restarts"] == 1
    wait_until(lambda: health_of(warden, "web") == "healthy", what="healthy again")


def test_exec_check_restarts_on_failures_and_timeouts(warden, scratch):
    flag = os.path.join(scratch, "ok")
    open(flag, "w").close()
    warden.start(f"""\
        svc:
          command: sleep 1000
          startsecs: 0
          directory: {scratch}
          healthcheck:
            exec: [test, -e, ok]
            interval: 0.2
            retries: 2
        slow:
          command: sleep 1000
          startsecs: 0
          healthcheck: {{exec: "sleep 30", interval: 0.1, timeout: 0.3, retries: 1}}
        """)
    warden.wait_state("svc", "RUNNING")
    wait_until(lambda: health_of(warden, "svc") == "healthy", what="svc healthy")
    events = EventReader(warden, "svc", "slow")
    try:
        exited = events.until(lambda e: e["to"] == "EXITED" and e["process"] == "slow")
        assert exited["reason"] == ("restarted: health check failed 1 times: exec sleep: "
                                    "timed out after 0.3s")
        os.unlink(flag)  # relative to the program's directory: the check runs there
        exited = events.until(lambda e: e["to"] == "EXITED" and e["process"] == "svc")
        assert exited["reason"] == "restarted: health check failed 2 times: exec test: exit status 1"
    finally:
        events.close()
    # A timed-out check is killed, not left behind; checks are no children of the program.
    warden.ctl("stop", "slow", check=0)
    p = warden.status("svc")["svc"]
    assert p["children"] == []


def test_tcp_check_and_start_period(warden):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    port = listener.getsockname()[1]
    try:
        warden.start(f"""\
            db:
              command: sleep 1000
              startsecs: 0
              healthcheck: {{tcp: {port}, interval: 0.2, retries: 2, start_period: 1}}
            """)
        warden.wait_state("db", "RUNNING")
        wait_until(lambda: health_of(warden, "db") == "healthy", what="db healthy")
        events = EventReader(warden, "db")
        try:
            listener.close()
            exited = events.until(lambda e: e["to"] == "EXITED")
            assert exited["reason"] == (f"restarted: health check failed 2 times: tcp port {port}: "
                                        "Connection refused")
            # The new process is in its start period: refusals do not count for 1 s, so it
            # stays up that long at least, showing "starting".
            assert events.until(lambda e: e["to"] == "RUNNING")
            assert health_of(warden, "db") == "starting"
        finally:
            events.close()
    finally:
        listener.close()


def environ_of(pid):
    with open(f"/proc/{pid}/environ", "rb") as f:
        return dict(e.split(b"=", 1) for e in f.read().split(b"\0") if b"=" in e)


def test_watchdog_restarts_a_program_that_stops_sending_watchdog(warden, scratch):
    script = os.path.join(scratch, "svc.sh")
    with open(script, "w") as f:
        f.write(textwrap.dedent("""\
            #!/bin/sh
            systemd-notify --ready
            i=0
            while [ $i -lt 4 ]; do systemd-notify WATCHDOG=1; sleep 0.3; i=$((i+1)); done
            exec sleep 1000
            """))
    os.chmod(script, 0o755)
    trigger = os.path.join(scratch, "trigger")
    warden.start(f"""\
        svc:
          command: {script}
          ready: notify
          watchdog_sec: 1.5
        asks:
          command: ["sh", "-c", "systemd-notify --ready; while [ ! -e {trigger} ]; do sleep 0.05; done; systemd-notify WATCHDOG=trigger; exec sleep 1000"]
          ready: notify
          watchdog_sec: 100
        """)
    events = EventReader(warden, "svc", "asks")
    try:
        running = warden.wait_state("svc", "RUNNING")
        env = environ_of(running["pid"])
        assert env[b"WATCHDOG_USEC"] == b"1500000"
        assert env[b"WATCHDOG_PID"] == str(running["pid"]).encode()
        # Four beats 0.3 s apart keep it up past 1.5 s; then the beats stop.
        exited = events.until(lambda e: e["to"] == "EXITED" and e["process"] == "svc")
        assert exited["reason"] == "restarted: watchdog timeout after 1.5s"
        assert exited["pid"] == running["pid"]
        assert events.until(lambda e: e["to"] == "RUNNING" and e["process"] == "svc")
        first = warden.wait_state("asks", "RUNNING")["pid"]
        open(trigger, "w").close()
        exited = events.until(lambda e: e["to"] == "EXITED" and e["process"] == "asks")
        assert exited["reason"] == "restarted: the program asked for it (WATCHDOG=trigger)"
        assert exited["pid"] == first
        os.unlink(trigger)
    finally:
        events.close()
    assert "svc: restarted: watchdog timeout after 1.5s" in warden.log()


# --- wardenctl show ------------------------------------------------------------------------------


def test_show_of_a_fatal_program_shows_its_exit_and_last_stderr_lines(warden):
    warden.start("""\
        bad:
          command: ["sh", "-c", "echo starting; echo 'error: cannot bind 127.0.0.1:8080' >&2; exit 3"]
          startretries: 0
          backoff: false
        """)
    warden.wait_state("bad", "FATAL")
    r = warden.ctl("show", "bad", check=0)
    text = r.stdout
    assert text.startswith("bad - FATAL: Exited too quickly"), text
    assert "  Last exit: exit status 3, " in text
    assert "\nLast lines of stderr:\n  error: cannot bind 127.0.0.1:8080\n" in text
    assert "\nLast lines of stdout:\n  starting\n" in text
    assert "Main PID" not in text
    r = warden.ctl("show", "nope", check=4)
    assert "nope: ERROR (no such process)" in r.stdout
    assert warden.ctl("show", check=2).returncode == 2


def test_show_json_fields(warden, scratch):
    warden.start(f"""\
        web:
          command: ["sh", "-c", "echo hello; sleep 1000 & wait"]
          directory: {scratch}
          startsecs: 0
          environment: {{PORT: "8080", MODE: prod}}
          healthcheck: {{exec: ["true"], interval: 0.2}}
        """)
    pid = warden.wait_state("web", "RUNNING")["pid"]
    wait_until(lambda: health_of(warden, "web") == "healthy", what="web healthy")

    def shown():
        s = json.loads(warden.ctl("show", "web", "--json", check=0).stdout)
        return s if s["children"] and s["stdout_tail"] == ["hello"] else None
    s = wait_until(shown, what="show with the child and the output")
    assert s["name"] == "web" and s["state"] == "RUNNING" and s["pid"] == pid
    assert s["children"][0]["kernel_state"] in ("S", "R")
    warden.seen_pids.add(s["children"][0]["pid"])
    assert s["command"] == ["sh", "-c", "echo hello; sleep 1000 & wait"]
    assert s["directory"] == scratch and s["user"] is None
    assert s["environment"] == {"PORT": "8080", "MODE": "prod"}
    assert [log["stream"] for log in s["logs"]] == ["stdout", "stderr"]
    assert s["logs"][0]["path"] == os.path.join(warden.log_dir, "web.stdout.log")
    assert s["logs"][0]["size"] == len("hello\n")
    assert s["readiness"] == "startsecs 0s"
    assert s["healthcheck"] == "exec true every 0.2s, timeout 30s, 3 retries"
    assert s["health"] == "healthy"
    assert s["watchdog_sec"] is None
    assert s["restarts"] == 0 and s["exit_status"] is None
    assert s["stderr_tail"] == []
    text = warden.ctl("show", "web", check=0).stdout
    assert text.startswith(f"web - RUNNING: pid {pid}, uptime ")
    assert f"   Main PID: {pid} (" in text
    assert "     Health: healthy\n             exec true every 0.2s" in text
