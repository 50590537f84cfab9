"""The features users ask for most (env files, failure hooks, backoff before RUNNING, the status
list at a glance): each driven with the real wardend and wardenctl on real processes."""

import json
import os
import re
import subprocess
import time

from conftest import WARDEND, WARDENCTL, pid_alive, wait_until


def read(path):
    try:
        with open(path) as f:
            return f.read()
    except FileNotFoundError:
        return ""


def test_env_file_applies_on_restart_under_environment(warden, scratch):
    env_file = os.path.join(scratch, "app.env")
    with open(env_file, "w") as f:
        f.write('# settings\nGREETING="hello world"\nOVERRIDDEN=from-file\n')
    out = os.path.join(scratch, "out.txt")
    warden.start(f"""\
        app:
          command: ["sh", "-c", "echo \\"$GREETING|$OVERRIDDEN|$DERIVED\\" > {out}; exec sleep 1000"]
          env_file: [{env_file}, -{scratch}/absent.env]
          environment: {{OVERRIDDEN: from-config, DERIVED: "${{GREETING}}!"}}
          startsecs: 0
        """)
    first = warden.wait_state("app", "RUNNING")
    wait_until(lambda: read(out).strip(), what="the first output")
    assert read(out).strip() == "hello world|from-config|hello world!"

    # The file is read at each start: a change applies on the next restart.
    with open(env_file, "w") as f:
        f.write("GREETING=changed\n")
    os.remove(out)
    warden.ctl("restart", "app", check=0)
    wait_until(lambda: read(out).strip(), what="the output after the restart")
    assert read(out).strip() == "changed|from-config|changed!"
    assert warden.status("app")["app"]["pid"] != first["pid"]


