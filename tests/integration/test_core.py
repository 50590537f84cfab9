"""The core loop: wardend supervises real programs and wardenctl controls them."""

import os
import signal
import subprocess
import time

from conftest import WARDEND, pid_alive, wait_sleeping, wait_until

SLEEPER = """\
sleeper:
  command: sleep 1000
  startsecs: 0
"""


def test_status_shows_pid_uptime_and_kernel_state(warden):
    warden.start(SLEEPER)
    p = warden.wait_state("sleeper", "RUNNING")
    assert p["pid"] > 0 and pid_alive(p["pid"])
    wait_sleeping(p["pid"])
    # A status may show what it read up to status_max_age (1 s) ago: the loader's R or D.
    wait_until(lambda: warden.status("sleeper")["sleeper"]["kernel_state"] == "S",
               what="kernel state S")
    text = warden.ctl("status", check=0).stdout
    line = [l for l in text.splitlines() if l.startswith("sleeper")][0]
    assert line.split()[1] == "RUNNING"
    assert f"pid {p['pid']}, uptime 0:00:" in line
    assert "state S" in line or "state R" in line


def test_crash_is_restarted_with_new_pid(warden):
    warden.start("""\
        crasher:
          command: ["sleep", "1000"]
          startsecs: 0
          autorestart: true
        """)
    first = warden.wait_state("crasher", "RUNNING")["pid"]
    os.kill(first, signal.SIGKILL)
    second = wait_until(lambda: (lambda p: p["state"] == "RUNNING" and p["pid"] != first
                                 and p)(warden.status("crasher")["crasher"]),
                        what="a new pid")
    assert second["pid"] != first
    assert second["restarts"] == 1
    assert not pid_alive(first)


def test_missing_command_is_fatal_with_reason(warden):
    warden.start("""\
        ghost:
          command: /nonexistent/program --flag
          startretries: 0
        """)
    p = warden.wait_state("ghost", "FATAL")
    assert "No such file or directory" in p["description"]
    assert p["pid"] is None
    text = warden.ctl("status", "ghost", check=3).stdout
    assert "FATAL" in text and "No such file or directory" in text
    out = warden.ctl("start", "ghost", check=1).stdout
    assert "ghost: ERROR (spawn error" in out


def test_bad_directory_names_the_failed_step(warden):
    warden.start("""\
        lost:
          command: sleep 1000
          directory: /nonexistent-dir
          startretries: 0
        """)
    p = warden.wait_state("lost", "FATAL")
    assert "chdir" in p["description"]


def test_exit_before_startsecs_backs_off_to_fatal(warden):
    warden.start("""\
        quick:
          command: ["sh", "-c", "exit 3"]
          startsecs: 5
          startretries: 1
        """)
    p = warden.wait_state("quick", "FATAL")
    assert "Exited too quickly" in p["description"]
    assert p["restarts"] == 1


def test_stop_kills_whole_group_after_stopwaitsecs(warden):
    warden.start("""\
        stubborn:
          command: ["sh", "-c", "trap '' TERM; sleep 1000 & sleep 1000 & wait"]
          startsecs: 0
          stopwaitsecs: 1
          stopasgroup: true
        """)
    p = warden.wait_state("stubborn", "RUNNING")
    kids = wait_until(lambda: len(warden.status("stubborn")["stubborn"]["children"]) >= 2
                      and warden.status("stubborn")["stubborn"]["children"],
                      what="two children")
    pids = [p["pid"]] + [k["pid"] for k in kids]
    started = time.monotonic()
    out = warden.ctl("stop", "stubborn", check=0).stdout
    elapsed = time.monotonic() - started
    assert "stubborn: stopped" in out
    assert elapsed >= 0.9, "SIGTERM was ignored, so the stop must wait for stopwaitsecs"
    assert warden.status("stubborn")["stubborn"]["state"] == "STOPPED"
    wait_until(lambda: not any(pid_alive(x) for x in pids), what="group gone")


def test_zombie_child_is_shown_as_Z(warden):
    # The shell forks `true` and execs sleep, which never reaps it: a zombie stays behind.
    warden.start("""\
        zombie_maker:
          command: ["sh", "-c", "true & exec sleep 1000"]
          startsecs: 0
        """)
    p = wait_until(lambda: (lambda p: any(c["kernel_state"] == "Z" for c in p["children"])
                            and p)(warden.status("zombie_maker")["zombie_maker"]),
                   what="a zombie child")
    zombie = [c for c in p["children"] if c["kernel_state"] == "Z"][0]
    assert zombie["pid"] != p["pid"]


def proc_state(pid):
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()[0]


KEEPER = """\
keeper:
  command: ["sh", "-c", "sleep 1000 & exec sleep 1000"]
  startsecs: 0
other:
  command: sleep 1000
  startsecs: 0
"""


def start_with_max_age(warden, seconds):
    path = warden.write_config(KEEPER)
    with open(path) as f:
        text = f.read()
    with open(path, "w") as f:
        f.write(text.replace("programs:\n", f"  status_max_age: {seconds}\nprograms:\n", 1))
    warden.start()


