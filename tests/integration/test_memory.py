"""memory_limit: a program whose processes together use more than it is restarted gracefully,
with the reason in status, events and the log; the memory timer runs only while a program with
a limit is up; memory_max says plainly where it cannot be enforced."""

import os
import subprocess
import time

from conftest import WARDEND, EventReader, wait_until

# Allocates (and touches) MB megabytes on its first run only (a marker file says it ran), so
# that after one memory restart the program settles.
ONCE = ("import os, time\n"
        "marker = {marker!r}\n"
        "first = not os.path.exists(marker)\n"
        "open(marker, 'a').close()\n"
        "{body}"
        "time.sleep(1000)\n")


# Appended to the `warden:` section (a comment line keeps the indentation from dedent).
FAST_CHECKS = "# more warden keys\n  memory_check_interval: 0.2\n"


def once(marker, body):
    return ["python3", "-c", ONCE.format(marker=marker, body=body)]


def yaml_list(words):
    import json
    return json.dumps(words)


def test_a_program_over_its_limit_is_restarted_with_the_reason(warden):
    marker = os.path.join(warden.root, "ran")
    command = once(marker, "hog = b'x' * ((50 << 20) if first else 1)\n")
    warden.write_config(f"""\
        hog:
          command: {yaml_list(command)}
          startsecs: 0
          memory_limit: 20M
        """, extra=FAST_CHECKS)
    warden.start()
    events = EventReader(warden, "hog")
    try:
        stopping = events.until(lambda e: e["to"] == "STOPPING", timeout=60)
        assert stopping["reason"].startswith("restarting: memory "), stopping
        assert stopping["reason"].endswith(" over memory_limit 20M"), stopping
        running = events.until(lambda e: e["to"] == "RUNNING", timeout=60)
        assert running["reason"].startswith("restarted: memory "), running
    finally:
        events.close()
    p = warden.wait_state("hog", "RUNNING")
    assert p["restarts"] == 1
    assert p["reason"] == running["reason"]
    used = p["reason"].split()[2]  # "restarted: memory 30.8M over memory_limit 20M": measured while it allocates
    assert used.endswith("M") and float(used[:-1]) > 20, p["reason"]
    line = [l for l in warden.ctl("status", "hog", check=0).stdout.splitlines()
            if l.startswith("hog")][0]
    assert line.endswith(", " + p["reason"]), line
    log = warden.log()
    assert "hog: restarting: " + p["reason"][len("restarted: "):] in log
    assert "hog: " + p["reason"] in log
    # Settled: the second instance stays under the limit, and is never FATAL for it.
    time.sleep(1)  # a few check intervals: nothing to await when nothing may happen
    again = warden.status("hog")["hog"]
    assert again["state"] == "RUNNING" and again["restarts"] == 1 and again["pid"] == p["pid"]


def test_the_limit_counts_every_process_of_the_program(warden):
    # Three processes of ~20 MB each: none is over 40M, together they are.
    marker = os.path.join(warden.root, "ran")
    body = ("if first:\n"
            "    for _ in range(2):\n"
            "        if os.fork() == 0:\n"
            "            break\n"
            "    hog = b'x' * (12 << 20)\n")
    warden.write_config(f"""\
        family:
          command: {yaml_list(once(marker, body))}
          startsecs: 0
          memory_limit: 40M
        """, extra=FAST_CHECKS)
    warden.start()
    p = wait_until(lambda: (lambda s: s["restarts"] == 1 and s["state"] == "RUNNING" and s)(
        warden.status("family")["family"]), timeout=60, what="a memory restart")
    assert p["reason"].startswith("restarted: memory ") and "over memory_limit 40M" in p["reason"]
    log = warden.log()
    assert "resident memory of 3 processes" in log, log


def test_a_stop_during_the_memory_restart_wins(warden):
    # stopwaitsecs keeps it STOPPING: a client's stop then, and it is not started again.
    warden.write_config("""\
        hog:
          command: ["sh", "-c", "trap '' TERM; python3 -c \\"import time; b = b'x' * (30 << 20); time.sleep(1000)\\""]
          startsecs: 0
          stopwaitsecs: 3
          memory_limit: 10M
        """, extra=FAST_CHECKS)
    warden.start()
    warden.wait_state("hog", "STOPPING", timeout=60)
    assert warden.status("hog")["hog"]["reason"].startswith("restarting: memory ")
    warden.ctl("stop", "hog", check=0)
    p = warden.wait_state("hog", "STOPPED")
    assert p["reason"] == "Stopped" or not p["reason"].startswith("restart"), p


