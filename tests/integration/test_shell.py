"""wardenctl as an everyday tool: the interactive shell (driven through a pty), piped shell
input, colour, bash completion and the man pages."""

import fcntl
import os
import pty
import re
import select
import shutil
import subprocess
import termios
import time

import pytest

from conftest import BIN, WARDENCTL

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD_DIR = os.path.dirname(os.path.normpath(os.path.abspath(BIN)))
ANSI = re.compile(r"\x1b\[[0-9;]*m")

PROGRAMS = """\
queue_worker:
  command: ["/bin/sleep", "1000"]
  startsecs: 0
web:
  command: ["/bin/sleep", "1000"]
  startsecs: 0
"""


class Pty:
    """A child process on a pseudo-terminal; reads with a deadline, never a bare sleep."""

    def __init__(self, argv, env):
        self.master, slave = pty.openpty()
        # A session of its own with the pty as its controlling terminal, so that ^C on the
        # terminal is a SIGINT to it, as in a real terminal.
        self.proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env,
                                     start_new_session=True, close_fds=True,
                                     preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0))
        os.close(slave)
        self.buffer = b""

    def read_until(self, needle, timeout=30.0):
        """Reads until `needle` (bytes) appears after what earlier calls consumed; returns the
        text up to and including it."""
        deadline = time.monotonic() + timeout
        while (at := self.buffer.find(needle)) < 0:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no {needle!r} within {timeout}s; got {self.buffer!r}")
            ready, _, _ = select.select([self.master], [], [], left)
            if ready:
                try:
                    data = os.read(self.master, 4096)
                except OSError:  # EIO: the child closed the terminal
                    data = b""
                if not data:
                    raise AssertionError(f"EOF before {needle!r}; got {self.buffer!r}")
                self.buffer += data
        end = at + len(needle)
        text, self.buffer = self.buffer[:end], self.buffer[end:]
        return text.decode(errors="replace")

    def wait_editing(self, editing=True, timeout=30.0):
        """Waits until the line editor has the terminal in raw mode (editing=True: it waits for
        a key) or has given it back (False: a command runs). The pty's master side reads the
        terminal's modes, so this is a state, not a guess."""
        deadline = time.monotonic() + timeout
        while bool(termios.tcgetattr(self.master)[3] & termios.ICANON) == editing:
            if time.monotonic() > deadline:
                raise AssertionError(f"terminal not {'raw' if editing else 'cooked'} in time")
            time.sleep(0.01)

    def send(self, data):
        os.write(self.master, data if isinstance(data, bytes) else data.encode())

    def wait(self, timeout=30.0):
        try:
            return self.proc.wait(timeout=timeout)
        finally:
            os.close(self.master)

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def shell_env(scratch):
    env = dict(os.environ, HOME=scratch, XDG_STATE_HOME=os.path.join(scratch, "state"),
               TERM="xterm")
    env.pop("NO_COLOR", None)
    env.pop("WARDEN_SOCKET", None)
    return env


def status_lines(text):
    return [l for l in ANSI.sub("", text).replace("\r", "").split("\n")
            if re.match(r"^\S+\s+(RUNNING|STOPPED|STARTING|EXITED|FATAL|BACKOFF)\b", l)]


def test_interactive_shell_completes_runs_status_and_quits(warden, shell_env, scratch):
    warden.start(PROGRAMS)
    warden.wait_state("queue_worker", "RUNNING")
    warden.wait_state("web", "RUNNING")
    sh = Pty([WARDENCTL, "-s", warden.socket], shell_env)
    try:
        sh.read_until(b"warden> ")
        sh.wait_editing()
        # TAB completes a command name, then a program name asked from wardend.
        sh.send("sta\t")
        sh.read_until(b"sta")
        sh.send("tus que\t")
        # libedit redraws from the cursor: what TAB inserted is the rest of the name.
        sh.read_until(b"ue_worker ")
        sh.send("\r")
        out = sh.read_until(b"warden> ")
        lines = status_lines(out)
        assert len(lines) == 1, out
        assert lines[0].split()[:2] == ["queue_worker", "RUNNING"]
        # On a terminal the state is coloured (and the columns still line up without it).
        assert "\x1b[32mRUNNING\x1b[0m" in out

        sh.send("status\r")
        out = sh.read_until(b"warden> ")
        assert sorted(l.split()[0] for l in status_lines(out)) == ["queue_worker", "web"]

        sh.send("help stop\r")
        out = sh.read_until(b"warden> ")
        assert "usage: wardenctl stop NAME...|all" in out and "example:" in out
        sh.send("stauts\r")
        out = sh.read_until(b"warden> ")
        assert "did you mean 'status'?" in out

        sh.send("quit\r")
        assert sh.wait() == 0
    finally:
        sh.kill()
    history = os.path.join(scratch, "state", "wardenctl_history")
    with open(history) as f:  # libedit's format: vis(3)-encoded, a blank is \040
        assert "queue_worker" in f.read()