def test_status_reuses_kernel_facts_until_wardend_sees_a_change(warden):
    # keeper's child is a grandchild of wardend: when it dies, only keeper is told.
    start_with_max_age(warden, 60)
    # A status of one program of two reads /proc and keeps nothing.
    keeper = wait_until(lambda: (lambda p: p["state"] == "RUNNING" and p["children"] and p)(
        warden.status("keeper")["keeper"]), what="keeper's child")
    child = keeper["children"][0]["pid"]
    # Just forked, the child may still be running (R) on a busy machine: the facts kept below
    # must be those of a sleeping child.
    wait_until(lambda: proc_state(child) == "S", what="keeper's child asleep")
    assert warden.status()["keeper"]["children"] == [{"pid": child, "kernel_state": "S"}]
    os.kill(child, signal.SIGKILL)
    wait_until(lambda: proc_state(child) == "Z", what="the child a zombie")
    # Nothing wardend saw: the whole status's facts are reused, by any status.
    assert warden.status()["keeper"]["children"] == [{"pid": child, "kernel_state": "S"}]
    assert warden.status("keeper")["keeper"]["children"][0]["kernel_state"] == "S"
    # A signal wardend sends (and the SIGCHLD of the stop) makes the next status read again.
    warden.ctl("signal", "STOP", "other", check=0)
    wait_until(lambda: warden.status()["other"]["kernel_state"] == "T", what="other stopped")
    assert warden.status()["keeper"]["children"] == [{"pid": child, "kernel_state": "Z"}]
    warden.ctl("signal", "CONT", "other", check=0)
    wait_until(lambda: warden.status()["other"]["kernel_state"] in ("S", "R"),
               what="other continued")


def test_status_max_age_0_reads_proc_every_time(warden):
    start_with_max_age(warden, 0)
    keeper = wait_until(lambda: (lambda p: p["state"] == "RUNNING" and p["children"] and p)(
        warden.status()["keeper"]), what="keeper's child")
    child = keeper["children"][0]["pid"]
    os.kill(child, signal.SIGKILL)
    wait_until(lambda: proc_state(child) == "Z", what="the child a zombie")
    assert warden.status()["keeper"]["children"] == [{"pid": child, "kernel_state": "Z"}]


def test_sigterm_stops_everything_and_exits_zero(warden):
    warden.start("""\
        a:
          command: ["sh", "-c", "sleep 1000 & wait"]
          startsecs: 0
          stopasgroup: true
        b:
          command: sleep 1000
          startsecs: 0
          priority: 10
        """)
    warden.wait_state("a", "RUNNING")
    warden.wait_state("b", "RUNNING")
    status = wait_until(lambda: (lambda s: len(s["a"]["children"]) == 1 and s)(warden.status()),
                        what="a's child")
    pids = [status["a"]["pid"], status["b"]["pid"], status["a"]["children"][0]["pid"]]
    warden.proc.send_signal(signal.SIGTERM)
    assert warden.proc.wait(timeout=20) == 0
    warden.wait_notify("STOPPING=1", timeout=1)
    for pid in pids:
        assert not pid_alive(pid), f"pid {pid} survived wardend's shutdown"
    assert not os.path.exists(warden.socket)


def test_start_stop_restart_words_and_exit_codes(warden):
    warden.start("""\
        web:
          command: sleep 1000
          startsecs: 0
          autostart: false
        """)
    assert warden.ctl("status", "web", check=3).stdout.split()[1] == "STOPPED"
    assert warden.ctl("start", "web", check=0).stdout.strip() == "web: started"
    assert warden.ctl("start", "web", check=1).stdout.strip() == "web: ERROR (already started)"
    first = warden.status("web")["web"]["pid"]
    out = warden.ctl("restart", "web", check=0).stdout
    assert "web: started" in out
    assert warden.status("web")["web"]["pid"] != first
    assert warden.ctl("stop", "web", check=0).stdout.strip() == "web: stopped"
    assert warden.ctl("stop", "web", check=1).stdout.strip() == "web: ERROR (not running)"
    assert "nosuch: ERROR (no such process)" in warden.ctl("start", "nosuch", check=4).stdout
    assert warden.ctl("status", "nosuch", check=4).returncode == 4


def test_numprocs_groups_and_all(warden):
    warden.start("""\
        worker:
          command: sleep 1000
          numprocs: 2
          startsecs: 0
        api:
          command: sleep 1000
          startsecs: 0
        """, extra="groups:\n  backend: [api]\n")
    wait_until(lambda: all(p["state"] == "RUNNING" for p in warden.status().values())
               and len(warden.status()) == 3, what="all running")
    names = set(warden.status())
    assert names == {"worker:worker_00", "worker:worker_01", "backend:api"}
    out = warden.ctl("stop", "worker:*", check=0).stdout
    assert "worker:worker_00: stopped" in out and "worker:worker_01: stopped" in out
    assert warden.status("backend:api")["backend:api"]["state"] == "RUNNING"
    warden.ctl("start", "all", check=0)
    assert all(p["state"] == "RUNNING" for p in warden.status().values())
    warden.ctl("status", check=0)


