"""wardenctl import-supervisord: a supervisord.conf with an [include], converted by the real
wardenctl, passes `wardend --check` and `wardenctl check`, and runs under the real wardend with
the process names supervisord gave."""

import os
import subprocess

from conftest import WARDEND, WARDENCTL, wait_until

# Debian's layout in miniature: the main file includes conf.d/*.conf. %(here)s puts the socket
# and the logs in the test's own folder (the one the fixture's wardenctl talks to).
SUPERVISORD_CONF = """\
; supervisor config file

[unix_http_server]
file=%(here)s/warden.sock   ; (the path to the socket file)
chmod=0700                  ; socket file mode (default 0700)

[supervisord]
logfile=%(here)s/supervisord.log ; (main log file;default $CWD/supervisord.log)
pidfile=%(here)s/supervisord.pid ; (supervisord pidfile;default supervisord.pid)
childlogdir=%(here)s/logs        ; ('AUTO' child log dir, default $TEMP)
loglevel=debug
nodaemon=true

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix://%(here)s/warden.sock ; use a unix:// URL  for a unix socket

[eventlistener:crashmail]
command=crashmail -a -m root@localhost
events=PROCESS_STATE_EXITED

[include]
files = conf.d/*.conf
"""

APP_CONF = """\
[program:web]
command=/bin/sh -c 'echo "web says $GREETING to %(ENV_IMPORT_TEST_WHO)s"; exec sleep 1000' ; a comment
environment=GREETING="hello from %(program_name)s"
directory=%(here)s
startsecs=0
autorestart=true
redirect_stderr=true
stdout_logfile=%(here)s/../logs/web.log

[program:worker]
command=sleep 10%(process_num)02d
process_name=%(program_name)s_%(process_num)02d
numprocs=2
startsecs=0
stopasgroup=true
stdout_events_enabled=true

[group:app]
programs=web,worker
"""


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def test_converted_supervisord_conf_runs(warden):
    root = warden.root
    write(os.path.join(root, "supervisord.conf"), SUPERVISORD_CONF)
    write(os.path.join(root, "conf.d", "app.conf"), APP_CONF)

    env = dict(os.environ, IMPORT_TEST_WHO="the tests")
    result = subprocess.run([WARDENCTL, "import-supervisord", "supervisord.conf"], cwd=root,
                            env=env, capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    # What does not map is listed, with its place.
    assert "supervisord.conf:8: warning: [supervisord] logfile" in result.stderr
    assert "supervisord.conf:9: warning: [supervisord] pidfile" in result.stderr
    assert "supervisord.conf:20: warning: [eventlistener:crashmail] not converted" in result.stderr
    assert "conf.d/app.conf:16: warning: [program:worker] stdout_events_enabled" in result.stderr
    assert "converted 3 programs and 1 group" in result.stderr
    with open(warden.config, "w") as f:
        f.write(result.stdout)

    check = subprocess.run([WARDEND, "--check", "-c", warden.config], capture_output=True,
                           text=True, timeout=30)
    assert check.returncode == 0, check.stdout + check.stderr
    check = subprocess.run([WARDENCTL, "check", warden.config], capture_output=True, text=True,
                           timeout=30)
    assert check.returncode == 0, check.stdout + check.stderr

    # wardend gets the variable the command refers to, as supervisord would have.
    os.environ["IMPORT_TEST_WHO"] = "the tests"
    try:
        warden.start()
    finally:
        del os.environ["IMPORT_TEST_WHO"]
    names = ["app:web", "app:worker_00", "app:worker_01"]
    wait_until(lambda: all(warden.status().get(n, {}).get("state") == "RUNNING" for n in names),
               what=f"{names} running")
    status = warden.status()
    assert set(status) == set(names)
    with open(f"/proc/{status['app:worker_01']['pid']}/cmdline") as f:
        assert f.read().split("\0")[:2] == ["sleep", "1001"]
    log = os.path.join(root, "logs", "web.log")
    wait_until(lambda: os.path.exists(log) and "web says" in open(log).read(), what="web's log")
    with open(log) as f:
        assert "web says hello from web to the tests" in f.read()
    assert warden.ctl("status").returncode == 0


ARGV_PY = "import json, sys\nopen(sys.argv[1], 'w').write(json.dumps(sys.argv[2:]))\n"


def test_environment_values_split_as_the_real_supervisord_splits_them(warden):
    """The same program under the real supervisord and under wardend with the converted file:
    the same argv, values of %(ENV_X)s with blanks and quotes included."""
    import shutil
    if shutil.which("supervisord") is None:
        import pytest
        pytest.skip("supervisord is not installed (apt-get install supervisor)")
    root = warden.root
    out = os.path.join(root, "argv.json")
    write(os.path.join(root, "argv.py"), ARGV_PY)
    write(os.path.join(root, "supervisord.conf"), f"""\
[unix_http_server]
file=%(here)s/warden.sock

[supervisord]
nodaemon=true
logfile=%(here)s/supervisord.log
pidfile=%(here)s/supervisord.pid

[program:argv]
command=/usr/bin/python3 %(here)s/argv.py {out} worker %(ENV_WORKER_OPTS)s --x=%(ENV_QUOTED)s
autorestart=false
startsecs=0
stdout_logfile=NONE
stderr_logfile=NONE
""")
    env = dict(os.environ, WORKER_OPTS="--concurrency=4 --loglevel=INFO",
               QUOTED="'a b' \"c d\" e\\ f")
    supervisord = subprocess.Popen(["supervisord", "-c", os.path.join(root, "supervisord.conf")],
                                   env=env, cwd=root, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: os.path.exists(out) and os.path.getsize(out) > 0,
                   what="the program under supervisord")
    finally:
        supervisord.terminate()
        supervisord.wait(timeout=30)
    with open(out) as f:
        under_supervisord = f.read()
    os.unlink(out)
    assert under_supervisord == ('["worker", "--concurrency=4", "--loglevel=INFO", "--x=a b", '
                                 '"c d", "e f"]')

    result = subprocess.run([WARDENCTL, "import-supervisord", "supervisord.conf"], cwd=root,
                            env=env, capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert "%(ENV_WORKER_OPTS)s is 2 words" in result.stderr, result.stderr
    with open(warden.config, "w") as f:
        f.write(result.stdout)
    warden.start()
    wait_until(lambda: os.path.exists(out) and os.path.getsize(out) > 0,
               what="the program under wardend")
    with open(out) as f:
        assert f.read() == under_supervisord
