"""Program output: captured through pipes, rotated without loss, tailed over the socket."""

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time

import pytest

import wardenproto
from conftest import WARDENCTL, wait_until


def read(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        return b""


def kept(path, backups):
    """FILE.backups ... FILE.1 FILE, concatenated: what the logs still hold, oldest first."""
    return b"".join(read(f"{path}.{i}") for i in range(backups, 0, -1)) + read(path)


def log_path(warden, name, stream="stdout"):
    return os.path.join(warden.log_dir, f"{name}.{stream}.log")


# --- capture -------------------------------------------------------------------------------


def test_stdout_and_stderr_go_to_their_auto_files(warden):
    warden.start("""\
        both:
          command: ["sh", "-c", "echo to-out; echo to-err >&2; exec sleep 1000"]
          startsecs: 0
        """)
    warden.wait_state("both", "RUNNING")
    wait_until(lambda: read(log_path(warden, "both")) == b"to-out\n", what="stdout log")
    wait_until(lambda: read(log_path(warden, "both", "stderr")) == b"to-err\n", what="stderr log")


def test_stderr_stdout_merges_and_none_discards(warden):
    warden.start("""\
        merged:
          command: ["sh", "-c", "echo one; echo two >&2; echo three; exec sleep 1000"]
          startsecs: 0
          stderr: stdout
        quiet:
          command: ["sh", "-c", "echo nobody-reads-this; exec sleep 1000"]
          startsecs: 0
          stdout: {file: NONE}
          stderr: {file: NONE}
        """)
    warden.wait_state("merged", "RUNNING")
    wait_until(lambda: read(log_path(warden, "merged")) == b"one\ntwo\nthree\n", what="merged log")
    assert not os.path.exists(log_path(warden, "merged", "stderr"))
    p = warden.wait_state("quiet", "RUNNING")
    assert os.readlink(f"/proc/{p['pid']}/fd/1") == "/dev/null"
    assert not os.path.exists(log_path(warden, "quiet"))


def test_output_is_binary_safe_and_numprocs_names_files(warden):
    warden.start("""\
        bin:
          command: ["python3", "-c", "import sys; sys.stdout.buffer.write(bytes(range(256)) * 3)"]
          numprocs: 2
          startsecs: 0
          autorestart: false
        """)
    for name in ("bin:bin_00", "bin:bin_01"):
        path = os.path.join(warden.log_dir, name.replace(":", ".") + ".stdout.log")
        wait_until(lambda: read(path) == bytes(range(256)) * 3, what=f"{path}")


def test_pipe_is_drained_after_the_program_exits_while_a_grandchild_holds_it(warden):
    # The program exits at once; its background child writes 1.5 s later through the same pipe.
    warden.start("""\
        parent:
          command: ["sh", "-c", "(sleep 1.5; echo from-grandchild) & echo from-parent"]
          startsecs: 0
          autorestart: false
          keep_orphans: true  # else the child is stopped with its parent
        """)
    warden.wait_state("parent", "EXITED")
    path = log_path(warden, "parent")
    wait_until(lambda: read(path) == b"from-parent\nfrom-grandchild\n", what="grandchild output")


def test_log_that_cannot_be_opened_is_a_spawn_error_not_a_crash(warden):
    warden.start("""\
        nolog:
          command: sleep 1000
          startretries: 0
          stdout: {file: /nonexistent-dir/out.log}
        fine:
          command: sleep 1000
          startsecs: 0
        """)
    p = warden.wait_state("nolog", "FATAL")
    assert "stdout log: open /nonexistent-dir/out.log: No such file or directory" in \
        p["description"]
    warden.wait_state("fine", "RUNNING")
    assert warden.proc.poll() is None


# --- rotation ------------------------------------------------------------------------------

MIB = 1 << 20
RECORD = 9  # "%d\n" for 10000000..99999999
FIRST = 10_000_000


def expected_stream_slice(start, end):
    """Bytes [start, end) of `seq 10000000 99999999`'s output."""
    first = start // RECORD
    last = (end + RECORD - 1) // RECORD
    text = b"".join(b"%d\n" % (FIRST + i) for i in range(first, last))
    return text[start - first * RECORD:end - first * RECORD]


def test_256_mib_rotated_at_1_mib_keeps_an_exact_tail(warden):
    total = 256 * MIB
    warden.start(f"""\
        gen:
          command: ["sh", "-c", "seq {FIRST} 99999999 | head -c {total}"]
          startsecs: 0
          autorestart: false
          stdout: {{file: AUTO, max_bytes: 1MB, backups: 5}}
        """)
    path = log_path(warden, "gen")
    started = time.monotonic()
    tail = expected_stream_slice(total - 64, total)
    # A deadline, not a speed target: capture throughput is measured in bench/ (bench/writer).
    wait_until(lambda: read(path).endswith(tail), timeout=300, interval=0.05,
               what="the last bytes in the log")
    elapsed = time.monotonic() - started
    warden.wait_state("gen", "EXITED")
    # 256 MiB is exactly 256 files' worth: FILE is full, and the 5 backups hold the 5 MiB before.
    sizes = [os.path.getsize(f"{path}.{i}") for i in range(1, 6)] + [os.path.getsize(path)]
    assert sizes == [MIB] * 6
    assert not os.path.exists(f"{path}.6")
    data = kept(path, 5)
    assert data == expected_stream_slice(total - len(data), total), "gap, repeat or reorder"
    print(f"\ncaptured 256 MiB with rotation in {elapsed:.2f} s = {total / MIB / elapsed:.0f} MiB/s",
          file=sys.stderr)


# --- tail ----------------------------------------------------------------------------------

COUNTER = """\
counter:
  command: ["python3", "-u", "-c", "import sys\\nfor i in range(100): print('line', i)\\nprint('err', file=sys.stderr)\\nimport time; time.sleep(1000)"]
  startsecs: 0
"""


def test_tail_lines_bytes_and_streams(warden):
    warden.start(COUNTER)
    warden.wait_state("counter", "RUNNING")
    wait_until(lambda: read(log_path(warden, "counter")).endswith(b"line 99\n"), what="output")
    assert warden.ctl("tail", "counter", check=0).stdout == "".join(
        f"line {i}\n" for i in range(90, 100))
    assert warden.ctl("tail", "-n", "2", "counter", check=0).stdout == "line 98\nline 99\n"
    assert warden.ctl("tail", "-c", "5", "counter", check=0).stdout == "e 99\n"
    assert warden.ctl("tail", "counter", "stderr", check=0).stdout == "err\n"
    out = warden.ctl("tail", "nosuch", check=4).stdout
    assert out == "nosuch: ERROR (no such process)\n"


def test_tail_of_a_log_that_is_not_kept_says_why(warden):
    warden.start("""\
        quiet:
          command: sleep 1000
          startsecs: 0
          stdout: {file: NONE}
        """)
    warden.wait_state("quiet", "RUNNING")
    r = warden.ctl("tail", "quiet", check=4)
    assert "quiet: stdout is not logged (file: NONE)" in r.stderr


def test_tail_f_sees_lines_as_they_are_written(warden):
    warden.start("""\
        ticker:
          command: ["python3", "-u", "-c", "import time\\ni = 0\\nwhile True:\\n  print('tick', i, time.time())\\n  i += 1\\n  time.sleep(0.2)"]
          startsecs: 0
        """)
    warden.wait_state("ticker", "RUNNING")
    ctl = subprocess.Popen([WARDENCTL, "-s", warden.socket, "tail", "-f", "-n", "1", "ticker"],
                           stdout=subprocess.PIPE)
    try:
        numbers = []
        deadline = time.monotonic() + 60
        while len(numbers) < 6:
            assert time.monotonic() < deadline, f"tail -f gave only {numbers}"
            line = ctl.stdout.readline().decode()
            assert line, "tail -f ended"
            _, n, written = line.split()
            numbers.append(int(n))
            # Each line as it is written, not in batches: a follower that polled every few
            # seconds or sent only at the end would be late here. (10 s, not less: on a loaded
            # machine any process may wait its turn for a while.)
            if len(numbers) > 1:  # the first is the -n 1 backlog
                assert time.time() - float(written) < 10.0, "line arrived late"
        assert numbers == list(range(numbers[0], numbers[0] + 6)), numbers
    finally:
        ctl.kill()
        ctl.wait()


def test_tail_f_client_that_never_reads_is_dropped_and_status_stays_fast(warden):
    warden.start("""\
        firehose:
          command: ["yes", "0123456789012345678901234567890123456789012345678901234567890123456789"]
          startsecs: 0
          stdout: {file: AUTO, max_bytes: 4MB, backups: 1}
        """)
    warden.wait_state("firehose", "RUNNING")
    lazy = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    lazy.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    lazy.connect(warden.socket)
    conn = wardenproto.Connection(lazy)
    conn.hello()
    conn.send_frame(wardenproto.TAIL, 7,
                    wardenproto.encode_tail_request("firehose", follow=True, count=0))
    with wardenproto.connect(warden.socket, hello=True) as fast:
        worst = 0.0
        deadline = time.monotonic() + 60
        while "does not read its replies" not in warden.log():
            assert time.monotonic() < deadline, "the lazy client was never dropped"
            t = time.monotonic()
            processes, _ = fast.status(["firehose"])
            worst = max(worst, time.monotonic() - t)
            assert processes[0]["state"] == "RUNNING"
            time.sleep(0.01)
        for _ in range(20):
            t = time.monotonic()
            fast.status()
            worst = max(worst, time.monotonic() - t)
        # A wardend blocked on the lazy client would not answer at all until it dropped it;
        # the bound is a deadline for that, not a speed target (bench/ measures status).
        assert worst < 10, f"a status took {worst:.3f} s"
    assert conn.is_closed_by_peer(timeout=30)
    lazy.close()
    assert warden.proc.poll() is None


def test_maintail_shows_and_follows_wardends_own_log(warden):
    warden.start("""\
        idle:
          command: sleep 1000
          autostart: false
        """)
    out = warden.ctl("maintail", "-n", "200", check=0).stdout
    assert "listening on " + warden.socket in out
    with wardenproto.connect(warden.socket, hello=True) as c:
        replies = c.tail_replies("", count=0, follow=True, timeout=30)
        first = next(replies)
        assert first["more"] and first["path"] == "" and first["data"] == b""
        warden.ctl("start", "idle", check=0)
        seen = b""
        while b"idle: spawned with pid" not in seen:
            seen += next(replies)["data"]
        p = warden.status("idle")["idle"]
        assert f"idle: spawned with pid {p['pid']}".encode() in seen


def test_tail_over_the_protocol_splits_big_answers(warden):
    warden.start("""\
        big:
          command: ["python3", "-c", "import sys, time; sys.stdout.buffer.write(bytes(range(256)) * 8192); sys.stdout.flush(); time.sleep(1000)"]
          startsecs: 0
        """)
    warden.wait_state("big", "RUNNING")
    path = log_path(warden, "big")
    wait_until(lambda: os.path.getsize(path) == 2 * MIB if os.path.exists(path) else False,
               what="2 MiB of output")
    with wardenproto.connect(warden.socket, hello=True) as c:
        replies = list(c.tail_replies("big", unit=wardenproto.UNIT_BYTES, count=3 * MIB))
        assert [r["more"] for r in replies] == [True, True, True, False]
        assert all(len(r["data"]) <= wardenproto.MAX_TAIL_CHUNK for r in replies)
        assert replies[0]["path"] == path
        assert b"".join(r["data"] for r in replies) == bytes(range(256)) * 8192
        with pytest.raises(wardenproto.WardenError) as e:
            c.tail("big", stream=3)
        assert e.value.code == wardenproto.INVALID_ARGUMENT
        # The connection is still usable after the error.
        assert c.tail("big", unit=wardenproto.UNIT_BYTES, count=2)[1] == b"\xfe\xff"


# --- logrotate, SIGUSR2, clear -------------------------------------------------------------

ECHOER = """\
echoer:
  command: ["python3", "-u", "-c", "import signal, sys\\nn = 0\\ndef say(*_):\\n  global n\\n  print('hup', n); n += 1\\nsignal.signal(signal.SIGHUP, say)\\nprint('started')\\nwhile True: signal.pause()"]
  startsecs: 0
  stdout: {file: AUTO, max_bytes: 1MB, backups: 2}
"""


def test_logrotate_and_sigusr2_reopen_after_an_external_rename(warden):
    warden.start(ECHOER)
    warden.wait_state("echoer", "RUNNING")
    path = log_path(warden, "echoer")
    wait_until(lambda: read(path) == b"started\n", what="first line")

    os.rename(path, path + ".old")
    assert warden.ctl("logrotate", check=0).stdout == "echoer: reopened\n"
    warden.ctl("signal", "HUP", "echoer", check=0)
    wait_until(lambda: read(path) == b"hup 0\n", what="the line in the new file")
    assert read(path + ".old") == b"started\n"

    os.rename(path, path + ".older")
    warden.proc.send_signal(signal.SIGUSR2)
    wait_until(lambda: "reopened" in warden.log() and os.path.exists(path), what="SIGUSR2")
    warden.ctl("signal", "HUP", "echoer", check=0)
    wait_until(lambda: read(path) == b"hup 1\n", what="the line after SIGUSR2")
    assert read(path + ".older") == b"hup 0\n"


def test_clear_empties_the_log_and_its_backups(warden):
    warden.start(ECHOER)
    warden.wait_state("echoer", "RUNNING")
    path = log_path(warden, "echoer")
    wait_until(lambda: read(path) == b"started\n", what="first line")
    with open(path + ".1", "wb") as f:
        f.write(b"an old backup\n")
    assert warden.ctl("clear", "echoer", check=0).stdout == "echoer: cleared\n"
    assert read(path) == b""
    assert not os.path.exists(path + ".1")
    warden.ctl("signal", "HUP", "echoer", check=0)
    wait_until(lambda: read(path) == b"hup 0\n", what="output after clear")
    assert "nosuch: ERROR (no such process)" in warden.ctl("clear", "nosuch", check=4).stdout


# --- timestamps ----------------------------------------------------------------------------


def test_timestamps_prefix_each_line(warden):
    warden.start("""\
        stamped:
          command: ["sh", "-c", "printf 'one\\\\ntwo\\\\n'; printf 'par'; sleep 0.3; printf 'tial\\\\n'; exec sleep 1000"]
          startsecs: 0
          stdout: {file: AUTO, timestamps: true}
        """)
    warden.wait_state("stamped", "RUNNING")
    path = log_path(warden, "stamped")
    wait_until(lambda: read(path).endswith(b"tial\n"), what="stamped output")
    lines = read(path).decode().splitlines()
    stamp = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} "
    assert [re.sub("^" + stamp, "", l) for l in lines] == ["one", "two", "partial"], lines
    assert all(re.match(stamp, l) for l in lines), lines


