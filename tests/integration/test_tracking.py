"""Process tracking: a cgroup per process (cgroup v2) and the /proc fallback. Programs that try
to get away (nginx daemonizing and rewriting its title, a `setsid env -i` leftover) are shown,
stopped with their program, and cost wardend nothing; a wardend killed with SIGKILL and started
again kills (or leaves) what the earlier one left, and never starts a second copy.

The cgroup tests need a writable cgroup2 hierarchy (they run wardend as root); each uses a
scratch folder of its own through warden.cgroup, so that tests run in parallel never meet, and
removes it afterwards."""

import os
import shutil
import signal
import socket
import subprocess
import time
import uuid

import pytest

from conftest import WARDEND, pid_alive, wait_until


def cgroup2_mount():
    """The mount point of the cgroup2 file system, or None."""
    try:
        with open("/proc/self/mountinfo") as f:
            for line in f:
                before, _, after = line.partition(" - ")
                if after.split(" ", 1)[0] == "cgroup2":
                    return before.split(" ")[4]
    except OSError:
        pass
    return None


def writable_cgroup2():
    mount = cgroup2_mount()
    if mount is None or os.geteuid() != 0:
        return None
    probe = os.path.join(mount, f"warden-probe-{uuid.uuid4().hex[:8]}")
    try:
        os.mkdir(probe)
        os.rmdir(probe)
    except OSError:
        return None
    return mount


MOUNT = writable_cgroup2()
needs_cgroup2 = pytest.mark.skipif(MOUNT is None, reason="no writable cgroup2 hierarchy (root)")


def remove_cgroup_tree(folder):
    """Kills what is left in `folder` and removes it, deepest first."""
    if not os.path.isdir(folder):
        return
    for path, dirs, _ in os.walk(folder, topdown=False):
        kill = os.path.join(path, "cgroup.kill")
        try:
            with open(kill, "w") as f:
                f.write("1")
        except OSError:
            pass
    for path, dirs, _ in os.walk(folder, topdown=False):
        try:
            wait_until(lambda: open(os.path.join(path, "cgroup.events")).read().find(
                "populated 0") >= 0, timeout=10, what=f"{path} to be empty")
        except (AssertionError, OSError):
            pass
        try:
            os.rmdir(path)
        except OSError:
            pass


@pytest.fixture
def cgroup_base(warden):
    """A scratch folder in the cgroup2 hierarchy, for warden.cgroup. Set up after `warden`, so
    torn down before it: the test's wardend is stopped first, or it would start again what
    cgroup.kill kills here, and the folder would never empty."""
    folder = os.path.join(MOUNT, f"warden-test-{uuid.uuid4().hex[:12]}")
    try:
        yield folder
    finally:
        warden.stop()
        remove_cgroup_tree(folder)


def procs(folder):
    try:
        with open(os.path.join(folder, "cgroup.procs")) as f:
            return [int(line) for line in f if line.strip()]
    except FileNotFoundError:
        return []


