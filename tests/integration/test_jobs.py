"""Control operations as jobs: a restart, stop or update in flight meets another operation on
the same processes (the rules are in docs/design.md, "Jobs"). Nothing may touch a removed
process, no removed program may keep running, no program may run twice, no accepted change
may be lost, and every request is answered exactly once."""

import os
import random
import signal
import subprocess
import threading
import time

import pytest

from conftest import WARDENCTL, WARDEND, pid_alive, wait_until

# A program whose stop takes stopwaitsecs: it ignores SIGTERM and is killed after 2 s.
SLOW = """\
{name}:
  command: sh -c "trap '' TERM; exec sleep {arg}"
  startsecs: 0
  stopwaitsecs: 2
"""
FAST = """\
{name}:
  command: sleep {arg}
  startsecs: 0
"""


def live_sleeps(parent, match):
    """wardend `parent`'s live children `sleep ARG` for which match(ARG) is true (a program's
    main process is wardend's child; one it lost track of stays its child too: it is a
    subreaper)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if (ppid == parent and len(argv) >= 2 and argv[0].endswith(b"sleep")
                and match(argv[1].decode()) and pid_alive(int(entry))):
            found.append(int(entry))
    return found


def live_with_arg(warden, arg):
    """wardend's live children whose command line is `sleep ARG`."""
    return live_sleeps(warden.proc.pid, lambda a: a == str(arg))


