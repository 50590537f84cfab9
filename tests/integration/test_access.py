"""Access control on the control socket (docs/security.md): wardenctl run as other users, who
may read or control what `warden.access` and `programs.X.access` say, and nothing else.

Needs root: it creates the test users below when they are missing (and leaves them, so that
concurrent runs never pull a user from under each other) and runs wardenctl as them."""

import os
import pwd
import subprocess
import textwrap

import pytest

import wardenproto as wp
from conftest import WARDENCTL, machine_lock, pid_alive, wait_until

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to switch users")

READERS = "wardentest-readers"
ALICE = "wardentest-alice"      # may read api
BOB = "wardentest-bob"          # may control web
CAROL = "wardentest-carol"      # member of READERS: may read everything
MALLORY = "wardentest-mallory"  # may do nothing


def ensure_group(name):
    if subprocess.run(["getent", "group", name], capture_output=True).returncode != 0:
        subprocess.run(["groupadd", "--system", name], check=True)


def ensure_user(name, groups=()):
    if subprocess.run(["getent", "passwd", name], capture_output=True).returncode != 0:
        cmd = ["useradd", "--system", "--no-create-home", "--user-group",
               "--shell", "/usr/sbin/nologin"]
        if groups:
            cmd += ["--groups", ",".join(groups)]
        subprocess.run(cmd + [name], check=True)
    for group in groups:  # an older run may have made the user without the group
        subprocess.run(["usermod", "--append", "--groups", group, name], check=True)


@pytest.fixture(scope="module", autouse=True)
def users():
    # The same run from another checkout on this machine makes the same users: one at a time,
    # or both see a user missing and the second useradd fails.
    with machine_lock("warden-test-users"):
        ensure_group(READERS)
        ensure_user(ALICE)
        ensure_user(BOB)
        ensure_user(CAROL, groups=[READERS])
        ensure_user(MALLORY)


PROGRAMS = f"""\
web:
  command: sleep 1000
  startsecs: 0
  access:
    control: {{users: [{BOB}]}}
api:
  command: sleep 1000
  startsecs: 0
  access:
    read: {{users: [{ALICE}]}}
db:
  command: sleep 1000
  startsecs: 0
"""

GLOBAL = f"""\
  socket_mode: "0666"
  access:
    read: {{groups: [{READERS}]}}
"""


def write_config(warden, programs, warden_keys):
    """Like Warden.write_config, with more keys under `warden:`."""
    with open(warden.config, "w") as f:
        f.write(f"warden:\n  socket: {warden.socket}\n  log_dir: {warden.log_dir}\n"
                f"  log_level: debug\n{warden_keys}programs:\n"
                + textwrap.indent(programs, "  "))


def ctl_as(warden, user, *args, timeout=30):
    """wardenctl run as `user` (its uid, primary group and supplementary groups)."""
    return subprocess.run(
        ["setpriv", f"--reuid={user}", f"--regid={user}", "--init-groups", WARDENCTL,
         "-s", warden.socket, *args], capture_output=True, text=True, timeout=timeout)


def uid_of(user):
    return pwd.getpwnam(user).pw_uid


@pytest.fixture
def daemon(warden):
    os.chmod(warden.root, 0o711)  # other users must reach the socket inside it
    write_config(warden, PROGRAMS, GLOBAL)
    warden.start()
    for name in ("web", "api", "db"):
        warden.wait_state(name, "RUNNING")
    return warden


def names_in(status_output):
    return sorted(line.split()[0] for line in status_output.splitlines() if line.strip())