def test_env_file_bad_line_fails_the_start_and_check_names_it(warden, scratch):
    env_file = os.path.join(scratch, "bad.env")
    with open(env_file, "w") as f:
        f.write("GOOD=1\n\nthis is not an assignment\n")
    warden.start(f"""\
        app:
          command: ["sleep", "1000"]
          env_file: {env_file}
          startretries: 0
        """)
    p = warden.wait_state("app", "FATAL")
    assert f"{env_file}:3: expected KEY=VALUE" in p["description"], p

    for command in ([WARDEND, "--check", "-c", warden.config],
                    [WARDENCTL, "check", warden.config]):
        result = subprocess.run(command, capture_output=True, text=True, timeout=60)
        assert result.returncode == 1, result
        assert f"{env_file}:3: expected KEY=VALUE" in result.stderr, result.stderr

    # A missing required file: the start fails, --check points at the config entry.
    os.remove(env_file)
    result = subprocess.run([WARDEND, "--check", "-c", warden.config], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 1
    assert f"warden.yaml:" in result.stderr and "No such file or directory" in result.stderr
    warden.ctl("start", "app", check=1)
    assert "No such file or directory" in warden.status("app")["app"]["description"]


# `extra` is dedented: a first line at column 0 keeps the keys after it under `warden:`.
WARDEN_KEYS = "# more warden keys\n"

FAILING = """\
    broken:
      command: ["sh", "-c", "echo cannot open the database >&2; exit 3"]
      startsecs: 1
      startretries: 0
"""


def test_on_fatal_runs_the_hooks_with_the_variables(warden, scratch):
    own = os.path.join(scratch, "own.txt")
    common = os.path.join(scratch, "common.txt")
    report = ('printf "%s|%s|%s|%s" "$WARDEN_PROCESS" "$WARDEN_STATE" "$WARDEN_EXIT_STATUS" '
              '"$WARDEN_REASON" > {}.tmp && mv {}.tmp {}')
    warden.start(FAILING + f"""\
      on_fatal: ["sh", "-c", '{report.format(own, own, own)}']
    """, extra=WARDEN_KEYS + f"""\
  on_fatal: ["sh", "-c", '{report.format(common, common, common)}']
""")
    warden.wait_state("broken", "FATAL")
    expected = "broken|FATAL|3|Exited too quickly (process log may have details)"
    for path in (own, common):
        wait_until(lambda: read(path), what=f"the hook to write {path}")
        assert read(path) == expected
    # Each hook was reaped (its exit is logged), and wardend goes on.
    wait_until(lambda: wardend_log_count(warden, ": on_fatal sh: pid ") >= 2,
               what="both hooks reaped")
    assert warden.proc.poll() is None
    assert "broken: on_fatal sh: started, pid" in warden.log()


def wardend_log_count(warden, text):
    return warden.log().count(text)


def test_a_missing_hook_is_logged_and_wardend_goes_on(warden):
    warden.start(FAILING + """\
      on_fatal: /nonexistent/hook
    """)
    warden.wait_state("broken", "FATAL")
    wait_until(lambda: any("broken: on_fatal /nonexistent/hook" in line
                           and "No such file or directory" in line
                           for line in warden.log().splitlines()),
               what=f"the hook's failure in the log:\n{warden.log()}")
    warden.ctl("status", check=3)


def test_exit_on_fatal_shuts_wardend_down_with_status_1(warden, scratch):
    gate = os.path.join(scratch, "gate")
    warden.start(f"""\
    sleeper:
      command: ["sleep", "1000"]
      startsecs: 0
    broken:
      command: ["sh", "-c", "while [ ! -e {gate} ]; do sleep 0.05; done; exit 3"]
      startsecs: 60
      startretries: 0
    """, extra=WARDEN_KEYS + "  exit_on_fatal: true\n")
    sleeper = warden.wait_state("sleeper", "RUNNING")
    open(gate, "w").close()
    assert warden.proc.wait(timeout=60) == 1, warden.log()
    assert "warden.exit_on_fatal is set: shutting down" in warden.log()
    wait_until(lambda: not pid_alive(sleeper["pid"]), what="the other program stopped")


def spawn_times(path):
    return [float(line) for line in read(path).split()]


def test_a_crash_loop_before_running_backs_off_exponentially(warden, scratch):
    times = os.path.join(scratch, "times")
    warden.start(f"""\
        loop:
          command: ["sh", "-c", "date +%s.%N >> {times}; exit 1"]
          startsecs: 10
          startretries: 3
          backoff: {{initial: 0.5, max: 60, jitter: 0}}
        """)
    # While it waits, status says when the next try is.
    p = wait_until(lambda: (lambda s: s if s["state"] == "BACKOFF" else None)(
        warden.status("loop")["loop"]), what="loop in BACKOFF")
    assert "next try in" in p["description"], p
    warden.wait_state("loop", "FATAL", timeout=60)
    t = spawn_times(times)
    assert len(t) == 4, t
    gaps = [b - a for a, b in zip(t, t[1:])]
    # 0.5, 1, 2 s: each wait at least double the one before it (a loaded machine only ever
    # makes a wait longer); supervisord's linear rule would give 0.5, 1, 1.5.
    assert gaps[0] >= 0.45 and gaps[1] >= 0.95 and gaps[2] >= 1.95, gaps


def test_fatal_retry_starts_a_fatal_program_again(warden, scratch):
    times = os.path.join(scratch, "times")
    warden.start(f"""\
        flaky:
          command: ["sh", "-c", "date +%s.%N >> {times}; exit 1"]
          startsecs: 10
          startretries: 0
          fatal_retry: 2
        """)
    p = warden.wait_state("flaky", "FATAL")
    assert "next try in" in p["description"], p
    result = warden.ctl("status", "flaky")
    assert "next try in" in result.stdout, result.stdout
    wait_until(lambda: len(spawn_times(times)) >= 2, timeout=60, what="a retry after FATAL")
    t = spawn_times(times)
    assert t[1] - t[0] >= 1.95, t
    # A stop cancels the pending retry.
    warden.wait_state("flaky", "FATAL")
    warden.ctl("stop", "flaky", check=0)
    assert warden.status("flaky")["flaky"]["state"] == "STOPPED"
    count = len(spawn_times(times))
    assert "next try in" not in warden.ctl("status", "flaky").stdout
    # No way to wait for "nothing happens" but time: the retry was due within 2 s.
    warden.ctl("wait", "flaky", "STARTING", "--timeout", "4", check=1)
    assert len(spawn_times(times)) == count


def run_on_terminal(args, columns):
    """Runs wardenctl with its stdout on a pseudo-terminal `columns` wide; returns the text."""
    import fcntl
    import pty
    import struct
    import termios
    master, slave = pty.openpty()
    try:
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
        proc = subprocess.Popen([WARDENCTL, *args], stdout=slave, stderr=subprocess.PIPE,
                                stdin=subprocess.DEVNULL, env=dict(os.environ, NO_COLOR="1"))
        os.close(slave)
        slave = -1
        chunks = []
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the other side is closed
                break
            if not data:
                break
            chunks.append(data)
        proc.wait(timeout=60)
        return proc.returncode, b"".join(chunks).decode().replace("\r\n", "\n")
    finally:
        os.close(master)
        if slave >= 0:
            os.close(slave)


def test_status_list_reads_at_a_glance(warden, scratch):
    marker = os.path.join(scratch, "ran")
    warden.start(f"""\
        zeta:
          command: ["sleep", "1000"]
          startsecs: 0
          priority: 1
        alpha:
          command: ["sh", "-c", "if [ -e {marker} ]; then exec sleep 1000; fi; touch {marker}; exit 1"]
          startsecs: 0
          autorestart: true
          priority: 2
          backoff: false
        a_program_with_a_rather_long_name_indeed:
          command: ["true"]
          startsecs: 0
          autorestart: false
          priority: 3
        """)
    warden.wait_state("zeta", "RUNNING")
    wait_until(lambda: warden.status("alpha")["alpha"]["restarts"] >= 1
               and warden.status("alpha")["alpha"]["state"] == "RUNNING", what="alpha restarted")
    warden.wait_state("a_program_with_a_rather_long_name_indeed", "EXITED")

    piped = warden.ctl("status", check=3).stdout.splitlines()
    # Sorted by name, not by priority; the state is still the second word.
    assert [line.split()[0] for line in piped] == [
        "a_program_with_a_rather_long_name_indeed", "alpha", "zeta"], piped
    assert [line.split()[1] for line in piped] == ["EXITED", "RUNNING", "RUNNING"]
    assert "restarts 1" in piped[1] and "restarts" not in piped[2], piped
    # ISO-style, 24-hour times.
    assert re.search(r"exit status 0, \d{4}-\d\d-\d\d \d\d:\d\d:\d\d$", piped[0]), piped[0]
    assert max(len(line) for line in piped) > 80, "piped lines are never cut"

    code, text = run_on_terminal(["-s", warden.socket, "status"], 80)
    assert code == 3, text
    lines = text.splitlines()
    assert len(lines) == 3, text
    assert all(len(line) <= 80 for line in lines), lines
    assert [line.split()[1] for line in lines] == ["EXITED", "RUNNING", "RUNNING"], lines
    assert lines[1].startswith("alpha" + " " * 37 + "RUNNING"), lines  # longest name + 2

    code, text = run_on_terminal(["-s", warden.socket, "status", "zeta"], 200)
    assert text.splitlines()[0].startswith("zeta" + " " * 29 + "RUNNING"), text


def test_dev_stdout_is_wardends_own_fd_even_a_socket(warden, scratch):
    """Under systemd wardend's stdout is a stream socket, which open(2) refuses (ENXIO): the
    program must get wardend's fd itself."""
    import select
    import socket
    warden.write_config("""\
        hello:
          command: ["sh", "-c", "echo hello-out; echo hello-err >&2; exec sleep 1000"]
          startsecs: 0
          stdout: {file: /dev/stdout}
          stderr: {file: /dev/stderr}
        """)
    ours, theirs = socket.socketpair()
    with open(warden.stderr_path, "wb") as stderr:
        proc = subprocess.Popen([WARDEND, "-c", warden.config], stdin=subprocess.DEVNULL,
                                stdout=theirs.fileno(), stderr=stderr)
    theirs.close()
    try:
        received = b""
        deadline = time.monotonic() + 60
        while b"hello-out" not in received:
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"got {received!r}; wardend:\n{warden.log()}"
            if select.select([ours], [], [], remaining)[0]:
                received += ours.recv(4096)
        wait_until(lambda: "hello-err" in warden.log(), what="stderr in wardend's stderr")
        p = warden.wait_state("hello", "RUNNING")
        tail = warden.ctl("tail", "hello", check=4)
        assert "goes to wardend's own /dev/stdout" in tail.stderr, tail.stderr
    finally:
        proc.terminate()
        proc.wait(timeout=60)
        ours.close()
    assert proc.returncode == 0, warden.log()
    assert not pid_alive(p["pid"])


def test_logs_follows_several_processes_with_lifecycle_lines(warden, scratch):
    gate = os.path.join(scratch, "gate")
    warden.start(f"""\
        api:
          command: ["sh", "-c", "echo api-ready; echo api-warn >&2; exec sleep 1000"]
          startsecs: 0
        web:
          command: ["sh", "-c", "echo web-ready; exec sleep 1000"]
          startsecs: 0
          stderr: stdout
        worker:
          command: ["sh", "-c", "echo worker-$$; while [ ! -e {gate} ]; do sleep 0.05; done; rm {gate}; exit 3"]
          startsecs: 0
          autorestart: true
        """)
    for name in ("api", "web", "worker"):
        warden.wait_state(name, "RUNNING")
    log = lambda n: os.path.join(warden.log_dir, n)
    wait_until(lambda: "api-warn" in read(log("api.stderr.log")) and "web-ready" in read(
        log("web.stdout.log")) and "worker-" in read(log("worker.stdout.log")), what="output")

    # Without -f: the last lines of each, prefixed and aligned; web's stderr (its stdout log)
    # is shown once.
    lines = warden.ctl("logs", check=0).stdout.splitlines()
    assert "api    | api-ready" in lines and "api    | api-warn" in lines, lines
    assert lines.count("web    | web-ready") == 1, lines
    assert any(line.startswith("worker | worker-") for line in lines), lines

    out = os.path.join(scratch, "logs.out")
    with open(out, "w") as sink:
        follower = subprocess.Popen([WARDENCTL, "-s", warden.socket, "logs", "-f", "-n", "0"],
                                    stdout=sink, stderr=subprocess.STDOUT)
    try:
        # The follower is connected once a line written now shows up: a restart of worker,
        # again until one shows (a slow wardenctl may connect after the first one).
        def restart_worker():
            old = warden.status("worker")["worker"]["pid"]
            open(gate, "w").close()
            wait_until(lambda: warden.status("worker")["worker"]["pid"] not in (None, old),
                       what="worker restarted")
            return warden.status("worker")["worker"]["pid"]
        deadline = time.monotonic() + 60
        new = restart_worker()
        while True:
            try:
                wait_until(lambda: f"worker | worker-{new}" in read(out), timeout=5,
                           what=f"the new worker's line in logs -f:\n{read(out)}")
                break
            except AssertionError:
                if time.monotonic() > deadline:
                    raise
                new = restart_worker()
        text = read(out)
        assert "worker | exited: exit status 3" in text, text
        assert f"worker | started, pid {new}" in text, text
        warden.ctl("signal", "USR1", "api", check=0)  # api is `sleep` by now: it dies
        wait_until(lambda: "api    | exited: terminated by SIGUSR1" in read(out), timeout=60,
                   what=f"api's exit in the stream:\n{read(out)}")
    finally:
        follower.kill()
        follower.wait(timeout=60)

    # --json: one object a line.
    objects = [json.loads(line) for line in
               warden.ctl("logs", "--json", "-n", "1", "api", check=0).stdout.splitlines()]
    assert {o["process"] for o in objects} == {"api"}
    assert {o["stream"] for o in objects} <= {"stdout", "stderr"}
    warden.ctl("logs", "nope", check=4)


def test_tail_f_marks_a_restart(warden, scratch):
    warden.start("""\
        job:
          command: ["sh", "-c", "echo run-$$; exec sleep 1000"]
          startsecs: 0
        """)
    first = warden.wait_state("job", "RUNNING")
    log = os.path.join(warden.log_dir, "job.stdout.log")
    wait_until(lambda: "run-" in read(log), what="the first line")
    out = os.path.join(scratch, "tail.out")
    with open(out, "w") as sink:
        follower = subprocess.Popen([WARDENCTL, "-s", warden.socket, "tail", "-f", "job"],
                                    stdout=sink, stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: f"run-{first['pid']}" in read(out), what="tail's first lines")
        warden.ctl("restart", "job", check=0)
        new = warden.wait_state("job", "RUNNING")["pid"]
        wait_until(lambda: f"run-{new}" in read(out), timeout=60, what="the new run's line")
        text = read(out)
        marker = f"==> job: started, pid {new} <=="
        assert marker in text, text
    finally:
        follower.kill()
        follower.wait(timeout=60)