# --- a full disk ---------------------------------------------------------------------------

WRITER = """\
import os, sys, time
trigger = sys.argv[1]
n = 0
for i in range(20000):  # ~1 MiB of numbered lines, in small writes
    sys.stdout.write("%07d xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\\n" % i)
    sys.stdout.flush()
open(trigger + ".wrote", "w").close()
while not os.path.exists(trigger):
    time.sleep(0.05)
sys.stdout.write("DONE\\n")
sys.stdout.flush()
time.sleep(1000)
"""
WRITTEN = b"".join(b"%07d xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n" % i for i in range(20000))


@pytest.fixture
def small_disk(warden):
    """warden.log_dir on a 1 MiB tmpfs, most of it taken by a ballast file."""
    os.makedirs(warden.log_dir)
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", warden.log_dir],
                       capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs: {r.stderr.strip()}")
    ballast = os.path.join(warden.log_dir, "ballast")
    with open(ballast, "wb") as f:
        f.write(b"\0" * (768 * 1024))
    try:
        yield ballast
    finally:
        warden.cleanup()
        subprocess.run(["umount", "-l", warden.log_dir], check=False)


def start_writer(warden, on_full):
    with open(os.path.join(warden.root, "writer.py"), "w") as f:
        f.write(WRITER)
    trigger = os.path.join(warden.root, "trigger")
    warden.start(f"""\
        writer:
          command: ["python3", "{warden.root}/writer.py", "{trigger}"]
          startsecs: 0
          stdout: {{file: AUTO, on_full: {on_full}}}
        """)
    return trigger