def voluntary_switches(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("voluntary_ctxt_switches"):
                return int(line.split()[1])


def quiet_switches(warden):
    """The count once wardend has gone quiet (the last client's disconnect handled, the heap
    trimmed: see test_core.py's idle test)."""
    previous = voluntary_switches(warden.proc.pid)

    def settled():
        nonlocal previous
        time.sleep(0.8)
        current = voluntary_switches(warden.proc.pid)
        stable = current == previous
        previous = current
        return stable and current

    return wait_until(settled, timeout=60, interval=0, what="the daemon to go quiet")


def test_the_memory_timer_runs_only_while_a_limited_program_is_up(warden):
    warden.write_config("""\
        limited:
          command: sleep 1000
          startsecs: 0
          memory_limit: 1G
        free:
          command: sleep 1000
          startsecs: 0
        """, extra=FAST_CHECKS)
    warden.start()
    warden.wait_state("limited", "RUNNING")
    warden.wait_state("free", "RUNNING")
    # Armed: five checks a second wake wardend up (measured over 2 s).
    before = voluntary_switches(warden.proc.pid)
    time.sleep(2)  # measuring wakeups itself: nothing to await
    assert voluntary_switches(warden.proc.pid) - before >= 5
    # The limited program stopped: no timer, no wakeup, though `free` still runs.
    warden.ctl("stop", "limited", check=0)
    before = quiet_switches(warden)
    time.sleep(2)
    assert voluntary_switches(warden.proc.pid) == before


def test_no_limit_no_memory_timer(warden):
    warden.write_config("""\
        free:
          command: sleep 1000
          startsecs: 0
        """, extra=FAST_CHECKS)
    warden.start()
    warden.wait_state("free", "RUNNING")
    before = quiet_switches(warden)
    time.sleep(2)  # measuring idleness itself: nothing to await
    assert voluntary_switches(warden.proc.pid) == before


def check_capped(warden, extra=""):
    """Writes a config with a memory_max program and runs `wardend --check` on it."""
    warden.write_config("""\
        capped:
          command: sleep 1000
          startsecs: 0
          memory_max: 100M
        """, extra=extra)
    return subprocess.run([WARDEND, "--check", "-c", warden.config], capture_output=True,
                          text=True, timeout=30)


def test_memory_max_where_it_cannot_be_enforced(warden):
    check = check_capped(warden)
    controllers = None
    try:
        with open("/proc/self/cgroup") as f:
            own = [l.strip()[3:] for l in f if l.startswith("0::")]
        for line in open("/proc/self/mountinfo"):
            fields = line.split()
            if fields[fields.index("-") + 1] == "cgroup2" and own:
                with open(fields[4] + own[0].rstrip("/") + "/cgroup.controllers") as f:
                    controllers = f.read().split()
                break
    except OSError:
        pass
    if controllers is not None and "memory" in controllers:
        assert "memory_max" not in check.stdout + check.stderr
        return
    assert check.returncode == 0, check.stdout + check.stderr
    out = check.stdout + check.stderr
    assert "warning: program 'capped': memory_max cannot be enforced here: " in out, out
    # wardend says the same in its log, and runs the program.
    warden.start()
    p = warden.wait_state("capped", "RUNNING")
    assert p["pid"] > 0
    assert "memory_max cannot be enforced here" in warden.log()


def test_memory_max_under_proc_tracking_is_said_unenforced(warden):
    # With warden.cgroup: none there is no cgroup to cap, whatever the host offers: --check and
    # the log both say so.
    check = check_capped(warden, extra="# more warden keys\n  cgroup: none\n")
    out = check.stdout + check.stderr
    assert check.returncode == 0, out
    assert ("warning: program 'capped': memory_max cannot be enforced here: warden.cgroup is "
            "none") in out, out
    warden.start()
    assert warden.wait_state("capped", "RUNNING")["pid"] > 0
    assert ("capped: memory_max cannot be enforced here: processes are tracked through /proc"
            in warden.log()), warden.log()