def test_signal_and_pid(warden):
    warden.start("""\
        sig:
          command: ["sh", "-c", "trap 'echo got-usr1' USR1; while :; do sleep 0.1; done"]
          startsecs: 0
          stdout: {file: AUTO}
        """)
    p = warden.wait_state("sig", "RUNNING")
    assert warden.ctl("pid", "sig", check=0).stdout.strip() == str(p["pid"])
    assert warden.ctl("pid", check=0).stdout.strip() == str(warden.proc.pid)
    assert "sig: signalled" in warden.ctl("signal", "USR1", "sig", check=0).stdout
    log = os.path.join(warden.log_dir, "sig.stdout.log")
    wait_until(lambda: os.path.exists(log) and "got-usr1" in open(log).read(),
               what="the program to see SIGUSR1")


def test_environment_and_directory(warden, scratch):
    warden.start(f"""\
        env:
          command: ["sh", "-c", "echo $FOO $WARDEN_PROCESS $(pwd) > out.txt; exec sleep 1000"]
          directory: {scratch}
          environment: {{FOO: bar}}
          startsecs: 0
        """)
    warden.wait_state("env", "RUNNING")
    out = os.path.join(scratch, "out.txt")
    wait_until(lambda: os.path.exists(out) and open(out).read().strip(), what="out.txt")
    assert open(out).read().split() == ["bar", "env", scratch]


def test_child_keeps_no_daemon_fds(warden):
    warden.start(SLEEPER)
    p = warden.wait_state("sleeper", "RUNNING")
    wait_sleeping(p["pid"])
    fds = sorted(int(x) for x in os.listdir(f"/proc/{p['pid']}/fd"))
    assert fds == [0, 1, 2]
    with open(f"/proc/{p['pid']}/status") as f:
        fields = dict(line.split(":", 1) for line in f if ":" in line)
    assert int(fields["SigBlk"].strip(), 16) == 0
    assert int(fields["SigIgn"].strip(), 16) == 0


def test_wardend_refuses_second_instance_and_replaces_stale_socket(warden):
    warden.start(SLEEPER)
    second = subprocess.run([WARDEND, "-c", warden.config], capture_output=True, text=True,
                            timeout=30)
    assert second.returncode == 1
    assert "already listening" in second.stderr
    warden.wait_state("sleeper", "RUNNING")
    # Kill -9 the daemon: the socket file stays behind, stale. A new wardend replaces it.
    pid = warden.status("sleeper")["sleeper"]["pid"]
    warden.proc.kill()
    warden.proc.wait()
    os.kill(pid, signal.SIGKILL)
    assert os.path.exists(warden.socket)
    warden.stderr.close()
    warden.notify.close()
    os.unlink(os.path.join(warden.root, "notify.sock"))
    warden.start()
    warden.wait_state("sleeper", "RUNNING")


def test_wardenctl_without_daemon_says_why(warden):
    warden.write_config(SLEEPER)
    r = warden.ctl("status", check=1)
    assert warden.socket in r.stderr
    assert r.stderr.count("\n") == 1


def test_check_reports_file_line_col(scratch):
    path = os.path.join(scratch, "bad.yaml")
    with open(path, "w") as f:
        f.write("programs:\n  web:\n    comand: sleep 1\n")
    r = subprocess.run([WARDEND, "--check", "-c", path], capture_output=True, text=True)
    assert r.returncode == 1
    assert f"{path}:3:5:" in r.stderr
    assert "did you mean 'command'" in r.stderr
    with open(path, "w") as f:
        f.write("programs:\n  web:\n    command: sleep 1\n")
    r = subprocess.run([WARDEND, "--check", "-c", path], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_bad_config_does_not_start(scratch):
    path = os.path.join(scratch, "bad.yaml")
    with open(path, "w") as f:
        f.write("programs:\n  web:\n    numprocs: two\n")
    r = subprocess.run([WARDEND, "-c", path], capture_output=True, text=True, timeout=30)
    assert r.returncode == 1
    assert f"{path}:" in r.stderr


def test_idle_daemon_makes_no_wakeups(warden):
    programs = "".join(f"idle{i}:\n  command: sleep 1000\n  startsecs: 0\n" for i in range(100))
    warden.start(programs)
    wait_until(lambda: sum(p["state"] == "RUNNING" for p in warden.status().values()) == 100,
               what="100 running")

    def switches():
        with open(f"/proc/{warden.proc.pid}/status") as f:
            for line in f:
                if line.startswith("voluntary_ctxt_switches"):
                    return int(line.split()[1])

    # The last status client's disconnect may still be on its way in, and wardend trims its
    # heap once, 0.5 s after the last big piece of work (the start of 100 programs): wait until
    # the count holds still for longer than that, then measure a quiet window.
    previous = switches()

    def settled():
        nonlocal previous
        time.sleep(0.8)
        current = switches()
        stable = current == previous
        previous = current
        return stable and current

    before = wait_until(settled, timeout=60, interval=0, what="the daemon to go quiet")
    time.sleep(3)  # measuring idleness itself: nothing to await
    assert switches() == before
