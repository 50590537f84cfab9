"""Dependencies (depends_on) and the events and waits that show them: start order, waiting
and failing dependents, stop order, `wardenctl events` and `wait`. Real wardend, real
processes, scratch folders; every process seen is killed by pid at the end (conftest)."""

import os
import signal
import time

import wardenproto
from conftest import EventReader, pid_alive, wait_until

# A program that takes `delay` seconds to exit after SIGTERM, so a stop order is measurable.
SLOW_STOP = ["sh", "-c", "trap 'sleep {delay}; exit 0' TERM; while :; do sleep 0.05; done"]


def slow_stop(delay):
    return [w.replace("{delay}", str(delay)) for w in SLOW_STOP]


def chain_config(autostart=True, startsecs=1, stop_delay=0.4):
    cmd = slow_stop(stop_delay)
    return f"""\
        a:
          command: {cmd}
          depends_on: [b]
          startsecs: 0
          autostart: {str(autostart).lower()}
        b:
          command: {cmd}
          depends_on: [c]
          startsecs: {startsecs}
          autostart: {str(autostart).lower()}
        c:
          command: {cmd}
          startsecs: {startsecs}
          autostart: {str(autostart).lower()}
        """


# --- 1. depends_on -------------------------------------------------------------------------------


def test_chain_starts_in_order_only_after_running(warden):
    warden.start(chain_config(startsecs=1))
    s = wait_until(lambda: (lambda s: all(p["state"] == "RUNNING" for p in s.values()) and s)(
        warden.status()), what="a, b and c RUNNING")
    a, b, c = s["a"], s["b"], s["c"]
    # b may start only once c is RUNNING, i.e. startsecs (1 s) after c was spawned.
    assert b["start_time"] - c["start_time"] >= 0.9, (b["start_time"], c["start_time"])
    assert a["start_time"] - b["start_time"] >= 0.9, (a["start_time"], b["start_time"])
    assert len({a["pid"], b["pid"], c["pid"]}) == 3


def test_dependent_waits_and_says_why(warden, scratch):
    # c stays STARTING until the test says so (its readiness waits for a file), however slow
    # the machine is.
    flag = os.path.join(scratch, "go")
    warden.start(f"""\
        a:
          command: sleep 1000
          depends_on: [b]
          startsecs: 0
        b:
          command: sleep 1000
          depends_on: [c]
          startsecs: 0
        c:
          command: ["sh", "-c", "while [ ! -e {flag} ]; do sleep 0.05; done; echo >&3; exec sleep 1000"]
          ready: fd:3
          startsecs: 0
        """)
    b = wait_until(lambda: (lambda b: b["state"] == "STOPPED" and "waiting for c" in
                            b["description"] and b)(warden.status("b")["b"]),
                   what="b waiting for c")
    assert b["pid"] is None
    assert "waiting for b" in warden.status("a")["a"]["description"]
    assert warden.status("c")["c"]["state"] == "STARTING"
    open(flag, "w").close()
    warden.wait_state("a", "RUNNING")


def test_starting_a_program_starts_what_it_depends_on(warden):
    warden.start(chain_config(autostart=False, startsecs=0.5))
    assert all(p["state"] == "STOPPED" for p in warden.status().values())
    r = warden.ctl("start", "a", check=0)
    assert r.stdout.strip() == "a: started"
    s = warden.status()
    assert all(p["state"] == "RUNNING" for p in s.values()), s
    assert s["c"]["start_time"] < s["b"]["start_time"] < s["a"]["start_time"]


