"""wardenctl reexec: wardend re-executes its binary and keeps every program, pid, counter, log
pipe, timer and the control socket (daemon/reexec/reexec.h)."""

import contextlib
import os
import shutil
import socket
import stat
import subprocess
import tempfile
import textwrap

import conftest
import wardenproto
from conftest import WARDEND, wait_until

WRITER = textwrap.dedent("""\
    import signal, sys, time
    stop = False
    def on_term(*_):
        global stop
        stop = True
    signal.signal(signal.SIGTERM, on_term)
    i = 0
    while not stop:
        sys.stdout.write(f"{i}\\n")
        sys.stdout.flush()
        i += 1
        time.sleep(0.0005)
    sys.stdout.write("END\\n")
    sys.stdout.flush()
    """)

# Says READY=1 once the file argv[1] exists (the test decides when; at most 2 minutes).
NOTIFY_LATE = textwrap.dedent("""\
    import os, socket, sys, time
    deadline = time.monotonic() + 120
    while not os.path.exists(sys.argv[1]) and time.monotonic() < deadline:
        time.sleep(0.05)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.sendto(b"READY=1", os.environ["NOTIFY_SOCKET"])
    time.sleep(1000)
    """)


def children_of(pid):
    """(pid, state letter) of every child of `pid`."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        if int(fields[1]) == pid:
            out.append((int(entry), fields[0]))
    return out


def no_zombie_children(pid):
    return all(state != "Z" for _, state in children_of(pid))


def reexec(warden):
    """wardenctl reexec, then the same wardend (same pid) answers on the same socket."""
    # First read what wardend sent since the last look (a crash loop's STATUS= lines): the
    # fake NOTIFY_SOCKET holds 10 datagrams, and the old image's RELOADING=1 must find room
    # before it execs. Seen under ASan on a loaded machine: the queue filled while the test
    # asserted, and RELOADING=1 was dropped.
    warden.notify.setblocking(False)
    try:
        while True:
            warden.notify.recv(4096)
    except BlockingIOError:
        pass
    result = warden.ctl("reexec", check=0)
    assert "Re-executed" in result.stdout, result.stdout
    seen = warden.wait_notify("READY=1")
    assert "RELOADING=1" in seen, seen
    assert warden.proc.poll() is None, warden.log()
    assert warden.ctl("pid", check=0).stdout.strip() == str(warden.proc.pid)
    assert "re-execution:" not in warden.log(), warden.log()  # nothing left behind


def write_script(root, name, text):
    path = os.path.join(root, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def sleepers(*names, seconds=1000):
    """Config text: programs `names`, each a `sleep SECONDS`, RUNNING once started."""
    return "".join(f'{n}:\n  command: ["sleep", "{seconds}"]\n  startsecs: 0\n' for n in names)


def private_binary(warden, monkeypatch):
    """A copy of wardend in the test's folder, for the fixture to start and the test to replace;
    returns its path and that of a second copy, the real binary for wrapper scripts to run."""
    bindir = os.path.join(warden.root, "bin")
    os.mkdir(bindir)
    real = os.path.join(bindir, "wardend.real")
    shutil.copy2(WARDEND, real)
    binary = os.path.join(bindir, "wardend")
    shutil.copy2(WARDEND, binary)
    monkeypatch.setattr(conftest, "WARDEND", binary)
    return binary, real


def replace_binary(binary, script):
    """Renames a shell script over `binary`, as an upgrade renames the new file over the old."""
    new = binary + ".new"
    with open(new, "w") as f:
        f.write(textwrap.dedent(script))
    os.chmod(new, stat.S_IRWXU)
    os.rename(new, binary)


def check_numbered(path):
    """The log holds 0, 1, 2, ... then END: every line, in order, none twice."""
    with open(path) as f:
        lines = f.read().split("\n")
    assert lines[-1] == "" and lines[-2] == "END", (path, lines[-3:])
    numbers = lines[:-2]
    assert numbers, path
    for i, line in enumerate(numbers):
        assert line == str(i), f"{path}: line {i} is {line!r}"
    return len(numbers)


def test_reexec_ten_times_keeps_everything(warden):
    writer = write_script(warden.root, "writer.py", WRITER)
    programs = ""
    for i in range(5):
        programs += (f'writer{i}:\n  command: ["/usr/bin/python3", "-u", "{writer}"]\n'
                     f"  startsecs: 0\n  stopwaitsecs: 5\n")
    for i in range(14):
        programs += f'idle{i:02d}:\n  command: ["sleep", "1000"]\n  startsecs: 0\n'
    programs += ('crashy:\n  command: ["sh", "-c", "sleep 1; exit 1"]\n'
                 "  startsecs: 0\n  autorestart: true\n"
                 # Delays capped at 2 s: with the default backoff the loop would wait up to a
                 # minute between tries by the end, and the check below could not see it go
                 # on. Not faster: each crash is two STATUS= datagrams, and the fixture's notify
                 # socket holds 10 while the test is busy asserting (wardend drops what does not
                 # fit, READY=1 included).
                 "  backoff: {initial: 1, max: 2}\n")
    warden.start(programs)
    steady = [f"writer{i}" for i in range(5)] + [f"idle{i:02d}" for i in range(14)]
    for name in steady:
        warden.wait_state(name, "RUNNING")
    before = warden.status()
    assert len(before) == 20
    wardend_pid = warden.proc.pid
    crashy_restarts = before["crashy"]["restarts"]

    for _ in range(10):
        reexec(warden)
        after = warden.status()
        assert warden.proc.pid == wardend_pid
        for name in steady:
            assert after[name]["state"] == "RUNNING", after[name]
            assert after[name]["pid"] == before[name]["pid"], name
            assert after[name]["restarts"] == before[name]["restarts"], name
            assert after[name]["uptime_s"] >= before[name]["uptime_s"], name
        # The crash loop goes on by its policy: it only ever counts up.
        assert after["crashy"]["restarts"] >= crashy_restarts
        crashy_restarts = after["crashy"]["restarts"]
        before = after

    # The crash loop kept being restarted after the reexecs (its exits were reaped).
    wait_until(lambda: warden.status("crashy")["crashy"]["restarts"] > crashy_restarts + 2,
               timeout=30, what="crashy to keep restarting")
    wait_until(lambda: no_zombie_children(wardend_pid), what="no zombie child of wardend")

    warden.ctl("stop", *[f"writer{i}" for i in range(5)], check=0)
    for i in range(5):
        path = os.path.join(warden.log_dir, f"writer{i}.stdout.log")
        wait_until(lambda: open(path).read().endswith("END\n"), what=f"{path} complete")
        assert check_numbered(path) > 100


def test_reexec_carries_timers_and_readiness(warden):
    late = write_script(warden.root, "late.py", NOTIFY_LATE)
    ready = os.path.join(warden.root, "may-say-ready")
    warden.start(f"""\
        failing:
          command: ["false"]
          startsecs: 1
          startretries: 3
        notified:
          command: ["/usr/bin/python3", "{late}", "{ready}"]
          ready: notify
          ready_timeout: 600
        """)
    warden.wait_state("failing", "BACKOFF")
    status = warden.status("notified")["notified"]
    assert status["state"] == "STARTING"
    pid = status["pid"]
    reexec(warden)
    # The notify socket came across: READY=1 sent after the reexec makes it RUNNING.
    open(ready, "w").close()
    running = warden.wait_state("notified", "RUNNING")
    assert running["pid"] == pid
    # The backoff timers fire in the new image: 4 attempts, then FATAL.
    reexec(warden)
    fatal = warden.wait_state("failing", "FATAL")
    assert fatal["restarts"] == 3, fatal


def test_reexec_exit_during_the_window_is_reaped(warden):
    warden.start("""\
        victim:
          command: ["sleep", "1000"]
          startsecs: 0
          autorestart: false
        """)
    pid = warden.wait_state("victim", "RUNNING")["pid"]
    ctl = subprocess.Popen([conftest.WARDENCTL, "-s", warden.socket, "reexec"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # RELOADING=1 is the old image's last act before execve: an exit from now on can only be
    # seen by the new image (the child stays a zombie across the exec).
    seen = warden.wait_notify("RELOADING=1")
    os.kill(pid, 9)
    out, err = ctl.communicate(timeout=60)
    assert ctl.returncode == 0, (out, err, warden.log())
    if "READY=1" not in seen[seen.index("RELOADING=1"):]:
        warden.wait_notify("READY=1")
    exited = warden.wait_state("victim", "EXITED")
    assert exited["exit_signal"] is not None, exited
    log = warden.log()
    reaped = log.index(f"victim: pid {pid} terminated by SIGKILL")
    assert log.rindex("re-executed, listening") < reaped, log  # by the new image
    wait_until(lambda: no_zombie_children(warden.proc.pid), what="no zombie child")


def test_reexec_takes_up_a_replaced_binary(warden, monkeypatch):
    binary, _ = private_binary(warden, monkeypatch)
    warden.start(sleepers("one", "two"))
    pids = {n: warden.wait_state(n, "RUNNING")["pid"] for n in ("one", "two")}
    reexec(warden)
    # An upgrade: a fresh copy renamed over the file wardend runs from.
    fresh = binary + ".new"
    shutil.copy2(WARDEND, fresh)
    os.rename(fresh, binary)
    assert os.readlink(f"/proc/{warden.proc.pid}/exe").endswith(" (deleted)")
    reexec(warden)
    assert os.stat(f"/proc/{warden.proc.pid}/exe").st_ino == os.stat(binary).st_ino
    assert os.readlink(f"/proc/{warden.proc.pid}/exe") == binary
    status = warden.status()
    assert {n: status[n]["pid"] for n in pids} == pids
    assert all(status[n]["state"] == "RUNNING" for n in pids)


def test_reexec_refused_when_the_binary_reads_another_state_version(warden, monkeypatch):
    binary, _ = private_binary(warden, monkeypatch)
    warden.start(sleepers("one"))
    pid = warden.wait_state("one", "RUNNING")["pid"]
    # A "new version" that cannot read this state.
    replace_binary(binary, "#!/bin/sh\necho 999\n")
    result = warden.ctl("reexec", check=1)
    assert "state version 999" in result.stderr, result.stderr
    # Nothing changed: same daemon, same process, socket answering.
    assert warden.proc.poll() is None
    assert warden.status("one")["one"]["pid"] == pid
    assert warden.ctl("pid", check=0).stdout.strip() == str(warden.proc.pid)
    # The real binary back: reexec works.
    fresh = binary + ".new"
    shutil.copy2(WARDEND, fresh)
    os.rename(fresh, binary)
    reexec(warden)
    assert warden.status("one")["one"]["pid"] == pid


def test_reexec_keeps_the_config_in_force_while_the_file_differs(warden):
    """The state carries the configuration in force: a changed file does not stop a reexec, is
    not applied by it, and is still there for `reread` and `update` after it."""
    warden.start(sleepers("one", "two"))
    pids = {n: warden.wait_state(n, "RUNNING")["pid"] for n in ("one", "two")}
    warden.write_config(sleepers("one", seconds=2000) + sleepers("two"))
    assert "one" in warden.ctl("reread", check=0).stdout
    reexec(warden)
    status = warden.status()
    assert {n: status[n]["pid"] for n in pids} == pids
    assert all(status[n]["state"] == "RUNNING" for n in pids)
    reread = warden.ctl("reread", check=0).stdout
    assert "one" in reread and "two" not in reread, reread
    # The change applies as it would have without the reexec.
    warden.ctl("update", check=0)
    restarted = warden.wait_state("one", "RUNNING")
    assert restarted["pid"] != pids["one"]
    assert warden.status("two")["two"]["pid"] == pids["two"]


def test_reexec_keeps_a_partial_update_in_force(warden):
    """`update one` applied one program of the file: the reexec keeps exactly that (the other
    program's change is still pending), not the whole file."""
    warden.start(sleepers("one", "two"))
    warden.write_config(sleepers("one", "two", seconds=2000))
    warden.ctl("update", "one", check=0)
    pids = {n: warden.wait_state(n, "RUNNING")["pid"] for n in ("one", "two")}
    reexec(warden)
    status = warden.status()
    assert {n: status[n]["pid"] for n in pids} == pids
    reread = warden.ctl("reread", check=0).stdout
    assert "two" in reread and "one" not in reread, reread


def test_reexec_survives_a_config_file_made_invalid_or_removed(warden):
    """Nothing on disk is needed: an invalid or missing config file changes nothing (the
    issue's rule: never a new image that exits and leaves the programs behind)."""
    warden.start("""\
        one:
          command: ["sleep", "1000"]
          startsecs: 0
        """, extra="include: [conf.d/*.yaml]\n")
    os.mkdir(os.path.join(warden.root, "conf.d"))
    pid = warden.wait_state("one", "RUNNING")["pid"]
    with open(warden.config, "w") as f:
        f.write("programs: [\n")
    reexec(warden)
    assert warden.status("one")["one"]["pid"] == pid
    assert warden.ctl("reread", check=1).returncode == 1  # the file's problem is still reported
    os.remove(warden.config)
    reexec(warden)
    assert warden.status("one")["one"]["pid"] == pid
    # An included file that appears now is no part of the configuration in force either.
    with open(os.path.join(warden.root, "conf.d", "two.yaml"), "w") as f:
        f.write("programs: {two: {command: [sleep, '1000'], startsecs: 0}}\n")
    reexec(warden)
    status = warden.status()
    assert list(status) == ["one"] and status["one"]["pid"] == pid
    warden.ctl("stop", "one", check=0)  # supervised as before
    assert warden.status("one")["one"]["state"] == "STOPPED"
    assert not conftest.pid_alive(pid)


@contextlib.contextmanager
def restored_from_garbage(warden):
    """wardend as a new image given a state it cannot read, on a listening socket made here;
    yields its Popen once it answers, and shuts it down at the end."""
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(warden.socket)
    listener.listen(16)
    state = tempfile.TemporaryFile()
    state.write(b"WRDS not a state at all")
    state.seek(0)
    stderr = open(warden.stderr_path, "wb")
    proc = subprocess.Popen(
        [WARDEND, "--restore-from", str(state.fileno()), "--listen-fd", str(listener.fileno()),
         "-c", warden.config],
        stdin=subprocess.DEVNULL, stdout=stderr, stderr=stderr,
        pass_fds=(state.fileno(), listener.fileno()))
    try:
        listener.close()
        state.close()
        wait_until(lambda: warden.ctl("pid").stdout.strip() == str(proc.pid),
                   what="the recovered wardend to answer")
        assert proc.poll() is None
        assert "saved state cannot be read" in warden.log(), warden.log()
        yield proc
    finally:
        warden.ctl("shutdown")
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        stderr.close()


def test_unreadable_state_is_loud_but_wardend_keeps_running(warden):
    """A new image that cannot read the state logs it loudly and still serves: the control
    socket it was given, the config from its command line, the children it can name."""
    warden.write_config("""\
        one:
          command: ["sleep", "1000"]
          startsecs: 0
        """)
    with restored_from_garbage(warden):
        assert warden.status("one")["one"]["state"] == "STOPPED"
        warden.ctl("start", "one", check=0)


def test_no_state_and_no_config_is_loud_but_wardend_keeps_running(warden):
    """The last resort: neither the state nor the config file can be read. wardend still runs,
    with no programs, on the control socket it was given, and says why, loudly."""
    warden.write_config("""\
        one:
          command: ["sleep", "1000"]
        """)
    with open(warden.config, "a") as f:
        f.write("  broken: [\n")
    with restored_from_garbage(warden) as proc:
        assert "running with no programs" in warden.log(), warden.log()
        assert warden.status() == {}
        assert proc.poll() is None


def test_reexec_on_the_wire(warden):
    """REEXEC as docs/protocol.md has it: an empty reply, then the connection ends; a new one
    is served by the new image, with the same daemon pid."""
    warden.start(sleepers("one"))
    pid = warden.wait_state("one", "RUNNING")["pid"]
    with wardenproto.connect(warden.socket, hello=True) as c:
        assert c.request(wardenproto.REEXEC) == b""
        assert c.is_closed_by_peer(timeout=30)
    warden.wait_notify("READY=1")
    with wardenproto.connect(warden.socket, hello=True) as c:
        assert c.pid() == warden.proc.pid
        assert c.pid("one") == pid


def test_state_lost_in_the_exec_still_adopts_the_programs(warden, monkeypatch):
    """The new image gets a state it cannot read (a wrapper swaps it for garbage): a loud error,
    and still a running wardend with the same pid, its programs adopted by name and their
    output still read (into log_dir/wardend-recovered.log)."""
    binary, real = private_binary(warden, monkeypatch)
    writer = write_script(warden.root, "writer.py", WRITER)
    warden.start(f"""\
        one:
          command: ["sleep", "1000"]
          startsecs: 0
        chatty:
          command: ["/usr/bin/python3", "-u", "{writer}"]
          startsecs: 0
        """)
    pids = {n: warden.wait_state(n, "RUNNING")["pid"] for n in ("one", "chatty")}
    garbage = os.path.join(warden.root, "garbage")
    replace_binary(binary, f"""\
        #!/bin/sh
        if [ "$1" = "--state-version" ]; then exec "{real}" --state-version; fi
        printf 'WRDS this is not a state' > "{garbage}"
        exec 7< "{garbage}"
        exec "{real}" --restore-from 7 --listen-fd "$4" -c "$6"
        """)
    warden.ctl("reexec", check=0)
    warden.wait_notify("READY=1")
    assert warden.proc.poll() is None
    log = warden.log()
    assert "saved state cannot be read" in log, log
    status = warden.status()
    assert {n: status[n]["pid"] for n in pids} == pids
    assert all(status[n]["state"] == "RUNNING" for n in pids)
    # The output pipe is still read: the writer never blocks, its lines keep coming.
    recovered = os.path.join(warden.log_dir, "wardend-recovered.log")
    wait_until(lambda: os.path.exists(recovered) and os.path.getsize(recovered) > 10000,
               what="the writer's output in the recovered log")
    # Adopted processes are supervised again: stop works and their exit is reaped.
    warden.ctl("stop", "one", "chatty", check=0)
    wait_until(lambda: no_zombie_children(warden.proc.pid), what="no zombie child")


def test_a_restart_caught_between_its_stop_and_its_start_completes(warden):
    """`restart` of a program that ignores SIGTERM: wardend waits stopwaitsecs, then kills it and
    starts it again. A reexec in between carries the pending start over: the process ends up
    RUNNING with a new pid."""
    warden.start("""\
        stubborn:
          command: ["sh", "-c", "trap '' TERM; exec sleep 1000"]
          startsecs: 0
          stopwaitsecs: 3
        """)
    pid = warden.wait_state("stubborn", "RUNNING")["pid"]
    wait_until(lambda: open(f"/proc/{pid}/comm").read().strip() == "sleep",
               what="the exec into sleep (TERM ignored)")
    restart = subprocess.Popen([conftest.WARDENCTL, "-s", warden.socket, "restart", "stubborn"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        warden.wait_state("stubborn", "STOPPING")
        reexec(warden)
        running = warden.ctl("wait", "stubborn", "RUNNING", "--timeout", "15")
        assert running.returncode == 0, (running.stdout, running.stderr, warden.log())
        after = warden.status("stubborn")["stubborn"]
        assert after["state"] == "RUNNING"
        assert after["pid"] != pid
        wait_until(lambda: not conftest.pid_alive(pid), what="the old process gone")
        log = warden.log()
        killed = log.index(f"stubborn: pid {pid} terminated by SIGKILL")
        assert log.rindex("re-executed, listening") < killed, log  # the stop ended after it
        # The restart's own connection ended with the exec: it says so, it does not hang.
        restart.communicate(timeout=30)
    finally:
        if restart.poll() is None:
            restart.kill()
            restart.communicate()


def test_the_probe_of_the_binary_does_not_hold_up_the_daemon(warden, monkeypatch):
    """The new binary answers `--state-version` only when the test lets it (a file appears; at
    most 2 minutes): wardend serves requests meanwhile (a second reexec is refused as busy),
    then re-executes it."""
    binary, real = private_binary(warden, monkeypatch)
    warden.start(sleepers("one"))
    pid = warden.wait_state("one", "RUNNING")["pid"]
    go = os.path.join(warden.root, "probe-may-answer")
    replace_binary(binary, f"""\
        #!/bin/sh
        if [ "$1" = "--state-version" ]; then
          i=0
          while [ ! -e {go} ] && [ $i -lt 2400 ]; do sleep 0.05; i=$((i + 1)); done
        fi
        exec "{real}" "$@"
        """)

    def probe_running():
        for child, _ in children_of(warden.proc.pid):
            try:
                with open(f"/proc/{child}/cmdline", "rb") as f:
                    if b"--state-version" in f.read():
                        return child
            except FileNotFoundError:
                pass
        return None

    ctl = subprocess.Popen([conftest.WARDENCTL, "-s", warden.socket, "reexec"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        probe = wait_until(probe_running, what="the --state-version probe")
        status = warden.status("one")
        assert status["one"]["pid"] == pid
        busy = warden.ctl("reexec", check=1)
        assert "being checked already" in busy.stderr, busy.stderr
        assert conftest.pid_alive(probe), "the probe ended before the requests were answered"
        open(go, "w").close()
        out, err = ctl.communicate(timeout=60)
        assert ctl.returncode == 0, (out, err, warden.log())
        assert "Re-executed" in out, out
    finally:
        open(go, "w").close()
        if ctl.poll() is None:
            ctl.kill()
            ctl.communicate()
    warden.wait_notify("READY=1")
    assert warden.proc.poll() is None
    assert os.readlink(f"/proc/{warden.proc.pid}/exe") == real
    assert warden.status("one")["one"]["pid"] == pid
    assert "re-execution:" not in warden.log(), warden.log()
    assert f"reaped pid {probe}" not in warden.log()  # the probe's exit went to the check