def test_full_disk_blocks_that_program_only_and_loses_nothing(warden, small_disk):
    trigger = start_writer(warden, "block")
    wait_until(lambda: "cannot write" in warden.log(), what="the disk-full report")
    assert "No space left on device" in warden.log()
    p = warden.status("writer")["writer"]
    assert p["state"] == "RUNNING"
    with wardenproto.connect(warden.socket, hello=True) as c:
        for _ in range(10):  # the daemon keeps answering while the program waits
            t = time.monotonic()
            c.status()
            # A deadline for "answers at all", not a speed target: a wardend stuck behind the
            # full disk would not answer.
            assert time.monotonic() - t < 10
            time.sleep(0.1)
    # Back-pressure: the writer ends up blocked in write(2) on its full pipe (once it has
    # filled it, which a loaded machine may take a moment to get to).
    wait_until(lambda: "pipe" in open(f"/proc/{p['pid']}/wchan").read(),
               what="the writer blocked in write(2) on its pipe")
    assert warden.log().count("cannot write") == 1, "reported more than once"
    os.unlink(small_disk)
    path = log_path(warden, "writer")
    wait_until(lambda: read(path) == WRITTEN, what="everything, once space is back")
    assert "writing " + path + " again" in warden.log()
    with open(trigger, "w"):
        pass
    wait_until(lambda: read(path) == WRITTEN + b"DONE\n", what="the last line")