def test_stop_stops_dependents_first(warden):
    warden.start(chain_config(startsecs=0, stop_delay=0.4))
    wait_until(lambda: all(p["state"] == "RUNNING" for p in warden.status().values()),
               what="all running")
    pids = {n: p["pid"] for n, p in warden.status().items()}
    out = warden.ctl("stop", "c", check=0).stdout
    # The dependents stopped with c say why.
    assert set(out.split("\n")) >= {"a: stopped (depends on c)", "b: stopped (depends on c)",
                                     "c: stopped"}, out
    s = warden.status()
    assert all(p["state"] == "STOPPED" for p in s.values()), s
    # Each took 0.4 s to exit after SIGTERM and the next was only signalled after that.
    assert s["b"]["stop_time"] - s["a"]["stop_time"] >= 0.35, s
    assert s["c"]["stop_time"] - s["b"]["stop_time"] >= 0.35, s
    for pid in pids.values():
        assert not pid_alive(pid)


def test_stop_all_and_shutdown_go_in_reverse_order(warden):
    warden.start(chain_config(startsecs=0, stop_delay=0.3))
    wait_until(lambda: all(p["state"] == "RUNNING" for p in warden.status().values()),
               what="all running")
    warden.ctl("stop", "all", check=0)
    s = warden.status()
    assert s["a"]["stop_time"] < s["b"]["stop_time"] < s["c"]["stop_time"], s


def test_fatal_dependency_leaves_dependents_stopped_with_reason(warden):
    warden.start("""\
        app:
          command: sleep 1000
          depends_on: [db]
          startsecs: 0
        db:
          command: /nonexistent/db-server
          startretries: 0
        """)
    warden.wait_state("db", "FATAL")
    app = wait_until(lambda: (lambda p: "dependency db is FATAL" in p["description"] and p)(
        warden.status("app")["app"]), what="app's reason")
    assert app["state"] == "STOPPED"
    assert "No such file or directory" in app["description"]
    r = warden.ctl("start", "app", check=1)
    assert "app: ERROR" in r.stdout and "dependency db is FATAL" in r.stdout, r.stdout


def test_dependency_going_fatal_stops_running_dependents(warden, scratch):
    flag = os.path.join(scratch, "fail")
    warden.start(f"""\
        app:
          command: sleep 1000
          depends_on: [db]
          startsecs: 0
        db:
          command: ["sh", "-c", "if [ -e {flag} ]; then exit 1; fi; exec sleep 1000"]
          startsecs: 1
          startretries: 0
          autorestart: true
        """)
    warden.wait_state("app", "RUNNING")
    app_pid = warden.status("app")["app"]["pid"]
    open(flag, "w").close()
    os.kill(warden.status("db")["db"]["pid"], signal.SIGKILL)
    warden.wait_state("db", "FATAL")
    app = warden.wait_state("app", "STOPPED")
    assert "dependency db is FATAL" in app["description"]
    assert not pid_alive(app_pid)


# --- 2. events and wait ----------------------------------------------------------------------------

def test_events_stream_every_transition_with_pid_and_reason(warden):
    warden.start("""\
        web:
          command: sleep 1000
          startsecs: 0.3
          autostart: false
        """)
    events = EventReader(warden)
    try:
        warden.ctl("start", "web", check=0)
        pid = warden.status("web")["web"]["pid"]
        warden.ctl("stop", "web", check=0)
        got = [events.next() for _ in range(4)]
        assert [(e["from"], e["to"]) for e in got] == [
            ("STOPPED", "STARTING"), ("STARTING", "RUNNING"), ("RUNNING", "STOPPING"),
            ("STOPPING", "STOPPED")]
        assert all(e["process"] == "web" and e["pid"] == pid for e in got), got
        assert got[-1]["reason"] == "Stopped"
        assert got[0]["time"] <= got[1]["time"] - 0.25  # startsecs between them
    finally:
        events.close()


def test_events_show_crash_reasons_and_filter_by_name(warden):
    warden.start("""\
        crash:
          command: ["sh", "-c", "sleep 0.2; exit 3"]
          startsecs: 0
          autorestart: false
        quiet:
          command: sleep 1000
          startsecs: 0
          autostart: false
        """)
    warden.wait_state("crash", "EXITED")
    events = EventReader(warden, "crash")
    try:
        warden.ctl("start", "quiet", check=0)  # not asked for: not shown
        warden.ctl("start", "crash", check=0)
        exited = events.until(lambda e: e["to"] == "EXITED")
        assert exited["reason"] == "exit status 3"
        assert exited["pid"] > 0
        assert {e["process"] for e in events.seen} == {"crash"}
    finally:
        events.close()