def test_shell_reconnects_after_wardend_restarts(warden, shell_env):
    warden.start(PROGRAMS)
    warden.wait_state("web", "RUNNING")
    sh = Pty([WARDENCTL, "-s", warden.socket, "--no-color"], shell_env)
    try:
        sh.read_until(b"warden> ")
        sh.send("pid\r")
        first = int(re.search(r"\n(\d+)\r?\n", sh.read_until(b"warden> ")).group(1))
        assert first == warden.proc.pid

        assert warden.stop() == 0
        os.unlink(os.path.join(warden.root, "notify.sock"))  # the fixture binds it again
        warden.start()
        warden.wait_state("web", "RUNNING")
        sh.send("pid\r")
        out = sh.read_until(b"warden> ")
        second = re.search(r"\n(\d+)\r?\n", out)
        assert second and int(second.group(1)) == warden.proc.pid != first, out
        sh.send("status web\r")
        out = sh.read_until(b"warden> ")
        assert "\x1b[" not in out  # --no-color
        assert [l.split()[1] for l in status_lines(out)] == ["RUNNING"], out
        sh.wait_editing()
        sh.send(b"\x04")  # Ctrl-D leaves too
        assert sh.wait() == 0
    finally:
        sh.kill()


def test_ctrl_c_returns_to_the_prompt(warden, shell_env):
    warden.start(PROGRAMS)
    warden.wait_state("web", "RUNNING")
    sh = Pty([WARDENCTL, "-s", warden.socket], shell_env)
    try:
        sh.read_until(b"warden> ")
        sh.send("stat")
        sh.read_until(b"stat")
        sh.wait_editing()
        sh.send(b"\x03")  # at the prompt: drops the line, the shell stays
        sh.read_until(b"warden> ")
        # The prompt shows before the editor takes the terminal raw: typed while it is still
        # cooked, the line would wait in the terminal, and the Ctrl-C below would discard it.
        sh.wait_editing()
        sh.send("tail -f web\r")  # follows until interrupted
        sh.read_until(b"tail -f web")
        sh.wait_editing(False)
        sh.send(b"\x03")
        out = sh.read_until(b"warden> ")
        assert "interrupted" in out
        sh.send("pid\r")  # the dropped connection is made again
        out = sh.read_until(b"warden> ")
        assert str(warden.proc.pid) in out, out
        sh.send("exit\r")
        assert sh.wait() == 0
    finally:
        sh.kill()