def test_no_rights_refuses_everything_and_logs_it(daemon):
    r = ctl_as(daemon, MALLORY, "status")
    assert r.returncode == 1, r
    assert (f"uid {uid_of(MALLORY)} ({MALLORY}) may not read the status of" in r.stderr), r.stderr
    assert "permission denied" in r.stderr.lower()
    r = ctl_as(daemon, MALLORY, "stop", "web")
    assert r.returncode != 0
    assert f"({MALLORY}) may not stop web" in r.stderr + r.stdout
    r = ctl_as(daemon, MALLORY, "shutdown")
    assert r.returncode != 0 and f"({MALLORY}) may not shut down wardend" in r.stderr
    assert daemon.proc.poll() is None
    assert daemon.status("web")["web"]["state"] == "RUNNING"
    wait_until(lambda: f"({MALLORY}) may not stop web" in daemon.log(),
               what="the refusal in wardend's log")


def test_program_read_right_shows_only_that_program(daemon):
    r = ctl_as(daemon, ALICE, "status")
    assert r.returncode == 0, r
    assert names_in(r.stdout) == ["api"]
    r = ctl_as(daemon, ALICE, "status", "db")
    assert r.returncode == 1 and f"({ALICE}) may not read the status of db" in r.stderr
    r = ctl_as(daemon, ALICE, "pid", "api")
    assert r.returncode == 0 and int(r.stdout) == daemon.status("api")["api"]["pid"]
    r = ctl_as(daemon, ALICE, "stop", "api")
    assert r.returncode != 0 and f"({ALICE}) may not stop api" in r.stderr + r.stdout
    assert daemon.status("api")["api"]["state"] == "RUNNING"


def test_global_read_right_reads_all_controls_nothing(daemon):
    r = ctl_as(daemon, CAROL, "status")
    assert r.returncode == 0, r
    assert names_in(r.stdout) == ["api", "db", "web"]
    assert ctl_as(daemon, CAROL, "version").returncode == 0
    pid = daemon.status("db")["db"]["pid"]
    for args in (("stop", "db"), ("restart", "web"), ("signal", "KILL", "db"), ("shutdown",),
                 ("reload",)):
        r = ctl_as(daemon, CAROL, *args)
        assert r.returncode != 0, (args, r)
        assert "permission denied" in (r.stderr + r.stdout).lower(), (args, r)
    assert pid_alive(pid) and daemon.status("db")["db"]["pid"] == pid
    assert daemon.proc.poll() is None


def test_program_control_right_is_carried_out_in_part(daemon):
    web_pid = daemon.status("web")["web"]["pid"]
    db_pid = daemon.status("db")["db"]["pid"]
    r = ctl_as(daemon, BOB, "status")  # control implies read
    assert names_in(r.stdout) == ["web"], r
    r = ctl_as(daemon, BOB, "stop", "web")
    assert r.returncode == 0 and "web: stopped" in r.stdout, r
    assert not pid_alive(web_pid)
    r = ctl_as(daemon, BOB, "start", "all")
    lines = r.stdout.splitlines()
    assert "web: started" in lines, r
    refused = [line for line in lines if "permission denied" in line]
    assert sorted(line.split(":")[0] for line in refused) == ["api", "db"], r
    assert f"({BOB}) may not start db" in r.stdout
    assert r.returncode == 1
    r = ctl_as(daemon, BOB, "stop", "web", "db")
    assert "web: stopped" in r.stdout and "db: ERROR (permission denied" in r.stdout, r
    assert pid_alive(db_pid) and daemon.status("db")["db"]["state"] == "RUNNING"


def test_refusal_through_the_documented_protocol(daemon):
    """ERROR 12 for a wholly refused request, code 12 per process for a partial one."""
    script = f"""
import sys
sys.path.insert(0, {os.path.dirname(__file__)!r})
import wardenproto as wp
with wp.connect({daemon.socket!r}, timeout=30, hello=True) as c:
    try:
        c.stop(["db"])
        print("no error")
    except wp.WardenError as e:
        print("error", e.code)
    results = c.stop(["web", "db"])
    print(" ".join(f"{{r['name']}}={{r['code']}}" for r in results))
"""
    r = subprocess.run(["setpriv", f"--reuid={BOB}", f"--regid={BOB}", "--init-groups",
                        "/usr/bin/python3", "-c", script], capture_output=True, text=True,
                       timeout=30, cwd="/")
    assert r.returncode == 0, r
    lines = r.stdout.splitlines()
    assert lines[0] == f"error {wp.PERMISSION_DENIED}"
    assert sorted(lines[1].split()) == ["db=12", "web=0"]


