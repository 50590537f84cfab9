"""Everyday use as a new user meets it: wardenctl's options and outputs, errors that name what
is missing and where, dependencies in start/stop output, settings an update cannot apply."""

import os
import re
import subprocess
import textwrap

from conftest import WARDEND, WARDENCTL, wait_until


def run(*args, env=None, cwd=None):
    return subprocess.run(list(args), capture_output=True, text=True, timeout=60, env=env,
                          cwd=cwd)


def ctl_env():
    env = dict(os.environ)
    env.pop("WARDEN_SOCKET", None)
    return env


# ---- wardenctl options and outputs ---------------------------------------------------------

def test_pid_of_a_stopped_process_prints_nothing(warden):
    warden.start("""\
        idle:
          command: ["/bin/sleep", "1000"]
          autostart: false
        """)
    r = warden.ctl("pid", "idle", check=1)
    assert r.stdout == ""  # `kill $(wardenctl pid idle)` must not become `kill 0`
    assert "idle is not running" in r.stderr


def test_an_invalid_config_still_gives_its_socket(warden):
    warden.start("""\
        web:
          command: ["/bin/sleep", "1000"]
          startsecs: 0
        """)
    warden.wait_state("web", "RUNNING")
    # A typo after wardend started: wardenctl -c still finds the socket, and warns.
    with open(warden.config) as f:
        text = f.read()
    with open(warden.config, "w") as f:
        f.write(text.replace("startsecs: 0", "startsecs: 0\n    autorestrat: true"))
    r = run(WARDENCTL, "-c", warden.config, "status", env=ctl_env())
    assert r.returncode == 0, r.stderr
    assert re.search(r"^web\s+RUNNING", r.stdout, re.M), r.stdout
    assert "warning:" in r.stderr and "autorestrat" in r.stderr, r.stderr
    # Global options after the command too.
    r = run(WARDENCTL, "status", "web", "-c", warden.config, env=ctl_env())
    assert r.returncode == 0 and "RUNNING" in r.stdout, r.stderr
    r = run(WARDENCTL, "check", "-c", warden.config, env=ctl_env())
    assert r.returncode == 1
    assert "unknown key 'autorestrat' in program 'web' (did you mean 'autorestart'?)" in r.stderr


def test_a_name_that_matches_nothing_gets_a_suggestion(warden):
    warden.start("""\
        webserver:
          command: ["/bin/sleep", "1000"]
          startsecs: 0
        """)
    warden.wait_state("webserver", "RUNNING")
    r = warden.ctl("stop", "webservr", check=4)
    assert "webservr: ERROR (no such process)" in r.stdout
    assert "did you mean 'webserver'?" in r.stderr, r.stderr
    r = warden.ctl("status", "websever", check=4)
    assert "did you mean 'webserver'?" in r.stderr, r.stderr
    r = warden.ctl("stop", "zzz", check=4)
    assert "did you mean" not in r.stderr


# ---- config checks --------------------------------------------------------------------------

def test_check_names_users_groups_commands_and_folders(scratch):
    path = os.path.join(scratch, "w.yaml")
    with open(path, "w") as f:
        f.write(textwrap.dedent("""\
            programs:
              app:
                command: no-such-command-here --serve
                user: no-such-user-here
                directory: /nonexistent/srv
            """))
    for argv in ([WARDEND, "--check", "-c", path], [WARDENCTL, "check", path]):
        r = run(*argv, env=ctl_env())
        assert r.returncode == 1, (argv, r.stdout, r.stderr)
        assert f"{path}:4:11: program 'app': user 'no-such-user-here': no such user" in r.stderr
        assert f"{path}:3:14: warning: program 'app': command 'no-such-command-here' is not " \
               "found on PATH" in r.stderr, r.stderr
        assert f"{path}:5:16: warning: program 'app': directory '/nonexistent/srv' does not " \
               "exist" in r.stderr, r.stderr
    # Only warnings: valid.
    with open(path, "w") as f:
        f.write("programs:\n  app:\n    command: no-such-command-here\n")
    r = run(WARDEND, "--check", "-c", path)
    assert r.returncode == 0 and "ok (1 program)" in r.stdout, r.stderr
    assert "warning:" in r.stderr


def test_an_unknown_socket_group_is_refused_with_its_position(scratch):
    path = os.path.join(scratch, "w.yaml")
    with open(path, "w") as f:
        f.write(f"warden:\n  socket: {scratch}/w.sock\n  socket_group: no-such-group-here\n")
    for argv in ([WARDEND, "--check", "-c", path], [WARDEND, "-c", path]):
        r = run(*argv)
        assert r.returncode == 1
        assert f"{path}:3:17: 'socket_group' 'no-such-group-here': no such group" in r.stderr


def test_a_supervisord_conf_points_at_the_importer(scratch):
    path = os.path.join(scratch, "supervisord.conf")
    with open(path, "w") as f:
        f.write("[supervisord]\nnodaemon=true\n\n[program:web]\ncommand=/bin/true\n")
    r = run(WARDEND, "--check", "-c", path)
    assert r.returncode == 1
    assert f"{path}:1:1: this looks like a supervisord configuration (INI)" in r.stderr
    assert "wardenctl import-supervisord" in r.stderr


# ---- spawn errors ---------------------------------------------------------------------------

