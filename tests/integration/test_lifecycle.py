"""Lifecycle (issue 3): dependencies, readiness, crash-loop backoff, program attributes,
leftover processes, events. Real wardend, real processes, scratch folders; every process seen
is killed by pid at the end (conftest)."""

import grp
import json
import os
import pwd
import resource
import select
import signal
import socket
import stat
import subprocess
import textwrap
import threading
import time

import pytest

import wardenproto
from conftest import WARDENCTL, pid_alive, wait_until

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


# --- 2. readiness ----------------------------------------------------------------------------------


class NotifyDrain:
    """Reads wardend's own sd_notify datagrams (STATUS= on every state change) in the background.
    With net.unix.max_dgram_qlen as low as 10, an unread fake NOTIFY_SOCKET would otherwise fill
    up during a crash loop and wardend's blocking sd_notify would stall (see the report)."""

    def __init__(self, warden):
        self.sock = warden.notify
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        self.sock.settimeout(0.1)
        while not self.stop.is_set():
            try:
                self.sock.recv(4096)
            except (socket.timeout, BlockingIOError):
                pass
            except OSError:
                return

    def close(self):
        self.stop.set()
        self.thread.join()


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def env_of(pid):
    with open(f"/proc/{pid}/environ", "rb") as f:
        return dict(e.split(b"=", 1) for e in f.read().split(b"\0") if b"=" in e)


