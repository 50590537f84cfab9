"""reread / update / reload / SIGHUP: apply config changes, restarting only what must."""

import json
import os
import signal

from conftest import pid_alive, wait_until

BASE = """\
web:
  command: sleep 1000
  startsecs: 0
  autorestart: unexpected
db:
  command: sleep 1001
  startsecs: 0
"""


def pids(warden):
    return {name: p["pid"] for name, p in warden.status().items()}


def running(warden, *names):
    wait_until(lambda: all(warden.status().get(n, {}).get("state") == "RUNNING" for n in names),
               what=f"{names} running")
    return pids(warden)


def test_supervision_key_change_restarts_nothing(warden):
    warden.start(BASE)
    before = running(warden, "web", "db")
    warden.write_config(BASE.replace("autorestart: unexpected", "autorestart: false"))
    out = warden.ctl("reread", check=0).stdout
    assert "web: changed (autorestart; update applies it live)" in out
    out = warden.ctl("update", check=0).stdout
    assert "web: updated process group (applied live: autorestart)" in out
    assert pids(warden) == before
    # The new policy is in force: with autorestart false a crash is not restarted.
    os.kill(before["web"], signal.SIGKILL)
    warden.wait_state("web", "EXITED")
    assert warden.status("db")["db"]["pid"] == before["db"]


def test_command_change_restarts_that_program_only(warden):
    warden.start(BASE)
    before = running(warden, "web", "db")
    warden.write_config(BASE.replace("sleep 1000", "sleep 1002"))
    out = warden.ctl("update", check=0).stdout
    assert "web: updated process group (restarted: command)" in out
    after = running(warden, "web", "db")
    assert after["db"] == before["db"]
    assert after["web"] != before["web"]
    assert not pid_alive(before["web"])
    with open(f"/proc/{after['web']}/cmdline") as f:
        assert f.read().split("\0")[:2] == ["sleep", "1002"]


def test_added_and_removed_programs_leave_others_alone(warden):
    warden.start(BASE)
    before = running(warden, "web", "db")
    warden.write_config(BASE.replace("db:\n  command: sleep 1001\n  startsecs: 0\n", "")
                        + "cache:\n  command: sleep 1003\n  startsecs: 0\n")
    out = warden.ctl("reread", check=0).stdout
    assert "cache: added" in out and "db: removed" in out
    out = warden.ctl("update", check=0).stdout
    assert "cache: added process group" in out and "db: removed process group" in out
    after = running(warden, "web", "cache")
    assert set(after) == {"web", "cache"}
    assert after["web"] == before["web"]
    assert not pid_alive(before["db"])


def test_update_named_program_only(warden):
    warden.start(BASE)
    before = running(warden, "web", "db")
    warden.write_config(BASE.replace("sleep 1000", "sleep 1004").replace("sleep 1001",
                                                                         "sleep 1005"))
    warden.ctl("update", "db", check=0)
    after = running(warden, "web", "db")
    assert after["web"] == before["web"] and after["db"] != before["db"]
    # web's change is still pending.
    assert "web: changed (command" in warden.ctl("reread", check=0).stdout


def test_invalid_edit_then_sighup_keeps_everything(warden):
    warden.start(BASE)
    before = running(warden, "web", "db")
    with open(warden.config, "a") as f:
        f.write("  broken:\n    comand: true\n")
    r = warden.ctl("update", check=1)
    assert f"{warden.config}:" in r.stderr and "nothing was changed" in r.stderr
    warden.proc.send_signal(signal.SIGHUP)
    wait_until(lambda: "is not valid; the configuration in force is kept" in warden.log(),
               what="the error in wardend's log")
    assert f"{warden.config}:" in warden.log()
    assert pids(warden) == before
    assert warden.proc.poll() is None


def test_sighup_applies_like_update(warden):
    warden.start(BASE)
    before = running(warden, "web", "db")
    warden.write_config(BASE.replace("sleep 1001", "sleep 1006"))
    warden.proc.send_signal(signal.SIGHUP)
    seen = warden.wait_notify("READY=1")
    assert any(line.startswith("RELOADING=1") for line in seen)
    after = running(warden, "web", "db")
    assert after["web"] == before["web"] and after["db"] != before["db"]


def test_check_command_offline(warden):
    warden.write_config(BASE)
    r = warden.ctl("-c", warden.config, "check", check=0)
    assert "ok (2 programs)" in r.stdout
    with open(warden.config, "a") as f:
        f.write("  bad:\n    numprocs: zero\n")
    r = warden.ctl("check", warden.config, check=1)
    assert f"{warden.config}:" in r.stderr


def test_avail_lists_in_use_added_and_removed(warden):
    warden.start(BASE)
    running(warden, "web", "db")
    warden.write_config(BASE.replace("db:\n  command: sleep 1001", "cache:\n  command: sleep 1003"))
    lines = [line.split(None, 1) for line in warden.ctl("avail", check=0).stdout.splitlines()]
    assert sorted(lines) == [["cache", "avail"], ["db", "removed"], ["web", "in use"]], lines
    rows = json.loads(warden.ctl("avail", "--json", check=0).stdout)
    assert {r["name"]: r["state"] for r in rows} == {"web": "in use", "db": "removed",
                                                      "cache": "avail"}
    warden.ctl("update", check=0)
    rows = json.loads(warden.ctl("avail", "--json", check=0).stdout)
    assert {r["name"]: r["state"] for r in rows} == {"web": "in use", "cache": "in use"}


def test_status_answers_while_a_file_of_20000_programs_is_read(warden):
    """Reading a config of 20,000 programs costs wardend seconds (yaml-cpp and the checks of
    each program: about 2 s here, more under ASan). The file is read off the loop's thread, so
    `status NAME` answers within 1 s during `reread` and `update NAME`, which wait for the read
    (before, the loop was held for the whole read)."""
    from test_scale10k import Prober  # noqa: E402 (the scale tests' sampler)

    warden.start(BASE)
    running(warden, "web", "db")
    many = "".join(f"p{i:05d}:\n  command: sleep 1000\n  autostart: false\n"
                   for i in range(20000))
    warden.write_config(BASE.replace("sleep 1001", "sleep 1003") + many)
    for args in (["reread"], ["update", "db"]):
        prober = Prober(warden, "web")
        try:
            r = warden.ctl(*args, timeout=300, check=0)
        finally:
            latencies = prober.finish(" ".join(args))
        assert r.returncode == 0, r.stdout + r.stderr
        assert latencies[-1] < 1.0, f"slowest answers during {args}: {latencies[-3:]}"
    assert "p19999: added" in warden.ctl("reread", timeout=300, check=0).stdout
    assert "db: updated process group (restarted: command)" in r.stdout
    assert "p00000" not in warden.status()  # named programs only