def test_spawn_errors_name_what_is_missing(warden):
    warden.start("""\
        noexec:
          command: /usr/bin/does-not-exist
          startretries: 0
        nodir:
          command: /bin/true
          directory: /nonexistent
          startretries: 0
        nouser:
          command: /bin/true
          user: no-such-user-here
          startretries: 0
        """)
    p = warden.wait_state("noexec", "FATAL")
    assert "exec /usr/bin/does-not-exist: No such file or directory" in p["description"]
    p = warden.wait_state("nodir", "FATAL")
    assert "chdir /nonexistent: No such file or directory" in p["description"]
    p = warden.wait_state("nouser", "FATAL")
    assert "no such user" in p["description"], p["description"]
    assert "No such file" not in p["description"]


def test_an_update_adding_a_program_that_cannot_start_says_why(warden):
    warden.start("""\
        web:
          command: ["/bin/sleep", "1000"]
          startsecs: 0
        """)
    warden.wait_state("web", "RUNNING")
    warden.write_config("""\
        web:
          command: ["/bin/sleep", "1000"]
          startsecs: 0
        broken:
          command: /usr/bin/does-not-exist
          startretries: 0
        """)
    r = warden.ctl("update", check=1)
    assert "broken: ERROR (spawn error: exec /usr/bin/does-not-exist: No such file or " \
           "directory)" in r.stdout, r.stdout
    assert "added process group" not in r.stdout


def test_no_stop_signal_logged_after_the_deadlines_kill(warden):
    # The shell ignores SIGTERM, and so does its child (an ignored signal stays ignored across
    # exec): both are still there at stopwaitsecs, when SIGKILL goes to both.
    warden.start("""\
        stubborn:
          command: ["/bin/sh", "-c", "trap '' TERM; /bin/sleep 1000 & wait; wait"]
          startsecs: 0
          stopwaitsecs: 1
        """)
    warden.wait_state("stubborn", "RUNNING")
    # The shell runs its trap before it starts sleep: once sleep is there, SIGTERM is ignored
    # (a stop sent before the trap ends the shell at once, with nothing to SIGKILL).
    pid = warden.status("stubborn")["stubborn"]["pid"]
    wait_until(lambda: open(f"/proc/{pid}/task/{pid}/children").read().strip(),
               what="the shell's trap and its sleep")
    warden.ctl("stop", "stubborn", check=0)
    log = warden.log()
    kill_at = log.find("sending SIGKILL")
    assert kill_at >= 0, log
    assert "SIGTERM to leftover" not in log[kill_at:], log[kill_at:]


# ---- settings an update cannot apply --------------------------------------------------------

def test_a_changed_socket_is_reported_by_update(warden):
    warden.start("""\
        web:
          command: ["/bin/sleep", "1000"]
          startsecs: 0
        """)
    other = os.path.join(warden.root, "other.sock")
    with open(warden.config) as f:
        text = f.read()
    with open(warden.config, "w") as f:
        f.write(text.replace(f"socket: {warden.socket}", f"socket: {other}"))
    r = warden.ctl("update", check=0)
    assert f"warden.socket: changed to {other}: not applied, wardend must be restarted for it " \
           f"(in force until then: {warden.socket})" in r.stdout, r.stdout
    assert "warden.socket" in warden.log()
    warden.ctl("status", check=0)  # still on the socket it was started with
    assert not os.path.exists(other)


# ---- dependencies in start / stop -----------------------------------------------------------

DEPENDENT = """\
    db:
      command: ["/bin/sleep", "1000"]
      startsecs: 0
      autostart: false
    webapp:
      command: ["/bin/sleep", "1000"]
      startsecs: 0
      autostart: false
      depends_on: [db]
    worker:
      command: ["/bin/sleep", "1000"]
      startsecs: 0
      autostart: false
      depends_on: [webapp]
    """


def test_start_all_with_dependencies_inside_the_set(warden):
    # api and web sort before the db they depend on, so the old order of requests started db
    # as their dependency first, and db's own request then answered "already started".
    warden.start("""\
        api:
          command: ["/bin/sleep", "1000"]
          startsecs: 0
          autostart: false
          depends_on: [db]
        db:
          command: ["/bin/sleep", "1000"]
          startsecs: 0
          autostart: false
        web:
          command: ["/bin/sleep", "1000"]
          startsecs: 0
          autostart: false
          depends_on: [api]
        """, extra="")
    r = warden.ctl("start", "all", check=0)
    assert sorted(r.stdout.split("\n")) == sorted(
        ["api: started", "db: started", "web: started", ""]), r.stdout
    r = warden.ctl("stop", "all", check=0)
    assert "ERROR" not in r.stdout, r.stdout
    r = warden.ctl("start", "web", "api", "db", check=0)
    assert "ERROR" not in r.stdout, r.stdout
    r = warden.ctl("restart", "all", check=0)
    assert "ERROR" not in r.stdout, r.stdout
    r = warden.ctl("restart", "api", "db", check=0)
    assert "ERROR" not in r.stdout, r.stdout


def test_stop_and_start_name_the_dependents(warden):
    warden.start(DEPENDENT)
    warden.ctl("start", "all", check=0)
    r = warden.ctl("stop", "db", check=0)
    assert "db: stopped" in r.stdout
    assert "webapp: stopped (depends on db)" in r.stdout, r.stdout
    assert "worker: stopped (depends on db)" in r.stdout, r.stdout
    s = warden.status()
    assert s["webapp"]["state"] == "STOPPED"
    assert s["webapp"]["description"].startswith("stopped: depends on db"), s["webapp"]
    r = warden.ctl("start", "db", check=0)
    assert "db: started (dependents still stopped: webapp, worker)" in r.stdout, r.stdout
    r = warden.ctl("start", "webapp", check=0)
    assert "webapp: started (dependents still stopped: worker)" in r.stdout, r.stdout
    assert not warden.status()["webapp"]["description"].startswith("stopped")