def test_full_disk_with_on_full_drop_counts_the_loss(warden, small_disk):
    trigger = start_writer(warden, "drop")
    path = log_path(warden, "writer")
    wait_until(lambda: "cannot write" in warden.log(), what="the disk-full report")
    assert "dropping its output" in warden.log()
    # Drop mode never blocks the program: it finishes its 20000 lines and waits for the trigger.
    wait_until(lambda: os.path.exists(trigger + ".wrote"), what="the writer to finish writing")
    os.unlink(small_disk)
    time.sleep(1.2)  # past the longest retry delay
    with open(trigger, "w"):
        pass
    wait_until(lambda: read(path).endswith(b"DONE\n"), what="the line after")
    # wardend logs the recovery after the write that succeeded: wait for the line too.
    again = re.compile(r"writing \S+ again after [\d.]+ s; (\d+) bytes of output were dropped")
    wait_until(lambda: again.search(warden.log()), what="the log line counting the loss")
    m = again.search(warden.log())
    kept_bytes = len(read(path)) - len(b"DONE\n")
    assert kept_bytes + int(m.group(1)) == len(WRITTEN)
    assert WRITTEN.startswith(read(path)[:kept_bytes])
    assert warden.log().count("cannot write") == 1


def test_deleted_log_folder_is_made_again_and_the_program_never_blocks(warden):
    """rm -rf of the log folder under a program that keeps writing: wardend starts a new file
    (and folder) at its next write, rotation keeps working, the program is never stuck."""
    warden.start("chatty:\n"
                 "  command: sh -c 'i=0; while :; do i=$((i+1)); echo line $i; sleep 0.01; done'\n"
                 "  startsecs: 0\n"
                 "  stdout: {max_bytes: 2KB, backups: 1}\n")
    warden.wait_state("chatty", "RUNNING")
    path = os.path.join(warden.log_dir, "chatty.stdout.log")
    wait_until(lambda: os.path.exists(path + ".1"), what="a first rotation")
    shutil.rmtree(warden.log_dir)
    wait_until(lambda: os.path.exists(path), what="the log file made again")
    wait_until(lambda: os.path.exists(path + ".1"), what="a rotation in the new folder")
    last = int(warden.ctl("tail", "chatty").stdout.split()[-1])
    wait_until(lambda: int(warden.ctl("tail", "chatty").stdout.split()[-1]) > last + 50,
               what="the program still writing")
    assert warden.status("chatty")["chatty"]["state"] == "RUNNING"
    # wardend's log says what happened, once per folder made again.
    wait_until(lambda: f"log folder {warden.log_dir} was removed: made it again" in warden.log(),
               what="the log naming the folder made again")