def test_chain_order_seen_as_events(warden):
    warden.start(chain_config(autostart=False, startsecs=0.3, stop_delay=0.2))
    events = EventReader(warden)
    try:
        warden.ctl("start", "a", check=0)
        warden.ctl("stop", "c", check=0)
        seen = []
        while len([e for e in seen if e["to"] == "STOPPED"]) < 3:
            seen.append(events.next())
        order = [(e["process"], e["to"]) for e in seen]
        # Starts: c RUNNING before b STARTING, b RUNNING before a STARTING.
        assert order.index(("c", "RUNNING")) < order.index(("b", "STARTING"))
        assert order.index(("b", "RUNNING")) < order.index(("a", "STARTING"))
        # Stops, the other way round: a STOPPED before b STOPPING, b STOPPED before c STOPPING.
        assert order.index(("a", "STOPPED")) < order.index(("b", "STOPPING"))
        assert order.index(("b", "STOPPED")) < order.index(("c", "STOPPING"))
    finally:
        events.close()


def test_wait_blocks_until_the_state_holds(warden):
    warden.start("""\
        slow:
          command: sleep 1000
          startsecs: 1
        """)
    started = time.monotonic()
    r = warden.ctl("wait", "slow", "RUNNING", "--timeout", "10", check=0)
    assert r.stdout.strip() == "slow: RUNNING"
    assert warden.status("slow")["slow"]["state"] == "RUNNING"
    assert time.monotonic() - started < 9
    # Already true: at once.
    warden.ctl("wait", "slow", "running", check=0)
    # Never true in time: exit 1, saying what it is instead.
    started = time.monotonic()
    r = warden.ctl("wait", "slow", "STOPPED", "--timeout", "0.5", check=1)
    assert 0.4 <= time.monotonic() - started < 5
    assert "slow is RUNNING" in r.stderr, r.stderr
    assert warden.ctl("wait", "nope", "RUNNING", check=4).stdout.strip() == \
        "nope: ERROR (no such process)"
    assert warden.ctl("wait", "slow", "UP").returncode == 2


def test_wait_over_the_protocol(warden):
    warden.start("""\
        w1:
          command: sleep 1000
          startsecs: 0
          numprocs: 2
        """)
    with wardenproto.connect(warden.socket, hello=True) as conn:
        done = conn.wait(["w1:*"], "RUNNING", timeout_ms=10000)
        assert sorted(p["process"] for p in done) == ["w1:w1_00", "w1:w1_01"]
        assert all(p["to"] == "RUNNING" and p["pid"] > 0 for p in done)
        try:
            conn.wait(["w1"], "FATAL", timeout_ms=200)
            raise AssertionError("WAIT did not time out")
        except wardenproto.WardenError as e:
            assert e.code == wardenproto.TIMEOUT
        # The connection is still good.
        assert conn.status(["w1:*"])[0]


def test_events_over_the_protocol_snapshot_then_changes(warden):
    warden.start("""\
        p:
          command: sleep 1000
          startsecs: 0
        """)
    warden.wait_state("p", "RUNNING")
    with wardenproto.connect(warden.socket, hello=True) as conn:
        stream = conn.events(["p"], timeout=30)
        first = next(stream)
        assert first["snapshot"] is True
        assert [(e["process"], e["from"], e["to"]) for e in first["events"]] == [
            ("p", "RUNNING", "RUNNING")]
        with wardenproto.connect(warden.socket, hello=True) as other:
            other.stop(["p"])
        changes = [e for reply in (next(stream), next(stream)) for e in reply["events"]]
        assert [(e["from"], e["to"]) for e in changes] == [("RUNNING", "STOPPING"),
                                                           ("STOPPING", "STOPPED")]
