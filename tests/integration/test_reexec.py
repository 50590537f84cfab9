"""wardenctl reexec: wardend re-executes its binary and keeps every program, pid, counter, log
pipe, timer and the control socket (daemon/reexec.h)."""

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

NOTIFY_LATE = textwrap.dedent("""\
    import os, socket, sys, time
    time.sleep(float(sys.argv[1]))
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
    warden.start(f"""\
        failing:
          command: ["false"]
          startsecs: 1
          startretries: 3
        notified:
          command: ["/usr/bin/python3", "{late}", "1.5"]
          ready: notify
        """)
    warden.wait_state("failing", "BACKOFF")
    status = warden.status("notified")["notified"]
    assert status["state"] == "STARTING"
    pid = status["pid"]
    reexec(warden)
    # The notify socket came across: READY=1 sent after the reexec makes it RUNNING.
    running = warden.wait_state("notified", "RUNNING")
    assert running["pid"] == pid
    # The backoff timers fire in the new image: 4 attempts, then FATAL.
    reexec(warden)
    fatal = warden.wait_state("failing", "FATAL", timeout=20)
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
    bindir = os.path.join(warden.root, "bin")
    os.mkdir(bindir)
    binary = os.path.join(bindir, "wardend")
    shutil.copy2(WARDEND, binary)
    monkeypatch.setattr(conftest, "WARDEND", binary)
    warden.start("""\
        one:
          command: ["sleep", "1000"]
          startsecs: 0
        two:
          command: ["sleep", "1000"]
          startsecs: 0
        """)
    pids = {n: warden.wait_state(n, "RUNNING")["pid"] for n in ("one", "two")}
    reexec(warden)
    # An upgrade: a fresh copy renamed over the file wardend runs from.
    fresh = os.path.join(bindir, "wardend.new")
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
    bindir = os.path.join(warden.root, "bin")
    os.mkdir(bindir)
    binary = os.path.join(bindir, "wardend")
    shutil.copy2(WARDEND, binary)
    monkeypatch.setattr(conftest, "WARDEND", binary)
    warden.start("""\
        one:
          command: ["sleep", "1000"]
          startsecs: 0
        """)
    pid = warden.wait_state("one", "RUNNING")["pid"]
    # A "new version" that cannot read this state.
    fake = os.path.join(bindir, "fake")
    with open(fake, "w") as f:
        f.write("#!/bin/sh\necho 999\n")
    os.chmod(fake, stat.S_IRWXU)
    os.rename(fake, binary)
    result = warden.ctl("reexec", check=1)
    assert "state version 999" in result.stderr, result.stderr
    # Nothing changed: same daemon, same process, socket answering.
    assert warden.proc.poll() is None
    assert warden.status("one")["one"]["pid"] == pid
    assert warden.ctl("pid", check=0).stdout.strip() == str(warden.proc.pid)
    # The real binary back: reexec works.
    shutil.copy2(WARDEND, fake)
    os.rename(fake, binary)
    reexec(warden)
    assert warden.status("one")["one"]["pid"] == pid


def test_reexec_refused_while_the_config_file_differs(warden):
    warden.start("""\
        one:
          command: ["sleep", "1000"]
          startsecs: 0
        """)
    pid = warden.wait_state("one", "RUNNING")["pid"]
    warden.write_config("""\
        one:
          command: ["sleep", "2000"]
          startsecs: 0
        """)
    result = warden.ctl("reexec", check=1)
    assert "differs from the configuration in force" in result.stderr, result.stderr
    assert warden.status("one")["one"]["pid"] == pid


def test_unreadable_state_is_loud_but_wardend_keeps_running(warden):
    """A new image that cannot read the state logs it loudly and still serves: the control
    socket it was given, the config from its command line, the children it can name."""
    warden.write_config("""\
        one:
          command: ["sleep", "1000"]
          startsecs: 0
        """)
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
        assert warden.status("one")["one"]["state"] == "STOPPED"
        warden.ctl("start", "one", check=0)
    finally:
        warden.ctl("shutdown")
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        stderr.close()


def test_reexec_on_the_wire(warden):
    """REEXEC as docs/protocol.md has it: an empty reply, then the connection ends; a new one
    is served by the new image, with the same daemon pid."""
    warden.start("""\
        one:
          command: ["sleep", "1000"]
          startsecs: 0
        """)
    pid = warden.wait_state("one", "RUNNING")["pid"]
    with wardenproto.connect(warden.socket, hello=True) as c:
        assert c.request(wardenproto.REEXEC) == b""
        assert c.is_closed_by_peer(timeout=10)
    warden.wait_notify("READY=1")
    with wardenproto.connect(warden.socket, hello=True) as c:
        assert c.pid() == warden.proc.pid
        assert c.pid("one") == pid


def test_state_lost_in_the_exec_still_adopts_the_programs(warden, monkeypatch):
    """The new image gets a state it cannot read (a wrapper swaps it for garbage): a loud error,
    and still a running wardend with the same pid, its programs adopted by name and their
    output still read (into log_dir/wardend-recovered.log)."""
    bindir = os.path.join(warden.root, "bin")
    os.mkdir(bindir)
    real = os.path.join(bindir, "wardend.real")
    shutil.copy2(WARDEND, real)
    binary = os.path.join(bindir, "wardend")
    shutil.copy2(WARDEND, binary)
    monkeypatch.setattr(conftest, "WARDEND", binary)
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
    wrapper = os.path.join(bindir, "wrapper")
    with open(wrapper, "w") as f:
        f.write(textwrap.dedent(f"""\
            #!/bin/sh
            if [ "$1" = "--state-version" ]; then exec "{real}" --state-version; fi
            printf 'WRDS this is not a state' > "{garbage}"
            exec 7< "{garbage}"
            exec "{real}" --restore-from 7 --listen-fd "$4" -c "$6"
            """))
    os.chmod(wrapper, stat.S_IRWXU)
    os.rename(wrapper, binary)
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