def fd_count(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def read_pid(path, timeout=30.0):
    return wait_until(lambda: os.path.exists(path) and open(path).read().strip().isdigit()
                      and int(open(path).read().strip()), timeout=timeout,
                      what=f"a pid in {path}")


def warden_keys(text):
    """More keys under `warden:` (conftest dedents `extra`: a comment line at column 0 keeps
    the keys' indentation)."""
    return "# the test's warden keys\n" + text


def base_for(mode, request):
    """The scratch cgroup folder for the cgroup backend (skipping without one); None for /proc."""
    if mode != "cgroup":
        return None
    if MOUNT is None:
        pytest.skip("no writable cgroup2 hierarchy")
    return request.getfixturevalue("cgroup_base")


def backend(mode, cgroup_base):
    return warden_keys(f"  cgroup: {cgroup_base if mode == 'cgroup' else 'none'}\n")


# --- the setsid env -i leftover ------------------------------------------------------------------

def setsid_program(pidfile):
    # The main process starts a leftover in a session of its own with an empty environment
    # (no WARDEN_* to recognise it by), then waits.
    return f"""\
        escaper:
          command: ["sh", "-c", "setsid env -i sh -c 'echo $$ > {pidfile}; exec sleep 1000' &
                    exec sleep 1000"]
          startsecs: 0
          stopwaitsecs: 5
        """


@pytest.mark.parametrize("mode", ["cgroup", "proc"])
def test_a_setsid_env_i_leftover_is_shown_and_stopped(warden, scratch, request, mode):
    base = base_for(mode, request)
    pidfile = os.path.join(scratch, "leftover.pid")
    warden.start(setsid_program(pidfile), extra=backend(mode, base))
    leftover = read_pid(pidfile)
    warden.seen_pids.add(leftover)
    p = warden.wait_state("escaper", "RUNNING")
    assert p["tracking"] == mode
    wait_until(lambda: leftover in [c["pid"] for c in warden.status("escaper")["escaper"]["children"]],
               what="the leftover in status")
    if mode == "cgroup":
        folder = os.path.join(base, "programs", "escaper")
        assert set(procs(folder)) == {p["pid"], leftover}
    warden.ctl("stop", "escaper", check=0)
    assert not pid_alive(leftover)
    if mode == "cgroup":
        wait_until(lambda: not os.path.exists(os.path.join(base, "programs", "escaper")),
                   what="the empty cgroup to be removed")


@pytest.mark.parametrize("mode", ["cgroup", "proc"])
def test_a_crash_loop_with_setsid_leftovers_costs_no_fds(warden, scratch, request, mode):
    base = base_for(mode, request)
    pids = os.path.join(scratch, "pids")
    # Each instance leaves a setsid env -i process behind (holding its stdout and stderr) and
    # crashes; wardend must stop the leftover before the next start.
    warden.start(f"""\
        crasher:
          command: ["sh", "-c", "setsid env -i sh -c 'echo $$ >> {pids}; exec sleep 1000' &
                    sleep 0.2; exit 3"]
          startsecs: 0
          autorestart: true
          stopwaitsecs: 2
          backoff:
            initial: 0.05
            max: 0.05
        """, extra=backend(mode, base))

    def leftovers_started():
        try:
            return [int(x) for x in open(pids).read().split()]
        except FileNotFoundError:
            return []

    wait_until(lambda: len(leftovers_started()) >= 3, what="three crashes")
    before = fd_count(warden.proc.pid)
    wait_until(lambda: len(leftovers_started()) >= 12, timeout=60, what="twelve crashes")
    after = fd_count(warden.proc.pid)
    started = leftovers_started()
    warden.seen_pids.update(started)
    assert after <= before + 2, f"wardend's fds grew from {before} to {after}"
    warden.ctl("stop", "crasher", check=0)
    alive = [pid for pid in started if pid_alive(pid)]
    assert alive == [], f"leftovers still running: {alive}"


# --- nginx left to daemonize ---------------------------------------------------------------------

NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def nginx_config(scratch, port):
    conf = os.path.join(scratch, "nginx.conf")
    with open(conf, "w") as f:
        f.write(f"""\
worker_processes 2;
pid {scratch}/nginx.pid;
error_log {scratch}/nginx-error.log;
events {{ worker_connections 16; }}
http {{
  access_log off;
  client_body_temp_path {scratch}/body;
  proxy_temp_path {scratch}/proxy;
  fastcgi_temp_path {scratch}/fastcgi;
  uwsgi_temp_path {scratch}/uwsgi;
  scgi_temp_path {scratch}/scgi;
  server {{ listen 127.0.0.1:{port}; return 204; }}
}}
""")
    return conf


def nginx_program(conf, scratch):
    # No `daemon off`: nginx forks, its first process exits, the master leaves the session and
    # overwrites its environment with its title. keep_orphans: it is the program's all the same.
    return f"""\
        nginx:
          command: ["{NGINX}", "-c", "{conf}", "-p", "{scratch}"]
          startsecs: 0
          autorestart: false
          keep_orphans: true
        """


def port_free(port):
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


@pytest.mark.skipif(NGINX is None, reason="nginx is not installed (apt-get install nginx-light)")
@pytest.mark.parametrize("mode", ["cgroup", "proc"])
def test_nginx_left_to_daemonize_never_leaves_anything(warden, scratch, request, mode):
    base = base_for(mode, request)
    port = free_port()
    conf = nginx_config(scratch, port)
    programs = nginx_program(conf, scratch)
    extra = backend(mode, base)
    folder = os.path.join(base, "programs", "nginx") if base else None
    pidfile = os.path.join(scratch, "nginx.pid")
    for round_ in range(20):
        warden.start(programs, extra=extra)
        master = read_pid(pidfile)
        warden.seen_pids.add(master)
        # The master and its two workers, all in status though the main process is gone; with
        # cgroups, the folder holds just those (once the main process has finished exiting: it
        # may still be listed for a moment after status has let it go).
        def settled():
            s = warden.status("nginx")["nginx"]
            pids = {c["pid"] for c in s["children"]}
            return len(pids) >= 3 and (folder is None or set(procs(folder)) == pids) and s
        p = wait_until(settled, what=f"round {round_}: nginx's processes in status"
                       + (f" and alone in {folder}" if folder else ""))
        assert p["tracking"] == mode
        members = [c["pid"] for c in p["children"]]
        assert master in members
        warden.seen_pids.update(members)
        if round_ % 2 == 0:
            warden.ctl("stop", "nginx", check=0)
            assert [pid for pid in members if pid_alive(pid)] == [], f"round {round_}: after stop"
            assert port_free(port), f"round {round_}: the port is still bound after stop"
        warden.ctl("shutdown", check=0)
        warden.proc.wait(timeout=60)
        finish(warden)
        assert [pid for pid in members if pid_alive(pid)] == [], f"round {round_}: after shutdown"
        assert port_free(port), f"round {round_}: the port is still bound after shutdown"
        if folder:
            assert not os.path.exists(folder), f"round {round_}: the cgroup was not removed"
        try:
            os.unlink(pidfile)
        except FileNotFoundError:
            pass


# --- an earlier wardend's processes --------------------------------------------------------------

def sigkill_wardend(warden):
    warden.proc.send_signal(signal.SIGKILL)
    warden.proc.wait(timeout=30)
    finish(warden)


def finish(warden):
    """After wardend exited: its files closed, the notify socket free for the next start."""
    warden.stop()
    os.unlink(os.path.join(warden.root, "notify.sock"))


def record_of(warden):
    """The record of tracked processes beside the control socket: its live (pid, name) pairs."""
    live = {}
    try:
        with open(warden.socket + ".procs") as f:
            for line in f:
                if not line.endswith("\n"):
                    break
                parts = line.split(" ", 3)
                if parts[0] == "+" and len(parts) == 4:
                    live[(int(parts[1]), int(parts[2]))] = parts[3].strip()
                elif parts[0] == "-" and len(parts) >= 3:
                    live.pop((int(parts[1]), int(parts[2])), None)
    except FileNotFoundError:
        pass
    return {(pid, name) for (pid, _), name in live.items()}


def live_processes_of(warden, name):
    """The main process and the children status shows for `name`."""
    p = warden.status(name)[name]
    return ({p["pid"]} if p["pid"] else set()) | {c["pid"] for c in p["children"]}


@pytest.mark.parametrize("mode", ["cgroup", "proc"])
def test_a_wardend_started_again_kills_what_the_killed_one_left(warden, scratch, request, mode):
    base = base_for(mode, request)
    pidfile = os.path.join(scratch, "leftover.pid")
    # The leftover leaves the session and clears its environment: only the record (or the
    # cgroup) knows it is the program's.
    programs = f"""\
        server:
          command: ["sh", "-c", "setsid env -i sh -c 'echo $$ > {pidfile}; exec sleep 1000' &
                    exec sleep 1000"]
          startsecs: 0
        """
    warden.start(programs, extra=backend(mode, base))
    old_main = warden.wait_state("server", "RUNNING")["pid"]
    old_leftover = read_pid(pidfile)
    warden.seen_pids.update({old_main, old_leftover})
    if mode == "proc":
        assert (old_main, "server") in record_of(warden)
    sigkill_wardend(warden)
    assert pid_alive(old_main) and pid_alive(old_leftover)
    os.unlink(pidfile)

    warden.start(programs, extra=backend(mode, base))
    log = warden.log()
    assert "an earlier wardend left processes" in log, log
    assert str(old_main) in log and str(old_leftover) in log
    assert "warden.on_leftovers: kill" in log
    assert not pid_alive(old_main) and not pid_alive(old_leftover)
    new_main = warden.wait_state("server", "RUNNING")["pid"]
    new_leftover = read_pid(pidfile)
    warden.seen_pids.update({new_main, new_leftover})
    if mode == "cgroup":
        folder = os.path.join(base, "programs", "server")
        assert set(procs(folder)) == {new_main, new_leftover}, "one copy only"
    else:
        wait_until(lambda: live_processes_of(warden, "server") == {new_main, new_leftover},
                   what="the new copy, and only it, in status")
        assert {pid for pid, _ in record_of(warden)} >= {new_main, new_leftover}
        assert old_main not in {pid for pid, _ in record_of(warden)}


@pytest.mark.parametrize("mode", ["cgroup", "proc"])
def test_with_on_leftovers_leave_the_program_is_not_started_again(warden, scratch, request,
                                                                   mode):
    base = base_for(mode, request)
    programs = """\
        server:
          command: ["sleep", "1000"]
          startsecs: 0
          startretries: 0
        """
    extra = backend(mode, base) + "  on_leftovers: leave\n"
    warden.start(programs, extra=extra)
    old_main = warden.wait_state("server", "RUNNING")["pid"]
    warden.seen_pids.add(old_main)
    sigkill_wardend(warden)

    warden.start(programs, extra=extra)
    assert "warden.on_leftovers: leave" in warden.log()
    p = warden.wait_state("server", "FATAL")
    assert "earlier wardend" in p["reason"], p
    assert str(old_main) in p["reason"], p
    assert pid_alive(old_main)
    folder = os.path.join(base, "programs", "server") if base else None
    if folder:
        assert procs(folder) == [old_main], "no second copy"
    else:
        assert p["pid"] is None, "no second copy"
        # Left alone, it stays in the record: a wardend killed again would still find it.
        assert (old_main, "server") in record_of(warden)
    # Once the old copy is gone, a start works.
    os.kill(old_main, signal.SIGKILL)
    wait_until(lambda: not pid_alive(old_main), what="the old copy to be gone")
    if folder:
        wait_until(lambda: procs(folder) == [], what="the old copy to leave its cgroup")
    warden.ctl("start", "server", check=0)
    new_main = warden.status("server")["server"]["pid"]
    warden.seen_pids.add(new_main)
    if folder:
        assert procs(folder) == [new_main]
    else:
        assert {pid for pid, _ in record_of(warden)} == {new_main}


@pytest.mark.skipif(NGINX is None, reason="nginx is not installed (apt-get install nginx-light)")
def test_nginx_left_to_daemonize_is_found_by_a_wardend_started_again_under_proc(warden, scratch):
    port = free_port()
    conf = nginx_config(scratch, port)
    programs = nginx_program(conf, scratch)
    extra = backend("proc", None)
    pidfile = os.path.join(scratch, "nginx.pid")
    warden.start(programs, extra=extra)
    master = read_pid(pidfile)
    warden.seen_pids.add(master)
    # No status asked: the master, double-forked and in a session of its own, is written down
    # when wardend reaps the process that started it.
    wait_until(lambda: (master, "nginx") in record_of(warden), what="the master in the record")
    workers = wait_until(lambda: (lambda kids: len(kids) >= 2 and kids)(
        [int(x) for x in open(f"/proc/{master}/task/{master}/children").read().split()]),
        what="nginx's workers")
    old = {master, *workers}
    warden.seen_pids.update(old)
    sigkill_wardend(warden)
    assert all(pid_alive(pid) for pid in old)
    os.unlink(pidfile)

    warden.start(programs, extra=extra)
    log = warden.log()
    assert "an earlier wardend left processes of nginx running" in log, log
    assert all(str(pid) in log for pid in old), log
    assert "(nginx)" in log, log
    assert [pid for pid in old if pid_alive(pid)] == []
    # The new copy got the port: the old one had let it go.
    new_master = read_pid(pidfile)
    warden.seen_pids.add(new_master)
    assert new_master not in old
    p = wait_until(lambda: (lambda s: len(s["children"]) >= 3 and s)(
        warden.status("nginx")["nginx"]), what="the new nginx's processes in status")
    members = {c["pid"] for c in p["children"]}
    warden.seen_pids.update(members)
    assert not (members & old), "a second copy next to the first"
    errors = open(os.path.join(scratch, "nginx-error.log")).read()
    assert "Address already in use" not in errors, errors
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(b"GET / HTTP/1.0\r\n\r\n")
        assert s.recv(64).startswith(b"HTTP/1.1 204")
    warden.ctl("stop", "nginx", check=0)
    assert [pid for pid in members if pid_alive(pid)] == []
    assert port_free(port)


def test_the_record_goes_on_across_a_reexec(warden):
    from test_reexec import reexec
    programs = """\
        server:
          command: ["sleep", "1000"]
          startsecs: 0
        """
    extra = backend("proc", None)
    warden.start(programs, extra=extra)
    first = warden.wait_state("server", "RUNNING")["pid"]
    warden.seen_pids.add(first)
    reexec(warden)
    assert (first, "server") in record_of(warden)
    # The new image writes down what it starts, and what ended goes.
    warden.ctl("restart", "server", check=0)
    second = warden.wait_state("server", "RUNNING")["pid"]
    warden.seen_pids.add(second)
    assert record_of(warden) == {(second, "server")}
    sigkill_wardend(warden)
    warden.start(programs, extra=extra)
    assert f"pids {second} (sleep)" in warden.log(), warden.log()
    assert not pid_alive(second)


# --- detection -----------------------------------------------------------------------------------

SLEEPER = """\
    sleeper:
      command: ["sleep", "1000"]
      startsecs: 0
    """


def test_cgroup_none_tracks_through_proc(warden):
    warden.start(SLEEPER, extra=warden_keys("  cgroup: none\n"))
    p = warden.wait_state("sleeper", "RUNNING")
    assert p["tracking"] == "proc"
    assert "processes are tracked through /proc: warden.cgroup is none" in warden.log()


def test_a_cgroup_path_outside_cgroup2_is_refused_plainly(warden, scratch):
    target = os.path.join(scratch, "not-a-cgroup")
    warden.start(SLEEPER, extra=warden_keys(f"  cgroup: {target}\n"))
    p = warden.wait_state("sleeper", "RUNNING")
    assert p["tracking"] == "proc"
    assert f"warden.cgroup {target} is not in a cgroup2 file system" in warden.log()


def test_a_relative_cgroup_path_is_a_config_error(warden, scratch):
    warden.write_config(SLEEPER, extra=warden_keys("  cgroup: relative/path\n"))
    result = subprocess.run([WARDEND, "--check", "-c", warden.config], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode != 0
    assert f"{warden.config}:" in result.stderr + result.stdout
    assert "'cgroup' 'relative/path'" in result.stderr + result.stdout


@needs_cgroup2
def test_auto_uses_a_folder_named_after_the_socket_and_removes_it(warden):
    with open("/proc/self/cgroup") as f:
        if "0::/\n" not in f.read():
            pytest.skip("the tests do not run in the root cgroup")
    warden.start(SLEEPER)
    p = warden.wait_state("sleeper", "RUNNING")
    assert p["tracking"] == "cgroup"
    line = [l for l in warden.log().splitlines() if "processes are tracked in cgroups under" in l]
    assert line, warden.log()
    base = line[0].rsplit(" ", 1)[1]
    assert os.path.basename(base).startswith("warden-")
    assert procs(os.path.join(base, "programs", "sleeper")) == [p["pid"]]
    warden.ctl("shutdown", check=0)
    warden.proc.wait(timeout=60)
    assert not os.path.exists(base)


@needs_cgroup2
def test_a_refused_second_wardend_leaves_the_first_ones_cgroups_alone(warden, cgroup_base):
    warden.start("""\
        idle:
          command: ["sleep", "1000"]
          autostart: false
          startsecs: 0
        """, extra=backend("cgroup", cgroup_base))
    programs = os.path.join(cgroup_base, "programs")
    assert os.path.isdir(programs)
    second = subprocess.run([WARDEND, "-c", warden.config], capture_output=True, text=True,
                            timeout=60)
    assert second.returncode == 1 and "already listening" in second.stderr
    assert os.path.isdir(programs), "the refused wardend removed the running one's folder"
    warden.ctl("start", "idle", check=0)
    p = warden.status("idle")["idle"]
    assert p["tracking"] == "cgroup"
    assert procs(os.path.join(programs, "idle")) == [p["pid"]]


# --- figures -------------------------------------------------------------------------------------

@pytest.mark.parametrize("mode", ["cgroup", "proc"])
def test_cpu_of_a_child_that_exited_counts_under_cgroups(warden, scratch, request, mode):
    base = base_for(mode, request)
    burner = os.path.join(scratch, "burn.py")
    done = os.path.join(scratch, "burnt")
    with open(burner, "w") as f:
        # 0.6 s of CPU, however loaded the machine is, then gone.
        f.write("import time\nt = time.process_time()\n"
                "while time.process_time() - t < 0.6:\n    pass\n"
                f"open({done!r}, 'w').close()\n")
    warden.start(f"""\
        burner:
          command: ["sh", "-c", "/usr/bin/python3 {burner}; exec sleep 1000"]
          startsecs: 0
        """, extra=backend(mode, base))
    wait_until(lambda: os.path.exists(done), timeout=60, what="the child to burn its CPU")
    p = wait_until(lambda: (lambda s: s["children"] == [] and s)(warden.status("burner")["burner"]),
                   what="the child to be gone")
    if mode == "cgroup":
        # cpu.stat counts every process the cgroup had, the exited ones too.
        assert p["cpu_time_s"] >= 0.5, p
    else:
        # /proc: the main process's own time only (sh, then sleep).
        assert p["cpu_time_s"] < 0.5, p