def test_notify_with_systemd_notify_goes_running_only_after_ready(warden, scratch):
    flag = os.path.join(scratch, "go")
    script = os.path.join(scratch, "svc.sh")
    with open(script, "w") as f:
        f.write(textwrap.dedent(f"""\
            #!/bin/sh
            systemd-notify --status="warming up"
            while [ ! -e {flag} ]; do sleep 0.05; done
            systemd-notify --ready --status="serving"
            exec sleep 1000
            """))
    os.chmod(script, 0o755)
    warden.start(f"""\
        svc:
          command: {script}
          ready: notify
          startsecs: 0
        """)
    p = wait_until(lambda: (lambda p: p["status_text"] == "warming up" and p)(
        warden.status("svc")["svc"]), what="STATUS=warming up")
    assert p["state"] == "STARTING"
    assert "status: warming up" in p["description"]
    # The socket is the process's own: mode 0600, under the control socket's folder.
    sock = env_of(p["pid"])[b"NOTIFY_SOCKET"].decode()
    assert os.path.dirname(sock) == os.path.join(warden.root, "notify")
    st = os.stat(sock)
    assert stat.S_ISSOCK(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o600
    time.sleep(1.2)  # past startsecs 1 (the default) and more: nothing may happen by itself
    assert warden.status("svc")["svc"]["state"] == "STARTING"
    open(flag, "w").close()
    p = warden.wait_state("svc", "RUNNING")
    assert p["status_text"] == "serving"
    assert warden.ctl("status", "svc", check=0).stdout.rstrip().endswith("status: serving")
    assert sorted(int(x) for x in os.listdir(f"/proc/{p['pid']}/fd")) == [0, 1, 2]
    warden.ctl("stop", "svc", check=0)
    assert not os.path.exists(sock), "the notify socket goes with its process"


def test_notify_closes_every_passed_fd(warden, scratch):
    # The child passes the write end of a pipe with SCM_RIGHTS and says READY=1 only once that
    # pipe reports EOF, i.e. once wardend closed the copy it received.
    script = os.path.join(scratch, "fdpass.py")
    with open(script, "w") as f:
        f.write(textwrap.dedent("""\
            import array, os, socket, time
            path = os.environ["NOTIFY_SOCKET"]
            r, w = os.pipe()
            s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            fds = array.array("i", [w, w, w])
            s.sendmsg([b"STATUS=passing fds"],
                      [(socket.SOL_SOCKET, socket.SCM_RIGHTS, fds.tobytes())], 0, path)
            os.close(w)
            assert os.read(r, 1) == b""
            s.sendto(b"READY=1", path)
            time.sleep(1000)
            """))
    warden.start(f"""\
        fdpass:
          command: ["/usr/bin/python3", "{script}"]
          ready: notify
          ready_timeout: 10
        """)
    warden.wait_state("fdpass", "RUNNING")
    fds = os.listdir(f"/proc/{warden.proc.pid}/fd")
    targets = [os.readlink(f"/proc/{warden.proc.pid}/fd/{fd}") for fd in fds]
    assert not any(t.startswith("pipe:") and "fdpass" in t for t in targets)


def test_notify_as_another_user_owns_its_socket(warden):
    if os.geteuid() != 0:
        pytest.skip("needs root to switch users")
    nobody = pwd.getpwnam("nobody")
    os.chmod(warden.root, 0o755)  # nobody must reach its socket under the control socket's folder
    warden.start("""\
        asnobody:
          command: ["sh", "-c", "systemd-notify --ready; exec sleep 1000"]
          user: nobody
          ready: notify
        """)
    p = warden.wait_state("asnobody", "RUNNING")
    sock = env_of(p["pid"])[b"NOTIFY_SOCKET"].decode()
    st = os.stat(sock)
    assert st.st_uid == nobody.pw_uid
    assert stat.S_IMODE(st.st_mode) == 0o600


def test_ready_fd_newline(warden, scratch):
    flag = os.path.join(scratch, "go")
    warden.start(f"""\
        fdready:
          command: ["sh", "-c", "while [ ! -e {flag} ]; do sleep 0.05; done; echo >&3; exec sleep 1000"]
          ready: fd:3
          startsecs: 0
        """)
    p = warden.wait_state("fdready", "STARTING")
    # The readiness fd is the only one besides 0, 1, 2.
    assert sorted(int(x) for x in os.listdir(f"/proc/{p['pid']}/fd")) == [0, 1, 2, 3]
    time.sleep(1.2)
    assert warden.status("fdready")["fdready"]["state"] == "STARTING"
    open(flag, "w").close()
    warden.wait_state("fdready", "RUNNING")


def test_ready_tcp_port(warden, scratch):
    port = free_port()
    flag = os.path.join(scratch, "go")
    server = os.path.join(scratch, "server.py")
    with open(server, "w") as f:
        f.write(textwrap.dedent(f"""\
            import os, socket, time
            while not os.path.exists({flag!r}):
                time.sleep(0.05)
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", {port}))
            s.listen()
            while True:
                s.accept()[0].close()
            """))
    warden.start(f"""\
        web:
          command: ["/usr/bin/python3", "{server}"]
          ready: {{tcp: {port}}}
          startsecs: 0
        """)
    warden.wait_state("web", "STARTING")
    time.sleep(1.2)
    assert warden.status("web")["web"]["state"] == "STARTING"
    open(flag, "w").close()
    warden.wait_state("web", "RUNNING")


def test_ready_timeout_is_a_failed_start(warden):
    warden.start("""\
        mute:
          command: sleep 1000
          ready: notify
          ready_timeout: 0.5
          startretries: 1
          stopwaitsecs: 1
        """)
    p = warden.wait_state("mute", "FATAL")
    assert p["description"] == "not ready within 0.5s"
    assert p["restarts"] == 1
    r = warden.ctl("start", "mute", check=1)
    assert "mute: ERROR (abnormal termination: not ready within 0.5s)" in r.stdout, r.stdout


# --- 3. crash-loop backoff -------------------------------------------------------------------------


def test_crash_loop_delays_grow_cap_and_reset(warden, scratch):
    script = os.path.join(scratch, "crash.sh")
    with open(script, "w") as f:
        f.write(textwrap.dedent(f"""\
            #!/bin/sh
            cd {scratch}
            n=$(cat count 2>/dev/null || echo 0); n=$((n+1)); echo $n > count
            if [ $n -eq 6 ]; then sleep 2.5; fi
            if [ $n -ge 8 ]; then exec sleep 1000; fi
            exit 1
            """))
    os.chmod(script, 0o755)
    warden.start(f"""\
        crashy:
          command: {script}
          startsecs: 0
          autostart: false
          autorestart: true
          backoff: {{initial: 0.5, max: 2, reset_after: 2, jitter: 0}}
        """)
    drain = NotifyDrain(warden)
    events = EventReader(warden, "crashy")
    try:
        warden.ctl("start", "crashy", check=0)
        check_crash_loop(warden, events)
    finally:
        events.close()
        drain.close()


def check_crash_loop(warden, events):
    # While it waits, status says when the next try is.
    p = wait_until(lambda: (lambda p: p["state"] == "BACKOFF" and p["retry_in_s"] and p)(
        warden.status("crashy")["crashy"]), what="a crash-loop wait")
    assert "exit status 1, next try in" in p["description"], p["description"]
    # The delays by wardend's own clock (the events' times): from a run's end (a transition
    # out of RUNNING) to the next start (a transition to STARTING). The test's clock would add
    # however long a loaded machine takes to fork the script and to deliver its exit.
    starts, exits = [], []
    while len(starts) < 8:
        e = events.next(timeout=60)
        if e["from"] == "RUNNING":
            exits.append(e["time"])
        if e["to"] == "STARTING":
            starts.append(e["time"])
    delays = [starts[i + 1] - exits[i] for i in range(7)]
    expected = [0, 0.5, 1, 2, 2, 0, 0.5]  # at once, growing, capped, reset after a long run
    for got, want in zip(delays, expected):
        assert want - 0.05 <= got <= want + 0.45, (delays, expected, events.seen)
    warden.wait_state("crashy", "RUNNING")


# --- 4. program attributes -------------------------------------------------------------------------


def proc_status(pid):
    with open(f"/proc/{pid}/status") as f:
        return dict(line.rstrip("\n").split(":\t", 1) for line in f if ":\t" in line)


def test_variables_expand_in_environment_and_command(warden, scratch):
    out = os.path.join(scratch, "out")
    os.environ["LIFECYCLE_TEST_BASE"] = "/opt/base"  # wardend inherits the test's environment
    try:
        warden.start(f"""\
            envx:
              command: ["sh", "-c", "echo \\"$0|$A|$B|$C|$D\\" > {out}; exec sleep 1000",
                        "${{WARDEN_PROGRAM}}-${{PORT}}"]
              environment:
                PORT: "8080"
                A: "${{LIFECYCLE_TEST_BASE}}/bin"
                B: "${{A}}:${{PORT}}"
                C: "${{NOT_SET:-fallback}}"
                D: "$${{HOME}} $HOME"
              startsecs: 0
            """)
    finally:
        del os.environ["LIFECYCLE_TEST_BASE"]
    warden.wait_state("envx", "RUNNING")
    wait_until(lambda: os.path.exists(out) and open(out).read().strip(), what="out")
    assert open(out).read().strip() == (
        "envx-8080|/opt/base/bin|/opt/base/bin:8080|fallback|${HOME} $HOME")


def test_user_group_rlimits_umask_oom(warden):
    if os.geteuid() != 0:
        pytest.skip("needs root to switch users")
    nobody = pwd.getpwnam("nobody")
    adm = grp.getgrnam("adm")
    # "unlimited" where the hard limit allows it (raising a hard limit needs CAP_SYS_RESOURCE).
    stack_unlimited = resource.getrlimit(resource.RLIMIT_STACK)[1] == resource.RLIM_INFINITY
    warden.start(f"""\
        ident:
          command: sleep 1000
          user: nobody
          group: adm
          umask: "027"
          rlimits: {{nofile: 1234, core: 0{", stack: unlimited" if stack_unlimited else ""}}}
          startsecs: 0
        """)
    p = warden.wait_state("ident", "RUNNING")
    st = proc_status(p["pid"])
    assert st["Uid"].split()[0] == str(nobody.pw_uid)
    assert st["Gid"].split()[0] == str(adm.gr_gid)
    assert str(adm.gr_gid) in st["Groups"].split()
    assert int(st["Umask"], 8) == 0o027
    env = env_of(p["pid"])
    assert env[b"USER"] == b"nobody" and env[b"LOGNAME"] == b"nobody"
    assert env[b"HOME"] == nobody.pw_dir.encode()
    with open(f"/proc/{p['pid']}/limits") as f:
        limits = {l[:26].strip(): l[26:].split() for l in f.readlines()[1:]}
    assert limits["Max open files"][:2] == ["1234", "1234"]
    assert limits["Max core file size"][:2] == ["0", "0"]
    if stack_unlimited:
        assert limits["Max stack size"][:2] == ["unlimited", "unlimited"]
    assert open(f"/proc/{p['pid']}/oom_score_adj").read().strip() == "0"
    # A wardend with another OOM score still gives its programs 0.
    with open(f"/proc/{warden.proc.pid}/oom_score_adj", "w") as f:
        f.write("300")
    warden.ctl("restart", "ident", check=0)
    p = warden.status("ident")["ident"]
    assert open(f"/proc/{p['pid']}/oom_score_adj").read().strip() == "0"


def test_bad_group_and_rlimit_say_why(warden):
    warden.start("""\
        nogroup:
          command: sleep 1000
          group: no-such-group-here
          startretries: 0
        toomany:
          command: sleep 1000
          rlimits: {nofile: 99999999999}
          startretries: 0
        """)
    p = warden.wait_state("nogroup", "FATAL")
    assert "group no-such-group-here" in p["description"]
    p = warden.wait_state("toomany", "FATAL")
    assert "setrlimit" in p["description"], p["description"]


# --- 5. no orphans ---------------------------------------------------------------------------------

DAEMONIZE = """\
import os, sys, time
r, w = os.pipe()
if os.fork() > 0:
    os.close(w)
    os.read(r, 1)        # the main process exits once the daemon is up, as daemons' parents do
    sys.exit(0)
os.close(r)
os.setsid()              # a session of its own: out of the program's session and group
if os.fork() > 0:
    sys.exit(0)          # the intermediate exits: the daemon is wardend's orphan now
with open(sys.argv[1], "w") as f:
    f.write(str(os.getpid()))
os.write(w, b"up")
os.close(w)
time.sleep(1000)
"""


def write_daemonizer(scratch):
    path = os.path.join(scratch, "daemonize.py")
    with open(path, "w") as f:
        f.write(DAEMONIZE)
    return path


def read_pid(path):
    wait_until(lambda: os.path.exists(path) and open(path).read().strip(), what=path)
    return int(open(path).read())


def subtree_of(pid):
    """Every live process below `pid` (by ppid), from one pass over /proc."""
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
                if fields[0] not in ("Z", "X"):
                    parents[int(entry)] = int(fields[1])
            except (FileNotFoundError, ProcessLookupError, IndexError):
                pass
    found, frontier = set(), {pid}
    while frontier:
        frontier = {p for p, pp in parents.items() if pp in frontier} - found
        found |= frontier
    return found


def test_double_forked_daemon_is_kept_shown_and_killed_on_stop(warden, scratch):
    pidfile = os.path.join(scratch, "daemon.pid")
    warden.start(f"""\
        forky:
          command: ["/usr/bin/python3", "{write_daemonizer(scratch)}", "{pidfile}"]
          startsecs: 0
          autorestart: false
          keep_orphans: true
        """)
    daemon = read_pid(pidfile)
    warden.seen_pids.add(daemon)
    # The intermediate parent may show as a zombie child until wardend has reaped it.
    wait_until(lambda: (lambda p: p["state"] == "EXITED" and
                        [c["pid"] for c in p["children"]] == [daemon])(
        warden.status("forky")["forky"]), what="forky EXITED with its daemon")
    assert pid_alive(daemon)
    assert warden.ctl("stop", "forky", check=0).stdout.strip() == "forky: stopped"
    assert not pid_alive(daemon)
    assert warden.status("forky")["forky"]["state"] == "STOPPED"
    assert subtree_of(warden.proc.pid) == set()


def test_leftovers_are_stopped_when_the_main_process_dies(warden, scratch):
    pidfile = os.path.join(scratch, "daemon.pid")
    warden.start(f"""\
        forky:
          command: ["/usr/bin/python3", "{write_daemonizer(scratch)}", "{pidfile}"]
          startsecs: 0
          autorestart: false
        """)
    daemon = read_pid(pidfile)
    warden.seen_pids.add(daemon)
    wait_until(lambda: not pid_alive(daemon), what="the daemon to be stopped")
    p = warden.wait_state("forky", "EXITED")
    assert p["children"] == []
    assert subtree_of(warden.proc.pid) == set()


def test_restart_waits_for_the_old_instances_workers(warden, scratch):
    log = os.path.join(scratch, "log")
    # The main process starts a worker that takes 0.5 s to stop, then crashes.
    warden.start(f"""\
        web:
          command: ["sh", "-c", "echo main-start $(date +%s.%N) >> {log};
                    sh -c 'trap \\"sleep 0.5; echo worker-exit $(date +%s.%N) >> {log}; exit\\" TERM;
                           while :; do sleep 0.05; done' &
                    sleep 0.3; exit 1"]
          startsecs: 0
          autorestart: true
          stopasgroup: true
        """)
    wait_until(lambda: os.path.exists(log) and open(log).read().count("main-start") >= 2,
               what="a restart")
    events = [line.split() for line in open(log)]
    exits = [float(t) for kind, t in events if kind == "worker-exit"]
    starts = [float(t) for kind, t in events if kind == "main-start"]
    assert exits, events
    assert exits[0] < starts[1], "the new instance started while the old worker still ran"
    warden.ctl("stop", "web", check=0)
    assert subtree_of(warden.proc.pid) == set()


def test_stop_kills_a_leftover_that_ignores_the_stop_signal(warden, scratch):
    pidfile = os.path.join(scratch, "stubborn.pid")
    warden.start(f"""\
        stubborn:
          command: ["sh", "-c", "setsid sh -c 'trap \\"\\" TERM; echo $$ > {pidfile}; while :; do sleep 0.05; done' &
                    exec sleep 1000"]
          startsecs: 0
          stopwaitsecs: 1
        """)
    leftover = read_pid(pidfile)
    warden.seen_pids.add(leftover)
    p = warden.wait_state("stubborn", "RUNNING")
    assert leftover in [c["pid"] for c in p["children"]]
    started = time.monotonic()
    warden.ctl("stop", "stubborn", check=0)
    assert time.monotonic() - started >= 0.9, "the stop waited for stopwaitsecs, then SIGKILL"
    assert not pid_alive(leftover)
    assert subtree_of(warden.proc.pid) == set()


# --- 6. events and wait ----------------------------------------------------------------------------


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


def test_stop_continues_a_stopped_process_so_it_can_exit_on_its_stop_signal(warden):
    """A program stopped with SIGSTOP gets SIGCONT right after its stop signal (as systemd
    sends it): it exits on SIGTERM instead of waiting out stopwaitsecs for SIGKILL."""
    warden.start("frozen:\n  command: sleep 1000\n  startsecs: 0\n  stopwaitsecs: 60\n")
    pid = warden.wait_state("frozen", "RUNNING")["pid"]
    warden.ctl("signal", "STOP", "frozen", check=0)
    wait_until(lambda: warden.status("frozen")["frozen"]["kernel_state"] == "T",
               what="frozen to be stopped (T)")
    warden.ctl("stop", "frozen", check=0, timeout=120)
    assert f"frozen: pid {pid} terminated by SIGTERM" in warden.log()