def test_malformed_request_of_a_peer_is_refused_and_not_carried_out(daemon):
    """A STOP whose payload does not decode, from bob: INVALID_ARGUMENT, nothing stopped."""
    web_pid = daemon.status("web")["web"]["pid"]
    script = f"""
import sys
sys.path.insert(0, {os.path.dirname(__file__)!r})
import wardenproto as wp
with wp.connect({daemon.socket!r}, timeout=30, hello=True) as c:
    c.send_frame(wp.STOP, 9, b"\\xff\\xff\\xff\\xff")
    f = c.recv_frame(timeout=30)
    code, message = wp.decode_error(f.payload)
    print(f.type == wp.ERROR, f.request_id, code, message)
"""
    r = subprocess.run(["setpriv", f"--reuid={BOB}", f"--regid={BOB}", "--init-groups",
                        "/usr/bin/python3", "-c", script], capture_output=True, text=True,
                       timeout=30, cwd="/")
    assert r.returncode == 0, r
    assert r.stdout.split(maxsplit=3) == ["True", "9", str(wp.INVALID_ARGUMENT),
                                          "malformed STOP request\n"], r
    assert daemon.status("web")["web"]["pid"] == web_pid


def test_events_and_wait_follow_the_read_right(daemon):
    """alice (read on api only) sees api's events alone; wait on db is refused."""
    script = f"""
import sys
sys.path.insert(0, {os.path.dirname(__file__)!r})
import wardenproto as wp
with wp.connect({daemon.socket!r}, timeout=30, hello=True) as c:
    try:
        c.wait(["api", "db"], "RUNNING", 1000)
        print("wait allowed")
    except wp.WardenError as e:
        print("wait", e.code)
    print("api waited", len(c.wait(["api"], "RUNNING", 1000)))
    snapshot = next(c.events())
    print("events", " ".join(sorted(e["process"] for e in snapshot["events"])))
"""
    r = subprocess.run(["setpriv", f"--reuid={ALICE}", f"--regid={ALICE}", "--init-groups",
                        "/usr/bin/python3", "-c", script], capture_output=True, text=True,
                       timeout=30, cwd="/")
    assert r.returncode == 0, r
    assert r.stdout.splitlines() == [f"wait {wp.PERMISSION_DENIED}", "api waited 1",
                                     "events api"], r.stdout


def test_rules_change_on_reload(daemon):
    assert ctl_as(daemon, MALLORY, "status", "db").returncode == 1
    write_config(daemon, PROGRAMS, GLOBAL.replace(
        f"groups: [{READERS}]", f"groups: [{READERS}], users: [{MALLORY}]"))
    daemon.ctl("update", check=0)
    r = ctl_as(daemon, MALLORY, "status", "db")
    assert r.returncode == 0 and names_in(r.stdout) == ["db"], r


def test_default_socket_is_for_root_only(warden):
    os.chmod(warden.root, 0o711)
    warden.start(PROGRAMS)  # no socket_mode: 0600
    assert os.stat(warden.socket).st_mode & 0o777 == 0o600
    r = ctl_as(warden, CAROL, "status")
    assert r.returncode == 1 and "permission denied" in r.stderr.lower(), r
    assert warden.ctl("status").returncode == 0


def test_unknown_user_is_a_config_error(warden):
    warden.write_config("""\
web:
  command: sleep 1000
  access:
    read: {users: [wardentest-nosuchuser]}
""")
    r = subprocess.run([os.path.join(os.path.dirname(WARDENCTL), "wardend"), "-c",
                        warden.config, "--check"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 1
    assert "unknown user 'wardentest-nosuchuser'" in r.stdout + r.stderr
    assert f"{warden.config}:" in r.stdout + r.stderr