def background(warden, *args):
    return subprocess.Popen([WARDENCTL, "-s", warden.socket, *args], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def finish(proc, timeout=60):
    out, _ = proc.communicate(timeout=timeout)
    return proc.returncode, out


def test_update_removing_a_process_a_restart_waits_for(warden):
    warden.start(SLOW.format(name="x", arg=7101) + FAST.format(name="other", arg=7102))
    old = warden.wait_state("x", "RUNNING")["pid"]
    restart = background(warden, "restart", "x")
    warden.wait_state("x", "STOPPING")
    warden.write_config(FAST.format(name="other", arg=7102))
    out = warden.ctl("update", check=0).stdout
    assert "x: removed process group" in out
    code, out = finish(restart)
    assert code == 4 and "x: ERROR (no such process: removed by update)" in out, out
    # Gone for good: not in status, not running, not started again after its stop.
    assert "x" not in warden.status()
    wait_until(lambda: not pid_alive(old), what="the old x to be gone")
    assert live_with_arg(warden, 7101) == []
    warden.ctl("stop", "x", check=4)
    # Added again: one copy.
    warden.write_config(SLOW.format(name="x", arg=7101) + FAST.format(name="other", arg=7102))
    warden.ctl("update", check=0)
    warden.wait_state("x", "RUNNING")
    assert len(live_with_arg(warden, 7101)) == 1


@pytest.mark.parametrize("added", [0, 200])
def test_restart_of_a_removed_process_starts_nobody_else(warden, added):
    base = FAST.format(name="fast", arg=7201) + SLOW.format(name="slow", arg=7202)
    warden.start(base)
    warden.wait_state("fast", "RUNNING")
    warden.wait_state("slow", "RUNNING")
    restart = background(warden, "restart", "fast", "slow")
    warden.wait_state("slow", "STOPPING")
    warden.write_config(SLOW.format(name="slow", arg=7202))
    warden.ctl("update", check=0)
    if added:
        more = "".join(f"f{i:03d}:\n  command: sleep 72{i:03d}\n  autostart: false\n"
                       for i in range(1, added + 1))
        warden.write_config(SLOW.format(name="slow", arg=7202) + more)
        warden.ctl("update", check=0)
    code, out = finish(restart)
    assert "fast: ERROR (no such process: removed by update)" in out, out
    assert "slow: started" in out, out
    assert "f001" not in out
    assert code == 4
    states = {name: p["state"] for name, p in warden.status().items()}
    assert states.pop("slow") == "RUNNING"
    assert all(state == "STOPPED" for state in states.values()), states
    assert live_with_arg(warden, 7201) == []


def test_update_changing_a_process_a_restart_waits_for(warden):
    warden.start(SLOW.format(name="x", arg=7301))
    warden.wait_state("x", "RUNNING")
    restart = background(warden, "restart", "x")
    warden.wait_state("x", "STOPPING")
    warden.write_config(SLOW.format(name="x", arg=7302))
    out = warden.ctl("update", check=0).stdout
    assert "x: updated process group (restarted: command)" in out
    code, out = finish(restart)
    assert code == 0 and "x: started" in out, out
    # The restart started the new definition; nothing is left for reread to show.
    wait_until(lambda: live_with_arg(warden, 7302), what="x with the new command")
    assert live_with_arg(warden, 7301) == []
    assert "No config updates" in warden.ctl("reread", check=0).stdout


def test_update_of_a_stopped_program_applies_at_its_next_start(warden):
    warden.start(FAST.format(name="x", arg=7401) + "  autostart: false\n")
    warden.write_config(FAST.format(name="x", arg=7402) + "  autostart: false\n")
    out = warden.ctl("update", check=0).stdout
    assert "x: updated process group (at the next start: command)" in out
    warden.ctl("start", "x", check=0)
    assert len(live_with_arg(warden, 7402)) == 1


def test_stop_during_a_restart_cancels_its_start(warden):
    warden.start(SLOW.format(name="x", arg=7501))
    warden.wait_state("x", "RUNNING")
    restart = background(warden, "restart", "x")
    warden.wait_state("x", "STOPPING")
    warden.ctl("stop", "x", check=0)
    code, out = finish(restart)
    assert code == 1 and "start cancelled by a stop" in out, out
    assert warden.status("x")["x"]["state"] == "STOPPED"
    assert live_with_arg(warden, 7501) == []


def test_program_added_back_waits_for_its_removed_instance(warden):
    warden.start(SLOW.format(name="x", arg=7601) + FAST.format(name="other", arg=7602))
    old = warden.wait_state("x", "RUNNING")["pid"]
    warden.write_config(FAST.format(name="other", arg=7602))
    removal = background(warden, "update")
    wait_until(lambda: "x" not in warden.status(), what="x to leave status")
    warden.write_config(SLOW.format(name="x", arg=7601) + FAST.format(name="other", arg=7602))
    # While the old instance stops (2 s), the new one waits; never two at once.
    adding = background(warden, "update")
    while adding.poll() is None:
        assert len(live_with_arg(warden, 7601)) <= 1
        time.sleep(0.05)
    assert finish(adding)[0] == 0
    assert finish(removal)[0] == 0
    assert not pid_alive(old)
    new = warden.wait_state("x", "RUNNING")["pid"]
    assert new != old and live_with_arg(warden, 7601) == [new]


def test_reexec_waits_for_removals(warden):
    warden.start(SLOW.format(name="x", arg=7701))
    warden.wait_state("x", "RUNNING")
    warden.write_config("")
    removal = background(warden, "update")
    wait_until(lambda: "x" not in warden.status(), what="x to leave status")
    result = warden.ctl("reexec")
    assert result.returncode == 1 and "still stopping" in result.stderr + result.stdout, result
    assert finish(removal)[0] == 0
    assert live_with_arg(warden, 7701) == []


# --- a storm of clients while updates edit the config -----------------------------------------

STORM_PROGRAMS = 8


def storm_config(rng, generation):
    """A random edit of the storm's programs: some left out, some with a new command, some
    slow to stop, some depending on another, numprocs 1 or 2."""
    text = ""
    present = []
    for i in range(STORM_PROGRAMS):
        if rng.random() < 0.2:
            continue
        present.append(i)
        arg = f"8{i:02d}{rng.choice([0, generation % 1000]):03d}"
        slow = rng.random() < 0.4
        command = f"sh -c \"trap '' TERM; exec sleep {arg}\"" if slow else f"sleep {arg}"
        text += f"p{i}:\n  command: {command}\n  startsecs: 0\n  stopwaitsecs: 1\n"
        if rng.random() < 0.3:
            text += "  numprocs: 2\n"
        deps = [f"p{j}" for j in present[:-1] if rng.random() < 0.15]
        if deps:
            text += f"  depends_on: [{', '.join(deps)}]\n"
    return text, present


def instances_of(warden, i):
    """wardend's live children that run program p<i>'s command, whatever its generation."""
    return live_sleeps(warden.proc.pid, lambda a: len(a) == 6 and a.startswith(f"8{i:02d}"))


def test_storm_of_clients_with_updates(warden):
    seconds = float(os.environ.get("WARDEN_STORM_SECONDS", "20"))
    rng = random.Random(int(os.environ.get("WARDEN_STORM_SEED", "1")))
    text, _ = storm_config(rng, 0)
    warden.start(text)
    deadline = time.monotonic() + seconds
    failures = []
    answered = [0]
    lock = threading.Lock()

    def client(seed):
        local = random.Random(seed)
        while time.monotonic() < deadline:
            names = [f"p{local.randrange(STORM_PROGRAMS)}" for _ in range(local.randint(1, 3))]
            if local.random() < 0.1:
                names = ["all"]
            verb = local.choice(["start", "stop", "restart", "restart", "status"])
            try:
                r = subprocess.run([WARDENCTL, "-s", warden.socket, verb, *names],
                                   capture_output=True, text=True, timeout=60)
            except subprocess.TimeoutExpired:
                with lock:
                    failures.append(f"{verb} {names}: no answer within 60 s")
                continue
            # 0 done, 1 some failed (removed by update, already started...), 3 status not all
            # running, 4 no such process: every one is an answer. Anything else is not.
            with lock:
                answered[0] += 1
                if r.returncode not in (0, 1, 3, 4) or "cannot connect" in r.stderr:
                    failures.append(f"{verb} {names}: exit {r.returncode}: {r.stderr.strip()}")

    threads = [threading.Thread(target=client, args=(n,)) for n in range(20)]
    for t in threads:
        t.start()
    generation = 0
    try:
        while time.monotonic() < deadline:
            generation += 1
            text, _ = storm_config(rng, generation)
            warden.write_config(text)
            r = warden.ctl("update", timeout=60)
            assert r.returncode in (0, 1), r.stderr
            assert warden.proc.poll() is None, f"wardend died:\n{warden.log()[-4000:]}"
            time.sleep(rng.uniform(0.2, 1.0))
    finally:
        for t in threads:
            t.join(timeout=120)
    assert warden.proc.poll() is None, f"wardend died:\n{warden.log()[-4000:]}"
    assert not failures, failures[:10]
    assert answered[0] > 20

    # Settle on one last config: everything it names runs once, nothing else runs at all.
    text, present = storm_config(random.Random(12345), generation + 1)
    warden.write_config(text)
    warden.ctl("update", check=0, timeout=120)
    warden.ctl("start", "all", timeout=120)
    wait_until(lambda: all(p["state"] == "RUNNING" for p in warden.status().values()),
               timeout=60, what="every program RUNNING")
    status = warden.status()
    for i in range(STORM_PROGRAMS):
        want = sum(1 for name in status if name == f"p{i}" or name.startswith(f"p{i}:"))
        assert (want > 0) == (i in present), (i, present, sorted(status))
        try:
            wait_until(lambda: len(instances_of(warden, i)) == want, timeout=30,
                       what=f"p{i} to run {want} instance(s)")
        except AssertionError:
            extra = instances_of(warden, i)
            lines = [line for line in warden.log().splitlines()
                     if any(str(pid) in line for pid in extra) or f"p{i}" in line]
            raise AssertionError(f"p{i}: {want} wanted, running {extra}; wardend said:\n"
                                 + "\n".join(lines[-80:]))


# --- memory running out --------------------------------------------------------------------------

def sanitized():
    out = subprocess.run(["ldd", WARDEND], capture_output=True, text=True).stdout
    return "libasan" in out or "libubsan" in out


@pytest.mark.skipif(sanitized(), reason="ASan reserves more address space than any limit allows")
def test_out_of_memory_fails_the_request_not_wardend(warden):
    warden.start(FAST.format(name="x", arg=7801))
    pid = warden.wait_state("x", "RUNNING")["pid"]
    with open(f"/proc/{warden.proc.pid}/status") as f:
        vm = next(int(line.split()[1]) for line in f if line.startswith("VmSize:"))
    # Just above what wardend maps now: the request below needs far more.
    limit = (vm + 2048) * 1024
    subprocess.run(["prlimit", f"--pid={warden.proc.pid}", f"--as={limit}:"], check=True)
    names = [f"no-such-program-{n:08d}" for n in range(30000)]  # under 1 MiB
    try:
        r = warden.ctl("status", *names, timeout=60)
        assert warden.proc.poll() is None, f"wardend died:\n{warden.log()[-3000:]}"
        assert r.returncode != 0
    finally:
        subprocess.run(["prlimit", f"--pid={warden.proc.pid}", "--as=unlimited:"], check=True)
    # Still supervising: it answers, and a killed program comes back.
    assert warden.status("x")["x"]["pid"] == pid
    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: warden.status("x")["x"]["pid"] not in (0, pid)
               and warden.status("x")["x"]["state"] == "RUNNING", what="x restarted")