def test_piped_commands_run_without_the_line_editor(warden):
    warden.start(PROGRAMS)
    warden.wait_state("web", "RUNNING")
    r = subprocess.run([WARDENCTL, "-s", warden.socket], input="status web\n\nstop web\n",
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "warden>" not in r.stdout and "\x1b[" not in r.stdout
    assert r.stdout.splitlines()[0].split()[:2] == ["web", "RUNNING"]
    assert "web: stopped" in r.stdout
    # The exit status is the last command's.
    r = subprocess.run([WARDENCTL, "-s", warden.socket, "shell"], input="status\n",
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 3, r.stdout  # web is STOPPED
    r = subprocess.run([WARDENCTL, "-s", warden.socket], input="restrat web\n",
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "did you mean 'restart'?" in r.stderr


def test_mistyped_command_and_help(warden):
    r = subprocess.run([WARDENCTL, "stauts"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    assert "unknown command 'stauts' (did you mean 'status'?)" in r.stderr
    r = subprocess.run([WARDENCTL, "--help"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "Examples:" in r.stdout
    for spec in ("status", "start", "tail", "shell", "wait"):
        r = subprocess.run([WARDENCTL, spec, "--help"], capture_output=True, text=True,
                           timeout=60)
        assert r.returncode == 0 and f"usage: wardenctl {spec}" in r.stdout
        assert "example: wardenctl" in r.stdout


def test_status_pipes_stay_plain_and_aligned(warden):
    warden.start(PROGRAMS + "a_much_longer_program_name_than_thirty:\n"
                 "  command: [\"/bin/sleep\", \"1000\"]\n  autostart: false\n")
    warden.wait_state("web", "RUNNING")
    out = warden.ctl("status", check=3).stdout
    assert "\x1b[" not in out  # not a terminal: no colour
    lines = out.splitlines()
    columns = {l.index(l.split()[1]) for l in lines}
    assert columns == {len("a_much_longer_program_name_than_thirty") + 3}, out


# ---- bash completion ----------------------------------------------------------------------

def bash_complete(line, env, fake_bin):
    """The completions bash offers with the cursor at the end of `line`, computed by the
    installed function as bash's programmable completion would call it."""
    script = f"""
source {REPO}/completion/wardenctl.bash
spec=$(complete -p wardenctl) || exit 9
line={shell_quote(line)}
COMP_LINE=$line
COMP_POINT=${{#line}}
read -ra COMP_WORDS <<<"$line"
[[ $line =~ [[:space:]]$ ]] && COMP_WORDS+=("")
COMP_CWORD=$((${{#COMP_WORDS[@]}} - 1))
_wardenctl wardenctl "${{COMP_WORDS[COMP_CWORD]}}" "${{COMP_WORDS[COMP_CWORD-1]}}"
printf '%s\\n' "${{COMPREPLY[@]}}"
"""
    env = dict(env, PATH=fake_bin + ":" + env.get("PATH", "/usr/bin:/bin"))
    r = subprocess.run(["bash", "--norc", "--noprofile", "-c", script], capture_output=True,
                       text=True, env=env, timeout=60)
    assert r.returncode == 0, r.stderr
    return [w for w in r.stdout.split("\n") if w]


def shell_quote(text):
    return "'" + text.replace("'", "'\\''") + "'"


@pytest.fixture
def fake_bin(scratch):
    """A folder holding `wardenctl`, so the completion finds the build's binary by name."""
    folder = os.path.join(scratch, "bin")
    os.makedirs(folder)
    os.symlink(os.path.abspath(WARDENCTL), os.path.join(folder, "wardenctl"))
    return folder


def test_bash_completion(warden, fake_bin):
    warden.start(PROGRAMS + "pool:\n  command: [\"/bin/sleep\", \"1000\"]\n  numprocs: 2\n")
    warden.wait_state("web", "RUNNING")
    env = dict(os.environ)
    env.pop("WARDEN_SOCKET", None)
    s = warden.socket
    assert bash_complete("wardenctl sta", env, fake_bin) == ["status", "start"]
    assert bash_complete("wardenctl --no", env, fake_bin) == ["--no-color"]
    assert bash_complete(f"wardenctl -s {s} status qu", env, fake_bin) == ["queue_worker"]
    assert sorted(bash_complete(f"wardenctl -s {s} stop ", env, fake_bin)) == sorted(
        ["all", "queue_worker", "web", "pool:pool_00", "pool:pool_01", "pool:*"])
    # Colons: bash splits words at ':', so the reply is what follows the typed colon.
    assert sorted(bash_complete(f"wardenctl -s {s} restart pool:", env, fake_bin)) == [
        "*", "pool_00", "pool_01"]
    assert bash_complete(f"wardenctl -s {s} tail web std", env, fake_bin) == [
        "stdout", "stderr"]
    assert bash_complete(f"wardenctl -s {s} signal HU", env, fake_bin) == ["HUP"]
    # $WARDEN_SOCKET works as for wardenctl itself.
    assert bash_complete("wardenctl status we", dict(env, WARDEN_SOCKET=s), fake_bin) == [
        "web"]
    # No daemon: no names, no noise, no failure.
    gone = os.path.join(warden.root, "nothing.sock")
    assert bash_complete(f"wardenctl -s {gone} status ", env, fake_bin) == []


def interactive_bash(warden, scratch, path, rc_extra=""):
    """An interactive bash on a pty with the completion sourced and $WARDEN_SOCKET set."""
    rc = os.path.join(scratch, "bashrc")
    with open(rc, "w") as f:
        f.write(f"PS1='PROMPT$ '\nsource {REPO}/completion/wardenctl.bash\n"
                f"export WARDEN_SOCKET={warden.socket}\n{rc_extra}")
    env = dict(os.environ, PATH=path, TERM="dumb", HOME=scratch, INPUTRC="/dev/null")
    return Pty(["bash", "--noprofile", "--rcfile", rc, "-i"], env)


def test_bash_completion_in_an_interactive_bash(warden, fake_bin, scratch):
    """The real thing: an interactive bash on a pty, the completion sourced, TAB pressed."""
    warden.start(PROGRAMS)
    warden.wait_state("web", "RUNNING")
    sh = interactive_bash(warden, scratch,
                          fake_bin + ":" + os.environ.get("PATH", "/usr/bin:/bin"))
    try:
        sh.read_until(b"PROMPT$ ")
        sh.send("wardenctl status queue\t")
        sh.read_until(b"queue_worker ")
        sh.send("\r")
        out = sh.read_until(b"PROMPT$ ")
        assert "queue_worker" in out and "RUNNING" in out
        sh.send("exit\r")
        sh.wait()
    finally:
        sh.kill()


def test_bash_completion_of_a_wardenctl_given_by_its_path(warden, scratch):
    """`build/bin/wardenctl` (or any path ending in wardenctl) completes as `wardenctl` does,
    and the program names come from that binary, with no wardenctl on PATH."""
    warden.start(PROGRAMS)
    warden.wait_state("web", "RUNNING")
    os.makedirs(os.path.join(scratch, "build", "bin"))
    os.symlink(os.path.abspath(WARDENCTL), os.path.join(scratch, "build", "bin", "wardenctl"))
    path = ":".join(p for p in os.environ.get("PATH", "/usr/bin:/bin").split(":")
                    if not os.path.exists(os.path.join(p, "wardenctl")))
    sh = interactive_bash(warden, scratch, path, rc_extra=f"cd {scratch}\n")
    try:
        sh.read_until(b"PROMPT$ ")
        sh.send("build/bin/wardenctl statu\t")
        sh.read_until(b"status ")
        sh.send("queue\t")
        sh.read_until(b"queue_worker ")
        sh.send("\x15./build/bin/wardenctl -s " + warden.socket + " stop we\t")
        sh.read_until(b"web ")
        sh.send("\x15exit\r")
        sh.wait()
    finally:
        sh.kill()


# ---- man pages ----------------------------------------------------------------------------

@pytest.mark.parametrize("page,heading", [
    ("wardenctl.1", "INTERACTIVE SHELL"),
    ("wardend.8", "SIGNALS"),
    ("warden.yaml.5", "PROGRAMS"),
])
def test_man_page_renders(page, heading):
    if shutil.which("man") is None:
        pytest.skip("man-db is not installed")
    path = os.path.join(BUILD_DIR, "man", page)
    assert os.path.exists(path), f"{path} was not built (target `man`)"
    r = subprocess.run(["man", "-l", path], capture_output=True, text=True, timeout=60,
                       env=dict(os.environ, MANPAGER="cat", PAGER="cat", MANWIDTH="100"))
    assert r.returncode == 0, r.stderr
    assert heading in r.stdout
    assert "NAME" in r.stdout and page.rsplit(".", 1)[0] in r.stdout
    assert r.stderr == "", r.stderr  # no roff warnings


def test_every_command_is_in_the_man_page_and_the_completion():
    """`wardenctl --help` lists the commands wardenctl has; each one is in wardenctl(1) and in
    the bash completion, so that a new command cannot ship undocumented."""
    r = subprocess.run([WARDENCTL, "--help"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0
    listing = r.stdout.split("Commands:\n", 1)[1].split("\n\n", 1)[0]
    commands = [line.split()[0] for line in listing.split("\n") if line.strip()]
    assert "status" in commands and "reexec" in commands and len(commands) > 20
    with open(os.path.join(REPO, "man", "wardenctl.1.scd")) as f:
        man = f.read()
    with open(os.path.join(REPO, "completion", "wardenctl.bash")) as f:
        completion = f.read()
    words = re.search(r'_wardenctl_commands="([^"]*)"', completion).group(1).split()
    for command in commands:
        assert re.search(rf"^(\*[^\n]*)?\*{re.escape(command)}\*", man, re.M), \
            f"{command} not in wardenctl(1)"
        assert command in words, f"{command} not completed by completion/wardenctl.bash"
